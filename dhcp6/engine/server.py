"""Sans-IO DHCPv6 server engine (RFC 9915 §16, §18.3, relayed traffic per §19.3).

Inputs: ``packet_received(data, src, dst, iface, now)`` (or ``message_received`` with the
message already decoded), ``timer_fired(name, now)``, ``restore(leases)``. Outputs: lists
of :mod:`~dhcp6.engine.actions`. The lease table in memory is the truth about bindings;
``CommitLease``/``RemoveLease`` actions tell the driver what to make durable before it
sends the ``Send`` actions that follow them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network
from typing import Any

from ..constants import (
    CLIENT_PORT,
    INFINITY,
    REC_MAX_RC,
    REC_TIMEOUT,
    SERVER_PORT,
    MessageType,
    OptionCode,
    StatusCode,
    message_name,
)
from ..leases.model import BOUND, DECLINED, NA, PD, Lease
from ..leases.pools import RangeAllocator
from ..leases.table import LeaseTable
from ..server_config import Lifetimes, OptionValues, ServerConfig, Subnet
from ..wire import (
    AnyMessage,
    ClientId,
    DnsServers,
    DomainList,
    Duid,
    DuidEN,
    DuidLL,
    DuidLLT,
    DuidUnknown,
    DuidUUID,
    IaAddress,
    IaNa,
    IaPd,
    IaPrefix,
    InfMaxRt,
    InformationRefreshTime,
    InterfaceId,
    Message,
    Option,
    ParseError,
    Preference,
    RapidCommit,
    ReconfigureAccept,
    ReconfigureMessage,
    RelayMessage,
    RelayMsg,
    ServerId,
    SolMaxRt,
    StatusOption,
    decode,
    duid_from_bytes,
)
from ..wire._fast import IP6_FAST, ip6, maker
from ..wire.describe import address_text, summary, xid_text
from ..wire.options import OptionRun
from . import rkap
from .actions import (
    Action,
    CancelTimer,
    CommitLease,
    CommitMeta,
    RemoveLease,
    Send,
    SetTimer,
    Trace,
)
from .server_table import HANDLING, RECONFIGURE_ANSWERS, RECONFIGURE_REPLY

RECLAIM = "reclaim"
RECONF = "reconf:"  # + client DUID hex: a Reconfigure being retransmitted
RECONF_TYPES = {
    "renew": MessageType.RENEW,
    "rebind": MessageType.REBIND,
    "information-request": MessageType.INFORMATION_REQUEST,
}
# §16: these must not carry a Server-ID; the other client messages (but Information-request)
# must carry ours.
NO_SERVER_ID = frozenset({MessageType.SOLICIT, MessageType.CONFIRM, MessageType.REBIND})
IA_CODES = frozenset({OptionCode.IA_NA, OptionCode.IA_TA, OptionCode.IA_PD})
# Members the per-message path names, looked up once (an Enum class attribute costs about
# 0.1 µs a lookup, several times per message).
_CLIENTID, _SERVERID = OptionCode.CLIENTID, OptionCode.SERVERID
_SOLICIT, _REQUEST, _REBIND = MessageType.SOLICIT, MessageType.REQUEST, MessageType.REBIND
_REPLY, _INFORMATION_REQUEST = MessageType.REPLY, MessageType.INFORMATION_REQUEST
_RENEW, _ADVERTISE = MessageType.RENEW, MessageType.ADVERTISE
_RAPID_COMMIT = OptionCode.RAPID_COMMIT
_IA_CLASSES = (IaNa, IaPd)  # the IAs a server assigns to (IA_TA is not served)
_NO_ADDRS_AVAIL, _NO_PREFIX_AVAIL = StatusCode.NO_ADDRS_AVAIL, StatusCode.NO_PREFIX_AVAIL
NO_OPTIONS = OptionValues()
# message_name of each type handled: msg.name is a property calling a function
_HANDLED_NAME = {int(t): message_name(t) for t in HANDLING}
_HANDLER = {int(t): h.handler for t, h in HANDLING.items()}  # the method handling each type
# The codec's DUID classes: equal fields are equal wire forms and unequal ones unequal (each
# type's fields are fixed-width but the last), so two of one class compare without encoding.
FIELD_DUIDS = frozenset({DuidLLT, DuidEN, DuidLL, DuidUUID, DuidUnknown})
# What every Reply is built of, made as the decoder makes it (wire/_fast.py's maker, checked
# at import to build what the constructor builds): a constructor call costs 1.5 times that.
_make_message = maker(Message)
_make_ia_na = maker(IaNa)
_make_ia_pd = maker(IaPd)
_make_ia_address = maker(IaAddress)
_make_ia_prefix = maker(IaPrefix)
_make_lease = maker(Lease)
PLANS_MAX = 1 << 16  # renewal plans an engine keeps before it starts afresh
_make_send = maker(Send)
# Trace(kind, fields) and SetTimer(name, at) made as above: the "recv" and "send" lines of
# every exchange, the reclaim timer every few seconds
_make_trace = maker(Trace)
_make_set_timer = maker(SetTimer)
# The "drop" trace events of _drop_msg by (reason, message name): actions are immutable and
# drivers only read a Trace's fields, so one action serves every such drop (the other
# server's Request and Renew, at every binding and renewal), and a driver that keeps what it
# made of an action (the simulator's JSON) makes it once. The reasons are a fixed set of
# texts (by message type at most); the bound is a safeguard.
_DROP_TRACES: dict[tuple[str, str], Trace] = {}
DROP_TRACES_MAX = 256


def _drop_trace(reason: str, msg: str) -> Trace:
    """``Trace("drop", {"reason": reason, "msg": msg})``, made once per pair."""
    t = _DROP_TRACES.get((reason, msg))
    if t is None:
        if len(_DROP_TRACES) >= DROP_TRACES_MAX:
            _DROP_TRACES.clear()
        t = _DROP_TRACES[reason, msg] = Trace("drop", {"reason": reason, "msg": msg})
    return t


_DROP_RENEW_NOT_OURS = _drop_trace("Server-ID does not match ours", message_name(MessageType.RENEW))


@dataclass(slots=True)
class Pending:
    """A Reconfigure waiting for the client's answer (§18.3.11)."""

    msg_type: int
    count: int
    rt: float
    seed: str


@dataclass(slots=True)
class Ctx:
    """One message being handled."""

    msg: Message
    duid: bytes
    src: IPv6Address
    iface: str
    relay: RelayMessage | None
    subnet: Subnet | None
    now: float
    actions: list[Action]
    peer: str = ""  # str(src) for traces ("" when not tracing)
    client_option: Option | None = None  # the message's Client-ID option, echoed in replies
    facts: Facts | None = None  # of ``subnet`` (None when it is None)


@dataclass(frozen=True, slots=True)
class Facts:
    """What handling asks of a configured subnet, worked out once per ``configure``.

    Subnet.name is str(prefix), ``address in prefix`` and ``Lifetimes.timers()`` cost
    microseconds each, and a Renew would ask each of them several times.
    """

    name: str
    network: int  # the prefix as integers: ``a & mask == network`` is ``a in prefix``
    mask: int
    pd: tuple[tuple[int, int, int], ...]  # (network, mask, delegated length) per pd pool
    timing: Timing
    has_options: bool  # any option value configured (else a reply never reads the ORO)

    @classmethod
    def of(cls, s: Subnet, config: ServerConfig) -> Facts:
        pd = tuple(
            (int(p.prefix.network_address), int(p.prefix.netmask), p.delegated_length)
            for p in s.pd_pools
        )
        timing = Timing.of(config.lifetimes_for(s))
        return cls(
            s.name,
            int(s.prefix.network_address),
            int(s.prefix.netmask),
            pd,
            timing,
            s.options != NO_OPTIONS,
        )

    def on_link(self, a: IPv6Address) -> bool:
        """``a in subnet.prefix``. (``a._ip``: ``int(a)`` without its Python call, where
        wire/_fast.py found at import that the slot holds it: IP6_FAST.)"""
        return (a._ip if IP6_FAST else int(a)) & self.mask == self.network  # type: ignore[attr-defined]

    def in_pd_pool(self, a: IPv6Address, plen: int | None = None) -> bool:
        """``a`` lies in a pd pool (delegated with that pool's length, if ``plen`` is given)."""
        v = int(a)
        return any(v & m == n and (plen is None or plen == dl) for n, m, dl in self.pd)


