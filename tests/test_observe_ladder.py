"""Ladders from the trace: golden text and Mermaid for a fixed trace (a relay, our
server and an observed Kea, our client and an observed dhclient), how sends and
receives are paired, the SVG, and `lab trace NAME --ladder`.

The golden files are regenerated with DHCP6_UPDATE_GOLDEN=1 (then read the diff)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from lab.observe.ladder import UNKNOWN, Arrow, build_ladder, focus, to_mermaid, to_svg, to_text
from lab.observe.rundata import infer_roles, load_run, read_events, trace_files

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "observe"
RUN = DATA / "relay_run"


def events() -> list[dict]:
    return read_events(trace_files(RUN))


def golden(name: str, text: str) -> None:
    path = DATA / name
    if os.environ.get("DHCP6_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} missing: run with DHCP6_UPDATE_GOLDEN=1 once"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from the golden file"


def test_golden_text():
    golden("relay_run.ladder.txt", to_text(build_ladder(events())))


def test_golden_mermaid():
    golden("relay_run.ladder.mmd", to_mermaid(build_ladder(events())))


def test_golden_text_one_client():
    golden("relay_run.c1.txt", to_text(build_ladder(events(), node="c1")))


def test_lanes_clients_then_relays_then_servers():
    lad = build_ladder(events())
    assert [(lane.name, lane.role) for lane in lad.lanes] == [
        ("c1", "client"), ("dh1", "client"), ("relay1", "relay"), ("kea1", "server"),
        ("s1", "server"), (UNKNOWN, "unknown"),
    ]  # fmt: skip


def test_roles_from_the_trace_match_the_topology_kinds():
    run = load_run(RUN)
    assert infer_roles(run.events) == {n: r for n, r in run.roles.items() if n != "r1"}


def test_every_receive_is_one_arrow_except_overheard_ones():
    evs = events()
    lad = build_ladder(evs)
    recvs = [e for e in evs if e["event"] == "recv"]
    overheard = [e for e in recvs if e["node"] == "dh1" and e["xid"] in ("a1a1a1", "b2b2b2")]
    assert len(overheard) == 2
    received = [a for a in lad.arrows if not a.lost]
    assert len(received) == len(recvs) - len(overheard)
    assert not [a for a in lad.arrows if a.dst == "dh1" and a.xid in ("a1a1a1", "b2b2b2")]


def test_relay_legs_use_the_wire_form():
    lad = build_ladder(events())
    up = [a for a in lad.arrows if a.xid == "b2b2b2"]
    assert [(a.src, a.dst, a.msg, a.inner) for a in up] == [
        ("c1", "relay1", "REQUEST", None),
        ("relay1", "s1", "RELAY-FORW", "REQUEST"),
        ("relay1", "kea1", "RELAY-FORW", "REQUEST"),
        ("s1", "relay1", "RELAY-REPL", "REPLY"),  # s1 traces the Reply it wraps
        ("relay1", "c1", "REPLY", None),
    ]
    assert up[3].label == "RELAY-REPL(REPLY b2b2b2)"
    assert up[3].detail == "na:1 2001:db8:2::100, pd:1 2001:db8:8000::/56"


def test_advertises_are_paired_by_their_content():
    lad = build_ladder(events())
    adv = [a for a in lad.arrows if a.xid == "a1a1a1" and (a.inner or a.msg) == "ADVERTISE"]
    by_leg = {(a.src, a.dst, a.ia[0]) for a in adv}
    assert by_leg == {
        ("kea1", "relay1", "na:1 2001:db8:2::300"), ("s1", "relay1", "na:1 2001:db8:2::100"),
        ("relay1", "c1", "na:1 2001:db8:2::300"), ("relay1", "c1", "na:1 2001:db8:2::100"),
    }  # fmt: skip


def test_lost_retransmission_and_unknown_sender():
    lad = build_ladder(events())
    renew = [a for a in lad.arrows if a.xid == "c3c3c3" and a.msg == "RENEW"]
    assert [(a.lost, a.dst) for a in renew] == [(True, None), (False, "relay1")]
    assert renew[0].t == pytest.approx(21.3072) and renew[1].t == pytest.approx(23.308)
    stranger = next(a for a in lad.arrows if a.xid == "e5e5e5")
    assert (stranger.src, stranger.dst) == (UNKNOWN, "s1")
    assert "sender not in the trace" in stranger.detail


def test_drop_is_tied_to_the_exchange_it_ends():
    lad = build_ladder(events())
    drops = [n for n in lad.notes if n.kind == "drop"]
    assert [(n.node, n.xid) for n in drops] == [("s1", "f6f6f6"), ("s1", "e5e5e5")]
    only_dh1 = focus(lad, "dh1")
    assert any(n.kind == "drop" and n.xid == "f6f6f6" for n in only_dh1.notes)
    assert [lane.name for lane in only_dh1.lanes] == ["dh1", "relay1", "kea1", "s1"]
    assert all(n.node == "dh1" or n.kind == "drop" for n in only_dh1.notes)


def test_interleaving_of_the_node_traces_does_not_matter():
    evs = events()
    per_node: dict[str, list[dict]] = {}
    for e in evs:
        per_node.setdefault(e["node"], []).append(e)
    nodes = list(per_node)
    random.Random(7).shuffle(nodes)
    shuffled = [e for n in nodes for e in per_node[n]]  # each node's trace in its own order
    assert to_text(build_ladder(shuffled)) == to_text(build_ladder(evs))


def _ev(t, node, event, **kw):
    return {"t": t, "node": node, "event": event, **kw}


def test_multicast_reaches_two_servers_and_unicast_is_received_once():
    evs = [
        _ev(0.0, "s1", "state", to="LISTEN", seed="Listen"),
        _ev(0.0, "s2", "state", to="LISTEN", seed="Listen"),
        _ev(1.0, "c1", "send", msg="SOLICIT", xid="000001", to="ff02::1:2"),
        _ev(1.01, "s1", "recv", msg="SOLICIT", xid="000001", peer="fe80::1"),
        _ev(1.02, "s2", "recv", msg="SOLICIT", xid="000001", peer="fe80::1"),
        _ev(1.03, "s1", "send", msg="ADVERTISE", xid="000001", peer="fe80::1"),
        _ev(1.04, "s2", "send", msg="ADVERTISE", xid="000001", peer="fe80::1"),
        _ev(1.05, "c1", "recv", msg="ADVERTISE", xid="000001", peer="fe80::a"),
        _ev(1.06, "c1", "recv", msg="ADVERTISE", xid="000001", peer="fe80::b"),
    ]
    lad = build_ladder(evs)
    legs = [(a.src, a.dst) for a in lad.arrows]
    assert legs == [("c1", "s1"), ("c1", "s2"), ("s1", "c1"), ("s2", "c1")]
    assert not any(a.lost for a in lad.arrows)


def test_a_retransmission_is_paired_with_the_latest_send():
    evs = [
        _ev(1.0, "c1", "send", msg="SOLICIT", xid="000002", to="ff02::1:2", attempt=1),
        _ev(2.0, "c1", "send", msg="SOLICIT", xid="000002", to="ff02::1:2", attempt=2),
        _ev(2.001, "s1", "recv", msg="SOLICIT", xid="000002", peer="fe80::1"),
    ]
    lad = build_ladder(evs)
    assert [(a.t, a.lost) for a in lad.arrows] == [(1.0, True), (2.0, False)]


def test_mermaid_escapes_and_participants():
    evs = [_ev(0.5, "c-1", "state", **{"from": "INIT"}, to="SOLICIT", seed="Solicit",
               reason="a; b #1 <x>")]  # fmt: skip
    text = to_mermaid(build_ladder(evs))
    assert "participant n_c_1 as c-1 (other)" in text
    assert "a#59; b #35;1 #lt;x#gt;" in text
    full = to_mermaid(build_ladder(events()))
    assert full.startswith("sequenceDiagram\n")
    assert (
        "    s1->>relay1: RELAY-REPL(REPLY b2b2b2) · na:1 2001:db8:2::100, pd:1 2001:db8:8000::/56"
        in full
    )
    assert "    Note right of c1: ✗ RENEW c3c3c3" in full


def test_svg_is_well_formed_with_an_arrow_per_message():
    lad = build_ladder(events())
    svg = to_svg(lad, ident="t 1", title="relay run")
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg"
    arrows = root.findall(f".//{ns}g[@class='arrow']")
    assert len(arrows) == len(lad.arrows)
    markers = {m.get("id") for m in root.iter(f"{ns}marker")}
    assert markers and all(m.startswith("t_1-head-") for m in markers)
    texts = "".join(t.text or "" for t in root.iter(f"{ns}text"))
    for lane in ("c1", "dh1", "relay1", "kea1", "s1"):
        assert lane in texts
    assert "RELAY-FORW(SOLICIT a1a1a1)" in texts


def test_empty_trace():
    lad = build_ladder([])
    assert lad.lanes == [] and lad.rows == []
    assert to_text(lad) == "(no messages in the trace)\n"
    ET.fromstring(to_svg(lad))


def test_arrow_labels():
    a = Arrow(t=1, src="c1", dst="s1", msg="SOLICIT", xid="abcdef", ia=("na:1",), rapid_commit=True)
    assert (a.label, a.detail, a.direction) == ("SOLICIT abcdef", "na:1 · rapid commit", "up")
    r = Arrow(
        t=1, src="r", dst="s1", msg="RELAY-REPL", inner="REPLY", xid="abcdef", status="NoBinding"
    )
    assert (r.label, r.detail, r.direction) == ("RELAY-REPL(REPLY abcdef)", "NoBinding", "down")


# ---------------------------------------------------------------------------- CLI


def lab(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lab.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)  # fmt: skip


def test_cli_trace_ladder_text_and_node():
    r = lab("trace", "relay_run", "--run-root", str(DATA), "--ladder")
    assert r.returncode == 0, r.stderr
    assert r.stdout == (DATA / "relay_run.ladder.txt").read_text(encoding="utf-8")
    r = lab("trace", "relay_run", "--run-root", str(DATA), "--ladder", "--node", "c1")
    assert r.returncode == 0 and r.stdout == (DATA / "relay_run.c1.txt").read_text(encoding="utf-8")


def test_cli_trace_ladder_formats(tmp_path):
    r = lab("trace", "relay_run", "--run-root", str(DATA), "--ladder", "--format", "mermaid")
    assert r.returncode == 0 and r.stdout == (DATA / "relay_run.ladder.mmd").read_text(
        encoding="utf-8"
    )
    out = tmp_path / "l.svg"
    r = lab("trace", "relay_run", "--run-root", str(DATA), "--ladder", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert "31 messages" in r.stdout
    ET.fromstring(out.read_text(encoding="utf-8"))
    r = lab("trace", "relay_run", "--run-root", str(DATA), "--ladder", "--node", "nope")
    assert r.returncode == 1 and "no node nope" in r.stderr


def test_cli_trace_without_ladder_is_unchanged():
    r = lab("trace", "relay_run", "--run-root", str(DATA), "--node", "c1")
    assert r.returncode == 0
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert lines and {e["node"] for e in lines} == {"c1"}
