"""`dhcp6 decode`: print one message, or every DHCPv6 packet of a capture, as a tree."""

from __future__ import annotations

import argparse
import datetime as _dt
import sys

from ..io.pcap import PcapError, read_dhcp6
from ..wire import ParseError, decode
from ..wire.describe import tree

HELP = "print a DHCPv6 message (hex) or every DHCPv6 packet of a pcap as a readable tree"
EPILOG = """examples:
  dhcp6 decode 01a1b2c30001000e000100012a3b4c5d001122334455
  dhcp6 decode --pcap capture.pcap
  tcpdump -w - -i eth0 port 547 | dhcp6 decode --pcap /dev/stdin"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "decode",
        help=HELP,
        description=HELP,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("hex", nargs="?", help="one message in hex (spaces and colons allowed)")
    g.add_argument("--pcap", metavar="FILE", help="a pcap or pcapng capture")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.pcap is None:
        text = "".join(args.hex.replace(":", "").split())
        try:
            data = bytes.fromhex(text)
        except ValueError:
            print(
                f"dhcp6 decode: {args.hex[:40]!r} is not hexadecimal; "
                "give the message bytes as hex, e.g. 01a1b2c3…",
                file=sys.stderr,
            )
            return 2
        try:
            print("\n".join(tree(decode(data))))
        except ParseError as e:
            print(f"dhcp6 decode: malformed message: {e}", file=sys.stderr)
            return 2
        return 0
    count = 0
    try:
        for d in read_dhcp6(args.pcap):
            count += 1
            when = _dt.datetime.fromtimestamp(d.time, _dt.UTC).strftime("%H:%M:%S.%f")
            print(f"#{d.index} {when} [{d.src}]:{d.sport} → [{d.dst}]:{d.dport}")
            try:
                lines = tree(decode(d.payload))
            except ParseError as e:
                lines = [f"malformed DHCPv6 payload: {e}"]
            print("\n".join("  " + line for line in lines))
            print()
    except PcapError as e:
        print(f"dhcp6 decode: {e}", file=sys.stderr)
        return 2
    if count == 0:
        print(
            f"dhcp6 decode: no DHCPv6 packets (UDP 546/547 over IPv6) in {args.pcap}",
            file=sys.stderr,
        )
        return 1
    return 0
