"""`dhcp6 relay`: a DHCPv6 relay agent (RFC 9915 §19)."""

from __future__ import annotations

import argparse

HELP = "run a DHCPv6 relay agent between client links and servers"
EPILOG = """examples:
  dhcp6 relay --listen eth1 --server 2001:db8:1::1
  dhcp6 relay --listen eth1 --listen eth2 --server 2001:db8:1::1 --server 2001:db8:1::2 --interface-id
  dhcp6 relay --listen eth1                  # no --server: to ff05::1:3, hop limit 8
  dhcp6 relay --listen eth1 --server fe80::1%eth0 --trace -"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "relay",
        help=HELP,
        description=HELP,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--listen",
        action="append",
        required=True,
        metavar="IF",
        help="a client-facing interface (repeatable)",
    )
    p.add_argument(
        "--server",
        action="append",
        default=[],
        metavar="ADDR[%IF]",
        help="where Relay-forwards go (repeatable; default ff05::1:3)",
    )
    p.add_argument(
        "--interface-id",
        action="store_true",
        help="always add an Interface-ID option (it is added anyway on a link without a global address)",
    )
    p.add_argument("--trace", metavar="PATH|-", help="write JSON-lines trace events here")
    p.add_argument("--netns", metavar="NS", help="open the sockets in this network namespace")
    p.add_argument("--node", default="relay", help="node name in trace events")
    p.set_defaults(run=main)  # fmt: skip


def main(args: argparse.Namespace) -> int:
    from ..daemons.common import run
    from ..daemons.relay import RelayDaemon, RelayOptions

    opts = RelayOptions(
        args.listen, args.server, args.interface_id, args.trace, args.netns, args.node
    )
    return run(lambda: RelayDaemon(opts).run())
