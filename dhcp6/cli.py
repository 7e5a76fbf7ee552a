"""The `dhcp6` command: protocol tools usable without the lab."""

from __future__ import annotations

import argparse
import sys

from .commands import client, decode, fsm, reconfigure, relay, server

VERBS = [client, decode, fsm, reconfigure, relay, server]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dhcp6",
        description="DHCPv6 (RFC 9915) tools: client, server, relay, reconfigure, and a decoder.",
        epilog="run 'dhcp6 VERB --help' for a verb's options and examples",
    )
    sub = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    for verb in VERBS:
        verb.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        sys.stderr.close()  # output piped into `head`: nothing more to say
        return 0


if __name__ == "__main__":
    sys.exit(main())
