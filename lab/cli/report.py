"""``lab report NAME -o FILE.html`` / ``lab report --from DIR -o FILE.html``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..build import list_labs
from ._control import LabNotRunning, ask, run_root
from .status import default_lab

HELP = "write one self-contained HTML page about a lab run (topology, timelines, ladder, leases)"
DESCRIPTION = """\
Write one HTML page that needs nothing else to be read (inline CSS and SVG, no script,
nothing fetched): the topology drawing, every node's last state with its seed label,
per-client state timelines with T1/T2/expiry marks, the ladder of all exchanges (and
each client's), the leases as clients and servers saw them, drops with their reasons,
errors, and the captures (embedded for download) checked against the ladder.

NAME reads a lab's run directory (run it before `lab down`, which removes it); --from
DIR reads any folder holding traces/*.jsonl (or *.jsonl) and optionally runtime.json,
lab.json and pcap/ — such as the artefacts a failed test leaves."""
EXAMPLES = """\
examples:
  lab report demo -o demo-report.html
  lab report --from /tmp/pytest-of-root/pytest-3/test_x0/labs/la -o failure.html
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", help="lab name (default: the only running lab)")
    p.add_argument("--from", dest="source", metavar="DIR",
                   help="a folder of traces (and runtime.json, lab.json, pcap/) instead of a lab")  # fmt: skip
    p.add_argument("-o", "--output", metavar="FILE.html",
                   help="where to write the page (default: NAME-report.html)")  # fmt: skip
    p.add_argument("--run-root", metavar="DIR")


def run(args: argparse.Namespace) -> int:
    from ..observe.report import write_report
    from ..observe.rundata import load_run

    status = None
    if args.source:
        if args.name:
            print("lab report: give a lab NAME or --from DIR, not both", file=sys.stderr)
            return 2
        folder = Path(args.source)
        origin = str(folder)
        name = None
    else:
        root = run_root(args.run_root)
        name = args.name or default_lab(root)
        if name is None:
            running = ", ".join(i.name for i in list_labs(root)) or "none"
            print(
                f"lab report: name the lab or use --from DIR (running: {running})", file=sys.stderr
            )
            return 2
        folder = root / name
        if not folder.is_dir():
            running = ", ".join(i.name for i in list_labs(root)) or "none"
            print(f"lab report: no lab {name!r} under {root} (running: {running}); "
                  "for saved traces use --from DIR", file=sys.stderr)  # fmt: skip
            return 1
        origin = f"lab {name} ({folder})"
        try:
            status = ask(name, {"cmd": "status"}, root, timeout=10)
        except LabNotRunning:
            status = None  # a stopped lab's files still make a report
    try:
        run_data = load_run(folder, name)
    except FileNotFoundError as e:
        print(f"lab report: {e}", file=sys.stderr)
        return 1
    if status and status.get("ok", True):
        run_data.status = status
    out = Path(args.output or f"{run_data.name}-report.html")
    try:
        write_report(run_data, out, origin=origin)
    except OSError as e:
        print(f"lab report: cannot write {out}: {e.strerror or e}", file=sys.stderr)
        return 1
    for p in run_data.problems[:5]:
        print(f"lab report: warning: {p}", file=sys.stderr)
    print(f"{out}: report of lab {run_data.name} ({len(run_data.events)} events, "
          f"{len(run_data.roles)} nodes)")  # fmt: skip
    return 0
