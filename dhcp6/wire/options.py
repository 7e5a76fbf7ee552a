"""DHCPv6 options as typed, immutable values (RFC 9915 §21 and the RFCs named per class).

Every class has a ``code`` and an ``encode()`` that gives the option's exact wire form
(header included). Decoders are strict: a length that does not fit raises ParseError.
Options the codec does not know are kept as :class:`UnknownOption` and re-encoded as-is.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network
from typing import ClassVar

from ..constants import OptionCode, StatusCode, status_name
from .duid import Duid, decode_duid
from .errors import ParseError
from .names import decode_names, encode_name

_HDR = struct.Struct("!HH")


class Option:
    """Base of every option value."""

    __slots__ = ()
    code: ClassVar[int]

    def data(self) -> bytes:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def encode(self) -> bytes:
        body = self.data()
        return _HDR.pack(self.code, len(body)) + body


def encode_options(options: tuple[Option, ...] | list[Option]) -> bytes:
    return b"".join([o.encode() for o in options])


class _HasOptions:
    """Helpers for options that carry options (IA_NA, IAADDR, …) and for messages."""

    __slots__ = ()
    options: tuple[Option, ...]

    def option(self, code: int) -> Option | None:
        """The first option with this code, or None."""
        for o in self.options:
            if o.code == code:
                return o
        return None

    def options_of(self, code: int) -> list[Option]:
        return [o for o in self.options if o.code == code]

    def walk(self) -> Iterator[Option]:
        """Every option, depth first (not entering Relay Message)."""
        for o in self.options:
            yield o
            if isinstance(o, _HasOptions):
                yield from o.walk()

    @property
    def status(self) -> StatusOption | None:
        o = self.option(OptionCode.STATUS_CODE)
        return o if isinstance(o, StatusOption) else None


@dataclass(frozen=True, slots=True)
class ClientId(Option):
    duid: Duid
    code: ClassVar[int] = OptionCode.CLIENTID

    def data(self) -> bytes:
        return self.duid.encode()


@dataclass(frozen=True, slots=True)
class ServerId(Option):
    duid: Duid
    code: ClassVar[int] = OptionCode.SERVERID

    def data(self) -> bytes:
        return self.duid.encode()


@dataclass(frozen=True, slots=True)
class IaNa(_HasOptions, Option):
    """§21.4 Identity Association for Non-temporary Addresses."""

    iaid: int
    t1: int = 0
    t2: int = 0
    options: tuple[Option, ...] = ()
    code: ClassVar[int] = OptionCode.IA_NA

    def data(self) -> bytes:
        return struct.pack("!III", self.iaid, self.t1, self.t2) + encode_options(self.options)

    @property
    def addresses(self) -> list[IaAddress]:
        return [o for o in self.options if isinstance(o, IaAddress)]


@dataclass(frozen=True, slots=True)
class IaTa(_HasOptions, Option):
    """IA for Temporary Addresses: obsolete in RFC 9915, decoded so old traffic reads."""

    iaid: int
    options: tuple[Option, ...] = ()
    code: ClassVar[int] = OptionCode.IA_TA

    def data(self) -> bytes:
        return struct.pack("!I", self.iaid) + encode_options(self.options)

    @property
    def addresses(self) -> list[IaAddress]:
        return [o for o in self.options if isinstance(o, IaAddress)]


@dataclass(frozen=True, slots=True)
class IaAddress(_HasOptions, Option):
    """§21.6 IA Address."""

    address: IPv6Address
    preferred_lifetime: int
    valid_lifetime: int
    options: tuple[Option, ...] = ()
    code: ClassVar[int] = OptionCode.IAADDR

    def data(self) -> bytes:
        return (
            self.address.packed
            + struct.pack("!II", self.preferred_lifetime, self.valid_lifetime)
            + encode_options(self.options)
        )


@dataclass(frozen=True, slots=True)
class OptionRequest(Option):
    """§21.7 Option Request Option: the codes a client asks for."""

    codes: tuple[int, ...]
    code: ClassVar[int] = OptionCode.ORO

    def data(self) -> bytes:
        return struct.pack(f"!{len(self.codes)}H", *self.codes)


@dataclass(frozen=True, slots=True)
class Preference(Option):
    value: int
    code: ClassVar[int] = OptionCode.PREFERENCE

    def data(self) -> bytes:
        return bytes((self.value,))


@dataclass(frozen=True, slots=True)
class ElapsedTime(Option):
    """§21.9: hundredths of a second since the client began the exchange (0xffff max)."""

    value: int
    code: ClassVar[int] = OptionCode.ELAPSED_TIME

    def data(self) -> bytes:
        return struct.pack("!H", self.value)


@dataclass(frozen=True, slots=True)
class Auth(Option):
    """§21.11 Authentication option."""

    protocol: int
    algorithm: int
    rdm: int
    replay_detection: int  # 64-bit counter
    auth_info: bytes = b""
    code: ClassVar[int] = OptionCode.AUTH

    def data(self) -> bytes:
        return (
            struct.pack("!BBBQ", self.protocol, self.algorithm, self.rdm, self.replay_detection)
            + self.auth_info
        )


@dataclass(frozen=True, slots=True)
class ServerUnicast(Option):
    """Server Unicast: obsolete in RFC 9915, decoded only so old traffic reads."""

    address: IPv6Address
    code: ClassVar[int] = OptionCode.UNICAST

    def data(self) -> bytes:
        return self.address.packed


@dataclass(frozen=True, slots=True)
class StatusOption(Option):
    """§21.13 Status Code option."""

    status: int
    message: str = ""
    code: ClassVar[int] = OptionCode.STATUS_CODE

    def data(self) -> bytes:
        return struct.pack("!H", self.status) + self.message.encode("utf-8")

    @property
    def name(self) -> str:
        return status_name(self.status)

    @property
    def ok(self) -> bool:
        return self.status == StatusCode.SUCCESS


@dataclass(frozen=True, slots=True)
class RapidCommit(Option):
    code: ClassVar[int] = OptionCode.RAPID_COMMIT

    def data(self) -> bytes:
        return b""


@dataclass(frozen=True, slots=True)
class InterfaceId(Option):
    value: bytes
    code: ClassVar[int] = OptionCode.INTERFACE_ID

    def data(self) -> bytes:
        return self.value


@dataclass(frozen=True, slots=True)
class ReconfigureMessage(Option):
    """§21.19: which message the client answers a Reconfigure with (5, 6 or 11)."""

    msg_type: int
    code: ClassVar[int] = OptionCode.RECONF_MSG

    def data(self) -> bytes:
        return bytes((self.msg_type,))


@dataclass(frozen=True, slots=True)
class ReconfigureAccept(Option):
    code: ClassVar[int] = OptionCode.RECONF_ACCEPT

    def data(self) -> bytes:
        return b""


@dataclass(frozen=True, slots=True)
class DnsServers(Option):
    """RFC 3646 DNS Recursive Name Server option."""

    servers: tuple[IPv6Address, ...]
    code: ClassVar[int] = OptionCode.DNS_SERVERS

    def data(self) -> bytes:
        return b"".join(a.packed for a in self.servers)


@dataclass(frozen=True, slots=True)
class DomainList(Option):
    """RFC 3646 Domain Search List option (names without the trailing dot)."""

    names: tuple[str, ...]
    code: ClassVar[int] = OptionCode.DOMAIN_LIST

    def data(self) -> bytes:
        return b"".join(encode_name(n) for n in self.names)


@dataclass(frozen=True, slots=True)
class IaPd(_HasOptions, Option):
    """§21.21 Identity Association for Prefix Delegation."""

    iaid: int
    t1: int = 0
    t2: int = 0
    options: tuple[Option, ...] = ()
    code: ClassVar[int] = OptionCode.IA_PD

    def data(self) -> bytes:
        return struct.pack("!III", self.iaid, self.t1, self.t2) + encode_options(self.options)

    @property
    def prefixes(self) -> list[IaPrefix]:
        return [o for o in self.options if isinstance(o, IaPrefix)]


@dataclass(frozen=True, slots=True)
class IaPrefix(_HasOptions, Option):
    """§21.22 IA Prefix. ``prefix`` is kept as sent (host bits and all) for exact re-encoding."""

    preferred_lifetime: int
    valid_lifetime: int
    prefix_length: int
    prefix: IPv6Address
    options: tuple[Option, ...] = ()
    code: ClassVar[int] = OptionCode.IAPREFIX

    def data(self) -> bytes:
        return (
            struct.pack("!IIB", self.preferred_lifetime, self.valid_lifetime, self.prefix_length)
            + self.prefix.packed
            + encode_options(self.options)
        )

    @property
    def network(self) -> IPv6Network:
        return IPv6Network((self.prefix, self.prefix_length), strict=False)


@dataclass(frozen=True, slots=True)
class InformationRefreshTime(Option):
    value: int
    code: ClassVar[int] = OptionCode.INFORMATION_REFRESH_TIME

    def data(self) -> bytes:
        return struct.pack("!I", self.value)


@dataclass(frozen=True, slots=True)
class ClientLinkLayerAddress(Option):
    """RFC 6939 Client Link-Layer Address option (added by relays)."""

    link_type: int
    address: bytes
    code: ClassVar[int] = OptionCode.CLIENT_LINKLAYER_ADDR

    def data(self) -> bytes:
        return struct.pack("!H", self.link_type) + self.address


@dataclass(frozen=True, slots=True)
class SolMaxRt(Option):
    value: int
    code: ClassVar[int] = OptionCode.SOL_MAX_RT

    def data(self) -> bytes:
        return struct.pack("!I", self.value)


@dataclass(frozen=True, slots=True)
class InfMaxRt(Option):
    value: int
    code: ClassVar[int] = OptionCode.INF_MAX_RT

    def data(self) -> bytes:
        return struct.pack("!I", self.value)


@dataclass(frozen=True, slots=True)
class UnknownOption(Option):
    """An option this codec does not interpret; ``code`` is per instance here."""

    option_code: int
    value: bytes

    @property
    def code(self) -> int:  # type: ignore[override]
        return self.option_code

    def data(self) -> bytes:
        return self.value


# --------------------------------------------------------------------------- decoding
# A decoder gets the option body, the offset of that body in the outermost message and
# the option's path: the codes of the options it sits in, its own last. The path names
# the option in errors (built only when one is raised) and bounds nesting.
Path = tuple[int, ...]
Decoder = Callable[[bytes, int, Path], Option]
MAX_NESTING = 64

_U32 = struct.Struct("!I")
_U16 = struct.Struct("!H")
_III = struct.Struct("!III")
_II = struct.Struct("!II")
_IIB = struct.Struct("!IIB")
_BBBQ = struct.Struct("!BBBQ")


def _need(body: bytes, n: int, off: int, path: Path, exact: bool = False) -> None:
    if (len(body) != n) if exact else (len(body) < n):
        what = "exactly" if exact else "at least"
        raise ParseError(off, path, f"length {len(body)} (needs {what} {n})")


def decode_options(data: bytes, base: int, path: Path) -> tuple[Option, ...]:
    """Decode a run of options filling ``data``, which starts at ``base`` in the message."""
    if len(path) > MAX_NESTING:
        raise ParseError(base, path, f"options nested deeper than {MAX_NESTING} levels")
    out: list[Option] = []
    append = out.append
    decoders = DECODERS
    pos, end = 0, len(data)
    while pos < end:
        if end - pos < 4:
            raise ParseError(base + pos, path, f"{end - pos} trailing octets, too few for an option")
        code = data[pos] << 8 | data[pos + 1]
        nxt = pos + 4 + (data[pos + 2] << 8 | data[pos + 3])
        if nxt > end:
            raise ParseError(
                base + pos, (*path, code),
                f"length {nxt - pos - 4} runs past the end ({end - pos - 4} octets left)",
            )  # fmt: skip
        dec = decoders.get(code)
        body = data[pos + 4 : nxt]
        append(dec(body, base + pos + 4, (*path, code)) if dec else UnknownOption(code, body))
        pos = nxt
    return tuple(out)


def _client_id(b: bytes, off: int, path: Path) -> Option:
    return ClientId(decode_duid(b, off, path))


def _server_id(b: bytes, off: int, path: Path) -> Option:
    return ServerId(decode_duid(b, off, path))


def _ia_na(b: bytes, off: int, path: Path) -> Option:
    _need(b, 12, off, path)
    iaid, t1, t2 = _III.unpack_from(b)
    return IaNa(iaid, t1, t2, decode_options(b[12:], off + 12, path))


def _ia_ta(b: bytes, off: int, path: Path) -> Option:
    _need(b, 4, off, path)
    return IaTa(_U32.unpack_from(b)[0], decode_options(b[4:], off + 4, path))


def _iaaddr(b: bytes, off: int, path: Path) -> Option:
    _need(b, 24, off, path)
    pref, valid = _II.unpack_from(b, 16)
    return IaAddress(
        IPv6Address(b[:16]), pref, valid, decode_options(b[24:], off + 24, path)
    )


def _oro(b: bytes, off: int, path: Path) -> Option:
    if len(b) % 2:
        raise ParseError(off, path, f"length {len(b)} is odd (a list of 2-octet codes)")
    return OptionRequest(struct.unpack(f"!{len(b) // 2}H", b))


def _preference(b: bytes, off: int, path: Path) -> Option:
    _need(b, 1, off, path, exact=True)
    return Preference(b[0])


def _elapsed(b: bytes, off: int, path: Path) -> Option:
    _need(b, 2, off, path, exact=True)
    return ElapsedTime(_U16.unpack(b)[0])


def _auth(b: bytes, off: int, path: Path) -> Option:
    _need(b, 11, off, path)
    proto, alg, rdm, replay = _BBBQ.unpack_from(b)
    return Auth(proto, alg, rdm, replay, b[11:])


def _unicast(b: bytes, off: int, path: Path) -> Option:
    _need(b, 16, off, path, exact=True)
    return ServerUnicast(IPv6Address(b))


def _status(b: bytes, off: int, path: Path) -> Option:
    _need(b, 2, off, path)
    try:
        text = b[2:].decode("utf-8")
    except UnicodeDecodeError as e:
        raise ParseError(off + 2 + e.start, path, "status message is not UTF-8") from None
    return StatusOption(_U16.unpack_from(b)[0], text)


def _empty(cls: type[Option]) -> Decoder:
    def dec(b: bytes, off: int, path: Path) -> Option:
        _need(b, 0, off, path, exact=True)
        return cls()

    return dec


def _interface_id(b: bytes, off: int, path: Path) -> Option:
    return InterfaceId(b)


def _reconf_msg(b: bytes, off: int, path: Path) -> Option:
    _need(b, 1, off, path, exact=True)
    return ReconfigureMessage(b[0])


def _dns(b: bytes, off: int, path: Path) -> Option:
    if len(b) % 16:
        raise ParseError(off, path, f"length {len(b)} is not a multiple of 16")
    return DnsServers(tuple(IPv6Address(b[i : i + 16]) for i in range(0, len(b), 16)))


def _domains(b: bytes, off: int, path: Path) -> Option:
    return DomainList(decode_names(b, off, path))


def _ia_pd(b: bytes, off: int, path: Path) -> Option:
    _need(b, 12, off, path)
    iaid, t1, t2 = _III.unpack_from(b)
    return IaPd(iaid, t1, t2, decode_options(b[12:], off + 12, path))


def _iaprefix(b: bytes, off: int, path: Path) -> Option:
    _need(b, 25, off, path)
    pref, valid, plen = _IIB.unpack_from(b)
    if plen > 128:
        raise ParseError(off + 8, path, f"prefix length {plen} (at most 128)")
    return IaPrefix(
        pref, valid, plen, IPv6Address(b[9:25]), decode_options(b[25:], off + 25, path)
    )


def _u32(cls: type[Option]) -> Decoder:
    def dec(b: bytes, off: int, path: Path) -> Option:
        _need(b, 4, off, path, exact=True)
        return cls(_U32.unpack(b)[0])  # type: ignore[call-arg]

    return dec


def _client_ll(b: bytes, off: int, path: Path) -> Option:
    _need(b, 2, off, path)
    return ClientLinkLayerAddress(_U16.unpack_from(b)[0], b[2:])


DECODERS: dict[int, Decoder] = {
    OptionCode.CLIENTID: _client_id,
    OptionCode.SERVERID: _server_id,
    OptionCode.IA_NA: _ia_na,
    OptionCode.IA_TA: _ia_ta,
    OptionCode.IAADDR: _iaaddr,
    OptionCode.ORO: _oro,
    OptionCode.PREFERENCE: _preference,
    OptionCode.ELAPSED_TIME: _elapsed,
    OptionCode.AUTH: _auth,
    OptionCode.UNICAST: _unicast,
    OptionCode.STATUS_CODE: _status,
    OptionCode.RAPID_COMMIT: _empty(RapidCommit),
    OptionCode.INTERFACE_ID: _interface_id,
    OptionCode.RECONF_MSG: _reconf_msg,
    OptionCode.RECONF_ACCEPT: _empty(ReconfigureAccept),
    OptionCode.DNS_SERVERS: _dns,
    OptionCode.DOMAIN_LIST: _domains,
    OptionCode.IA_PD: _ia_pd,
    OptionCode.IAPREFIX: _iaprefix,
    OptionCode.INFORMATION_REFRESH_TIME: _u32(InformationRefreshTime),
    OptionCode.CLIENT_LINKLAYER_ADDR: _client_ll,
    OptionCode.SOL_MAX_RT: _u32(SolMaxRt),
    OptionCode.INF_MAX_RT: _u32(InfMaxRt),
    # OptionCode.RELAY_MSG is registered by message.py (it holds a whole message).
}
