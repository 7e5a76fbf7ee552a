"""The topology drawing for a report, as inline SVG.

Best first: the topology file the lab was started from (``runtime.json`` names it),
drawn by ``lab graph``'s DOT through Graphviz — used only when it still describes the
same nodes (a lab started with ``--set`` overrides may not); else the builder's record
(``lab.json``: kinds and links, no addresses); else the nodes seen in the trace. Without
Graphviz a plain SVG of boxes stands in.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from . import svg as S
from .rundata import Run, kind_role, ordered_nodes

FILL = {"server": "#cfe2ff", "client": "#d1f2d9", "relay": "#ffe5b4", "other": "#e2e3e5"}


def _dq(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _candidates(source: str, folder: Path | None) -> list[Path]:
    p = Path(source)
    if p.is_absolute():
        return [p]
    repo = Path(__file__).resolve().parents[2]
    out = [Path.cwd() / p, repo / p]
    if folder is not None:
        out.append(folder / p.name)
    return out


def topology_dot(run: Run) -> tuple[str, str]:
    """(DOT source, where it came from)."""
    names = set(run.kinds) or set(run.roles)
    if run.source:
        for path in _candidates(run.source, run.folder):
            if not path.is_file():
                continue
            try:
                from ..cli.graph import to_dot
                from ..load import TopologyError, load_topology

                topo = load_topology(str(path))
            except (TopologyError, OSError, ImportError):
                continue
            if not names or set(topo.nodes) == names:
                return to_dot(topo), f"{run.source} (drawn by Graphviz)"
    roles = run.roles
    lines = [
        f"graph {_dq(run.name)} {{",
        '  graph [rankdir=LR, fontname="Helvetica", fontsize=11];',
        '  node [fontname="Helvetica", fontsize=10, shape=box, style="rounded,filled"];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    for n in ordered_nodes({n: roles.get(n, "other") for n in names}):
        kind = run.kinds.get(n) or roles.get(n, "")
        role = kind_role(kind) if n in run.kinds else roles.get(n, "other")
        lines.append(
            f"  {_dq(n)} [label={_dq(n + chr(10) + kind)}, fillcolor={_dq(FILL.get(role, '#fff'))}];"
        )
    for link, members in sorted(run.links.items()):
        if len(members) == 2:
            (a, ia), (b, ib) = (m.split(":", 1) for m in members)
            lines.append(
                f"  {_dq(a)} -- {_dq(b)} [label={_dq(link)}, taillabel={_dq(ia)}, headlabel={_dq(ib)}];"
            )
            continue
        lan = f"lan:{link}"
        lines.append(
            f'  {_dq(lan)} [label={_dq(link)}, style="rounded,dashed", fillcolor="#f8f9fa"];'
        )
        for m in members:
            node, iface = m.split(":", 1)
            lines.append(f"  {_dq(lan)} -- {_dq(node)} [label={_dq(iface)}];")
    lines.append("}")
    origin = "the builder's record (lab.json)" if run.links else "the nodes in the trace"
    return "\n".join(lines) + "\n", origin


def _strip_prolog(svg: str) -> str:
    i = svg.find("<svg")
    return svg[i:] if i >= 0 else svg


def plain_svg(run: Run) -> str:
    """Boxes in columns by role: clients, relays, servers, others."""
    roles = run.roles
    cols: dict[str, list[str]] = {}
    for n in ordered_nodes(roles):
        cols.setdefault(roles[n], []).append(n)
    order = [r for r in ("client", "relay", "other", "server") if r in cols]
    width = 40 + 170 * max(1, len(order))
    height = 40 + 46 * max([len(v) for v in cols.values()] or [1])
    doc = S.Svg(width, height, cls="topology", label="topology")
    for ci, role in enumerate(order):
        x = 20 + ci * 170
        doc.text(x, 18, role + "s", size=11, fill="#6c757d")
        for ri, n in enumerate(cols[role]):
            y = 28 + ri * 46
            doc.rect(x, y, 140, 34, fill=FILL.get(role, "#fff"), stroke="#495057", rx=6)
            doc.text(x + 70, y + 15, n, size=12, anchor="middle", weight="bold")
            doc.text(
                x + 70, y + 28, run.kinds.get(n, role), size=10, anchor="middle", fill="#495057"
            )
    return doc.render()


def topology_svg(run: Run) -> tuple[str, str]:
    """(inline SVG, a line saying what it was drawn from)."""
    dot_src, origin = topology_dot(run)
    dot = shutil.which("dot")
    if dot is not None:
        try:
            res = subprocess.run([dot, "-Tsvg"], input=dot_src, text=True, capture_output=True,
                                 timeout=60, check=False)  # fmt: skip
        except (OSError, subprocess.TimeoutExpired):
            res = None
        if res is not None and res.returncode == 0 and "<svg" in res.stdout:
            return _strip_prolog(res.stdout), origin
    return plain_svg(run), "the nodes in the trace (Graphviz's dot is not installed)"