@dataclass(frozen=True, slots=True)
class Timing:
    """Lifetimes and the T1/T2 that go with them (RFC 9915 §21.4)."""

    lifetimes: Lifetimes
    t1: int
    t2: int

    @classmethod
    def of(cls, lt: Lifetimes) -> Timing:
        return cls(lt, *lt.timers())


@dataclass(slots=True)
class RenewPlan:
    """What a Renew's run of options tells the server, worked out once per run.

    A decode memo hands out one OptionRun per wire form, and a client's Renew carries the
    same options at every renewal (only the transaction id differs), so the usual Renew —
    one IA_NA asking for the one address its binding holds — is answered from this: the
    Reply's options (an OptionRun too, so its trace summary is remembered) and the trace
    fields, which stay the same as long as the subnet's facts do.
    """

    options: OptionRun
    cid_option: Option | None
    duid: bytes  # the Client-ID's wire form; b"" without one
    other: bool  # a Client-ID, and a Server-ID naming another server: dropped (_invalid)
    # The only IA, holding exactly one address, of a Renew with a Client-ID and our
    # Server-ID (else None: no fast path)
    ia: IaNa | None
    bk: tuple[str, bytes, int]  # its binding's key in the lease table
    key: tuple[str, int]  # the lease key of the address it asks for
    # Worked out for ``facts`` (None: not yet, or the address is not appropriate there):
    facts: Facts | None = None
    reply_options: OptionRun | None = None
    # the "lease" and "state" trace events (actions are immutable: the same ones each time)
    lease_trace: Trace | None = None
    state_trace: Trace | None = None
    # The "recv" and "send" trace fields of the Renew and its Reply from ``peer`` on
    # ``peer_iface`` but for their "xid" (the Renew's), which a copy gets (worked out
    # again for another peer or interface, and after ``facts``: ``peer`` None).
    peer: IPv6Address | None = None
    peer_iface: str = ""
    recv_fields: dict[str, Any] | None = None
    send_fields: dict[str, Any] | None = None


_INF = float("inf")


def _ends(now: float, valid: int) -> float:
    return _INF if valid == INFINITY else now + valid


