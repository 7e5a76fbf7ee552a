"""DHCPv6 options as typed, immutable values (RFC 9915 §21 and the RFCs named per class).

Every class has a ``code`` and an ``encode()`` that gives the option's exact wire form
(header included). Decoders are strict: a length that does not fit raises ParseError.
Options the codec does not know are kept as :class:`UnknownOption` and re-encoded as-is.

``encode()`` is ``header + data()`` for every option; the options that are common on the
wire override it to pack header and body in one step, with the same result.
"""

# ruff: noqa: RUF005 - ``path + (code,)`` is 3x cheaper than ``(*path, code)`` on 3.11

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network
from typing import Any, ClassVar

from ..constants import OptionCode, StatusCode, status_name
from ._fast import IP6_FAST, IP_SET, SCOPE_SET, cheap_init, ip6, maker, setters
from .duid import Duid, DuidEN, DuidLL, DuidLLT, duid_at
from .errors import ParseError
from .names import decode_names, encode_name

_HDR = struct.Struct("!HH")
_HDR_LLT = struct.Struct("!HHHHI")  # option header, DUID type, hw type, time
_HDR_EN = struct.Struct("!HHHI")  # option header, DUID type, enterprise number
_HDR_LL = struct.Struct("!HHHH")  # option header, DUID type, hw type
_HDR_III = struct.Struct("!HHIII")  # IA_NA, IA_PD
_HDR_H = struct.Struct("!HHH")  # Elapsed Time
_HDR_AII = struct.Struct("!HH16sII")  # IAADDR
_HDR_III_AII = struct.Struct("!HHIIIHH16sII")  # IA_NA holding one IAADDR (no options)
_HDR_IIBA = struct.Struct("!HHIIB16s")  # IAPREFIX
_join = b"".join


class Option:
    """Base of every option value."""

    __slots__ = ()
    code: ClassVar[int]

    def data(self) -> bytes:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def encode(self) -> bytes:
        body = self.data()
        return _HDR.pack(self.code, len(body)) + body

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # A subclass that redefines data() but not encode() must not inherit a one-step
        # encode() of its parent that ignores its data(): give it the generic one back.
        super().__init_subclass__(**kwargs)
        if "data" in cls.__dict__ and "encode" not in cls.__dict__:
            for base in cls.__mro__[1:]:
                if "encode" in base.__dict__:
                    if base.__dict__["encode"] is not Option.__dict__["encode"]:
                        cls.encode = Option.__dict__["encode"]  # type: ignore[method-assign]
                    break


_STATUS_CODE = OptionCode.STATUS_CODE  # read once: an Enum member costs a lookup


def encode_options(options: tuple[Option, ...] | list[Option]) -> bytes:
    n = len(options)
    if n == 1:
        return options[0].encode()
    if n == 2:
        return options[0].encode() + options[1].encode()
    return _join([o.encode() for o in options])


class _HasOptions:
    """Helpers for options that carry options (IA_NA, IAADDR, …) and for messages."""

    __slots__ = ()
    options: tuple[Option, ...]

    def option(self, code: int) -> Option | None:
        """The first option with this code, or None."""
        opts = self.options
        if type(opts) is OptionRun:
            return opts.first.get(code)  # type: ignore[attr-defined, no-any-return]
        for o in opts:
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
        opts = self.options
        if type(opts) is not OptionRun and len(opts) == 1:  # an IA of one address
            o = opts[0]
            if type(o) is IaAddress:
                return None
            return o if o.code == _STATUS_CODE and isinstance(o, StatusOption) else None
        o = self.option(_STATUS_CODE)
        return o if isinstance(o, StatusOption) else None


def _addresses(opts: tuple[Option, ...]) -> list[IaAddress]:
    """The IaAddress options of an IA's ``opts`` (most IAs hold one, and nothing else)."""
    if len(opts) == 1:
        o = opts[0]
        return [o] if type(o) is IaAddress or isinstance(o, IaAddress) else []  # type: ignore[list-item]
    return [o for o in opts if isinstance(o, IaAddress)]  # type: ignore[misc]


class _KeptOption(Option):
    """An option engines build once and send again and again (their Client-ID, the
    Server-ID, the Option Request): its wire form is remembered in a slot the first time
    it is encoded (the decode memo sets it too: the bytes it keys the option by). The
    values are immutable, and the slot is no dataclass field but a cache slot (see
    _fast.py): ==, hash, repr, pickling and ``dataclasses.replace`` do not see it."""

    __slots__ = ("_wire",)


