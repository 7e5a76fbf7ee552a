"""``lab schema``: the topology format as a JSON Schema, for editors."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..schema import json_schema

HELP = "print the topology format as a JSON Schema (for editors)"
DESCRIPTION = """\
Print the topology format as a JSON Schema (draft 2020-12). It describes a topology
after jinja2 rendering; `lab validate` checks more (references, addresses, reachability).
With the YAML language server, put this first in a topology file:
  # yaml-language-server: $schema=topology.schema.json"""
EXAMPLES = """\
examples:
  lab schema -o topology.schema.json
  lab schema | jq '.["$defs"]["node-dhcp6-client"].properties | keys'
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")


def run(args: argparse.Namespace) -> int:
    text = json.dumps(json_schema(), indent=2) + "\n"
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as e:
            print(f"lab schema: cannot write {args.output}: {e.strerror or e}", file=sys.stderr)
            return 1
    else:
        sys.stdout.write(text)
    return 0
