"""``lab graph FILE -o OUT``: draw nodes and links (Graphviz DOT, Mermaid, SVG, PNG)."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

import networkx as nx

from ..model import CLIENT_KINDS, PEER_KINDS, RELAY_KINDS, SERVER_KINDS, Node, Topology
from ._common import add_topology_arguments, load

HELP = "draw the topology: .dot, .mmd (Mermaid), .svg or .png (Graphviz)"
DESCRIPTION = """\
Draw the topology's nodes and links from its graph. The format follows the output's
suffix: .dot/.gv (Graphviz source) and .mmd (Mermaid) are written directly; .svg and
.png are rendered by Graphviz's `dot` (Debian package graphviz)."""
EXAMPLES = """\
examples:
  lab graph topologies/demo.yaml -o demo.svg
  lab graph topologies/demo.yaml -o demo.mmd      # paste into a Markdown ```mermaid block
  lab graph topologies/clients50.yaml --set clients=5 -o small.png
"""

TEXT_FORMATS = {".dot": "dot", ".gv": "dot", ".mmd": "mermaid"}
IMAGE_FORMATS = {".svg": "svg", ".png": "png"}

# role → (fill colour, DOT shape, Mermaid class)
_ROLES = {
    "server": ("#cfe2ff", "box"),
    "client": ("#d1f2d9", "box"),
    "relay": ("#ffe5b4", "box"),
    "router": ("#e2e3e5", "hexagon"),
    "host": ("#ffffff", "box"),
}


def role(node: Node) -> str:
    if node.kind in SERVER_KINDS:
        return "server"
    if node.kind in CLIENT_KINDS:
        return "client"
    if node.kind in RELAY_KINDS:
        return "relay"
    return node.kind  # router, host


def _addresses(node: Node) -> list[str]:
    return [str(a.ip) for i in sorted(node.interfaces) for a in node.interfaces[i].addresses]


