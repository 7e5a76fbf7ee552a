"""Benchmark: the lab builder against raw pyroute2 and Mininet, N nodes on one LAN.

Run as root: ``.venv/bin/python bench/build.py`` (``--n 10,100,500,1000``, ``--quick``
for N = 10 only, ``--no-mininet``, ``--repeat R``). A benchmark, not a test.

The shape, for every contestant: N hosts, each with one interface on one LAN (a Linux
bridge), brought up, then torn down. Contestants, run in this one process (Mininet in a
child ``/usr/bin/python3``, where Debian installs it):

* ``ours``: ``lab.build.build(topology, lab)`` then ``BuiltLab.teardown()`` — the
  whole thing: model checks, run directory and journal, ownership tags, namespaces
  ``<lab>-hI`` and ``<lab>--lan``, veths, addresses, sysctls, tx offload off.
* ``pyroute2``: raw in-process pyroute2 doing the same kernel work with no ownership
  and no model — the fast path measured in PEERS.md: ``pyroute2.netns._create`` in
  this thread (unshare + bind mount), accept_dad sysctl, ``IPRoute()`` opened inside,
  lo up, one ``link("add")`` of the veth with the bridge end put in the LAN namespace
  (explicit ifindex, master and state in that RTM_NEWLINK), node end up, the address
  (``nodad``), tx checksum offload off on both ends (the same ethtool ioctl), then
  ``setns`` back. Like the builder, the bridge (multicast snooping off, IPv6 off in
  its namespace) stays down until its last port joined. Teardown:
  ``pyroute2.netns.remove`` of every namespace.
* ``netlink``: the same work through ``lab.build.rtnl`` (hand-packed netlink, batched)
  without the builder around it: no model, no run directory, no tags — the floor.
* ``mininet``: ``Mininet(topo=SingleSwitchTopo(N), switch=LinuxBridge,
  controller=None)``, ``start()`` then ``stop()``; IPv4 (Mininet has no IPv6
  addressing); its bridge and bridge-side veth ends live in the root namespace.

Times are wall-clock per node, best of ``--repeat`` runs (Mininet: one run), the
contestants interleaved so background load hits them alike. Teardown is timed until
the call returns; the kernel frees namespaces asynchronously afterwards, so between
runs the script waits for the ``net_namespace`` slab count to settle.

Targets printed at the end: ours ≤ 1.15× raw pyroute2 (bring-up, and bring-up +
teardown) at every N, and ≥ 8× faster than Mininet at N = 100.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from ipaddress import IPv6Interface
from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

import pyroute2  # noqa: E402
from pyroute2 import IPRoute  # noqa: E402
from pyroute2 import netns as pyr_netns  # noqa: E402

from lab.build import build, kernel  # noqa: E402
from lab.build.rtnl import Rtnl  # noqa: E402
from lab.model import Endpoint, Interface, Link, Node, Topology  # noqa: E402

IFA_F_NODAD = 0x02
MININET_PY = "/usr/bin/python3"
TARGET_RAW = 1.15
TARGET_MININET = 8.0

_MININET_SCRIPT = r"""
import json, sys, time
from mininet.log import setLogLevel
from mininet.net import Mininet
from mininet.nodelib import LinuxBridge
from mininet.topo import SingleSwitchTopo
setLogLevel("error")
n = int(sys.argv[1])
t0 = time.perf_counter()
net = Mininet(topo=SingleSwitchTopo(n), switch=LinuxBridge, controller=None)
net.start()
t1 = time.perf_counter()
ok = len(net.hosts) == n and all(h.intfs for h in net.hosts)
net.stop()
t2 = time.perf_counter()
print(json.dumps({"up": t1 - t0, "down": t2 - t1, "ok": ok}))
"""


def topology(n: int) -> Topology:
    nodes = {}
    eps = []
    for i in range(n):
        name = f"h{i}"
        addr = IPv6Interface(f"2001:db8::{i + 1:x}/64")
        nodes[name] = Node(name, "host", {"eth0": Interface("eth0", "lan", [addr])})
        eps.append(Endpoint(name, "eth0"))
    return Topology("bench", nodes, {"lan": Link("lan", "lan", eps)})


def _addr(i: int) -> str:
    return f"2001:db8::{i + 1:x}"


# ----------------------------------------------------------------------- contestants


def run_ours(n: int, tag: str, run_root: Path) -> tuple[float, float]:
    topo = topology(n)
    t0 = time.perf_counter()
    lab = build(topo, f"bo{tag}", run_root=run_root)
    t1 = time.perf_counter()
    lab.teardown()
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1


def _write(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def run_pyroute2(n: int, tag: str) -> tuple[float, float]:
    """Raw pyroute2, in this (main) thread — where ``netns._create``'s /proc/self is right."""
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("run_pyroute2 must run in the main thread")
    prefix = f"br{tag}"
    names = [f"{prefix}-h{i}" for i in range(n)]
    lan = f"{prefix}--lan"
    root = os.open("/proc/self/ns/net", os.O_RDONLY)
    t0 = time.perf_counter()
    try:
        pyr_netns._create(lan)
        _write("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1")
        bridge = IPRoute(groups=0)
        bridge.link("add", ifname="br0", kind="bridge", index=2, br_mcast_snooping=0)
        udp_br = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        lan_fd = os.open(f"/run/netns/{lan}", os.O_RDONLY)
        for i, name in enumerate(names):
            pyr_netns._create(name)
            _write("/proc/sys/net/ipv6/conf/default/accept_dad", "0")
            ipr = IPRoute(groups=0)
            ipr.link("set", index=1, state="up")
            ipr.link(
                "add",
                ifname=f"p{i}",
                kind="veth",
                index=3 + i,
                net_ns_fd=lan_fd,
                master=2,
                state="up",
                peer={"ifname": "eth0", "index": 2},
            )
            ipr.link("set", index=2, state="up")
            ipr.addr(
                "add",
                index=2,
                address=_addr(i),
                prefixlen=64,
                family=socket.AF_INET6,
                flags=IFA_F_NODAD,
            )
            udp = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            kernel.set_tx_csum(udp.fileno(), "eth0", False)
            kernel.set_tx_csum(udp_br.fileno(), f"p{i}", False)
            udp.close()
            ipr.close()
        bridge.link("set", index=2, state="up")  # after the ports, as the builder does
        bridge.close()
        udp_br.close()
        os.close(lan_fd)
    finally:
        pyr_netns.setns(root)
        os.close(root)
    t1 = time.perf_counter()
    for name in [lan, *names]:
        pyr_netns.remove(name)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1


