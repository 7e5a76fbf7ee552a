"""``lab inspect FILE``: the resolved topology, after defaults, generators and allocation."""

from __future__ import annotations

import argparse
import json
import sys

import yaml

from ..load.dump import topology_to_dict
from ._common import add_topology_arguments, load

HELP = "print the resolved topology (defaults, generators, addresses, routes) as YAML or JSON"
DESCRIPTION = """\
Print what a topology resolves to: every node with its kind, interfaces, addresses,
routes and options (inherited and derived defaults filled in), every link, the
scenario and the expectations with their source lines."""
EXAMPLES = """\
examples:
  lab inspect topologies/demo.yaml
  lab inspect topologies/clients50.yaml --set clients=3 -o json
  lab inspect topologies/demo.yaml -o json | jq '.nodes.s1.routes'
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_topology_arguments(p)
    p.add_argument(
        "-o", "--output", choices=("yaml", "json"), default="yaml", help="format (default yaml)"
    )


def run(args: argparse.Namespace) -> int:
    topo, rc = load(args)
    if topo is None:
        return rc
    data = topology_to_dict(topo)
    if args.output == "json":
        json.dump(data, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        yaml.safe_dump(data, sys.stdout, sort_keys=False, width=100, allow_unicode=True)
    return 0
