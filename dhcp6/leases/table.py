"""The server's bindings in memory: leases by address, by client IA, and by expiry."""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from .model import Lease

BindingKey = tuple[str, bytes, int]  # (kind, client DUID, IAID)
LeaseKey = tuple[str, int]  # (kind, address as an integer): Lease.key

_heappush, _heappop, _heapreplace = heapq.heappush, heapq.heappop, heapq.heapreplace


class LeaseTable:
    """Leases by key, by binding, and a heap of (expiry, key) for :meth:`expired`.

    The heap holds, for every lease, an entry no later than the lease's expiry: a renewal
    that extends a lease (nearly every one) pushes nothing, and an entry that comes up
    before its lease's expiry moves there. So a lease is pushed about once per valid
    lifetime rather than once per renewal, and leases still expire in (expiry, key) order.
    Entries of leases gone (or with an earlier entry of their own) are dropped as they
    come up.
    """

    def __init__(self) -> None:
        self.leases: dict[LeaseKey, Lease] = {}
        self.bindings: dict[BindingKey, dict[LeaseKey, Lease]] = {}
        self._heap: list[tuple[float, LeaseKey]] = []

    def __len__(self) -> int:
        return len(self.leases)

    def get(self, kind: str, value: int) -> Lease | None:
        return self.leases.get((kind, value))

    def binding(self, kind: str, duid: bytes, iaid: int) -> list[Lease]:
        b = self.bindings.get((kind, duid, iaid))
        return list(b.values()) if b else []

    def put(self, lease: Lease) -> Lease | None:
        """Store ``lease`` (replacing the one at its address); returns the one replaced."""
        key = lease.key  # a property: computed once
        leases = self.leases
        old = leases.get(key)
        bk = (lease.kind, lease.duid, lease.iaid)
        if old is not None:
            b = self.bindings.get(bk) if lease.duid else None
            if b is not None and (old.kind, old.duid, old.iaid) == bk:
                # The same IA again (a renewal, the common case): move the lease to the end
                # of its binding, where unbinding and binding it again would put it.
                b.pop(key, None)
                b[key] = lease
                leases[key] = lease
                if lease.expires < old.expires:  # else old's entry serves (see the class)
                    _heappush(self._heap, (lease.expires, key))
                return old
            self._unbind(old)
        leases[key] = lease
        if lease.duid:
            self.bindings.setdefault(bk, {})[key] = lease
        if old is None or lease.expires < old.expires:
            _heappush(self._heap, (lease.expires, key))
        return old

    def renew(self, binding: dict[LeaseKey, Lease], key: LeaseKey, lease: Lease) -> None:
        """``put(lease)`` where ``binding`` (of ``bindings``) holds only the lease at ``key``
        (``lease.key``), of the same IA: a renewal, as the caller knows."""
        old = binding[key]
        binding[key] = lease  # (the only one: its place in the binding is unchanged)
        self.leases[key] = lease
        if lease.expires < old.expires:
            _heappush(self._heap, (lease.expires, key))

    def remove(self, lease: Lease) -> None:
        old = self.leases.pop(lease.key, None)
        if old is not None:
            self._unbind(old)

    def _unbind(self, lease: Lease) -> None:
        bk = (lease.kind, lease.duid, lease.iaid)
        b = self.bindings.get(bk)
        if b is not None:
            b.pop(lease.key, None)
            if not b:
                del self.bindings[bk]

    def due(self, now: float) -> bool:
        """Whether :meth:`expired` has anything to look at by ``now`` (an entry come up):
        False is the usual answer to a periodic reclaim, found without building a list."""
        heap = self._heap
        return bool(heap) and heap[0][0] <= now

    def expired(self, now: float) -> list[Lease]:
        """Remove and return every lease whose valid lifetime has ended by ``now``, in
        (expiry, key) order."""
        out: list[Lease] = []
        heap, leases = self._heap, self.leases
        while heap and heap[0][0] <= now:
            expires, key = heap[0]
            lease = leases.get(key)
            if lease is None or lease.expires < expires:
                _heappop(heap)  # stale: the lease is gone, or has an earlier entry
            elif lease.expires == expires:
                _heappop(heap)
                self.remove(lease)
                out.append(lease)
            else:  # renewed since the entry was made: it moves to the lease's expiry
                _heapreplace(heap, (lease.expires, key))
        return out

    def next_expiry(self) -> float | None:
        heap, leases = self._heap, self.leases
        while heap:
            expires, key = heap[0]
            lease = leases.get(key)
            if lease is None or lease.expires < expires:
                _heappop(heap)
            elif lease.expires == expires:
                return expires
            else:
                _heapreplace(heap, (lease.expires, key))
        return None

    def all(self) -> Iterable[Lease]:
        return self.leases.values()
