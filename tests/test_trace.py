"""The trace schema (DESIGN.md, 'Trace events'): writer, validation, reading, merging."""

from __future__ import annotations

import io
import json

import pytest

from dhcp6.trace import KINDS, SCHEMA, TraceError, Tracer, merge, read, validate


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_kinds_are_the_designed_ones():
    assert set(KINDS) == {"state", "send", "recv", "drop", "lease", "timer", "address", "error"}
    assert SCHEMA["properties"]["event"]["enum"] == sorted(KINDS)


def test_writer_stamps_t_since_epoch_node_and_pt(tmp_path):
    clock = Clock(1000.0)
    path = tmp_path / "sub" / "c1.jsonl"
    with Tracer(path, "c1", epoch=999.5, time_scale=10, clock=clock, check=True) as tr:
        tr.emit("send", {"msg": "SOLICIT", "xid": "5f03a1", "ia": ["na:1"]}, pt=5.0)
        clock.t = 1001.25
        tr.emit("state", **{"from": "SOLICIT", "to": "REQUEST", "seed": "Request"})
    events = list(read(path))
    assert events[0] == {
        "t": 0.5,
        "node": "c1",
        "event": "send",
        "pt": 5.0,
        "msg": "SOLICIT",
        "xid": "5f03a1",
        "ia": ["na:1"],
    }
    assert events[1]["t"] == 1.75 and events[1]["to"] == "REQUEST"
    for e in events:
        validate(e)


def test_no_pt_without_a_time_scale():
    out = io.StringIO()
    Tracer(out, "s1", epoch=0, clock=Clock(2.0)).emit("drop", reason="x", pt=3.0)
    assert "pt" not in json.loads(out.getvalue())


@pytest.mark.parametrize(
    "event",
    [
        {"node": "c1", "event": "send", "msg": "SOLICIT"},  # no t
        {"t": 1, "node": "c1", "event": "bogus"},
        {"t": 1, "node": "c1", "event": "send"},  # no msg
        {"t": 1, "node": "c1", "event": "lease", "action": "stolen"},
        {"t": 1, "node": "c1", "event": "timer", "action": "set"},  # no name
        {"t": 1, "node": "c1", "event": "state", "seed": "Request"},  # neither to nor msg
        {"t": True, "node": "c1", "event": "error", "message": "x"},
    ],
)
def test_invalid_events_are_refused(event):
    with pytest.raises(TraceError):
        validate(event)


def test_valid_examples_from_the_design():
    for e in [
        {
            "t": 0.412,
            "node": "c1",
            "event": "send",
            "msg": "SOLICIT",
            "xid": "5f03a1",
            "to": "ff02::1:2",
            "iface": "eth0",
            "ia": ["na:1"],
        },
        {
            "t": 0.413,
            "node": "s1",
            "event": "state",
            "seed": "Advertise",
            "msg": "SOLICIT",
            "client": "00030001",
        },
        {
            "t": 1.534,
            "node": "c1",
            "event": "lease",
            "action": "bound",
            "address": "2001:db8:1::1a4",
            "preferred": 30,
            "valid": 60,
            "t1": 15,
            "t2": 24,
            "server": "s1",
        },
        {
            "t": 2.101,
            "node": "s1",
            "event": "drop",
            "msg": "REQUEST",
            "reason": "Server-ID does not match ours",
        },
    ]:
        validate(e)


def test_merge_orders_by_t_and_read_names_bad_lines(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text(
        '{"t":0.1,"node":"a","event":"error","message":"x"}\n'
        '{"t":0.5,"node":"a","event":"error","message":"y"}\n'
    )
    b.write_text('{"t":0.2,"node":"b","event":"error","message":"z"}\n\n')
    assert [e["t"] for e in merge([a, b])] == [0.1, 0.2, 0.5]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"t":0.1,"node":"a","event":"error","message":"x"}\nnot json\n')
    with pytest.raises(TraceError, match=r"bad\.jsonl:2"):
        list(read(bad))


def test_listeners_see_every_event():
    seen = []
    tr = Tracer(None, "r1", epoch=0, clock=Clock(1.0))
    tr.listeners.append(seen.append)
    tr.emit("recv", msg="RELAY-FORW")
    assert seen == [{"t": 1.0, "node": "r1", "event": "recv", "msg": "RELAY-FORW"}]


def test_batch_writes_its_lines_once_at_the_end(tmp_path):
    writes = []

    class Sink(io.StringIO):
        def write(self, text: str) -> int:
            writes.append(text)
            return super().write(text)

    out = Sink()
    seen = []
    tr = Tracer(out, "s1", epoch=0, clock=Clock(1.0))
    tr.listeners.append(seen.append)
    tr.emit("error", message="before")
    with tr.batch():
        tr.emit("recv", msg="SOLICIT")
        with tr.batch():  # nested: still one write, at the outermost end
            tr.emit("send", msg="ADVERTISE")
        assert len(writes) == 1 and len(seen) == 3  # listeners are not held back
    assert len(writes) == 2
    assert [json.loads(x)["event"] for x in out.getvalue().splitlines()] == [
        "error",
        "recv",
        "send",
    ]
    assert out.getvalue().endswith("}\n")
    with tr.batch():
        pass  # nothing emitted: nothing written
    assert len(writes) == 2


def test_batch_lines_survive_an_exception_and_close(tmp_path):
    path = tmp_path / "t.jsonl"
    tr = Tracer(path, "s1", epoch=0, clock=Clock(1.0))
    with pytest.raises(RuntimeError), tr.batch():
        tr.emit("recv", msg="SOLICIT")
        raise RuntimeError("boom")
    assert [e["msg"] for e in read(path)] == ["SOLICIT"]
    with tr.batch():
        tr.emit("recv", msg="REQUEST")
        tr.close()  # closing inside a batch writes what was held
    assert [e["msg"] for e in read(path)] == ["SOLICIT", "REQUEST"]
