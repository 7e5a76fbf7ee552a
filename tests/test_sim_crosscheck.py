"""Cross-check: every example topology without real peers, in namespaces and in the
simulator — the same sequence of states and messages per client, timing within RFC
tolerance.

Namespaces: lab.run.runtime.LabRuntime in-process (root), one lab after the other (labs
starting alongside would delay each other's timers), each at a time scale that brings
its first renewal within ~1.5 s of wall time, until every
client has renewed once (no scenario: LabRuntime does not run one). Simulator: the same
topology, same clients' ``seed:``, until the same point. Per client, up to and
including its first RENEW→BOUND:

* its state changes, in order, are the same;
* the messages it sends, in order (a retransmission folded into the first), are the same;
* the messages it receives are the same set (two servers' Advertises may come in either
  order in namespaces);
* a client with a ``seed:`` draws the same first random delay and xid in both;
* the first Solicit leaves within SOL_MAX_DELAY of the client's start, and the first Renew
  T1 after its lease — exactly in the simulator, within 0.1 s of wall time (× the time
  scale) in namespaces.

Topologies with impaired links (random loss differs between backends) are left out.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from dhcp6.trace import read
from lab.load import load_topology
from lab.model import Topology
from lab.sim.handle import SimLab

pytestmark = [
    pytest.mark.netns,
    pytest.mark.skipif(
        not sys.platform.startswith("linux") or os.geteuid() != 0,
        reason="needs root and Linux network namespaces",
    ),
]

ROOT = Path(__file__).resolve().parent.parent
PEER = re.compile(r"kind:\s*(kea|dnsmasq|dhclient|dhcpcd|wide-dhcp6c)\b")
IMPAIRED = re.compile(r"^\s*impairment\s*:", re.M)
OVERRIDES = {"clients50": {"clients": 5}}  # a few namespaces are enough
WALL_WINDOW = 1.5  # seconds of wall time until the first renewals, in namespaces
MAX_SCALE = 150.0
WALL_SLACK = 0.1  # seconds of wall-clock jitter allowed in namespaces


def _files() -> list[Path]:
    out = []
    for p in sorted((ROOT / "topologies").glob("*.yaml")):
        text = p.read_text()
        if not PEER.search(text) and not IMPAIRED.search(text):
            out.append(p)
    return out


FILES = _files()


def _stateful(topo: Topology) -> list[str]:
    return [n for n, node in topo.nodes.items() if node.kind == "dhcp6-client"
            and node.options.get("autostart", True) and not node.options.get("stateless")]  # fmt: skip


def _sim(path: Path) -> tuple[Topology, SimLab, float]:
    """The simulated run, until every stateful client renewed once; that protocol time."""
    topo = load_topology(path, OVERRIDES.get(path.stem))
    lab = SimLab(topo, seed=0, scenario=False)
    until = 0.0
    for c in _stateful(topo):
        e = lab.wait_for(c, state="BOUND", event="state", from_="RENEW", within=4000)
        until = max(until, e["t"])
    for c in [n for n, node in topo.nodes.items() if node.kind == "dhcp6-client"]:
        if c not in _stateful(topo) and topo.nodes[c].options.get("autostart", True):
            until = max(until, lab.wait_for(c, state="BOUND", within=60)["t"])
    return topo, lab, until


async def _ns(topo: Topology, name: str, scale: float, wall: float) -> dict[str, list[dict]]:
    from lab.run.runtime import LabRuntime

    root = tempfile.mkdtemp(prefix="simx-")
    rt = LabRuntime(topo, name, run_root=root, time_scale=scale)
    try:
        await rt.up()
        await asyncio.sleep(wall)
        return {n: list(read(rt.trace_path(n))) if rt.trace_path(n).exists() else []
                for n in topo.nodes}  # fmt: skip
    finally:
        await rt.down()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def runs() -> dict[str, Any]:
    """Both backends for every topology."""
    plans = []
    for i, path in enumerate(FILES):
        topo, lab, until = _sim(path)
        scale = min(MAX_SCALE, max(topo.time_scale, until / WALL_WINDOW))
        plans.append((path, topo, lab, until, scale, f"x{os.getpid() % 1000}{i}"))

    async def everything() -> list[Any]:
        out: list[Any] = []
        for p, _, _, until, scale, name in plans:
            try:
                topo = load_topology(p, OVERRIDES.get(p.stem))
                out.append(await _ns(topo, name, scale, until / scale + 0.4))
            except Exception as e:  # reported by that topology's test
                out.append(e)
        return out

    results = asyncio.run(everything())
    return {p.stem: {"topo": topo, "sim": lab, "until": until, "scale": scale, "ns": res}
            for (p, topo, lab, until, scale, _), res in zip(plans, results, strict=True)}  # fmt: skip


def _cut(events: list[dict]) -> list[dict]:
    """Up to and including the first RENEW→BOUND (else everything)."""
    for i, e in enumerate(events):
        if e["event"] == "state" and e.get("from") == "RENEW" and e.get("to") == "BOUND":
            return events[: i + 1]
    return events


def _story(events: list[dict]) -> dict[str, Any]:
    evs = _cut(events)
    states = [e["to"] for e in evs if e["event"] == "state" and "to" in e]
    sends = [e["msg"] for e in evs if e["event"] == "send" and e.get("attempt", 1) == 1]
    recvs = {e["msg"] for e in evs if e["event"] == "recv"}
    return {"states": states, "sends": sends, "recvs": recvs}


def _pt(e: dict) -> float:
    return float(e.get("pt", e["t"]))


def _timing(events: list[dict], t1: float | None, slack: float) -> list[str]:
    """RFC timing of one client's run; problems found."""
    bad = []
    start = next((e for e in events if e["event"] == "state" and e.get("to") == "SOLICIT"), None)
    first = next((e for e in events if e["event"] == "send" and e["msg"] == "SOLICIT"), None)
    if start is not None and first is not None:
        d = _pt(first) - _pt(start)
        if not -slack <= d <= 1.0 + slack:
            bad.append(f"first Solicit {d:.3f} s after the start (SOL_MAX_DELAY 1 s ± {slack:.3f})")
    lease = next((e for e in events if e["event"] == "lease" and e.get("action") == "bound"), None)
    renew = next((e for e in events if e["event"] == "send" and e["msg"] == "RENEW"), None)
    if t1 is not None and lease is not None and renew is not None:
        d = _pt(renew) - _pt(lease)
        if abs(d - t1) > slack:
            bad.append(f"first Renew {d:.3f} s after the lease, T1 is {t1:g} s (± {slack:.3f})")
    return bad


