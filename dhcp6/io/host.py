"""Drive one sans-IO engine on an asyncio loop: clock, timers, sends, leases, trace.

The engine only returns actions; this host carries them out in order. Packets that
arrive together (one drain of the socket) form a batch: their lease changes are
committed in one transaction, and only then are their replies sent — durable before
the Reply, at the cost of one commit per batch rather than per lease. Trace lines are
written in bursts too (``Tracer.batch``): one write() for all the lines that come
before a reply or a kernel change, always before that datagram or change happens.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from ipaddress import IPv6Address
from typing import Any, Protocol

from ..engine.actions import (
    Action,
    CancelTimer,
    CommitLease,
    CommitMeta,
    ConfigureAddress,
    ConfigurePrefix,
    RemoveAddress,
    RemoveLease,
    RemovePrefix,
    Send,
    SetTimer,
    StateChanged,
    Trace,
)
from ..leases.model import Lease
from ..leases.store import LeaseStore
from ..trace import Tracer
from ..wire.describe import summary


class Engine(Protocol):
    def packet_received(
        self, data: bytes, src: IPv6Address, dst: IPv6Address | None, iface: str, now: float
    ) -> list[Action]: ...

    def timer_fired(self, name: str, now: float) -> list[Action]: ...


class Transport(Protocol):
    def send(
        self, data: bytes, dst: IPv6Address | str, port: int, *, ifname: str | None = ...,
        hop_limit: int | None = ...,
    ) -> None: ...  # fmt: skip


class EngineClock:
    """Engine time: ``base()`` (wall or monotonic seconds) × the lab's time scale."""

    def __init__(self, scale: float = 1.0, base: Callable[[], float] = time.time) -> None:
        if scale <= 0:
            raise ValueError("time scale must be positive")
        self.scale = scale
        self.base = base

    def now(self) -> float:
        return self.base() * self.scale


