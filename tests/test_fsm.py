"""`dhcp6 fsm`: diagrams drawn from the engines' tables — golden files, completeness,
reachability, and an SVG through Graphviz."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

from dhcp6 import fsm
from dhcp6.engine.client_table import TRANSITIONS

GOLDEN = Path(__file__).parent / "data" / "fsm"


@pytest.mark.parametrize("role, fmt, ext, vocab", [
    ("client", "mermaid", "mmd", "rfc"), ("client", "dot", "dot", "rfc"),
    ("server", "mermaid", "mmd", "rfc"), ("server", "dot", "dot", "rfc"),
    ("relay", "mermaid", "mmd", "rfc"), ("relay", "dot", "dot", "rfc"),
])  # fmt: skip
def test_golden(role, fmt, ext, vocab):
    text = (fsm.mermaid if fmt == "mermaid" else fsm.dot)(role, vocab)
    assert text == (GOLDEN / f"{role}.{ext}").read_text(), (
        f"the {role} table changed: regenerate with `dhcp6 fsm {role} --format {fmt} > "
        f"tests/data/fsm/{role}.{ext}` and review the diff"
    )


def test_seed_vocabulary_golden_and_names():
    text = fsm.mermaid("client", "seed")
    assert text == (GOLDEN / "client-seed.mmd").read_text()
    for name in ("Solicit", "Request", "IPv6 Address Timer"):
        assert name in text
    server = fsm.mermaid("server")
    for name in (
        "Advertise",
        "Reply",
        "Release",
        "Reconfigure",
        "Reconfigure Init",
        "Reconfigure Reply",
    ):
        assert f'"{name}"' in server


def test_every_client_transition_is_drawn():
    text = fsm.dot("client")
    for t in TRANSITIONS:
        assert f'[label="{t.event.replace(chr(34), chr(39))}"]' in text, t


@pytest.mark.parametrize("role", fsm.ROLES)
def test_every_state_in_the_drawing_is_reachable(role):
    g = nx.DiGraph()
    g.add_edges_from((a, b) for a, _, b in fsm.edges(role))
    start = fsm.initial(role)
    assert set(nx.descendants(g, start)) | {start} == set(fsm.states(role))


def test_svg_through_graphviz(tmp_path):
    out = tmp_path / "client.svg"
    r = subprocess.run([sys.executable, "-m", "dhcp6.cli", "fsm", "client", "--format", "svg",
                        "-o", str(out)], capture_output=True, text=True, timeout=60)  # fmt: skip
    assert r.returncode == 0, r.stderr
    svg = out.read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "SOLICIT" in svg
