"""``lab validate | inspect | schema | graph``: exit codes, one-line errors, help."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lab.cli import main
from lab.cli.graph import to_dot, to_mermaid
from lab.load import load_topology

ROOT = Path(__file__).resolve().parent.parent
TOPO = ROOT / "topologies"
BAD = ROOT / "tests" / "data" / "bad_topologies"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


# --------------------------------------------------------------------------- validate


def test_validate_ok_prints_one_summary_line(capsys):
    rc, out, err = run(capsys, "validate", str(TOPO / "basic.yaml"))
    assert rc == 0 and err == ""
    assert out == f"{TOPO / 'basic.yaml'}: ok: 4 nodes, 1 link\n"


def test_validate_with_set(capsys):
    rc, out, _ = run(capsys, "validate", str(TOPO / "clients50.yaml"), "--set", "clients=7")
    assert rc == 0 and out.endswith(": ok: 8 nodes, 1 link\n")


def test_validate_errors_one_per_line_sorted(capsys):
    path = BAD / "multiple_errors.yaml"
    rc, out, _ = run(capsys, "validate", str(path))
    assert rc == 1
    lines = out.splitlines()
    expected = (BAD / "multiple_errors.err").read_text().splitlines()
    assert lines == [f"{path.parent}/{e}" for e in expected]
    numbers = [int(x.split(":")[1]) for x in lines]
    assert numbers == sorted(numbers)


def test_validate_unknown_set_variable_exit_1(capsys):
    rc, out, _ = run(capsys, "validate", str(TOPO / "clients50.yaml"), "--set", "client=3")
    assert rc == 1
    assert (
        out == "--set client=3: the topology has no variable 'client' — did you mean 'clients'?\n"
    )


def test_validate_malformed_set_is_a_usage_error(capsys):
    rc, out, _ = run(capsys, "validate", str(TOPO / "basic.yaml"), "--set", "clients")
    assert rc == 2 and out == "--set clients: expected NAME=VALUE, e.g. --set clients=50\n"


def test_validate_missing_file(capsys, tmp_path):
    rc, out, _ = run(capsys, "validate", str(tmp_path / "x.yaml"))
    assert rc == 1 and out == f"{tmp_path / 'x.yaml'}: cannot read: No such file or directory\n"


@pytest.mark.parametrize("case", sorted(BAD.glob("*.yaml")), ids=lambda p: p.stem)
def test_validate_every_bad_file_exits_1_without_traceback(capsys, case):
    args = ["validate", str(case)]
    first = case.read_text().splitlines()[0]
    if first.startswith("# overrides: "):
        for item in first.removeprefix("# overrides: ").split():
            args += ["--set", item]
    rc, out, err = run(capsys, *args)
    assert rc == 1 and err == "" and "Traceback" not in out
    assert all(line.count(": ") >= 1 for line in out.splitlines())


# --------------------------------------------------------------------------- inspect


def test_inspect_yaml_and_json(capsys):
    rc, out, _ = run(capsys, "inspect", str(TOPO / "demo.yaml"))
    assert rc == 0
    data = yaml.safe_load(out)
    relay = data["nodes"]["relay1"]
    assert relay["kind"] == "dhcp6-relay"
    assert relay["interfaces"]["eth0"] == {"link": "lan2", "addresses": ["2001:db8:2::2/64"]}
    assert relay["routes"] == [
        {"destination": "2001:db8:1::/64", "via": "2001:db8:2::1", "iface": "eth0"}
    ]
    assert relay["options"]["server"] == ["2001:db8:1::2", "2001:db8:1::3"]
    assert data["nodes"]["c1"]["options"]["ia_pd"] == "1/56"  # inherited from defaults
    rc, out, _ = run(capsys, "inspect", str(TOPO / "relay.yaml"), "-o", "json")
    data = json.loads(out)
    assert data["time_scale"] == 10.0
    assert data["scenario"][0] == {"at": 5.0, "action": "restart", "args": "s1", "line": 31}
    assert data["links"]["access"]["endpoints"][0] == "r1:eth1"


def test_inspect_shows_generated_nodes(capsys):
    rc, out, _ = run(
        capsys, "inspect", str(TOPO / "clients50.yaml"), "--set", "clients=2", "-o", "json"
    )
    assert rc == 0
    assert sorted(json.loads(out)["nodes"]) == ["c1", "c2", "s1"]


def test_inspect_errors_go_to_stderr(capsys):
    rc, out, err = run(capsys, "inspect", str(BAD / "unknown_kind.yaml"))
    assert rc == 1 and out == ""
    assert err.endswith(
        "nodes.c1.kind: unknown kind 'dhcp6-clinet' — did you mean 'dhcp6-client'?\n"
    )


# --------------------------------------------------------------------------- schema


def test_schema_to_stdout_and_file(capsys, tmp_path):
    rc, out, _ = run(capsys, "schema")
    assert rc == 0 and json.loads(out)["title"] == "dhcp6-lab topology"
    target = tmp_path / "topology.schema.json"
    rc, out, _ = run(capsys, "schema", "-o", str(target))
    assert rc == 0 and out == "" and json.loads(target.read_text())["type"] == "object"
    rc, _, err = run(capsys, "schema", "-o", str(tmp_path / "no" / "dir.json"))
    assert rc == 1 and err.startswith("lab schema: cannot write ")


# --------------------------------------------------------------------------- graph


def test_graph_dot_and_mermaid(capsys, tmp_path):
    dot = tmp_path / "demo.dot"
    rc, out, _ = run(capsys, "graph", str(TOPO / "demo.yaml"), "-o", str(dot))
    assert rc == 0 and out == f"{dot}: 8 nodes, 2 links\n"
    text = dot.read_text()
    assert text.startswith('graph "demo" {') and text.rstrip().endswith("}")
    assert '"s1" -- "lan:lan1" [label="eth0"];' in text
    assert '"lan:lan1" -- "r1" [label="eth0"];' in text  # servers' side first
    mmd = tmp_path / "demo.mmd"
    rc, _, _ = run(capsys, "graph", str(TOPO / "demo.yaml"), "-o", str(mmd))
    text = mmd.read_text()
    assert text.startswith("flowchart LR\n")
    assert 'n_r1{{"<b>r1</b><br/>router<br/>2001:db8:1::1<br/>2001:db8:2::1"}}' in text
    assert 'n_s1 ---|"eth0"| l_lan1' in text


def test_graph_point_to_point_labels():
    topo = load_topology(TOPO / "basic.yaml")
    assert "lan:lan1" in to_dot(topo)
    from lab.load import load_topology_text

    p2p = load_topology_text(
        "nodes:\n  s1: {kind: dhcp6-server}\n  c1: {kind: dhcp6-client}\n"
        "links:\n  - {prefix: '2001:db8:1::/64', endpoints: [s1:eth3, c1:eth0]}\n",
        "p.yaml",
    )
    assert (
        '"s1" -- "c1" [label="p2p1\\n2001:db8:1::/64", taillabel="eth3", headlabel="eth0"];'
        in to_dot(p2p)
    )
    assert 'n_s1 ---|"eth3 – eth0<br/>2001:db8:1::/64"| n_c1' in to_mermaid(p2p)


def test_graph_unknown_suffix_is_a_usage_error(capsys, tmp_path):
    rc, _, err = run(capsys, "graph", str(TOPO / "basic.yaml"), "-o", str(tmp_path / "x.jpg"))
    assert rc == 2 and "unknown format .jpg" in err and err.count("\n") == 1


def test_graph_image_without_graphviz_names_the_package(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    rc, _, err = run(capsys, "graph", str(TOPO / "basic.yaml"), "-o", str(tmp_path / "x.svg"))
    assert rc == 1
    assert err == (
        f"lab graph: cannot draw {tmp_path / 'x.svg'}: Graphviz's dot is not installed — "
        "apt-get install graphviz (or write .dot or .mmd)\n"
    )


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz (dot) is not installed")
def test_graph_svg_and_png(capsys, tmp_path):
    svg, png = tmp_path / "d.svg", tmp_path / "d.png"
    assert run(capsys, "graph", str(TOPO / "demo.yaml"), "-o", str(svg))[0] == 0
    assert "<svg" in svg.read_text()
    assert run(capsys, "graph", str(TOPO / "relay.yaml"), "-o", str(png))[0] == 0
    assert png.read_bytes().startswith(b"\x89PNG")


def test_graph_bad_topology(capsys, tmp_path):
    rc, _, err = run(
        capsys, "graph", str(BAD / "dangling_endpoint.yaml"), "-o", str(tmp_path / "x.dot")
    )
    assert rc == 1 and "no node 'c11'" in err and not (tmp_path / "x.dot").exists()


# --------------------------------------------------------------------------- help, entry point


@pytest.mark.parametrize("verb", ["validate", "inspect", "schema", "graph"])
def test_help_has_examples(capsys, verb):
    with pytest.raises(SystemExit) as info:
        main([verb, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and f"lab {verb}" in out


def test_top_level_help_lists_verbs(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for verb in ("validate", "inspect", "schema", "graph"):
        assert verb in out
    assert "examples:" in out


def test_no_verb_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2


def test_console_entry_point():
    exe = Path(sys.executable).with_name("lab")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "lab.cli"]
    res = subprocess.run(
        [*cmd, "validate", str(TOPO / "relay.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.endswith("relay.yaml: ok: 5 nodes, 2 links\n")
    res = subprocess.run(
        [sys.executable, "-m", "lab.cli", "validate", str(BAD / "unknown_kind.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )
    assert res.returncode == 1 and res.stderr == ""
    assert res.stdout.count("\n") == 1
