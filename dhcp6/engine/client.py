"""Sans-IO DHCPv6 client engine (RFC 9915 §14–§18.2).

Inputs: ``start(now)``, ``packet_received(data, src, dst, iface, now)``,
``timer_fired(name, now)``, ``stop(now)``, ``link_changed(up, now)``,
``dad_failed(address, now)``. Outputs: action lists. Time and randomness are injected
(``now`` arguments, the ``rand`` function), so every timer is testable with a fake clock.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
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
from ..wire.describe import address_text, summary
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
from .retransmit import Exchange

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
_CANCEL_T1_T2 = (CancelTimer(T1), CancelTimer(T2))


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
        rng = random.Random()
        self.rand = rand or rng.random
        self.new_xid = xid or (lambda: rng.getrandbits(24))
        self.s = ClientState()
        self.exchange: Exchange | None = None
        self.adverts: list[Advertised] = []
        self.sol_max_rt: float = SOL_MAX_RT
        self.inf_max_rt: float = INF_MAX_RT
        self.link_was_down = False
        self.declining: list[ClientLease] = []
        self._ia_opts: list[Option] = []  # the IAs of the Request in progress
        self._t1 = self._t2 = 0  # T1/T2 of the IAs the last Reply granted (0: choose)
        self.reconfigure_key: bytes | None = None  # RKAP key from our server (§20.4)
        self.replay: int = -1  # the highest replay counter seen from the server
        self._na = config.na_iaids or tuple(range(1, config.ia_na + 1))
        self._oros: dict[int, OptionRequest] = {}
        self._server_id: ServerId | None = None
        self._server_text: tuple[Duid | None, str] = (None, "")
        self._pd = config.pd_iaids or tuple(range(1, config.ia_pd + 1))

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
        out: list[Action] = []
        s = self.s
        if name in (TX, RTX):
            self._retransmit(out, now)
        elif name == T1 and s.state == BOUND and not (s.t2_at and now >= s.t2_at):
            self._goto(out, RENEW, "T1", now)
            self._ia_opts = self._ias_for(s.leases.values(), zero=True)
            self._begin(out, MsgType.RENEW, now, deadline=s.t2_at)
        elif (name == T2 and s.state in (BOUND, RENEW)) or (name == T1 and s.state == BOUND):
            # T2 (or a T1 that fires when T2 is already due: T1 = T2) → Rebind
            out.append(CancelTimer(T2))
            self._cancel_exchange(out)
            self._goto(out, REBIND, "T2", now)
            self._ia_opts = self._ias_for(s.leases.values(), zero=True)
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
        self._cancel_exchange(out)
        params = RETRANSMISSION[msg_type]
        self.exchange = Exchange(msg_type, self.new_xid() & 0xFFFFFF, params, deadline=deadline,
                                 first_rt_positive=msg_type == MsgType.SOLICIT)  # fmt: skip
        if msg_type == MsgType.SOLICIT:
            self.adverts = []
        if params.delay and delay:
            delay = self.rand() * params.delay
            out.append(SetTimer(TX, now + delay))
            self._trace(out, "timer", action="set", name=TX, after=round(delay, 6),
                        why=f"random delay before the first {msg_type.name}")  # fmt: skip
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
        msg = self._build(ex, now)
        t = ex.msg_type
        mrt = (
            self.sol_max_rt if t == MsgType.SOLICIT
            else self.inf_max_rt if t == MsgType.INFORMATION_REQUEST
            else None
        )  # fmt: skip
        ex.rt = ex.next_rt(self.rand, mrt)
        ex.count += 1
        iface = self.config.iface
        out.append(Send(msg, ALL_DHCP_RELAY_AGENTS_AND_SERVERS, SERVER_PORT, iface))
        fields = summary(msg)  # a new dict: the event's own fields follow the message's
        fields.update(to=_ALL_DHCP_TEXT, iface=iface, attempt=ex.count, rt=round(ex.rt, 6))
        out.append(Trace("send", fields))
        at = now + ex.rt
        if ex.deadline is not None and ex.deadline < at:
            at = ex.deadline
        out.append(SetTimer(RTX, at))

    def _build(self, ex: Exchange, now: float) -> Message:
        t = ex.msg_type
        opts: list[Option] = [self.client_id]
        if t in _TO_OUR_SERVER:
            opts.append(self._server_option())
        elapsed = ex.elapsed_centiseconds(now)
        opts.append(_ELAPSED_ZERO if elapsed == 0 else ElapsedTime(elapsed))
        if t == MsgType.SOLICIT:
            opts += self._solicit_ias()
            if self.config.rapid_commit:
                opts.append(RapidCommit())
        elif t != MsgType.INFORMATION_REQUEST:
            opts += self._ia_opts
        if t in _WITH_ORO:
            opts.append(self._oro(t))
            if self.config.reconfigure_accept:
                opts.append(ReconfigureAccept())
        return Message(t, ex.xid, tuple(opts))

    def _oro(self, t: int) -> OptionRequest:
        """The Option Request option for message type ``t`` (made once per type)."""
        o = self._oros.get(t)
        if o is None:
            oro = list(self.config.oro)
            if t == MsgType.SOLICIT:
                oro.append(OptionCode.SOL_MAX_RT)
            if t == MsgType.INFORMATION_REQUEST:
                oro += [OptionCode.INFORMATION_REFRESH_TIME, OptionCode.INF_MAX_RT]
            o = self._oros[t] = OptionRequest(tuple(dict.fromkeys(oro)))
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

    def _solicit_ias(self) -> list[Option]:
        out: list[Option] = [IaNa(i, 0, 0) for i in self._na]
        for i in self._pd:
            hint: tuple[Option, ...] = ()
            if self.config.pd_hint_length is not None:
                hint = (IaPrefix(0, 0, self.config.pd_hint_length, IPv6Address(0)),)
            out.append(IaPd(i, 0, 0, hint))
        return out

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
        out: list[Action] = []
        if isinstance(msg, RelayMessage):
            self._drop(out, "relay message on the client port", msg=msg.name)
            return out
        fields = summary(msg)  # a new dict: the event's own fields follow the message's
        fields.update(peer=address_text(src), iface=iface)
        out.append(Trace("recv", fields))
        if msg.msg_type == MsgType.RECONFIGURE:
            self._reconfigure(out, msg, dst, now)
            return out
        reason = self._invalid(msg)
        if reason:
            self._drop(out, reason, msg=msg.name)
            return out
        if msg.msg_type == MsgType.ADVERTISE:
            self._advertise(out, msg, now)
        elif msg.msg_type == MsgType.REPLY:
            self._reply(out, msg, now)
        else:  # Reconfigure (answered only with Reconfigure Accept: relay+reconfigure issue)
            self._drop(out, f"{msg.name} not handled in state {self.state}", msg=msg.name)
        return out

    def _invalid(self, msg: Message) -> str | None:
        """§16.3 / §16.10 (and §16.11's basics): why this message must be discarded."""
        t = msg.msg_type
        if t not in (MsgType.ADVERTISE, MsgType.REPLY):
            return f"{msg.name} is not for clients"
        ex = self.exchange
        if ex is None or msg.transaction_id != ex.xid:
            return "transaction id matches no exchange in progress"
        if msg.server_id is None:
            return "no Server-ID"
        cid = msg.client_id
        if cid is None:
            return "no Client-ID"
        if cid != self.duid:
            return "Client-ID is not ours"
        if t == MsgType.ADVERTISE:
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
        if self.config.reconfigure_accept:
            got = rkap.key_from(msg)
            if got is not None:
                self.reconfigure_key, counter = got
                self.replay = max(self.replay, counter)

    def _advertise(self, out: list[Action], msg: Message, now: float) -> None:
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
        self.s.server = adv.message.server_id
        # the offered leases as hints, lifetimes and T1/T2 zero (§21.4, §21.6)
        self._ia_opts = [
            *(IaNa(ia.iaid, 0, 0, tuple(IaAddress(a.address, 0, 0) for a in ia.addresses))
              for ia in adv.message.ia_na if ia.addresses),
            *(IaPd(ia.iaid, 0, 0, tuple(IaPrefix(0, 0, p.prefix_length, p.prefix) for p in ia.prefixes))
              for ia in adv.message.ia_pd if ia.prefixes),
        ]  # fmt: skip
        # IAs the server could not fill are asked for again, empty
        have = {(type(o), o.iaid) for o in self._ia_opts}  # type: ignore[attr-defined]
        self._ia_opts += [o for o in self._solicit_ias() if (type(o), o.iaid) not in have]  # type: ignore[attr-defined]
        self._goto(out, REQUEST, why, now, server=adv.message.server_id.hex())  # type: ignore[union-attr]
        self._begin(out, MsgType.REQUEST, now)

    def _reply(self, out: list[Action], msg: Message, now: float) -> None:
        ex = self.exchange
        assert ex is not None
        t = ex.msg_type
        self._learn_max_rt(msg)
        self._learn_key(msg)
        top = msg.status
        if t == MsgType.RELEASE:
            self._cancel_exchange(out)
            self._goto(out, STOPPED, "Reply or REL_MAX_RC", now)
            return
        if t == MsgType.DECLINE:
            self._cancel_exchange(out)
            self._after_decline(out, now, "Reply or DEC_MAX_RC")
            return
        if t == MsgType.CONFIRM:
            self._cancel_exchange(out)
            if top is not None and top.status == StatusCode.NOT_ON_LINK:
                self._drop_all_leases(out, "removed")
                self._restart_discovery(out, now, "Reply NotOnLink")
            else:
                self._goto(out, BOUND, "Reply Success", now)
                self._resume_timers(out, now)
            return
        if t == MsgType.INFORMATION_REQUEST:
            self._cancel_exchange(out)
            self._options(out, msg)
            irt = IRT_DEFAULT
            o = msg.option(OptionCode.INFORMATION_REFRESH_TIME)
            if isinstance(o, InformationRefreshTime):
                irt = INFINITY if o.value == INFINITY else max(IRT_MINIMUM, o.value)
            self._goto(out, BOUND, "Reply", now, refresh=irt)
            if self.s.leases:  # a stateful client that was reconfigured: timers go on
                self._resume_timers(out, now)
            elif irt != INFINITY:
                out.append(SetTimer(REFRESH, now + irt))
            return
        if top is not None and top.status == StatusCode.UNSPEC_FAIL:
            self._drop(out, f"Reply with UnspecFail ({top.message}); retransmitting", msg=msg.name)
            return
        # Request, Renew, Rebind, or Solicit with Rapid Commit (§18.2.10.1)
        self._cancel_exchange(out)
        self.s.server = msg.server_id
        nobinding = self._apply_ias(out, msg, t, now)
        self._options(out, msg)
        if nobinding and t in (MsgType.RENEW, MsgType.REBIND):
            self._ia_opts = self._ias_for(self.leases, zero=True)
            have = {(type(o), o.iaid) for o in self._ia_opts}  # type: ignore[attr-defined]
            self._ia_opts += [o for o in self._solicit_ias() if (type(o), o.iaid) not in have]  # type: ignore[attr-defined]
            self._goto(out, REQUEST, "Reply with NoBinding", now)
            self._begin(out, MsgType.REQUEST, now)
            return
        if not self.s.leases:
            if t in (MsgType.RENEW, MsgType.REBIND):
                self._restart_discovery(out, now, "Reply removed every lease")
            else:
                self._restart_discovery(out, now, "Reply without leases")
            return
        if t == MsgType.SOLICIT:
            event = "Reply with Rapid Commit"
        else:
            event = "Reply with leases" if t == MsgType.REQUEST else "Reply"
        self._goto(out, BOUND, event, now, server=self._server_hex())
        self._arm_timers(out, now)

    def _apply_ias(self, out: list[Action], msg: Message, t: int, now: float) -> bool:
        """Bind, extend or remove leases from the Reply's IAs; True if any IA had NoBinding."""
        nobinding = False
        action = "renewed" if t == MsgType.RENEW else "rebound" if t == MsgType.REBIND else "bound"
        leases = self.s.leases
        t1s: list[int] = []  # T1 and T2 of the IAs that granted something
        t2s: list[int] = []
        for ia in msg.ia_na + msg.ia_pd:
            na = isinstance(ia, IaNa)
            kind = "na" if na else "pd"
            st = ia.status
            if st is not None:
                if st.status == StatusCode.NO_BINDING:
                    nobinding = True
                    continue
                if not st.ok:
                    self._trace(
                        out,
                        "drop",
                        msg=msg.name,
                        reason=f"IA {kind}:{ia.iaid}: {st.name} {st.message}".strip(),
                    )
                    continue  # NoAddrsAvail / NoPrefixAvail: the other IAs are kept
            if ia.t1 and ia.t2 and ia.t1 > ia.t2:
                self._drop(out, f"IA {kind}:{ia.iaid} has T1 > T2; discarded", msg=msg.name)
                continue
            items = ia.addresses if na else ia.prefixes
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
                    self._drop(out, f"{addr} has preferred > valid; ignored", msg=msg.name)
                    continue
                key = f"{kind}:{address_text(addr)}/{plen}"
                old = leases.get(key)
                if valid == 0:
                    if old is not None:
                        self._forget(out, old, "removed")
                    continue
                lease = ClientLease(kind, ia.iaid, addr, plen, pref, valid, now)
                leases[key] = lease
                self._install(out, key, lease, action if old is not None else "bound", ia.t1, ia.t2)
        # §14.2: T1/T2 of 0 leave the choice to the client; one Renew covers every IA
        self._t1 = min(t1s) if t1s and all(t1s) else 0
        self._t2 = min(t2s) if t2s and all(t2s) else 0
        return nobinding

    def _install(
        self, out: list[Action], key: str, x: ClientLease, action: str, t1: int, t2: int
    ) -> None:
        """Configure lease ``x`` (its ``key``, which the caller has made) and time it out."""
        cfg = self.config
        if x.kind == "na":
            out.append(ConfigureAddress(x.address, cfg.prefixlen, x.preferred, x.valid, cfg.iface))
        else:
            out.append(ConfigurePrefix(IPv6Network((x.address, x.prefixlen)), x.preferred, x.valid))
            if cfg.downstream and x.prefixlen <= 64:
                first = IPv6Network((x.address, x.prefixlen)).network_address + 1
                out.append(ConfigureAddress(first, 64, x.preferred, x.valid, cfg.downstream))
        label = "address" if x.kind == "na" else "prefix"
        server = self._server_hex() if self.s.server else None
        out.append(Trace("lease", {"action": action, label: x.text(), "preferred": x.preferred,
                                   "valid": x.valid, "t1": t1, "t2": t2, "server": server,
                                   "iaid": x.iaid}))  # fmt: skip
        if x.valid != INFINITY:
            out.append(SetTimer(VALID + key, x.expires))

    def _forget(self, out: list[Action], x: ClientLease, action: str) -> None:
        self.s.leases.pop(x.key, None)
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
        out += _CANCEL_T1_T2
        s = self.s
        s.t1_at = None if t1 == INFINITY else now + t1
        s.t2_at = None if t2 == INFINITY else now + t2
        if s.t1_at is not None:
            out.append(SetTimer(T1, s.t1_at))
            out.append(Trace("timer", {"action": "set", "name": T1, "after": t1}))
        if s.t2_at is not None:
            out.append(SetTimer(T2, s.t2_at))
            out.append(Trace("timer", {"action": "set", "name": T2, "after": t2}))

    def _resume_timers(self, out: list[Action], now: float) -> None:
        """Back in BOUND without a new lease (Confirm, Decline, Information-request): T1 and
        T2 still count from the Reply that granted the leases; one already due fires now."""
        for name, at in ((T1, self.s.t1_at), (T2, self.s.t2_at)):
            if at is not None:
                out.append(SetTimer(name, max(now, at)))

    def _options(self, out: list[Action], msg: Message) -> None:
        """Options a later Reply omits are revoked (§18.2.10.5)."""
        self.s.dns_servers = msg.dns_servers
        self.s.domain_list = msg.domain_list

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
              seed: str | None = None, **extra: Any) -> None:  # fmt: skip
        old = self.s.state
        if (old, new) not in ALLOWED:
            raise AssertionError(f"client transition {old} -> {new} ({event}) is not in the table")
        self.s.state = new
        out.append(StateChanged(old, new, seed or SEED[new], event, extra))

    def _trace(self, out: list[Action], kind: str, **fields: Any) -> None:
        out.append(Trace(kind, fields))

    def _drop(self, out: list[Action], reason: str, **fields: Any) -> None:
        out.append(Trace("drop", {"reason": reason, **fields}))
