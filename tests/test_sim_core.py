"""The simulator (lab/sim/): determinism, the trace it writes, virtual links (multicast,
routing, impairment, partitions), node life (kill/stop/start/restart), the scenario
runner — all without root."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest

from dhcp6.trace import validate
from lab.load import load_topology, load_topology_text
from lab.sim.network import LATENCY, derive_mac, eui64_link_local
from lab.sim.nodes import SimError
from lab.sim.simulator import Simulator
from lab.sim.tracing import SimTrace

ROOT = Path(__file__).resolve().parent.parent
TOPO = ROOT / "topologies"

LAN = """
name: lan
vars: {clients: 2, loss: 0, duplicate: 0, delay: 0, autostart: true}
nodes:
  s1:
    kind: dhcp6-server
    autostart: {{ autostart }}
    config:
      reconfigure: true
      lifetimes: {preferred: 100, valid: 200}
      subnets:
        - prefix: 2001:db8:1::/64
          interface: eth0
          pools: ["2001:db8:1::100-2001:db8:1::1ff"]
{% for i in range(1, clients + 1) %}
  c{{ i }}: {kind: dhcp6-client, reconfigure_accept: true}
{% endfor %}
links:
  - name: lan1
    prefix: 2001:db8:1::/64
    impairment: {loss: {{ loss }}, duplicate: {{ duplicate }}, delay: {{ delay }}}
    members: [s1:eth0{% for i in range(1, clients + 1) %}, c{{ i }}:eth0{% endfor %}]
"""


def lan(**v) -> object:
    return load_topology_text(LAN, "lan.yaml", v)


def run(topo, until: float, seed: object = 1, **kw) -> tuple[Simulator, SimTrace]:
    trace = SimTrace(keep=True)
    sim = Simulator(topo, seed=seed, trace=trace, **kw)
    sim.run_until(until)
    return sim, trace


def of(trace: SimTrace, node: str, kind: str | None = None, **f) -> list[dict]:
    return [e for e in trace.node(node) if (kind is None or e["event"] == kind)
            and all(e.get(k) == v for k, v in f.items())]  # fmt: skip


# ---------------------------------------------------------------------------- determinism


def test_same_seed_same_trace_byte_for_byte(tmp_path):
    paths = []
    for i, seed in enumerate((5, 5, 6)):
        p = tmp_path / f"t{i}.jsonl"
        trace = SimTrace(p)
        sim = Simulator(load_topology(TOPO / "relay.yaml"), seed=seed, trace=trace)
        sim.run_until(7200)
        sim.close()
        paths.append(p.read_bytes())
    assert paths[0] == paths[1] and len(paths[0]) > 10_000
    assert paths[0] != paths[2]


def test_seed_fixes_duids_xids_link_locals_and_keys():
    a, ta = run(lan(), 50, seed="x")
    b, tb = run(lan(), 50, seed="x")
    c, tc = run(lan(), 50, seed="y")
    assert a.nodes["c1"].duid == b.nodes["c1"].duid != c.nodes["c1"].duid
    xids = [e["xid"] for e in of(ta, "c1", "send")]
    assert xids == [e["xid"] for e in of(tb, "c1", "send")]
    assert xids != [e["xid"] for e in of(tc, "c1", "send")]
    assert a.nodes["s1"].engine.keys == b.nodes["s1"].engine.keys  # reconfigure keys
    assert a.nodes["s1"].engine.keys != c.nodes["s1"].engine.keys


def test_duid_ll_and_eui64_link_local_from_the_seeded_mac():
    sim, trace = run(lan(), 5, seed=3)
    c1 = sim.nodes["c1"]
    mac = derive_mac(3, "c1", "eth0")
    assert mac[0] & 0x02 and not mac[0] & 0x01  # locally administered, unicast
    assert c1.duid.encode() == b"\x00\x03\x00\x01" + mac
    ll = eui64_link_local(mac)
    assert c1.ifaces["eth0"].ll == ll and str(ll).startswith("fe80::")
    start = of(trace, "c1", "state")[0]
    assert start["reason"] == f"link-local {ll}; duid {c1.duid.hex()}"
    lls = [i.ll for n in sim.nodes.values() for i in n.ifaces.values()]
    assert len(set(lls)) == len(lls)


def test_a_client_seed_option_draws_like_the_namespace_lab():
    """lab/run/runtime.py gives a client random.Random(its `seed:`): so does the simulator,
    whatever --seed is — the same RAND draws and xids in both backends."""
    topo = load_topology(TOPO / "failover.yaml")  # c1 has seed: 1
    _, ta = run(topo, 3, seed=100)
    _, tb = run(load_topology(TOPO / "failover.yaml"), 3, seed=200)
    sa = [(e["t"], e["xid"]) for e in of(ta, "c1", "send")]
    assert sa == [(e["t"], e["xid"]) for e in of(tb, "c1", "send")] and sa


# ---------------------------------------------------------------------------- the trace


def test_trace_lines_follow_the_schema_with_pt_equal_to_t(tmp_path):
    p = tmp_path / "t.jsonl"
    trace = SimTrace(p)
    sim = Simulator(load_topology(TOPO / "relay.yaml"), seed=1, trace=trace)
    sim.run_until(600)
    sim.close()
    lines = p.read_text().splitlines()
    kinds = set()
    last = 0.0
    for line in lines:
        e = json.loads(line)
        validate(e)
        assert list(e)[:4] == ["t", "node", "event", "pt"] and e["pt"] == e["t"]
        assert e["t"] >= last
        last = e["t"]
        kinds.add(e["event"])
    assert {"state", "send", "recv", "lease", "timer", "address"} <= kinds
    assert len(lines) == trace.lines


def test_trace_events_have_the_host_driver_shapes():
    """What dhcp6.io.host.EngineHost writes: timer fired/cancelled, address added/removed,
    state from/to/seed/reason, the daemons' start lines."""
    _sim, trace = run(lan(clients=1), 250)
    c1 = trace.node("c1")
    fired = next(e for e in c1 if e["event"] == "timer" and e["action"] == "fired")
    assert list(fired)[4:] == ["action", "name"] and fired["name"] == "tx"
    cancelled = of(trace, "c1", "timer", action="cancelled")
    assert cancelled and set(cancelled[0]) == {"t", "node", "event", "pt", "action", "name"}
    added = of(trace, "c1", "address", action="added")[0]
    assert set(added) == {
        "t",
        "node",
        "event",
        "pt",
        "action",
        "address",
        "iface",
        "preferred",
        "valid",
    }
    st = of(trace, "c1", "state")[2]
    assert list(st)[4:8] == ["from", "to", "seed", "reason"]
    s1 = of(trace, "s1", "state")[0]
    assert s1["to"] == "LISTEN" and s1["reason"].startswith(
        "serving eth0; 0 leases restored; duid "
    )
    assert not of(trace, "s1", "timer", name="reclaim")  # quiet timer, as in EngineHost


