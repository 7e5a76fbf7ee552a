"""``lab clean``: remove what crashed labs left behind, and nothing else."""

from __future__ import annotations

import argparse

from ..build import clean
from ._control import run_root

HELP = "remove leftovers of labs whose supervisor died (never anything else)"
DESCRIPTION = """\
A lab whose owning process is gone (crashed, killed) is removed: its processes, its
namespaces (only those recorded in its run directory) and the run directory. Labs
that are running, and anything not made by a lab, are never touched."""
EXAMPLES = """\
examples:
  lab clean
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run-root", metavar="DIR")


def run(args: argparse.Namespace) -> int:
    removed = clean(run_root(args.run_root))
    print("removed: " + ", ".join(removed) if removed else "nothing to clean")
    return 0
