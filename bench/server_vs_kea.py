"""Benchmark: our `dhcp6 server` against Kea's kea-dhcp6 under perfdhcp load.

Run as root: ``.venv/bin/python bench/server_vs_kea.py`` (``--quick`` for a smoke run,
``--help`` for options). This is a benchmark, not a test: it prints numbers and a
verdict and asserts nothing about them.

Setup, the same for every server in one run: two network namespaces, ``srv`` and
``cli``, joined by a veth (``eth0`` on each side, DAD off), ``2001:db8:1::1/64`` on
the server side. The client side runs ``perfdhcp -6 -l eth0 -g single`` (4-way
Solicit/Advertise/Request/Reply, address-only, ``-R CLIENTS`` random client DUIDs out
of a million, so nearly every exchange makes a new lease) at a fixed rate for a few
seconds, with a 1 s exit wait (``-W``) to collect late replies.

Servers (``--servers``), each with pool ``2001:db8:1::1:0-2001:db8:1::ffff:ffff``
(2^32 addresses: nothing exhausts), preferred/valid 3000/4000 s, DNS and domain-search
options:

* ``ours``: ``dhcp6 server`` as the daemon normally runs — leases durable in a SQLite
  file with the default durability (WAL, ``synchronous=NORMAL``, committed before the
  Reply), trace events written to a JSON-lines file (``--trace FILE``), a control socket;
* ``ours-notrace``: the same without ``--trace`` (no trace file is written);
* ``kea``: kea-dhcp6 2.x, memfile with ``persist: true`` and ``lfc-interval: 0``.

Every step (one server, one rate) starts a fresh server process with a fresh lease file
in a new run directory, runs perfdhcp, reads the socket drop counters, then stops the
server. Rates are interleaved (ours, ours-notrace, kea at rate 1, then rate 2, …) so a
machine hiccup hits all of them alike. A server is no longer stepped up once two of its
steps had ≥ 1 % drops.

Per step it prints: the offered rate (Solicits sent per second of the period), the
achieved rate (4-way exchanges completed per second of the period), drop % (exchanges
started but not completed, out of those started — perfdhcp's own drop counts are
shown too), the average Solicit→Advertise and Request→Reply delays in ms, the server
process's CPU time (user + system, /proc/PID/stat) per completed exchange — less
sensitive than the rates to other work on the machine — and the kernel's drop counter
for the server's UDP port-547 sockets (read from ``/proc/net/udp6`` inside the
server's namespace; for ours also the ``kernel_drops``, ``batches`` and ``packets`` of
the control socket's ``stats``). At the end: the highest rate each server handled with
< 1 % drops, and the ratio ours/Kea. The machine's load average is printed at the start
and the end: other work on a 2-core machine moves every number.

``--profile DIR`` runs our server with ``DHCP6_PROFILE=DIR/<step>.prof`` (a cProfile
dump of CPU time, written when the daemon exits; see dhcp6/daemons/server.py) —
profiling slows it several times over, so profile at a low fixed rate.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Running as ``python bench/server_vs_kea.py`` puts bench/ first on sys.path, not the repo.
_REPO = Path(__file__).resolve().parent.parent
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

from dhcp6.accel.build import describe_build  # noqa: E402
from dhcp6.constants import SERVER_PORT  # noqa: E402
from dhcp6.io.udp import read_udp6_table  # noqa: E402
from dhcp6.testing.ours import control  # noqa: E402
from dhcp6.testing.peers import (  # noqa: E402
    PeerError,
    PeerProcess,
    _launch,
    _prepare_run_dir,
    _wait_port,
    missing_binaries,
    run_perfdhcp,
    start_kea,
)

SUBNET = "2001:db8:1::/64"
POOL = "2001:db8:1::1:0-2001:db8:1::ffff:ffff"
PREFERRED, VALID = 3000, 4000
CLIENTS = 1_000_000
DROP_LIMIT = 1.0  # percent
FAILS_TO_STOP = 2
DEFAULT_RATES = [1000, 2000, 3000, 4000, 5000, 6000, 8000, 10000, 12000, 14000, 16000]
QUICK_RATES = [200, 500]

OUR_CONFIG = f"""
lifetimes: {{preferred: {PREFERRED}, valid: {VALID}}}
subnets:
  - prefix: {SUBNET}
    interface: eth0
    pools: ["{POOL}"]
    options: {{dns_servers: ["2001:db8::53"], domain_search: [lab.example]}}
