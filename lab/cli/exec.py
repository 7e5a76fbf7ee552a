"""``lab exec NAME NODE -- CMD…``: run a command inside a node's namespace."""

from __future__ import annotations

import argparse
import os
import sys

from ._control import run_root

HELP = "run a command inside a node of a running lab"
DESCRIPTION = (
    "Run CMD in NODE's network namespace (its own mount namespace too, as ip netns exec does)."
)
EXAMPLES = """\
examples:
  lab exec demo c1 -- ip -6 addr show dev eth0
  lab exec demo r1 -- ping -6 -c1 2001:db8:1::2
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name")
    p.add_argument("node")
    p.add_argument("cmd", nargs=argparse.REMAINDER, help="-- then the command")
    p.add_argument("--run-root", metavar="DIR")


def run(args: argparse.Namespace) -> int:
    import json

    root = run_root(args.run_root)
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        print("lab exec: give a command after --", file=sys.stderr)
        return 2
    built = root / args.name / "lab.json"
    try:
        nodes = {
            n: v["namespace"] for n, v in json.loads(built.read_text()).get("nodes", {}).items()
        }
    except (OSError, ValueError):
        nodes = {}
    ns = nodes.get(args.node) or f"{args.name}-{args.node}"
    if not os.path.exists(f"/run/netns/{ns}"):
        print(f"lab exec: lab {args.name!r} has no node {args.node!r}", file=sys.stderr)
        return 1
    os.execvp("ip", ["ip", "netns", "exec", ns, *cmd])
    return 0
