"""Helpers shared by the verbs: the topology argument, ``--set``, error printing."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from ..load import TopologyError, load_topology, parse_overrides
from ..model import Topology


def add_topology_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="topology file (jinja2, then YAML)")
    p.add_argument(
        "--set",
        dest="overrides",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        help="set a template variable (repeatable; the value is read as YAML: 50, true, text)",
    )


def load(args: argparse.Namespace, errors: TextIO | None = None) -> tuple[Topology | None, int]:
    """The topology named by ``args``, or (None, exit code) after printing the errors."""
    out = errors if errors is not None else sys.stderr
    try:
        overrides = parse_overrides(args.overrides)
    except TopologyError as e:
        for line in e.errors:
            print(line, file=out)
        return None, 2
    try:
        return load_topology(args.file, overrides), 0
    except TopologyError as e:
        for line in e.errors:
            print(line, file=out)
        return None, 1


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
