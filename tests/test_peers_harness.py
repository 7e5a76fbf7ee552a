"""The real-peer harness (dhcp6.testing.peers) proven with real peers against each other.

Kea serves dhclient, dhclient -P, dhcpcd and dhcp6c; dhcpd -6 and dnsmasq serve
dhclient; perfdhcp loads Kea; dhcrelay -6 relays dhclient to Kea. After every test each
peer process is gone and the host's DHCP state files are untouched.
"""

from __future__ import annotations

import ipaddress
import os
import re
import stat
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dhcp6.testing import peers
from dhcp6.testing.peers import PeerProcess

pytestmark = [
    pytest.mark.netns,
    pytest.mark.interop,
    pytest.mark.skipif(
        not sys.platform.startswith("linux") or os.geteuid() != 0,
        reason="needs root and Linux network namespaces",
    ),
]

SUBNET = "2001:db8:1::/64"
POOL = "2001:db8:1::100-2001:db8:1::1ff"
PD_NET = "2001:db8:8000::/48"
LEASE_TIMEOUT = 10.0

# Host paths a misconfigured peer would write (state, pid files, resolv.conf hooks).
HOST_PATHS = [
    "/etc/resolv.conf",
    "/etc/hostname",
    "/etc/dhcp",
    "/var/lib/dhcp",
    "/var/lib/kea",
    "/var/lib/dhcpcd",
    "/var/lib/dhcpv6",
    "/var/lib/misc",
    "/run/dhcpcd",
    "/run/kea",
    "/run/dnsmasq",
    "/run/dhclient6.pid",
    "/run/dhcpd6.pid",
    "/run/dhcp6c.pid",
    "/run/dhcrelay6.pid",
    "/run/dnsmasq.pid",
    "/var/log/kea",
]


def _snapshot(path: str) -> tuple:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return ("absent",)
    entries: tuple = ()
    if stat.S_ISDIR(st.st_mode):
        entries = tuple(sorted(os.listdir(path)))
    return (stat.S_IFMT(st.st_mode), st.st_mtime_ns, st.st_size, entries)


def host_state() -> dict[str, tuple]:
    state = {p: _snapshot(p) for p in HOST_PATHS}
    dev_null = os.stat("/dev/null")
    state["/dev/null"] = (stat.S_ISCHR(dev_null.st_mode), dev_null.st_rdev)
    return state


def pids_in(lab) -> list[int]:
    """Processes whose network namespace is one of the lab's."""
    inodes = set()
    for nsname in lab.nodes.values():
        with_path = Path("/run/netns") / nsname
        if with_path.exists():
            st = with_path.stat()
            inodes.add((st.st_dev, st.st_ino))
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            st = os.stat(f"/proc/{entry}/ns/net")
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in inodes:
            found.append(int(entry))
    return found


class Harness:
    """The lab, a run directory per peer, and the peers a test started."""

    def __init__(self, lab, base: Path) -> None:
        self.lab = lab
        self.base = base
        self.peers: list[PeerProcess] = []

    def need(self, *binaries: str) -> None:
        """Skip the test (naming the Debian packages) unless these peers are installed."""
        missing = peers.missing_binaries(binaries)
        if missing:
            pkgs = " ".join(sorted({peers.PEER_BINARIES[b] for b in missing}))
            pytest.skip(
                f"peer binaries not installed: {', '.join(missing)} (apt-get install {pkgs})"
            )

    def dir(self, name: str) -> Path:
        return self.base / name

    def add(self, peer: PeerProcess) -> PeerProcess:
        self.peers.append(peer)
        return peer

    def pair(self) -> None:
        """srv:eth0 (2001:db8:1::1/64) — cli:eth0 (link-local only)."""
        self.lab.namespace("srv")
        self.lab.namespace("cli")
        self.lab.veth("srv", "eth0", "cli", "eth0")
        self.lab.add_address("srv", "eth0", "2001:db8:1::1")


@pytest.fixture
def harness(netns_lab, tmp_path) -> Iterator[Harness]:
    before = host_state()
    h = Harness(netns_lab, tmp_path)
    yield h
    for peer in reversed(h.peers):
        peer.stop()
    for peer in h.peers:
        assert peer.popen.returncode is not None, f"{peer.describe()} still running"
    left = pids_in(netns_lab)
    assert not left, f"processes left in the lab's namespaces: {left}"
    after = host_state()
    changed = {p: (before[p], after[p]) for p in before if before[p] != after[p]}
    assert not changed, f"host files changed by a peer: {changed}"


