"""DHCP Unique Identifiers (RFC 9915 §11)."""

from __future__ import annotations

import struct
import uuid as _uuid
from dataclasses import dataclass
from typing import ClassVar

from ..constants import DUID_MAX_IDENTIFIER, DuidType
from ._fast import cheap_init, maker
from .errors import ParseError

# §11.2: DUID-LLT time counts seconds from midnight (UTC), January 1, 2000.
DUID_EPOCH = 946684800


class Duid:
    """Base of the DUID types; ``bytes(duid)`` is its wire form."""

    __slots__ = ()

    duid_type: ClassVar[int]

    def encode(self) -> bytes:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def __bytes__(self) -> bytes:
        return self.encode()

    def hex(self) -> str:
        return self.encode().hex()


def _mac(b: bytes) -> str:
    return ":".join(f"{x:02x}" for x in b)


_HHI = struct.Struct("!HHI")
_U32 = struct.Struct("!I")
_HI = struct.Struct("!HI")
_HH = struct.Struct("!HH")
_H = struct.Struct("!H")


@dataclass(frozen=True, slots=True)
class DuidLLT(Duid):
    hw_type: int
    time: int
    link_layer: bytes
    duid_type: ClassVar[int] = DuidType.LLT

    def encode(self) -> bytes:
        return _HHI.pack(1, self.hw_type, self.time) + self.link_layer

    def __str__(self) -> str:
        return f"DUID-LLT hw={self.hw_type} time={self.time} lladdr={_mac(self.link_layer)}"


@dataclass(frozen=True, slots=True)
class DuidEN(Duid):
    enterprise: int
    identifier: bytes
    duid_type: ClassVar[int] = DuidType.EN

    def encode(self) -> bytes:
        return _HI.pack(2, self.enterprise) + self.identifier

    def __str__(self) -> str:
        return f"DUID-EN enterprise={self.enterprise} id={self.identifier.hex()}"


@dataclass(frozen=True, slots=True)
class DuidLL(Duid):
    hw_type: int
    link_layer: bytes
    duid_type: ClassVar[int] = DuidType.LL

    def encode(self) -> bytes:
        return _HH.pack(3, self.hw_type) + self.link_layer

    def __str__(self) -> str:
        return f"DUID-LL hw={self.hw_type} lladdr={_mac(self.link_layer)}"


@dataclass(frozen=True, slots=True)
class DuidUUID(Duid):
    uuid: bytes  # 16 octets
    duid_type: ClassVar[int] = DuidType.UUID

    def encode(self) -> bytes:
        return b"\x00\x04" + self.uuid

    def __str__(self) -> str:
        return f"DUID-UUID {_uuid.UUID(bytes=self.uuid)}"


@dataclass(frozen=True, slots=True)
class DuidUnknown(Duid):
    """A DUID of a type this codec does not know, kept as it came."""

    type_code: int
    data: bytes
    duid_type: ClassVar[int] = 0

    def encode(self) -> bytes:
        return _H.pack(self.type_code) + self.data

    def __str__(self) -> str:
        return f"DUID type {self.type_code} {self.data.hex()}"


# Decoding builds the values with object.__new__ and the slot setters (see _fast.py).
_make_llt = maker(DuidLLT)
_make_en = maker(DuidEN)
_make_ll = maker(DuidLL)
_make_uuid = maker(DuidUUID)
_make_unknown = maker(DuidUnknown)


def decode_duid(data: bytes, offset: int, option: str | tuple[int, ...]) -> Duid:
    """Decode a DUID that fills ``data`` (which starts at ``offset`` in the message)."""
    return duid_at(data, 0, len(data), offset, option)


def duid_at(data: bytes, s: int, e: int, offset: int, option: str | tuple[int, ...]) -> Duid:
    """Decode the DUID in ``data[s:e]``; errors name ``offset`` and ``option``."""
    n = e - s
    if n < 3:
        raise ParseError(offset, option, f"DUID of {n} octets (at least 3: type and identifier)")
    if n - 2 > DUID_MAX_IDENTIFIER:
        raise ParseError(
            offset, option, f"DUID identifier of {n - 2} octets (at most {DUID_MAX_IDENTIFIER})"
        )
    duid_type = (data[s] << 8) | data[s + 1]
    if duid_type == 1:  # DuidType.LLT
        if n < 8:
            raise ParseError(offset, option, f"DUID-LLT of {n} octets (at least 8)")
        hw, t = _HI.unpack_from(data, s + 2)
        return _make_llt(hw, t, data[s + 8 : e])
    if duid_type == 2:  # DuidType.EN
        if n < 7:
            raise ParseError(offset, option, f"DUID-EN of {n} octets (at least 7)")
        return _make_en(_U32.unpack_from(data, s + 2)[0], data[s + 6 : e])
    if duid_type == 3:  # DuidType.LL
        if n < 5:
            raise ParseError(offset, option, f"DUID-LL of {n} octets (at least 5)")
        return _make_ll(_H.unpack_from(data, s + 2)[0], data[s + 4 : e])
    if duid_type == 4:  # DuidType.UUID
        if n != 18:
            raise ParseError(offset, option, f"DUID-UUID of {n} octets (exactly 18)")
        return _make_uuid(data[s + 2 : e])
    return _make_unknown(duid_type, data[s + 2 : e])


def duid_from_bytes(data: bytes) -> Duid:
    """Decode a stand-alone DUID (a state file, a command-line argument)."""
    return decode_duid(bytes(data), 0, "DUID")


def duid_from_hex(text: str) -> Duid:
    """Parse ``00:03:00:01:…`` or ``00030001…``; raises ValueError or ParseError."""
    cleaned = text.replace(":", "").replace("-", "").strip()
    return duid_from_bytes(bytes.fromhex(cleaned))


# Public constructors at half the cost (engines build options and messages for every
# exchange): see _fast.cheap_init, which checks each against the dataclass's own.
for _cls in (DuidLLT, DuidEN, DuidLL, DuidUUID, DuidUnknown):
    cheap_init(_cls)
