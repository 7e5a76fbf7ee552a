"""`lab report`: one self-contained HTML page from a folder of traces (what a failed
test leaves) or a lab's run directory — its content, without a browser (the browser
test is tests/test_report_browser.py)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

from lab.observe.report import build_context, name_maps
from lab.observe.rundata import load_run
from lab.observe.timeline import client_timelines

from .test_observe_captures import synthetic_run

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "tests" / "data" / "observe" / "relay_run"


def lab(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lab.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)  # fmt: skip


class Tables(HTMLParser):
    """Rows of every table by its class; the tags seen."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.tags: dict[str, int] = {}
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        a = dict(attrs)
        if tag == "table":
            self._table = a.get("class", "")
            self.tables.setdefault(self._table, [])
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def parse(html: str) -> Tables:
    p = Tables()
    p.feed(html)
    return p


def self_contained(html: str) -> None:
    assert "<script" not in html and "<link" not in html and "<iframe" not in html
    assert not re.search(r"""\ssrc\s*=""", html)
    for url in re.findall(r"""https?://[^\s"'<>)]+""", html):
        assert url.startswith("http://www.w3.org/"), url  # SVG/XLink namespaces only


def test_report_from_a_folder(tmp_path):
    out = tmp_path / "r" / "report.html"
    r = lab("report", "--from", str(RUN), "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"{out}: report of lab relaydemo (101 events, 6 nodes)")
    html = out.read_text(encoding="utf-8")
    self_contained(html)
    p = parse(html)
    assert p.tags["svg"] >= 5  # topology, timeline, all exchanges, c1's, dh1's
    nodes = {row[0]: row for row in p.tables["nodes"][1:]}
    assert nodes["c1"][2] == "BOUND" and nodes["c1"][3] == "IPv6 Address Timer"
    assert nodes["dh1"][2] == "BOUND" and nodes["kea1"][1] == "kea"
    leases = [(row[0], row[2], row[3], row[4]) for row in p.tables["leases"][1:]]
    assert leases == [("c1", "2001:db8:2::100", "s1", "renewed"),
                      ("c1", "2001:db8:8000::/56", "s1", "renewed"),
                      ("dh1", "2001:db8:2::301", "kea1", "bound")]  # fmt: skip
    assert [row[:3] for row in p.tables["bindings"][1:]] == [
        ["s1", "2001:db8:2::100", "c1"], ["s1", "2001:db8:8000::/56", "c1"]]  # fmt: skip
    drops = p.tables["drops"][1:]
    assert [(d[1], d[3], d[4]) for d in drops] == [
        ("s1", "Server-ID does not match ours", "RELAY-FORW(REQUEST) f6f6f6"),
        ("s1", "unicast from a client (RFC 9915 §16)", "REQUEST e5e5e5"),
    ]
    assert drops[1][5] == "2001:db8:1::99"
    assert "lease store: commit took 2.1 s" in p.tables["errors"][1][2]
    assert "sequenceDiagram" in html and "RELAY-FORW(SOLICIT a1a1a1)" in html
    assert "No captures in this run" in html


def test_timelines_mark_t1_t2_and_expiry():
    run = load_run(RUN)
    tl = {t.node: t for t in client_timelines(run.events, ["c1", "dh1"], 1.0, run.t_end)}
    c1 = tl["c1"]
    assert [s.state for s in c1.segments] == [
        "INIT",
        "SOLICIT",
        "REQUEST",
        "BOUND",
        "RENEW",
        "BOUND",
    ]
    marks = [(m.kind, round(m.t, 2)) for m in c1.markers if m.kind in ("T1", "T2", "expiry")]
    assert marks == [("T1", 21.31)]  # T2 and expiry of the first Reply were replaced by the Renew
    assert [(m.kind, round(m.t, 2)) for m in c1.upcoming] == [
        ("T1", 43.31),
        ("T2", 55.31),
        ("expiry", 83.31),
    ]
    assert [m.kind for m in tl["dh1"].upcoming] == ["T1", "T2", "expiry"]


def test_server_and_client_names_from_the_trace():
    run = load_run(RUN)
    servers, clients = name_maps(run.events, run.roles)
    assert servers == {"00010001000000010a0000000001": "s1", "000100010000000202000000000a": "kea1"}
    assert clients["00030001aa0000000c01"] == "c1"


def test_report_of_a_failed_tests_artefacts(tmp_path):
    art = tmp_path / "artifacts" / "test_x" / "la"
    shutil.copytree(RUN, art)
    (art / "failure.txt").write_text("AssertionError: c1 was not BOUND after 10 s\n")
    (art / "status.json").write_text(json.dumps({"lab": "la", "t": 30.0, "time_scale": 1.0, "nodes": {
        "c1": {"kind": "dhcp6-client", "state": "RENEW", "seed": "Request", "leases": []}}}))  # fmt: skip
    with open(art / "traces" / "c1.jsonl", "a") as f:
        f.write('{"t": 29.0, "node": "c1", "event": "sta')  # a crash cut the last line
    out = tmp_path / "failure.html"
    r = lab("report", "--from", str(art), "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert "warning: c1.jsonl:" in r.stderr
    html = out.read_text(encoding="utf-8")
    assert 'id="failure"' in html and "c1 was not BOUND after 10 s" in html
    assert "status snapshot included" in html and "Trace problems" in html
    nodes = {row[0]: row for row in parse(html).tables["nodes"][1:]}
    assert nodes["c1"][2] == "RENEW"  # the snapshot at the failure wins over the trace


def test_report_of_a_merged_trace_only(tmp_path):
    merged = "".join(p.read_text() for p in sorted((RUN / "traces").glob("*.jsonl")))
    (tmp_path / "trace.jsonl").write_text(merged)
    ctx = build_context(load_run(tmp_path))
    assert ctx["event_count"] == 101 and ctx["ladder_arrows"] == 31
    assert "ladder-all" in ctx["ladder_svg"] and "<svg" in ctx["topology_svg"]


def test_report_embeds_captures_checked_against_the_ladder(tmp_path):
    synthetic_run(tmp_path / "run")
    out = tmp_path / "cap.html"
    r = lab("report", "--from", str(tmp_path / "run"), "-o", str(out))
    assert r.returncode == 0, r.stderr
    html = out.read_text(encoding="utf-8")
    self_contained(html)
    assert html.count('href="data:application/vnd.tcpdump.pcap;base64,') == 2
    assert 'download="lan1.pcap"' in html and "all 2" in html
    rows = parse(html).tables["captures"][1:]
    assert [(row[0], row[3], row[4]) for row in rows] == [
        ("lan1.pcap", "2", "all 2"),
        ("lan2.pcap", "2", "all 2"),
    ]


def test_report_errors(tmp_path):
    r = lab("report", "--from", str(tmp_path / "nope"), "-o", str(tmp_path / "x.html"))
    assert r.returncode == 1 and "no such directory" in r.stderr
    (tmp_path / "empty").mkdir()
    r = lab("report", "--from", str(tmp_path / "empty"), "-o", str(tmp_path / "x.html"))
    assert r.returncode == 1 and "no traces" in r.stderr
    r = lab("report", "ghost", "--run-root", str(tmp_path), "-o", str(tmp_path / "x.html"))
    assert r.returncode == 1 and "no lab 'ghost'" in r.stderr
    r = lab("report", "ghost", "--from", str(RUN))
    assert r.returncode == 2
    assert not (tmp_path / "x.html").exists()


def test_report_of_a_stopped_lab_by_name(tmp_path):
    shutil.copytree(RUN, tmp_path / "relaydemo")
    out = tmp_path / "n.html"
    r = lab("report", "relaydemo", "--run-root", str(tmp_path), "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert "lab relaydemo" in out.read_text(encoding="utf-8")