def test_protocol_days_take_seconds():
    t0 = time.perf_counter()
    trace = SimTrace()  # written nowhere, kept nowhere
    sim = Simulator(load_topology(TOPO / "basic.yaml"), seed=1, trace=trace)
    sim.run_until(2 * 86400)
    wall = time.perf_counter() - t0
    assert sim.nodes["c1"].renewals == 2 * 86400 // 150 - 1
    assert wall < 20, wall


# ---------------------------------------------------------------------------- peers


def test_real_peers_are_refused_in_one_line_naming_the_node():
    with pytest.raises(SimError) as e:
        Simulator(load_topology(TOPO / "demo.yaml"))
    text = str(e.value)
    assert "\n" not in text and "kea1" in text and "kea" in text and "lab up" in text


# ---------------------------------------------------------------------------- links


def test_multicast_reaches_servers_and_relays_of_the_link_only():
    sim, trace = run(load_topology(TOPO / "relay.yaml"), 3)
    # c1's Solicit on access: relay1 hears it, r1 (a router) and c2 do not, s1 is elsewhere
    assert of(trace, "relay1", "recv", msg="SOLICIT")
    assert not of(trace, "c2", "recv", msg="SOLICIT")
    assert not [e for e in of(trace, "s1", "recv") if e["msg"] == "SOLICIT"]
    fwd = of(trace, "s1", "recv", msg="RELAY-FORW")[0]
    assert fwd["peer"] == "2001:db8:20::2"  # the relay's address, routed through r1
    assert sim.net.stats["forwarded"] > 0 and sim.net.stats["unroutable"] == 0