def assert_in_pool(address: str, pool: str = POOL) -> None:
    first, last = (ipaddress.IPv6Address(x) for x in pool.split("-"))
    assert first <= ipaddress.IPv6Address(address) <= last, f"{address} not in {pool}"


def lease_time(server: PeerProcess, client: PeerProcess, address: str) -> float:
    took = time.monotonic() - client.started
    print(f"{client.name} got {address} from {server.name} in {took:.3f} s")
    return took


# --------------------------------------------------------------------------- tests


def test_kea_serves_dhclient(harness: Harness) -> None:
    h = harness
    h.need("kea-dhcp6", "dhclient")
    h.pair()
    kea = h.add(peers.start_kea(h.lab, "srv", "eth0", h.dir("kea"), preference=255))
    dhc = h.add(peers.start_dhclient(h.lab, "cli", "eth0", h.dir("dhclient")))
    addr = peers.wait_for_address(h.lab, "cli", "eth0", SUBNET, LEASE_TIMEOUT, peer=dhc)
    assert_in_pool(addr)
    assert lease_time(kea, dhc, addr) < LEASE_TIMEOUT
    # Everything it keeps is in its run directory, DUID included.
    assert "default-duid" in dhc.read("leases")
    assert addr in dhc.read("leases")
    assert "reason=BOUND6" in dhc.read("events")
    assert "new_dhcp6_name_servers=2001:db8::53" in dhc.read("events")
    assert addr in kea.read("leases")
    assert (kea.run_dir / "kea-dhcp6-serverid").exists()


def test_kea_delegates_prefix_to_dhclient(harness: Harness) -> None:
    h = harness
    h.need("kea-dhcp6", "dhclient")
    h.pair()
    kea = h.add(peers.start_kea(h.lab, "srv", "eth0", h.dir("kea"), rapid_commit=True))
    dhc = h.add(
        peers.start_dhclient(
            h.lab, "cli", "eth0", h.dir("dhclient"), na=False, pd=True, rapid_commit=True
        )
    )
    m = dhc.wait_for(r"iaprefix ([0-9a-f:]+/\d+)", file="leases", timeout=LEASE_TIMEOUT)
    prefix = ipaddress.IPv6Network(m.group(1))
    print(f"dhclient -P got {prefix} in {time.monotonic() - dhc.started:.3f} s (rapid commit)")
    assert prefix.prefixlen == 56
    assert prefix.subnet_of(ipaddress.IPv6Network(PD_NET))
    # dhclient writes its lease file before its script has run, so wait for the script.
    dhc.wait_for(
        rf"^new_ip6_prefix={re.escape(str(prefix))}$", file="events", timeout=LEASE_TIMEOUT
    )
    assert "ia-na" not in dhc.read("leases")
    assert str(prefix.network_address) in kea.read("leases")


def test_kea_serves_dhcpcd(harness: Harness) -> None:
    h = harness
    h.need("kea-dhcp6", "dhcpcd")
    h.pair()
    kea = h.add(peers.start_kea(h.lab, "srv", "eth0", h.dir("kea"), preference=255))
    cd = h.add(peers.start_dhcpcd(h.lab, "cli", "eth0", h.dir("dhcpcd"), nodelay=True))
    addr = peers.wait_for_address(h.lab, "cli", "eth0", SUBNET, LEASE_TIMEOUT, peer=cd)
    assert_in_pool(addr)
    lease_time(kea, cd, addr)
    db = cd.files["db"]
    cd.wait_for(r"writing lease", timeout=LEASE_TIMEOUT)
    assert (db / "duid").exists(), f"dhcpcd's DUID not in its own /var/lib/dhcpcd: {db}"
    assert (db / "eth0.lease6").exists()


