"""``lab trace NAME --ladder``: the options and the work (a helper, not a verb of its
own — ``lab trace`` adds these options and calls :func:`run_ladder`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

FORMATS = ("text", "mermaid", "svg")
SUFFIXES = {".txt": "text", ".mmd": "mermaid", ".svg": "svg"}


def add_ladder_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("ladder (message sequence diagram)")
    g.add_argument("--ladder", action="store_true",
                   help="draw the messages between nodes instead of printing events; "
                        "with --node, that node's exchanges (relay and server legs included)")  # fmt: skip
    g.add_argument("--format", choices=FORMATS,
                   help="text (default), mermaid (a sequenceDiagram) or svg")  # fmt: skip
    g.add_argument(
        "-o", "--output", metavar="FILE", help="write the ladder here (.txt, .mmd, .svg)"
    )


def run_ladder(args: argparse.Namespace, run_dir: Path) -> int:
    from ..observe.ladder import build_ladder, focus, to_mermaid, to_svg, to_text
    from ..observe.rundata import load_run

    try:
        run = load_run(run_dir)
    except FileNotFoundError as e:
        print(f"lab trace: {e}", file=sys.stderr)
        return 1
    fmt = args.format
    if fmt is None:
        fmt = SUFFIXES.get(Path(args.output).suffix.lower(), "text") if args.output else "text"
    lad = build_ladder(run.events, roles=run.roles)
    if args.node:
        missing = [n for n in args.node if n not in run.roles]
        if missing:
            print(f"lab trace: no node {', '.join(missing)} in the trace (nodes: "
                  f"{', '.join(sorted(run.roles))})", file=sys.stderr)  # fmt: skip
            return 1
        lad = focus(lad, args.node)
    if fmt == "mermaid":
        text = to_mermaid(lad)
    elif fmt == "svg":
        title = f"lab {run.name}" + (f" — {', '.join(args.node)}" if args.node else "")
        text = to_svg(lad, title=title)
    else:
        text = to_text(lad)
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as e:
            print(f"lab trace: cannot write {args.output}: {e.strerror or e}", file=sys.stderr)
            return 1
        print(f"{args.output}: {len(lad.arrows)} messages, {len(lad.lanes)} lanes ({fmt})")
    else:
        sys.stdout.write(text)
    return 0