def test_the_lan_delivers_in_order_with_the_fixed_latency():
    _, trace = run(lan(clients=1), 3)
    sol = of(trace, "c1", "send", msg="SOLICIT")[0]
    got = of(trace, "s1", "recv", msg="SOLICIT")[0]
    adv = of(trace, "c1", "recv", msg="ADVERTISE")[0]
    assert got["t"] == round(sol["t"] + LATENCY, 6) and adv["t"] == round(sol["t"] + 2 * LATENCY, 6)


def test_delay_impairment_adds_to_each_hop():
    _, trace = run(lan(clients=1, delay="250ms"), 5)
    sol = of(trace, "c1", "send", msg="SOLICIT")[0]
    adv = of(trace, "c1", "recv", msg="ADVERTISE")[0]
    assert adv["t"] == round(sol["t"] + 2 * (0.25 + LATENCY), 6)


def test_total_loss_nobody_binds_duplication_doubles():
    sim, trace = run(lan(clients=1, loss=100), 30)
    assert sim.nodes["c1"].engine.state == "SOLICIT" and not of(trace, "s1", "recv")
    assert sim.net.stats["lost"] == sim.net.stats["sent"]
    sim, trace = run(lan(clients=1, duplicate=100), 3)
    sols = of(trace, "s1", "recv", msg="SOLICIT")
    assert len(sols) == 2 and sols[0]["xid"] == sols[1]["xid"]


def test_partial_loss_is_seeded_and_clients_get_through():
    a, ta = run(lan(clients=6, loss=30), 600, seed=4)
    b, tb = run(lan(clients=6, loss=30), 600, seed=4)
    assert a.net.stats == b.net.stats and a.net.stats["lost"] > 0
    assert ta.lines == tb.lines
    assert sum(c.bound for c in a.clients()) >= 6
    assert any(e.get("attempt", 1) > 1 for c in a.clients() for e in of(ta, c.name, "send"))


def test_partition_then_heal_the_client_confirms():
    sim, trace = run(lan(clients=1), 5)
    sim.set_link("lan1", False)
    sim.run_until(30)
    sim.set_link("lan1", True)  # the client heard both (link_changed): it Confirms
    sim.run_until(35)
    states = [e["to"] for e in of(trace, "c1", "state")]
    assert states[-2:] == ["CONFIRM", "BOUND"] and of(trace, "s1", "recv", msg="CONFIRM")
    sim.set_link("lan1", False)
    sim.run_until(100)  # T1 passes (the engine counts it from the Confirm): no Renew goes out
    errors = of(trace, "c1", "error")
    assert errors and "Network is down" in errors[0]["message"] and "RENEW" in errors[0]["message"]
    assert not of(trace, "s1", "recv", msg="RENEW")


def test_one_interface_down_partitions_only_that_node():
    sim, trace = run(lan(clients=2), 5)
    sim.set_link("c2:eth0", False)
    sim.run_until(400)  # past valid (200): c2's lease expires, c1 renews on
    assert sim.nodes["c1"].engine.state == "BOUND" and sim.nodes["c1"].renewals >= 3
    assert of(trace, "c2", "lease", action="expired")
    assert sim.nodes["c2"].engine.state == "SOLICIT"


def test_netem_scenario_step_changes_the_link_over_time():
    topo = lan(clients=1)
    topo.scenario = [{"at": 50.0, "action": "netem", "args": {"link": "lan1", "loss": 100},
                      "line": 1}]  # fmt: skip
    sim, trace = run(topo, 400)
    assert sim.nodes["c1"].engine.state == "SOLICIT"  # renew, rebind lost; lease expired
    assert of(trace, "c1", "lease", action="expired")
    sim.netem("lan1")
    sim.run_until(800)
    assert sim.nodes["c1"].engine.state == "BOUND"


# ---------------------------------------------------------------------------- node life


def test_stop_releases_kill_does_not():
    sim, trace = run(lan(clients=2), 5)
    sim.stop_node("c1")
    sim.kill_node("c2")
    sim.run_until(10)
    assert of(trace, "c1", "send", msg="RELEASE") and of(trace, "s1", "lease", action="released")
    assert not of(trace, "c2", "send", msg="RELEASE")
    assert sim.nodes["c1"].status == sim.nodes["c2"].status == "stopped"
    assert [e["to"] for e in of(trace, "c1", "state")][-1] == "STOPPED"
    assert len(sim.nodes["s1"].engine.table) == 1  # c2's binding stays


