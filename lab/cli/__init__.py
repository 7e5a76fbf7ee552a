"""``lab`` command line: one module per verb in this package.

A verb module defines ``HELP`` (one line), ``DESCRIPTION``, ``EXAMPLES``,
``add_arguments(parser)`` and ``run(args) -> int``; dropping such a module here adds the
verb (modules whose name starts with ``_`` are helpers). Exit codes: 0 success, 1 the
topology or the work failed (one-line errors), 2 a usage error.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from types import ModuleType

#: Verbs in the order ``lab --help`` lists them; verbs not named here follow, sorted.
ORDER = (
    "up", "down", "status", "exec", "watch", "trace", "report", "graph", "capture",
    "clean", "validate", "inspect", "schema",
)  # fmt: skip

EXAMPLES = """\
examples:
  lab validate topologies/demo.yaml
  lab validate topologies/clients50.yaml --set clients=200
  lab inspect topologies/basic.yaml -o json
  lab graph topologies/demo.yaml -o demo.svg
  lab schema -o topology.schema.json

run `lab VERB --help` for a verb's options and examples.
"""


def verb_modules() -> dict[str, ModuleType]:
    names = [m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")]
    names.sort(key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))
    mods = {}
    for n in names:
        mod = importlib.import_module(f"{__name__}.{n}")
        if hasattr(mod, "run") and hasattr(mod, "add_arguments"):
            mods[getattr(mod, "VERB", n)] = mod
    return mods


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lab",
        description="dhcp6-lab: build DHCPv6 networks from YAML topologies in Linux namespaces",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for name, mod in verb_modules().items():
        p = sub.add_parser(
            name,
            help=getattr(mod, "HELP", ""),
            description=getattr(mod, "DESCRIPTION", getattr(mod, "HELP", "")),
            epilog=getattr(mod, "EXAMPLES", None),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        mod.add_arguments(p)
        p.set_defaults(run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print("lab: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `lab inspect … | head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
