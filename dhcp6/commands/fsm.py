"""`dhcp6 fsm`: draw the client, server or relay state machine from the engine's table."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

HELP = "draw a state diagram (client, server, relay) from the engine's own transition table"
EPILOG = """examples:
  dhcp6 fsm client                              # Mermaid on stdout (paste into a slide)
  dhcp6 fsm client --vocabulary seed            # the original names: Solicit, Request, …
  dhcp6 fsm server --format dot -o server.dot
  dhcp6 fsm client --format svg -o client.svg   # needs Graphviz (Debian package graphviz)"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fsm", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("role", choices=("client", "server", "relay"))
    p.add_argument("--format", choices=["mermaid", "dot", "svg", "png"], default="mermaid")
    p.add_argument(
        "--vocabulary",
        choices=["rfc", "seed"],
        default="rfc",
        help="RFC 9915 state names, or the seed document's (with the RFC name)",
    )
    p.add_argument(
        "-o", "--output", metavar="FILE", help="write here (default stdout; required for svg/png)"
    )
    p.set_defaults(run=run)  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from .. import fsm  # the engines' tables: loaded only for this verb

    text = (fsm.mermaid if args.format == "mermaid" else fsm.dot)(args.role, args.vocabulary)
    if args.format in ("mermaid", "dot"):
        if args.output:
            Path(args.output).write_text(text)
        else:
            sys.stdout.write(text)
        return 0
    if not args.output:
        print(f"dhcp6 fsm: --format {args.format} needs -o FILE", file=sys.stderr)
        return 2
    dot = shutil.which("dot")
    if dot is None:
        print("dhcp6 fsm: Graphviz's `dot` is missing: apt-get install graphviz "
              "(or use --format mermaid|dot)", file=sys.stderr)  # fmt: skip
        return 2
    r = subprocess.run([dot, f"-T{args.format}", "-o", args.output], input=text, text=True,
                       capture_output=True, timeout=60)  # fmt: skip
    if r.returncode != 0:
        print(f"dhcp6 fsm: dot failed: {r.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return 2
    return 0
