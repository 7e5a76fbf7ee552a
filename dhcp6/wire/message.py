"""DHCPv6 messages: client/server (RFC 9915 §8) and relay agent/server (§9) formats.

``decode(data)`` is strict and total: it returns a :class:`Message` or
:class:`RelayMessage`, or raises :class:`ParseError` — never another exception — and
``encode(decode(b)) == b`` for every message it accepts.
"""

# ruff: noqa: RUF005 - ``path + (code,)`` is 3x cheaper than ``(*path, code)`` on 3.11

from __future__ import annotations

import struct
from dataclasses import dataclass, replace
from ipaddress import IPv6Address
from typing import ClassVar

from ..constants import MAX_RELAY_DEPTH, OptionCode, message_name
from ._fast import IP6_FAST, IP_SET, SCOPE_SET, setters
from .duid import Duid
from .errors import ParseError
from .options import (
    ClientId,
    DnsServers,
    DomainList,
    ElapsedTime,
    IaNa,
    IaPd,
    IaTa,
    InterfaceId,
    Option,
    OptionRequest,
    Preference,
    ServerId,
    _HasOptions,
    decode_options,
    register,
)

_RELAY_HDR = struct.Struct("!BBQQQQ")  # type, hop count, link and peer as 64-bit halves
_U32 = struct.Struct("!I")
_HDR = struct.Struct("!HH")
_M64 = (1 << 64) - 1
_join = b"".join


class _MessageBase(_HasOptions):
    __slots__ = ()
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
        if len(opts) == 2:
            return head + opts[0].encode() + opts[1].encode()
        parts = [head]
        for o in opts:
            parts.append(o.encode())
        return _join(parts)

    # Readable accessors for the options engines look at most.
    @property
    def client_id(self) -> Duid | None:
        o = self.option(OptionCode.CLIENTID)
        return o.duid if isinstance(o, ClientId) else None

    @property
    def server_id(self) -> Duid | None:
        o = self.option(OptionCode.SERVERID)
        return o.duid if isinstance(o, ServerId) else None

    @property
    def ia_na(self) -> list[IaNa]:
        return [o for o in self.options if isinstance(o, IaNa)]

    @property
    def ia_ta(self) -> list[IaTa]:
        return [o for o in self.options if isinstance(o, IaTa)]

    @property
    def ia_pd(self) -> list[IaPd]:
        return [o for o in self.options if isinstance(o, IaPd)]

    @property
    def oro(self) -> tuple[int, ...]:
        o = self.option(OptionCode.ORO)
        return o.codes if isinstance(o, OptionRequest) else ()

    @property
    def preference(self) -> int:
        """§18.2.9: an Advertise without a Preference option has preference 0."""
        o = self.option(OptionCode.PREFERENCE)
        return o.value if isinstance(o, Preference) else 0

    @property
    def elapsed_time(self) -> int | None:
        o = self.option(OptionCode.ELAPSED_TIME)
        return o.value if isinstance(o, ElapsedTime) else None

    @property
    def rapid_commit(self) -> bool:
        return self.option(OptionCode.RAPID_COMMIT) is not None

    @property
    def reconfigure_accept(self) -> bool:
        return self.option(OptionCode.RECONF_ACCEPT) is not None

    @property
    def dns_servers(self) -> tuple[IPv6Address, ...]:
        o = self.option(OptionCode.DNS_SERVERS)
        return o.servers if isinstance(o, DnsServers) else ()

    @property
    def domain_list(self) -> tuple[str, ...]:
        o = self.option(OptionCode.DOMAIN_LIST)
        return o.names if isinstance(o, DomainList) else ()

    @property
    def xid(self) -> str:
        """The transaction id as the 6 hex digits traces and tools show."""
        return f"{self.transaction_id:06x}"


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
            link, peer = link._ip, peer._ip  # type: ignore[attr-defined]
        else:
            link, peer = int(link), int(peer)
        head = _RELAY_HDR.pack(
            self.msg_type, self.hop_count, link >> 64, link & _M64, peer >> 64, peer & _M64
        )
        opts = self.options
        if len(opts) == 2:
            return head + opts[0].encode() + opts[1].encode()
        parts = [head]
        for o in opts:
            parts.append(o.encode())
        return _join(parts)

    @property
    def relay_message(self) -> Message | RelayMessage | None:
        o = self.option(OptionCode.RELAY_MSG)
        return o.message if isinstance(o, RelayMsg) else None

    @property
    def interface_id(self) -> bytes | None:
        o = self.option(OptionCode.INTERFACE_ID)
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


# Built as in options.py: object.__new__ and the slot setters (checked by ``setters``).
_new = object.__new__
_message_type, _message_xid, _message_options = setters(Message)
_relay_type, _relay_hops, _relay_link, _relay_peer, _relay_options = setters(RelayMessage)
(_relay_msg_message,) = setters(RelayMsg)


def _decode_message(data: bytes, s: int, e: int, path: tuple[int, ...]) -> AnyMessage:
    """Decode the message filling ``data[s:e]``; ``path`` leads to it (Relay Message codes)."""
    n = e - s
    if n < 4:
        if n < 1:
            raise ParseError(s, "header", "empty message")
        if data[s] not in (12, 13):
            raise ParseError(s, "header", f"message of {n} octets (header needs 4)")
    msg_type = data[s]
    if msg_type == 12 or msg_type == 13:  # MessageType.RELAY_FORW, RELAY_REPL
        if path.count(9) >= MAX_RELAY_DEPTH:
            raise ParseError(s, "header", f"relay nesting deeper than {MAX_RELAY_DEPTH} levels")
        if n < 34:
            raise ParseError(s, "header", f"relay message of {n} octets (header needs 34)")
        _, hops, lh, ll, ph, pl = _RELAY_HDR.unpack_from(data, s)
        r = _new(RelayMessage)
        _relay_type(r, msg_type)
        _relay_hops(r, hops)
        if IP6_FAST:
            link = _new(IPv6Address)
            IP_SET(link, lh << 64 | ll)
            SCOPE_SET(link, None)
            peer = _new(IPv6Address)
            IP_SET(peer, ph << 64 | pl)
            SCOPE_SET(peer, None)
        else:
            link, peer = IPv6Address(lh << 64 | ll), IPv6Address(ph << 64 | pl)
        _relay_link(r, link)
        _relay_peer(r, peer)
        s += 34
        _relay_options(r, decode_options(data, s, e, path) if s < e else ())
        return r
    m = _new(Message)
    _message_type(m, msg_type)
    _message_xid(m, _U32.unpack_from(data, s)[0] & 0xFFFFFF)
    s += 4
    _message_options(m, decode_options(data, s, e, path) if s < e else ())
    return m


def _relay_msg(b: bytes, s: int, e: int, path: tuple[int, ...]) -> Option:
    o = _new(RelayMsg)
    _relay_msg_message(o, _decode_message(b, s, e, path + (9,)))
    return o


register(OptionCode.RELAY_MSG, _relay_msg)


def decode(data: bytes | bytearray | memoryview) -> AnyMessage:
    """Decode one DHCPv6 message; raises :class:`ParseError` on any malformed input."""
    if not isinstance(data, bytes):
        data = bytes(data)
    return _decode_message(data, 0, len(data), ())


def encode(msg: AnyMessage) -> bytes:
    return msg.encode()
