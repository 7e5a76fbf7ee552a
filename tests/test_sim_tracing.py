"""The simulator's hot paths: the trace writer's fast time text and fields serialized
once, and the arrivals FIFO and far-timer buckets beside the event heap (same order
as the heap alone)."""

from __future__ import annotations

import heapq
import io
import json
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from dhcp6.engine.actions import Trace
from lab.load import load_topology, load_topology_text
from lab.sim.simulator import ARRIVE, TIMER, Simulator
from lab.sim.tracing import SimTrace, time_text

TOPO = Path(__file__).resolve().parent.parent / "topologies"


@given(st.floats(min_value=0.0, max_value=1e12, allow_nan=False, allow_infinity=False))
@example(0.0)
@example(1e-4)
@example(5e-05)
@example(3600.0)
@example(0.0000005)
@example(86399.9999995)
@example(999_999_999.9999999)
@example(1e9)
def test_time_text_is_the_repr_of_the_rounded_time(t: float) -> None:
    assert time_text(t) == repr(round(t, 6)).encode()


def test_a_repeated_trace_writes_and_keeps_what_emit_does() -> None:
    out_a, out_b = io.BytesIO(), io.BytesIO()
    a, b = SimTrace(out_a, keep=True), SimTrace(out_b, keep=True)
    f = Trace("timer", {"action": "fired", "name": "t1"})  # the driver's, given each time
    for t in (0.0, 1.5, 1800.123456789):
        a.now = b.now = t
        a.emit("c1", "timer", {"action": "fired", "name": "t1"})
        b.emit_trace("c1", f)
        a.emit("c1", "state", None)
        b.emit("c1", "state", None)
    a.flush()
    b.flush()
    assert out_a.getvalue() == out_b.getvalue()
    assert a.merged() == b.merged() and a.lines == b.lines == 6
    first = json.loads(out_b.getvalue().splitlines()[0])
    assert first == {"t": 0.0, "node": "c1", "event": "timer", "pt": 0.0,
                     "action": "fired", "name": "t1"}  # fmt: skip


# ---------------------------------------------------------------------------- event order
def _heap_only(self, at, to, pkt, kind=ARRIVE):  # push_arrival before the FIFO, one entry
    for iface in to if kind != ARRIVE else (to,):  # per receiver (before ARRIVE_ALL)
        self._seq += 1
        heapq.heappush(self.queue, (at, self._seq, ARRIVE, iface, pkt))


def _heap_timer(self, node, name, at):  # Simulator.set_timer before the far buckets
    self._seq += 1
    node.timers[name] = self._seq
    heapq.heappush(self.queue, (max(at, self.now), self._seq, TIMER, node, name))


def _delayed_relay() -> str:
    """relay.yaml with a slow core link and a lossy, duplicating access link: datagrams
    then arrive out of the order they were sent in."""
    text = (TOPO / "relay.yaml").read_text()
    text = text.replace("members: [s1:eth0, r1:eth0]",
                        "members: [s1:eth0, r1:eth0]\n    impairment: {delay: 30ms}")
    return text.replace("members: [r1:eth1, relay1:eth0, c1:eth0, c2:eth0]",
                        "members: [r1:eth1, relay1:eth0, c1:eth0, c2:eth0]\n"
                        "    impairment: {delay: 1ms, duplicate: 30, loss: 10}")  # fmt: skip


@pytest.mark.parametrize("name", ["delayed-relay", "lossy.yaml", "relay-chain.yaml",
                                  "restart.yaml", "reconfigure.yaml"])  # fmt: skip
def test_arrivals_fifo_and_far_timers_keep_the_heaps_order(name, monkeypatch):
    def trace_of() -> bytes:
        out = io.BytesIO()
        topo = (load_topology_text(_delayed_relay(), "delayed-relay.yaml") if name == "delayed-relay"
                else load_topology(TOPO / name))  # fmt: skip
        sim = Simulator(topo, seed=3, trace=SimTrace(out))
        sim.run_until(3 * 3600)
        sim.close()
        return out.getvalue()

    with_fifo = trace_of()  # (delayed-relay: 23 of its arrivals take the heap)
    monkeypatch.setattr(Simulator, "push_arrival", _heap_only)
    monkeypatch.setattr(Simulator, "set_timer", _heap_timer)
    assert trace_of() == with_fifo and with_fifo.count(b"\n") > 100


