"""`dhcp6 client` (one client) and `dhcp6 clients` (many namespaces, one process)."""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
from pathlib import Path

from ..daemons.common import UserError, make_tracer, run

DEFAULT_STATE_ROOT = "/var/lib/dhcp6-lab/client"  # the daemon and engine load on use

HELP = "run the DHCPv6 client (RFC 9915): lease addresses/prefixes onto an interface"
EPILOG = """examples:
  dhcp6 client --interface eth0 --trace -
  dhcp6 client -i eth0 --ia-na 1 --ia-pd 1/56 --downstream lan0 --state-dir /tmp/c1
  dhcp6 client -i eth0 --stateless          # Information-request only (DNS, search list)
  dhcp6 client -i eth0 --time-scale 60      # a class watches Renew/Rebind in seconds

SIGTERM releases the leases (addresses removed first), then exits; SIGKILL leaves the
kernel's lifetimes to expire by themselves."""

CLIENTS_HELP = "run many DHCPv6 clients, one per network namespace, in one process"
CLIENTS_EPILOG = """examples:
  dhcp6 clients --netns lab-c1,lab-c2,lab-c3 --interface eth0 --state-root /tmp/st --trace /tmp/tr
  dhcp6 clients --netns-file names.txt -i eth0 --rapid-commit --trace -"""


def _ia_pd(text: str) -> tuple[int, int | None]:
    n, _, hint = text.partition("/")
    try:
        count, length = int(n), (int(hint) if hint else None)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: use N or N/HINTLEN, e.g. 1/56") from None
    if count < 0 or (length is not None and not 1 <= length <= 128):
        raise argparse.ArgumentTypeError(f"{text!r}: count ≥ 0, hint length 1–128")
    return count, length


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("-i", "--interface", required=True, metavar="IF", help="the client's link")
    p.add_argument(
        "--ia-na", type=int, default=1, metavar="N", help="IA_NAs to ask for (default 1)"
    )
    p.add_argument(
        "--ia-pd",
        type=_ia_pd,
        default=(0, None),
        metavar="N[/HINTLEN]",
        help="IA_PDs to ask for, with an optional prefix-length hint",
    )
    p.add_argument("--rapid-commit", action="store_true", help="ask for a two-message exchange")
    p.add_argument(
        "--reconfigure-accept",
        action="store_true",
        help="accept authenticated Reconfigure messages from our server",
    )
    p.add_argument("--stateless", action="store_true", help="Information-request only")
    p.add_argument(
        "--prefixlen",
        type=int,
        default=128,
        metavar="N",
        help="prefix length of leased addresses on the interface (default 128)",
    )
    p.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        metavar="N",
        help="every timer and lifetime N× faster (only with our own server)",
    )
    p.add_argument("--seed", type=int, help="seed the random delays and transaction ids")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "client",
        help=HELP,
        description=HELP,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(p)
    p.add_argument(
        "--downstream", metavar="IF2", help="number the first /64 of a delegated prefix here"
    )
    p.add_argument(
        "--state-dir", metavar="DIR", help=f"DUID and IAIDs (default {DEFAULT_STATE_ROOT}/IF)"
    )
    p.add_argument("--trace", metavar="PATH|-", help="write JSON-lines trace events here")
    p.add_argument("--netns", metavar="NS", help="run inside this network namespace")
    p.add_argument("--node", default="client", help="node name in trace events")
    p.set_defaults(run=main)
    q = sub.add_parser(
        "clients",
        help=CLIENTS_HELP,
        description=CLIENTS_HELP,
        epilog=CLIENTS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(q)
    g = q.add_mutually_exclusive_group(required=True)
    g.add_argument("--netns", metavar="NS1,NS2,…", help="the clients' namespaces")
    g.add_argument("--netns-file", metavar="FILE", help="namespace names, one per line")
    q.add_argument(
        "--state-root",
        default=DEFAULT_STATE_ROOT,
        metavar="DIR",
        help="one state folder per namespace under this one",
    )
    q.add_argument(
        "--trace", metavar="DIR|-", help="one trace file per namespace in DIR, or - for stdout"
    )
    q.set_defaults(run=main_many)  # fmt: skip


def _config(args: argparse.Namespace, downstream: str | None = None):  # -> ClientConfig
    from ..engine.client import ClientConfig

    if args.ia_na < 0:
        raise UserError("--ia-na must be ≥ 0")
    pd, hint = args.ia_pd
    if not args.stateless and args.ia_na == 0 and pd == 0:
        raise UserError("nothing to ask for: give --ia-na N or --ia-pd N, or use --stateless")
    return ClientConfig(iface=args.interface, ia_na=0 if args.stateless else args.ia_na,
                        ia_pd=0 if args.stateless else pd, pd_hint_length=hint,
                        rapid_commit=args.rapid_commit, reconfigure_accept=args.reconfigure_accept,
                        stateless=args.stateless, prefixlen=args.prefixlen,
                        downstream=downstream)  # fmt: skip


async def _serve(clients: list) -> int:
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)
    started: list = []
    try:
        for c in clients:
            await c.start()
            started.append(c)
            # A start blocks the loop for a few ms (sockets opened in its namespace). Yield
            # so clients already started fire their timers on time: otherwise every random
            # initial delay that ran out during a long startup fires at its end, at once.
            await asyncio.sleep(0)
        await done.wait()
    finally:
        await asyncio.gather(*(c.stop() for c in started))
        for c in clients:
            c.tracer.close()
    return 0


def main(args: argparse.Namespace) -> int:
    cfg_args = args

    from ..daemons.client import HostedClient

    async def go() -> int:
        state = Path(args.state_dir or f"{DEFAULT_STATE_ROOT}/{args.interface}")
        c = HostedClient(_config(cfg_args, args.downstream), state,
                         make_tracer(args.trace, args.node, args.time_scale), netns=args.netns,
                         time_scale=args.time_scale, rng=random.Random(args.seed))  # fmt: skip
        return await _serve([c])

    return run(go)


def main_many(args: argparse.Namespace) -> int:
    from ..daemons.client import HostedClient

    async def go() -> int:
        if args.netns_file:
            try:
                names = [
                    ln.strip()
                    for ln in Path(args.netns_file).read_text().splitlines()
                    if ln.strip()
                ]
            except OSError as e:
                raise UserError(f"--netns-file {args.netns_file}: {e.strerror}") from None
        else:
            names = [n for n in args.netns.split(",") if n]
        if not names:
            raise UserError("no namespaces given")
        clients = []
        for i, ns in enumerate(names):
            trace = (
                args.trace if args.trace in (None, "-") else str(Path(args.trace) / f"{ns}.jsonl")
            )
            seed = None if args.seed is None else args.seed + i
            clients.append(HostedClient(_config(args), Path(args.state_root) / ns,
                                        make_tracer(trace, ns, args.time_scale), netns=ns,
                                        time_scale=args.time_scale, rng=random.Random(seed)))  # fmt: skip
        return await _serve(clients)

    return run(go)
