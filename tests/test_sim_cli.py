"""`lab sim`: summary, trace, --json, --step on piped stdin, errors in one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lab.cli import main

ROOT = Path(__file__).resolve().parent.parent


def lab_sim(
    *args: str, stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lab.cli", "sim", *args], input=stdin, text=True,
                          capture_output=True, timeout=timeout, cwd=ROOT)  # fmt: skip


def test_summary_and_trace(tmp_path, capsys):
    trace = tmp_path / "relay.jsonl"
    rc = main(
        ["sim", "topologies/relay.yaml", "--duration", "1d", "--seed", "3", "--trace", str(trace)]
    )
    out = capsys.readouterr().out
    assert rc == 0, out
    assert out.startswith("relay: simulated 1d (seed 3) in ")
    assert "c1" in out and "renewals" in out and "relay1" in out and "forwarded" in out
    assert "expect: all 5 met at t=" in out
    lines = trace.read_text().splitlines()
    assert f"trace: {trace} ({len(lines):,} events)" in out
    assert json.loads(lines[-1])["t"] <= 86400


def test_json_summary_counts(capsys):
    assert main(["sim", "topologies/basic.yaml", "--duration", "2h", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["t"] == 7200 and s["seed"] == 0
    c1 = s["clients"]["c1"]
    assert c1["state"] == "BOUND" and c1["renewals"] == 47 and c1["rebinds"] == 0
    assert c1["transitions"] == 3 + 2 * 47 and c1["expiries"] == 0
    assert s["servers"]["s1"]["bindings"] == 3 and s["servers"]["s1"]["leases"]["renewed"] == 3 * 47
    assert s["expect"]["failures"] == [] and s["failures"] == []


def test_drops_by_reason_and_many_clients_in_totals(capsys):
    assert main(["sim", "topologies/preference.yaml", "--duration", "10m"]) == 0
    out = capsys.readouterr().out
    assert "s1 dropped" in out and "Server-ID does not match ours" in out
    assert (
        main(["sim", "topologies/clients50.yaml", "--set", "clients=40", "--duration", "30m"]) == 0
    )
    out = capsys.readouterr().out
    assert "40 clients: 40 BOUND" in out and "totals:" in out


def test_a_week_in_seconds(capsys):
    assert main(["sim", "topologies/basic.yaml", "--duration", "7d"]) == 0
    out = capsys.readouterr().out
    # T1 = 150 s: 604800 / 150 - 1 renewals each, in a few seconds of wall time
    assert "basic: simulated 1w (seed 0) in " in out and "4,031" in out


def test_step_mode_reads_commands_from_a_pipe():
    r = lab_sim("topologies/basic.yaml", "--step", stdin="\n\nn 2\nt 2s\ns\nt +150\nbogus\nq\n")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.splitlines()[0].startswith("Enter: next event")
    assert "s1       state  →LISTEN [Listen]" in out and "INIT→SOLICIT" in out
    assert "timer tx of c" in out and "datagram arrives at s1:eth0" in out
    assert "-- jumped to t=2.000000" in out and "-- jumped to t=152.000000" in out
    assert "c1       dhcp6-client  running  BOUND" in out
    assert "?? 'bogus'" in out
    assert "basic: simulated 2m32s (seed 0)" in out  # the summary at t=152
    assert "RENEW" not in out.split("-- jumped to t=152")[0].split("-- jumped to t=2.0")[1]


def test_step_mode_ends_at_end_of_input():
    r = lab_sim("topologies/basic.yaml", "--step", "--duration", "5", stdin="\n" * 3)
    assert r.returncode == 0 and r.stdout.count("t=0.") >= 3


def test_real_peers_refused_in_one_line():
    r = lab_sim("topologies/demo.yaml")
    assert r.returncode == 1 and r.stdout == ""
    assert (
        len(r.stderr.strip().splitlines()) == 1
        and "kea1" in r.stderr
        and "Traceback" not in r.stderr
    )


@pytest.mark.parametrize(
    ("args", "rc", "text"),
    [
        (
            ["topologies/basic.yaml", "--duration", "soon"],
            2,
            "--duration: 'soon' is not a duration",
        ),
        (["topologies/nope.yaml"], 1, "cannot read"),
        (["topologies/basic.yaml", "--set", "nope=1"], 1, "no variable 'nope'"),
    ],
)
def test_usage_errors(args, rc, text, capsys):
    assert main(["sim", *args]) == rc
    err = capsys.readouterr().err
    assert text in err and "Traceback" not in err


def test_failed_expectations_exit_1(tmp_path, capsys):
    src = (ROOT / "topologies/basic.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(src.replace("c1: {state: BOUND, lease_in: 2001:db8:1::/64}",
                               "c1: {state: BOUND, lease_in: 2001:db8:9::/64}"))  # fmt: skip
    assert main(["sim", str(bad), "--duration", "10m"]) == 1
    out = capsys.readouterr().out
    assert "expect: 1 of 8 not met" in out and "c1: expected lease_in: 2001:db8:9::/64" in out


def test_trace_directory_layout(tmp_path, capsys):
    d = tmp_path / "run"
    d.mkdir()
    assert main(["sim", "topologies/pd-cpe.yaml", "--duration", "10m", "--trace", str(d)]) == 0
    assert sorted(p.name for p in (d / "traces").iterdir()) == ["cpe.jsonl", "h1.jsonl", "s1.jsonl"] or \
        sorted(p.name for p in (d / "traces").iterdir()) == ["cpe.jsonl", "s1.jsonl"]  # fmt: skip
    meta = json.loads((d / "runtime.json").read_text())
    assert meta["simulated"] and meta["epoch"] == 0.0 and meta["name"] == "pd-cpe"


def test_report_and_ladder_read_a_simulated_run(tmp_path, capsys):
    """The trace directory is a run directory to `lab report --from` and `lab trace --ladder`."""
    d = tmp_path / "simrun"
    d.mkdir()
    assert main(["sim", "topologies/relay.yaml", "--duration", "60", "--trace", str(d)]) == 0
    lab_json = json.loads((d / "lab.json").read_text())
    assert lab_json["nodes"]["r1"]["kind"] == "router"
    assert lab_json["nodes"]["c1"]["interfaces"]["eth0"]["link"] == "access"
    capsys.readouterr()
    assert main(["report", "--from", str(d), "-o", str(tmp_path / "r.html")]) == 0
    assert "5 nodes" in capsys.readouterr().out and (tmp_path / "r.html").stat().st_size > 10_000
    assert main(["trace", "simrun", "--run-root", str(tmp_path), "--ladder", "--node", "c1"]) == 0
    ladder = capsys.readouterr().out
    assert "RELAY-FORW(SOLICIT" in ladder and "c1: REQUEST → BOUND" in ladder