_set_wire = _KeptOption.__dict__["_wire"].__set__


def _kept_wire(o: _KeptOption) -> bytes | None:
    """``o``'s remembered wire form, or None (not encoded yet, or built without its cache
    slot: copy, pickle)."""
    try:
        return o._wire  # type: ignore[no-any-return]
    except AttributeError:
        return None


def _encode_duid_option(self: ClientId | ServerId) -> bytes:
    w = _kept_wire(self)
    if w is not None:
        return w  # type: ignore[no-any-return]
    d = self.duid
    t = type(d)
    if t is DuidLL:
        ll = d.link_layer
        w = _HDR_LL.pack(self.code, 4 + len(ll), 3, d.hw_type) + ll
    elif t is DuidLLT:
        ll = d.link_layer
        w = _HDR_LLT.pack(self.code, 8 + len(ll), 1, d.hw_type, d.time) + ll
    elif t is DuidEN:
        ident = d.identifier
        w = _HDR_EN.pack(self.code, 6 + len(ident), 2, d.enterprise) + ident
    else:
        body = d.encode()
        w = _HDR.pack(self.code, len(body)) + body
    _set_wire(self, w)
    return w


@dataclass(frozen=True, slots=True)
class ClientId(_KeptOption):
    duid: Duid
    code: ClassVar[int] = OptionCode.CLIENTID

    def data(self) -> bytes:
        return self.duid.encode()

    encode = _encode_duid_option


@dataclass(frozen=True, slots=True)
class ServerId(_KeptOption):
    duid: Duid
    code: ClassVar[int] = OptionCode.SERVERID

    def data(self) -> bytes:
        return self.duid.encode()

    encode = _encode_duid_option


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

    def encode(self) -> bytes:
        opts = self.options
        if not opts:
            return _HDR_III.pack(3, 12, self.iaid, self.t1, self.t2)
        if len(opts) == 1:
            a = opts[0]
            if type(a) is IaAddress and not a.options:  # the usual IA: one address
                ip = a.address
                ip = ip._ip.to_bytes(16, "big") if IP6_FAST else ip.packed  # type: ignore[attr-defined]
                return _HDR_III_AII.pack(3, 40, self.iaid, self.t1, self.t2, 5, 24, ip,
                                         a.preferred_lifetime, a.valid_lifetime)  # fmt: skip
            sub = a.encode()
        else:
            sub = encode_options(opts)
        return _HDR_III.pack(3, 12 + len(sub), self.iaid, self.t1, self.t2) + sub

    @property
    def addresses(self) -> list[IaAddress]:
        return _addresses(self.options)


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
        return _addresses(self.options)


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

    def encode(self) -> bytes:
        a = self.address
        a = a._ip.to_bytes(16, "big") if IP6_FAST else a.packed  # type: ignore[attr-defined]
        opts = self.options
        if not opts:
            return _HDR_AII.pack(5, 24, a, self.preferred_lifetime, self.valid_lifetime)
        sub = opts[0].encode() if len(opts) == 1 else encode_options(opts)
        return (
            _HDR_AII.pack(5, 24 + len(sub), a, self.preferred_lifetime, self.valid_lifetime) + sub
        )


@dataclass(frozen=True, slots=True)
class OptionRequest(_KeptOption):
    """§21.7 Option Request Option: the codes a client asks for."""

    codes: tuple[int, ...]
    code: ClassVar[int] = OptionCode.ORO

    def data(self) -> bytes:
        return struct.pack(f"!{len(self.codes)}H", *self.codes)

    def encode(self) -> bytes:
        w = _kept_wire(self)
        if w is not None:
            return w  # type: ignore[no-any-return]
        codes = self.codes
        n = len(codes)
        if n < _ORO_CACHED:
            w = _ORO_ENC[n].pack(6, 2 * n, *codes)
        else:
            w = struct.pack(f"!HH{n}H", 6, 2 * n, *codes)
        _set_wire(self, w)
        return w


_ORO_CACHED = 32
_ORO_ENC = [struct.Struct(f"!HH{n}H") for n in range(_ORO_CACHED)]
_ORO_DEC = [struct.Struct(f"!{n}H") for n in range(_ORO_CACHED)]


@dataclass(frozen=True, slots=True)
class Preference(Option):
    value: int
    code: ClassVar[int] = OptionCode.PREFERENCE

    def data(self) -> bytes:
        return bytes((self.value,))


