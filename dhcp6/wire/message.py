"""DHCPv6 messages: client/server (RFC 9915 §8) and relay agent/server (§9) formats.

``decode(data)`` is strict and total: it returns a :class:`Message` or
:class:`RelayMessage`, or raises :class:`ParseError` — never another exception — and
``encode(decode(b)) == b`` for every message it accepts.
"""

# ruff: noqa: RUF005 - ``path + (code,)`` is 3x cheaper than ``(*path, code)`` on 3.11

from __future__ import annotations

import struct
from dataclasses import dataclass, fields, replace
from ipaddress import IPv6Address
from typing import Any, ClassVar

from ..constants import MAX_RELAY_DEPTH, OptionCode, message_name
from ._fast import IP6_FAST, IP_SET, SCOPE_SET, cheap_init, maker, setters
from .duid import Duid
from .errors import ParseError
from .options import (
    MAX_NESTING,
    ClientId,
    DnsServers,
    DomainList,
    ElapsedTime,
    IaNa,
    IaPd,
    IaTa,
    InterfaceId,
    Memo,
    Option,
    OptionRequest,
    OptionRun,
    Path,
    Preference,
    ServerId,
    StatusOption,
    _HasOptions,
    decode_options,
    decode_run_memo,
    register,
)

_RELAY_HDR = struct.Struct("!BB16s16s")  # type, hop count, link and peer address
_RELAY_IID = struct.Struct("!BB16s16sHH")  # the same and an option header
_U32 = struct.Struct("!I")
_HDR = struct.Struct("!HH")
_from_bytes = int.from_bytes
_join = b"".join
ENCODED_MAX = 1 << 15  # options tuples whose wire form Message.encode remembers
_ENCODED: dict[int, tuple[tuple[Option, ...], bytes]] = {}
# The codes the accessors ask for, read off OptionCode once (an Enum member costs about
# 0.1 µs to read off its class; engines ask a message for its Server-ID… many times). The
# members themselves: an OptionRun's index is keyed by them, and a key found by identity
# is found without comparing.
_CLIENTID, _SERVERID, _ORO = OptionCode.CLIENTID, OptionCode.SERVERID, OptionCode.ORO
_PREFERENCE, _ELAPSED_TIME = OptionCode.PREFERENCE, OptionCode.ELAPSED_TIME
_RAPID_COMMIT, _RECONF_ACCEPT = OptionCode.RAPID_COMMIT, OptionCode.RECONF_ACCEPT
_DNS_SERVERS, _DOMAIN_LIST = OptionCode.DNS_SERVERS, OptionCode.DOMAIN_LIST
_RELAY_MSG, _INTERFACE_ID = OptionCode.RELAY_MSG, OptionCode.INTERFACE_ID
_STATUS_CODE, _IA_TA, _IA_PD = OptionCode.STATUS_CODE, OptionCode.IA_TA, OptionCode.IA_PD


class _MessageBase(_HasOptions):
    # _first: the index of a decode memo's OptionRun (its ``first``) for a message decoded
    # through the memo, else None (a cache slot, see _fast.py): engines ask a message for
    # an option a dozen times an exchange, and a slot is the cheapest thing to read.
    __slots__ = ("_first",)
    msg_type: int

    @property
    def name(self) -> str:
        return message_name(self.msg_type)

    def encode(self) -> bytes:  # pragma: no cover - both subclasses override
        raise NotImplementedError

    def __bytes__(self) -> bytes:
        return self.encode()


