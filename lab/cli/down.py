"""``lab down NAME``: stop a lab's nodes (clients release first) and remove it."""

from __future__ import annotations

import argparse
import sys
import time

from ..build import list_labs, teardown
from ..build.state import read_owner
from ..run.supervisor import log_path, progress_path
from ._control import LabNotRunning, ask, pid_alive, run_root

HELP = "stop a lab and remove everything it made"
DESCRIPTION = """\
Ask the lab's supervisor to stop every node (clients first, so their Releases are
answered), then remove the lab's namespaces, processes and run directory. A lab whose
supervisor is gone is removed directly."""
EXAMPLES = """\
examples:
  lab down demo
  lab down --all
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("name", nargs="?", help="the lab to remove")
    g.add_argument("--all", action="store_true", help="every lab")
    p.add_argument("--run-root", metavar="DIR")
    p.add_argument("--timeout", type=float, default=30)


def down(name: str, root, timeout: float = 30) -> None:
    owner = read_owner(root / name) or {}
    pid = owner.get("pid")
    try:
        ask(name, {"cmd": "stop"}, root)
        deadline = time.monotonic() + timeout
        while pid and pid_alive(pid) and time.monotonic() < deadline and (root / name).exists():
            time.sleep(0.05)
    except LabNotRunning:
        pass
    if (root / name).exists():
        teardown(name, root)  # whatever is left (a dead or stuck supervisor): by ownership
    progress_path(root, name).unlink(missing_ok=True)
    log_path(root, name).unlink(missing_ok=True)


def run(args: argparse.Namespace) -> int:
    root = run_root(args.run_root)
    names = [i.name for i in list_labs(root)] if args.all else [args.name]
    if not args.all and not (root / args.name).exists():
        print(f"lab down: no lab {args.name!r} (running: {', '.join(i.name for i in list_labs(root)) or 'none'})",
              file=sys.stderr)  # fmt: skip
        return 1
    for n in names:
        down(n, root, args.timeout)
        print(f"lab {n}: down")
    return 0
