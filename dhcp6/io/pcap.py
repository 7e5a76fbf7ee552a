"""Read DHCPv6 datagrams out of pcap / pcapng files (stdlib only).

Just enough of the capture formats and of Ethernet / Linux cooked / raw IPv6 / UDP to
find the UDP payloads on ports 546 and 547; it is how ``dhcp6 decode --pcap`` and the
lab's real-peer observer read captures. Bad files raise :class:`PcapError`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv6Address
from pathlib import Path

from ..constants import CLIENT_PORT, SERVER_PORT

DHCP_PORTS = frozenset({CLIENT_PORT, SERVER_PORT})

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276

_IPV6_EXT = {0, 43, 60}  # hop-by-hop, routing, destination options


class PcapError(ValueError):
    """The file is not a capture this reader understands (message says why)."""


@dataclass(frozen=True, slots=True)
class UdpDatagram:
    index: int  # 1-based frame number, as Wireshark counts
    time: float  # capture timestamp, seconds since the Unix epoch
    src: IPv6Address
    dst: IPv6Address
    sport: int
    dport: int
    payload: bytes


def _ipv6_udp(frame: bytes) -> tuple[IPv6Address, IPv6Address, int, int, bytes] | None:
    if len(frame) < 40 or frame[0] >> 4 != 6:
        return None
    nh = frame[6]
    src, dst = IPv6Address(frame[8:24]), IPv6Address(frame[24:40])
    pos = 40
    for _ in range(8):  # bounded walk over extension headers
        if nh in _IPV6_EXT:
            if pos + 2 > len(frame):
                return None
            nh, pos = frame[pos], pos + 8 + frame[pos + 1] * 8
        elif nh == 44:  # fragment: only an unfragmented-offset first fragment can be read
            if pos + 8 > len(frame) or (struct.unpack_from("!H", frame, pos + 2)[0] & 0xFFF8):
                return None
            nh, pos = frame[pos], pos + 8
        else:
            break
    if nh != 17 or pos + 8 > len(frame):
        return None
    sport, dport, ulen = struct.unpack_from("!HHH", frame, pos)
    end = min(len(frame), pos + ulen) if ulen >= 8 else len(frame)
    return src, dst, sport, dport, frame[pos + 8 : end]


def _network_layer(linktype: int, frame: bytes) -> bytes | None:
    if linktype == LINKTYPE_ETHERNET:
        pos, ethertype = 12, None
        while pos + 2 <= len(frame):
            ethertype = struct.unpack_from("!H", frame, pos)[0]
            if ethertype in (0x8100, 0x88A8):  # VLAN tags
                pos += 4
                continue
            break
        return frame[pos + 2 :] if ethertype == 0x86DD else None
    if linktype == LINKTYPE_LINUX_SLL:
        return frame[16:] if len(frame) >= 16 and frame[14:16] == b"\x86\xdd" else None
    if linktype == LINKTYPE_LINUX_SLL2:
        return frame[20:] if len(frame) >= 20 and frame[0:2] == b"\x86\xdd" else None
    if linktype in (LINKTYPE_RAW, LINKTYPE_IPV6):
        return frame
    return None


def _pcap_frames(data: bytes) -> Iterator[tuple[float, int, bytes]]:
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:  # pragma: no cover - caller checked
        raise PcapError("not a pcap file")
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    if len(data) < 24:
        raise PcapError("pcap header truncated (24 bytes needed)")
    linktype = struct.unpack_from(endian + "I", data, 20)[0] & 0xFFFF
    pos = 24
    rec = struct.Struct(endian + "IIII")
    while pos < len(data):
        if pos + 16 > len(data):
            raise PcapError(f"record header truncated at byte {pos}")
        sec, frac, caplen, _ = rec.unpack_from(data, pos)
        pos += 16
        if pos + caplen > len(data):
            raise PcapError(f"record at byte {pos - 16} claims {caplen} bytes past the end")
        yield sec + frac / (1e9 if nano else 1e6), linktype, data[pos : pos + caplen]
        pos += caplen


def _pcapng_frames(data: bytes) -> Iterator[tuple[float, int, bytes]]:
    pos, endian = 0, "<"
    links: list[tuple[int, float]] = []  # (linktype, seconds per timestamp unit)
    while pos < len(data):
        if pos + 12 > len(data):
            raise PcapError(f"pcapng block truncated at byte {pos}")
        if data[pos : pos + 4] == b"\x0a\x0d\x0d\x0a":  # section header: learn byte order
            endian = "<" if data[pos + 8 : pos + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            links = []
        btype, blen = struct.unpack_from(endian + "II", data, pos)
        if blen < 12 or blen % 4 or pos + blen > len(data):
            raise PcapError(f"pcapng block at byte {pos} has a bad length {blen}")
        body = data[pos + 8 : pos + blen - 4]
        if btype == 1 and len(body) >= 8:  # interface description
            linktype = struct.unpack_from(endian + "H", body, 0)[0]
            unit = 1e-6
            opos = 8
            while opos + 4 <= len(body):
                code, olen = struct.unpack_from(endian + "HH", body, opos)
                if code == 0:
                    break
                if code == 9 and olen >= 1:  # if_tsresol
                    r = body[opos + 4]
                    unit = 2.0 ** -(r & 0x7F) if r & 0x80 else 10.0**-r
                opos += 4 + olen + (-olen % 4)
            links.append((linktype, unit))
        elif btype == 6 and len(body) >= 20:  # enhanced packet
            iface, hi, lo, caplen = struct.unpack_from(endian + "IIII", body, 0)
            if iface >= len(links) or 20 + caplen > len(body):
                raise PcapError(f"pcapng packet block at byte {pos} is inconsistent")
            linktype, unit = links[iface]
            yield ((hi << 32) | lo) * unit, linktype, body[20 : 20 + caplen]
        elif btype == 3 and len(body) >= 4 and links:  # simple packet
            yield 0.0, links[0][0], body[4:]
        pos += blen


def read_dhcp6(path: str | Path) -> Iterator[UdpDatagram]:
    """Every UDP datagram to or from port 546/547 carried over IPv6 in the capture."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise PcapError(f"cannot read {path}: {e.strerror}") from None
    if data[:4] == b"\x0a\x0d\x0d\x0a":
        frames = _pcapng_frames(data)
    elif data[:4] in (
        b"\xd4\xc3\xb2\xa1",
        b"\x4d\x3c\xb2\xa1",
        b"\xa1\xb2\xc3\xd4",
        b"\xa1\xb2\x3c\x4d",
    ):
        frames = _pcap_frames(data)
    else:
        raise PcapError(f"{path} is not a pcap or pcapng file")
    for index, (ts, linktype, frame) in enumerate(frames, start=1):
        l3 = _network_layer(linktype, frame)
        if l3 is None:
            continue
        udp = _ipv6_udp(l3)
        if udp is None:
            continue
        src, dst, sport, dport, payload = udp
        if sport in DHCP_PORTS or dport in DHCP_PORTS:
            yield UdpDatagram(index, ts, src, dst, sport, dport, payload)


def dhcp6_datagram(
    linktype: int, frame: bytes
) -> tuple[IPv6Address, IPv6Address, int, int, bytes] | None:
    """(src, dst, sport, dport, payload) of a DHCPv6 datagram in one link-layer frame."""
    l3 = _network_layer(linktype, frame)
    udp = _ipv6_udp(l3) if l3 is not None else None
    if udp is None or not (udp[2] in DHCP_PORTS or udp[3] in DHCP_PORTS):
        return None
    return udp


class PcapWriter:
    """A classic pcap file (microsecond timestamps), flushed after every frame."""

    def __init__(
        self, path: str | Path, linktype: int = LINKTYPE_ETHERNET, snaplen: int = 65535
    ) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._f = open(path, "wb")  # noqa: SIM115 - closed in close()
        self._f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype))
        self._f.flush()

    def write(self, when: float, frame: bytes) -> None:
        sec = int(when)
        self._f.write(
            struct.pack("<IIII", sec, int((when - sec) * 1e6), len(frame), len(frame)) + frame
        )
        self._f.flush()

    def close(self) -> None:
        self._f.close()
