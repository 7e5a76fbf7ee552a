"""Link impairments — loss, duplication, delay — on a lab's node interfaces.

This kernel family often lacks netem (``CONFIG_NET_SCH_NETEM`` unset), so loss and
duplication are nftables rules in the node's own namespace, one ``netdev`` table per
impaired interface (``dhcp6lab_<iface>``):

- loss: an ``ingress`` chain on the interface drops ``numgen random mod 10000 < N``
  (N = percent × 100) of the frames the node receives there;
- duplicate: an ``egress`` chain sends a copy of that share of the frames the node
  transmits (``dup to <iface>``); the copy is marked so it is never copied again.

So one impaired member of a link loses (duplicates) the asked share of what crosses it
in one direction; impairing a link impairs every member: each frame is then subject to
the loss once, at its receiver, and to duplication once, at its sender. A ping round
trip crosses the link twice (the echo loss is ``1 - (1 - p)²``).

Delay needs a queue that holds packets. nftables' ``queue`` statement needs
``CONFIG_NFT_QUEUE`` (unset here too), so delay uses netem where the kernel has it and
is refused with one clear line where it does not — never silently ignored.

Every function here takes the namespace name and runs ``nft``/``tc`` inside it with
``ip netns exec``; nothing touches the root namespace.
"""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "ImpairError",
    "Impairment",
    "clear",
    "kernel_has_netem",
    "parse_impairment",
    "rules",
    "set_impairment",
]

MARK = 0x64366C62  # "d6lb": a duplicated frame, never duplicated again
SCALE = 10000  # numgen range: percent with two decimals


class ImpairError(Exception):
    """An impairment could not be set; one line saying what and why."""


@dataclass(frozen=True)
class Impairment:
    loss: float = 0.0  # percent of frames dropped at the receiver
    duplicate: float = 0.0  # percent of frames sent twice
    delay: float = 0.0  # seconds added (netem only)

    @property
    def none(self) -> bool:
        return not (self.loss or self.duplicate or self.delay)

    def __str__(self) -> str:
        parts = []
        if self.loss:
            parts.append(f"loss {self.loss:g} %")
        if self.duplicate:
            parts.append(f"duplicate {self.duplicate:g} %")
        if self.delay:
            parts.append(f"delay {self.delay * 1000:g} ms")
        return ", ".join(parts) or "none"


def parse_impairment(
    loss: float = 0.0, duplicate: float = 0.0, delay: float | str = 0.0
) -> Impairment:
    """Check values (percent 0–100; delay in seconds or ``"100ms"``); ImpairError if bad."""
    if isinstance(delay, str):
        from ..schema import SpecError, parse_duration

        try:
            delay = parse_duration(delay)
        except SpecError as e:
            raise ImpairError(f"delay {delay!r}: {e}") from None
    for what, v in (("loss", loss), ("duplicate", duplicate)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 100:
            raise ImpairError(f"{what} {v!r}: expected a percentage from 0 to 100")
    if isinstance(delay, bool) or not isinstance(delay, (int, float)) or delay < 0:
        raise ImpairError(f"delay {delay!r}: expected seconds ≥ 0 (or '100ms')")
    return Impairment(float(loss), float(duplicate), float(delay))


def table_name(iface: str) -> str:
    return "dhcp6lab_" + re.sub(r"[^A-Za-z0-9_]", "_", iface)


def rules(iface: str, imp: Impairment) -> str:
    """The nft script that replaces ``iface``'s impairment table (atomically)."""
    t = table_name(iface)
    lines = [f"table netdev {t}", f"delete table netdev {t}"]
    if imp.loss or imp.duplicate:
        lines.append(f"table netdev {t} {{")
        if imp.loss:
            n = round(imp.loss * SCALE / 100)
            lines += [
                f'  chain ingress {{ type filter hook ingress device "{iface}" priority 0;',
                f"    numgen random mod {SCALE} < {n} counter drop",
                "  }",
            ]
        if imp.duplicate:
            n = round(imp.duplicate * SCALE / 100)
            lines += [
                f'  chain egress {{ type filter hook egress device "{iface}" priority 0;',
                f"    meta mark != {MARK:#x} numgen random mod {SCALE} < {n} "
                f'meta mark set {MARK:#x} counter dup to "{iface}"',
                "  }",
            ]
        lines.append("}")
    return "\n".join(lines) + "\n"


@lru_cache(maxsize=1)
def kernel_has_netem() -> bool:
    """Whether this kernel can run the netem qdisc (from /proc/config.gz when present)."""
    try:
        with gzip.open("/proc/config.gz", "rt") as f:
            for line in f:
                if line.startswith("CONFIG_NET_SCH_NETEM="):
                    return line.strip().endswith(("=y", "=m"))
        return False
    except OSError:
        return True  # no config to read: try it, and report what tc says


def _run(ns: str, argv: list[str], stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", "netns", "exec", ns, *argv], input=stdin, capture_output=True,
                          text=True, timeout=30, check=False)  # fmt: skip


def _need(binary: str, package: str) -> None:
    if shutil.which(binary) is None:
        raise ImpairError(
            f"link impairments need `{binary}` (Debian package {package}); run `make bootstrap`"
        )


def set_impairment(ns: str, iface: str, imp: Impairment, *, where: str = "") -> None:
    """Replace ``iface``'s impairment inside namespace ``ns`` (``Impairment()`` clears it).

    ``where`` names the link/endpoint in error messages. Raises ImpairError (one line).
    """
    label = where or f"{ns}:{iface}"
    if imp.delay:
        if not kernel_has_netem():
            raise ImpairError(
                f"{label}: delay {imp.delay * 1000:g} ms is not supported: this kernel lacks "
                "netem (CONFIG_NET_SCH_NETEM) and nftables queues (CONFIG_NFT_QUEUE); "
                "loss and duplicate work"
            )
        _need("tc", "iproute2")
        r = _run(ns, ["tc", "qdisc", "replace", "dev", iface, "root", "netem",
                      "delay", f"{imp.delay * 1000:g}ms"])  # fmt: skip
        if r.returncode != 0:
            raise ImpairError(
                f"{label}: delay via netem failed: {r.stderr.strip() or r.stdout.strip()}"
            )
    _need("nft", "nftables")
    r = _run(ns, ["nft", "-f", "-"], rules(iface, imp))
    if r.returncode != 0:
        err = (
            " ".join(ln.strip() for ln in r.stderr.splitlines() if "Error" in ln)
            or r.stderr.strip()
        )
        raise ImpairError(f"{label}: nftables refused the impairment ({imp}): {err}")
    if not imp.delay and kernel_has_netem():
        _run(ns, ["tc", "qdisc", "del", "dev", iface, "root", "netem"])  # none there is fine


def clear(ns: str, iface: str) -> None:
    set_impairment(ns, iface, Impairment())


def counters(ns: str, iface: str) -> dict[str, int]:
    """Packets the loss and duplicate rules acted on so far: {"dropped": n, "duplicated": n}."""
    r = _run(ns, ["nft", "list", "table", "netdev", table_name(iface)])
    out = {"dropped": 0, "duplicated": 0}
    if r.returncode != 0:
        return out
    for line in r.stdout.splitlines():
        m = re.search(r"counter packets (\d+)", line)
        if m:
            out["dropped" if "drop" in line else "duplicated"] = int(m.group(1))
    return out
