"""The lab builder in real namespaces (root): reachability, isolation, offload,
rollback, crash + clean, two labs side by side, teardown, ownership.

Topologies are built in code (no YAML loader). Every lab a test builds is torn down
by the ``labs`` fixture, pass or fail; a final check asserts nothing of ours is left.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from ipaddress import IPv6Address, IPv6Interface, IPv6Network
from pathlib import Path

import pytest

from dhcp6.io.netns import run_in_netns
from lab.build import BuildError, BuiltLab, build, clean, kernel, list_labs, teardown
from lab.build import builder as builder_mod
from lab.build.rtnl import Rtnl
from lab.build.state import JOURNAL, read_journal, record_pid
from lab.model import Endpoint, Interface, Link, Node, Route, Topology

pytestmark = [
    pytest.mark.netns,
    pytest.mark.skipif(
        not sys.platform.startswith("linux") or os.geteuid() != 0,
        reason="needs root and Linux network namespaces",
    ),
]

REPO = Path(__file__).resolve().parent.parent
NETNS = Path("/run/netns")
_SEQ = iter(range(1, 1_000_000))


def lab_name(tag: str) -> str:
    """A lab name unique to this test process: parallel test runs never collide."""
    return f"tb{os.getpid() % 100000}{tag}{next(_SEQ)}"


def _a(text: str) -> IPv6Interface:
    return IPv6Interface(text)


def routed_topology() -> Topology:
    """h1 —lan1— r1 —p2p— r2 —lan2— h2, static routes computed by hand.

    Two routers so traffic crosses a LAN, a p2p link and another LAN; h3 sits on lan2
    beside h2 and owns a p2p link to r1 as well (a p2p made by the *later* node).
    """
    nodes = {
        "h1": Node(
            "h1",
            "host",
            {"eth0": Interface("eth0", "lan1", [_a("2001:db8:1::10/64")])},
            [Route(IPv6Network("::/0"), IPv6Address("2001:db8:1::1"), "eth0")],
        ),
        "r1": Node(
            "r1",
            "router",
            {
                "eth0": Interface("eth0", "lan1", [_a("2001:db8:1::1/64")]),
                "eth1": Interface("eth1", "core", [_a("2001:db8:ff::1/64")]),
                "eth2": Interface("eth2", "side", [_a("2001:db8:fe::1/64")]),
            },
            [Route(IPv6Network("2001:db8:2::/64"), IPv6Address("2001:db8:ff::2"), "eth1")],
        ),
        "r2": Node(
            "r2",
            "router",
            {
                "eth0": Interface("eth0", "core", [_a("2001:db8:ff::2/64")]),
                "eth1": Interface("eth1", "lan2", [_a("2001:db8:2::1/64")]),
            },
            [Route(IPv6Network("2001:db8:1::/64"), IPv6Address("2001:db8:ff::1"), "eth0")],
        ),
        "h2": Node(
            "h2",
            "host",
            {"eth0": Interface("eth0", "lan2", [_a("2001:db8:2::20/64")])},
            [Route(IPv6Network("::/0"), IPv6Address("2001:db8:2::1"), "eth0")],
        ),
        "h3": Node(
            "h3",
            "host",
            {
                "eth0": Interface("eth0", "lan2", [_a("2001:db8:2::30/64")]),
                "eth1": Interface("eth1", "side", [_a("2001:db8:fe::3/64")]),
            },
            [Route(IPv6Network("2001:db8:1::/64"), IPv6Address("2001:db8:fe::1"), "eth1")],
        ),
    }
    links = {
        "lan1": Link("lan1", "lan", [Endpoint("h1", "eth0"), Endpoint("r1", "eth0")]),
        "core": Link("core", "p2p", [Endpoint("r1", "eth1"), Endpoint("r2", "eth0")]),
        "lan2": Link(
            "lan2",
            "lan",
            [Endpoint("r2", "eth1"), Endpoint("h2", "eth0"), Endpoint("h3", "eth0")],
        ),
        "side": Link("side", "p2p", [Endpoint("r1", "eth2"), Endpoint("h3", "eth1")]),
    }
    return Topology("routed", nodes, links)


def lan_topology(n: int) -> Topology:
    nodes, eps = {}, []
    for i in range(n):
        name = f"n{i}"
        nodes[name] = Node(
            name, "host", {"eth0": Interface("eth0", "lan", [_a(f"2001:db8:9::{i + 1:x}/64")])}
        )
        eps.append(Endpoint(name, "eth0"))
    return Topology("flat", nodes, {"lan": Link("lan", "lan", eps)})


# --------------------------------------------------------------------------- helpers


def ping6(ns: str, target: str, timeout: float = 5.0) -> None:
    """One ICMPv6 echo from namespace ``ns`` to ``target`` answered, retried to ``timeout``.

    The raw socket is created inside ``ns`` (run_in_netns) and used from here.
    """
    sock = run_in_netns(ns, socket.socket, socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    ident = os.getpid() & 0xFFFF
    deadline = time.monotonic() + timeout
    seq = 0
    try:
        while time.monotonic() < deadline:
            seq += 1
            sock.sendto(struct.pack("!BBHHH", 128, 0, 0, ident, seq) + b"dhcp6-lab", (target, 0))
            wait_until = min(deadline, time.monotonic() + 0.5)
            while (left := wait_until - time.monotonic()) > 0:
                if not select.select([sock], [], [], left)[0]:
                    break
                data, _ = sock.recvfrom(2048)
                if data[0] == 129 and struct.unpack("!HH", data[4:8]) == (ident, seq):
                    return
    finally:
        sock.close()
    raise AssertionError(f"no echo reply from {target} in namespace {ns} within {timeout} s")


def tx_csum(ns: str, ifname: str) -> bool:
    sock = run_in_netns(ns, socket.socket, socket.AF_INET6, socket.SOCK_DGRAM)
    try:
        return kernel.get_tx_csum(sock.fileno(), ifname)
    finally:
        sock.close()


def sysctl(ns: str, name: str) -> str:
    return run_in_netns(ns, kernel.read_sysctl, name)


def ifnames(ns: str) -> list[str]:
    return [name for _, name in run_in_netns(ns, socket.if_nameindex)]


def lab_namespaces(lab: str) -> list[str]:
    """Namespaces whose name says lab ``lab`` (test assertion only, never for removal)."""
    try:
        return sorted(e for e in os.listdir(NETNS) if e.startswith(f"{lab}-"))
    except FileNotFoundError:
        return []


def root_ifnames() -> set[str]:
    return {name for _, name in socket.if_nameindex()}


def start_in_ns(ns: str, argv: list[str]) -> subprocess.Popen:
    fd = os.open(NETNS / ns, os.O_RDONLY)
    try:
        return subprocess.Popen(argv, preexec_fn=lambda: kernel.setns_net(fd), pass_fds=(fd,))
    finally:
        os.close(fd)


def wait_gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if kernel.proc_start_time(pid) is None:
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def run_root(tmp_path: Path) -> Path:
    return tmp_path / "run"


@pytest.fixture
def labs(run_root: Path) -> Iterator[Callable[..., BuiltLab]]:
    """``labs(topology, tag)`` builds a lab under ``run_root``; all torn down after."""
    made: list[BuiltLab] = []

    def make(topology: Topology, tag: str = "x", **kw: object) -> BuiltLab:
        lab = build(topology, lab_name(tag), run_root=run_root, **kw)  # type: ignore[arg-type]
        made.append(lab)
        return lab

    yield make
    for lab in made:
        with contextlib.suppress(Exception):
            lab.teardown()
    for lab in made:
        assert lab_namespaces(lab.name) == [], f"lab {lab.name} left namespaces"


# --------------------------------------------------------------------------- tests


def test_build_reachability_and_isolation(labs, run_root: Path) -> None:
    before = root_ifnames()
    seen: list[tuple[int, int]] = []
    lab = labs(routed_topology(), "r", progress=lambda d, t: seen.append((d, t)))

    # names, progress, state
    assert lab.ns("h1") == f"{lab.name}-h1"
    assert lab.bridge_namespaces == {"lan1": f"{lab.name}--lan1", "lan2": f"{lab.name}--lan2"}
    assert sorted(lab_namespaces(lab.name)) == sorted(
        [*lab.namespaces.values(), *lab.bridge_namespaces.values()]
    )
    assert [d for d, _ in seen] == [1, 2, 3, 4, 5] and {t for _, t in seen} == {5}
    owner = json.loads((lab.run_dir / "owner.json").read_text())
    assert owner["pid"] == os.getpid() and owner["state"] == "built"
    assert owner["start_time"] == kernel.proc_start_time(os.getpid())
    journal = (lab.run_dir / "namespaces").read_text().split("\n")
    assert len([line for line in journal if line]) == 7
    info = {i.name: i for i in list_labs(run_root)}[lab.name]
    assert info.alive and info.namespaces == 7 and info.owner_pid == os.getpid()

    # reachability across LAN → router → p2p → router → LAN, and via the side p2p link
    ping6(lab.ns("h1"), "2001:db8:2::20")
    ping6(lab.ns("h2"), "2001:db8:1::10")
    ping6(lab.ns("h3"), "2001:db8:1::10")  # h3 → r1 over "side", made by the later node
    ping6(lab.ns("r1"), "2001:db8:fe::3")

    # interfaces: exactly the model's, in their namespaces; nothing in the root namespace
    assert ifnames(lab.ns("r1")) == ["lo", "eth0", "eth1", "eth2"]
    assert ifnames(lab.ns("h3")) == ["lo", "eth0", "eth1"]
    assert set(ifnames(lab.bridge_ns("lan2"))) == {"lo", "br0", "r2-eth1", "h2-eth0", "h3-eth0"}
    assert root_ifnames() - before == set()

    # sysctls: DAD off, forwarding on routers only, lo up
    assert sysctl(lab.ns("h1"), "net.ipv6.conf.eth0.accept_dad") == "0"
    assert sysctl(lab.ns("r1"), "net.ipv6.conf.all.forwarding") == "1"
    assert sysctl(lab.ns("h1"), "net.ipv6.conf.all.forwarding") == "0"
    ping6(lab.ns("h1"), "::1")

    # ownership tag on lo and the interfaces (read over netlink inside the namespace:
    # /sys/class/net follows the mount namespace, not the thread)
    rt = run_in_netns(lab.ns("h1"), Rtnl)
    try:
        assert rt.link_alias(1) == f"dhcp6-lab {lab.name} {lab.build_id}"
        assert rt.link_alias(2) == f"dhcp6-lab {lab.name} h1:eth0 link lan1"
    finally:
        rt.close()


def test_tx_checksum_offload_off_everywhere(labs) -> None:
    lab = labs(routed_topology(), "o")
    for node, ns in lab.namespaces.items():
        for ifname in lab.topology.nodes[node].interfaces:
            assert tx_csum(ns, ifname) is False, f"{node}:{ifname}"
    for (node, iface), port in lab.bridge_ports.items():
        link = lab.topology.nodes[node].interfaces[iface].link
        assert tx_csum(lab.bridge_ns(link), port) is False, port
    # and it is a real change: a fresh veth has it on
    assert tx_csum(lab.bridge_ns("lan1"), "br0") in (True, False)


def test_route_via_gateway_without_own_address(labs) -> None:
    """A DHCPv6 client has no address on its router's prefix yet; its routes install."""
    t = routed_topology()
    h2 = t.nodes["h2"]
    h2.interfaces["eth0"].addresses = []
    h2.routes = [Route(IPv6Network("2001:db8:1::/64"), IPv6Address("2001:db8:2::1"), "eth0")]
    lab = labs(t, "c")
    out = run_in_netns(lab.ns("h2"), lambda: Path("/proc/thread-self/net/ipv6_route").read_text())
    assert "20010db8000100000000000000000000 40" in out  # 2001:db8:1::/64 is installed