def test_stop_without_a_server_gives_up_after_two_seconds():
    sim, trace = run(lan(clients=1), 5)
    sim.kill_node("s1")
    sim.stop_node("c1")
    sim.run_until(6.0)
    assert sim.nodes["c1"].status == "stopping"
    sim.run_until(7.1)
    assert sim.nodes["c1"].status == "stopped"
    assert of(trace, "c1", "error")[-1]["message"] == "no Reply to Release within 2.0 s; exiting"
    assert of(trace, "s1", "state")[-1]["to"] == "STOPPED"


def test_restart_client_keeps_its_duid_and_server_restart_keeps_bindings():
    sim, trace = run(lan(clients=1), 5)
    duid = sim.nodes["c1"].duid
    sim.restart_node("c1")
    sim.run_until(10)
    starts = [e for e in of(trace, "c1", "state") if e["to"] == "INIT"]
    assert len(starts) == 2 and duid.hex() in starts[1]["reason"]
    assert [e["to"] for e in of(trace, "c1", "state")][-1] == "BOUND"
    sim.restart_node("s1")
    listen = of(trace, "s1", "state", to="LISTEN")
    assert "1 leases restored" in listen[-1]["reason"]
    assert sim.nodes["s1"].engine.keys  # reconfigure keys kept with the leases
    # the engine sends Reconfigure only to clients seen since it started (where they are
    # is not kept with the leases): c1 is seen again at its Renew
    assert sim.reconfigure("s1", "c1")["skipped"] == {
        duid.hex(): "client not seen since the server started"
    }
    sim.run_until(80)
    r = sim.reconfigure("s1", "c1")
    assert r["sent"] == [duid.hex()]
    sim.run_until(82)
    assert of(trace, "c1", "state", to="RENEW", reason="Reconfigure (renew)")


def test_reconfigure_everyone_is_reconfigure_init():
    sim, trace = run(lan(clients=3), 5)
    r = sim.reconfigure("s1")
    assert len(r["sent"]) == 3
    assert of(trace, "s1", "state", seed="Reconfigure Init")
    sim.run_until(8)
    assert all(c.renewals == 1 for c in sim.clients())


def test_a_killed_server_means_rebind_then_expiry_at_the_valid_lifetime():
    sim, trace = run(lan(clients=1), 2)
    bound = of(trace, "c1", "lease", action="bound")[0]
    sim.kill_node("s1")
    sim.run_until(300)
    states = [e["to"] for e in of(trace, "c1", "state")]
    assert states[-4:] == ["BOUND", "RENEW", "REBIND", "SOLICIT"]
    expired = of(trace, "c1", "lease", action="expired")[0]
    assert expired["t"] == round(bound["t"] + 200, 6)
    assert sim.nodes["c1"].expiries == 1


def test_autostart_false_and_a_start_step():
    topo = lan(clients=1, autostart=False)
    topo.scenario = [{"at": 30.0, "action": "start", "args": "s1", "line": 3}]
    sim, trace = run(topo, 40)
    assert of(trace, "s1", "state")[0]["t"] == 30.0
    assert sim.nodes["c1"].engine.state == "BOUND"


# ---------------------------------------------------------------------------- scenario


def test_steps_run_in_order_and_a_wait_holds_the_next_back():
    topo = lan(clients=1, autostart=False)
    topo.scenario = [
        {"at": 10.0, "action": "start", "args": "s1", "line": 1},
        {"at": 10.0, "action": "wait", "args": {"node": "c1", "state": "BOUND", "within": 60},
         "line": 2},
        {"at": 11.0, "action": "kill", "args": "s1", "line": 3},
    ]  # fmt: skip
    sim, trace = run(topo, 100)
    bound = of(trace, "c1", "state", to="BOUND")[0]["t"]
    killed = of(trace, "s1", "state", to="STOPPED")[0]["t"]
    assert bound > 11.0 and killed == bound  # the kill waited for c1 to be bound
    assert sim.scenario_complete and not sim.failures


def test_a_wait_not_met_ends_the_scenario_with_its_line():
    topo = lan(clients=1, autostart=False)
    topo.scenario = [
        {"at": 0.0, "action": "wait", "args": {"node": "c1", "state": "BOUND", "within": "5s"},
         "line": 7},
        {"at": 1.0, "action": "start", "args": "s1", "line": 8},
    ]  # fmt: skip
    sim, trace = run(topo, 30)
    assert (
        sim.failures and "lan.yaml:7" in sim.failures[0] and "not met within 5 s" in sim.failures[0]
    )
    assert not of(trace, "s1")  # the scenario stopped there
    assert sim.scenario_completed_at == 5.0


