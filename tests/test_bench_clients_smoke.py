"""Smoke test of bench/clients.py: `--quick` (N=10) runs both phases — one `dhcp6 clients`
process, then ten `dhclient -6` — against our server in namespaces, and prints its table
and verdicts. No timing or memory figure is asserted: they depend on the machine."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.netns, pytest.mark.interop]

BENCH = Path(__file__).resolve().parent.parent / "bench" / "clients.py"
NUM = r"[\d.]+"


@pytest.fixture(scope="module")
def quick() -> subprocess.CompletedProcess[str]:
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        pytest.skip("needs root and Linux network namespaces")
    return subprocess.run(
        [sys.executable, str(BENCH), "--quick"],
        capture_output=True,
        encoding="utf-8",  # the bench prints ≤, × and –
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        timeout=300,
        check=False,
    )


def test_quick_exits_zero(quick: subprocess.CompletedProcess[str]) -> None:
    assert quick.returncode == 0, quick.stdout[-4000:] + quick.stderr[-4000:]


def test_quick_prints_the_table_and_verdicts(quick: subprocess.CompletedProcess[str]) -> None:
    out = quick.stdout
    for line in (
        r"^N=10$",
        rf"^  ours +1 +{NUM} s +{NUM} MB +{NUM} MB +{NUM} MB +{NUM} MB +{NUM} s$",
        rf"^  dhclient +10 +{NUM} s +{NUM} MB +{NUM} MB +{NUM} MB +{NUM} MB +{NUM} s$",
        rf"^  ours, from its traces \(s after spawn\): first client started {NUM}",
        rf"^  dhclient: launches spread over {NUM} s",
        rf"^  ratio dhclient/ours: time to all bound {NUM}×, RSS per client {NUM}×",
        r"^RFC 9915 minimum \(reference\): .* ≈ 2\.1 s worst case$",
        r"^target at N=100 all bound within 0\.3 s of the RFC minimum .*: NOT EVALUATED",
        r"^target RSS per client well under a dhclient process .* at N=10: (MET|NOT MET) ",
    ):
        assert re.search(line, out, re.MULTILINE), f"{line!r} not in:\n{out}"
    assert "ERROR" not in out and "failed phases" not in out, out


def test_help() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "--quick" in proc.stdout and "--n" in proc.stdout