class EngineHost:
    def __init__(
        self,
        engine: Engine,
        *,
        tracer: Tracer,
        clock: EngineClock,
        transport: Transport | None = None,
        store: LeaseStore | None = None,
        addresses: dict[str, Any] | None = None,  # iface → dhcp6.io.netlink.AddressDriver
        loop: asyncio.AbstractEventLoop | None = None,
        on_actions: Callable[[list[Action]], None] | None = None,
    ) -> None:
        self.engine = engine
        self.tracer = tracer
        self.clock = clock
        self.transport = transport
        self.store = store
        self.addresses = addresses
        self.loop = loop or asyncio.get_event_loop()
        self.on_actions = on_actions
        self._pending: list[Action] = []
        self._flush_scheduled = False
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self.stats = {"batches": 0, "packets": 0, "commit_errors": 0}

    # ---------------------------------------------------------------- inputs
    def datagram(self, data: bytes, src: IPv6Address, dst: IPv6Address | None, iface: str) -> None:
        """Feed one received datagram; its actions run with the rest of the batch."""
        self.stats["packets"] += 1
        self.submit(self.engine.packet_received(data, src, dst, iface, self.clock.now()))

    def submit(self, actions: list[Action]) -> None:
        self._pending.extend(actions)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self.flush)

    def run_now(self, actions: list[Action]) -> None:
        """Carry out actions at once (start-up, commands), flushing anything pending."""
        self._pending.extend(actions)
        self.flush()

    def _fire(self, name: str) -> None:
        self._timers.pop(name, None)
        if name not in getattr(self.engine, "quiet_timers", ()):
            self.tracer.emit("timer", action="fired", name=name, pt=self.clock.now())
        self.run_now(self.engine.timer_fired(name, self.clock.now()))

    # ---------------------------------------------------------------- the batch
    def flush(self) -> None:
        self._flush_scheduled = False
        actions, self._pending = self._pending, []
        if not actions:
            return
        self.stats["batches"] += 1
        if self.on_actions is not None:
            self.on_actions(actions)
        ok = self._commit(actions)
        now = self.clock.now()
        # Trace lines are written in bursts (one write() each), but always before the
        # datagram or kernel change they describe: whoever sees the effect finds the line.
        with self.tracer.batch():
            for a in actions:
                if isinstance(a, Send):
                    if ok:
                        self.tracer.write_held()
                        self._send(a, now)
                elif isinstance(a, Trace):
                    self.tracer.emit(a.kind, a.fields, pt=now)
                elif isinstance(a, SetTimer):
                    self._set_timer(a, now)
                elif isinstance(a, CancelTimer):
                    h = self._timers.pop(a.name, None)
                    if h is not None:
                        h.cancel()
                        self.tracer.emit("timer", action="cancelled", name=a.name, pt=now)
                elif isinstance(a, StateChanged):
                    self.tracer.emit("state", {"from": a.old, "to": a.new, "seed": a.seed,
                                               "reason": a.reason, **a.extra}, pt=now)  # fmt: skip
                elif isinstance(
                    a, (ConfigureAddress, RemoveAddress, ConfigurePrefix, RemovePrefix)
                ):
                    self.tracer.write_held()
                    self._kernel(a, now)
                    self.tracer.write_held()  # its "address" line, as soon as it is done

    def _commit(self, actions: list[Action]) -> bool:
        if self.store is None:
            return True
        final: dict[tuple[str, int], Lease | None] = {}
        gone: dict[tuple[str, int], Lease] = {}
        meta: dict[str, str] = {}
        for a in actions:
            if isinstance(a, CommitLease):
                final[a.lease.key] = a.lease
            elif isinstance(a, RemoveLease):
                final[a.lease.key] = None
                gone[a.lease.key] = a.lease
            elif isinstance(a, CommitMeta):
                meta[a.key] = a.value
        if not final and not meta:
            return True
        try:
            self.store.apply(
                [x for x in final.values() if x is not None],
                [gone[k] for k, x in final.items() if x is None],
                meta,
            )
        except sqlite3.Error as e:  # no Reply may promise what is not on disk
            self.stats["commit_errors"] += 1
            self.tracer.emit("error", message=f"lease store: {e}; replies of this batch not sent")
            return False
        return True

    def _send(self, a: Send, now: float) -> None:
        if self.transport is None:
            return
        try:
            self.transport.send(a.message.encode(), a.dst, a.port, ifname=a.iface,
                                hop_limit=a.hop_limit)  # fmt: skip
        except OSError as e:
            self.tracer.emit("error", message=f"send {summary(a.message)['msg']} to {a.dst}: {e}")

    def _set_timer(self, a: SetTimer, now: float) -> None:
        old = self._timers.pop(a.name, None)
        if old is not None:
            old.cancel()
        delay = max(0.0, (a.at - now) / self.clock.scale)
        self._timers[a.name] = self.loop.call_later(delay, self._fire, a.name)

    def _kernel(self, a: Action, now: float) -> None:
        if not self.addresses or isinstance(a, (ConfigurePrefix, RemovePrefix)):
            return  # a delegated prefix itself is not on any interface (traced as a lease)
        assert isinstance(a, (ConfigureAddress, RemoveAddress))
        driver = self.addresses.get(a.iface or "") or next(iter(self.addresses.values()))
        try:
            if isinstance(a, ConfigureAddress):
                # an address with a prefix shorter than /128 (a CPE's downstream /64, or
                # --prefixlen 64) makes that prefix on-link; a leased /128 says nothing of the link
                driver.add(a.address, a.prefixlen, a.preferred, a.valid, prefix_route=a.prefixlen < 128)
                self.tracer.emit("address", action="added", address=str(a.address),
                                 iface=driver.ifname, preferred=a.preferred, valid=a.valid,
                                 pt=now)  # fmt: skip
            else:
                driver.remove(a.address, a.prefixlen)
                self.tracer.emit("address", action="removed", address=str(a.address),
                                 iface=driver.ifname, pt=now)  # fmt: skip
        except (OSError, ValueError) as e:
            self.tracer.emit("error", message=f"kernel address {a.address} on {driver.ifname}: {e}")

    def close(self) -> None:
        for h in self._timers.values():
            h.cancel()
        self._timers.clear()
        self.flush()