def run_netlink(n: int, tag: str) -> tuple[float, float]:
    """The same work on lab.build.rtnl, no builder around it, in a worker thread."""
    prefix = f"bn{tag}"
    names = [f"{prefix}-h{i}" for i in range(n)]
    lan = f"{prefix}--lan"
    out: list[float] = []

    def mkns(name: str) -> None:
        kernel.unshare_net()
        path = f"/run/netns/{name}"
        os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0))
        kernel.bind_thread_netns(path)

    def work() -> None:
        t0 = time.perf_counter()
        mkns(lan)
        kernel.write_sysctl("net.ipv6.conf.default.disable_ipv6", "1")
        br = Rtnl()
        br.add_bridge("br0", index=2, up=False)
        br.commit()
        udp_br = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        lan_fd = os.open(f"/run/netns/{lan}", os.O_RDONLY)
        for i, name in enumerate(names):
            mkns(name)
            kernel.write_sysctl("net.ipv6.conf.default.accept_dad", "0")
            rt = Rtnl()
            udp = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            rt.set_link(1, up=True)
            rt.add_veth(f"p{i}", "eth0", index=3 + i, peer_index=2, netns_fd=lan_fd, master=2)
            rt.set_link(2, up=True)
            rt.add_address(2, IPv6Interface(f"{_addr(i)}/64"))
            rt.commit()
            kernel.set_tx_csum(udp.fileno(), "eth0", False)
            kernel.set_tx_csum(udp_br.fileno(), f"p{i}", False)
            udp.close()
            rt.close()
        br.set_link(2, up=True)
        br.commit()
        br.close()
        udp_br.close()
        os.close(lan_fd)
        out.append(time.perf_counter() - t0)

    th = threading.Thread(target=work)
    th.start()
    th.join()
    if not out:
        raise RuntimeError("netlink contestant failed")
    t1 = time.perf_counter()
    for name in [lan, *names]:
        path = f"/run/netns/{name}"
        kernel.umount_detach(path)
        os.unlink(path)
    return out[0], time.perf_counter() - t1


