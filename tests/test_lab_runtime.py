"""`lab up/status/exec/trace/down/clean` on real namespaces: the demo lab end to end,
reachability across the router, two labs from one file, crash-safe cleanup."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.netns]
ROOT = Path(__file__).resolve().parent.parent


def lab(*args: str, root: Path, timeout: float = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "DHCP6_LAB_RUN_ROOT": str(root)}
    return subprocess.run([sys.executable, "-m", "lab.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=ROOT)  # fmt: skip


def namespaces(prefix: str) -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [ln.split()[0] for ln in out.splitlines() if ln.startswith(prefix)]


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "labs"
    yield r
    for d in r.iterdir() if r.exists() else []:  # never leave a lab behind, pass or fail
        if d.is_dir():
            lab("down", d.name, root=r)
    lab("clean", root=r)


@pytest.mark.interop
def test_demo_lab_end_to_end(root):
    r = lab("up", "topologies/demo.yaml", "--name", "d1", "--wait-bound", "30", root=root)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "BOUND" in r.stdout and "dh1" in r.stdout
    st = json.loads(lab("status", "d1", "--json", root=root).stdout)
    nodes = st["nodes"]
    for c in ("c1", "c2", "c3", "dh1"):
        assert nodes[c]["state"] == "BOUND", nodes[c]
        kinds = {"address" if "address" in x else "prefix" for x in nodes[c]["leases"]}
        assert kinds == {"address", "prefix"}, nodes[c]
    assert nodes["c1"]["seed"] == "IPv6 Address Timer" and nodes["s1"]["bindings"] >= 6
    # reachability: a leased address on lan2 reaches our server on lan1 across the router
    c1 = next(x["address"] for x in nodes["c1"]["leases"] if "address" in x)
    ping = lab(
        "exec", "d1", "c1", "--", "ping", "-6", "-c1", "-W2", "-I", c1, "2001:db8:1::2", root=root
    )
    assert ping.returncode == 0, ping.stdout + ping.stderr
    dh1 = next(x["address"] for x in nodes["dh1"]["leases"] if "address" in x)
    ping2 = lab("exec", "d1", "c2", "--", "ping", "-6", "-c1", "-W2", dh1, root=root)
    assert ping2.returncode == 0, ping2.stdout + ping2.stderr
    # one merged trace: our engines and the observed dhclient, in time order
    events = [json.loads(x) for x in lab("trace", "d1", root=root).stdout.splitlines()]
    assert [e["t"] for e in events] == sorted(e["t"] for e in events)
    assert any(
        e["node"] == "dh1" and e["event"] == "send" and e["msg"] == "SOLICIT" for e in events
    )
    assert any(
        e["node"] == "relay1" and e["event"] == "send" and e["msg"] == "RELAY-FORW" for e in events
    )
    assert (root / "d1" / "pcap" / "dh1-eth0.pcap").exists()
    down = lab("down", "d1", root=root)
    assert down.returncode == 0 and not namespaces("d1-") and not (root / "d1").exists()


def test_two_labs_from_one_file_side_by_side(root):
    a = lab("up", "topologies/basic.yaml", "--name", "la", "--wait-bound", "20", root=root)
    b = lab("up", "topologies/basic.yaml", "--name", "lb", "--wait-bound", "20", root=root)
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    listed = lab("list", root=root).stdout
    assert "la\trunning" in listed and "lb\trunning" in listed
    assert len(namespaces("la-")) == 5 and len(namespaces("lb-")) == 5
    assert lab("down", "la", root=root).returncode == 0
    assert not namespaces("la-") and len(namespaces("lb-")) == 5
    st = json.loads(lab("status", "lb", "--json", root=root).stdout)
    assert all(st["nodes"][c]["state"] == "BOUND" for c in ("c1", "c2", "c3"))


def test_kill_9_mid_build_then_clean_leaves_nothing_of_that_lab(root):
    keep = lab("up", "topologies/basic.yaml", "--name", "keep", "--wait-bound", "20", root=root)
    assert keep.returncode == 0, keep.stderr
    env = {**os.environ, "DHCP6_LAB_RUN_ROOT": str(root)}
    root.mkdir(parents=True, exist_ok=True)
    sup = subprocess.Popen([sys.executable, "-m", "lab.run.supervisor", "topologies/clients50.yaml",
                            "--name", "crash", "--run-root", str(root)], cwd=ROOT, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    progress = root / "crash.up.json"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until it is building, then kill it
        if progress.exists() and json.loads(progress.read_text() or "{}").get("done", 0) >= 5:
            break
        time.sleep(0.02)
    os.kill(sup.pid, signal.SIGKILL)
    sup.wait(10)
    assert namespaces("crash-"), "the build had not started; nothing to clean"
    r = lab("clean", root=root)
    assert r.returncode == 0 and "crash" in r.stdout
    assert not namespaces("crash-") and not (root / "crash").exists()
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert "--name crash" not in ps
    # the other lab is untouched
    assert len(namespaces("keep-")) == 5
    st = json.loads(lab("status", "keep", "--json", root=root).stdout)
    assert st["nodes"]["c1"]["state"] == "BOUND"


def test_errors_are_one_line(root, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("nodes: {x: {kind: dhcp6-cleint}}\n")
    r = lab("up", str(bad), root=root)
    assert (
        r.returncode == 1 and "dhcp6-cleint" in r.stdout + r.stderr and "Traceback" not in r.stderr
    )
    r = lab("status", "nope", root=root)
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1
    r = lab("down", "nope", root=root)
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1
    r = lab("up", "topologies/demo.yaml", "--time-scale", "60", root=root)
    assert (
        r.returncode == 1
        and "real peers keep real time" in r.stderr
        and not (root / "demo").exists()
    )


def test_not_root_is_one_clear_line(monkeypatch, capsys):
    from lab.cli import main

    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert main(["up", "topologies/basic.yaml"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs root" in err


def test_missing_peer_binary_is_one_clear_line(monkeypatch):
    import asyncio

    from dhcp6.testing import peers
    from lab.load import load_topology
    from lab.run.runtime import LabRuntime, RuntimeError_

    monkeypatch.setattr(peers, "missing_binaries", lambda names=None: ["dhclient", "kea-dhcp6"])
    rt = LabRuntime(load_topology(ROOT / "topologies/demo.yaml"), "never")
    with pytest.raises(
        RuntimeError_,
        match=r"missing real-peer programs: dhclient, kea-dhcp6; run `make bootstrap`",
    ):
        asyncio.run(rt.up())