@dataclass(frozen=True, slots=True)
class ElapsedTime(_KeptOption):
    """§21.9: hundredths of a second since the client began the exchange (0xffff max)."""

    value: int
    code: ClassVar[int] = OptionCode.ELAPSED_TIME

    def data(self) -> bytes:
        return struct.pack("!H", self.value)

    def encode(self) -> bytes:  # (a client keeps one for every first transmission's 0)
        w = _kept_wire(self)
        if w is None:
            w = _HDR_H.pack(8, 2, self.value)
            _set_wire(self, w)
        return w  # type: ignore[no-any-return]


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

    def encode(self) -> bytes:
        text = self.message.encode("utf-8")
        return _HDR_H.pack(13, 2 + len(text), self.status) + text

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

    def encode(self) -> bytes:
        return b"\x00\x0e\x00\x00"


@dataclass(frozen=True, slots=True)
class InterfaceId(Option):
    value: bytes
    code: ClassVar[int] = OptionCode.INTERFACE_ID

    def data(self) -> bytes:
        return self.value

    def encode(self) -> bytes:
        v = self.value
        return _HDR.pack(18, len(v)) + v


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

    def encode(self) -> bytes:
        opts = self.options
        if not opts:
            return _HDR_III.pack(25, 12, self.iaid, self.t1, self.t2)
        sub = opts[0].encode() if len(opts) == 1 else encode_options(opts)
        return _HDR_III.pack(25, 12 + len(sub), self.iaid, self.t1, self.t2) + sub

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

    def encode(self) -> bytes:
        a = self.prefix
        a = a._ip.to_bytes(16, "big") if IP6_FAST else a.packed  # type: ignore[attr-defined]
        opts = self.options
        sub = b"" if not opts else opts[0].encode() if len(opts) == 1 else encode_options(opts)
        return (
            _HDR_IIBA.pack(
                26,
                25 + len(sub),
                self.preferred_lifetime,
                self.valid_lifetime,
                self.prefix_length,
                a,
            )
            + sub
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

    def encode(self) -> bytes:
        v = self.value
        return _HDR.pack(self.option_code, len(v)) + v


# --------------------------------------------------------------------------- decoding
# Decoding reads the outermost message's buffer in place: a decoder gets that buffer, the
# start and end of the option's body in it (so positions are offsets in the message, as
# errors report them) and the path of the options it sits in — the codes of the enclosing
# options, outermost first. An option's own path, ``path + (code,)``, is built only when an
# error names it or its body holds options.
#
# Values are built without their constructor (see _fast.py): the classes of three fields
# or more by a ``maker`` (``_make_*``), the others inline as ``o = _new(cls)`` and one slot
# setter per field (``setters`` checks at import that this builds the same object).
Path = tuple[int, ...]
Decoder = Callable[[bytes, int, int, Path], Option]
MAX_NESTING = 64

_U32 = struct.Struct("!I")
_III = struct.Struct("!III")
_III_AII = struct.Struct("!IIIHH16sII")  # an IA_NA's body holding one IAADDR, no options
_AII = struct.Struct("!16sII")
_IIBA = struct.Struct("!IIB16s")
_QQ = struct.Struct("!QQ")
_BBBQ = struct.Struct("!BBBQ")
_header = _HDR.unpack_from
_new = object.__new__
_from_bytes = int.from_bytes

(_client_id_duid,) = setters(ClientId)
(_server_id_duid,) = setters(ServerId)
_ia_ta_iaid, _ia_ta_options = setters(IaTa)
(_oro_codes,) = setters(OptionRequest)
(_elapsed_value,) = setters(ElapsedTime)
(_interface_id_value,) = setters(InterfaceId)
_status_status, _status_message = setters(StatusOption)
_unknown_code, _unknown_value = setters(UnknownOption)
setters(RapidCommit)  # no fields: _new(RapidCommit) is RapidCommit()
setters(ReconfigureAccept)

_make_ia_na = maker(IaNa)
_make_ia_pd = maker(IaPd)
_make_iaaddr = maker(IaAddress)
_make_iaprefix = maker(IaPrefix)
_make_preference = maker(Preference)
_make_auth = maker(Auth)
_make_unicast = maker(ServerUnicast)
_make_reconf_msg = maker(ReconfigureMessage)
_make_dns = maker(DnsServers)
_make_domains = maker(DomainList)
_make_client_ll = maker(ClientLinkLayerAddress)


def _short(s: int, e: int, n: int, path: Path, code: int, exact: bool = False) -> ParseError:
    what = "exactly" if exact else "at least"
    return ParseError(s, (*path, code), f"length {e - s} (needs {what} {n})")


def decode_options(data: bytes, pos: int, end: int, path: Path) -> tuple[Option, ...]:
    """Decode the run of options filling ``data[pos:end]``, inside the options ``path``."""
    if len(path) > MAX_NESTING:
        raise ParseError(pos, path, f"options nested deeper than {MAX_NESTING} levels")
    out: list[Option] = []
    while pos < end:
        try:
            code, length = _header(data, pos)
        except struct.error:  # fewer than 4 octets left in the whole message
            raise ParseError(
                pos, path, f"{end - pos} trailing octets, too few for an option"
            ) from None
        nxt = pos + 4 + length
        if nxt > end:
            if pos + 4 > end:
                raise ParseError(pos, path, f"{end - pos} trailing octets, too few for an option")
            raise ParseError(
                pos,
                (*path, code),
                f"length {length} runs past the end ({end - pos - 4} octets left)",
            )
        dec = _table[code] if code < 256 else _decoder(code)
        if dec is None:
            o = _new(UnknownOption)
            _unknown_code(o, code)
            _unknown_value(o, data[pos + 4 : nxt])
            out.append(o)
        else:
            out.append(dec(data, pos + 4, nxt, path))
        pos = nxt
    return tuple(out)


MEMO_MAX = 1 << 17  # entries a decode memo holds before it starts afresh


class OptionRun(tuple):  # type: ignore[type-arg]
    """A message's run of options as a decode memo remembers it: one tuple, shared by every
    message decoded from the same bytes. It is a tuple in every way (==, hash, repr); its
    class tells that it lives on, so that what is derived from it may be remembered with
    it. It carries ``first``: each code in the run and its first option, what
    ``_HasOptions.option`` would scan for (engines ask a message for its Client-ID,
    Server-ID, Status Code… a dozen times an exchange); and ``fields``: what the run adds
    to a trace summary (None until dhcp6.wire.describe works it out; not to be changed)."""

    first: dict[int, Option]
    fields: dict[str, Any] | None

    def __new__(cls, options: Iterable[Option]) -> OptionRun:
        run = super().__new__(cls, options)
        first: dict[int, Option] = {}
        for o in run:
            code = o.code
            if code not in first:  # (setdefault would cost a call per option)
                first[code] = o
        run.first = first
        run.fields = None
        return run


#: what a decode memo maps a wire form to: one option, or a whole run of options
Memo = dict[bytes, Option | OptionRun]


def decode_options_memo(data: bytes, pos: int, end: int, memo: Memo) -> tuple[Option, ...]:
    """``decode_options(data, pos, end, ())`` — a message's own options — with each option
    looked up by its wire form in ``memo`` first (and remembered there once decoded).

    Decoding is a pure function of the bytes at a given nesting, and the values are
    immutable, so equal bytes may share one value: in a simulation, a client's Client-ID,
    its IA in every Renew and the server's answer to it come back unchanged all day.
    Anything malformed goes through decode_options, which raises what it always raises.

    A run of two options or more is remembered whole too (the tuple, by the run's wire
    form): a client's Renew carries the same options every time, and so does the Reply to
    it — only the transaction id, outside the run, changes — so one lookup finds them all.
    A run's key never equals an option's: an option's header gives its length as the key's
    less 4, a run's first header a shorter one. So a hit is an OptionRun, or an option
    (the run is that one option).
    """
    run = data[pos:end]
    hit = memo.get(run)
    if hit is not None:
        return hit if type(hit) is OptionRun else (hit,)  # type: ignore[return-value]
    return decode_run_memo(data, pos, end, memo, run)


def decode_run_memo(data: bytes, pos: int, end: int, memo: Memo, run: bytes) -> tuple[Option, ...]:
    """decode_options_memo once ``run`` (``data[pos:end]``) is known not to be in ``memo``."""
    out: list[Option] = []
    while pos < end:
        nxt = pos + 4 + (data[pos + 2] << 8 | data[pos + 3]) if pos + 4 <= end else end + 1
        if nxt > end:
            out.extend(decode_options(data, pos, end, ()))  # raises the ParseError
            break
        raw = data[pos:nxt]
        o = memo.get(raw)
        if o is None:
            (o,) = decode_options(data, pos, nxt, ())
            if isinstance(o, _KeptOption):  # its wire form is this key: share it
                _set_wire(o, raw)
            if len(memo) >= MEMO_MAX:
                memo.clear()
            memo[raw] = o
        out.append(o)  # type: ignore[arg-type]
        pos = nxt
    if len(out) < 2:
        return tuple(out)
    opts = OptionRun(out)
    if len(memo) >= MEMO_MAX:
        memo.clear()
    memo[run] = opts
    return opts


def _client_id(b: bytes, s: int, e: int, path: Path) -> Option:
    o = _new(ClientId)
    _client_id_duid(o, duid_at(b, s, e, s, path + (1,)))
    _set_wire(o, None)
    return o


def _server_id(b: bytes, s: int, e: int, path: Path) -> Option:
    o = _new(ServerId)
    _server_id_duid(o, duid_at(b, s, e, s, path + (2,)))
    _set_wire(o, None)
    return o


def _ia_na(b: bytes, s: int, e: int, path: Path) -> Option:
    if e - s == 40:  # the usual IA: one IA Address, no options (what the loop below makes)
        iaid, t1, t2, code, length, packed, pref, valid = _III_AII.unpack_from(b, s)
        if code == 5 and length == 24:
            a = ip6(_from_bytes(packed, "big"))
            return _make_ia_na(iaid, t1, t2, (_make_iaaddr(a, pref, valid, ()),))  # type: ignore[no-any-return]
    if e - s < 12:
        raise _short(s, e, 12, path, 3)
    iaid, t1, t2 = _III.unpack_from(b, s)
    s += 12
    return _make_ia_na(iaid, t1, t2, decode_options(b, s, e, path + (3,)) if s < e else ())


def _ia_ta(b: bytes, s: int, e: int, path: Path) -> Option:
    if e - s < 4:
        raise _short(s, e, 4, path, 4)
    o = _new(IaTa)
    _ia_ta_iaid(o, _U32.unpack_from(b, s)[0])
    s += 4
    _ia_ta_options(o, decode_options(b, s, e, path + (4,)) if s < e else ())
    return o


def _iaaddr(b: bytes, s: int, e: int, path: Path) -> Option:
    if e - s < 24:
        raise _short(s, e, 24, path, 5)
    packed, pref, valid = _AII.unpack_from(b, s)
    if IP6_FAST:
        a = _new(IPv6Address)
        IP_SET(a, _from_bytes(packed, "big"))
        SCOPE_SET(a, None)
    else:
        a = IPv6Address(packed)
    s += 24
    return _make_iaaddr(a, pref, valid, decode_options(b, s, e, path + (5,)) if s < e else ())


def _oro(b: bytes, s: int, e: int, path: Path) -> Option:
    n = e - s
    if n & 1:
        raise ParseError(s, (*path, 6), f"length {n} is odd (a list of 2-octet codes)")
    n >>= 1
    o = _new(OptionRequest)
    if n < _ORO_CACHED:
        _oro_codes(o, _ORO_DEC[n].unpack_from(b, s))
    else:
        _oro_codes(o, struct.unpack_from(f"!{n}H", b, s))
    _set_wire(o, None)
    return o


def _preference(b: bytes, s: int, e: int, path: Path) -> Option:
    if e - s != 1:
        raise _short(s, e, 1, path, 7, exact=True)
    return _make_preference(b[s])  # type: ignore[no-any-return]


def _elapsed(b: bytes, s: int, e: int, path: Path) -> Option:
    if e - s != 2:
        raise _short(s, e, 2, path, 8, exact=True)
    o = _new(ElapsedTime)
    _elapsed_value(o, b[s] << 8 | b[s + 1])
    _set_wire(o, None)
    return o


def _auth(b: bytes, s: int, e: int, path: Path) -> Option:
    if e - s < 11:
        raise _short(s, e, 11, path, 11)
    proto, alg, rdm, replay = _BBBQ.unpack_from(b, s)
    return _make_auth(proto, alg, rdm, replay, b[s + 11 : e])  # type: ignore[no-any-return]


def _unicast(b: bytes, s: int, e: int, path: Path) -> Option:
    if e - s != 16:
        raise _short(s, e, 16, path, 12, exact=True)
    return _make_unicast(ip6(_from_bytes(b[s:e], "big")))  # type: ignore[no-any-return]


def _status(b: bytes, s: int, e: int, path: Path) -> Option:
    if e - s < 2:
        raise _short(s, e, 2, path, 13)
    try:
        text = b[s + 2 : e].decode("utf-8")
    except UnicodeDecodeError as err:
        raise ParseError(s + 2 + err.start, (*path, 13), "status message is not UTF-8") from None
    o = _new(StatusOption)
    _status_status(o, b[s] << 8 | b[s + 1])
    _status_message(o, text)
    return o


def _empty(cls: type[Option]) -> Decoder:
    code = cls.code

    def dec(b: bytes, s: int, e: int, path: Path) -> Option:
        if e != s:
            raise _short(s, e, 0, path, code, exact=True)
        return _new(cls)  # type: ignore[no-any-return]

    return dec


def _interface_id(b: bytes, s: int, e: int, path: Path) -> Option:
    o = _new(InterfaceId)
    _interface_id_value(o, b[s:e])
    return o


def _reconf_msg(b: bytes, s: int, e: int, path: Path) -> Option:
    if e - s != 1:
        raise _short(s, e, 1, path, 19, exact=True)
    return _make_reconf_msg(b[s])  # type: ignore[no-any-return]


def _dns(b: bytes, s: int, e: int, path: Path) -> Option:
    if (e - s) % 16:
        raise ParseError(s, (*path, 23), f"length {e - s} is not a multiple of 16")
    unpack = _QQ.unpack_from
    addrs = []
    for i in range(s, e, 16):
        hi, lo = unpack(b, i)
        addrs.append(ip6(hi << 64 | lo))
    return _make_dns(tuple(addrs))  # type: ignore[no-any-return]


def _domains(b: bytes, s: int, e: int, path: Path) -> Option:
    return _make_domains(decode_names(b[s:e], s, path + (24,)))  # type: ignore[no-any-return]


def _ia_pd(b: bytes, s: int, e: int, path: Path) -> Option:
    if e - s < 12:
        raise _short(s, e, 12, path, 25)
    iaid, t1, t2 = _III.unpack_from(b, s)
    s += 12
    return _make_ia_pd(iaid, t1, t2, decode_options(b, s, e, path + (25,)) if s < e else ())


def _iaprefix(b: bytes, s: int, e: int, path: Path) -> Option:
    if e - s < 25:
        raise _short(s, e, 25, path, 26)
    pref, valid, plen, packed = _IIBA.unpack_from(b, s)
    if plen > 128:
        raise ParseError(s + 8, (*path, 26), f"prefix length {plen} (at most 128)")
    if IP6_FAST:
        a = _new(IPv6Address)
        IP_SET(a, _from_bytes(packed, "big"))
        SCOPE_SET(a, None)
    else:
        a = IPv6Address(packed)
    s += 25
    opts = decode_options(b, s, e, path + (26,)) if s < e else ()
    return _make_iaprefix(pref, valid, plen, a, opts)


def _u32(cls: type[Option]) -> Decoder:
    code = cls.code
    make = maker(cls)

    def dec(b: bytes, s: int, e: int, path: Path) -> Option:
        if e - s != 4:
            raise _short(s, e, 4, path, code, exact=True)
        return make(_U32.unpack_from(b, s)[0])  # type: ignore[no-any-return]

    return dec


def _client_ll(b: bytes, s: int, e: int, path: Path) -> Option:
    if e - s < 2:
        raise _short(s, e, 2, path, 79)
    return _make_client_ll(b[s] << 8 | b[s + 1], b[s + 2 : e])  # type: ignore[no-any-return]


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
_decoder = DECODERS.get
# The same, as a list for the codes below 256 (a list index is cheaper than dict.get).
_table: list[Decoder | None] = [None] * 256


def register(code: int, decoder: Decoder) -> None:
    """Set the decoder of an option code (message.py registers RELAY_MSG)."""
    DECODERS[code] = decoder
    if code < 256:
        _table[code] = decoder


for _code, _dec in DECODERS.items():
    register(_code, _dec)


# Public constructors at half the cost (engines build options and messages for every
# exchange): see _fast.cheap_init, which checks each against the dataclass's own.
for _cls in (
    ClientId,
    ServerId,
    IaNa,
    IaTa,
    IaAddress,
    OptionRequest,
    Preference,
    ElapsedTime,
    Auth,
    ServerUnicast,
    StatusOption,
    RapidCommit,
    InterfaceId,
    ReconfigureMessage,
    ReconfigureAccept,
    DnsServers,
    DomainList,
    IaPd,
    IaPrefix,
    InformationRefreshTime,
    ClientLinkLayerAddress,
    SolMaxRt,
    InfMaxRt,
    UnknownOption,
):
    cheap_init(_cls)