def test_kea_serves_dhcp6c(harness: Harness) -> None:
    h = harness
    h.need("kea-dhcp6", "dhcp6c")
    h.pair()
    kea = h.add(peers.start_kea(h.lab, "srv", "eth0", h.dir("kea"), preference=255))
    c6 = h.add(peers.start_dhcp6c(h.lab, "cli", "eth0", h.dir("dhcp6c")))
    addr = peers.wait_for_address(h.lab, "cli", "eth0", SUBNET, LEASE_TIMEOUT, peer=c6)
    assert_in_pool(addr)
    lease_time(kea, c6, addr)
    assert (c6.files["db"] / "dhcp6c_duid").exists()
    # dhcp6c sends a Release on SIGTERM: Kea logs it before we stop the server.
    assert c6.stop() == 0
    kea.wait_for(r"DHCP6_RELEASE_NA", timeout=5)


def test_dhcpd6_serves_dhclient(harness: Harness) -> None:
    h = harness
    h.need("dhcpd", "dhclient")
    h.pair()
    srv = h.add(
        peers.start_dhcpd6(
            h.lab, "srv", "eth0", h.dir("dhcpd6"), subnet=SUBNET, range_=POOL, preference=255
        )
    )
    dhc = h.add(peers.start_dhclient(h.lab, "cli", "eth0", h.dir("dhclient")))
    addr = peers.wait_for_address(h.lab, "cli", "eth0", SUBNET, LEASE_TIMEOUT, peer=dhc)
    assert_in_pool(addr)
    lease_time(srv, dhc, addr)
    srv.wait_for(re.escape(f"Reply NA: address {addr}"), timeout=5)
    srv.wait_for(r"server-duid", file="leases", timeout=5)


def test_dnsmasq_serves_dhclient(harness: Harness) -> None:
    h = harness
    h.need("dnsmasq", "dhclient")
    h.pair()
    srv = h.add(peers.start_dnsmasq(h.lab, "srv", "eth0", h.dir("dnsmasq")))
    dhc = h.add(peers.start_dhclient(h.lab, "cli", "eth0", h.dir("dhclient")))
    addr = peers.wait_for_address(h.lab, "cli", "eth0", SUBNET, LEASE_TIMEOUT, peer=dhc)
    assert_in_pool(addr)
    lease_time(srv, dhc, addr)
    srv.wait_for(re.escape(addr), file="leases", timeout=5)
    with pytest.raises(ValueError, match="minimum is 2m"):
        peers.start_dnsmasq(h.lab, "srv", "eth0", h.dir("dnsmasq2"), lease_time="30s")


def test_perfdhcp_against_kea(harness: Harness) -> None:
    h = harness
    h.need("kea-dhcp6", "perfdhcp")
    h.pair()
    h.add(
        peers.start_kea(
            h.lab,
            "srv",
            "eth0",
            h.dir("kea"),
            pool="2001:db8:1::1:0-2001:db8:1::1:ffff",
            pd_pool=None,
        )
    )
    res = peers.run_perfdhcp(h.lab, "cli", "eth0", rate=200, seconds=2, clients=400)
    print(res.output)
    print(
        f"perfdhcp: sent {res.sent} received {res.received} drops {res.drops} "
        f"rate {res.rate} (achieved {res.achieved_rate:.1f}, expected {res.expected_rate}) "
        f"elapsed {res.elapsed:.2f} s; "
        + "; ".join(
            f"{ex}: min/avg/max {s.min_delay}/{s.avg_delay}/{s.max_delay} ms"
            for ex, s in res.exchanges.items()
        )
    )
    assert res.returncode == 0
    assert list(res.exchanges) == ["SOLICIT-ADVERTISE", "REQUEST-REPLY"]
    assert res.drops == 0
    assert res.malformed == 0
    assert res.expected_rate == 200
    assert res.rate is not None and res.rate > 0
    sa, rr = res.exchanges["SOLICIT-ADVERTISE"], res.exchanges["REQUEST-REPLY"]
    assert 300 <= sa.sent <= 420, sa
    assert sa.received == sa.sent == rr.sent == rr.received
    assert res.sent == {"SOLICIT": sa.sent, "REQUEST": rr.sent}
    assert res.received == {"ADVERTISE": sa.received, "REPLY": rr.received}
    assert res.completed == rr.received == res.initiated
    assert res.all_completed
    assert 150 <= res.achieved_rate <= 210, res.achieved_rate
    for s in (sa, rr):
        assert s.min_delay is not None and s.avg_delay is not None and s.max_delay is not None
        assert 0 < s.min_delay <= s.avg_delay <= s.max_delay