@pytest.mark.parametrize("stem", [p.stem for p in FILES])
def test_same_story_in_namespaces_and_in_the_simulator(runs, stem):
    r = runs[stem]
    if isinstance(r["ns"], BaseException):
        raise r["ns"]
    topo, lab = r["topo"], r["sim"]
    clients = [n for n, node in topo.nodes.items() if node.kind == "dhcp6-client"]
    problems = []
    for c in clients:
        sim_ev, ns_ev = lab.events(c), r["ns"][c]
        if not sim_ev and not ns_ev:
            continue  # not started (autostart: false, no scenario here)
        a, b = _story(sim_ev), _story(ns_ev)
        for key in ("states", "sends", "recvs"):
            if a[key] != b[key]:
                problems.append(f"{c} {key}: simulator {a[key]} ≠ namespaces {b[key]}")
        if topo.nodes[c].options.get("seed") is not None:
            for what, pick in (("first random delay", lambda e: e["event"] == "timer" and e.get("name") == "tx"),
                               ("first xid", lambda e: e["event"] == "send")):  # fmt: skip
                x = next((e for e in sim_ev if pick(e)), None)
                y = next((e for e in ns_ev if pick(e)), None)
                key = "after" if what.endswith("delay") else "xid"
                if x and y and x.get(key) != y.get(key):
                    problems.append(f"{c} {what}: simulator {x.get(key)} ≠ namespaces {y.get(key)}")
        t1 = None
        lease = next(
            (e for e in sim_ev if e["event"] == "lease" and e.get("action") == "bound"), None
        )
        if lease is not None:
            armed = next((e for e in sim_ev if e["event"] == "timer" and e.get("name") == "t1"
                          and e.get("action") == "set"), None)  # fmt: skip
            t1 = float(armed["after"]) if armed else None
        problems += [f"{c} simulator: {p}" for p in _timing(sim_ev, t1, 2e-6)]
        problems += [f"{c} namespaces: {p}" for p in _timing(ns_ev, t1, WALL_SLACK * r["scale"])]
    assert not problems, f"{stem} (time scale {r['scale']:g} in namespaces):\n  " + "\n  ".join(
        problems
    )
