"""`lab watch`: the frame (fits 80×24, shows states, seed labels, leases, timers, last
messages, transitions), the trace tail, and the live view in a real terminal (tmux)
on a real lab (root)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab.observe.watch import Activity, TraceTail, build_rows, dur, fit_widths, frame_text

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "tests" / "data" / "observe" / "relay_run"

STATUS = {
    "ok": True, "lab": "relaydemo", "time_scale": 1.0, "t": 24.0,
    "nodes": {
        "r1": {"kind": "router", "process": "running", "state": "UP", "seed": "", "leases": []},
        "s1": {"kind": "dhcp6-server", "process": "running", "state": "LISTEN", "seed": "Listen",
               "leases": [], "bindings": 2},
        "kea1": {"kind": "kea", "process": "running", "state": "Listen", "seed": "Listen", "leases": []},
        "relay1": {"kind": "dhcp6-relay", "process": "running", "state": "RELAY", "seed": "Relay", "leases": []},
        "c1": {"kind": "dhcp6-client", "process": "running", "state": "BOUND", "seed": "IPv6 Address Timer",
               "leases": [{"address": "2001:db8:2::100", "preferred_left": 39.3, "valid_left": 59.3},
                          {"prefix": "2001:db8:8000::/56", "preferred_left": 39.3, "valid_left": 59.3}],
               "t1_left": 19.3, "t2_left": 31.3, "bound": True},
        "dh1": {"kind": "dhclient", "process": "running", "state": "BOUND", "seed": "IPv6 Address Timer",
                "leases": [{"address": "2001:db8:2::301", "preferred_left": 22.0, "valid_left": 42.0}],
                "bound": True},
    },
}  # fmt: skip


def activity() -> Activity:
    act = Activity({n: v["kind"] for n, v in STATUS["nodes"].items()})
    act.feed(TraceTail(RUN).poll())
    return act


def test_frame_fits_80x24_and_shows_the_bound_clients():
    text = frame_text(STATUS, activity(), width=80, height=24)
    lines = text.rstrip("\n").splitlines()
    assert len(lines) <= 24 and max(len(x) for x in lines) <= 80
    assert lines[0].startswith("lab relaydemo  t=24.0s  2/2 clients bound")
    c1 = next(i for i, x in enumerate(lines) if x.startswith("c1 "))
    assert "BOUND" in lines[c1] and "2001:db8:2::100" in lines[c1] and "19/31" in lines[c1]
    assert "IPv6 Address Timer" in lines[c1 + 1] and "2001:db8:8000::/56" in lines[c1 + 1]
    assert "▶RENEW" in lines[c1] and "◀REPLY" in lines[c1 + 1]
    dh1 = next(x for x in lines if x.startswith("dh1 "))
    assert "BOUND" in dh1 and "2001:db8:2::301" in dh1
    assert " 2/14 " in dh1  # T1/T2 left from the trace's Reply (at 6.0 s: 20/32 s; now 24 s)
    s1 = next(x for x in lines if x.startswith("s1 "))
    assert "LISTEN" in s1 and "2 bindings" in s1
    assert not any(x.startswith("r1 ") for x in lines)  # routers only with --all
    assert "recent transitions" in text and "c1 RENEW → BOUND (IPv6 Address Timer) Reply" in text


def test_frame_is_cut_to_a_small_terminal():
    text = frame_text(STATUS, activity(), width=50, height=8)
    lines = text.rstrip("\n").splitlines()
    assert len(lines) <= 8 and max(len(x) for x in lines) <= 50
    assert "more nodes" in lines[-1]


def test_wide_frame_has_last_sent_and_received_with_xids():
    text = frame_text(STATUS, activity(), width=140, height=None, show_all=True)
    header = next(x for x in text.splitlines() if x.startswith("node"))
    assert "last sent" in header and "last received" in header and "seed" in header
    c1 = next(x for x in text.splitlines() if x.startswith("c1 "))
    assert "RENEW c3c3c3" in c1 and "REPLY c3c3c3" in c1 and "IPv6 Address Timer" in c1
    assert any(x.startswith("r1 ") for x in text.splitlines())


def test_rows_time_in_state_and_highlight():
    act = activity()
    rows = {r.node: r for r in build_rows(STATUS, act)}
    assert rows["c1"].in_state == pytest.approx(24.0 - 23.3132)
    assert rows["c1"].hot  # changed less than HIGHLIGHT seconds ago
    assert not rows["dh1"].hot and rows["dh1"].in_state == pytest.approx(24.0 - 6.0052)
    assert rows["dh1"].last_in == "REPLY f6f6f6"  # what it overheard does not count
    assert rows["kea1"].last_out == "R-REPL(REPLY) f6f6f6"
    assert [r.node for r in build_rows(STATUS, act, nodes=["c1", "s1"])] == ["c1", "s1"]


def test_trace_tail_returns_complete_lines_only(tmp_path):
    d = tmp_path / "traces"
    d.mkdir()
    f = d / "c1.jsonl"
    f.write_text(
        '{"t": 1, "node": "c1", "event": "state", "to": "SOLICIT", "seed": "Solicit"}\n{"t": 2, "no'
    )
    tail = TraceTail(tmp_path)
    assert [e["t"] for e in tail.poll()] == [1]
    assert tail.poll() == []
    with open(f, "a") as fh:
        fh.write('de": "c1", "event": "state", "to": "REQUEST", "seed": "Request"}\n')
    (d / "s1.jsonl").write_text('{"t": 1.5, "event": "state", "to": "LISTEN", "seed": "Listen"}\n')
    got = tail.poll()
    assert [(e["t"], e["node"]) for e in got] == [(1.5, "s1"), (2, "c1")]


def test_durations_and_widths():
    assert [dur(x) for x in (None, 4.25, 12.3, 303, 7300, 3 * 86400)] == [
        "",
        "4.2s",
        "12s",
        "5m03",
        "2h01",
        "3d",
    ]
    cols = [("a", 2, 1, "left"), ("b", 3, 0, "left")]
    assert fit_widths(cols, [["xxxxxx", "yyyyyy"]], 80) == [6, 6]
    assert fit_widths(cols, [["xxxxxx", "yyyyyy"]], 10) == [6, 3]
    assert sum(fit_widths(cols, [["xxxxxx", "yyyyyy"]], 5)) + 1 <= 5


# ---------------------------------------------------------------------------- tmux, a real lab


def lab(*args: str, root: Path, timeout: float = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "DHCP6_LAB_RUN_ROOT": str(root)}
    return subprocess.run([sys.executable, "-m", "lab.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=ROOT)  # fmt: skip


@pytest.fixture
def root(tmp_path):
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        pytest.skip("needs root and Linux network namespaces")
    r = tmp_path / "labs"
    yield r
    for d in r.iterdir() if r.exists() else []:  # never leave a lab behind, pass or fail
        if d.is_dir():
            lab("down", d.name, root=r)
    lab("clean", root=r)


class Tmux:
    """A private tmux server (its own socket) with one 80×24 window."""

    def __init__(self, sock: Path) -> None:
        self.base = ["tmux", "-S", str(sock)]

    def __call__(self, *args: str) -> str:
        return subprocess.run([*self.base, *args], capture_output=True, text=True, timeout=30,
                              check=True).stdout  # fmt: skip

    def screen(self, escapes: bool = False) -> str:
        return self("capture-pane", "-p", *(["-e"] if escapes else []), "-t", "watch")

    def wait_for(self, pred, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            if pred(text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"screen never matched; last:\n{text}")
            time.sleep(0.2)


@pytest.mark.netns
def test_watch_live_in_an_80x24_terminal(root, tmp_path):
    assert shutil.which("tmux"), "tmux is missing: run `make bootstrap` (Debian package tmux)"
    r = lab("up", "topologies/basic.yaml", "--name", "w1", "--wait-bound", "30", root=root)
    assert r.returncode == 0, r.stdout + r.stderr
    tmux = Tmux(tmp_path / "tmux.sock")
    cmd = (f"cd {ROOT} && DHCP6_LAB_RUN_ROOT={root} {sys.executable} -m lab.cli watch w1 --interval 0.2;"
           " echo WATCH-EXIT=$?; sleep 30")  # fmt: skip
    tmux("new-session", "-d", "-s", "watch", "-x", "80", "-y", "24", cmd)
    try:
        text = tmux.wait_for(lambda s: "3/3 clients bound" in s)
        lines = text.splitlines()
        assert len(lines) <= 24 and max(len(x.rstrip()) for x in lines) <= 80
        for c in ("c1", "c2", "c3"):
            row = next(x for x in lines if x.startswith(c + " "))
            assert "BOUND" in row and "2001:db8:1::" in row, row
        assert any(x.startswith("s1 ") and "LISTEN" in x and "bindings" in x for x in lines)
        assert "IPv6 Address Timer" in text and "Ctrl-C quits" in text
        # a transition as it happens: restart c1, its row lights up, the list shows it
        sys.path.insert(0, str(ROOT))
        from lab.cli._control import ask

        assert ask("w1", {"cmd": "node", "node": "c1", "action": "restart"}, root)["ok"]

        def rebound(screen: str) -> bool:
            lines = screen.splitlines()
            stop = [i for i, x in enumerate(lines) if "c1 RELEASE → STOPPED" in x]
            return bool(stop) and any("c1 REQUEST → BOUND" in x for x in lines[stop[-1] :])

        tmux.wait_for(lambda s: "c1 RELEASE → STOPPED" in s)
        tmux.wait_for(lambda s: rebound(s) and "3/3 clients bound" in s)
        c1 = next(
            x for x in tmux.screen(escapes=True).splitlines() if "c1" in x[:20] and "BOUND" in x
        )
        assert "\x1b[7m" in c1 or ";7m" in c1, repr(c1)  # reverse video: it just changed
        tmux("send-keys", "-t", "watch", "C-c")
        tmux.wait_for(lambda s: "WATCH-EXIT=0" in s, timeout=10)
    finally:
        subprocess.run([*tmux.base, "kill-server"], capture_output=True, timeout=30)
    once = lab("watch", "w1", "--once", root=root)
    assert once.returncode == 0 and "3/3 clients bound" in once.stdout
    assert max(len(x) for x in once.stdout.splitlines()) <= 80
    assert lab("down", "w1", root=root).returncode == 0
    r = lab("watch", "w1", "--once", root=root)
    assert r.returncode == 1 and "not running" in r.stderr
