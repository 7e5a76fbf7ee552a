"""``lab sim FILE``: run a topology in the deterministic simulator (no root, no namespaces)."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

HELP = "simulate a topology on a virtual clock: same engines, same trace, no root"
DESCRIPTION = """\
Run the topology's dhcp6 servers, clients and relays — the same engines the namespace
lab runs — on virtual links and a virtual clock: a week of protocol time takes as long
as its events take to compute. LANs deliver multicast to their members, routers and
relays forward by the model's routes, links have the topology's impairments, and the
topology's scenario: steps (kill, stop, start, restart, link_down/up, reconfigure,
netem) happen at their times. The same --seed gives the same trace, byte for byte.

Prints a summary (per client: state, transitions, renewals, rebinds, expiries; per
server: bindings, lease events, drops by reason). A topology's expect: block is checked
as the pytest plugin checks it — once the scenario is over, positive checks awaited up
to 30 protocol seconds — and the exit code is 1 if one is not met (or a step failed). --trace writes the JSON-lines trace
the namespace lab writes (t and pt are virtual seconds); a directory gets one
traces/NODE.jsonl per node, like a lab's run directory. --step advances event by event
reading commands from stdin (Enter: next event, `t 1h`: jump, `q`: quit).

Real peers (kea, dnsmasq, dhclient, dhcpcd, wide-dhcp6c) only run in namespaces:
`lab up`."""
EXAMPLES = """\
examples:
  lab sim topologies/basic.yaml
  lab sim topologies/relay.yaml --duration 7d --seed 3 --trace relay.jsonl
  lab sim topologies/clients50.yaml --set clients=2000 --duration 1d
  lab sim topologies/basic.yaml --step            # Enter, Enter, t 10m, s, q
  printf '\\n\\nt 1h\\nq\\n' | lab sim topologies/basic.yaml --step
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ._common import add_topology_arguments

    add_topology_arguments(p)
    p.add_argument("--duration", metavar="TIME",
                   help="protocol time to simulate: 90s, 10m, 1h, 7d, 1h30m (default: 1h, "
                        "or until the scenario and expect: are done if later)")  # fmt: skip
    p.add_argument(
        "--seed",
        default="0",
        metavar="N",
        help="fixes every random draw, xid, reconfigure key and DUID (default 0)",
    )
    p.add_argument("--trace", metavar="PATH",
                   help="write the trace: a file (all nodes, in time order) or DIR/ (a file per node)")  # fmt: skip
    p.add_argument("--step", action="store_true", help="advance event by event (commands on stdin)")
    p.add_argument("--no-scenario", action="store_true",
                   help="ignore the topology's scenario: (and its expect:, written for it)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--clients", type=int, default=20, metavar="N",
                   help="list clients one per row up to N of them, else totals (default 20)")  # fmt: skip


def _seed(text: str) -> object:
    try:
        return int(text)
    except ValueError:
        return text


def run(args: argparse.Namespace) -> int:
    from ..sim.expect import EXPECT_WITHIN, expect_nodes
    from ..sim.nodes import SimError
    from ..sim.simulator import Simulator
    from ..sim.stepper import parse_duration, run_stepper
    from ..sim.summary import fmt_duration, format_summary, summarize
    from ..sim.tracing import SimTrace
    from ._common import load

    duration = None
    if args.duration is not None:
        try:
            duration = parse_duration(args.duration)
        except ValueError as e:
            print(f"lab sim: --duration: {e}", file=sys.stderr)
            return 2
    topo, rc = load(args)
    if topo is None:
        return rc
    seed = _seed(args.seed)
    expect = bool(topo.expect) and not args.no_scenario
    try:
        trace = SimTrace(args.trace, keep=expect_nodes(topo) if expect else False,
                         meta={"name": topo.name, "source": topo.source, "seed": seed})  # fmt: skip
    except OSError as e:
        print(f"lab sim: --trace {args.trace}: {e.strerror or e}", file=sys.stderr)
        return 1
    lab = None
    try:
        if expect:  # the pytest handle checks expect: (it imports the namespace runtime)
            from ..sim.handle import SimLab

            lab = SimLab(topo, seed=seed, trace=trace, scenario=not args.no_scenario, start=False)
            sim = lab.sim
        else:
            sim = Simulator(topo, seed=seed, trace=trace, scenario=not args.no_scenario)
    except SimError as e:
        trace.close()
        print(f"lab sim: {args.file}: {e}", file=sys.stderr)
        return 1
    limit = duration if duration is not None else math.inf
    failures: list[str] = []
    checked = False
    t0 = time.perf_counter()
    try:
        if args.step:
            end = duration if duration is not None else max(3600.0, sim.scenario_end())
            run_stepper(sim, end, sys.stdin, sys.stdout, prompt=sys.stdin.isatty())
            if lab is not None and not sim.failures:
                failures, checked = lab.expectation_failures(within=0), True
        else:
            # the scenario, then expect: (awaited up to 30 s), then the rest of --duration
            sim.run_until(limit, stop=lambda: sim.scenario_complete)
            if lab is not None and not sim.failures:
                within = min(EXPECT_WITHIN, max(0.0, limit - sim.now))
                failures, checked = lab.expectation_failures(within=within), True
            checked_at = sim.now
            trace.stop_keeping()
            end = duration if duration is not None else max(3600.0, sim.now)
            sim.run_until(end)
    except SimError as e:
        print(f"lab sim: {e}", file=sys.stderr)
        return 1
    finally:
        wall = time.perf_counter() - t0
        trace.close()
    summary = summarize(sim, None if args.step else wall)
    summary["failures"] = list(sim.failures)
    if checked:
        summary["expect"] = {"checked_at": round(checked_at if not args.step else sim.now, 6),
                             "failures": failures}  # fmt: skip
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
    else:
        print(format_summary(summary, max_clients=args.clients))
        for f in sim.failures:
            print(f)
        if checked:
            n = sum(len(v) for v in topo.expect.values())
            at = fmt_duration(summary["expect"]["checked_at"])
            if failures:
                print(f"expect: {len(failures)} of {n} not met (checked at t={at}):")
                for f in failures:
                    print(f)
            else:
                print(f"expect: all {n} met at t={at}")
        if args.trace:
            print(f"trace: {args.trace} ({trace.lines:,} events)")
    failed = bool(sim.failures) or bool(failures)
    return 1 if failed and not args.step else 0