def test_a_wait_counts_an_event_from_before():
    topo = lan(clients=1)
    topo.scenario = [{"at": 50.0, "action": "wait", "args": {"node": "c1", "event": "lease",
                      "action": "bound"}, "line": 1}]  # fmt: skip
    sim, _ = run(topo, 60)
    assert sim.scenario_completed_at == 50.0 and not sim.failures


def test_wait_duration_makes_the_scenario_last():
    topo = load_topology(TOPO / "relay.yaml")  # ... {at: 20s, wait: 5s}
    sim = Simulator(topo, seed=1)
    assert sim.scenario_end() == 25.0
    sim.run_until(1000, stop=lambda: sim.scenario_complete)
    assert sim.now == 25.0


def test_a_bad_step_is_a_failure_not_a_crash():
    topo = lan(clients=1)
    topo.scenario = [{"at": 1.0, "action": "reconfigure", "args": {"server": "s1", "client": "c9"},
                      "line": 4}]  # fmt: skip
    sim, _ = run(topo, 5)
    assert "lan.yaml:4" in sim.failures[0] and "c9" in sim.failures[0]


# ---------------------------------------------------------------------------- output


def test_per_node_trace_directory_like_a_run_dir(tmp_path):
    d = tmp_path / "run"
    d.mkdir()
    trace = SimTrace(d, meta={"seed": 1})
    sim = Simulator(load_topology(TOPO / "basic.yaml"), seed=1, trace=trace)
    sim.run_until(200)
    sim.close()
    files = sorted(p.name for p in (d / "traces").iterdir())
    assert files == ["c1.jsonl", "c2.jsonl", "c3.jsonl", "s1.jsonl"]
    from dhcp6.trace import merge

    merged = list(merge(sorted((d / "traces").glob("*.jsonl"))))
    assert len(merged) == trace.lines and json.loads((d / "runtime.json").read_text())["simulated"]


def test_a_stream_sink():
    buf = io.StringIO()
    trace = SimTrace(buf)
    sim = Simulator(lan(clients=1), seed=1, trace=trace)
    sim.run_until(3)
    trace.flush()
    assert buf.getvalue().count("\n") == trace.lines > 5


# ---------------------------------------------------------------------------- costs


def test_a_datagram_is_decoded_once_however_many_receive_it(monkeypatch):
    """Two servers on the LAN: each multicast reaches both, one decode serves them."""
    import lab.sim.network as network

    two = load_topology_text(LAN.replace("  c{{ i }}:", "  s2:\n    kind: dhcp6-server\n"
                             "    config: {subnets: [{prefix: '2001:db8:1::/64', interface: eth0,"
                             " pools: ['2001:db8:1::200-2001:db8:1::2ff']}]}\n  c{{ i }}:", 1)
                             .replace("members: [s1:eth0", "members: [s1:eth0, s2:eth0"),
                             "two.yaml", {"clients": 1})  # fmt: skip
    decoded = []
    real = network.decode
    monkeypatch.setattr(
        network, "decode", lambda data, **kw: decoded.append(data) or real(data, **kw)
    )
    sim, trace = run(two, 3.0)
    assert of(trace, "c1", "state", to="BOUND")
    solicits = [d for d in decoded if d[0] == 1]
    assert len(solicits) == len(of(trace, "c1", "send", msg="SOLICIT"))  # once, not per server
    assert of(trace, "s1", "recv", msg="SOLICIT") and of(trace, "s2", "recv", msg="SOLICIT")
    assert len(decoded) == sim.net.stats["sent"]


def test_running_events_leaves_the_garbage_collector_as_it_was():
    import gc

    before = gc.get_threshold()
    sim, _ = run(lan(), 5.0)
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
    during: list[bool] = []
    sim.call_at(5.5, lambda: during.append(gc.isenabled()))
    sim.call_at(6.0, lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        sim.run_until(7.0)
    assert during == [False]  # no automatic collection while events run
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
    assert gc.isenabled()
    gc.disable()  # and a collector the caller turned off stays off
    try:
        sim.run_until(8.0)
        assert not gc.isenabled()
    finally:
        gc.enable()