def test_dad_option_and_static_nodad(labs) -> None:
    t = lan_topology(2)
    t.nodes["n1"].options["dad"] = True
    lab = labs(t, "d")
    assert sysctl(lab.ns("n0"), "net.ipv6.conf.default.accept_dad") == "0"
    assert sysctl(lab.ns("n1"), "net.ipv6.conf.eth0.accept_dad") == "1"
    # static addresses are nodad everywhere: usable at once, even with DAD on
    ping6(lab.ns("n0"), "2001:db8:9::2")
    ping6(lab.ns("n1"), "2001:db8:9::1")


def test_two_labs_from_one_topology(labs) -> None:
    t = routed_topology()
    a = labs(t, "a")
    b = labs(t, "b")
    assert set(a.namespaces.values()).isdisjoint(b.namespaces.values())
    ping6(a.ns("h1"), "2001:db8:2::20")
    ping6(b.ns("h1"), "2001:db8:2::20")
    a.teardown()
    assert lab_namespaces(a.name) == []
    ping6(b.ns("h2"), "2001:db8:1::10")  # b untouched
    assert [i.name for i in list_labs(b.run_dir.parent)] == [b.name]


def test_teardown_by_name_removes_processes_namespaces_and_state(run_root: Path) -> None:
    lab = build(routed_topology(), lab_name("t"), run_root=run_root)
    try:
        proc = start_in_ns(lab.ns("h2"), ["sleep", "600"])
        listed = subprocess.Popen(["sleep", "600"])  # root namespace, listed in `pids`
        record_pid(lab.run_dir, listed.pid, "supervisor")
        teardown(lab.name, run_root=run_root)
        assert proc.wait(timeout=10) is not None
        assert listed.wait(timeout=10) is not None
        assert lab_namespaces(lab.name) == []
        assert not lab.run_dir.exists()
        assert list_labs(run_root) == []
        lab.teardown()  # idempotent
        with pytest.raises(BuildError, match="no lab"):
            teardown(lab.name, run_root=run_root)
    finally:
        lab.teardown()


