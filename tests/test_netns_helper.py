"""Tests of dhcp6.testing.netns.NetnsLab (root and Linux network namespaces)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from dhcp6.testing.netns import INFINITE_LIFETIME, NetnsLab, NetnsLabError

pytestmark = [
    pytest.mark.netns,
    pytest.mark.skipif(
        not sys.platform.startswith("linux") or os.geteuid() != 0,
        reason="needs root and Linux network namespaces",
    ),
]

# Used when the machine has no `ping` binary (iputils-ping is not in every image):
# one ICMPv6 echo over a raw socket, answered within 2 s, like `ping -6 -c1 -W2`.
_ICMP6_ECHO = r"""
import os, select, socket, struct, sys, time
target, _, iface = sys.argv[1].partition("%")
scope = socket.if_nametoindex(iface) if iface else 0
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
ident = os.getpid() & 0xFFFF
s.sendto(struct.pack("!BBHHH", 128, 0, 0, ident, 1) + b"dhcp6-lab", (target, 0, 0, scope))
deadline = time.monotonic() + 2.0
while (left := deadline - time.monotonic()) > 0:
    if not select.select([s], [], [], left)[0]:
        break
    data, src = s.recvfrom(2048)
    if data[0] == 129 and struct.unpack("!H", data[4:6])[0] == ident:
        print(f"reply from {src[0]}")
        sys.exit(0)
print(f"no echo reply from {sys.argv[1]}", file=sys.stderr)
sys.exit(1)
"""


def ping6(lab: NetnsLab, node: str, target: str, timeout: float = 5.0) -> None:
    """Assert that ``node`` gets an echo reply from ``target`` (``fe80::…%if`` allowed).

    One probe is `ping -6 -c1 -W2` (or the raw-socket equivalent); probes repeat until
    one succeeds or ``timeout`` passes, so a slow first neighbour resolution is no flake.
    """
    if shutil.which("ping"):
        argv = ["ping", "-6", "-c1", "-W2", target]
    else:
        argv = [sys.executable, "-c", _ICMP6_ECHO, target]
    deadline = time.monotonic() + timeout
    while True:
        res = lab.run(node, argv)
        if res.returncode == 0:
            return
        if time.monotonic() >= deadline:
            pytest.fail(f"{node} cannot reach {target}: {res.stdout}{res.stderr}")
        time.sleep(0.1)  # between probes only; the loop is bounded by the deadline


def namespaces() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return {line.split()[0] for line in out.stdout.splitlines() if line.strip()}


def ours(prefix: str) -> set[str]:
    return {n for n in namespaces() if n.startswith(f"{prefix}-")}


def sysctl(lab: NetnsLab, node: str, key: str) -> str:
    res = lab.run(node, ["cat", f"/proc/sys/{key.replace('.', '/')}"])
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


def wait_gone(pid: int, timeout: float = 5.0) -> bool:
    """True once ``pid`` has exited (a zombie waiting for its reaper counts as gone)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.02)
    return False


def test_veth_pair_link_local_ping(netns_lab: NetnsLab) -> None:
    lab = netns_lab
    assert lab.namespace("a") == f"{lab.prefix}-a"
    assert lab.namespace("b", forwarding=True) == lab.ns("b")
    lab.veth("a", "eth0", "b", "eth0")

    for node in ("a", "b"):
        for key in ("all", "default", "eth0"):
            assert sysctl(lab, node, f"net.ipv6.conf.{key}.accept_dad") == "0"
            assert sysctl(lab, node, f"net.ipv6.conf.{key}.disable_ipv6") == "0"
        lo = lab.run(node, ["ip", "-o", "link", "show", "lo"]).stdout
        assert ",UP" in lo
    assert sysctl(lab, "a", "net.ipv6.conf.all.forwarding") == "0"
    assert sysctl(lab, "b", "net.ipv6.conf.all.forwarding") == "1"

    lla_a = lab.link_local("a", "eth0")
    lla_b = lab.link_local("b", "eth0")
    assert lla_a.startswith("fe80:") and lla_b.startswith("fe80:") and lla_a != lla_b
    # accept_dad=0: the link-local address is never tentative
    (entry,) = [x for x in lab.addresses("b", "eth0") if x["address"] == lla_b]
    assert "tentative" not in entry["flag_names"]
    assert entry["prefixlen"] == 64

    ping6(lab, "a", f"{lla_b}%eth0")
    ping6(lab, "b", f"{lla_a}%eth0")

    # ifindex agrees with the kernel, and the peer of each end lives in the other namespace
    show = lab.run("a", ["ip", "-o", "link", "show", "eth0"]).stdout
    assert show.startswith(f"{lab.ifindex('a', 'eth0')}: eth0@")
    assert f"link-netns {lab.ns('b')}" in show


def test_veth_ends_never_touch_the_root_namespace(netns_lab: NetnsLab) -> None:
    lab = netns_lab
    lab.namespace("a")
    lab.namespace("b")
    # names unique to this run, so a root-namespace interface would be visible by name
    a_if, b_if = f"x{lab.prefix[-4:]}a", f"x{lab.prefix[-4:]}b"
    lab.veth("a", a_if, "b", b_if, up=False)
    for ifname in (a_if, b_if):
        root = subprocess.run(["ip", "link", "show", ifname], capture_output=True, text=True)
        assert root.returncode != 0, f"{ifname} appeared in the root namespace"
    assert lab.run("a", ["ip", "link", "show", a_if]).returncode == 0
    assert lab.run("b", ["ip", "link", "show", b_if]).returncode == 0
    # up=False: no carrier, no link-local address; the wait is bounded and says why
    with pytest.raises(TimeoutError, match=rf"a:{a_if}"):
        lab.link_local("a", a_if, timeout=0.3)