@dataclass(frozen=True, slots=True)
class Message(_MessageBase):
    """A client/server message: type, 24-bit transaction id, options."""

    msg_type: int
    transaction_id: int
    options: tuple[Option, ...] = ()

    def encode(self) -> bytes:
        head = _U32.pack((self.msg_type & 0xFF) << 24 | (self.transaction_id & 0xFFFFFF))
        opts = self.options
        # Engines send the same options tuple again (a client's Renews, the Replies to
        # them: only the transaction id changes): its wire form is remembered by identity
        # (the tuple is held, so its id is not reused while the entry lives).
        hit = _ENCODED.get(id(opts))
        if hit is not None and hit[0] is opts:
            return head + hit[1]
        n = len(opts)  # a loop appending to a list costs more than these few parts
        if n == 3:  # a Reply: Server-ID, Client-ID, IA
            a, b, c = opts
            body = a.encode() + b.encode() + c.encode()
        elif n == 4:  # a Solicit: Client-ID, Elapsed Time, IA, ORO
            a, b, c, d = opts
            body = _join((a.encode(), b.encode(), c.encode(), d.encode()))
        elif n == 5:  # a Renew: Client-ID, Server-ID, Elapsed Time, IA, ORO
            a, b, c, d, e = opts
            body = _join((a.encode(), b.encode(), c.encode(), d.encode(), e.encode()))
        else:
            body = _join([o.encode() for o in opts])
        if len(_ENCODED) >= ENCODED_MAX:
            _ENCODED.clear()
        _ENCODED[id(opts)] = (opts, body)
        return head + body

    def option(self, code: int) -> Option | None:
        """The first option with this code, or None."""
        first = self._first
        if first is not None:
            return first.get(code)  # type: ignore[no-any-return]
        opts = self.options  # what _HasOptions.option does, without a call more
        if type(opts) is OptionRun:
            return opts.first.get(code)  # type: ignore[attr-defined, no-any-return]
        for o in opts:
            if o.code == code:
                return o
        return None

    # Readable accessors for the options engines look at most (the first three read the
    # index a decoded message holds without a call to option()).
    @property
    def client_id(self) -> Duid | None:
        first = self._first
        o = first.get(_CLIENTID) if first is not None else self.option(_CLIENTID)
        return o.duid if isinstance(o, ClientId) else None

    @property
    def server_id(self) -> Duid | None:
        first = self._first
        o = first.get(_SERVERID) if first is not None else self.option(_SERVERID)
        return o.duid if isinstance(o, ServerId) else None

    @property
    def status(self) -> StatusOption | None:
        first = self._first
        o = first.get(_STATUS_CODE) if first is not None else self.option(_STATUS_CODE)
        return o if isinstance(o, StatusOption) else None

    @property
    def ia_na(self) -> list[IaNa]:
        return [o for o in self.options if isinstance(o, IaNa)]

    @property
    def ia_ta(self) -> list[IaTa]:
        first = self._first  # decoded: the IaTa options are those of code IA_TA (4)
        if first is not None and _IA_TA not in first:
            return []
        return [o for o in self.options if isinstance(o, IaTa)]

    @property
    def ia_pd(self) -> list[IaPd]:
        first = self._first  # decoded: the IaPd options are those of code IA_PD (25)
        if first is not None and _IA_PD not in first:
            return []
        return [o for o in self.options if isinstance(o, IaPd)]

    @property
    def oro(self) -> tuple[int, ...]:
        o = self.option(_ORO)
        return o.codes if isinstance(o, OptionRequest) else ()

    @property
    def preference(self) -> int:
        """§18.2.9: an Advertise without a Preference option has preference 0."""
        o = self.option(_PREFERENCE)
        return o.value if isinstance(o, Preference) else 0

    @property
    def elapsed_time(self) -> int | None:
        o = self.option(_ELAPSED_TIME)
        return o.value if isinstance(o, ElapsedTime) else None

    @property
    def rapid_commit(self) -> bool:
        return self.option(_RAPID_COMMIT) is not None

    @property
    def reconfigure_accept(self) -> bool:
        return self.option(_RECONF_ACCEPT) is not None

    @property
    def dns_servers(self) -> tuple[IPv6Address, ...]:
        o = self.option(_DNS_SERVERS)
        return o.servers if isinstance(o, DnsServers) else ()

    @property
    def domain_list(self) -> tuple[str, ...]:
        o = self.option(_DOMAIN_LIST)
        return o.names if isinstance(o, DomainList) else ()

    @property
    def xid(self) -> str:
        """The transaction id as the 6 hex digits traces and tools show."""
        return f"{self.transaction_id:06x}"


def _message_setstate(self: Message, state: list[Any]) -> None:
    """Unpickling, copying: the fields, and None in the cache slot (the dataclass's own
    __setstate__, which this one stands in for, would leave it unset)."""
    for f, v in zip(fields(self), state, strict=True):
        object.__setattr__(self, f.name, v)
    _set_first(self, None)


