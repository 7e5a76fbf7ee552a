"""Smoke test of bench/build.py: ``--quick --no-mininet`` runs and prints its verdict.

No timing is asserted: the numbers depend on the machine and its load.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "build.py"
R = r"[\d.]+×"

needs_root = pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.geteuid() != 0,
    reason="needs root and Linux network namespaces",
)


def _leftovers(prefix: str) -> list[str]:
    try:
        return [e for e in os.listdir("/run/netns") if e.startswith(prefix)]
    except FileNotFoundError:
        return []


@pytest.mark.netns
@needs_root
def test_bench_quick_runs() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--no-mininet"],
        capture_output=True,
        encoding="utf-8",  # the bench prints × and ≤
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        timeout=300,
        check=False,
    )
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert re.search(
        r"^N=10 +ours up [\d.]+ down [\d.]+ \| pyroute2 up [\d.]+ down [\d.]+ "
        r"\| netlink up [\d.]+ down [\d.]+$",
        out,
        re.MULTILINE,
    ), out
    assert re.search(
        rf"^ratio ours/pyroute2 N=10: up {R}, up\+down {R}; ours/netlink: up {R}, up\+down {R}$",
        out,
        re.MULTILINE,
    ), out
    assert re.search(
        rf"^target ours ≤ 1.15× raw pyroute2 at every N: (MET|NOT MET) \(max {R}\)$",
        out,
        re.MULTILINE,
    ), out
    assert "Mininet at N=100: not measured" in out
    # every contestant cleaned up after itself (prefixes bo/br/bn + the bench's pid)
    assert not [e for e in _leftovers("b") if re.match(r"b[orn]\d+r\d+-", e)]


def test_bench_help() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--help"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    for flag in ("--quick", "--no-mininet", "--n"):
        assert flag in proc.stdout
