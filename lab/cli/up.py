"""``lab up FILE``: build a lab and start its nodes under a detached supervisor."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from ..run.supervisor import log_path, progress_path
from ._common import add_topology_arguments, load
from ._control import ask, pid_alive, run_root
from .status import print_table

HELP = "build a lab from a topology and start it (returns with the lab running)"
DESCRIPTION = """\
Build the topology's namespaces, links and addresses, then start every node — our
DHCPv6 engines hosted by one supervisor process, real peers as processes in their
namespaces — servers and relays before clients. Shows progress, then a status table,
and returns with the lab running: `lab status`, `lab trace`, `lab exec`, `lab down`."""
EXAMPLES = """\
examples:
  lab up topologies/basic.yaml
  lab up topologies/clients50.yaml --set clients=100 --name big
  lab up topologies/basic.yaml --time-scale 60 --wait-bound 30
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_topology_arguments(p)
    p.add_argument("--name", help="lab name (default: the topology's name)")
    p.add_argument("--time-scale", type=float, metavar="N", help="our engines run N× faster")
    p.add_argument("--pcap", action="store_true", help="capture every real peer's interface")
    p.add_argument(
        "--run-root", metavar="DIR", help="where labs keep their state (default /run/dhcp6-lab)"
    )
    p.add_argument(
        "--timeout", type=float, default=120, help="seconds to wait for the lab to start"
    )
    p.add_argument("--wait-bound", type=float, metavar="SECONDS",
                   help="then wait until every client is bound; exit 1 if not within SECONDS")  # fmt: skip


def _preflight() -> str | None:
    if os.geteuid() != 0:
        return "lab up needs root (network namespaces): run it with sudo, or as root"
    if not Path("/proc/sys/net/ipv6").exists():
        return "this kernel has IPv6 disabled (no /proc/sys/net/ipv6): boot with ipv6 enabled"
    if Path("/proc/sys/net/ipv6/conf/all/disable_ipv6").read_text().strip() == "1":
        return "IPv6 is disabled (net.ipv6.conf.all.disable_ipv6=1): `sysctl -w net.ipv6.conf.all.disable_ipv6=0`"
    return None


def run(args: argparse.Namespace) -> int:
    problem = _preflight()
    if problem:
        print(f"lab up: {problem}", file=sys.stderr)
        return 1
    topo, rc = load(args)
    if topo is None:
        return rc
    peers = sorted(n.name for n in topo.nodes.values() if n.peer)
    if args.time_scale and args.time_scale != 1.0 and peers:
        print(f"lab up: --time-scale {args.time_scale:g} with real peers ({', '.join(peers)}): real peers "
              "keep real time; drop --time-scale or the real-peer nodes", file=sys.stderr)  # fmt: skip
        return 1
    name = args.name or topo.name
    root = run_root(args.run_root)
    root.mkdir(parents=True, exist_ok=True)
    prog = progress_path(root, name)
    if (root / name).exists():
        print(
            f"lab up: a lab named {name!r} exists already: `lab down {name}` or choose --name",
            file=sys.stderr,
        )
        return 1
    prog.unlink(missing_ok=True)
    argv = [
        sys.executable,
        "-m",
        "lab.run.supervisor",
        args.file,
        "--name",
        name,
        "--run-root",
        str(root),
    ]
    for o in args.overrides:
        argv += ["--set", o]
    if args.time_scale:
        argv += ["--time-scale", str(args.time_scale)]
    if args.pcap:
        argv.append("--pcap")
    log = open(log_path(root, name), "ab")  # noqa: SIM115 - the supervisor keeps it
    sup = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                           start_new_session=True, cwd=os.getcwd())  # fmt: skip
    log.close()
    rc = _follow(name, root, sup, prog, args.timeout)
    if rc != 0:
        return rc
    all_bound = True
    if args.wait_bound:
        deadline = time.monotonic() + args.wait_bound
        while True:
            st = ask(name, {"cmd": "status"}, root)
            all_bound = all(r.get("bound", True) for r in st["nodes"].values())
            if all_bound or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    print_table(ask(name, {"cmd": "status"}, root))
    if not all_bound:
        print(f"lab up: not every client was bound within {args.wait_bound} s (the lab keeps running)",
              file=sys.stderr)  # fmt: skip
        return 1
    return 0


def _follow(name: str, root: Path, sup: subprocess.Popen, prog: Path, timeout: float) -> int:
    from rich.progress import BarColumn, Progress, TextColumn

    deadline = time.monotonic() + timeout
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  transient=True, disable=not sys.stderr.isatty()) as bar:  # fmt: skip
        task = bar.add_task(f"lab {name}: starting", total=None)
        while True:
            state = json.loads(prog.read_text()) if prog.exists() else {}
            phase = state.get("phase")
            if phase in ("build", "start"):
                bar.update(task, description=f"lab {name}: {'building' if phase == 'build' else 'starting nodes'}",
                           completed=state.get("done", 0), total=state.get("total") or None)  # fmt: skip
            if phase == "running":
                return 0
            if phase == "failed":
                print(f"lab up: {state.get('error')}", file=sys.stderr)
                sup.wait(30)
                prog.unlink(missing_ok=True)
                return 1
            if sup.poll() is not None or not pid_alive(sup.pid):
                tail = log_path(root, name).read_text(errors="replace").strip().splitlines()[-1:]
                print(f"lab up: the supervisor exited ({sup.returncode}): {tail[0] if tail else 'no output'}; "
                      f"see {log_path(root, name)}", file=sys.stderr)  # fmt: skip
                return 1
            if time.monotonic() > deadline:
                print(
                    f"lab up: not running after {timeout} s; see {log_path(root, name)}",
                    file=sys.stderr,
                )
                return 1
            time.sleep(0.05)