# (set here: on 3.11, @dataclass(frozen=True, slots=True) sets its own whatever the class
# defines; Message.option reads the cache slot unguarded)
Message.__setstate__ = _message_setstate  # type: ignore[method-assign, assignment]
_set_first = _MessageBase.__dict__["_first"].__set__


@dataclass(frozen=True, slots=True)
class RelayMessage(_MessageBase):
    """Relay-forward or Relay-reply (§9): hop count, link and peer address, options."""

    msg_type: int
    hop_count: int
    link_address: IPv6Address
    peer_address: IPv6Address
    options: tuple[Option, ...] = ()

    def encode(self) -> bytes:
        link, peer = self.link_address, self.peer_address
        if IP6_FAST:
            link, peer = link._ip.to_bytes(16, "big"), peer._ip.to_bytes(16, "big")  # type: ignore[attr-defined]
        else:
            link, peer = link.packed, peer.packed
        opts = self.options
        if len(opts) == 2:  # the usual relay level: Interface-ID and Relay Message
            a, b = opts
            if type(a) is InterfaceId and type(b) is RelayMsg:
                v = a.value
                m = b.message.encode()
                return (
                    _RELAY_IID.pack(self.msg_type, self.hop_count, link, peer, 18, len(v))
                    + v
                    + _HDR.pack(9, len(m))
                    + m
                )
        head = _RELAY_HDR.pack(self.msg_type, self.hop_count, link, peer)
        if len(opts) == 2:
            return head + opts[0].encode() + opts[1].encode()
        parts = [head]
        for o in opts:
            parts.append(o.encode())
        return _join(parts)

    @property
    def relay_message(self) -> Message | RelayMessage | None:
        o = self.option(_RELAY_MSG)
        return o.message if isinstance(o, RelayMsg) else None

    @property
    def interface_id(self) -> bytes | None:
        o = self.option(_INTERFACE_ID)
        return o.value if isinstance(o, InterfaceId) else None

    def levels(self) -> list[RelayMessage]:
        """The relay headers from this (outermost) one inwards."""
        out: list[RelayMessage] = []
        m: Message | RelayMessage | None = self
        while isinstance(m, RelayMessage):
            out.append(m)
            m = m.relay_message
        return out

    def innermost(self) -> Message | RelayMessage | None:
        """The message inside all relay levels (None if a level carries no Relay Message)."""
        m: Message | RelayMessage | None = self.relay_message
        while isinstance(m, RelayMessage):
            m = m.relay_message
        return m

    def with_message(self, inner: Message | RelayMessage) -> RelayMessage:
        """A copy whose Relay Message option carries ``inner`` (other options kept)."""
        opts = tuple(RelayMsg(inner) if o.code == OptionCode.RELAY_MSG else o for o in self.options)
        if not any(o.code == OptionCode.RELAY_MSG for o in self.options):
            opts += (RelayMsg(inner),)
        return replace(self, options=opts)


@dataclass(frozen=True, slots=True)
class RelayMsg(Option):
    """§21.10 Relay Message option: a whole message, decoded."""

    message: Message | RelayMessage
    code: ClassVar[int] = OptionCode.RELAY_MSG

    def data(self) -> bytes:
        return self.message.encode()

    def encode(self) -> bytes:
        m = self.message.encode()
        return _HDR.pack(9, len(m)) + m


AnyMessage = Message | RelayMessage


# Values are built as in options.py (see there and _fast.py).
_new = object.__new__
_make_message = maker(Message)
_make_message_run = maker(Message, "_first")  # ... and the index of its OptionRun
_make_relay = maker(RelayMessage)
(_relay_msg_message,) = setters(RelayMsg)
(_interface_id_value,) = setters(InterfaceId)
_header = _HDR.unpack_from


