"""``lab capture NAME LINK``: write a pcap of one link of a running lab."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from ._control import run_root

HELP = "capture one link of a running lab to a pcap (tcpdump inside the lab)"
DESCRIPTION = """\
Capture LINK of lab NAME with tcpdump until Ctrl-C, --count packets or --duration
seconds. A LAN is captured on its bridge (br0 in the LAN's namespace: every member's
frames); a point-to-point link on its first endpoint; NODE:IFACE on that interface.
The pcap opens in Wireshark/tshark as DHCPv6 (checksums are valid: the lab turns veth
tx offload off). `lab up --pcap` (and pytest --lab-pcap) capture every link from the
start instead."""
EXAMPLES = """\
examples:
  lab capture demo lan2                       # → ./demo-lan2.pcap, Ctrl-C stops
  lab capture demo lan1 -w /tmp/lan1.pcap --duration 30
  lab capture demo c1:eth0 --count 20
  tshark -r demo-lan2.pcap -Y dhcpv6
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="the lab")
    p.add_argument("link", help="a link name, or NODE:IFACE")
    p.add_argument("-w", "--write", metavar="FILE", help="pcap to write (default NAME-LINK.pcap)")
    p.add_argument("--count", type=int, metavar="N", help="stop after N packets")
    p.add_argument("--duration", type=float, metavar="SECONDS", help="stop after SECONDS")
    p.add_argument("--run-root", metavar="DIR")


def run(args: argparse.Namespace) -> int:
    from ..run.capture import CaptureError, capture_point, read_lab_json, start_capture

    root = run_root(args.run_root)
    run_dir = root / args.name
    try:
        info = read_lab_json(run_dir)
    except (OSError, ValueError):
        print(f"lab capture: no lab {args.name!r} under {root} (see `lab list`)", file=sys.stderr)
        return 1
    try:
        ns, iface = capture_point(info, args.link)
    except CaptureError as e:
        print(f"lab capture: {e}", file=sys.stderr)
        return 1
    out = Path(args.write or f"{args.name}-{args.link.replace(':', '-')}.pcap").resolve()
    try:
        cap = start_capture(ns, iface, out, link=args.link, count=args.count)
    except CaptureError as e:
        print(f"lab capture: {e}", file=sys.stderr)
        return 1
    print(
        f"capturing {args.link} ({ns}:{iface}) to {out}; Ctrl-C stops", file=sys.stderr, flush=True
    )
    try:
        cap.popen.wait(args.duration)
    except subprocess.TimeoutExpired:
        pass
    except KeyboardInterrupt:
        pass
    finally:
        cap.stop()
    log = cap.log.read_text(errors="replace") if cap.log.exists() else ""
    cap.log.unlink(missing_ok=True)
    captured = next((ln.strip() for ln in log.splitlines() if "captured" in ln), "")
    print(f"{out}: {captured or 'done'}", file=sys.stderr)
    return 0 if cap.popen.returncode in (0, -2, 130) or captured else 1