def run_mininet(n: int) -> tuple[float, float] | str:
    proc = subprocess.run(
        [MININET_PY, "-c", _MININET_SCRIPT, str(n)],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    last = proc.stdout.strip().splitlines()[-1:] if proc.stdout.strip() else []
    if proc.returncode != 0 or not last:
        err = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return f"mininet failed (exit {proc.returncode}): {err}"
    data = json.loads(last[0])
    if not data.get("ok"):
        return "mininet built fewer hosts than asked"
    return data["up"], data["down"]


def mininet_version() -> str | None:
    if not os.path.exists(MININET_PY):
        return None
    proc = subprocess.run(
        [MININET_PY, "-c", "import mininet.net as m; print(m.VERSION)"],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.strip() if proc.returncode == 0 else None


# ----------------------------------------------------------------------- harness


def _netns_count() -> int | None:
    try:
        with open("/proc/slabinfo") as f:
            for line in f:
                if line.startswith("net_namespace "):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def settle(n: int, baseline: int | None) -> None:
    """Wait (bounded) until the kernel has freed the namespaces of the last run."""
    deadline = time.monotonic() + 1.0 + 0.01 * n
    time.sleep(0.05)
    while time.monotonic() < deadline:
        now = _netns_count()
        if now is None or baseline is None or now <= baseline + 7:  # slab granularity
            break
        time.sleep(0.05)
    time.sleep(0.1)


def _leftovers(prefixes: list[str]) -> list[str]:
    try:
        return [e for e in os.listdir("/run/netns") if e.split("-", 1)[0] in prefixes]
    except OSError:
        return []


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", default="10,100,500", help="node counts, comma-separated")
    ap.add_argument("--quick", action="store_true", help="N = 10 only, one repeat")
    ap.add_argument("--no-mininet", action="store_true", help="skip Mininet")
    ap.add_argument("--repeat", type=int, default=3, help="runs per contestant (best kept)")
    args = ap.parse_args(argv)
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        print("bench/build.py: needs root on Linux (network namespaces)", file=sys.stderr)
        return 2
    sizes = [10] if args.quick else [int(x) for x in args.n.split(",") if x.strip()]
    repeat = 1 if args.quick else max(1, args.repeat)
    mn_version = None if args.no_mininet else mininet_version()
    if not args.no_mininet and mn_version is None:
        print("mininet: not installed (apt-get install mininet bridge-utils); skipped")

    print(
        f"build bench: python {platform.python_version()}, pyroute2 {pyroute2.__version__}, "
        f"mininet {mn_version or '-'}, {os.cpu_count()} CPUs, kernel {platform.release()}"
    )
    print(f"shape: N hosts on one LAN bridge; ms per node, best of {repeat} (mininet: 1 run)")
    tag = f"{os.getpid() % 100000}"
    run_root = Path(tempfile.mkdtemp(prefix="dhcp6-lab-bench-"))
    contestants: dict[str, Callable[[int, str], tuple[float, float]]] = {
        "ours": lambda n, t: run_ours(n, t, run_root),
        "pyroute2": run_pyroute2,
        "netlink": run_netlink,
    }
    results: dict[int, dict[str, tuple[float, float] | str]] = {}
    try:
        for n in sizes:
            best: dict[str, tuple[float, float]] = {}
            for r in range(repeat):
                for name, fn in contestants.items():
                    baseline = _netns_count()
                    up, down = fn(n, f"{tag}r{r}")
                    settle(n, baseline)
                    prev = best.get(name)
                    best[name] = (min(prev[0], up), min(prev[1], down)) if prev else (up, down)
            row: dict[str, tuple[float, float] | str] = dict(best)
            if mn_version is not None:
                baseline = _netns_count()
                row["mininet"] = run_mininet(n)
                settle(n, baseline)
            results[n] = row
            _print_row(n, row)
    finally:
        shutil.rmtree(run_root, ignore_errors=True)
        left = _leftovers([f"bo{tag}r{r}" for r in range(repeat)])
        if left:
            print(f"warning: namespaces left behind: {left[:5]}", file=sys.stderr)
    _print_verdict(results)
    return 0


def _ms(x: tuple[float, float], n: int) -> tuple[float, float]:
    return x[0] / n * 1e3, x[1] / n * 1e3


def _print_row(n: int, row: dict[str, tuple[float, float] | str]) -> None:
    parts = []
    for name in ("ours", "pyroute2", "netlink", "mininet"):
        v = row.get(name)
        if v is None:
            continue
        if isinstance(v, str):
            parts.append(f"{name} {v}")
            continue
        up, down = _ms(v, n)
        parts.append(f"{name} up {up:.2f} down {down:.2f}")
    print(f"N={n:<5d} " + " | ".join(parts), flush=True)


def _print_verdict(results: dict[int, dict[str, tuple[float, float] | str]]) -> None:
    raw_ok = True
    worst_raw = 0.0
    mn_ratio: float | None = None
    for n, row in results.items():
        ours = row["ours"]
        raw = row["pyroute2"]
        floor = row["netlink"]
        assert not isinstance(ours, str) and not isinstance(raw, str)
        assert not isinstance(floor, str)
        r_up = ours[0] / raw[0]
        r_all = (ours[0] + ours[1]) / (raw[0] + raw[1])
        f_up = ours[0] / floor[0]
        f_all = (ours[0] + ours[1]) / (floor[0] + floor[1])
        worst_raw = max(worst_raw, r_up, r_all)
        raw_ok = raw_ok and r_up <= TARGET_RAW and r_all <= TARGET_RAW
        print(
            f"ratio ours/pyroute2 N={n}: up {r_up:.2f}×, up+down {r_all:.2f}×; "
            f"ours/netlink: up {f_up:.2f}×, up+down {f_all:.2f}×"
        )
        mn = row.get("mininet")
        if mn is not None and not isinstance(mn, str):
            m_up = mn[0] / ours[0]
            m_all = (mn[0] + mn[1]) / (ours[0] + ours[1])
            print(f"ratio mininet/ours N={n}: up {m_up:.1f}×, up+down {m_all:.1f}×")
            if n == 100:
                mn_ratio = min(m_up, m_all)
    verdict = "MET" if raw_ok else "NOT MET"
    print(f"target ours ≤ {TARGET_RAW}× raw pyroute2 at every N: {verdict} (max {worst_raw:.2f}×)")
    if mn_ratio is None:
        print(f"target ≥ {TARGET_MININET:g}× faster than Mininet at N=100: not measured")
    else:
        verdict = "MET" if mn_ratio >= TARGET_MININET else "NOT MET"
        print(
            f"target ≥ {TARGET_MININET:g}× faster than Mininet at N=100: {verdict} "
            f"(min {mn_ratio:.1f}×)"
        )


if __name__ == "__main__":
    sys.exit(main())
