"""``lab status [NAME]``: every node's state (with its seed label) and leases."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..build import list_labs
from ._control import LabNotRunning, ask, run_root

HELP = "show every node's state, seed label, leases and remaining lifetimes"
DESCRIPTION = """\
Ask a running lab for each node: kind, state (and the seed document's label), leases
with remaining preferred/valid lifetimes, T1/T2 countdowns. --json prints
{"nodes": {NAME: {"kind", "state", "seed", "leases": [...]}}} for scripts."""
EXAMPLES = """\
examples:
  lab status demo
  lab status demo --json | jq '.nodes.c1.state'
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", help="lab name (default: the only running lab)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--run-root", metavar="DIR")


def default_lab(root) -> str | None:
    labs = [info.name for info in list_labs(root)]
    return labs[0] if len(labs) == 1 else None


def run(args: argparse.Namespace) -> int:
    root = run_root(args.run_root)
    name = args.name or default_lab(root)
    if name is None:
        print("lab status: name the lab (running: " + (", ".join(i.name for i in list_labs(root)) or "none") + ")",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        st = ask(name, {"cmd": "status"}, root)
    except LabNotRunning as e:
        print(f"lab status: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"lab": st.get("lab"), "t": st.get("t"), "nodes": st.get("nodes", {})}))
    else:
        print_table(st)
    return 0


def _lease_text(row: dict[str, Any]) -> str:
    parts = []
    for lease in row.get("leases", []):
        what = lease.get("address") or lease.get("prefix")
        left = lease.get("valid_left")
        pl = lease.get("preferred_left")
        parts.append(f"{what} ({'∞' if left is None else f'{pl:.0f}/{left:.0f}s'})")
    if "bindings" in row:
        parts.append(f"{row['bindings']} bindings")
    return ", ".join(parts)


def print_table(st: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    t = Table(
        title=f"lab {st.get('lab')}  (t = {st.get('t', 0):.1f} s, time scale {st.get('time_scale', 1)})"
    )
    for col in ("node", "kind", "state", "seed label", "leases (preferred/valid left)", "T1/T2 in"):
        t.add_column(col)
    for name, row in st.get("nodes", {}).items():
        timers = ""
        if row.get("t1_left") is not None:
            timers = f"{row['t1_left']:.0f}/{row['t2_left']:.0f}s"
        state = row.get("state") or row.get("process", "")
        if row.get("error"):
            state = f"[red]{escape(row['process'] + ': ' + row['error'])}[/red]"
        t.add_row(escape(name), row.get("kind", ""), state, escape(row.get("seed", "")),
                  escape(_lease_text(row)), timers)  # fmt: skip
    Console(width=max(100, Console().width), emoji=False).print(t)
