"""Build client messages and run them through a ServerEngine (unit-test helpers)."""

from __future__ import annotations

from ipaddress import IPv6Address

from dhcp6.constants import MessageType
from dhcp6.engine.actions import CommitLease, RemoveLease, Send, Trace
from dhcp6.engine.server import ServerEngine
from dhcp6.server_config import config_from_text
from dhcp6.wire import (
    ClientId,
    DuidLL,
    DuidLLT,
    ElapsedTime,
    IaAddress,
    IaNa,
    IaPd,
    IaPrefix,
    Message,
    OptionRequest,
    ServerId,
    decode,
)

A = IPv6Address
MCAST = A("ff02::1:2")
LL = A("fe80::1")
SERVER_DUID = DuidLLT(1, 1000, bytes.fromhex("020000000001"))

CONFIG = """
lifetimes: {preferred: 3000, valid: 4000}
subnets:
  - prefix: 2001:db8:1::/64
    interface: eth0
    pools: ["2001:db8:1::100-2001:db8:1::1ff"]
    pd_pools: [{prefix: "2001:db8:8000::/48", delegated_length: 56}]
    options: {dns_servers: ["2001:db8::53"], domain_search: [lab.example], sol_max_rt: 120,
              inf_max_rt: 300, information_refresh_time: 900}
  - prefix: 2001:db8:2::/64
    pools: ["2001:db8:2::100-2001:db8:2::1ff"]
  - prefix: 2001:db8:3::/64
    interface_id: port7
    pools: ["2001:db8:3::100-2001:db8:3::1ff"]
"""


def engine(text: str = CONFIG, **kw) -> ServerEngine:
    return ServerEngine(config_from_text(text), SERVER_DUID, **kw)


def client(n: int) -> DuidLL:
    return DuidLL(1, bytes([2, 0, 0, 0, n >> 8, n & 0xFF]))


def msg(t: MessageType, n: int = 1, *opts, xid: int = 0x1234, server: bool = False) -> Message:
    o: list = [ClientId(client(n)), ElapsedTime(0), *opts]
    if server:
        o.insert(1, ServerId(SERVER_DUID))
    return Message(t, xid, tuple(o))


def na(iaid: int = 1, *addrs: str) -> IaNa:
    return IaNa(iaid, 0, 0, tuple(IaAddress(A(a), 0, 0) for a in addrs))


def pd(iaid: int = 1, *prefixes: str) -> IaPd:
    out = []
    for p in prefixes:
        addr, _, plen = p.partition("/")
        out.append(IaPrefix(0, 0, int(plen), A(addr)))
    return IaPd(iaid, 0, 0, tuple(out))


def oro(*codes: int) -> OptionRequest:
    return OptionRequest(codes)


class Run:
    """The actions of one packet, split for assertions."""

    def __init__(self, actions: list) -> None:
        self.actions = actions
        self.sends = [a for a in actions if isinstance(a, Send)]
        self.commits = [a.lease for a in actions if isinstance(a, CommitLease)]
        self.removals = [a.lease for a in actions if isinstance(a, RemoveLease)]
        self.traces = [a for a in actions if isinstance(a, Trace)]

    @property
    def reply(self) -> Message:
        assert len(self.sends) == 1, f"expected one reply, got {self.actions}"
        # what goes on the wire, decoded again: the engine's output must encode
        return decode(self.sends[0].message.encode())  # type: ignore[return-value]

    def events(self, kind: str) -> list[dict]:
        return [t.fields for t in self.traces if t.kind == kind]

    @property
    def drop_reason(self) -> str | None:
        d = self.events("drop")
        return d[0]["reason"] if d else None


def send(e: ServerEngine, m, *, src=LL, dst=MCAST, iface="eth0", now: float = 0.0) -> Run:
    data = m.encode() if hasattr(m, "encode") else m
    return Run(e.packet_received(data, src, dst, iface, now))


def sarr(e: ServerEngine, n: int = 1, *ias, now: float = 0.0) -> Run:
    ias = ias or (na(1),)
    adv = send(e, msg(MessageType.SOLICIT, n, *ias), now=now).reply
    assert adv.msg_type == MessageType.ADVERTISE, adv
    req = Message(
        MessageType.REQUEST,
        0x42,
        (ClientId(client(n)), ServerId(SERVER_DUID), *adv.ia_na, *adv.ia_pd),
    )
    return send(e, req, now=now)


def same(plain: ServerEngine, fast: ServerEngine, script: list, memo: dict | None = None) -> None:
    """Each (message, destination, interface) of ``script`` to both engines: ``plain``
    decodes the bytes itself, ``fast`` gets them decoded with ``memo`` (an OptionRun, which
    its shortcuts take); the actions, trace fields in order, table, stats and clients seen
    must be the same."""
    memo = {} if memo is None else memo
    for i, (m, dst, iface) in enumerate(script):
        data = m.encode()
        want = plain.packet_received(data, LL, dst, iface, float(i))
        got = fast.message_received(decode(data, memo=memo), LL, dst, iface, float(i))
        assert got == want, m
        fields = [list(a.fields) for a in got if isinstance(a, Trace)]
        assert fields == [list(a.fields) for a in want if isinstance(a, Trace)]  # key order
    assert fast.stats == plain.stats and fast.table.leases == plain.table.leases
    assert fast.table.bindings == plain.table.bindings and fast.seen == plain.seen