class Boom(Exception):
    pass


def test_rollback_when_progress_raises_half_way(run_root: Path) -> None:
    name = lab_name("rb")
    t = lan_topology(8)

    def progress(done: int, total: int) -> None:
        if done == total // 2:
            raise Boom("injected")

    with pytest.raises(Boom):
        build(t, name, run_root=run_root, progress=progress)
    assert lab_namespaces(name) == []
    assert not (run_root / name).exists()
    assert list_labs(run_root) == []


def test_rollback_on_kernel_error_half_way(run_root: Path) -> None:
    t = routed_topology()
    # h2 (4th of 5 nodes) asks for one route twice: the kernel refuses the second (EEXIST).
    t.nodes["h2"].routes.append(
        Route(IPv6Network("2001:db8:77::/64"), IPv6Address("2001:db8:2::1"), "eth0")
    )
    t.nodes["h2"].routes.append(t.nodes["h2"].routes[-1])
    name = lab_name("rk")
    with pytest.raises(BuildError) as info:
        build(t, name, run_root=run_root)
    msg = str(info.value)
    assert "\n" not in msg and "node h2" in msg and "2001:db8:77::/64" in msg
    assert "File exists" in msg
    assert lab_namespaces(name) == []
    assert not (run_root / name).exists()


def test_name_in_use_and_other_errors(labs, run_root: Path, monkeypatch) -> None:
    lab = labs(lan_topology(2), "u")
    with pytest.raises(BuildError, match="already in use"):
        build(lan_topology(2), lab.name, run_root=run_root)
    assert lab_namespaces(lab.name)  # the first lab is untouched
    ping6(lab.ns("n0"), "2001:db8:9::2")

    monkeypatch.setattr(builder_mod.kernel, "effective_caps", lambda: 0)
    with pytest.raises(BuildError, match="needs root"):
        build(lan_topology(2), lab_name("nr"), run_root=run_root)
    monkeypatch.undo()

    monkeypatch.setattr(builder_mod, "IPV6_PROC", "/proc/sys/net/no-such-ipv6")
    with pytest.raises(BuildError, match="IPv6 is disabled"):
        build(lan_topology(2), lab_name("v6"), run_root=run_root)


