"""The server's bindings in memory: leases by address, by client IA, and by expiry."""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from .model import Lease

BindingKey = tuple[str, bytes, int]  # (kind, client DUID, IAID)


class LeaseTable:
    def __init__(self) -> None:
        self.leases: dict[tuple[str, int], Lease] = {}
        self.bindings: dict[BindingKey, dict[tuple[str, int], Lease]] = {}
        self._heap: list[tuple[float, tuple[str, int]]] = []

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
                heapq.heappush(self._heap, (lease.expires, key))
                return old
            self._unbind(old)
        leases[key] = lease
        if lease.duid:
            self.bindings.setdefault(bk, {})[key] = lease
        heapq.heappush(self._heap, (lease.expires, key))
        return old

    def renew(
        self, binding: dict[tuple[str, int], Lease], key: tuple[str, int], lease: Lease
    ) -> None:
        """``put(lease)`` where ``binding`` (of ``bindings``) holds only the lease at ``key``
        (``lease.key``), of the same IA: a renewal, as the caller knows."""
        binding[key] = lease  # (the only one: its place in the binding is unchanged)
        self.leases[key] = lease
        heapq.heappush(self._heap, (lease.expires, key))

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

    def expired(self, now: float) -> list[Lease]:
        """Remove and return every lease whose valid lifetime has ended by ``now``."""
        out: list[Lease] = []
        while self._heap and self._heap[0][0] <= now:
            expires, key = heapq.heappop(self._heap)
            lease = self.leases.get(key)
            if lease is not None and lease.expires == expires:  # else a stale heap entry
                self.remove(lease)
                out.append(lease)
        return out

    def next_expiry(self) -> float | None:
        while self._heap:
            expires, key = self._heap[0]
            lease = self.leases.get(key)
            if lease is not None and lease.expires == expires:
                return expires
            heapq.heappop(self._heap)
        return None

    def all(self) -> Iterable[Lease]:
        return self.leases.values()
