"""``lab validate FILE``: check a topology without building anything."""

from __future__ import annotations

import argparse
import sys

from ._common import add_topology_arguments, load, plural

HELP = "check a topology: every error, one per line, with file:line"
DESCRIPTION = """\
Check a topology without building anything: jinja2 and YAML syntax, keys, kinds,
links and interfaces, addresses and prefixes, server configs, that every client can
reach a server or relay, relays their servers, real peers with the clock. Prints a
one-line summary and exits 0, or prints every error (file:line: path: problem — hint)
sorted by line and exits 1."""
EXAMPLES = """\
examples:
  lab validate topologies/basic.yaml
  lab validate topologies/clients50.yaml --set clients=500
  lab validate my.yaml || echo "fix the lines above"
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_topology_arguments(p)


def run(args: argparse.Namespace) -> int:
    topo, rc = load(args, errors=sys.stdout)
    if topo is None:
        return rc
    print(f"{args.file}: ok: {plural(len(topo.nodes), 'node')}, {plural(len(topo.links), 'link')}")
    return 0