_CHILD = textwrap.dedent(
    """
    import os, subprocess, sys, time
    sys.path.insert(0, {repo!r})
    from lab.build import build, kernel
    from tests.test_build_netns import lan_topology
    name, run_root, n = sys.argv[1], sys.argv[2], int(sys.argv[3])

    def progress(done, total):
        if done == total // 2:
            fd = os.open(f"/run/netns/{{name}}-n0", os.O_RDONLY)
            p = subprocess.Popen(["sleep", "600"], preexec_fn=lambda: kernel.setns_net(fd),
                                 pass_fds=(fd,))
            print(f"HALF {{p.pid}}", flush=True)
            time.sleep(600)

    build(lan_topology(n), name, run_root=run_root, progress=progress)
    """
)


def test_a_name_someone_else_reserves_mid_build_is_never_ours(run_root: Path) -> None:
    """The journal lists a name before its O_EXCL reservation (a kill in between leaves
    nothing unlisted); when the reservation fails, the name is retracted, so neither the
    rollback nor a later clean removes what someone else holds there."""
    name = lab_name("rs")
    taken = NETNS / f"{name}-n1"  # someone else's bare reservation (as `ip netns add` makes)

    def progress(done: int, total: int) -> None:
        if done == 1 and not taken.exists():
            os.close(os.open(taken, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0))

    try:
        with pytest.raises(BuildError, match="appeared while the lab was being built"):
            build(lan_topology(3), name, run_root=run_root, progress=progress)
        assert taken.exists() and taken.stat().st_size == 0  # left alone by the rollback
        assert lab_namespaces(name) == [f"{name}-n1"]
        assert not (run_root / name).exists()
    finally:
        with contextlib.suppress(FileNotFoundError):
            taken.unlink()
    assert lab_namespaces(name) == []


