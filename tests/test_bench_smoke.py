"""Smoke test of bench/codec.py: it runs, verifies its byte equality and prints its verdict.

No timing is asserted: the numbers depend on the machine.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

R = r"[\d.]+×"  # a ratio as the bench prints it
BENCH = Path(__file__).resolve().parent.parent / "bench" / "codec.py"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCH), *args],
        capture_output=True,
        encoding="utf-8",  # the bench prints µ, × and ≥
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        timeout=120,
        check=False,
    )


def test_bench_quick_runs() -> None:
    proc = _run("--quick")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "identical bytes" in out
    for case in ("request", "relay-forward-4"):
        line = rf"^ratio scapy/ours {case}: decode {R}, encode {R}, decode\+encode {R}$"
        assert re.search(line, out, re.MULTILINE), out
    assert re.search(
        rf"^target ≥ 30× faster than scapy: (MET|NOT MET) \(min ratio {R}", out, re.MULTILINE
    ), out


def test_bench_help() -> None:
    proc = _run("--help")
    assert proc.returncode == 0, proc.stderr
    assert "--quick" in proc.stdout
