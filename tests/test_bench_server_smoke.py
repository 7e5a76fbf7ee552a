"""Smoke test of bench/server_vs_kea.py: it runs our server and Kea under perfdhcp in
namespaces and prints its per-step lines and its summary.

No timing or rate is asserted: the numbers depend on the machine and on what else runs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dhcp6.testing.peers import missing_binaries

pytestmark = [
    pytest.mark.netns,
    pytest.mark.interop,
    pytest.mark.skipif(
        not sys.platform.startswith("linux") or os.geteuid() != 0,
        reason="needs root and Linux network namespaces",
    ),
]

BENCH = Path(__file__).resolve().parent.parent / "bench" / "server_vs_kea.py"
SERVERS = ("ours", "ours-notrace", "kea")


def _run(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCH), *args],
        capture_output=True,
        encoding="utf-8",  # the bench prints µ and ≥
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        timeout=timeout,
        check=False,
    )


@pytest.mark.timeout(600)
def test_bench_quick_runs_and_prints_its_summary() -> None:
    missing = missing_binaries(["perfdhcp", "kea-dhcp6"])
    if missing:
        pytest.skip(f"missing {', '.join(missing)}")
    proc = _run("--quick", timeout=540)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    # one line per server per rate, each with the measured fields
    for server in SERVERS:
        steps = re.findall(rf"^  {re.escape(server)} +\d+/s  offered .*$", out, re.MULTILINE)
        assert len(steps) >= 1, out
        for line in steps:
            assert re.search(r"drops +[\d.]+ %", line) and "avg delay" in line, line
            assert re.search(r"udp547 kernel drops \d+", line), line
            assert "server CPU" in line, line
        if server != "kea":
            assert all("kernel_drops=" in line for line in steps), out
    for server in SERVERS:
        assert re.search(
            rf"^highest rate with < 1 % drops: {re.escape(server)}: (\d+/s|none)", out, re.MULTILINE
        ), out
    for server in ("ours", "ours-notrace"):
        assert re.search(rf"^ratio {server}/kea: ([\d.]+|n/a)$", out, re.MULTILINE), out


def test_bench_help() -> None:
    proc = _run("--help", timeout=60)
    assert proc.returncode == 0, proc.stderr
    for opt in ("--quick", "--rates", "--seconds", "--servers", "--profile"):
        assert opt in proc.stdout
