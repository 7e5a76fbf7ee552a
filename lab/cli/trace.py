"""``lab trace NAME``: the lab's merged trace (every node, in time order)."""

from __future__ import annotations

import argparse
import json
import sys
import time

from dhcp6.trace import merge

from ._control import run_root
from .ladder import add_ladder_arguments, run_ladder

HELP = "print the merged JSON-lines trace of a lab (optionally following it)"
DESCRIPTION = "Every node's trace events merged by time. --follow keeps printing new events."
EXAMPLES = """\
examples:
  lab trace demo
  lab trace demo --node c1 --follow
  lab trace demo | jq 'select(.event == "state")'
  lab trace demo --ladder --node c1 --format mermaid
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name")
    p.add_argument("--node", action="append", help="only these nodes (repeatable)")
    p.add_argument("--follow", "-f", action="store_true")
    p.add_argument("--run-root", metavar="DIR")
    add_ladder_arguments(p)


def run(args: argparse.Namespace) -> int:
    d = run_root(args.run_root) / args.name / "traces"
    if not d.is_dir():
        print(f"lab trace: no lab {args.name!r} (or it has no traces yet)", file=sys.stderr)
        return 1
    if args.ladder:
        return run_ladder(args, d.parent)
    files = sorted(d.glob("*.jsonl"))
    if args.node:
        files = [f for f in files if f.stem in args.node]
    for e in merge(files):
        print(json.dumps(e))
    if not args.follow:
        return 0
    offsets = {f: f.stat().st_size for f in files}
    try:
        while d.is_dir():
            for f in sorted(d.glob("*.jsonl")):
                if args.node and f.stem not in args.node:
                    continue
                size = f.stat().st_size
                if size > offsets.get(f, 0):
                    with open(f) as fh:
                        fh.seek(offsets.get(f, 0))
                        chunk = fh.read()
                    complete = chunk[: chunk.rfind("\n") + 1]
                    offsets[f] = offsets.get(f, 0) + len(complete.encode())
                    for line in complete.splitlines():
                        print(line, flush=True)
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    return 0
