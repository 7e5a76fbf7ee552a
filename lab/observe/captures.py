"""Compare a ladder with the packets captured in the same run.

Real peers' interfaces are captured to ``<run_dir>/pcap/<node>-<iface>.pcap``. Each
DHCPv6 datagram there is decoded with our codec and looked up among the ladder's arrows
by its wire form (message type, the relayed message's type, transaction id, IA summary)
and, when the lab's epoch is known, by time. A captured message with no arrow means the
ladder lost an exchange.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from dhcp6.io.pcap import PcapError, read_dhcp6
from dhcp6.wire import ParseError, decode
from dhcp6.wire.describe import summary

from .ladder import Arrow, Ladder

#: Capture and trace stamps of one packet differ by less than this (seconds).
TOLERANCE = 2.0


@dataclass
class CaptureCheck:
    path: Path
    messages: int = 0  # DHCPv6 datagrams in the capture
    matched: int = 0
    undecodable: int = 0
    missing: list[str] = field(default_factory=list)  # "frame 7 t=1.234 REPLY 76ff60"
    types: Counter[str] = field(default_factory=Counter)
    error: str | None = None

    @property
    def node(self) -> str:
        return self.path.stem.rsplit("-", 1)[0]

    @property
    def ok(self) -> bool:
        return self.error is None and not self.missing


def _wire_key(msg: str, inner: str | None, xid: str | None, ia: tuple[str, ...]) -> tuple:
    return (msg, inner, xid, ia)


def _arrow_key(a: Arrow) -> tuple:
    return _wire_key(a.msg, a.inner, a.xid, a.ia)


def check_capture(path: Path, ladder: Ladder, epoch: float | None) -> CaptureCheck:
    out = CaptureCheck(Path(path))
    index: dict[tuple, list[Arrow]] = {}
    for a in ladder.arrows:
        index.setdefault(_arrow_key(a), []).append(a)
    try:
        datagrams = list(read_dhcp6(path))
    except PcapError as e:
        out.error = str(e)
        return out
    for d in datagrams:
        out.messages += 1
        try:
            m = decode(d.payload)
        except ParseError:
            out.undecodable += 1
            continue
        s = summary(m)
        inner = s.get("inner") if isinstance(s.get("inner"), dict) else None
        core = inner or s
        key = _wire_key(s["msg"], inner["msg"] if inner else None, core.get("xid"),
                        tuple(core.get("ia") or ()))  # fmt: skip
        out.types[s["msg"] if not inner else f"{s['msg']}({inner['msg']})"] += 1
        arrows = index.get(key, [])
        t = d.time - epoch if epoch is not None else None
        if t is not None:
            arrows = [a for a in arrows if abs(a.t - t) <= TOLERANCE
                      or (a.t_recv is not None and abs(a.t_recv - t) <= TOLERANCE)]  # fmt: skip
        if arrows:
            out.matched += 1
        else:
            label = f"{key[0]}({key[1]} {key[2]})" if key[1] else f"{key[0]} {key[2]}"
            when = f" t={t:.3f}" if t is not None else ""
            out.missing.append(f"frame {d.index}{when} {label} {d.src} → {d.dst}")
    return out


def check_captures(pcaps: list[Path], ladder: Ladder, epoch: float | None) -> list[CaptureCheck]:
    """One :class:`CaptureCheck` per capture file."""
    return [check_capture(p, ladder, epoch) for p in pcaps]