def test_journal_retraction_drops_the_name(tmp_path: Path) -> None:
    (tmp_path / JOURNAL).write_text("a-n0 1 2\na-n1 1 3\na-n1 - -\na-n2 1 4\n")
    assert read_journal(tmp_path) == {"a-n0": (1, 2), "a-n2": (1, 4)}


def test_kill_9_mid_build_then_clean(labs, run_root: Path, tmp_path: Path) -> None:
    other = labs(routed_topology(), "ok")  # a healthy lab, owned by this process
    name = lab_name("k9")
    script = tmp_path / "child.py"
    script.write_text(_CHILD.format(repo=str(REPO)))
    child = subprocess.Popen(
        [sys.executable, str(script), name, str(run_root), "10"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    sleeper = None
    try:
        line = child.stdout.readline() if child.stdout else ""
        assert line.startswith("HALF "), f"child said {line!r}"
        sleeper = int(line.split()[1])
        assert lab_namespaces(name), "the child built nothing before blocking"
        info = {i.name: i for i in list_labs(run_root)}[name]
        assert info.alive and info.namespaces >= 6

        # clean() never touches a live owner's lab
        assert clean(run_root) == []
        assert lab_namespaces(name)

        child.kill()
        child.wait(timeout=10)
        info = {i.name: i for i in list_labs(run_root)}[name]
        assert not info.alive

        assert clean(run_root) == [name]
        assert lab_namespaces(name) == []
        assert wait_gone(sleeper), "the process in the lab's namespace survived clean()"
        assert not (run_root / name).exists()
        # the other lab is untouched
        assert [i.name for i in list_labs(run_root)] == [other.name]
        ping6(other.ns("h1"), "2001:db8:2::20")
        assert clean(run_root) == []
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout:
            child.stdout.close()
        if sleeper is not None and kernel.proc_start_time(sleeper) is not None:
            os.kill(sleeper, signal.SIGKILL)
        with contextlib.suppress(BuildError):
            clean(run_root)


_CTRL_C_CHILD = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {repo!r})
    from lab.build import build
    from tests.test_build_netns import lan_topology
    name, run_root = sys.argv[1], sys.argv[2]

    def progress(done, total):
        if done == total // 2:
            print("HALF", flush=True)
            time.sleep(1.0)  # the SIGINT lands while the worker waits here

    try:
        build(lan_topology(12), name, run_root=run_root, progress=progress)
    except KeyboardInterrupt:
        print("INTERRUPTED", flush=True)
        sys.exit(3)
    """
)


def test_ctrl_c_in_the_caller_rolls_back(run_root: Path, tmp_path: Path) -> None:
    name = lab_name("int")
    script = tmp_path / "child.py"
    script.write_text(_CTRL_C_CHILD.format(repo=str(REPO)))
    child = subprocess.Popen(
        [sys.executable, str(script), name, str(run_root)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "HALF"
        child.send_signal(signal.SIGINT)
        assert child.wait(timeout=30) == 3
        assert child.stdout.read().strip() == "INTERRUPTED"
        assert lab_namespaces(name) == []
        assert not (run_root / name).exists()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout:
            child.stdout.close()
        with contextlib.suppress(BuildError):
            clean(run_root)


def _ip_netns(*args: str) -> None:
    subprocess.run(["ip", "netns", *args], check=True, capture_output=True)


def test_clean_touches_only_what_it_owns(run_root: Path, tmp_path: Path) -> None:
    name = lab_name("own")
    script = tmp_path / "child.py"
    # A process builds a lab and exits without tearing it down: a dead owner.
    script.write_text(
        f"import sys; sys.path.insert(0, {str(REPO)!r})\n"
        "from lab.build import build\n"
        "from tests.test_build_netns import lan_topology\n"
        f"build(lan_topology(3), {name!r}, run_root={str(run_root)!r})\n"
    )
    subprocess.run([sys.executable, str(script)], check=True, cwd=REPO, timeout=60)
    intruder = f"{name}-intruder"  # matches the lab's name pattern, listed nowhere
    impostor = f"{name}-n1"  # a listed name, now held by a namespace the lab did not make
    unrelated = f"tbu{os.getpid() % 100000}-{next(_SEQ)}"
    made = []
    try:
        _ip_netns("add", intruder)
        made.append(intruder)
        _ip_netns("add", unrelated)
        made.append(unrelated)
        _ip_netns("del", impostor)
        _ip_netns("add", impostor)
        made.append(impostor)
        assert [i.name for i in list_labs(run_root) if not i.alive] == [name]

        assert clean(run_root) == [name]
        left = lab_namespaces(name)
        assert sorted(left) == sorted([intruder, impostor])
        assert (NETNS / unrelated).exists()
        assert not (run_root / name).exists()
    finally:
        for ns in made:
            with contextlib.suppress(subprocess.CalledProcessError):
                _ip_netns("del", ns)
        with contextlib.suppress(BuildError):
            clean(run_root)
    assert lab_namespaces(name) == []


def test_lan_of_many_nodes(labs) -> None:
    lab = labs(lan_topology(40), "m")
    ping6(lab.ns("n0"), "2001:db8:9::28")
    ping6(lab.ns("n39"), "2001:db8:9::1")
    assert len(ifnames(lab.bridge_ns("lan"))) == 42  # lo, br0, 40 ports


def test_nothing_left_behind() -> None:
    """Runs last in this module: no namespace of any lab this process built remains."""
    prefix = f"tb{os.getpid() % 100000}"
    assert [e for e in os.listdir(NETNS) if e.startswith(prefix)] == []