def test_bridge_with_three_members(netns_lab: NetnsLab) -> None:
    lab = netns_lab
    assert lab.bridge("lan") == f"{lab.prefix}-lan"
    hosts = ("h1", "h2", "h3")
    for i, host in enumerate(hosts, start=1):
        lab.namespace(host)
        port = lab.attach(host, "eth0", "lan")
        assert port == f"{host}-eth0"
        lab.add_address(host, "eth0", f"2001:db8:1::{i}")

    ports = lab.run("lan", ["ip", "-o", "link", "show", "master", "br0"]).stdout
    assert sorted(line.split(":")[1].strip().split("@")[0] for line in ports.splitlines()) == [
        "h1-eth0",
        "h2-eth0",
        "h3-eth0",
    ]
    for line in ports.splitlines():
        assert "state UP" in line

    (addr,) = [x for x in lab.addresses("h2", "eth0") if x["address"] == "2001:db8:1::2"]
    assert addr["prefixlen"] == 64
    assert {"nodad", "permanent"} <= addr["flag_names"]
    assert addr["valid"] == addr["preferred"] == INFINITE_LIFETIME

    for i, src in enumerate(hosts, start=1):
        for j in range(1, len(hosts) + 1):
            if i != j:
                ping6(lab, src, f"2001:db8:1::{j}")


def test_attach_long_names_get_short_ports(netns_lab: NetnsLab) -> None:
    lab = netns_lab
    lab.bridge("sw")
    lab.namespace("client-with-a-long-name")
    port = lab.attach("client-with-a-long-name", "eth0", "sw")
    assert len(port) <= 15
    assert lab.run("sw", ["ip", "link", "show", port]).returncode == 0


def test_close_removes_namespaces_and_processes() -> None:
    lab = NetnsLab()
    lab.namespace("a")
    lab.namespace("b")
    lab.veth("a", "eth0", "b", "eth0")
    polite = lab.popen("a", ["sleep", "300"])
    # ignores SIGTERM, so close() has to fall back to SIGKILL
    stubborn = lab.popen(
        "b",
        [
            sys.executable,
            "-c",
            "import signal, sys, time\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            "print('ready', flush=True)\n"
            "time.sleep(300)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert stubborn.stdout is not None
    assert stubborn.stdout.readline().strip() == "ready"
    # an untracked process left in a namespace is ended too
    res = lab.run("a", ["sh", "-c", "sleep 300 >/dev/null 2>&1 & echo $!"])
    stray = int(res.stdout.strip())
    assert len(ours(lab.prefix)) == 2

    lab.close()

    assert ours(lab.prefix) == set()
    assert polite.poll() == -signal.SIGTERM
    assert stubborn.poll() == -signal.SIGKILL
    assert wait_gone(stray)
    lab.close()  # idempotent
    with pytest.raises(NetnsLabError, match="closed"):
        lab.namespace("c")


def test_exception_inside_with_still_cleans_up() -> None:
    with pytest.raises(RuntimeError, match="boom"), NetnsLab() as lab:
        lab.namespace("a")
        lab.namespace("b")
        proc = lab.popen("a", ["sleep", "300"])
        lab.veth("a", "eth0", "b", "eth0")
        assert len(ours(lab.prefix)) == 2
        raise RuntimeError("boom")
    assert ours(lab.prefix) == set()
    assert proc.poll() is not None


def test_failed_step_midway_still_cleans_up() -> None:
    with pytest.raises(NetnsLabError, match=r"a:eth0 <-> b:eth0"), NetnsLab() as lab:
        lab.namespace("a")
        lab.namespace("b")
        lab.veth("a", "eth0", "b", "eth0")
        lab.veth("a", "eth0", "b", "eth0")  # names taken: netlink says EEXIST
    assert ours(lab.prefix) == set()


def test_bad_arguments_are_named() -> None:
    with NetnsLab() as lab:
        lab.namespace("a")
        with pytest.raises(ValueError, match="already exists"):
            lab.namespace("a")
        with pytest.raises(KeyError, match="no node 'zz'"):
            lab.veth("a", "eth0", "zz", "eth0")
        with pytest.raises(ValueError, match="interface name"):
            lab.veth("a", "sixteen-chars-xx", "a", "eth1")
        with pytest.raises(ValueError, match="node name"):
            lab.namespace("a/b")
        with pytest.raises(NetnsLabError, match="no interface 'eth9'"):
            lab.ifindex("a", "eth9")
        with pytest.raises(ValueError, match="add_address a:lo"):
            lab.add_address("a", "lo", "192.0.2.1")
    assert ours(lab.prefix) == set()


def test_two_labs_do_not_collide() -> None:
    with NetnsLab() as one, NetnsLab() as two:
        assert one.prefix != two.prefix
        for lab in (one, two):
            lab.namespace("a")
            lab.namespace("b")
            lab.veth("a", "eth0", "b", "eth0")
            lab.add_address("b", "eth0", "2001:db8:2::2")
        assert one.ns("a") != two.ns("a")
        one.close()
        assert ours(one.prefix) == set()
        assert ours(two.prefix) == {two.ns("a"), two.ns("b")}
        ping6(two, "a", f"{two.link_local('b', 'eth0')}%eth0")
    assert ours(two.prefix) == set()


def test_explicit_prefix_and_run_output() -> None:
    prefix = f"d6tx{os.getpid()}"
    with NetnsLab(prefix=prefix) as lab:
        assert lab.namespace("n") == f"{prefix}-n"
        res = lab.run("n", ["sh", "-c", "echo out; echo err >&2; exit 3"])
        assert (res.returncode, res.stdout, res.stderr) == (3, "out\n", "err\n")
    assert ours(prefix) == set()
