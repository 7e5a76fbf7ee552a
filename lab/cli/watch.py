"""``lab watch [NAME]``: a live terminal view of a running lab."""

from __future__ import annotations

import argparse
import sys
import time

from ..observe.watch import Activity, TraceTail, render
from ._control import LabNotRunning, ask, run_root
from .status import default_lab

HELP = "live view: each client's and server's state, leases, timers and last messages"
DESCRIPTION = """\
A live view of a running lab, redrawn every --interval seconds: one row per client,
relay and server with its state and the seed document's label, how long it has been in
that state, its leases with the preferred/valid time left, the T1/T2 countdown, and the
last message it sent (▶) and received (◀). Rows that just changed state are
highlighted and the latest transitions are listed below the table. It fits the
terminal (80×24 over ssh is fine: columns are cut with …). Times are protocol seconds.
Reads the supervisor's status and the lab's trace; Ctrl-C quits."""
EXAMPLES = """\
examples:
  lab watch demo
  lab watch demo --node c1 --node s1
  lab watch demo --once          # one frame, then exit (scripts, tests)
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", help="lab name (default: the only running lab)")
    p.add_argument("--once", action="store_true", help="print one frame and exit")
    p.add_argument("--interval", type=float, default=0.5, metavar="SECONDS",
                   help="seconds between frames (default 0.5)")  # fmt: skip
    p.add_argument("--node", action="append", metavar="NODE", help="only these nodes (repeatable)")
    p.add_argument("--all", action="store_true", help="also routers and hosts")
    p.add_argument("--run-root", metavar="DIR")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.live import Live

    root = run_root(args.run_root)
    name = args.name or default_lab(root)
    if name is None:
        print("lab watch: name the lab (see `lab list`)", file=sys.stderr)
        return 2
    try:
        status = ask(name, {"cmd": "status"}, root, timeout=10)
    except LabNotRunning as e:
        print(f"lab watch: {e}", file=sys.stderr)
        return 1
    kinds = {n: str(v.get("kind", "")) for n, v in (status.get("nodes") or {}).items()}
    unknown = sorted(set(args.node or []) - set(kinds))
    if unknown:
        print(f"lab watch: no node {', '.join(unknown)} in lab {name} (nodes: {', '.join(kinds)})",
              file=sys.stderr)  # fmt: skip
        return 2
    act = Activity(kinds)
    tail = TraceTail(root / name)
    act.feed(tail.poll())
    console = Console(emoji=False, highlight=False)
    opts = {"show_all": args.all, "nodes": args.node}
    if args.once:
        height = console.height if console.is_terminal else None
        console.print(render(status, act, width=console.width, height=height, **opts))
        return 0
    interval = max(0.1, args.interval)
    stopped = ""
    try:
        with Live(console=console, screen=True, auto_refresh=False, redirect_stdout=False,
                  redirect_stderr=False) as live:  # fmt: skip
            while True:
                act.feed(tail.poll())
                live.update(render(status, act, width=console.width, height=console.height,
                                   note="Ctrl-C quits", **opts), refresh=True)  # fmt: skip
                time.sleep(interval)
                try:
                    status = ask(name, {"cmd": "status"}, root, timeout=10)
                except LabNotRunning as e:
                    stopped = str(e)
                    break
    except KeyboardInterrupt:
        return 0
    if stopped:
        print(f"lab watch: {stopped}", file=sys.stderr)
        return 1
    return 0
