"""The pytest plugin's parts that need no namespaces: lab names, the loop thread, the
trace reader, field matching, the timer and retransmission assertions and the YAML
expectations on synthetic traces (their failure messages included), impairment rules,
capture points, the scenario clock, and YAML collection."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from lab.handle import Lab, LabAssertionError, LoopThread, TraceView, match_fields
from lab.load import load_topology
from lab.pytest_plugin import lab_name
from lab.run import impair
from lab.run.capture import CaptureError, capture_point
from lab.scenario import ExpectationFailed, check_expectations, run_scenario

ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------------------- names


def test_lab_names_are_short_and_unique_per_worker_and_process():
    names = {
        lab_name(w, pid, n) for w in ("", "gw0", "gw1") for pid in (4242, 4243) for n in (1, 2)
    }
    assert len(names) == 12
    assert lab_name("", 4242, 1) == "t39u-1" and lab_name("gw1", 4242, 3) == "gw139u-3"
    # the longest plausible name still leaves room for "<lab>-<node>" namespaces
    assert len(lab_name("gw15", 4_194_304, 999)) <= 14


# ---------------------------------------------------------------------------- loop thread


def test_loop_thread_runs_coroutines_and_reraises_their_exceptions():
    import asyncio

    loop = LoopThread("unit")
    try:

        async def where():
            await asyncio.sleep(0)
            return threading.current_thread().name

        assert loop.run(where(), 5) == "lab-loop:unit"
        assert loop.call(lambda: threading.current_thread().name) == "lab-loop:unit"

        async def boom():
            raise KeyError("inside the loop")

        with pytest.raises(KeyError, match="inside the loop"):
            loop.run(boom(), 5)

        cancelled = threading.Event()

        async def slow():
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                cancelled.set()
                raise

        with pytest.raises(TimeoutError, match=r"slow thing took more than 0\.1 s"):
            loop.run(slow(), 0.1, "slow thing")
        assert cancelled.wait(5)

        loop.call(lambda: asyncio.get_running_loop().call_soon(lambda: 1 / 0))
        loop.run(asyncio.sleep(0.05), 5)
        assert any("ZeroDivisionError" in e for e in loop.errors)
    finally:
        loop.close()
    assert loop.loop.is_closed() and not loop.thread.is_alive()
    loop.close()  # idempotent
    with pytest.raises(RuntimeError, match="loop is closed"):
        loop.run(asyncio.sleep(0))


def test_loop_thread_close_cancels_leftover_tasks():
    import asyncio

    loop = LoopThread("unit2")
    done = threading.Event()

    async def forever():
        try:
            await asyncio.sleep(3600)
        finally:
            done.set()

    loop.call(lambda: asyncio.get_running_loop().create_task(forever()))
    loop.close()
    assert done.is_set() and loop.loop.is_closed()


# ---------------------------------------------------------------------------- trace


def test_trace_view_reads_only_complete_lines(tmp_path):
    d = tmp_path / "traces"
    d.mkdir()
    f = d / "c1.jsonl"
    f.write_text('{"t": 1, "node": "c1", "event": "state", "to": "SOLICIT"}\n{"t": 2, "no')
    tv = TraceView(d)
    tv.refresh()
    assert [e["t"] for e in tv.node("c1")] == [1]
    with open(f, "a") as fh:
        fh.write('de": "c1", "event": "send", "msg": "SOLICIT"}\n')
    assert tv.refresh() and [e["t"] for e in tv.node("c1")] == [1, 2]
    (d / "s1.jsonl").write_text('{"t": 1.5, "node": "s1", "event": "recv", "msg": "SOLICIT"}\n')
    tv.refresh()
    assert [e["node"] for e in tv.merged()] == ["c1", "s1", "c1"]


def test_match_fields():
    e = {"event": "recv", "msg": "ADVERTISE", "ia": ["na:1 NoAddrsAvail"], "attempt": 2}
    assert match_fields(e, {"msg": "advertise"})
    assert match_fields(e, {"ia": "NoAddrsAvail"})
    assert match_fields(e, {"attempt": lambda a: a > 1})
    assert not match_fields(e, {"attempt": 1})
    assert not match_fields(e, {"status": "Success"})
    relayed = {"event": "recv", "msg": "RELAY-FORW", "inner": {"msg": "SOLICIT"}, "hops": 2}
    assert match_fields(relayed, {"msg": "SOLICIT"}) and match_fields(relayed, {"hops": 2})


# ---------------------------------------------------------------------------- synthetic labs


class Writer:
    def __init__(self, run_dir: Path) -> None:
        self.dir = run_dir / "traces"
        self.dir.mkdir(parents=True)

    def __call__(self, node: str, t: float, event: str, **fields) -> None:
        with open(self.dir / f"{node}.jsonl", "a") as f:
            f.write(json.dumps({"t": t, "node": node, "event": event, **fields}) + "\n")


def fake_lab(tmp_path: Path, topology: str = "topologies/basic.yaml", time_scale=None) -> Lab:
    """A Lab over a synthetic trace: the API without namespaces."""
    lab = Lab(load_topology(ROOT / topology), "unit", run_root=tmp_path, time_scale=time_scale)
    lab.trace = TraceView(tmp_path / "traces")
    lab.state_ = "up"
    return lab


@pytest.fixture
def synthetic(tmp_path):
    w = Writer(tmp_path)
    return fake_lab(tmp_path), w


def bind(
    w: Writer, t: float = 2.0, t1: float = 150, t2: float = 240, addr: str = "2001:db8:1::100"
):
    w("c1", 0.1, "state", **{"from": "INIT", "to": "SOLICIT"}, reason="start")
    w("c1", 1.0, "send", msg="SOLICIT", xid="aa0001", attempt=1, rt=1.05)
    w("c1", 1.001, "recv", msg="ADVERTISE", xid="aa0001")
    w("c1", t - 0.01, "send", msg="REQUEST", xid="aa0002", attempt=1, rt=1.0)
    w("c1", t, "lease", action="bound", address=addr, preferred=300, valid=600, t1=t1, t2=t2,
      server="0001")  # fmt: skip
    w("c1", t, "state", **{"from": "REQUEST", "to": "BOUND"}, reason="Reply with leases")
    w("c1", t, "timer", action="set", name="t1", after=t1)
    w("c1", t, "timer", action="set", name="t2", after=t2)
    w("s1", t - 0.005, "lease", action="bound", address=addr, client="0003aa", t1=t1, t2=t2)


def test_lease_and_events_replay_the_trace(synthetic):
    lab, w = synthetic
    bind(w)
    x = lab.lease("c1")
    assert (x.address, x.t1, x.t2, x.server_node, x.action) == (
        "2001:db8:1::100",
        150,
        240,
        "s1",
        "bound",
    )
    assert x.within("2001:db8:1::/64") and not x.within("2001:db8:2::/64")
    assert [e["msg"] for e in lab.events("c1", "send")] == ["SOLICIT", "REQUEST"]
    assert lab.state("c1") == "BOUND"
    w("c1", 3.0, "lease", action="released", address="2001:db8:1::100")
    with pytest.raises(LabAssertionError) as e:
        lab.lease("c1")
    assert "c1 has no lease" in str(e.value) and "c1 last states:" in str(e.value)


def test_wait_for_failure_shows_the_nodes_last_states_and_messages(synthetic):
    lab, w = synthetic
    bind(w)
    assert lab.wait_for("c1", state="BOUND", within=0)["t"] == 2.0
    t0 = time.monotonic()
    with pytest.raises(LabAssertionError) as e:
        lab.wait_for("c1", state="RENEW", within=0.1)
    assert time.monotonic() - t0 < 3
    msg = str(e.value)
    assert "c1: no state RENEW within 0.1 s" in msg
    assert "c1 last states:" in msg and "REQUEST → BOUND (Reply with leases)" in msg
    assert "c1 last messages:" in msg and "send SOLICIT xid aa0001" in msg
    assert "c1 leases: 2001:db8:1::100" in msg
    with pytest.raises(LabAssertionError, match=r"no send event msg='RENEW' after t=1\.000"):
        lab.wait_for("c1", event="send", msg="RENEW", since=1.0, within=0)


def test_renew_at_t1_passes_inside_the_slack(synthetic):
    lab, w = synthetic
    bind(w, t=2.0, t1=150)
    w("c1", 152.03, "send", msg="RENEW", xid="bb0001", attempt=1, rt=10.5)
    assert lab.assert_renewed_at_t1("c1") == pytest.approx(150.03)


def test_renew_late_fails_with_the_rfc_range_and_history(synthetic):
    lab, w = synthetic
    bind(w, t=2.0, t1=150)
    w("c1", 152.4, "send", msg="RENEW", xid="bb0001", attempt=1, rt=10.5)
    with pytest.raises(LabAssertionError) as e:
        lab.assert_renewed_at_t1("c1")
    msg = str(e.value)
    assert "c1 sent RENEW 150.400 s after its lease (bound at t=2.000)" in msg
    assert "T1 armed by the client is 150 s, allowed 149.950–150.050 s" in msg
    assert "50 ms wall × time scale 1" in msg and "c1 last states:" in msg


def test_rebind_at_t2_uses_protocol_time_when_scaled(tmp_path):
    w = Writer(tmp_path)
    lab = fake_lab(tmp_path, time_scale=10)
    w("c1", 0.2, "lease", action="bound", address="2001:db8:1::100", preferred=40, valid=60,
      t1=20, t2=32, pt=1000.0)  # fmt: skip
    w("c1", 0.2, "timer", action="set", name="t2", after=32, pt=1000.0)
    w("c1", 3.4, "send", msg="REBIND", xid="cc0001", attempt=1, rt=10.0, pt=1032.2)
    assert lab.slack() == pytest.approx(0.5)
    assert lab.assert_rebound_at_t2("c1") == pytest.approx(32.2)


def _solicits(w: Writer, times: list[float], rts: list[float] | None = None) -> None:
    for i, t in enumerate(times):
        rt = rts[i] if rts else (times[i + 1] - t if i + 1 < len(times) else 8.0)
        w("c1", t, "send", msg="SOLICIT", xid="dd0001", attempt=i + 1, rt=rt)


def test_retransmissions_follow_rfc_9915_section_15(synthetic):
    lab, w = synthetic
    _solicits(w, [1.0, 2.06, 4.16, 8.36])  # RT 1.06, 2.1, 4.2: IRT·(1+RAND), then doubling
    assert lab.assert_retransmissions("c1", "SOLICIT") == pytest.approx([1.06, 2.1, 4.2])


def test_retransmissions_that_do_not_double_fail_with_the_rule(synthetic):
    lab, w = synthetic
    _solicits(w, [1.0, 2.06, 3.12])  # the second RT did not double
    with pytest.raises(LabAssertionError) as e:
        lab.assert_retransmissions("c1", "SOLICIT")
    msg = str(e.value)
    assert "SOLICIT retransmissions break RFC 9915 §15" in msg
    assert "c1 xid dd0001 transmission 2→3 (1.060 s): the RFC allows 2 × previous 1.060 s" in msg
    assert "c1 last messages:" in msg


def test_first_solicit_rt_must_exceed_irt(synthetic):
    lab, w = synthetic
    _solicits(w, [1.0, 1.9])  # RT 0.9: fine for a Request, not for a Solicit (§18.2.1)
    with pytest.raises(LabAssertionError, match=r"IRT 1 s × \(1 \+ RAND\): 0.950–1.150 s"):
        lab.assert_retransmissions("c1", "SOLICIT")


def test_measured_interval_must_match_the_recorded_rt(synthetic):
    lab, w = synthetic
    _solicits(w, [1.0, 2.06], rts=[1.5, 2.0])
    with pytest.raises(LabAssertionError, match=r"the client recorded RT 1\.500 s"):
        lab.assert_retransmissions("c1", "SOLICIT")


def test_no_retransmission_to_check_is_a_failure_unless_allowed(synthetic):
    lab, w = synthetic
    bind(w)
    with pytest.raises(LabAssertionError, match="0 retransmission"):
        lab.assert_retransmissions("c1", "REQUEST")
    assert lab.assert_retransmissions("c1", "REQUEST", at_least=0) == []


def test_expectations_name_file_and_line(synthetic):
    lab, w = synthetic
    bind(w)
    topo = lab.topology
    expect = {"c1": [{"check": "state", "value": "BOUND", "line": 10},
                     {"check": "lease_in", "value": "2001:db8:9::/64", "line": 11},
                     {"check": "never_seen", "value": "ADVERTISE", "line": 12},
                     {"check": "seen", "value": ["SOLICIT", "REQUEST"], "line": 13}]}  # fmt: skip
    with pytest.raises(ExpectationFailed) as e:
        check_expectations(lab, expect, source="topologies/x.yaml", within=0.05)
    assert [f.split(": ", 1)[0] for f in e.value.failures] == [
        "topologies/x.yaml:11",
        "topologies/x.yaml:12",
    ]
    text = str(e.value)
    assert (
        "c1: expected lease_in: 2001:db8:9::/64 within 0.05 s, but its leases are 2001:db8:1::100"
        in text
    )
    assert "c1: expected never_seen: ADVERTISE, but it saw ADVERTISE (recv at t=1.001)" in text
    assert text.count("c1 last states:") == 2
    assert topo.source.endswith("basic.yaml")


def test_expectation_counts(synthetic):
    lab, w = synthetic
    bind(w)
    w("c1", 152.0, "state", **{"from": "BOUND", "to": "RENEW"})
    w("c1", 152.1, "state", **{"from": "RENEW", "to": "BOUND"})
    ok = {"c1": [{"check": "renewed", "value": True, "line": 1},
                 {"check": "renewed", "value": 1, "line": 2},
                 {"check": "rebound", "value": False, "line": 3}]}  # fmt: skip
    check_expectations(lab, ok, within=0.05)
    with pytest.raises(
        ExpectationFailed, match=r"x:4: c1: expected renewed: 2 within .* but it renewed 1"
    ):
        check_expectations(
            lab, {"c1": [{"check": "renewed", "value": 2, "line": 4}]}, source="x", within=0.05
        )
    with pytest.raises(
        ExpectationFailed, match=r"x:5: c1: expected renewed: false, but it renewed 1"
    ):
        check_expectations(
            lab, {"c1": [{"check": "renewed", "value": False, "line": 5}]}, source="x", within=0.05
        )


# ---------------------------------------------------------------------------- scenario clock


class ClockLab:
    """What run_scenario needs of a Lab, recording when each action ran."""

    def __init__(self, scale: float) -> None:
        self.time_scale = scale
        self.t0 = time.monotonic()
        self.calls: list[tuple[float, str, str]] = []
        self.topology = type("T", (), {"source": "x.yaml"})()

    def now(self) -> float:
        return time.monotonic() - self.t0

    def __getattr__(self, action):
        def act(*args, **kw):
            self.calls.append((self.now(), action, args[0] if args else kw))
            if action == "restart" and args[0] == "bad":
                raise RuntimeError("no such node")

        return act


def test_scenario_steps_run_in_order_at_their_protocol_times():
    lab = ClockLab(scale=10)
    steps = [{"at": 2.0, "action": "link_up", "args": "lan1", "line": 4},
             {"at": 1.0, "action": "link_down", "args": "lan1", "line": 3},
             {"at": 0.5, "action": "kill", "args": ["s1", "s2"], "line": 2},
             {"at": 2.0, "action": "wait", "args": 3.0, "line": 5}]  # fmt: skip
    run_scenario(lab, steps)  # type: ignore[arg-type]
    assert [(a, x) for _, a, x in lab.calls] == [("kill", "s1"), ("kill", "s2"), ("link_down", "lan1"),
                                                 ("link_up", "lan1")]  # fmt: skip
    times = [t for t, _, _ in lab.calls]
    assert times[0] >= 0.05 and times[2] >= 0.1 and times[3] >= 0.2
    assert lab.now() >= 0.5  # `wait: 3s` from 2 s: the scenario lasts until 5 s = 0.5 s wall
    assert lab.now() < 1.5


def test_a_failed_step_names_its_line():
    lab = ClockLab(scale=100)
    with pytest.raises(
        AssertionError, match=r"x.yaml:7: scenario step restart 'bad' failed: no such node"
    ):
        run_scenario(lab, [{"at": 0, "action": "restart", "args": "bad", "line": 7}])  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- impairments, captures


def test_impairment_rules_and_errors(monkeypatch):
    text = impair.rules("eth0", impair.Impairment(loss=30, duplicate=2.5))
    assert "table netdev dhcp6lab_eth0" in text and "delete table netdev dhcp6lab_eth0" in text
    assert (
        'hook ingress device "eth0"' in text
        and "numgen random mod 10000 < 3000 counter drop" in text
    )
    assert 'hook egress device "eth0"' in text and "numgen random mod 10000 < 250" in text
    assert 'dup to "eth0"' in text and "meta mark != 0x64366c62" in text
    assert "chain" not in impair.rules("eth0", impair.Impairment())  # clearing: the table goes
    assert impair.parse_impairment(delay="250ms").delay == 0.25
    with pytest.raises(impair.ImpairError, match="loss 130: expected a percentage"):
        impair.parse_impairment(loss=130)
    monkeypatch.setattr(impair, "kernel_has_netem", lambda: False)
    with pytest.raises(impair.ImpairError) as e:
        impair.set_impairment(
            "nowhere", "eth0", impair.Impairment(delay=0.1), where="link lan1 (c1:eth0)"
        )
    assert str(e.value) == ("link lan1 (c1:eth0): delay 100 ms is not supported: this kernel lacks netem "
                            "(CONFIG_NET_SCH_NETEM) and nftables queues (CONFIG_NFT_QUEUE); loss and "
                            "duplicate work")  # fmt: skip


def test_capture_points():
    info = {"lab": "d", "lans": {"lan1": {"namespace": "d--lan1", "bridge": "br0"}},
            "nodes": {"r1": {"namespace": "d-r1", "interfaces": {"eth0": {"link": "lan1"},
                                                                  "eth1": {"link": "p1"}}},
                      "h1": {"namespace": "d-h1", "interfaces": {"eth0": {"link": "p1"}}}}}  # fmt: skip
    assert capture_point(info, "lan1") == ("d--lan1", "br0")
    assert capture_point(info, "p1") == ("d-r1", "eth1")
    assert capture_point(info, "h1:eth0") == ("d-h1", "eth0")
    with pytest.raises(
        CaptureError, match=r"lab d has no link 'lan9' \(links: lan1, p1; or NODE:IFACE\)"
    ):
        capture_point(info, "lan9")


# ---------------------------------------------------------------------------- collection


def _pytest(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, env=env)  # fmt: skip


def test_yaml_files_with_expect_under_topologies_are_collected(tmp_path):
    topo = tmp_path / "topologies"
    topo.mkdir()
    (topo / "with.yaml").write_text((ROOT / "topologies/basic.yaml").read_text())
    (topo / "without.yaml").write_text("nodes: {}\n")
    (tmp_path / "other.yaml").write_text((ROOT / "topologies/basic.yaml").read_text())
    r = _pytest("--collect-only", "-q", "-m", "", str(tmp_path), cwd=tmp_path)
    assert "topologies/with.yaml::with" in r.stdout, r.stdout + r.stderr
    assert "without" not in r.stdout and "other.yaml" not in r.stdout
    r = _pytest("--collect-only", "-q", str(topo / "with.yaml"), cwd=tmp_path)
    assert "1 test collected" in r.stdout, r.stdout + r.stderr
    r = _pytest("--collect-only", "-q", "-m", "not netns", str(topo), cwd=tmp_path)
    assert "1 deselected" in r.stdout, r.stdout


def test_example_labs_are_collected_with_markers():
    r = _pytest("--collect-only", "-q", "topologies", cwd=ROOT)
    for name in ("basic", "preference", "preference255", "exhaustion", "pd-cpe", "relay", "relay-chain",
                 "failover", "restart", "reconfigure", "stateless", "lossy", "mixed", "clients50", "demo"):  # fmt: skip
        assert f"topologies/{name}.yaml::{name}" in r.stdout, r.stdout
    r = _pytest("--collect-only", "-q", "-m", "not interop", "topologies", cwd=ROOT)
    assert "mixed.yaml" not in r.stdout and "demo.yaml" not in r.stdout and "basic.yaml" in r.stdout
