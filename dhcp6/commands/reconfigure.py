"""`dhcp6 reconfigure`: ask a running server to Reconfigure clients (RFC 9915 §18.3.11)."""

from __future__ import annotations

import argparse
import json
import sys

from ..control import request

HELP = "make a running dhcp6 server send authenticated Reconfigure messages"
EPILOG = """examples:
  dhcp6 reconfigure --control /run/s1.sock --client 00030001020000000001
  dhcp6 reconfigure --control /run/s1.sock --all --msg information-request
  dhcp6 reconfigure --control /run/s1.sock --subnet 2001:db8:1::/64 --msg rebind

Only clients that sent Reconfigure Accept (and so hold a reconfigure key) can be
reconfigured; the others are listed as skipped. One client: seed state Reconfigure;
--all / --subnet: Reconfigure Init."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reconfigure", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--control", required=True, metavar="SOCK", help="the server's control socket")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument(
        "--client", action="append", metavar="DUID", help="client DUID in hex (repeatable)"
    )
    g.add_argument("--all", action="store_true", help="every client with a binding")
    g.add_argument("--subnet", metavar="PREFIX", help="every client bound in this subnet")
    p.add_argument(
        "--msg",
        choices=["renew", "rebind", "information-request"],
        default="renew",
        help="what the clients answer with (default renew)",
    )
    p.add_argument("--json", action="store_true", help="print the server's answer as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    req = {"cmd": "reconfigure", "msg": args.msg, "clients": args.client or [],
           "all": args.all, "subnet": args.subnet}  # fmt: skip
    try:
        answer = request(args.control, req)
    except OSError as e:
        print(f"dhcp6 reconfigure: --control {args.control}: {e.strerror or e}; "
              "is the server running with --control?", file=sys.stderr)  # fmt: skip
        return 2
    if args.json:
        print(json.dumps(answer))
    if not answer.get("ok"):
        print(f"dhcp6 reconfigure: {answer.get('error', 'no answer')}", file=sys.stderr)
        return 1
    if not args.json:
        for c in answer.get("sent", []):
            print(f"sent Reconfigure ({args.msg}) to {c}")
        for c, why in answer.get("skipped", {}).items():
            print(f"skipped {c}: {why}")
    return 0 if answer.get("sent") else 1