def test_an_arrival_earlier_than_the_fifos_last_goes_to_the_heap():
    sim = Simulator(load_topology(TOPO / "basic.yaml"), seed=1)
    iface = next(iter(sim.nodes["s1"].ifaces.values()))
    for at in (5.0, 7.0, 6.0, 7.0, 1.0):  # 6.0 and 1.0 come after a later one
        sim.push_arrival(at, iface, (b"", None, None, 0, 1, 0))
    assert [e[0] for e in sim.arrivals] == [5.0, 7.0, 7.0] and len(sim.queue) == 2
    taken = [sim._take()[:2] for _ in range(5)]
    assert taken == sorted(taken) and sim._peek() is None


def test_emit_trace_serializes_a_trace_action_once_and_writes_what_emit_does():
    out_a, out_b = io.BytesIO(), io.BytesIO()
    a, b = SimTrace(out_a, keep=True), SimTrace(out_b, keep=True)
    again = Trace("lease", {"action": "renewed", "address": "2001:db8::5", "valid": 3600})
    empty = Trace("state")
    for t in (1.0, 2.5):
        a.now = b.now = t
        for tr in (again, empty, Trace("drop", {"reason": "x"})):
            a.emit("s1", tr.kind, tr.fields)
            b.emit_trace("s1", tr)
    a.flush()
    b.flush()
    assert out_a.getvalue() == out_b.getvalue() and a.merged() == b.merged()
    assert again._json == b'"action":"renewed","address":"2001:db8::5","valid":3600}\n'
    assert empty._json == b"" and again == Trace("lease", dict(again.fields))  # not a field


@pytest.mark.parametrize("name", ["delayed-relay", "restart.yaml", "reconfigure.yaml"])
def test_the_drivers_inline_lines_are_what_emit_trace_writes(name, tmp_path):
    """SimNode.run queues its lines itself (SimTrace.inline, see SimTrace._modes); with events kept it
    goes through emit_trace, and a directory sink takes per-node lines: all the same."""
    def run(trace: SimTrace) -> None:
        topo = (load_topology_text(_delayed_relay(), "delayed-relay.yaml") if name == "delayed-relay"
                else load_topology(TOPO / name))  # fmt: skip
        sim = Simulator(topo, seed=5, trace=trace)
        sim.run_until(2 * 3600)
        sim.close()

    inline, kept = io.BytesIO(), io.BytesIO()
    run(SimTrace(inline))
    run(SimTrace(kept, keep=True))
    run(SimTrace(tmp_path))
    assert inline.getvalue() == kept.getvalue() and inline.getvalue().count(b"\n") > 100
    per_node: dict[str, bytes] = {}
    for line in inline.getvalue().splitlines(keepends=True):
        node = json.loads(line)["node"]
        per_node[node] = per_node.get(node, b"") + line
    assert {p.stem: p.read_bytes() for p in (tmp_path / "traces").glob("*.jsonl")} == per_node


@pytest.mark.parametrize("name", ["delayed-relay", "basic.yaml"])
def test_a_multicast_is_one_entry_yet_one_event_per_receiver(name):
    """push_arrival of an ARRIVE_ALL: a run with a stop test (which takes receivers one at a time, as the
    stepper does) and one without give the same trace and the same event count; step()
    returns one ARRIVE per receiver."""
    def load():
        return (load_topology_text(_delayed_relay(), "delayed-relay.yaml") if name == "delayed-relay"
                else load_topology(TOPO / name))  # fmt: skip

    runs = []
    for stop in (None, lambda: False):
        out = io.BytesIO()
        sim = Simulator(load(), seed=2, trace=SimTrace(out))
        sim.run_until(2 * 3600, stop)
        sim.close()
        runs.append((out.getvalue(), sim.events))
    assert runs[0] == runs[1] and runs[0][1] > 50
    sim = Simulator(load(), seed=2)
    kinds = set()
    while (item := sim.step(until=60.0)) is not None:
        kinds.add(item[2])
    ran = Simulator(load(), seed=2)
    ran.run_until(60.0)
    assert kinds <= {TIMER, ARRIVE, 2, 3} and ARRIVE in kinds and sim.events == ran.events > 10
