"""Domain names in RFC 1035 §3.1 wire form, uncompressed (RFC 9915 §10)."""

from __future__ import annotations

from .errors import ParseError

MAX_LABEL = 63
MAX_NAME = 255
# Printable ASCII except the dot (a label separator in text form) and backslash, so
# text form ↔ wire form is a bijection and re-encoding is exact.
_LABEL_BYTES = frozenset(range(0x21, 0x7F)) - {ord("."), ord("\\")}


def decode_names(data: bytes, offset: int, option: str | tuple[int, ...]) -> tuple[str, ...]:
    """Decode a list of fully qualified names; ``offset`` is where ``data`` starts."""
    names: list[str] = []
    pos, end = 0, len(data)
    while pos < end:
        start = pos
        labels: list[str] = []
        while True:
            if pos >= end:
                raise ParseError(offset + pos, option, "domain name not terminated by a root label")
            n = data[pos]
            if n == 0:
                pos += 1
                break
            if n & 0xC0:
                raise ParseError(offset + pos, option, "compressed or extended label (not allowed)")
            if pos + 1 + n > end:
                raise ParseError(offset + pos, option, f"label of {n} octets runs past the option")
            label = data[pos + 1 : pos + 1 + n]
            if not _LABEL_BYTES.issuperset(label):
                raise ParseError(
                    offset + pos, option, "label holds a byte that is not printable ASCII"
                )
            labels.append(label.decode("ascii"))
            pos += 1 + n
        if pos - start > MAX_NAME:
            raise ParseError(offset + start, option, f"domain name longer than {MAX_NAME} octets")
        names.append(".".join(labels))
    return tuple(names)


def encode_name(name: str) -> bytes:
    """Encode one name; ``""`` or ``"."`` is the root. Raises ValueError when invalid."""
    out = bytearray()
    stripped = name.rstrip(".") if name not in ("", ".") else ""
    if stripped:
        for label in stripped.split("."):
            raw = label.encode("ascii")
            if not raw or len(raw) > MAX_LABEL or not _LABEL_BYTES.issuperset(raw):
                raise ValueError(f"invalid label {label!r} in domain name {name!r}")
            out.append(len(raw))
            out += raw
    out.append(0)
    if len(out) > MAX_NAME:
        raise ValueError(f"domain name {name!r} longer than {MAX_NAME} octets")
    return bytes(out)
