"""Smoke test of bench/sim.py: ``--quick`` runs (no root needed) and prints its numbers.

No timing is asserted: the numbers depend on the machine and its load.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "sim.py"


def test_bench_sim_quick():
    r = subprocess.run([sys.executable, str(BENCH), "--quick"], capture_output=True, text=True,
                       timeout=300, cwd=BENCH.parent.parent)  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert out.startswith("bench/sim.py: 200 clients, 2 servers, one LAN, 2h of protocol time")
    assert re.search(r"simulated: 2h in [\d.]+ s wall, [\d.]+ s CPU .* [\d,]+× real time", out)
    assert re.search(r"[\d,]+ events \([\d,]+ events/s\), [\d,]+ exchanges", out)
    assert "200 binds, 600 renewals, 0 rebinds" in out and "200 bound at the end" in out
    assert re.search(r"trace: [\d,]+ lines", out) and re.search(r"peak RSS [\d,]+ MB", out)
    assert re.search(r"inside the engines' own calls", out)
    assert "namespaces (20 clients): skipped" in out