def _dq(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _ranks(topo: Topology, g: nx.Graph) -> dict[str, int]:
    """Distance from the nearest server: dot ranks edge tails before heads, so writing
    each edge from the nearer end draws servers first and clients last."""
    servers = {n.name for n in topo.nodes.values() if n.kind in SERVER_KINDS}
    dist: dict[str, int] = {}
    for comp in nx.connected_components(g):
        starts = sorted(servers & comp) or [min(comp, key=str)]
        dist.update(nx.multi_source_dijkstra_path_length(g, starts))
    return dist


def _edges(topo: Topology, g: nx.Graph) -> list[tuple[str, str, str, str, str]]:
    """(x, y, x's iface, y's iface or "", link) in layout order."""
    rank = _ranks(topo, g)
    out = []
    for a, b, data in g.edges(data=True):
        x, y = (a, b) if rank.get(a, 0) <= rank.get(b, 0) else (b, a)
        link = topo.links[data["link"]]
        ifaces = {ep.node: ep.iface for ep in link.endpoints}
        if "ifaces" in data:  # point-to-point
            out.append((x, y, ifaces[x], ifaces[y], link.name))
        else:  # node – LAN
            node = a if not str(a).startswith("lan:") else b
            out.append((x, y, ifaces[node], "", link.name))
    return out


def to_dot(topo: Topology) -> str:
    g = topo.graph()
    out = [
        f"graph {_dq(topo.name)} {{",
        '  graph [rankdir=LR, fontname="Helvetica", fontsize=11];',
        '  node [fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    for v, data in g.nodes(data=True):
        if data.get("type") == "lan":
            link = topo.links[data["link"]]
            label = link.name + (f"\n{link.prefix}" if link.prefix else "")
            out.append(
                f'  {_dq(v)} [label={_dq(label)}, shape=box, style="rounded,dashed", color="#6c757d"];'
            )
            continue
        node = topo.nodes[v]
        fill, shape = _ROLES[role(node)]
        label = "\n".join([node.name, node.kind, *_addresses(node)])
        style = "filled,dashed" if node.kind in PEER_KINDS else "filled"
        if shape == "box":
            style = "rounded," + style
        out.append(
            f'  {_dq(v)} [label={_dq(label)}, shape={shape}, style="{style}", fillcolor="{fill}"];'
        )
    for x, y, ix, iy, link_name in _edges(topo, g):
        if iy:  # point-to-point: a veth pair
            link = topo.links[link_name]
            label = link.name + (f"\n{link.prefix}" if link.prefix else "")
            out.append(
                f"  {_dq(x)} -- {_dq(y)} [label={_dq(label)}, taillabel={_dq(ix)}, headlabel={_dq(iy)}];"
            )
        else:
            out.append(f"  {_dq(x)} -- {_dq(y)} [label={_dq(ix)}];")
    out.append("}")
    return "\n".join(out) + "\n"


def _mid(prefix: str, name: str, used: dict[str, str]) -> str:
    base = prefix + re.sub(r"[^A-Za-z0-9_]", "_", name)
    ident, n = base, 1
    while ident in used.values():
        n += 1
        ident = f"{base}_{n}"
    used[name] = ident
    return ident


def _mq(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def to_mermaid(topo: Topology) -> str:
    g = topo.graph()
    ids: dict[str, str] = {}
    out = ["flowchart LR"]
    classes: dict[str, list[str]] = {}
    for v, data in g.nodes(data=True):
        if data.get("type") == "lan":
            link = topo.links[data["link"]]
            ident = _mid("l_", link.name, ids)
            ids[v] = ident
            label = link.name + (f"<br/>{link.prefix}" if link.prefix else "")
            out.append(f"  {ident}([{_mq(label)}])")
            classes.setdefault("lan", []).append(ident)
            continue
        node = topo.nodes[v]
        ident = _mid("n_", v, ids)
        label = "<br/>".join([f"<b>{node.name}</b>", node.kind, *_addresses(node)])
        left, right = ("{{", "}}") if node.kind == "router" else ("[", "]")
        out.append(f"  {ident}{left}{_mq(label)}{right}")
        classes.setdefault(role(node), []).append(ident)
        if node.kind in PEER_KINDS:
            classes.setdefault("peer", []).append(ident)
    for x, y, ix, iy, link_name in _edges(topo, g):
        if iy:
            link = topo.links[link_name]
            label = f"{ix} – {iy}" + (f"<br/>{link.prefix}" if link.prefix else "")
            out.append(f"  {ids[x]} ---|{_mq(label)}| {ids[y]}")
        else:
            out.append(f"  {ids[x]} ---|{_mq(ix)}| {ids[y]}")
    for r, (fill, _) in _ROLES.items():
        out.append(f"  classDef {r} fill:{fill},stroke:#333")
    out.append("  classDef lan fill:#f8f9fa,stroke:#6c757d,stroke-dasharray:4 3")
    out.append("  classDef peer stroke-dasharray:5 3")
    for cls, members in classes.items():
        out.append(f"  class {','.join(members)} {cls}")
    return "\n".join(out) + "\n"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_topology_arguments(p)
    p.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        required=True,
        help="output file: .dot, .gv, .mmd, .svg or .png",
    )


def run(args: argparse.Namespace) -> int:
    out = Path(args.output)
    suffix = out.suffix.lower()
    if suffix not in TEXT_FORMATS and suffix not in IMAGE_FORMATS:
        known = ", ".join([*TEXT_FORMATS, *IMAGE_FORMATS])
        print(
            f"lab graph: {args.output}: unknown format {suffix or '(no suffix)'} — use one of {known}",
            file=sys.stderr,
        )
        return 2
    dot = None
    if suffix in IMAGE_FORMATS:
        dot = shutil.which("dot")
        if dot is None:
            print(
                f"lab graph: cannot draw {args.output}: Graphviz's dot is not installed — "
                "apt-get install graphviz (or write .dot or .mmd)",
                file=sys.stderr,
            )
            return 1
    topo, rc = load(args)
    if topo is None:
        return rc
    try:
        if suffix in TEXT_FORMATS:
            text = to_dot(topo) if TEXT_FORMATS[suffix] == "dot" else to_mermaid(topo)
            out.write_text(text, encoding="utf-8")
        else:
            assert dot is not None
            res = subprocess.run(
                [dot, f"-T{IMAGE_FORMATS[suffix]}", "-o", str(out)],
                input=to_dot(topo),
                text=True,
                capture_output=True,
                timeout=120,
                check=False,
            )
            if res.returncode != 0:
                why = (res.stderr.strip().splitlines() or ["no message"])[-1]
                print(f"lab graph: dot failed for {args.output}: {why}", file=sys.stderr)
                return 1
    except OSError as e:
        print(f"lab graph: cannot write {args.output}: {e.strerror or e}", file=sys.stderr)
        return 1
    print(f"{args.output}: {len(topo.nodes)} nodes, {len(topo.links)} links")
    return 0