"""

LABELS = {
    "ours": "ours (trace to file)",
    "ours-notrace": "ours (no --trace)",
    "kea": "kea (memfile, persist)",
}


@dataclass
class Step:
    server: str
    rate: int
    offered: float = 0.0
    achieved: float = 0.0
    started: int = 0
    completed: int = 0
    perf_drops: int = 0
    drop_pct: float = 100.0
    delay_sa: float | None = None
    delay_rr: float | None = None
    udp_drops: int | None = None
    cpu: float | None = None  # server CPU seconds (user + system) during perfdhcp's run
    cpu_sys: float | None = None  # of which system (kernel: syscalls, the network stack)
    stats: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def clean(self) -> bool:
        return self.error is None and self.started > 0 and self.drop_pct < DROP_LIMIT


def start_ours(lab: Any, run: Path, *, trace: bool, profile: Path | None) -> PeerProcess:
    """`dhcp6 server` in node srv, as dhcp6.testing.ours.start_dhcp6_server does, with
    the trace file optional."""
    run = _prepare_run_dir(run)
    files = {
        "config": run / "server.yaml",
        "leases": run / "server.sqlite",
        "trace": run / "server.jsonl",
        "control": run / "server.sock",
    }
    files["config"].write_text(OUR_CONFIG)
    argv = [sys.executable, "-m", "dhcp6.cli", "server", "--config", str(files["config"]),
            "--leases", str(files["leases"]), "--control", str(files["control"]),
            "--node", "srv", "--interface", "eth0"]  # fmt: skip
    if trace:
        argv += ["--trace", str(files["trace"])]
    env = {"PYTHONPATH": str(_REPO)}
    if profile is not None:
        env["DHCP6_PROFILE"] = str(profile)
    peer = _launch(lab, "srv", "dhcp6-server", argv, run, files, env=env)
    return _wait_port(peer, SERVER_PORT, 15.0)


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(user, system) CPU time of a process so far, in seconds (from /proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def port_547_drops(lab: Any) -> int:
    return sum(r["drops"] for r in read_udp6_table(lab.ns("srv")) if r["port"] == SERVER_PORT)


def run_step(
    lab: Any, server: str, rate: int, seconds: float, work: Path, profile_dir: Path | None
) -> Step:
    step = Step(server, rate)
    run = work / f"{server}-{rate}"
    if run.exists():
        shutil.rmtree(run)
    profile = profile_dir / f"{server}-{rate}.prof" if profile_dir else None
    try:
        if server == "kea":
            peer = start_kea(lab, "srv", "eth0", run, pool=POOL, pd_pool=None,
                             preferred=PREFERRED, valid=VALID, persist=True,
                             log_severity="WARN", ready_timeout=15.0)  # fmt: skip
        else:
            peer = start_ours(lab, run, trace=server == "ours", profile=profile)
    except (PeerError, TimeoutError) as e:
        step.error = f"server did not start: {e}"
        return step
    try:
        before = port_547_drops(lab)
        cpu0 = cpu_seconds(peer.pid)
        try:
            res = run_perfdhcp(lab, "cli", "eth0", rate=rate, seconds=seconds, clients=CLIENTS,
                               exchanges="4way", timeout=seconds + 30)  # fmt: skip
        except (PeerError, TimeoutError) as e:
            step.error = f"perfdhcp: {str(e).splitlines()[0]}"
            return step
        cpu1 = cpu_seconds(peer.pid)
        step.cpu = cpu1[0] + cpu1[1] - cpu0[0] - cpu0[1]
        step.cpu_sys = cpu1[1] - cpu0[1]
        step.udp_drops = port_547_drops(lab) - before
        ex = list(res.exchanges.values())
        step.started, step.completed = res.initiated, res.completed
        step.offered = step.started / seconds
        step.achieved = res.achieved_rate
        step.perf_drops = res.drops
        step.drop_pct = 100.0 * (step.started - step.completed) / step.started if step.started else 100.0
        step.delay_sa = ex[0].avg_delay if ex else None
        step.delay_rr = ex[1].avg_delay if len(ex) > 1 else None
        if server != "kea":
            try:
                st = control(peer.files["control"], "stats", timeout=10)
                step.stats = {"kernel_drops": st.get("kernel_drops"), **st.get("host", {})}
            except (OSError, ValueError) as e:
                step.stats = {"error": str(e)}
        if not peer.alive:
            step.error = f"server died (rc {peer.popen.returncode}): {peer.tail(5)}"
    finally:
        peer.stop()
    return step


def fmt_ms(v: float | None) -> str:
    return f"{v:7.3f}" if v is not None else "      -"


def print_step(s: Step) -> None:
    if s.error:
        print(f"  {s.server:<13} {s.rate:>6}/s  ERROR {s.error}", flush=True)
        return
    extra = ""
    if s.stats:
        extra = "  stats: " + ", ".join(f"{k}={v}" for k, v in s.stats.items())
    print(
        f"  {s.server:<13} {s.rate:>6}/s  offered {s.offered:8.0f}/s  achieved "
        f"{s.achieved:8.0f}/s  drops {s.drop_pct:6.2f} % (perfdhcp {s.perf_drops})  "
        f"avg delay S-A {fmt_ms(s.delay_sa)} ms R-R {fmt_ms(s.delay_rr)} ms  "
        f"server CPU {cpu_per(s)} µs/exchange  udp547 kernel drops {s.udp_drops}{extra}",
        flush=True,
    )


def cpu_per(s: Step) -> str:
    if s.cpu is None or s.cpu_sys is None or not s.completed:
        return "-"
    return f"{s.cpu / s.completed * 1e6:.0f} (sys {s.cpu_sys / s.completed * 1e6:.0f})"


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def highest_clean(steps: list[Step], server: str) -> int | None:
    ok = [s.rate for s in steps if s.server == server and s.clean]
    return max(ok) if ok else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="perfdhcp 4-way load against our dhcp6 server and kea-dhcp6 in two "
        "network namespaces (root); prints the highest rate with < 1 %% drops for each.",
        epilog="example: sudo .venv/bin/python bench/server_vs_kea.py --rates 2000,4000 "
        "--seconds 3",
    )
    ap.add_argument("--quick", action="store_true",
                    help=f"smoke run: rates {QUICK_RATES}, 2 s each")  # fmt: skip
    ap.add_argument("--rates", help="comma-separated rates (exchanges/s), increasing "
                    f"(default {','.join(map(str, DEFAULT_RATES))})")  # fmt: skip
    ap.add_argument("--seconds", type=float, help="perfdhcp test period per step (default 5)")
    ap.add_argument("--servers", default="ours,ours-notrace,kea",
                    help="which servers, comma-separated: ours, ours-notrace, kea "
                    "(default all three)")  # fmt: skip
    ap.add_argument("--work", metavar="DIR",
                    help="keep run directories (configs, logs, lease files, traces) here "
                    "(default: a temporary directory, removed)")  # fmt: skip
    ap.add_argument("--profile", metavar="DIR",
                    help="write a cProfile dump of our server per step into DIR")  # fmt: skip
    args = ap.parse_args(argv)

    rates = QUICK_RATES if args.quick else DEFAULT_RATES
    if args.rates:
        rates = sorted(int(x) for x in args.rates.split(",") if x.strip())
    seconds = args.seconds or (2.0 if args.quick else 5.0)
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    bad = [s for s in servers if s not in LABELS]
    if bad:
        ap.error(f"unknown server {bad[0]!r} (ours, ours-notrace, kea)")
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        print("server_vs_kea: needs root and Linux network namespaces", file=sys.stderr)
        return 2
    need = ["perfdhcp", *(["kea-dhcp6"] if "kea" in servers else [])]
    missing = missing_binaries(need)
    if missing:
        print(f"server_vs_kea: missing {', '.join(missing)} (Debian kea-dhcp6-server, "
              "kea-admin)", file=sys.stderr)  # fmt: skip
        return 2

    from dhcp6.testing.netns import NetnsLab

    kea_version = subprocess.run(["kea-dhcp6", "-v"], capture_output=True, text=True,
                                 check=False).stdout.strip() if "kea" in servers else "-"  # fmt: skip
    print(f"server_vs_kea: python {platform.python_version()}, kea {kea_version}, "
          f"{os.cpu_count()} CPUs, kernel {platform.release()}, load average {load()}")  # fmt: skip
    print(f"our server: {describe_build()}")
    print(f"perfdhcp -6 4-way -g single -R {CLIENTS} -p {seconds:g} -W 1 s; pool {POOL}; "
          f"rates {rates}; a fresh server and lease file per step")  # fmt: skip
    for s in servers:
        print(f"  {s:<13} = {LABELS[s]}")
    profile_dir = Path(args.profile).resolve() if args.profile else None
    if profile_dir:
        profile_dir.mkdir(parents=True, exist_ok=True)
    work = Path(args.work).resolve() if args.work else Path(tempfile.mkdtemp(prefix="srvbench-"))
    work.mkdir(parents=True, exist_ok=True)
    steps: list[Step] = []
    fails = dict.fromkeys(servers, 0)
    t0 = time.monotonic()
    try:
        with NetnsLab() as lab:
            lab.namespace("srv")
            lab.namespace("cli")
            lab.veth("srv", "eth0", "cli", "eth0")
            lab.add_address("srv", "eth0", "2001:db8:1::1")
            lab.link_local("srv", "eth0")
            lab.link_local("cli", "eth0")
            for rate in rates:
                active = [s for s in servers if fails[s] < FAILS_TO_STOP]
                if not active:
                    break
                print(f"rate {rate}/s:", flush=True)
                for server in active:
                    step = run_step(lab, server, rate, seconds, work, profile_dir)
                    steps.append(step)
                    print_step(step)
                    if not step.clean:
                        fails[server] += 1
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    print(f"elapsed {time.monotonic() - t0:.0f} s; load average now {load()} (other work on "
          "the machine slows the servers: compare CPU µs/exchange too)")  # fmt: skip
    best = {s: highest_clean(steps, s) for s in servers}
    for s in servers:
        b = best[s]
        print(f"highest rate with < 1 % drops: {s}: {f'{b}/s' if b else 'none'}  ({LABELS[s]})")
    kea = best.get("kea")
    for s in ("ours", "ours-notrace"):
        if s in servers and "kea" in servers:
            b = best[s]
            ratio = f"{b / kea:.2f}" if b and kea else "n/a"
            print(f"ratio {s}/kea: {ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
