"""`dhcp6 server`: run the DHCPv6 server on one or more interfaces."""

from __future__ import annotations

import argparse

DEFAULT_LEASES = "/var/lib/dhcp6-lab/server/leases.sqlite"  # the daemon is imported on use

HELP = "run the DHCPv6 server (RFC 9915) with leases kept in SQLite"
EPILOG = """examples:
  dhcp6 server --interface eth0 --config server.yaml --leases /tmp/s1/leases.sqlite
  dhcp6 server --interface eth0 --config server.yaml --trace - --control /tmp/s1.sock
  ip netns exec lab-s1 dhcp6 server -i eth0 -c server.yaml --trace s1.jsonl

config (YAML, shaped like Kea's subnet6):
  preference: 0
  rapid_commit: false
  lifetimes: {preferred: 3000, valid: 4000}     # t1/t2 optional: 0.5/0.8 × preferred
  subnets:
    - prefix: 2001:db8:1::/64
      interface: eth0                           # omit for a relayed subnet
      pools: ["2001:db8:1::100-2001:db8:1::1ff"]
      pd_pools: [{prefix: "2001:db8:8000::/48", delegated_length: 56}]
      options: {dns_servers: ["2001:db8::53"], domain_search: [lab.example]}

signals: SIGTERM exits (leases are already on disk); SIGHUP reloads the config.
control socket: JSON lines {"cmd": "leases"|"stats"|"reload"}."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("server", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument(
        "-i",
        "--interface",
        action="append",
        default=[],
        metavar="IF",
        help="serve this interface (repeatable); subnets' interfaces are added",
    )
    p.add_argument("-c", "--config", required=True, metavar="FILE", help="server config (YAML)")
    p.add_argument(
        "--leases",
        default=DEFAULT_LEASES,
        metavar="PATH",
        help=f"SQLite lease database, created if missing (default {DEFAULT_LEASES}; "
        "':memory:' keeps nothing)",
    )
    p.add_argument("--trace", metavar="PATH|-", help="write JSON-lines trace events here")
    p.add_argument("--control", metavar="PATH.sock", help="control socket (unix stream)")
    p.add_argument("--netns", metavar="NS", help="open the sockets in this network namespace")
    p.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        metavar="N",
        help="run every lifetime and timer N× faster (only with our own clients)",
    )
    p.add_argument("--node", default="server", help="node name in trace events")
    p.add_argument(
        "--durability",
        choices=["normal", "full"],
        default="normal",
        help="normal: survives a crash or kill -9; full: also power loss (fsync)",
    )
    p.set_defaults(run=main)  # fmt: skip


def main(args: argparse.Namespace) -> int:
    from ..daemons.common import run
    from ..daemons.server import ServerDaemon, ServerOptions

    opts = ServerOptions(
        interfaces=args.interface, config=args.config, leases=args.leases, trace=args.trace,
        control=args.control, netns=args.netns, time_scale=args.time_scale, node=args.node,
        durability=args.durability,
    )  # fmt: skip
    return run(lambda: ServerDaemon(opts).run())