def test_relayed_dhclient_through_dhcrelay_to_kea(harness: Harness) -> None:
    h = harness
    h.need("kea-dhcp6", "dhcrelay", "dhclient")
    lab = h.lab
    for node in ("cli", "rly", "srv"):
        lab.namespace(node)
    lab.veth("cli", "eth0", "rly", "eth0")  # client link: 2001:db8:2::/64
    lab.veth("rly", "eth1", "srv", "eth0")  # server link: 2001:db8:1::/64
    lab.add_address("rly", "eth0", "2001:db8:2::1")  # becomes the Relay-forward link-address
    lab.add_address("rly", "eth1", "2001:db8:1::2")
    lab.add_address("srv", "eth0", "2001:db8:1::1")
    res = lab.run("srv", ["ip", "-6", "route", "add", "2001:db8:2::/64", "via", "2001:db8:1::2"])
    assert res.returncode == 0, res.stderr
    kea = h.add(
        peers.start_kea(
            lab,
            "srv",
            "eth0",
            h.dir("kea"),
            subnet="2001:db8:2::/64",
            pool="2001:db8:2::100-2001:db8:2::1ff",
            pd_pool=None,
            relayed=True,
            unicast="2001:db8:1::1",
            preference=255,
        )
    )
    relay = h.add(
        peers.start_dhcrelay6(lab, "rly", "eth0", "eth1", "2001:db8:1::1", h.dir("relay"))
    )
    dhc = h.add(peers.start_dhclient(lab, "cli", "eth0", h.dir("dhclient")))
    addr = peers.wait_for_address(lab, "cli", "eth0", "2001:db8:2::/64", LEASE_TIMEOUT, peer=dhc)
    assert_in_pool(addr, "2001:db8:2::100-2001:db8:2::1ff")
    lease_time(kea, dhc, addr)
    relay.wait_for(r"Relaying Reply to", timeout=5)


def test_start_failure_reports_log_and_leaves_nothing(harness: Harness) -> None:
    h = harness
    h.need("kea-dhcp6")
    h.pair()
    with pytest.raises(peers.PeerError, match=r"(?s)exited with code 1 .*--- .*kea.log ---.*pool"):
        peers.start_kea(h.lab, "srv", "eth0", h.dir("kea"), pool="2001:db8:9::1-2001:db8:9::2")


def test_clients_in_separate_namespaces_keep_separate_duids(harness: Harness) -> None:
    """Two dhcpcd and two dhcp6c on one LAN: private /var/lib mounts never collide."""
    h = harness
    h.need("kea-dhcp6", "dhcpcd", "dhcp6c")
    lab = h.lab
    lab.bridge("lan")
    for node in ("srv", "c1", "c2", "c3", "c4"):
        lab.namespace(node)
        lab.attach(node, "eth0", "lan")
    lab.add_address("srv", "eth0", "2001:db8:1::1")
    h.add(peers.start_kea(lab, "srv", "eth0", h.dir("kea"), preference=255, pd_pool=None))
    clients = [
        h.add(peers.start_dhcpcd(lab, "c1", "eth0", h.dir("c1"))),
        h.add(peers.start_dhcpcd(lab, "c2", "eth0", h.dir("c2"))),
        h.add(peers.start_dhcp6c(lab, "c3", "eth0", h.dir("c3"))),
        h.add(peers.start_dhcp6c(lab, "c4", "eth0", h.dir("c4"))),
    ]
    addrs = {
        peers.wait_for_address(lab, c.node, "eth0", SUBNET, LEASE_TIMEOUT, peer=c) for c in clients
    }
    assert len(addrs) == 4, addrs
    clients[0].wait_for(r"writing lease", timeout=LEASE_TIMEOUT)
    clients[1].wait_for(r"writing lease", timeout=LEASE_TIMEOUT)
    duid_files = [
        clients[0].files["db"] / "duid",
        clients[1].files["db"] / "duid",
        clients[2].files["db"] / "dhcp6c_duid",
        clients[3].files["db"] / "dhcp6c_duid",
    ]
    duids = [f.read_bytes() for f in duid_files]
    assert all(duids), duid_files
    assert len(set(duids)) == 4, duids
