"""Sans-IO DHCPv6 client engine (RFC 9915 §14–§18.2).

Inputs: ``start(now)``, ``packet_received(data, src, dst, iface, now)``,
``timer_fired(name, now)``, ``stop(now)``, ``link_changed(up, now)``,
``dad_failed(address, now)``. Outputs: action lists. Time and randomness are injected
(``now`` arguments, the ``rand`` function), so every timer is testable with a fake clock.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv6Address, IPv6Network
from typing import Any

from ..constants import (
    ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
    INF_MAX_RT,
    INFINITY,
    IRT_DEFAULT,
    IRT_MINIMUM,
    MAX_RT_OPTION_MAX,
    MAX_RT_OPTION_MIN,
    RETRANSMISSION,
    SERVER_PORT,
    SOL_MAX_RT,
    MessageType,
    OptionCode,
    StatusCode,
)
from ..wire import (
    ClientId,
    Duid,
    ElapsedTime,
    IaAddress,
    IaNa,
    IaPd,
    IaPrefix,
    InfMaxRt,
    InformationRefreshTime,
    Message,
    Option,
    OptionRequest,
    ParseError,
    RapidCommit,
    ReconfigureAccept,
    ReconfigureMessage,
    RelayMessage,
    ServerId,
    SolMaxRt,
    decode,
)
from ..wire._fast import maker
from ..wire.describe import address_text, summary, xid_text
from . import rkap
from .actions import (
    Action,
    CancelTimer,
    ConfigureAddress,
    ConfigurePrefix,
    RemoveAddress,
    RemovePrefix,
    Send,
    SetTimer,
    StateChanged,
    Trace,
)
from .client_table import (
    ALLOWED,
    BOUND,
    CONFIRM,
    DECLINE,
    INFORMATION_REQUEST,
    INIT,
    REBIND,
    RELEASE,
    RENEW,
    REQUEST,
    SEED,
    SOLICIT,
    STOPPED,
)
from .retransmit import Exchange, new_exchange

TX = "tx"  # initial random delay before the first transmission
RTX = "rtx"  # retransmission
T1 = "t1"
T2 = "t2"
REFRESH = "refresh"  # stateless: information refresh time
VALID = "valid:"  # + lease key: a lease's valid lifetime ends
_ALL_DHCP_TEXT = str(ALL_DHCP_RELAY_AGENTS_AND_SERVERS)  # formatting an address costs µs
_ELAPSED_ZERO = ElapsedTime(0)  # every first transmission's (options are immutable values)
# actions are immutable values too: the cancellations every exchange repeats, made once
_CANCEL_RETRANSMISSION = (CancelTimer(RTX), CancelTimer(TX))
_CANCEL_T1_T2 = _CANCEL_T1, _CANCEL_T2 = (CancelTimer(T1), CancelTimer(T2))
#: StateChanged actions by (old, new, event, seed, server): every Renew repeats the same
#: two, and the drivers only read them (their ``extra`` too); made once, for all engines
_STATE_CHANGES: dict[tuple[str, str, str, str | None, str | None], StateChanged] = {}
#: the one every renewal starts with (what _goto makes of it)
_RENEW_AT_T1 = _STATE_CHANGES[(BOUND, RENEW, "T1", None, None)] = StateChanged(
    BOUND, RENEW, SEED[RENEW], "T1", {}
)
assert (BOUND, RENEW) in ALLOWED
#: the ``timer set`` trace events of T1/T2 by (name, after, type of after): the same few
#: values for every client of a server (the type too: 1800 and 1800.0 trace differently)
_TIMER_SETS: dict[tuple[str, float, type], Trace] = {}
_NO_TRACES = (Trace("timer"), Trace("timer"))  # placeholders, never sent
_CACHE_MAX = 4096  # entries any of these tables holds; past that, values are made afresh
#: option values are immutable too: the Option Request of each (configured codes, message
#: type), and the empty IAs a Solicit asks for by (IA_NA IAIDs, IA_PD IAIDs, PD hint
#: length), made once for all engines (a shared ORO keeps its wire form: encoded once)
_OROS: dict[tuple[tuple[int, ...], int], OptionRequest] = {}
_SOLICIT_IAS: dict[tuple[tuple[int, ...], tuple[int, ...], int | None], tuple[Option, ...]] = {}
#: the ``why`` of the random delay's trace event, by message type (an Enum's .name is a
#: property call)
_DELAY_WHY: dict[int, str] = {}
_MAX_RT_CODES = frozenset({OptionCode.SOL_MAX_RT, OptionCode.INF_MAX_RT})
_SOL_MAX_RT, _INF_MAX_RT = OptionCode.SOL_MAX_RT, OptionCode.INF_MAX_RT
_SERVERID = OptionCode.SERVERID
# Message(…) and Send(…) built as the server engine builds its messages (every field given)
_make_message = maker(Message)
_make_send = maker(Send)
_make_set_timer = maker(SetTimer)  # SetTimer(…), cheaper: ~4 per renewal
_make_trace = maker(Trace)  # Trace(…), cheaper: the send and recv lines


class MsgType:
    """The ``MessageType`` members the client names, as plain class attributes (the same
    objects): reading a member off an Enum class costs about 0.1 µs, and one Renew/Reply
    exchange names some thirty of them."""

    SOLICIT = MessageType.SOLICIT
    ADVERTISE = MessageType.ADVERTISE
    REQUEST = MessageType.REQUEST
    CONFIRM = MessageType.CONFIRM
    RENEW = MessageType.RENEW
    REBIND = MessageType.REBIND
    REPLY = MessageType.REPLY
    RELEASE = MessageType.RELEASE
    DECLINE = MessageType.DECLINE
    RECONFIGURE = MessageType.RECONFIGURE
    INFORMATION_REQUEST = MessageType.INFORMATION_REQUEST


# §18.2: the messages that name the chosen server (Server-ID), and those that ask for options
_TO_OUR_SERVER = frozenset({MsgType.REQUEST, MsgType.RENEW, MsgType.RELEASE, MsgType.DECLINE})
#: the exchanges whose Reply binds nothing (tested at once: most Replies answer a Renew)
_REPLY_BINDS_NOTHING = frozenset({MsgType.RELEASE, MsgType.DECLINE, MsgType.CONFIRM,
                                  MsgType.INFORMATION_REQUEST})  # fmt: skip
#: the exchanges whose RT is capped by what a server may set (SOL_MAX_RT, INF_MAX_RT)
_OWN_MAX_RT = frozenset({MsgType.SOLICIT, MsgType.INFORMATION_REQUEST})
#: the event of the move to BOUND by the exchange a Reply answers (else "Reply")
_BOUND_BY = {MsgType.SOLICIT: "Reply with Rapid Commit", MsgType.REQUEST: "Reply with leases"}
#: the types of received messages as plain ints, as decode gives them: == with an int
#: (and a set's lookup) is quicker than with an IntEnum member, and means the same
_ADVERTISE_INT, _REPLY_INT = int(MsgType.ADVERTISE), int(MsgType.REPLY)
_RECONFIGURE_INT = int(MsgType.RECONFIGURE)
_FOR_CLIENTS = frozenset({_ADVERTISE_INT, _REPLY_INT})
_WITH_ORO = frozenset({MsgType.SOLICIT, MsgType.REQUEST, MsgType.RENEW, MsgType.REBIND,
                       MsgType.INFORMATION_REQUEST})  # fmt: skip


@dataclass(frozen=True)
class ClientConfig:
    iface: str = "eth0"
    ia_na: int = 1
    ia_pd: int = 0
    pd_hint_length: int | None = None
    rapid_commit: bool = False
    reconfigure_accept: bool = False
    stateless: bool = False
    oro: tuple[int, ...] = (OptionCode.DNS_SERVERS, OptionCode.DOMAIN_LIST)
    prefixlen: int = 128  # length the leased addresses get on the interface
    downstream: str | None = None  # number the first /64 of a delegated prefix here
    na_iaids: tuple[int, ...] = ()  # persisted IAIDs (default 1..ia_na)
    pd_iaids: tuple[int, ...] = ()


@dataclass(slots=True)
class ClientLease:
    kind: str  # "na" or "pd"
    iaid: int
    address: IPv6Address
    prefixlen: int
    preferred: int
    valid: int
    since: float  # engine time the lifetimes count from

    @property
    def key(self) -> str:
        return f"{self.kind}:{address_text(self.address)}/{self.prefixlen}"

    @property
    def expires(self) -> float:
        return float("inf") if self.valid == INFINITY else self.since + self.valid

    def text(self) -> str:
        a = address_text(self.address)
        return a if self.kind == "na" else f"{a}/{self.prefixlen}"


@dataclass(slots=True)
class _Grant:
    """An address or prefix a Reply grants, with the actions that taking it repeats at
    every renewal (the driver only reads actions, so they are made once)."""

    kind: str  # "na" or "pd"
    iaid: int
    address: IPv6Address
    prefixlen: int
    preferred: int
    valid: int
    t1: int  # of its IA
    t2: int
    key: str  # ClientLease.key
    timer: str  # its valid-lifetime timer (VALID + key)
    configure: tuple[Action, ...]  # ConfigureAddress / ConfigurePrefix (and downstream)
    #: by the lease event's action ("renewed"…): ``configure``, then the lease event
    acts: dict[str, tuple[Action, ...]] = field(default_factory=dict)


@dataclass(slots=True)
class _Seen:
    """What a received message's options say, worked out once per run of options: a
    simulator's decode memo hands a client the same options tuple in every Reply to its
    Renew (only the transaction id differs), so all of this is reused while it comes back
    (``options`` is held, so its identity is a sound key)."""

    options: tuple[Option, ...]
    msg_type: int
    recv: dict[str, Any]  # the ``recv`` event's fields (xid, peer and iface filled per call)
    ids: str | None  # why the Server-ID / Client-ID make it invalid (§16.10), or None
    server: Duid | None
    status: Any  # the message's own Status Code option (StatusOption | None)
    max_rt: bool  # carries SOL_MAX_RT or INF_MAX_RT
    dns: tuple[IPv6Address, ...]
    domains: tuple[str, ...]
    # a Reply whose IAs only grant (no status but Success, nothing dropped or removed):
    # what taking them does, and the T1/T2 they leave; None until one is taken that way
    grants: tuple[_Grant, ...] | None = None
    t1: int = 0
    t2: int = 0


@dataclass
class Advertised:
    message: Message
    preference: int
    order: int


@dataclass
class ClientState:
    """Everything a `lab status` row needs, readable from outside."""

    state: str = INIT
    server: Duid | None = None
    leases: dict[str, ClientLease] = field(default_factory=dict)
    t1_at: float | None = None
    t2_at: float | None = None
    dns_servers: tuple[IPv6Address, ...] = ()
    domain_list: tuple[str, ...] = ()


class ClientEngine:
    def __init__(
        self,
        config: ClientConfig,
        duid: Duid,
        *,
        rand: Callable[[], float] | None = None,
        xid: Callable[[], int] | None = None,
    ) -> None:
        self.config = config
        self.duid = duid
        self.client_id = ClientId(duid)
        if rand is None or xid is None:  # seeding a generator from urandom costs ~20 µs
            rng = random.Random()
            rand = rand or rng.random
            xid = xid or (lambda: rng.getrandbits(24))
        self.rand = rand
        self.new_xid = xid
        self.s = ClientState()
        self.exchange: Exchange | None = None
        self.adverts: list[Advertised] = []
        self.sol_max_rt: float = SOL_MAX_RT
        self.inf_max_rt: float = INF_MAX_RT
        self.link_was_down = False
        self.declining: list[ClientLease] = []
        self._ia_opts: Sequence[Option] = ()  # the IAs of the exchange in progress
        self._t1 = self._t2 = 0  # T1/T2 of the IAs the last Reply granted (0: choose)
        self.reconfigure_key: bytes | None = None  # RKAP key from our server (§20.4)
        self.replay: int = -1  # the highest replay counter seen from the server
        # tuples (a config may give lists): the keys of the shared _OROS and _SOLICIT_IAS
        self._na = tuple(config.na_iaids) or tuple(range(1, config.ia_na + 1))
        self._oro_codes = tuple(config.oro)
        self._oros: dict[int, OptionRequest] = {}
        self._server_id: ServerId | None = None
        self._server_text: tuple[Duid | None, str] = (None, "")
        self._pd = tuple(config.pd_iaids) or tuple(range(1, config.ia_pd + 1))
        # made once, reused while nothing they depend on changes (see where each is read)
        self._zero_ias: tuple[Option, ...] | None = None  # every lease's IA, lifetimes 0
        self._built: tuple[int, Sequence[Option], Duid | None, tuple[Option, ...],
                           dict[str, Any]] | None = None  # fmt: skip
        self._peer: tuple[IPv6Address | None, str] = (None, "")  # the last sender, as text
        self._seen: _Seen | None = None  # of the last message received
        # the last T1/T2 armed and their ``timer set`` events (see _arm_timers)
        self._timer_traces: tuple[float, float, Trace, Trace] = (-1, -1, *_NO_TRACES)
        # the last Reply's move to BOUND: (old state, exchange type, server, its StateChanged)
        self._bound: tuple[str, int, str, StateChanged] = ("", 0, "", _RENEW_AT_T1)  # none

    # ------------------------------------------------------------------ views
    @property
    def state(self) -> str:
        return self.s.state

    @property
    def leases(self) -> list[ClientLease]:
        return list(self.s.leases.values())

    # ------------------------------------------------------------------ commands
    def start(self, now: float) -> list[Action]:
        out: list[Action] = []
        if self.config.stateless:
            self._goto(out, INFORMATION_REQUEST, "start (stateless)", now)
            self._begin(out, MsgType.INFORMATION_REQUEST, now)
        else:
            self._goto(out, SOLICIT, "start", now)
            self._begin(out, MsgType.SOLICIT, now)
        return out

    def stop(self, now: float) -> list[Action]:
        """Release what is bound (addresses removed first), then STOPPED."""
        out: list[Action] = []
        if self.state in (BOUND, RENEW, REBIND, CONFIRM) and self.s.leases:
            released = list(self.s.leases.values())
            self._drop_all_leases(out, "released")
            self._ia_opts = self._ias_for(released, zero=True)
            self._goto(out, RELEASE, "stop", now)
            self._begin(out, MsgType.RELEASE, now)
        elif self.state not in (STOPPED, RELEASE):
            self._cancel_exchange(out)
            out.append(CancelTimer(REFRESH))
            event = "stop (no leases: stateless)" if self.state == BOUND else "stop"
            self._goto(out, STOPPED, event, now)
        return out

    def link_changed(self, up: bool, now: float) -> list[Action]:
        out: list[Action] = []
        if not up:
            self.link_was_down = True
            return out
        if self.link_was_down and self.state == BOUND and self.s.leases:
            self.link_was_down = False
            self._goto(out, CONFIRM, "link up after down", now)
            self._ia_opts = self._ias_for(self.leases, zero=True, na_only=True)
            self._begin(out, MsgType.CONFIRM, now)
        self.link_was_down = False
        return out

    def dad_failed(self, address: IPv6Address, now: float) -> list[Action]:
        out: list[Action] = []
        bad = [x for x in self.s.leases.values() if x.kind == "na" and x.address == address]
        if not bad or self.state != BOUND:
            return out
        for x in bad:
            self._forget(out, x, "declined")
        self.declining = bad
        self._ia_opts = self._ias_for(bad, zero=True)
        self._goto(out, DECLINE, "duplicate address detected", now)
        self._begin(out, MsgType.DECLINE, now)
        return out

    # ------------------------------------------------------------------ timers
    def timer_fired(self, name: str, now: float) -> list[Action]:
        s = self.s
        if name == T1 and s.state == BOUND and not (s.t2_at and now >= s.t2_at):
            s.state = RENEW  # _goto(out, RENEW, "T1", now): one event for every client
            out: list[Action] = [_RENEW_AT_T1]
            ias = self._zero_ias  # _lease_ias(), its test inline
            self._ia_opts = ias if ias is not None else self._lease_ias()
            self._begin(out, MsgType.RENEW, now, s.t2_at)
            return out
        out = []
        if name in (TX, RTX):
            self._retransmit(out, now)
        elif (name == T2 and s.state in (BOUND, RENEW)) or (name == T1 and s.state == BOUND):
            # T2 (or a T1 that fires when T2 is already due: T1 = T2) → Rebind
            out.append(CancelTimer(T2))
            self._cancel_exchange(out)
            self._goto(out, REBIND, "T2", now)
            self._ia_opts = self._lease_ias()
            last = max((x.expires for x in s.leases.values()), default=now)
            self._begin(out, MsgType.REBIND, now, deadline=last)
        elif name.startswith(VALID):
            lease = s.leases.get(name[len(VALID) :])
            if lease is not None:
                self._forget(out, lease, "expired")
                if not s.leases and s.state in (BOUND, RENEW, REBIND):
                    self._restart_discovery(out, now, "valid lifetime of the last lease ended")
        elif name == REFRESH and s.state == BOUND:
            self._goto(out, INFORMATION_REQUEST, "information refresh time", now)
            self._begin(out, MsgType.INFORMATION_REQUEST, now)
        return out

    # ------------------------------------------------------------------ exchanges
    def _begin(self, out: list[Action], msg_type: MessageType, now: float,
               deadline: float | None = None, delay: bool = True) -> None:  # fmt: skip
        if self.exchange is not None:  # _cancel_exchange (the new one replaces it)
            out += _CANCEL_RETRANSMISSION
        params = RETRANSMISSION[msg_type]
        solicit = msg_type == MsgType.SOLICIT
        self.exchange = new_exchange(msg_type, self.new_xid() & 0xFFFFFF, params, deadline, solicit)
        if solicit:
            self.adverts = []
        if params.delay and delay:
            delay = self.rand() * params.delay
            out.append(SetTimer(TX, now + delay))
            why = _DELAY_WHY.get(msg_type)
            if why is None:
                why = _DELAY_WHY[msg_type] = f"random delay before the first {msg_type.name}"
            self._trace(out, "timer", action="set", name=TX, after=round(delay, 6), why=why)
        else:
            self._transmit(out, now)

    def _retransmit(self, out: list[Action], now: float) -> None:
        ex = self.exchange
        if ex is None:
            return
        if ex.msg_type == MsgType.SOLICIT and ex.count == 1 and self.adverts:
            self._choose(out, now, "first RT ended with Advertises")  # §18.2.1
            return
        if ex.count and ex.exhausted(now):
            self._failed(out, now)
            return
        self._transmit(out, now)

    def _transmit(self, out: list[Action], now: float) -> None:
        ex = self.exchange
        assert ex is not None
        if ex.started is None:
            ex.started = now
            if ex.params.mrd and ex.deadline is None:
                ex.deadline = now + ex.params.mrd
        t = ex.msg_type
        x = ex.xid
        # _build's memo of first transmissions, tested inline (by identity: else _build,
        # which tests with ==)
        built = self._built
        if (ex.count == 0 and built is not None and built[0] is t and built[1] is self._ia_opts
                and built[2] is self.s.server):  # fmt: skip
            msg = _make_message(t, x, built[3])
            fields = built[4].copy()
        else:
            msg, fields = self._build(ex, now)
        mrt = (
            None if t not in _OWN_MAX_RT
            else self.sol_max_rt if t == MsgType.SOLICIT
            else self.inf_max_rt
        )  # fmt: skip
        ex.rt = rt = ex.next_rt(self.rand, mrt)
        ex.count = count = ex.count + 1
        out.append(_make_send(msg, ALL_DHCP_RELAY_AGENTS_AND_SERVERS, SERVER_PORT,
                              self.config.iface, None))  # fmt: skip
        fields["xid"] = xid_text(x)  # as summary() has it (the Reply's recv reuses it)
        fields["attempt"] = count
        fields["rt"] = round(rt, 6)
        out.append(_make_trace("send", fields))
        at = now + rt
        deadline = ex.deadline
        if deadline is not None and deadline < at:
            at = deadline
        out.append(_make_set_timer(RTX, at))

    def _build(self, ex: Exchange, now: float) -> tuple[Message, dict[str, Any]]:
        """The message to send, and a new dict of its ``send`` event's fields (``xid``,
        ``attempt`` and ``rt`` for the caller to fill in).

        A first transmission's options depend only on the type, the IAs and the server:
        while those stay the same objects (a client's Renews), the options tuple and the
        fields are made once."""
        t = ex.msg_type
        elapsed = 0 if ex.count == 0 else ex.elapsed_centiseconds(now)
        ia_opts, server = self._ia_opts, self.s.server
        built = self._built
        if (elapsed == 0 and built is not None and built[0] == t and built[1] is ia_opts
                and built[2] is server):  # fmt: skip
            return _make_message(t, ex.xid, built[3]), built[4].copy()
        opts: list[Option] = [self.client_id]
        if t in _TO_OUR_SERVER:
            opts.append(self._server_option())
        opts.append(_ELAPSED_ZERO if elapsed == 0 else ElapsedTime(elapsed))
        if t == MsgType.SOLICIT:
            opts += self._solicit_ias()
            if self.config.rapid_commit:
                opts.append(RapidCommit())
        elif t != MsgType.INFORMATION_REQUEST:
            opts += ia_opts
        if t in _WITH_ORO:
            opts.append(self._oro(t))
            if self.config.reconfigure_accept:
                opts.append(ReconfigureAccept())
        msg = Message(t, ex.xid, tuple(opts))
        fields = summary(msg)  # a new dict: the event's own fields follow the message's
        fields.update(to=_ALL_DHCP_TEXT, iface=self.config.iface, attempt=0, rt=0.0)
        if elapsed == 0:
            self._built = (t, ia_opts, server, msg.options, fields.copy())
        return msg, fields

    def _oro(self, t: int) -> OptionRequest:
        """The Option Request option for message type ``t`` (made once per type, and
        shared by the engines configured with the same codes: see _OROS)."""
        o = self._oros.get(t)
        if o is None:
            key = (self._oro_codes, t)
            o = _OROS.get(key)
            if o is None:
                oro = list(self._oro_codes)
                if t == MsgType.SOLICIT:
                    oro.append(OptionCode.SOL_MAX_RT)
                if t == MsgType.INFORMATION_REQUEST:
                    oro += [OptionCode.INFORMATION_REFRESH_TIME, OptionCode.INF_MAX_RT]
                o = OptionRequest(tuple(dict.fromkeys(oro)))
                if len(_OROS) < _CACHE_MAX:
                    _OROS[key] = o
            self._oros[t] = o
        return o

    def _server_option(self) -> ServerId:
        """Server-ID of the chosen server (one option object per server DUID)."""
        server = self.s.server
        if self._server_id is None or self._server_id.duid is not server:
            self._server_id = ServerId(server)  # type: ignore[arg-type]
        return self._server_id

    def _server_hex(self) -> str:
        """The chosen server's DUID in hex (traced in every Reply's events; made once)."""
        server = self.s.server
        if self._server_text[0] is not server:
            self._server_text = (server, server.hex() if server is not None else "")
        return self._server_text[1]

    def _solicit_ias(self) -> tuple[Option, ...]:
        """The empty IAs a Solicit asks for (shared by alike engines: see _SOLICIT_IAS)."""
        plen = self.config.pd_hint_length
        key = (self._na, self._pd, plen)
        ias = _SOLICIT_IAS.get(key)
        if ias is None:
            out: list[Option] = [IaNa(i, 0, 0) for i in self._na]
            for i in self._pd:
                hint: tuple[Option, ...] = ()
                if plen is not None:
                    hint = (IaPrefix(0, 0, plen, IPv6Address(0)),)
                out.append(IaPd(i, 0, 0, hint))
            ias = tuple(out)
            if len(_SOLICIT_IAS) < _CACHE_MAX:
                _SOLICIT_IAS[key] = ias
        return ias

    def _failed(self, out: list[Action], now: float) -> None:
        """MRC or MRD reached: what follows depends on the exchange (§18.2.x)."""
        ex = self.exchange
        assert ex is not None
        t = ex.msg_type
        self._cancel_exchange(out)
        if t == MsgType.REQUEST:
            if self.adverts:
                self._request_next(out, now, "REQ_MAX_RC reached, next Advertise")
            else:
                self._restart_discovery(out, now, "REQ_MAX_RC reached, no Advertise left")
        elif t == MsgType.CONFIRM:
            self._goto(out, BOUND, "no Reply within CNF_MAX_RD", now)
            self._resume_timers(out, now)
        elif t == MsgType.DECLINE:
            self._after_decline(out, now, "Reply or DEC_MAX_RC")
        elif t == MsgType.RELEASE:
            self._goto(out, STOPPED, "Reply or REL_MAX_RC", now)
        # RENEW ends at T2 and REBIND when the leases expire: their own timers act.

    def _cancel_exchange(self, out: list[Action]) -> None:
        if self.exchange is not None:
            out += _CANCEL_RETRANSMISSION
        self.exchange = None

    # ------------------------------------------------------------------ receiving
    def packet_received(self, data: bytes, src: IPv6Address, dst: IPv6Address | None,
                        iface: str, now: float) -> list[Action]:  # fmt: skip
        try:
            msg = decode(data)
        except ParseError as e:
            out: list[Action] = []
            self._drop(out, f"malformed: {e}", peer=str(src))
            return out
        return self.message_received(msg, src, dst, iface, now)

    def message_received(self, msg: Message | RelayMessage, src: IPv6Address,
                         dst: IPv6Address | None, iface: str, now: float) -> list[Action]:  # fmt: skip
        """A datagram already decoded (``packet_received`` after ``decode``): a driver
        that delivers one datagram to several engines decodes it once."""
        if type(msg) is not Message and isinstance(msg, RelayMessage):
            out: list[Action] = []
            self._drop(out, "relay message on the client port", msg=msg.name)
            return out
        t = msg.msg_type
        seen = self._seen
        if seen is None or seen.options is not msg.options or seen.msg_type != t:
            seen = self._seen = self._see(msg)
            fields = seen.recv  # handed out as it is: later ones copy it (same keys)
        else:
            fields = seen.recv.copy()
        fields["xid"] = xid_text(msg.transaction_id)
        peer = self._peer
        if peer[0] is not src:  # the same server's address again, most of the time
            peer = self._peer = (src, address_text(src))
        fields["peer"] = peer[1]
        fields["iface"] = iface
        out = [_make_trace("recv", fields)]
        if t == _RECONFIGURE_INT:
            self._reconfigure(out, msg, dst, now)
            return out
        reason = self._invalid(msg, seen)
        if reason:
            self._drop(out, reason, msg=msg.name)
            return out
        if t == _REPLY_INT:
            self._reply(out, msg, seen, now)
        elif t == _ADVERTISE_INT:
            self._advertise(out, msg, seen, now)
        else:  # Reconfigure (answered only with Reconfigure Accept: relay+reconfigure issue)
            self._drop(out, f"{msg.name} not handled in state {self.state}", msg=msg.name)
        return out

    def _see(self, msg: Message) -> _Seen:
        """Work out what ``msg``'s options say (see _Seen)."""
        server = msg.server_id
        cid = msg.client_id
        ids = (
            "no Server-ID" if server is None
            else "no Client-ID" if cid is None
            else "Client-ID is not ours" if cid != self.duid
            else None
        )  # fmt: skip
        recv = summary(msg)  # a new dict: the event's own fields follow the message's
        recv["peer"] = recv["iface"] = ""
        opts = msg.options
        first = msg._first  # a decode memo's index of the options' first of each code
        if first is not None:
            max_rt = _SOL_MAX_RT in first or _INF_MAX_RT in first
        else:
            max_rt = any(o.code in _MAX_RT_CODES for o in opts)
        return _Seen(opts, msg.msg_type, recv, ids, server, msg.status, max_rt,
                     msg.dns_servers, msg.domain_list)  # fmt: skip

    def _invalid(self, msg: Message, seen: _Seen) -> str | None:
        """§16.3 / §16.10 (and §16.11's basics): why this message must be discarded."""
        t = msg.msg_type
        if t not in _FOR_CLIENTS:
            return f"{msg.name} is not for clients"
        ex = self.exchange
        if ex is None or msg.transaction_id != ex.xid:
            return "transaction id matches no exchange in progress"
        if seen.ids is not None:
            return seen.ids
        if t == _ADVERTISE_INT:
            if ex.msg_type != MsgType.SOLICIT:
                return f"Advertise while in {self.state}"
        elif ex.msg_type == MsgType.SOLICIT:  # a Reply to a Solicit
            if not msg.rapid_commit:
                return "Reply to a Solicit without Rapid Commit"
            if not self.config.rapid_commit:
                return "Rapid Commit Reply though we did not ask for it"
        return None

    def _reconfigure(
        self, out: list[Action], msg: Message, dst: IPv6Address | None, now: float
    ) -> None:
        """§16.11 / §18.2.11: obey only an authenticated, unicast Reconfigure from our server."""
        why = None
        rm = msg.option(OptionCode.RECONF_MSG)
        if not self.config.reconfigure_accept:
            why = "Reconfigure not accepted (client runs without --reconfigure-accept)"
        elif dst is not None and dst.is_multicast:
            why = "Reconfigure sent by multicast (must be unicast, §16.11)"
        elif self.state != BOUND:
            why = f"Reconfigure ignored: exchange in progress ({self.state})"
        elif msg.server_id is None or msg.server_id != self.s.server:
            why = "Reconfigure not from our server"
        elif msg.client_id != self.duid:
            why = "Reconfigure Client-ID is not ours"
        elif not isinstance(rm, ReconfigureMessage) or rm.msg_type not in (5, 6, 11):
            why = "no valid Reconfigure Message option (5, 6 or 11)"
        elif self.reconfigure_key is None:
            why = "no reconfigure key from our server"
        if why is None:
            ok, counter, reason = rkap.verify(msg, self.reconfigure_key)  # type: ignore[arg-type]
            if not ok:
                why = reason
            elif counter is None or counter <= self.replay:
                why = f"replayed counter ({counter} ≤ last {self.replay})"
            else:
                self.replay = counter
        if why is not None:
            self._drop(out, why, msg=msg.name)
            return
        assert isinstance(rm, ReconfigureMessage)
        if rm.msg_type == MsgType.RENEW:
            self._goto(out, RENEW, "Reconfigure (renew)", now, seed="Reconfigure")
            self._ia_opts = self._ias_for(self.leases, zero=True)
            self._begin(out, MsgType.RENEW, now, deadline=self.s.t2_at)
        elif rm.msg_type == MsgType.REBIND:
            self._goto(out, REBIND, "Reconfigure (rebind)", now, seed="Reconfigure")
            self._ia_opts = self._ias_for(self.leases, zero=True)
            last = max((x.expires for x in self.s.leases.values()), default=now)
            self._begin(out, MsgType.REBIND, now, deadline=last)
        else:
            self._goto(out, INFORMATION_REQUEST, "Reconfigure (information-request)", now,
                       seed="Reconfigure")  # fmt: skip
            self._begin(out, MsgType.INFORMATION_REQUEST, now, delay=False)

    def _learn_key(self, msg: Message) -> None:
        """The reconfigure key a Reply carries (the caller checks reconfigure_accept)."""
        got = rkap.key_from(msg)
        if got is not None:
            self.reconfigure_key, counter = got
            self.replay = max(self.replay, counter)

    def _advertise(self, out: list[Action], msg: Message, seen: _Seen, now: float) -> None:
        if seen.max_rt:
            self._learn_max_rt(msg)
        if not self._offers_something(msg):  # §18.2.9
            self._drop(out, "Advertise offers no addresses or prefixes", msg=msg.name)
            return
        self.adverts.append(Advertised(msg, msg.preference, len(self.adverts)))
        ex = self.exchange
        assert ex is not None
        if msg.preference == 255:
            self._choose(out, now, "Advertise with Preference 255")
        elif ex.count > 1:
            self._choose(out, now, "Advertise after the first RT")

    def _offers_something(self, msg: Message) -> bool:
        return any(ia.addresses for ia in msg.ia_na) or any(ia.prefixes for ia in msg.ia_pd)

    def _learn_max_rt(self, msg: Message) -> None:
        """§21.24 / §21.25: honour SOL_MAX_RT / INF_MAX_RT only within 60–86400."""
        for opt in msg.options:
            if isinstance(opt, SolMaxRt) and MAX_RT_OPTION_MIN <= opt.value <= MAX_RT_OPTION_MAX:
                self.sol_max_rt = opt.value
            elif isinstance(opt, InfMaxRt) and MAX_RT_OPTION_MIN <= opt.value <= MAX_RT_OPTION_MAX:
                self.inf_max_rt = opt.value

    def _choose(self, out: list[Action], now: float, why: str) -> None:
        # highest preference, then the earliest received (§18.2.9)
        self.adverts.sort(key=lambda a: (-a.preference, a.order))
        self._request_next(out, now, why)

    def _request_next(self, out: list[Action], now: float, why: str) -> None:
        adv = self.adverts.pop(0)
        msg = adv.message
        sid = msg.option(_SERVERID)
        if isinstance(sid, ServerId):  # (_invalid saw to it) the Request names the server
            self._server_id = sid  # with the option it sent: equal, and its wire form kept
        self.s.server = msg.server_id
        # the offered leases as hints, lifetimes and T1/T2 zero (§21.4, §21.6); then the
        # IAs the server could not fill, asked for again, empty
        ias: list[Option] = []
        have: set[tuple[type, int]] = set()
        for na in msg.ia_na:
            addrs = na.addresses
            if addrs:
                ias.append(IaNa(na.iaid, 0, 0, tuple([IaAddress(a.address, 0, 0) for a in addrs])))
                have.add((IaNa, na.iaid))
        for pd in msg.ia_pd:
            prefixes = pd.prefixes
            if prefixes:
                ias.append(IaPd(pd.iaid, 0, 0, tuple([IaPrefix(0, 0, p.prefix_length, p.prefix)
                                                      for p in prefixes])))  # fmt: skip
                have.add((IaPd, pd.iaid))
        for o in self._solicit_ias():
            if (type(o), o.iaid) not in have:  # type: ignore[attr-defined]
                ias.append(o)
        self._ia_opts = ias
        self._goto(out, REQUEST, why, now, server=self._server_hex())
        self._begin(out, MsgType.REQUEST, now)

    def _reply(self, out: list[Action], msg: Message, seen: _Seen, now: float) -> None:
        ex = self.exchange
        assert ex is not None
        t = ex.msg_type
        if seen.max_rt:
            self._learn_max_rt(msg)
        if self.config.reconfigure_accept:
            self._learn_key(msg)
        if t in _REPLY_BINDS_NOTHING:
            self._reply_binding_nothing(out, msg, seen, t, now)
            return
        top = seen.status
        if top is not None and top.status == StatusCode.UNSPEC_FAIL:
            self._drop(out, f"Reply with UnspecFail ({top.message}); retransmitting", msg=msg.name)
            return
        # Request, Renew, Rebind, or Solicit with Rapid Commit (§18.2.10.1)
        out += _CANCEL_RETRANSMISSION  # _cancel_exchange: there is one
        self.exchange = None
        s = self.s
        s.server = duid = seen.server  # not None: _invalid checked it
        text = self._server_text  # _server_hex(), its test inline
        server = text[1] if text[0] is duid else self._server_hex()
        grants = seen.grants
        if grants is not None:  # the same IAs as a Reply taken before: grants only
            # what _apply_ias does for them, without working them out again
            word = (
                "renewed" if t == MsgType.RENEW else "rebound" if t == MsgType.REBIND else "bound"
            )
            for g in grants:
                self._take(out, g, word, server, now)
            self._t1, self._t2 = seen.t1, seen.t2
            nobinding = False
        else:
            nobinding = self._apply_ias(out, msg, seen, t, server, now)
        s.dns_servers, s.domain_list = seen.dns, seen.domains  # _options
        if nobinding and t in (MsgType.RENEW, MsgType.REBIND):
            ias = self._lease_ias()
            have = {(type(o), o.iaid) for o in ias}  # type: ignore[attr-defined]
            self._ia_opts = (
                *ias, *(o for o in self._solicit_ias() if (type(o), o.iaid) not in have)  # type: ignore[attr-defined]
            )  # fmt: skip
            self._goto(out, REQUEST, "Reply with NoBinding", now)
            self._begin(out, MsgType.REQUEST, now)
            return
        if not s.leases:
            if t in (MsgType.RENEW, MsgType.REBIND):
                self._restart_discovery(out, now, "Reply removed every lease")
            else:
                self._restart_discovery(out, now, "Reply without leases")
            return
        old = s.state
        last = self._bound  # the same move as the last Reply's (every renewal's): as _goto
        if last[0] is old and last[1] is t and last[2] is server:
            s.state = BOUND
            out.append(last[3])
        else:  # (its event follows from the exchange's type t)
            self._goto(out, BOUND, _BOUND_BY.get(t, "Reply"), now, server=server)
            self._bound = (old, t, server, out[-1])  # _goto's StateChanged
        self._arm_timers(out, now)

    def _reply_binding_nothing(
        self, out: list[Action], msg: Message, seen: _Seen, t: int, now: float
    ) -> None:
        """The Reply to a Release, Decline, Confirm or Information-request."""
        self._cancel_exchange(out)
        if t == MsgType.RELEASE:
            self._goto(out, STOPPED, "Reply or REL_MAX_RC", now)
        elif t == MsgType.DECLINE:
            self._after_decline(out, now, "Reply or DEC_MAX_RC")
        elif t == MsgType.CONFIRM:
            top = seen.status
            if top is not None and top.status == StatusCode.NOT_ON_LINK:
                self._drop_all_leases(out, "removed")
                self._restart_discovery(out, now, "Reply NotOnLink")
            else:
                self._goto(out, BOUND, "Reply Success", now)
                self._resume_timers(out, now)
        else:  # Information-request
            self._options(out, seen)
            irt = IRT_DEFAULT
            o = msg.option(OptionCode.INFORMATION_REFRESH_TIME)
            if isinstance(o, InformationRefreshTime):
                irt = INFINITY if o.value == INFINITY else max(IRT_MINIMUM, o.value)
            self._goto(out, BOUND, "Reply", now, refresh=irt)
            if self.s.leases:  # a stateful client that was reconfigured: timers go on
                self._resume_timers(out, now)
            elif irt != INFINITY:
                out.append(SetTimer(REFRESH, now + irt))

    def _apply_ias(
        self, out: list[Action], msg: Message, seen: _Seen, t: int, server: str, now: float
    ) -> bool:
        """Bind, extend or remove leases from the Reply's IAs; True if any IA had NoBinding.

        A Reply that only grants (see _Seen) leaves its grants in ``seen``: when the same
        options come again, _reply does what this does, without working them out."""
        nobinding = False
        only_grants = True  # nothing but grants taken (no status but Success, no drop)
        word = "renewed" if t == MsgType.RENEW else "rebound" if t == MsgType.REBIND else "bound"
        leases = self.s.leases
        grants: list[_Grant] = []
        t1s: list[int] = []  # T1 and T2 of the IAs that granted something
        t2s: list[int] = []
        pds: list[IaPd] = []
        ias: list[IaNa | IaPd] = []
        for o in msg.options:  # the IA_NAs, then the IA_PDs (one pass, by type)
            c = type(o)
            if c is IaNa or (c is not IaPd and isinstance(o, IaNa)):
                ias.append(o)  # type: ignore[arg-type]
            elif c is IaPd or isinstance(o, IaPd):
                pds.append(o)  # type: ignore[arg-type]
        if pds:
            ias += pds
        for ia in ias:
            na = isinstance(ia, IaNa)
            kind = "na" if na else "pd"
            st = ia.status
            if st is not None:
                if st.status == StatusCode.NO_BINDING:
                    nobinding, only_grants = True, False
                    continue
                if not st.ok:
                    only_grants = False
                    self._trace(
                        out,
                        "drop",
                        msg=msg.name,
                        reason=f"IA {kind}:{ia.iaid}: {st.name} {st.message}".strip(),
                    )
                    continue  # NoAddrsAvail / NoPrefixAvail: the other IAs are kept
            if ia.t1 and ia.t2 and ia.t1 > ia.t2:
                only_grants = False
                self._drop(out, f"IA {kind}:{ia.iaid} has T1 > T2; discarded", msg=msg.name)
                continue
            items = ia.addresses if na else ia.prefixes  # type: ignore[union-attr]
            if items:
                t1s.append(ia.t1)
                t2s.append(ia.t2)
            for item in items:
                if isinstance(item, IaAddress):
                    addr, plen = item.address, 128
                else:
                    addr, plen = item.prefix, item.prefix_length
                pref, valid = item.preferred_lifetime, item.valid_lifetime
                if pref > valid:
                    only_grants = False
                    self._drop(out, f"{addr} has preferred > valid; ignored", msg=msg.name)
                    continue
                key = f"{kind}:{address_text(addr)}/{plen}"
                if valid == 0:
                    only_grants = False
                    old = leases.get(key)
                    if old is not None:
                        self._forget(out, old, "removed")
                    continue
                g = self._grant(kind, ia.iaid, addr, plen, pref, valid, ia.t1, ia.t2, key)
                grants.append(g)
                self._take(out, g, word, server, now)
        # §14.2: T1/T2 of 0 leave the choice to the client; one Renew covers every IA
        self._t1 = min(t1s) if t1s and all(t1s) else 0
        self._t2 = min(t2s) if t2s and all(t2s) else 0
        if only_grants:
            seen.grants, seen.t1, seen.t2 = tuple(grants), self._t1, self._t2
        return nobinding

    def _grant(self, kind: str, iaid: int, addr: IPv6Address, plen: int, pref: int,
               valid: int, t1: int, t2: int, key: str) -> _Grant:  # fmt: skip
        """A grant and the actions that configure it."""
        cfg = self.config
        configure: tuple[Action, ...]
        if kind == "na":
            configure = (ConfigureAddress(addr, cfg.prefixlen, pref, valid, cfg.iface),)
        else:
            configure = (ConfigurePrefix(IPv6Network((addr, plen)), pref, valid),)
            if cfg.downstream and plen <= 64:
                first = IPv6Network((addr, plen)).network_address + 1
                configure += (ConfigureAddress(first, 64, pref, valid, cfg.downstream),)
        return _Grant(kind, iaid, addr, plen, pref, valid, t1, t2, key, VALID + key, configure)

    def _take(self, out: list[Action], g: _Grant, word: str, server: str, now: float) -> None:
        """Bind grant ``g`` as a lease from ``now``: configure it and time it out.
        ``word`` is the lease event's action for a lease held before ("renewed"…)."""
        leases = self.s.leases
        key = g.key
        old = leases.get(key)
        valid = g.valid
        if old is None:
            word = "bound"
            self._zero_ias = None  # a lease more
            leases[key] = ClientLease(g.kind, g.iaid, g.address, g.prefixlen, g.preferred, valid,
                                      now)  # fmt: skip
        else:
            # the lease held (its key: the same kind, address and length), renewed: set anew
            # in place, cheaper than a new ClientLease (s.leases alone holds the leases)
            if old.iaid != g.iaid:
                self._zero_ias = None
                old.iaid = g.iaid
            old.preferred = g.preferred
            old.valid = valid
            old.since = now
        acts = g.acts.get(word)
        if acts is None:
            label = "address" if g.kind == "na" else "prefix"
            text = address_text(g.address)
            acts = g.acts[word] = (*g.configure, Trace("lease", {
                "action": word, label: text if g.kind == "na" else f"{text}/{g.prefixlen}",
                "preferred": g.preferred, "valid": valid, "t1": g.t1, "t2": g.t2,
                "server": server, "iaid": g.iaid}))  # fmt: skip
        out += acts
        if valid != INFINITY:
            out.append(_make_set_timer(g.timer, now + valid))

    def _forget(self, out: list[Action], x: ClientLease, action: str) -> None:
        self.s.leases.pop(x.key, None)
        self._zero_ias = None
        out.append(CancelTimer(VALID + x.key))
        cfg = self.config
        if x.kind == "na":
            out.append(RemoveAddress(x.address, cfg.prefixlen, cfg.iface))
        else:
            out.append(RemovePrefix(IPv6Network((x.address, x.prefixlen))))
            if cfg.downstream and x.prefixlen <= 64:
                first = IPv6Network((x.address, x.prefixlen)).network_address + 1
                out.append(RemoveAddress(first, 64, cfg.downstream))
        key = "address" if x.kind == "na" else "prefix"
        self._trace(out, "lease", action=action, **{key: x.text()}, iaid=x.iaid)

    def _drop_all_leases(self, out: list[Action], action: str) -> None:
        for x in list(self.s.leases.values()):
            self._forget(out, x, action)
        out += _CANCEL_T1_T2
        self.s.t1_at = self.s.t2_at = None

    def _arm_timers(self, out: list[Action], now: float) -> None:
        """T1/T2 from the leases (§14.2: 0 means choose — 0.5 / 0.8 × shortest preferred)."""
        t1, t2 = self._t1, self._t2  # of the IAs the last Reply granted
        if not (t1 and t2):
            pref = min((x.preferred for x in self.s.leases.values()), default=INFINITY)
            if not t1:
                t1 = INFINITY if pref == INFINITY else max(1, pref // 2)
            if not t2:
                t2 = INFINITY if pref == INFINITY else max(1, pref * 4 // 5)
        if t2 < t1:
            t1 = t2  # a T1 chosen by the client never exceeds the server's T2
        traces = self._timer_traces
        if traces[0] is not t1 or traces[1] is not t2:  # not the same ints as the last time
            traces = self._timer_traces = (t1, t2, _timer_set(T1, t1), _timer_set(T2, t2))
        s = self.s
        if t1 != INFINITY and t2 != INFINITY:  # (every lease's case) the actions at once
            s.t1_at = at1 = now + t1
            s.t2_at = at2 = now + t2
            out += (_CANCEL_T1, _CANCEL_T2, _make_set_timer(T1, at1), traces[2],
                    _make_set_timer(T2, at2), traces[3])  # fmt: skip
            return
        out += _CANCEL_T1_T2
        if t1 == INFINITY:
            s.t1_at = None
        else:
            s.t1_at = at = now + t1
            out.append(SetTimer(T1, at))
            out.append(traces[2])
        if t2 == INFINITY:
            s.t2_at = None
        else:
            s.t2_at = at = now + t2
            out.append(SetTimer(T2, at))
            out.append(traces[3])

    def _resume_timers(self, out: list[Action], now: float) -> None:
        """Back in BOUND without a new lease (Confirm, Decline, Information-request): T1 and
        T2 still count from the Reply that granted the leases; one already due fires now."""
        for name, at in ((T1, self.s.t1_at), (T2, self.s.t2_at)):
            if at is not None:
                out.append(SetTimer(name, max(now, at)))

    def _options(self, out: list[Action], seen: _Seen) -> None:
        """Options a later Reply omits are revoked (§18.2.10.5)."""
        self.s.dns_servers = seen.dns
        self.s.domain_list = seen.domains

    def _after_decline(self, out: list[Action], now: float, event: str) -> None:
        self.declining = []
        if self.s.leases:
            self._goto(out, BOUND, event + ", leases left", now)
            self._resume_timers(out, now)
        else:
            self._restart_discovery(out, now, event + ", no lease left")

    def _restart_discovery(self, out: list[Action], now: float, why: str) -> None:
        self._cancel_exchange(out)
        out += _CANCEL_T1_T2
        self.s.t1_at = self.s.t2_at = None
        self.s.server = None
        self._goto(out, SOLICIT, why, now)
        self._begin(out, MsgType.SOLICIT, now)

    def _lease_ias(self) -> tuple[Option, ...]:
        """``_ias_for(every lease, zero=True)`` (a Renew's or Rebind's IAs), made again
        only when a lease is added, removed or moves to another IA (_take, _forget)."""
        ias = self._zero_ias
        if ias is None:
            ias = self._zero_ias = tuple(self._ias_for(self.s.leases.values(), zero=True))
        return ias

    def _ias_for(
        self, leases: Iterable[ClientLease], *, zero: bool, na_only: bool = False
    ) -> list[Option]:
        """IA options carrying these leases (lifetimes 0 where the RFC says so)."""
        na: dict[int, list[Option]] = {}
        pd: dict[int, list[Option]] = {}
        for x in leases:
            pref, valid = (0, 0) if zero else (x.preferred, x.valid)
            if x.kind == "na":
                na.setdefault(x.iaid, []).append(IaAddress(x.address, pref, valid))
            elif not na_only:
                pd.setdefault(x.iaid, []).append(IaPrefix(pref, valid, x.prefixlen, x.address))
        ias: list[Option] = [IaNa(i, 0, 0, tuple(v)) for i, v in na.items()]
        if pd:
            ias += [IaPd(i, 0, 0, tuple(v)) for i, v in pd.items()]
        return ias

    # ------------------------------------------------------------------ state and trace
    def _goto(self, out: list[Action], new: str, event: str, now: float, *,
              seed: str | None = None, server: str | None = None, **extra: Any) -> None:  # fmt: skip
        """Move to state ``new``; ``server`` and ``extra`` are more fields of its event."""
        s = self.s
        old = s.state
        if extra:  # other fields (refresh…): not worth remembering
            key = None
        else:
            key = (old, new, event, seed, server)
            change = _STATE_CHANGES.get(key)
            if change is not None:  # checked against ALLOWED when it was made
                s.state = new
                out.append(change)
                return
        if (old, new) not in ALLOWED:
            raise AssertionError(f"client transition {old} -> {new} ({event}) is not in the table")
        s.state = new
        if server is not None:
            extra = {"server": server, **extra}
        change = StateChanged(old, new, seed or SEED[new], event, extra)
        if key is not None and len(_STATE_CHANGES) < _CACHE_MAX:
            _STATE_CHANGES[key] = change
        out.append(change)

    def _trace(self, out: list[Action], kind: str, **fields: Any) -> None:
        out.append(Trace(kind, fields))

    def _drop(self, out: list[Action], reason: str, **fields: Any) -> None:
        out.append(Trace("drop", {"reason": reason, **fields}))


def _timer_set(name: str, after: float) -> Trace:
    """The ``timer set`` event of T1 or T2 (see _TIMER_SETS)."""
    key = (name, after, type(after))
    trace = _TIMER_SETS.get(key)
    if trace is None:
        trace = Trace("timer", {"action": "set", "name": name, "after": after})
        if len(_TIMER_SETS) < _CACHE_MAX:
            _TIMER_SETS[key] = trace
    return trace
