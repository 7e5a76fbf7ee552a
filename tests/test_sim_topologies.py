"""Every example topology that has no real peers, in the simulator: its scenario, then
its expect: block — what the plugin's YAML items check in namespaces, without root."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lab.sim.handle import SimLab

ROOT = Path(__file__).resolve().parent.parent
PEER = re.compile(r"kind:\s*(kea|dnsmasq|dhclient|dhcpcd|wide-dhcp6c)\b")
FILES = sorted(p for p in (ROOT / "topologies").glob("*.yaml") if not PEER.search(p.read_text()))


def test_there_are_examples():
    assert len(FILES) >= 3


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
@pytest.mark.parametrize("seed", [0, 1])
def test_topology_scenario_and_expectations(path, seed):
    with SimLab(path, seed=seed) as lab:
        lab.run_scenario()
        lab.check_expectations()
        assert lab.sim.now < 600  # scenario + awaited expectations: protocol minutes at most


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_topology_runs_hours(path):
    with SimLab(path, seed=2, keep=False) as lab:
        lab.advance(6 * 3600)
        assert lab.sim.events > 0 and not lab.sim.failures
