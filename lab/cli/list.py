"""``lab list``: the labs on this machine."""

from __future__ import annotations

import argparse

from ..build import list_labs
from ._control import run_root

HELP = "list the labs on this machine"
DESCRIPTION = "Every lab with a run directory: its name, owner process, whether it is alive."
EXAMPLES = """\
examples:
  lab list
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run-root", metavar="DIR")


def run(args: argparse.Namespace) -> int:
    labs = list_labs(run_root(args.run_root))
    if not labs:
        print("no labs")
    for i in labs:
        print(f"{i.name}\t{'running' if i.alive else 'owner gone: `lab clean` removes it'}\t"
              f"pid {i.owner_pid}\t{i.namespaces} namespaces")  # fmt: skip
    return 0
