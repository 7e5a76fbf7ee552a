"""A tiny discrete-event harness: one ClientEngine, zero or more ServerEngines, a fake
clock and a fake RNG — every timer of the client runs exactly, in no wall time."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from ipaddress import IPv6Address
from typing import Any

from dhcp6.engine.actions import (
    CancelTimer,
    ConfigureAddress,
    RemoveAddress,
    Send,
    SetTimer,
    StateChanged,
    Trace,
)
from dhcp6.engine.client import ClientConfig, ClientEngine
from dhcp6.engine.server import ServerEngine
from dhcp6.server_config import config_from_text
from dhcp6.wire import DuidLL, DuidLLT, Message, decode

CLIENT_LL = IPv6Address("fe80::c1")
SERVER_LL = IPv6Address("fe80::5")
MCAST = IPv6Address("ff02::1:2")
LATENCY = 0.001

SERVER_CONFIG = """
lifetimes: {preferred: 100, valid: 200}
subnets:
  - prefix: 2001:db8:1::/64
    interface: eth0
    pools: ["2001:db8:1::100-2001:db8:1::1ff"]
    pd_pools: [{prefix: "2001:db8:8000::/48", delegated_length: 56}]
    options: {dns_servers: ["2001:db8::53"], domain_search: [lab.example], sol_max_rt: 120,
              information_refresh_time: 900}
"""


class FixedRand:
    """rand() returns the values given, then repeats the last one."""

    def __init__(self, *values: float) -> None:
        self.values = list(values) or [0.5]

    def __call__(self) -> float:
        return self.values.pop(0) if len(self.values) > 1 else self.values[0]


class Sim:
    def __init__(
        self,
        config: ClientConfig | None = None,
        *,
        servers: int = 1,
        server_config: str = SERVER_CONFIG,
        rand: Callable[[], float] | None = None,
        preference: list[int] | None = None,
    ) -> None:
        self.now = 0.0
        self.client = ClientEngine(config or ClientConfig(), DuidLL(1, bytes.fromhex("02000000c1c1")),
                                   rand=rand or FixedRand(0.5), xid=itertools.count(0x100).__next__)  # fmt: skip
        self.servers: list[ServerEngine] = []
        for i in range(servers):
            text = server_config
            if preference:
                text = f"preference: {preference[i]}\n" + text
            self.servers.append(
                ServerEngine(config_from_text(text), DuidLLT(1, 1, bytes([2, 0, 0, 0, 0, i + 1])))
            )
        self.alive = [True] * servers
        self.timers: dict[str, float] = {}
        self.queue: list[tuple[float, int, Callable[[], None]]] = []
        self.seq = itertools.count()
        self.sent: list[tuple[float, Message]] = []  # what the client sent
        self.received: list[tuple[float, Message]] = []
        self.states: list[tuple[float, str, str, str]] = []  # (t, from, to, event)
        self.kernel: dict[IPv6Address, tuple[int, int]] = {}
        self.kernel_log: list[tuple[float, str, IPv6Address]] = []
        self.traces: list[tuple[float, Trace]] = []
        self.actions: list[tuple[float, Any]] = []
        self.intercept: Callable[[Message], list[Message] | None] | None = None

    # -------------------------------------------------------------- driving
    def do(self, actions: list) -> None:
        for a in actions:
            self.actions.append((self.now, a))
            if isinstance(a, SetTimer):
                self.timers[a.name] = a.at
            elif isinstance(a, CancelTimer):
                self.timers.pop(a.name, None)
            elif isinstance(a, Send):
                msg = decode(a.message.encode())
                self.sent.append((self.now, msg))
                self._deliver_to_servers(msg)
            elif isinstance(a, StateChanged):
                self.states.append((self.now, a.old, a.new, a.reason))
            elif isinstance(a, ConfigureAddress):
                self.kernel[a.address] = (a.preferred, a.valid)
                self.kernel_log.append((self.now, "add", a.address))
            elif isinstance(a, RemoveAddress):
                self.kernel.pop(a.address, None)
                self.kernel_log.append((self.now, "remove", a.address))
            elif isinstance(a, Trace):
                self.traces.append((self.now, a))

    def _deliver_to_servers(self, msg: Message) -> None:
        if self.intercept is not None:
            replies = self.intercept(msg)
            if replies is not None:
                for r in replies:
                    self.at(self.now + 2 * LATENCY, lambda r=r: self.to_client(r))
                return
        data = msg.encode()
        for i, srv in enumerate(self.servers):
            if not self.alive[i]:
                continue
            t = self.now + LATENCY + i * LATENCY / 10
            self.at(t, lambda srv=srv, data=data: self._server_rx(srv, data))

    def _server_rx(self, srv: ServerEngine, data: bytes) -> None:
        for a in srv.packet_received(data, CLIENT_LL, MCAST, "eth0", self.now):
            if isinstance(a, Send):
                self.at(self.now + LATENCY, lambda m=a.message: self.to_client(m))

    def server_reconfigure(self, i: int = 0, **kw: Any) -> dict:
        """The admin command on server ``i``; its Reconfigures reach the client (unicast)."""
        kw.setdefault("clients", [self.client.duid.encode()])
        actions, result = self.servers[i].reconfigure(self.now, **kw)
        for a in actions:
            if isinstance(a, Send):
                self.at(self.now + LATENCY, lambda m=a.message: self.to_client(m))
        self.server_actions = actions
        return result

    def to_client(self, msg: Message) -> None:
        self.received.append((self.now, msg))
        self.do(self.client.packet_received(msg.encode(), SERVER_LL, CLIENT_LL, "eth0", self.now))

    def at(self, t: float, fn: Callable[[], None]) -> None:
        heapq.heappush(self.queue, (t, next(self.seq), fn))

    def start(self) -> Sim:
        self.do(self.client.start(self.now))
        return self

    def step(self, until: float) -> bool:
        """Fire the next timer or delivery due by ``until``; False when there is none."""
        nxt_timer = min(self.timers.items(), key=lambda kv: kv[1], default=None)
        nxt_q = self.queue[0][0] if self.queue else None
        candidates = [x for x in (nxt_timer[1] if nxt_timer else None, nxt_q) if x is not None]
        if not candidates or min(candidates) > until:
            return False
        if nxt_q is not None and (nxt_timer is None or nxt_q <= nxt_timer[1]):
            t, _, fn = heapq.heappop(self.queue)
            self.now = t
            fn()
        else:
            name, t = nxt_timer  # type: ignore[misc]
            del self.timers[name]
            self.now = t
            self.do(self.client.timer_fired(name, t))
        return True

    def run(self, until: float) -> Sim:
        """Advance the clock to ``until``, firing timers and deliveries in order."""
        while self.step(until):
            pass
        self.now = until
        return self

    def until_state(self, state: str, limit: float = 10_000) -> float:
        """Run event by event until the client enters ``state``; the time it did."""
        start = len(self.states)
        while self.step(limit):
            for t, _, new, _ in self.states[start:]:
                if new == state:
                    return t
        raise AssertionError(f"client never reached {state}; states: {self.states[-6:]}")

    # -------------------------------------------------------------- reading
    def sends(self, name: str) -> list[tuple[float, Message]]:
        return [(t, m) for t, m in self.sent if m.name == name]

    def events(self, kind: str) -> list[dict]:
        return [tr.fields for _, tr in self.traces if tr.kind == kind]

    @property
    def state(self) -> str:
        return self.client.state