class Drop(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


#: the last "recv" trace event made (see _recv_trace): message, source, interface, event
_last_recv: tuple[Any, Any, str, Trace | None] = (None, None, "", None)


def _recv_trace(
    msg: AnyMessage, src: IPv6Address, iface: str, fields_of: dict[str, Any] | None = None
) -> Trace:
    """The "recv" trace event: summary(msg), peer, iface (``fields_of``: these fields but
    for the "xid", of an earlier message of the same type and options from ``src`` on
    ``iface``, which a copy takes: see RenewPlan).

    The last one made is given again for the same message from the same source on the
    same interface: a driver decodes a multicast once and hands the (immutable) message to
    every server that hears it, and their recv lines are the same. (Actions are immutable
    and drivers only read a Trace's fields.)
    """
    global _last_recv
    last = _last_recv
    if last[0] is msg and last[1] is src and last[2] == iface:
        return last[3]  # type: ignore[return-value]
    if fields_of is not None:
        fields = fields_of.copy()
        fields["xid"] = xid_text(msg.transaction_id)  # type: ignore[union-attr]
    else:
        fields = summary(msg)  # a new dict, ours to add to
        fields["peer"] = address_text(src)
        fields["iface"] = iface
    t = _make_trace("recv", fields)
    _last_recv = (msg, src, iface, t)
    return t


#: the last "state" trace event made (see _state_trace): seed, message name, client, event
_last_state: tuple[str, str, bytes, Trace | None] = ("", "", b"", None)


def _state_trace(seed: str, msg: str, duid: bytes) -> Trace:
    """The "state" trace event of a message handled: seed, msg, client (``duid.hex()``).

    The last one made is given again for the same fields: every server that hears a
    client's Solicit advertises, and their state lines are the same (see _recv_trace).
    """
    global _last_state
    last = _last_state
    if last[2] == duid and last[0] == seed and last[1] == msg:
        return last[3]  # type: ignore[return-value]
    t = Trace("state", {"seed": seed, "msg": msg, "client": duid.hex()})
    _last_state = (seed, msg, duid, t)
    return t


class ServerEngine:
    quiet_timers = frozenset({RECLAIM})  # periodic housekeeping: not worth a trace line

    def __init__(
        self,
        config: ServerConfig,
        duid: Duid,
        *,
        trace: bool = True,
        node: str = "",
        rand_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.duid = duid
        self.rand_bytes = rand_bytes  # reconfigure keys (RFC 9915 §20.4)
        self.keys: dict[bytes, bytes] = {}  # client DUID → reconfigure key
        self.replay = 0  # RDM 0 monotonic counter, kept across restarts
        self.seen: dict[bytes, tuple[IPv6Address, str, RelayMessage | None]] = {}
        self.reconfiguring: dict[bytes, Pending] = {}
        self.duid_bytes = duid.encode()
        # a Server-ID's DUID of this class is compared field by field (see _ours)
        self._duid_class = type(duid) if type(duid) in FIELD_DUIDS else None
        # The last Server-ID options found to name us and another server (see _ours).
        self._sid_ours: Option | None = None
        self._sid_other: Option | None = None
        self.server_id = ServerId(duid)
        self.trace = trace
        self.table = LeaseTable()
        self.stats: dict[str, int] = {}
        self._plans: dict[int, RenewPlan] = {}  # by id(plan.options), which it holds
        self.configure(config)

    # ------------------------------------------------------------------ configuration
    def configure(self, config: ServerConfig) -> None:
        """(Re)load a configuration; bindings are kept (SIGHUP)."""
        self.config = config
        self._na_pools: dict[str, list[RangeAllocator]] = {}
        self._pd_pools: dict[str, list[tuple[RangeAllocator, int]]] = {}
        for s in config.subnets:
            self._na_pools[s.name] = [RangeAllocator(int(r.first), int(r.last)) for r in s.pools]
            self._pd_pools[s.name] = [
                (
                    RangeAllocator(
                        int(p.prefix.network_address),
                        int(p.prefix.broadcast_address) - (1 << (128 - p.delegated_length)) + 1,
                        1 << (128 - p.delegated_length),
                    ),
                    p.delegated_length,
                )
                for p in s.pd_pools
            ]
        # _choose's (pool, prefix length) pairs of the address pools, by subnet
        self._na_choices = {
            name: [(p, 128) for p in pools] for name, pools in self._na_pools.items()
        }
        self._by_iface = {s.interface: s for s in config.subnets if s.interface}
        self._by_iid = {s.interface_id: s for s in config.subnets if s.interface_id}
        # Worked out once per configured subnet (keyed by id: the config holds every subnet
        # alive until the next configure); see Facts.
        self._facts = {id(s): Facts.of(s, config) for s in config.subnets}
        # the facts of the subnet serving each interface (_by_iface, then _facts, in one step)
        self._iface_facts = {i: self._facts[id(s)] for i, s in self._by_iface.items()}
        self._timing = Timing.of(config.lifetimes)  # where no subnet serves the link

    def restore(self, leases: Iterable[Lease]) -> int:
        """Load bindings kept by the lease store (at start, after a crash)."""
        n = 0
        for lease in leases:
            self.table.put(lease)
            n += 1
        return n

    def restore_meta(self, meta: dict[str, str]) -> None:
        """Keys and the replay counter kept by the lease store."""
        self.replay = max(self.replay, int(meta.get("replay", "0")))
        for k, v in meta.items():
            if k.startswith("rkey:"):
                self.keys[bytes.fromhex(k[5:])] = bytes.fromhex(v)

    def start(self, now: float) -> list[Action]:
        return [SetTimer(RECLAIM, now + self.config.reclaim_interval)]

    # ------------------------------------------------------------------ inputs
    def timer_fired(self, name: str, now: float) -> list[Action]:
        if name == RECLAIM:
            table = self.table
            if not table.due(now):  # (the usual case: nothing to reclaim, one action)
                return [_make_set_timer(RECLAIM, now + self.config.reclaim_interval)]
            actions: list[Action] = []
            for lease in table.expired(now):
                self._give_back(lease)
                actions.append(RemoveLease(lease))
                action = "reclaimed" if lease.state == DECLINED else "expired"
                self._trace(actions, "lease", action=action, **self._lease_fields(lease))
            actions.append(_make_set_timer(RECLAIM, now + self.config.reclaim_interval))
            return actions
        actions = []
        if name.startswith(RECONF):
            duid = bytes.fromhex(name[len(RECONF) :])
            p = self.reconfiguring.get(duid)
            if p is not None:
                if p.count >= REC_MAX_RC:
                    del self.reconfiguring[duid]
                    self._trace(actions, "drop", msg="RECONFIGURE", client=duid.hex(),
                                reason=f"no answer after {REC_MAX_RC} Reconfigures (REC_MAX_RC)")  # fmt: skip
                else:
                    p.rt *= 2
                    self._send_reconfigure(actions, duid, p, now)
        return actions

    def packet_received(
        self, data: bytes, src: IPv6Address, dst: IPv6Address | None, iface: str, now: float
    ) -> list[Action]:
        try:
            msg = decode(data)
        except ParseError as e:
            actions: list[Action] = []
            self._drop(actions, f"malformed: {e}", peer=address_text(src))
            return actions
        return self.message_received(msg, src, dst, iface, now)

    def message_received(
        self, msg: AnyMessage, src: IPv6Address, dst: IPv6Address | None, iface: str, now: float
    ) -> list[Action]:
        """A decoded message arrived: what ``packet_received`` does after ``decode``.

        Decoded messages are immutable, so a driver may decode a datagram once and hand
        the same message to every engine it reaches (a multicast heard by two servers).
        """
        # a multicast client message: the usual Renew, Solicit, Request take a shortcut
        fast = type(msg) is Message and (
            dst is None or (dst._ip if IP6_FAST else int(dst)) >> 120 == 0xFF  # type: ignore[attr-defined]
        )
        if fast and msg.msg_type == _RENEW:  # (makes its actions: the recv line comes last)
            got = self._renew_fast(msg, src, iface, now)  # type: ignore[arg-type]
            if got is not None:
                return got
        trace = self.trace
        recv = _recv_trace(msg, src, iface) if trace else None
        actions: list[Action] = [recv] if recv is not None else []
        if fast:
            t = msg.msg_type
            if t == _SOLICIT:
                done = self._solicit_fast(msg, src, iface, actions, recv)  # type: ignore[arg-type]
            elif t == _REQUEST:
                done = self._request_fast(msg, src, iface, now, actions, recv)  # type: ignore[arg-type]
            else:
                done = False
            if done:
                return actions
        peer = recv.fields["peer"] if recv is not None else ""
        relay: RelayMessage | None = None
        if isinstance(msg, RelayMessage):
            if msg.msg_type != MessageType.RELAY_FORW:
                self._drop_msg(actions, "Relay-reply is for relay agents", msg.name)
                return actions
            relay = msg
            inner = msg.innermost()
            if not isinstance(inner, Message):
                self._drop_msg(actions, "Relay-forward without a client message", msg.name)
                return actions
            msg = inner
        elif dst is not None and (dst._ip if IP6_FAST else int(dst)) >> 120 != 0xFF:  # type: ignore[attr-defined]
            # not ff00::/8 (dst.is_multicast); a._ip is int(a) without a Python call (IP6_FAST)
            # RFC 9915 §16: servers should not accept unicast traffic from clients.
            self._drop_msg(actions, "unicast from a client (RFC 9915 §16)", msg.name)
            return actions
        handler = _HANDLER.get(msg.msg_type)  # (HANDLING's, by int: found in one step)
        if handler is None:
            reason = (
                "server-to-client message"
                if msg.msg_type
                in (MessageType.ADVERTISE, MessageType.REPLY, MessageType.RECONFIGURE)
                else "unknown message type"
            )
            self._drop_msg(actions, reason, message_name(msg.msg_type))
            return actions
        name = _HANDLED_NAME[msg.msg_type]
        opts = msg.options
        if type(opts) is OptionRun:  # decoded through a memo: its index (msg.option)
            first = opts.first  # type: ignore[attr-defined]
            cid_option, sid = first.get(_CLIENTID), first.get(_SERVERID)
        else:
            cid_option, sid = msg.option(_CLIENTID), msg.option(_SERVERID)
        cid = cid_option.duid if isinstance(cid_option, ClientId) else None
        reason = self._invalid(msg, cid is not None, sid)
        if reason is not None:  # the other server's Renew ends here: keep it cheap
            self._drop_msg(actions, reason, name)
            return actions
        # a DUID's wire form is never empty: b"" stands for "no Client-ID"
        ctx = Ctx(msg, b"" if cid is None else cid.encode(), src, iface, relay, None, now,
                  actions, peer, cid_option)  # fmt: skip
        try:
            # (_select_subnet, which a message not relayed needs no call for)
            s = self._by_iface.get(iface) if relay is None else self._select_subnet(ctx)
            if s is not None:
                ctx.subnet = s
                f = self._facts.get(id(s))  # (_facts_of(s), in one step when it is ours)
                ctx.facts = f if f is not None else self._facts_of(s)
            reply, seed = getattr(self, handler)(ctx)
        except Drop as d:
            self._drop_msg(actions, d.reason, name)
            return actions
        duid = ctx.duid
        if duid:
            self.seen[duid] = (src, iface, relay)
        pending = self.reconfiguring
        if pending and msg.msg_type in RECONFIGURE_ANSWERS and duid in pending:
            del pending[duid]
            actions.append(CancelTimer(RECONF + duid.hex()))
            seed = RECONFIGURE_REPLY
        self.stats[seed] = self.stats.get(seed, 0) + 1
        if trace:
            actions.append(_state_trace(seed, name, duid))
        if reply is not None:
            actions.append(self._send(ctx, reply))
        return actions

    # ------------------------------------------------------------------ the usual Renew
    def _renew_fast(
        self, msg: Message, src: IPv6Address, iface: str, now: float
    ) -> list[Action] | None:
        """A multicast Renew handled as the general path handles it, in fewer steps, when
        it is the usual one (see RenewPlan): dropped when its Server-ID names another
        server, answered when it asks for the one address its binding holds, on a link we
        serve. Its actions (the recv line first, as message_received's), or None: not such
        a Renew, nothing done (the general path takes it)."""
        opts = msg.options
        plan = self._plans.get(id(opts))
        if plan is None or plan.options is not opts:
            if type(opts) is not OptionRun:
                return None  # not from a decode memo: not seen again
            plan = self._plan(opts)  # type: ignore[arg-type]
        if plan.other:  # the other server's client (_drop_msg: a drop line, traced or not)
            stats = self.stats
            stats["drop"] = stats.get("drop", 0) + 1
            if self.trace:
                return [_recv_trace(msg, src, iface), _DROP_RENEW_NOT_OURS]
            return [_DROP_RENEW_NOT_OURS]
        if plan.ia is None or self.reconfiguring or self.config.reconfigure:
            return None
        f = self._iface_facts.get(iface)
        if f is None:
            return None
        table = self.table
        b = table.bindings.get(plan.bk)
        if b is None or len(b) != 1:
            return None
        x = b.get(plan.key)
        if x is None or type(x) is not Lease:
            return None
        if plan.facts is not f and not self._plan_reply(plan, f, self._by_iface[iface], msg, x):
            return None
        lt = f.timing.lifetimes
        valid = lt.valid
        # x.renewed(...) (_commit), the lease table's put of a renewal (the binding's only one)
        expires = now + valid if valid != INFINITY else _INF  # _ends(now, valid)
        lease = _make_lease(x.kind, x.address, x.prefixlen, x.duid, x.iaid, lt.preferred,
                            valid, expires, x.state, x.subnet)  # fmt: skip
        table.renew(b, plan.key, lease)
        self.seen[plan.duid] = (src, iface, None)
        stats = self.stats
        stats["Reply"] = stats.get("Reply", 0) + 1
        reply = _make_message(_REPLY, msg.transaction_id, plan.reply_options)
        send = _make_send(reply, src, CLIENT_PORT, iface, None)
        if not self.trace:
            return [CommitLease(lease), send]
        if plan.peer is not src or plan.peer_iface != iface:
            self._plan_peer(plan, msg, src, iface)
        recv = _recv_trace(msg, src, iface, plan.recv_fields)
        # summary(reply): all but its xid, which is the Renew's (summarised in recv)
        fields = plan.send_fields.copy()  # type: ignore[union-attr]
        fields["xid"] = recv.fields["xid"]
        return [recv, CommitLease(lease), plan.lease_trace, plan.state_trace,  # type: ignore[list-item]
                _make_trace("send", fields), send]  # fmt: skip

    def _solicit_fast(
        self, msg: Message, src: IPv6Address, iface: str, actions: list[Action],
        recv: Trace | None,
    ) -> bool:  # fmt: skip
        """A multicast Solicit answered as the general path answers it, in fewer steps,
        when it is the usual one: decoded through a memo (its options an OptionRun), with a
        Client-ID, no Server-ID, no Rapid Commit to honour, one IA_NA asking for nothing in
        particular, from a client holding no binding of it, on a link we serve with no
        option values (so no ORO to read) and no Reconfigure. False: not such a Solicit (or
        no address to offer), nothing done (the general path takes it)."""
        opts = msg.options
        if type(opts) is not OptionRun:
            return False
        first = opts.first  # type: ignore[attr-defined]
        cid_option = first.get(_CLIENTID)
        config = self.config
        if (
            type(cid_option) is not ClientId
            or _SERVERID in first
            or config.reconfigure
            or (config.rapid_commit and _RAPID_COMMIT in first)  # (msg.rapid_commit)
        ):
            return False
        ias = self._ias_of(opts)
        if len(ias) != 1:
            return False
        ia = ias[0]
        if type(ia) is not IaNa or ia.options:
            return False
        f = self._iface_facts.get(iface)
        if f is None or f.has_options:
            return False
        duid = cid_option.duid.encode()  # type: ignore[union-attr]
        if (NA, duid, ia.iaid) in self.table.bindings:
            return False  # (offered what it holds, if still appropriate: the general path)
        # _choose(f, ia, NA, take=False) for an IA with no hints; a peek only moves past
        # what is taken, so the general path peeks the same if this gives up
        in_use = self._in_use(NA)
        for pool, _ in self._na_choices.get(f.name, ()):
            v = pool.peek(in_use)
            if v is not None:
                break
        else:
            return False  # nothing to offer: the general path says so
        # _assign, _reply (no ORO, no Reconfigure), then message_received's tail and _send
        tm = f.timing
        lt = tm.lifetimes
        offer = _make_ia_address(ip6(v), lt.preferred, lt.valid, ())
        ia_opt = _make_ia_na(ia.iaid, tm.t1, tm.t2, (offer,))
        body: tuple[Option, ...] = (self.server_id, cid_option, ia_opt)  # type: ignore[assignment]
        if config.preference:
            body += (Preference(config.preference),)
        reply = _make_message(_ADVERTISE, msg.transaction_id, body)
        self._answer(actions, reply, "Advertise", _HANDLED_NAME[_SOLICIT], duid, src, iface, recv)
        return True

    def _request_fast(
        self, msg: Message, src: IPv6Address, iface: str, now: float, actions: list[Action],
        recv: Trace | None,
    ) -> bool:  # fmt: skip
        """A multicast Request handled as the general path handles it, in fewer steps, when
        it is the usual one: decoded through a memo, with a Client-ID and a Server-ID —
        another server's: dropped; ours: answered when its one IA_NA asks for one address
        on a link we serve (what we advertised), from a client holding no binding of it,
        with no option values (no ORO to read) and no Reconfigure. False: not such a
        Request, nothing done (the general path takes it)."""
        opts = msg.options
        if type(opts) is not OptionRun:
            return False
        first = opts.first  # type: ignore[attr-defined]
        cid_option = first.get(_CLIENTID)
        sid = first.get(_SERVERID)
        if type(cid_option) is not ClientId or sid is None:
            return False
        if not self._ours(sid):  # the other server's client (_invalid's reason)
            self._drop_msg(actions, "Server-ID does not match ours", _HANDLED_NAME[_REQUEST])
            return True
        config = self.config
        if config.reconfigure:
            return False
        ias = self._ias_of(opts)
        if len(ias) != 1:
            return False
        ia = ias[0]
        asked = ia.options
        if type(ia) is not IaNa or len(asked) != 1 or type(asked[0]) is not IaAddress:
            return False
        f = self._iface_facts.get(iface)
        if f is None or f.has_options:
            return False
        addr = asked[0].address  # type: ignore[attr-defined]
        if not f.on_link(addr):
            return False  # (NotOnLink)
        duid = cid_option.duid.encode()  # type: ignore[union-attr]
        iaid = ia.iaid
        table = self.table
        if (NA, duid, iaid) in table.bindings:
            return False
        # _choose(f, ia, NA, take=True): the address asked for, if a pool's and free (what
        # we advertised, unless another client took it first), else the next one free; a
        # take that finds none only moves past what is taken, as the general path's would
        v = addr._ip if IP6_FAST else int(addr)
        pools = self._na_choices.get(f.name, ())
        if (NA, v) in table.leases or not any(v in pool for pool, _ in pools):
            in_use = self._in_use(NA)
            for pool, _ in pools:
                got = pool.take(in_use)
                if got is not None:
                    v = got
                    break
            else:
                return False  # nothing to grant: the general path says so
        # _new_lease, _commit (a new lease: "bound"), _reply, message_received's tail, _send
        tm = f.timing
        lt = tm.lifetimes
        preferred, valid = lt.preferred, lt.valid
        lease = _make_lease(NA, ip6(v), 128, duid, iaid, preferred, valid, _ends(now, valid),
                            BOUND, f.name)  # fmt: skip
        table.put(lease)
        actions.append(CommitLease(lease))
        if recv is not None:
            fields = {"action": "bound", "t1": tm.t1, "t2": tm.t2}
            actions.append(Trace("lease", self._lease_fields(lease, fields)))
        granted = _make_ia_address(lease.address, preferred, valid, ())
        body = (self.server_id, cid_option, _make_ia_na(iaid, tm.t1, tm.t2, (granted,)))
        reply = _make_message(_REPLY, msg.transaction_id, body)
        self._answer(actions, reply, "Reply", _HANDLED_NAME[_REQUEST], duid, src, iface, recv)
        return True

    def _answer(self, actions: list[Action], reply: Message, seed: str, handled: str,
                duid: bytes, src: IPv6Address, iface: str, recv: Trace | None) -> None:  # fmt: skip
        """A fast path's answer sent as message_received's tail and _send send it: the
        client seen, the stats, the state and send lines (``recv``: the message's "recv"
        event, None when not tracing), the Send."""
        self.seen[duid] = (src, iface, None)
        stats = self.stats
        stats[seed] = stats.get(seed, 0) + 1
        if recv is not None:
            actions.append(_state_trace(seed, handled, duid))
            fields = summary(reply)  # a new dict, ours to add to
            fields["peer"] = recv.fields["peer"]
            fields["iface"] = iface
            actions.append(_make_trace("send", fields))
        actions.append(_make_send(reply, src, CLIENT_PORT, iface, None))

    def _plan(self, opts: OptionRun) -> RenewPlan:
        """What ``opts`` tells (see RenewPlan), remembered by the run's identity."""
        first = opts.first
        cid_option = first.get(_CLIENTID)
        duid = cid_option.duid.encode() if isinstance(cid_option, ClientId) else b""
        sid = first.get(_SERVERID)
        # (_invalid: without a Client-ID or a Server-ID, the general path says why)
        usual = bool(duid) and sid is not None
        ours = usual and self._ours(sid)  # type: ignore[arg-type]
        ias = self._ias_of(opts)
        ia = ias[0] if ours and len(ias) == 1 and isinstance(ias[0], IaNa) else None
        asked = self._asked(ia) if ia is not None else []
        if len(asked) != 1:
            ia = None
        iaid = ia.iaid if ia is not None else 0
        a = asked[0][0] if ia is not None else None
        plan = RenewPlan(opts, cid_option, duid, usual and not ours, ia, (NA, duid, iaid),
                         (NA, int(a) if a is not None else -1))  # fmt: skip
        plans = self._plans
        if len(plans) >= PLANS_MAX:
            plans.clear()
        plans[id(opts)] = plan
        return plan

    def _plan_reply(self, plan: RenewPlan, f: Facts, s: Subnet, msg: Message, x: Lease) -> bool:
        """Work out the Reply's options and the trace fields of ``plan`` for ``f`` (the
        subnet ``s``'s facts) with the general path's builders, from its lease ``x``; False
        (nothing kept) where the lease is no longer appropriate."""
        if not self._appropriate(f, x):
            return False
        assert plan.ia is not None
        tm = f.timing
        lt = tm.lifetimes
        lease = x.renewed(lt.preferred, lt.valid, 0.0)
        ia = self._ia(plan.ia, tm.t1, tm.t2, [self._lease_option(lease, lt.preferred, lt.valid)])
        ctx = Ctx(msg, plan.duid, IPv6Address(0), "", None, s, 0.0, [], "", plan.cid_option, f)
        reply = self._reply(ctx, _REPLY, [ia])
        plan.reply_options = OptionRun(reply.options)
        plan.peer = None  # (the send fields: _plan_peer)
        fields = {"action": "renewed", "t1": tm.t1, "t2": tm.t2}
        plan.lease_trace = Trace("lease", self._lease_fields(lease, fields))
        plan.state_trace = Trace("state", {"seed": "Reply", "msg": _HANDLED_NAME[_RENEW],
                                           "client": plan.duid.hex()})  # fmt: skip
        plan.facts = f
        return True

    @staticmethod
    def _plan_peer(plan: RenewPlan, msg: Message, src: IPv6Address, iface: str) -> None:
        """The recv and send trace fields of ``plan`` (see RenewPlan) for ``msg`` from
        ``src`` on ``iface``, as _recv_trace and _send make them."""
        fields = summary(msg)  # new dicts, ours to add to
        fields["peer"] = peer = address_text(src)
        fields["iface"] = iface
        send = summary(_make_message(_REPLY, msg.transaction_id, plan.reply_options))
        send["peer"] = peer
        send["iface"] = iface
        plan.recv_fields, plan.send_fields = fields, send
        plan.peer, plan.peer_iface = src, iface

    # ------------------------------------------------------------------ §16 validation
    def _invalid(self, m: Message, has_client_id: bool, sid: Option | None) -> str | None:
        """Why ``m`` must be dropped (§16), or None. ``sid``: its first Server-ID option."""
        t = m.msg_type
        if t == _INFORMATION_REQUEST:
            if sid is not None and not self._ours(sid):
                return "Server-ID does not match ours"
            if any(o.code in IA_CODES for o in m.options):
                return "Information-request carries an IA option"
            return None
        if not has_client_id:
            return "no Client-ID"
        if t in NO_SERVER_ID:
            if sid is not None:
                return f"{m.name} carries a Server-ID"
        elif sid is None:
            return f"{m.name} without a Server-ID"
        elif not self._ours(sid):
            return "Server-ID does not match ours"
        return None

    def _ours(self, sid: Option) -> bool:
        """False only for a Server-ID naming another server (what is not a ServerId is ours)."""
        # Options are immutable and a driver's decode memo hands out one object per wire
        # form, so every Renew to a server carries the same Server-ID object: the last ones
        # found to name us and another server are held, and known again by identity.
        if sid is self._sid_ours:
            return True
        if sid is self._sid_other:
            return False
        if not isinstance(sid, ServerId):
            return True
        d = sid.duid
        # d == self.duid says what d.encode() == self.duid_bytes says (FIELD_DUIDS)
        ours = d == self.duid if type(d) is self._duid_class else d.encode() == self.duid_bytes
        if ours:
            self._sid_ours = sid
        else:
            self._sid_other = sid
        return ours

    def _select_subnet(self, ctx: Ctx) -> Subnet | None:
        if ctx.relay is None:
            return self._by_iface.get(ctx.iface)
        for level in reversed(ctx.relay.levels()):  # innermost relay first
            if not level.link_address.is_unspecified:
                for s in self.config.subnets:
                    if level.link_address in s.prefix:
                        return s
            iid = level.interface_id
            if iid is not None and iid in self._by_iid:
                return self._by_iid[iid]
        return None

    # ------------------------------------------------------------------ handlers
    def _solicit(self, ctx: Ctx) -> tuple[Message | None, str]:
        config = self.config
        if config.rapid_commit and ctx.msg.rapid_commit:  # (no option lookup when off)
            opts = self._assign_all(ctx, commit=True)
            return self._reply(ctx, _REPLY, [*opts, RapidCommit()]), "Reply"
        opts = self._assign_all(ctx, commit=False)
        if config.preference:
            opts.append(Preference(config.preference))
        return self._reply(ctx, _ADVERTISE, opts), "Advertise"

    def _request(self, ctx: Ctx) -> tuple[Message | None, str]:
        return self._reply(ctx, _REPLY, self._assign_all(ctx, commit=True)), "Reply"

    def _renew(self, ctx: Ctx) -> tuple[Message | None, str]:
        ias: list[Option] = []
        for o in ctx.msg.options:
            if isinstance(o, (IaNa, IaPd)):
                ia = self._extend(ctx, o, rebind=False)
                if ia is not None:
                    ias.append(ia)
        return self._reply(ctx, _REPLY, ias), "Reply"

    def _rebind(self, ctx: Ctx) -> tuple[Message | None, str]:
        if ctx.subnet is None:
            raise Drop("Rebind from a link we serve no subnet on")
        ias: list[Option] = []
        for o in ctx.msg.options:
            if isinstance(o, (IaNa, IaPd)):
                ia = self._extend(ctx, o, rebind=True)
                if ia:
                    ias.append(ia)
        if not ias:
            raise Drop("Rebind would return nothing (RFC 9915 §18.3.5)")
        return self._reply(ctx, MessageType.REPLY, ias), "Reply"

    def _confirm(self, ctx: Ctx) -> tuple[Message | None, str]:
        addrs = [a.address for ia in ctx.msg.ia_na for a in ia.addresses]
        if not addrs:
            raise Drop("Confirm carries no addresses: cannot tell (RFC 9915 §18.3.3)")
        if ctx.subnet is None:
            raise Drop("Confirm from a link we serve no subnet on: cannot tell")
        ok = all(a in ctx.subnet.prefix for a in addrs)
        status = (
            StatusOption(StatusCode.SUCCESS, "all addresses are on link")
            if ok
            else StatusOption(StatusCode.NOT_ON_LINK, "an address is not appropriate for the link")
        )
        return self._reply(ctx, MessageType.REPLY, [status], with_options=False), "Reply"

    def _information_request(self, ctx: Ctx) -> tuple[Message | None, str]:
        return self._reply(ctx, MessageType.REPLY, [], info=True), "Reply"

    def _release(self, ctx: Ctx) -> tuple[Message | None, str]:
        return self._give_up(ctx, declined=False), "Release"

    def _decline(self, ctx: Ctx) -> tuple[Message | None, str]:
        return self._give_up(ctx, declined=True), "Release"

    # ------------------------------------------------------------------ building replies
    def _reply(
        self,
        ctx: Ctx,
        msg_type: MessageType,
        body: list[Option],
        *,
        with_options: bool = True,
        info: bool = False,
    ) -> Message:
        opts: list[Option] = [self.server_id]
        cid = ctx.client_option  # ctx.msg.option(OptionCode.CLIENTID), found on receipt
        if cid is not None:
            opts.append(cid)
        opts += body
        if with_options:
            f = ctx.facts
            if f is not None and f.has_options:  # (else _requested_options gives none)
                opts += self._requested_options(ctx, info)
            if self.config.reconfigure:
                opts += self._reconfigure_key(ctx)
        return _make_message(msg_type, ctx.msg.transaction_id, tuple(opts))

    def _reconfigure_key(self, ctx: Ctx) -> list[Option]:
        """§20.4.2: a client that accepts Reconfigure gets a key in the Reply."""
        if not (self.config.reconfigure and ctx.msg.reconfigure_accept and ctx.duid):
            return []
        if ctx.msg.msg_type == MessageType.SOLICIT and not ctx.msg.rapid_commit:
            return [ReconfigureAccept()]  # an Advertise says we will, without a key
        key = self.keys.get(ctx.duid)
        if key is None:
            key = self.keys[ctx.duid] = self.rand_bytes(rkap.KEY_LENGTH)
            ctx.actions.append(CommitMeta(f"rkey:{ctx.duid.hex()}", key.hex()))
        self.replay += 1
        ctx.actions.append(CommitMeta("replay", str(self.replay)))
        return [ReconfigureAccept(), rkap.key_option(key, self.replay)]

    # ------------------------------------------------------------------ Reconfigure (§18.3.11)
    def reconfigure(
        self,
        now: float,
        *,
        clients: Iterable[bytes] = (),
        all_clients: bool = False,
        subnet: str | None = None,
        msg: str = "renew",
    ) -> tuple[list[Action], dict[str, Any]]:
        """Admin command: Reconfigure one client (seed: Reconfigure) or many (Reconfigure Init)."""
        actions: list[Action] = []
        if msg not in RECONF_TYPES:
            raise ValueError(f"--msg {msg!r}: one of {', '.join(RECONF_TYPES)}")
        if all_clients or subnet:
            net = None
            if subnet:
                net = IPv6Network(subnet)
            targets = sorted({
                x.duid for x in self.table.all()
                if x.duid and (net is None or x.address in net or x.subnet == str(net))
            })  # fmt: skip
            seed = "Reconfigure Init"
        else:
            targets = list(dict.fromkeys(clients))
            seed = "Reconfigure"
        sent, skipped = [], {}
        bound = {x.duid for x in self.table.all() if x.duid}
        for duid in targets:
            if duid not in self.keys:
                skipped[duid.hex()] = "client did not accept Reconfigure (no key)"
            elif duid not in self.seen:
                skipped[duid.hex()] = "client not seen since the server started"
            elif duid not in bound:
                skipped[duid.hex()] = "no binding"
            else:
                p = Pending(RECONF_TYPES[msg], 0, REC_TIMEOUT, seed)
                self.reconfiguring[duid] = p
                self._send_reconfigure(actions, duid, p, now)
                sent.append(duid.hex())
        if seed == "Reconfigure Init":
            self._trace(actions, "state", seed=seed, msg="RECONFIGURE", clients=len(sent),
                        reason=f"admin: {msg} for {'all' if all_clients else subnet}")  # fmt: skip
        return actions, {"sent": sent, "skipped": skipped}

    def _send_reconfigure(self, actions: list[Action], duid: bytes, p: Pending, now: float) -> None:
        src, iface, relay = self.seen[duid]
        self.replay += 1
        actions.append(CommitMeta("replay", str(self.replay)))
        msg = Message(MessageType.RECONFIGURE, 0, (
            self.server_id, ClientId(duid_from_bytes(duid)), ReconfigureMessage(p.msg_type),
        ))  # fmt: skip
        msg = rkap.sign(msg, self.keys[duid], self.replay)
        p.count += 1
        if p.seed == "Reconfigure" or p.count == 1:
            self._trace(actions, "state", seed=p.seed, msg="RECONFIGURE", client=duid.hex(),
                        attempt=p.count)  # fmt: skip
        peer = address_text(src) if self.trace else ""
        ctx = Ctx(msg, duid, src, iface, relay, None, now, actions, peer)
        actions.append(self._send(ctx, msg))
        actions.append(SetTimer(RECONF + duid.hex(), now + p.rt))

    def _option_values(self, subnet: Subnet | None) -> OptionValues:
        return subnet.options if subnet is not None else NO_OPTIONS

    def _requested_options(self, ctx: Ctx, info: bool) -> list[Option]:
        if ctx.facts is None or not ctx.facts.has_options:
            return []  # no option values (none without a subnet): no need to read the ORO
        v = self._option_values(ctx.subnet)
        oro = ctx.msg.oro
        always = self.config.always_send

        def want(code: int, key: str) -> bool:
            return code in oro or key in always

        out: list[Option] = []
        if v.dns_servers and want(OptionCode.DNS_SERVERS, "dns_servers"):
            out.append(DnsServers(v.dns_servers))
        if v.domain_search and want(OptionCode.DOMAIN_LIST, "domain_search"):
            out.append(DomainList(v.domain_search))
        if v.sol_max_rt is not None and not info and want(OptionCode.SOL_MAX_RT, "sol_max_rt"):
            out.append(SolMaxRt(v.sol_max_rt))
        if info:
            if v.inf_max_rt is not None and want(OptionCode.INF_MAX_RT, "inf_max_rt"):
                out.append(InfMaxRt(v.inf_max_rt))
            irt = v.information_refresh_time
            if irt is not None and want(
                OptionCode.INFORMATION_REFRESH_TIME, "information_refresh_time"
            ):
                out.append(InformationRefreshTime(irt))
        return out

    def _send(self, ctx: Ctx, reply: Message) -> Send:
        if self.trace:
            fields = summary(reply)  # a new dict, ours to add to
            fields["peer"] = ctx.peer
            fields["iface"] = ctx.iface
            ctx.actions.append(_make_trace("send", fields))
        if ctx.relay is None:
            return _make_send(reply, ctx.src, CLIENT_PORT, ctx.iface, None)
        wrapped: AnyMessage = reply
        for level in reversed(ctx.relay.levels()):  # §19.3: mirror every level, inner first
            opts: list[Option] = []
            if level.interface_id is not None:
                opts.append(InterfaceId(level.interface_id))
            opts.append(RelayMsg(wrapped))
            wrapped = RelayMessage(
                MessageType.RELAY_REPL,
                level.hop_count,
                level.link_address,
                level.peer_address,
                tuple(opts),
            )
        return Send(wrapped, ctx.src, SERVER_PORT, ctx.iface)

    # ------------------------------------------------------------------ IA processing
    @staticmethod
    def _ias(msg: Message) -> list[IaNa | IaPd]:
        return ServerEngine._ias_of(msg.options)

    @staticmethod
    def _ias_of(opts: tuple[Option, ...]) -> list[IaNa | IaPd]:
        return [o for o in opts if isinstance(o, _IA_CLASSES)]

    @staticmethod
    def _asked(ia: IaNa | IaPd) -> list[tuple[IPv6Address, int]]:
        """(address, prefix length) of each IA Address / IA Prefix the client put in ``ia``."""
        if isinstance(ia, IaNa):  # (ia.addresses, without the list in between)
            return [(o.address, 128) for o in ia.options if isinstance(o, IaAddress)]
        return [(p.prefix, p.prefix_length) for p in ia.prefixes]

    def _facts_of(self, s: Subnet) -> Facts:
        f = self._facts.get(id(s))
        return Facts.of(s, self.config) if f is None else f  # (a subnet not of our config)

    def _timing_of(self, ctx: Ctx) -> Timing:
        """``config.lifetimes_for(subnet)`` (the global ones without a subnet), with T1/T2."""
        return self._timing if ctx.facts is None else ctx.facts.timing

    def _assign_all(self, ctx: Ctx, commit: bool) -> list[Option]:
        assign = self._assign  # (each IA of self._ias(ctx.msg), without the list between)
        return [assign(ctx, o, commit) for o in ctx.msg.options if isinstance(o, _IA_CLASSES)]

    def _assign(self, ctx: Ctx, ia: IaNa | IaPd, commit: bool) -> Option:
        """Solicit / Request: the IA with what is (or would be) assigned (§18.3.1, §18.3.2)."""
        na = type(ia) is IaNa or isinstance(ia, IaNa)
        kind = NA if na else PD
        s, f = ctx.subnet, ctx.facts
        if s is None or f is None:
            fail = _NO_ADDRS_AVAIL if na else _NO_PREFIX_AVAIL
            return self._ia_status(ia, fail, "no subnet serves this link")
        tm = f.timing  # (_timing_of(ctx))
        lt = tm.lifetimes
        if na and commit and ia.options:  # (an IA with no options asks for no address)
            foreign = [a.address for a in ia.addresses if not f.on_link(a.address)]
            if foreign:  # §18.3.2
                return self._ia_status(ia, StatusCode.NOT_ON_LINK, f"{foreign[0]} is not on link")
        b = self.table.bindings.get((kind, ctx.duid, ia.iaid))  # (table.binding, no copy)
        leases = [x for x in b.values() if self._appropriate(f, x)] if b else None
        if leases:
            if commit:
                leases = [self._commit(ctx, x, tm) for x in leases]
        else:
            chosen = self._choose(f, ia, kind, take=commit)
            if chosen is None:
                what = "addresses" if na else "prefixes"
                fail = _NO_ADDRS_AVAIL if na else _NO_PREFIX_AVAIL
                return self._ia_status(ia, fail, f"no {what} available")
            v, plen = chosen
            if not commit:  # an Advertise: what _lease_option gives of the lease, not made
                if na:  # (_value_option and _ia, in fewer steps for the usual IA)
                    opt = _make_ia_address(ip6(v), lt.preferred, lt.valid, ())
                    return _make_ia_na(ia.iaid, tm.t1, tm.t2, (opt,))
                opt = self._value_option(na, ip6(v), plen, lt.preferred, lt.valid)
                return self._ia(ia, tm.t1, tm.t2, [opt])
            # made with these lifetimes: committed as it is (_commit's renewed would make
            # the same lease again)
            lease = self._new_lease(ctx, f, kind, ia.iaid, v, plen)
            leases = [self._commit(ctx, lease, tm, renew=False)]
        opts = [self._lease_option(x, lt.preferred, lt.valid) for x in leases]
        return self._ia(ia, tm.t1, tm.t2, opts)

    def _extend(self, ctx: Ctx, ia: IaNa | IaPd, rebind: bool) -> Option | None:
        """Renew / Rebind (§18.3.4, §18.3.5); None when the IA has nothing to say."""
        kind = NA if isinstance(ia, IaNa) else PD
        tm = self._timing_of(ctx)
        lt = tm.lifetimes
        s, f = ctx.subnet, ctx.facts
        # the table keys a binding's leases by address: no two alike
        binding = self.table.binding(kind, ctx.duid, ia.iaid)
        asked = self._asked(ia)
        out: list[Option] = []
        if not binding:
            if not rebind or self.config.rebind_unknown == "nobinding":
                return self._ia_status(ia, StatusCode.NO_BINDING, "no binding for this IA")
            for addr, plen in asked:  # another server's client after a failover
                x = self._adopt(ctx, s, kind, ia.iaid, addr, plen, tm) if s else None
                if x is not None:
                    out.append(self._lease_option(x, lt.preferred, lt.valid))
                else:
                    out.append(self._zero(kind, addr, plen))
            return self._ia(ia, tm.t1, tm.t2, out) if out else None
        for x in binding:
            if f is not None and self._appropriate(f, x):
                out.append(self._lease_option(self._commit(ctx, x, tm), lt.preferred, lt.valid))
            else:  # no longer appropriate: lifetime 0 tells the client to stop using it
                self._release_lease(ctx, x, "removed")
                out.append(self._lease_option(x, 0, 0))
        for addr, plen in asked:  # lifetime 0 for what it may not have and does not hold
            if f is not None and self._appropriate_addr(f, kind, addr):
                continue  # (the usual case: asked first, it is cheaper than the next test)
            if (addr, plen) not in [(x.address, x.prefixlen) for x in binding]:
                out.append(self._zero(kind, addr, plen))
        return self._ia(ia, tm.t1, tm.t2, out)

    def _give_up(self, ctx: Ctx, declined: bool) -> Message:
        """Release / Decline (§18.3.7, §18.3.8): top-level Success, NoBinding per unknown IA."""
        body: list[Option] = [
            StatusOption(StatusCode.SUCCESS, "released" if not declined else "declined")
        ]
        for ia in self._ias(ctx.msg):
            kind = NA if isinstance(ia, IaNa) else PD
            binding = {
                (x.address, x.prefixlen): x for x in self.table.binding(kind, ctx.duid, ia.iaid)
            }
            if not binding:
                body.append(self._ia_status(ia, StatusCode.NO_BINDING, "no binding for this IA"))
                continue
            for key in self._asked(ia):
                x = binding.get(key)
                if x is None:
                    continue  # not this client's: ignored (§18.3.7)
                if declined and kind == NA:
                    self._decline_lease(ctx, x)
                else:
                    self._release_lease(ctx, x, "released")
        return self._reply(ctx, MessageType.REPLY, body, with_options=False)

    # ------------------------------------------------------------------ lease helpers
    @staticmethod
    def _appropriate_addr(f: Facts, kind: str, addr: IPv6Address) -> bool:
        return f.on_link(addr) if kind == NA else f.in_pd_pool(addr)

    @staticmethod
    def _appropriate(f: Facts, x: Lease) -> bool:
        return f.on_link(x.address) if x.kind == NA else f.in_pd_pool(x.address, x.prefixlen)

    def _in_use(self, kind: str) -> Callable[[int], bool]:
        leases = self.table.leases
        return lambda v: (kind, v) in leases

    def _choose(self, f: Facts, ia: IaNa | IaPd, kind: str, take: bool) -> tuple[int, int] | None:
        """What to assign to ``ia`` from the pools of the subnet ``f`` is of (ctx.facts):
        an address or prefix (as an integer) and its prefix length."""
        in_use = self._in_use(kind)
        if kind == NA:
            pools = self._na_choices.get(f.name, ())
            # the IA's addresses (ia.addresses), if any
            hints = [a.address for a in ia.addresses] if ia.options else ()
        else:
            pools = self._pd_pools.get(f.name, ())
            hints = [p.prefix for p in ia.prefixes if not p.prefix.is_unspecified]  # type: ignore[union-attr]
        for h in hints:  # a free hint inside a pool is granted (§18.3.2 lets us)
            v = h._ip if IP6_FAST else int(h)  # type: ignore[attr-defined]
            for pool, plen in pools:
                if v in pool and not in_use(v):
                    return v, plen
        for pool, plen in pools:
            got = pool.take(in_use) if take else pool.peek(in_use)
            if got is not None:
                return got, plen
        return None

    @staticmethod
    def _new_lease(ctx: Ctx, f: Facts, kind: str, iaid: int, value: int, plen: int) -> Lease:
        """A lease of the subnet ``f`` is of, with its lifetimes from now."""
        lt = f.timing.lifetimes
        valid = lt.valid
        return _make_lease(kind, ip6(value), plen, ctx.duid, iaid, lt.preferred, valid,
                           _ends(ctx.now, valid), BOUND, f.name)  # fmt: skip

    def _name(self, s: Subnet) -> str:
        return self._facts_of(s).name

    def _adopt(
        self, ctx: Ctx, s: Subnet, kind: str, iaid: int, addr: IPv6Address, plen: int, tm: Timing
    ) -> Lease | None:
        """Rebind of a binding we do not hold: take it over if appropriate and free."""
        f = self._facts_of(s)
        if kind == NA and not f.on_link(addr):
            return None
        if kind == PD and not f.in_pd_pool(addr, plen):
            return None
        if (kind, int(addr)) in self.table.leases:
            return None  # someone else's (or declined)
        lt = tm.lifetimes
        lease = Lease(
            kind,
            addr,
            plen,
            ctx.duid,
            iaid,
            lt.preferred,
            lt.valid,
            _ends(ctx.now, lt.valid),
            BOUND,
            self._name(s),
        )
        return self._commit(ctx, lease, tm, action="rebound")

    def _commit(
        self, ctx: Ctx, lease: Lease, tm: Timing, action: str | None = None, renew: bool = True
    ) -> Lease:
        """Commit ``lease`` with the lifetimes of ``tm`` from now (``renew``: else it has
        them already)."""
        if renew:
            lt = tm.lifetimes
            lease = lease.renewed(lt.preferred, lt.valid, _ends(ctx.now, lt.valid))
        new = self.table.put(lease) is None  # nothing was at its address
        ctx.actions.append(CommitLease(lease))
        if self.trace:
            if action is None:
                t = ctx.msg.msg_type
                action = (
                    "bound"
                    if new or t in (_REQUEST, _SOLICIT)
                    else ("rebound" if t == _REBIND else "renewed")
                )
            fields = {"action": action, "t1": tm.t1, "t2": tm.t2}
            ctx.actions.append(Trace("lease", self._lease_fields(lease, fields)))
        return lease

    def _release_lease(self, ctx: Ctx, lease: Lease, action: str) -> None:
        self.table.remove(lease)
        self._give_back(lease)
        ctx.actions.append(RemoveLease(lease))
        self._trace(ctx.actions, "lease", action=action, **self._lease_fields(lease))

    def _decline_lease(self, ctx: Ctx, lease: Lease) -> None:
        self.table.remove(lease)
        held = Lease(
            lease.kind,
            lease.address,
            lease.prefixlen,
            b"",
            0,
            0,
            0,
            ctx.now + self.config.decline_probation,
            DECLINED,
            lease.subnet,
        )
        self.table.put(held)
        ctx.actions.append(CommitLease(held))
        self._trace(
            ctx.actions,
            "lease",
            action="declined",
            **self._lease_fields(lease),
            probation=self.config.decline_probation,
        )

    def _give_back(self, lease: Lease) -> None:
        if lease.kind == NA:
            for pool in self._na_pools.get(lease.subnet, []):
                pool.give_back(int(lease.address))
        else:
            for pool, _ in self._pd_pools.get(lease.subnet, []):
                pool.give_back(int(lease.address))

    # ------------------------------------------------------------------ option builders
    @staticmethod
    def _lease_option(x: Lease, preferred: int, valid: int) -> Option:
        if x.kind == NA:
            return _make_ia_address(x.address, preferred, valid, ())
        return _make_ia_prefix(preferred, valid, x.prefixlen, x.address, ())

    @staticmethod
    def _value_option(na: bool, a: IPv6Address, plen: int, preferred: int, valid: int) -> Option:
        """_lease_option of a lease of ``a`` (an address if ``na``, else a prefix of ``plen``)."""
        if na:
            return _make_ia_address(a, preferred, valid, ())
        return _make_ia_prefix(preferred, valid, plen, a, ())

    @staticmethod
    def _zero(kind: str, addr: IPv6Address, plen: int) -> Option:
        return IaAddress(addr, 0, 0) if kind == NA else IaPrefix(0, 0, plen, addr)

    @staticmethod
    def _ia(ia: IaNa | IaPd, t1: int, t2: int, opts: list[Option]) -> Option:
        if isinstance(ia, IaNa):
            return _make_ia_na(ia.iaid, t1, t2, tuple(opts))
        return _make_ia_pd(ia.iaid, t1, t2, tuple(opts))

    @staticmethod
    def _ia_status(ia: IaNa | IaPd, code: StatusCode, text: str) -> Option:
        st = (StatusOption(code, text),)
        return IaNa(ia.iaid, 0, 0, st) if isinstance(ia, IaNa) else IaPd(ia.iaid, 0, 0, st)

    # ------------------------------------------------------------------ tracing
    def _lease_fields(self, lease: Lease, out: dict[str, Any] | None = None) -> dict[str, Any]:
        """A lease's trace fields, added to ``out`` (after what it holds) if given."""
        if out is None:
            out = {}
        out["address" if lease.kind == NA else "prefix"] = lease.text()
        out["preferred"] = lease.preferred
        out["valid"] = lease.valid
        if lease.duid:
            out["client"] = lease.duid.hex()
            out["iaid"] = lease.iaid
        return out

    def _trace(self, actions: list[Action], kind: str, **fields: Any) -> None:
        if self.trace:
            actions.append(Trace(kind, fields))

    def _drop(self, actions: list[Action], reason: str, **fields: Any) -> None:
        self.stats["drop"] = self.stats.get("drop", 0) + 1
        actions.append(Trace("drop", {"reason": reason, **fields}))

    def _drop_msg(self, actions: list[Action], reason: str, msg: str) -> None:
        """``_drop(actions, reason, msg=msg)``, without the keyword-argument packing."""
        self.stats["drop"] = self.stats.get("drop", 0) + 1
        actions.append(_drop_trace(reason, msg))