def _decode_message(data: bytes, s: int, e: int, path: tuple[int, ...]) -> AnyMessage:
    """Decode the message filling ``data[s:e]``; ``path`` leads to it (Relay Message codes)."""
    n = e - s
    if n < 1:
        raise ParseError(s, "header", "empty message")
    msg_type = data[s]
    if msg_type == 12 or msg_type == 13:  # MessageType.RELAY_FORW, RELAY_REPL
        # (the path holds other codes than RELAY_MSG only when a relay message sits in an
        # option that is not Relay Message: count only when the depth could be reached)
        if len(path) >= MAX_RELAY_DEPTH and path.count(9) >= MAX_RELAY_DEPTH:
            raise ParseError(s, "header", f"relay nesting deeper than {MAX_RELAY_DEPTH} levels")
        if n < 34:
            raise ParseError(s, "header", f"relay message of {n} octets (header needs 34)")
        _, hops, link, peer = _RELAY_HDR.unpack_from(data, s)
        if IP6_FAST:
            a = _new(IPv6Address)
            IP_SET(a, _from_bytes(link, "big"))
            SCOPE_SET(a, None)
            b = _new(IPv6Address)
            IP_SET(b, _from_bytes(peer, "big"))
            SCOPE_SET(b, None)
        else:
            a, b = IPv6Address(link), IPv6Address(peer)
        s += 34
        return _make_relay(msg_type, hops, a, b, _relay_options(data, s, e, path) if s < e else ())
    if n < 4:
        raise ParseError(s, "header", f"message of {n} octets (header needs 4)")
    xid = _U32.unpack_from(data, s)[0] & 0xFFFFFF
    s += 4
    return _make_message(msg_type, xid, decode_options(data, s, e, path) if s < e else ())


def _relay_options(data: bytes, pos: int, end: int, path: Path) -> tuple[Option, ...]:
    """``decode_options`` for a relay message's options, with Relay Message and Interface-ID
    (what a relay level carries) decoded in place; any other option by decode_options."""
    if len(path) > MAX_NESTING:
        raise ParseError(pos, path, f"options nested deeper than {MAX_NESTING} levels")
    out: list[Option] = []
    while pos < end:
        nxt = pos + 4
        if nxt <= end:
            code, length = _header(data, pos)
            nxt += length
        if nxt > end or (code != 9 and code != 18):
            out.append(decode_options(data, pos, min(nxt, end), path)[0])  # or its ParseError
        elif code == 9:
            o = _new(RelayMsg)
            _relay_msg_message(o, _decode_message(data, pos + 4, nxt, path + (9,)))
            out.append(o)
        else:
            o = _new(InterfaceId)
            _interface_id_value(o, data[pos + 4 : nxt])
            out.append(o)
        pos = nxt
    return tuple(out)


def _relay_msg(b: bytes, s: int, e: int, path: tuple[int, ...]) -> Option:
    o = _new(RelayMsg)
    _relay_msg_message(o, _decode_message(b, s, e, path + (9,)))
    return o


register(OptionCode.RELAY_MSG, _relay_msg)


def decode(data: bytes | bytearray | memoryview, *, memo: Memo | None = None) -> AnyMessage:
    """Decode one DHCPv6 message; raises :class:`ParseError` on any malformed input.

    ``memo``: a dict the caller keeps across calls, in which a client/server message's own
    options (each, and the run of them) are remembered by their wire form (see
    ``decode_options_memo``) — for a caller that decodes the same options over and over
    (the simulator); the result is the same.
    """
    if type(data) is not bytes and not isinstance(data, bytes):
        data = bytes(data)
    n = len(data)
    if memo is not None and n >= 4 and (t := data[0]) != 12 and t != 13:
        xid = _U32.unpack_from(data, 0)[0] & 0xFFFFFF
        run = data[4:]
        hit = memo.get(run)  # a run found whole: decode_options_memo's first step
        if type(hit) is OptionRun:
            return _make_message_run(t, xid, hit, hit.first)  # type: ignore[union-attr]
        if hit is not None:  # the run is that one option
            opts: tuple[Option, ...] = (hit,)  # type: ignore[assignment]
        else:  # (and the rest of decode_options_memo, not looking ``run`` up again)
            opts = decode_run_memo(data, 4, n, memo, run) if n > 4 else ()
        if type(opts) is OptionRun:
            return _make_message_run(t, xid, opts, opts.first)  # type: ignore[attr-defined]
        return _make_message(t, xid, opts)
    return _decode_message(data, 0, n, ())


def encode(msg: AnyMessage) -> bytes:
    return msg.encode()


# Public constructors at half the cost (engines build options and messages for every
# exchange): see _fast.cheap_init, which checks each against the dataclass's own.
for _cls in (Message, RelayMessage, RelayMsg):
    cheap_init(_cls)
