"""SimLab: the namespace handle's API (lab.handle.Lab) on the simulator, and the
``sim_lab`` / ``sim_lab_factory`` fixtures (registered here the way the plugin does)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.handle import Lab, LabAssertionError, Lease
from lab.handle import match_fields as handle_match
from lab.load import load_topology
from lab.scenario import ExpectationFailed
from lab.sim.handle import SimLab
from lab.sim.matching import match_fields as sim_match
from lab.sim.pytest_fixture import sim_lab_factory_fixture, sim_lab_fixture

ROOT = Path(__file__).resolve().parent.parent
TOPO = ROOT / "topologies"

sim_lab = pytest.fixture(sim_lab_fixture, name="sim_lab")
sim_lab_factory = pytest.fixture(sim_lab_factory_fixture, name="sim_lab_factory")


@pytest.fixture
def basic():
    with SimLab(TOPO / "basic.yaml", seed=1) as lab:
        yield lab


def test_it_is_a_lab(basic):
    assert isinstance(basic, Lab) and basic.backend == "sim" and basic.time_scale == 1.0


def test_wait_for_runs_the_clock_and_returns_the_event(basic):
    assert basic.now == 0.0 and basic.now() == 0.0
    e = basic.wait_for("c1", state="BOUND", within=10)
    assert e["event"] == "state" and e["to"] == "BOUND" and e["node"] == "c1"
    assert round(basic.now, 6) == e["t"]  # the clock stopped at that event
    # like Lab.wait_for: the whole trace counts, so asking again returns the same event
    assert basic.wait_for("c1", state="bound") is e
    renew = basic.wait_for("c1", event="send", msg="renew", within=200)
    assert renew["t"] == round(e["t"] + 150, 6)
    # since= (a time or an event): only what came strictly after
    again = basic.wait_for("c1", state="BOUND", since=e, within=10)
    assert again["t"] > e["t"] and again["from"] == "RENEW"


def test_wait_for_timeout_tells_the_story(basic):
    basic.wait_for("c1", state="BOUND", within=10)
    basic.kill("s1")
    start = basic.now
    with pytest.raises(LabAssertionError) as e:
        basic.wait_for("c1", event="lease", action="renewed", within=200)
    text = str(e.value)
    assert "c1: no lease event action='renewed' within 200 s" in text
    assert "last states:" in text and "BOUND → RENEW (T1)" in text and "last messages:" in text
    assert "send RENEW" in text
    assert basic.now == pytest.approx(start + 200)  # the clock ran the whole `within`


def test_lease_is_lab_s_lease_and_a_mapping(basic):
    basic.wait_for("c1", state="BOUND", within=10)
    x = basic.lease("c1")
    assert isinstance(x, Lease) and x.address.startswith("2001:db8:1::")
    assert x["address"] == x.address and x["preferred"] == 300 and x["valid"] == 600
    assert x["t1"] == 150 and x["t2"] == 240 and x.server_node == "s1"
    assert x["server"] == basic.sim.nodes["s1"].duid.hex() and x.get("prefix") is None
    assert x.within("2001:db8:1::/64")
    with pytest.raises(LabAssertionError, match="c1 has no prefix"):
        basic.lease("c1", kind="pd")


def test_events_filters_like_lab(basic):
    basic.advance(200)
    assert basic.now == 200.0
    sends = basic.events("c1", "send")
    assert sends and all(e["event"] == "send" and e["node"] == "c1" for e in sends)
    assert basic.events("c1", "send", msg="RENEW") == [e for e in sends if e["msg"] == "RENEW"]
    all_events = basic.events()
    assert len(all_events) == basic.trace.lines and {e["node"] for e in all_events} == {
        "s1", "c1", "c2", "c3"}  # fmt: skip
    assert basic.events("s1", "lease", since=150.0) and all(
        e["t"] > 150 for e in basic.events("s1", "lease", since=150.0))  # fmt: skip
    assert basic.state("c1") == "BOUND" and basic.state("s1") == "LISTEN"


def test_actions_return_the_time_and_act(basic):
    basic.wait_for("c2", state="BOUND", within=10)
    t = basic.stop("c2")
    assert t == basic.now
    basic.advance(1)
    assert basic.state("c2") == "STOPPED" and basic.events("s1", "lease", action="released")
    basic.start("c2")
    basic.wait_for("c2", state="BOUND", since=t, within=10)
    basic.restart("s1")
    assert "3 leases restored" in basic.events("s1", "state", to="LISTEN")[-1]["reason"]
    basic.link_down("lan1")
    assert not basic.ping("c1", "s1")
    basic.link_up("lan1")
    assert basic.ping("c1", "s1").ok
    basic.netem("lan1", delay="100ms")
    assert basic.sim.net.links["lan1"].impairment.delay == 0.1
    with pytest.raises(LabAssertionError, match="no link or interface 'nope'"):
        basic.link_down("nope")


def test_reconfigure_and_control():
    lab = SimLab(TOPO / "reconfigure.yaml", seed=2)
    lab.wait_for("c1", state="BOUND", within=10)
    lab.wait_for("c2", state="BOUND", within=10)
    reply = lab.reconfigure("s1", "c1")
    assert reply["ok"] and reply["sent"] == [lab.client_duid("c1")]
    lab.wait_for("c1", state="RENEW", within=5)
    assert lab.wait_for("c1", event="lease", action="renewed", within=5)
    assert not lab.events("c2", "recv", msg="RECONFIGURE")
    leases = lab.control("s1", {"cmd": "leases"})["leases"]
    assert len(leases) == 2 and {x["client"] for x in leases} == {
        lab.client_duid("c1"),
        lab.client_duid("c2"),
    }
    everyone = lab.reconfigure("s1")
    assert len(everyone["sent"]) == 2


def test_inherited_timer_assertions_are_exact(basic):
    basic.wait_for("c1", state="BOUND", within=10)
    assert basic.slack() < 1e-5
    assert basic.assert_renewed_at_t1("c1") == pytest.approx(150, abs=2e-6)
    basic.assert_retransmissions(["c1", "c2", "c3"], "SOLICIT", at_least=0)


def test_explain_and_save_artifacts(basic, tmp_path):
    basic.advance(5)
    text = basic.explain("c1")
    assert "c1 (dhcp6-client, process running)" in text and "last states" in text
    d = basic.save_artifacts(tmp_path / "art", note="why")
    assert (d / "trace.jsonl").stat().st_size > 0 and (d / "failure.txt").read_text() == "why"


def test_scenario_and_expectations_of_a_topology():
    lab = SimLab(TOPO / "failover.yaml", seed=1)
    steps = lab.run_scenario()
    assert [s["action"] for s in steps] == ["wait", "wait", "kill", "wait", "wait"]
    lab.check_expectations()


def test_failed_expectations_name_file_and_line():
    topo = load_topology(TOPO / "failover.yaml")
    lab = SimLab(topo, seed=1, scenario=False)  # no kill: nobody rebinds
    with pytest.raises(ExpectationFailed) as e:
        lab.check_expectations(within=20)
    msgs = e.value.failures
    assert any("failover.yaml:" in m and "c1: expected rebound: 1 within 20 s" in m for m in msgs)
    assert all("last states" in m for m in msgs)


def test_scenario_wait_failure_is_an_assertion():
    topo = load_topology(TOPO / "exhaustion.yaml")
    topo.scenario[0]["args"] = {"node": "c2", "state": "REBIND", "within": "3s"}
    lab = SimLab(topo, seed=1)
    with pytest.raises(AssertionError, match=r"exhaustion.yaml:\d+: scenario step wait"):
        lab.run_scenario()


def test_exec_and_ns_are_refused(basic):
    from lab.sim.nodes import SimError

    with pytest.raises(SimError, match="simulated"):
        basic.exec("c1", "ip addr")
    with pytest.raises(SimError, match="namespace"):
        basic.ns("c1")


@pytest.mark.parametrize(
    ("event", "fields"),
    [
        ({"msg": "RELAY-FORW", "inner": {"msg": "SOLICIT"}}, {"msg": "solicit"}),
        ({"msg": "ADVERTISE", "ia": ["na:1 NoAddrsAvail"]}, {"ia": "NoAddrsAvail"}),
        ({"msg": "ADVERTISE", "ia": ["na:1 2001:db8::1"]}, {"ia": "NoAddrsAvail"}),
        ({"attempt": 3}, {"attempt": lambda a: a > 2}),
        ({"from": "RENEW"}, {"from": "RENEW"}),
        ({"hops": 2}, {"hops": 1}),
    ],
)
def test_matching_agrees_with_the_namespace_handle(event, fields):
    assert sim_match(event, fields) == handle_match(event, fields)


# ---------------------------------------------------------------------------- fixtures


@pytest.mark.parametrize("sim_lab", [str(TOPO / "basic.yaml")], indirect=True)
def test_sim_lab_fixture_from_a_parameter(sim_lab, tmp_path):
    assert isinstance(sim_lab, SimLab)
    sim_lab.wait_for("c3", state="BOUND", within=10)
    sim_lab.sim.trace.flush()
    assert (tmp_path / "sim-basic.jsonl").stat().st_size > 0


@pytest.mark.lab("topologies/relay.yaml")
def test_sim_lab_fixture_from_the_lab_marker(sim_lab):
    sim_lab.wait_for("c1", state="BOUND", within=10)
    assert sim_lab.lease("c1").within("2001:db8:20::/64")


def test_sim_lab_factory(sim_lab_factory, tmp_path):
    a = sim_lab_factory("topologies/clients50.yaml", set={"clients": 5}, seed=4)
    b = sim_lab_factory(TOPO / "basic.yaml")
    assert len(a.topology.nodes) == 6 and a.seed == 4 and b.seed == 0
    a.wait_for("c5", state="BOUND", within=10)
    assert (tmp_path / "sim-clients50.jsonl").exists() and (tmp_path / "sim-basic-2.jsonl").exists()
