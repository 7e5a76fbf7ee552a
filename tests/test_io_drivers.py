"""The lab-independent I/O drivers: dhcp6.io.netns, dhcp6.io.udp, dhcp6.io.netlink.

Namespace tests (marked ``netns``) build their networks with the ``netns_lab`` fixture
and drive the drivers from ``asyncio.run`` with ``asyncio.wait_for`` timeouts; where a
test waits for a counter it polls that condition with a deadline, never a fixed sleep.
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct
from collections.abc import Callable
from ipaddress import IPv6Address

import pytest

from dhcp6.io.netlink import (
    IFA_F_DADFAILED,
    IFA_F_NODAD,
    IFA_F_NOPREFIXROUTE,
    INFINITE_LIFETIME,
    AddressDriver,
    LinkMonitor,
    NetlinkError,
    kernel_lifetime,
    wait_link_local,
)
from dhcp6.io.netns import NetnsError, run_in_netns
from dhcp6.io.udp import Datagram, EndpointError, UdpEndpoint, read_udp6_table

netns = pytest.mark.netns
ALL_AGENTS = IPv6Address("ff02::1:2")
ALL_SERVERS = IPv6Address("ff05::1:3")
TIMEOUT = 5.0


# --------------------------------------------------------------------------- helpers


def arun(coro, timeout: float = 30.0):
    """Run ``coro`` on a fresh loop with an overall timeout."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def until(cond: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
    """Wait until ``cond()`` holds (checked every 5 ms); fail naming ``what``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        if loop.time() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.005)


def plain_socket(
    ns: str, port: int, *, join: tuple[IPv6Address, str] | None = None
) -> socket.socket:
    """A non-blocking UDP socket bound to [::]:port inside ``ns`` (optionally joined)."""

    def make() -> socket.socket:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind(("::", port))
        if join is not None:
            group, ifname = join
            mreq = group.packed + struct.pack("@I", socket.if_nametoindex(ifname))
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
        s.setblocking(False)
        return s

    return run_in_netns(ns, make)


def ifindex(ns: str, ifname: str) -> int:
    return run_in_netns(ns, socket.if_nametoindex, ifname)


def write_sysctl(ns: str, key: str, value: str) -> None:
    def write() -> None:
        with open(f"/proc/sys/{key.replace('.', '/')}", "w") as f:
            f.write(value)

    run_in_netns(ns, write)


def ip(lab, node: str, *args: str) -> None:
    res = lab.run(node, ["ip", *args])
    assert res.returncode == 0, f"ip {' '.join(args)} in {node}: {res.stderr.strip()}"


async def recv_from(sock: socket.socket, timeout: float = TIMEOUT) -> tuple[bytes, tuple]:
    loop = asyncio.get_running_loop()
    return await asyncio.wait_for(loop.sock_recvfrom(sock, 65535), timeout)


def pair(lab) -> tuple[str, str]:
    """Namespaces a and b joined by a veth (eth0 in each), link-locals usable."""
    ns_a, ns_b = lab.namespace("a"), lab.namespace("b")
    lab.veth("a", "eth0", "b", "eth0")
    lab.link_local("a", "eth0")
    lab.link_local("b", "eth0")
    return ns_a, ns_b


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert text and "\n" not in text, repr(text)
    return text


# --------------------------------------------------------------------------- pure


def test_kernel_lifetime_scaling():
    assert kernel_lifetime(60) == 60
    assert kernel_lifetime(60, 10) == 6
    assert kernel_lifetime(45, 10) == 5  # rounded up: the kernel never expires it first
    assert kernel_lifetime(3, 10) == 1  # at least 1 s
    assert kernel_lifetime(0, 10) == 0  # preferred 0 = deprecated, kept
    assert kernel_lifetime(INFINITE_LIFETIME, 10) == INFINITE_LIFETIME
    assert kernel_lifetime(INFINITE_LIFETIME - 1, 0.5) == INFINITE_LIFETIME - 1  # never ∞
    for bad in (-1, INFINITE_LIFETIME + 1, 1.5, True):
        with pytest.raises(ValueError):
            kernel_lifetime(bad)


# --------------------------------------------------------------------------- netns


@netns
def test_run_in_netns(netns_lab):
    ns_a = netns_lab.namespace("a")
    netns_lab.namespace("b")
    netns_lab.veth("a", "eth0", "b", "eth1")
    # The function runs inside the namespace (it sees a's interfaces, not ours) …
    names = run_in_netns(ns_a, lambda: sorted(n for _i, n in socket.if_nameindex()))
    assert names == ["eth0", "lo"]
    # … its exception comes back unchanged …
    with pytest.raises(KeyError, match="boom"):
        run_in_netns(ns_a, lambda: {}["boom"])
    # … and a socket made there stays there: /proc/thread-self/net of a shows it.
    sock = run_in_netns(ns_a, socket.socket, socket.AF_INET6, socket.SOCK_DGRAM)
    with sock:
        sock.bind(("::", 0))
        port = sock.getsockname()[1]
        assert port in {r["port"] for r in read_udp6_table(ns_a)}
        assert port not in {r["port"] for r in read_udp6_table(None)}
    assert run_in_netns(None, os.getpid) == os.getpid()


@netns
def test_multicast_receive_and_link_local_reply(netns_lab):
    ns_a, ns_b = pair(netns_lab)
    lla_a = IPv6Address(netns_lab.link_local("a", "eth0"))
    lla_b = IPv6Address(netns_lab.link_local("b", "eth0"))

    async def main() -> None:
        got: asyncio.Queue[Datagram] = asyncio.Queue()
        ep = await UdpEndpoint.open(
            port=547,
            interfaces=["eth0"],
            netns=ns_a,
            multicast=(str(ALL_AGENTS),),
            on_datagram=got.put_nowait,
        )
        client = plain_socket(ns_b, 546)
        with ep, client:
            assert ep.ifindexes == {"eth0": ifindex(ns_a, "eth0")}
            client.sendto(b"solicit", (str(ALL_AGENTS), 547, 0, ifindex(ns_b, "eth0")))
            dg = await asyncio.wait_for(got.get(), TIMEOUT)
            assert dg.data == b"solicit"
            assert (dg.src, dg.sport) == (lla_b, 546)
            assert dg.dst == ALL_AGENTS
            assert (dg.ifname, dg.ifindex) == ("eth0", ep.ifindexes["eth0"])
            assert dg.src.scope_id is None
            assert str(dg.src) == str(lla_b) and str(dg.dst) == str(ALL_AGENTS)
            # A source seen again is the same address object (its text kept).
            client.sendto(b"again", (str(ALL_AGENTS), 547, 0, ifindex(ns_b, "eth0")))
            dg2 = await asyncio.wait_for(got.get(), TIMEOUT)
            assert dg2.src is dg.src and dg2.dst is dg.dst

            ep.send(b"advertise", dg.src, dg.sport, ifindex=dg.ifindex)
            data, addr = await recv_from(client)
            assert data == b"advertise"
            assert IPv6Address(addr[0].partition("%")[0]) == lla_a
            assert addr[1] == 547
            # The same by interface name, and with a "%eth0" scoped string.
            ep.send(b"by-name", str(lla_b), 546, ifname="eth0")
            ep.send(b"by-scope", f"{lla_b}%eth0", 546)
            assert (await recv_from(client))[0] == b"by-name"
            assert (await recv_from(client))[0] == b"by-scope"
            assert ep.stats["received"] == 2
            assert ep.stats["sent"] == 3
            assert ep.stats["send_errors"] == 0, ep.stats["last_error"]

    arun(main())


def test_received_addresses_behave_as_ipv6address():
    import copy
    import pickle

    from dhcp6.io.udp import _Address

    for text in ("fe80::216:3eff:fe12:3456", "2001:db8::1", "::", "::ffff:192.0.2.1"):
        plain = IPv6Address(text)
        for a in (_Address(text), _Address(plain.packed), _Address(int(plain))):
            assert isinstance(a, IPv6Address)
            assert a == plain and plain == a and hash(a) == hash(plain)
            assert str(a) == str(plain) and f"{a}" == f"{plain}" and repr(a) == repr(plain)
            assert int(a) == int(plain) and a.packed == plain.packed
            assert a.is_link_local == plain.is_link_local and a.scope_id is None
            assert pickle.loads(pickle.dumps(a)) == plain and copy.copy(a) == plain
            assert {plain: 1}[a] == 1
    assert sorted([_Address("::2"), IPv6Address("::1")]) == [IPv6Address("::1"), IPv6Address("::2")]


@netns
def test_unicast_shows_unicast_destination(netns_lab):
    ns_a, ns_b = pair(netns_lab)
    netns_lab.add_address("a", "eth0", "2001:db8:1::1")
    netns_lab.add_address("b", "eth0", "2001:db8:1::2")

    async def main() -> None:
        got: asyncio.Queue[Datagram] = asyncio.Queue()
        ep = await UdpEndpoint.open(
            port=547,
            interfaces=["eth0"],
            netns=ns_a,
            multicast=(str(ALL_AGENTS),),
            on_datagram=got.put_nowait,
        )
        peer = plain_socket(ns_b, 547)
        with ep, peer:
            peer.sendto(b"relay-forw", ("2001:db8:1::1", 547))
            dg = await asyncio.wait_for(got.get(), TIMEOUT)
            assert dg.dst == IPv6Address("2001:db8:1::1")
            assert dg.src == IPv6Address("2001:db8:1::2")
            assert dg.ifname == "eth0"
            # A global destination needs no interface; the source is chosen by the kernel …
            ep.send(b"relay-repl", dg.src, 547)
            data, addr = await recv_from(peer)
            assert (data, IPv6Address(addr[0])) == (b"relay-repl", IPv6Address("2001:db8:1::1"))
            # … or given explicitly.
            lla_a = netns_lab.link_local("a", "eth0")
            ep.send(b"from-lla", netns_lab.link_local("b", "eth0"), 547, ifname="eth0", src=lla_a)
            data, addr = await recv_from(peer)
            assert IPv6Address(addr[0].partition("%")[0]) == IPv6Address(lla_a)

    arun(main())


@netns
def test_foreign_interface_filtered(netns_lab):
    ns_a, ns_b = pair(netns_lab)
    ns_c = netns_lab.namespace("c")
    netns_lab.veth("a", "eth1", "c", "eth0")
    lla_a1 = netns_lab.link_local("a", "eth1")
    netns_lab.link_local("c", "eth0")

    async def main() -> None:
        got: asyncio.Queue[Datagram] = asyncio.Queue()
        any_got: asyncio.Queue[Datagram] = asyncio.Queue()
        ep = await UdpEndpoint.open(
            port=547,
            interfaces=["eth0"],
            netns=ns_a,
            multicast=(str(ALL_AGENTS),),
            on_datagram=got.put_nowait,
        )
        # Another socket in a joins the group on eth1, so the kernel accepts ff02::1:2
        # there — and, as the group matches, also queues those datagrams on ep's socket.
        other = plain_socket(ns_a, 5547, join=(ALL_AGENTS, "eth1"))
        # An endpoint with interfaces=None takes every interface and names it.
        anywhere = await UdpEndpoint.open(
            port=5548, interfaces=None, netns=ns_a, on_datagram=any_got.put_nowait
        )
        c_sock = plain_socket(ns_c, 546)
        b_sock = plain_socket(ns_b, 546)
        with ep, other, anywhere, c_sock, b_sock:
            c_if = ifindex(ns_c, "eth0")
            c_sock.sendto(b"unicast-eth1", (lla_a1, 547, 0, c_if))
            c_sock.sendto(b"multicast-eth1", (str(ALL_AGENTS), 547, 0, c_if))
            await until(lambda: ep.stats["foreign_iface"] == 2, "2 foreign datagrams")
            b_sock.sendto(b"on-eth0", (str(ALL_AGENTS), 547, 0, ifindex(ns_b, "eth0")))
            dg = await asyncio.wait_for(got.get(), TIMEOUT)
            assert (dg.data, dg.ifname) == (b"on-eth0", "eth0")
            assert got.empty()
            assert ep.stats["received"] == 1

            c_sock.sendto(b"to-any", (lla_a1, 5548, 0, c_if))
            dg = await asyncio.wait_for(any_got.get(), TIMEOUT)
            assert (dg.data, dg.ifname, dg.ifindex) == (b"to-any", "eth1", ifindex(ns_a, "eth1"))
            assert anywhere.stats["foreign_iface"] == 0
            # Sending on an interface that is not one of ep's is a programming error.
            with pytest.raises(ValueError, match="eth1"):
                ep.send(b"x", lla_a1, 546, ifname="eth1")

    arun(main())


@netns
def test_two_namespaces_one_loop(netns_lab):
    """The hosting model: a client in b and a server in a, on one loop, one process."""
    ns_a, ns_b = pair(netns_lab)

    async def main() -> None:
        at_server: asyncio.Queue[Datagram] = asyncio.Queue()
        at_client: asyncio.Queue[Datagram] = asyncio.Queue()
        server = await UdpEndpoint.open(
            port=547,
            interfaces=["eth0"],
            netns=ns_a,
            multicast=(str(ALL_AGENTS),),
            on_datagram=at_server.put_nowait,
        )
        client = await UdpEndpoint.open(
            port=546, interfaces=["eth0"], netns=ns_b, on_datagram=at_client.put_nowait
        )
        with server, client:
            # Each socket lives in its own namespace, none in the process's own.
            assert server.inode in {r["inode"] for r in read_udp6_table(ns_a)}
            assert client.inode in {r["inode"] for r in read_udp6_table(ns_b)}
            assert server.inode not in {r["inode"] for r in read_udp6_table(None)}
            for i in range(20):
                client.send(b"solicit %d" % i, ALL_AGENTS, 547)  # the only interface
                dg = await asyncio.wait_for(at_server.get(), TIMEOUT)
                assert dg.data == b"solicit %d" % i
                server.send(b"advertise %d" % i, dg.src, dg.sport, ifindex=dg.ifindex)
                reply = await asyncio.wait_for(at_client.get(), TIMEOUT)
                assert reply.data == b"advertise %d" % i
                assert reply.dst.is_link_local
                assert reply.sport == 547
            assert (server.stats["received"], client.stats["received"]) == (20, 20)

    arun(main())


@netns
def test_multicast_hop_limit(netns_lab):
    ns_a, ns_b = pair(netns_lab)

    def listener() -> socket.socket:
        s = plain_socket(ns_a, 547, join=(ALL_SERVERS, "eth0"))
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
        return s

    async def main() -> None:
        loop = asyncio.get_running_loop()
        sock = listener()
        relay = await UdpEndpoint.open(
            port=547, interfaces=["eth0"], netns=ns_b, on_datagram=lambda dg: None
        )
        with sock, relay:
            got: asyncio.Queue = asyncio.Queue()

            def readable() -> None:
                data, anc, _flags, _addr = sock.recvmsg(2048, 256)
                hops = [
                    struct.unpack("@i", v)[0]
                    for lvl, kind, v in anc
                    if (lvl, kind) == (socket.IPPROTO_IPV6, socket.IPV6_HOPLIMIT)
                ]
                got.put_nowait((data, hops))

            loop.add_reader(sock.fileno(), readable)
            try:
                relay.send(b"default", ALL_SERVERS, 547, ifname="eth0")
                relay.send(b"hop-8", ALL_SERVERS, 547, ifname="eth0", hop_limit=8)
                assert await asyncio.wait_for(got.get(), TIMEOUT) == (b"default", [1])
                assert await asyncio.wait_for(got.get(), TIMEOUT) == (b"hop-8", [8])
            finally:
                loop.remove_reader(sock.fileno())

    arun(main())


@netns
def test_tentative_link_local_and_wait(netns_lab):
    """Measured: no sending from a tentative link-local; wait_link_local waits for DAD."""
    ns_a = netns_lab.namespace("a")
    ns_b = netns_lab.namespace("b")
    netns_lab.veth("a", "eth0", "b", "eth0", up=False)
    write_sysctl(ns_a, "net.ipv6.conf.eth0.accept_dad", "1")
    ip(netns_lab, "b", "link", "set", "eth0", "up")

    async def main() -> None:
        at_server: asyncio.Queue[Datagram] = asyncio.Queue()
        client = await UdpEndpoint.open(
            port=546, interfaces=["eth0"], netns=ns_a, on_datagram=lambda dg: None
        )
        server = await UdpEndpoint.open(
            port=547,
            interfaces=["eth0"],
            netns=ns_b,
            multicast=(str(ALL_AGENTS),),
            on_datagram=at_server.put_nowait,
        )
        with client, server:
            ip(netns_lab, "a", "link", "set", "eth0", "up")
            # At once: IPv6 is not configured on eth0 until the kernel has seen the
            # carrier (linkwatch, up to 1 s): multicast has no route yet.
            client.send(b"too early", ALL_AGENTS, 547)
            assert client.stats["send_errors"] == 1
            assert client.stats["last_error"].split(": ")[-1].split(" (")[0] in (
                "Network is unreachable",
                "Cannot assign requested address",
            ), client.stats["last_error"]
            # Then the link-local appears, tentative, for ≥ 1 s of DAD. The kernel sends
            # no RTM_NEWADDR for it until DAD ends, so look at the address list.
            tentative = None
            with AddressDriver("eth0", ns_a) as addrs:

                def find_tentative() -> bool:
                    nonlocal tentative
                    for a in addrs.addresses():
                        if a["address"].is_link_local and "tentative" in a["flag_names"]:
                            tentative = a["address"]
                    return tentative is not None

                await until(find_tentative, "a tentative link-local on a:eth0")
            client.send(b"too early", ALL_AGENTS, 547)
            assert client.stats["send_errors"] == 2
            assert "Cannot assign requested address" in client.stats["last_error"]
            client.send(b"too early", ALL_AGENTS, 547, src=tentative)
            assert client.stats["send_errors"] == 3
            assert "Invalid argument" in client.stats["last_error"]

            lla = await wait_link_local("eth0", ns_a, timeout=10)
            assert lla == tentative
            client.send(b"solicit", ALL_AGENTS, 547)
            dg = await asyncio.wait_for(at_server.get(), TIMEOUT)
            assert (dg.data, dg.src) == (b"solicit", lla)

            with pytest.raises(TimeoutError) as err:
                await wait_link_local("lo", ns_a, timeout=0.2)  # lo never has one
            assert "lo in namespace" in one_line(err.value)

    arun(main())


@netns
def test_socket_drops(netns_lab):
    ns_a, _ = pair(netns_lab)

    async def main() -> None:
        ep = await UdpEndpoint.open(
            port=547, interfaces=None, netns=ns_a, rcvbuf=4096, on_datagram=lambda dg: None
        )
        with ep:
            assert ep.rcvbuf <= 16384
            sender = run_in_netns(ns_a, socket.socket, socket.AF_INET6, socket.SOCK_DGRAM)
            with sender:
                for _ in range(200):  # the loop does not run meanwhile: nothing is read
                    sender.sendto(b"x" * 1000, ("::1", 547))
            await until(lambda: ep.socket_drops() > 0, "kernel drops")
            await until(
                lambda: ep.stats["received"] + ep.socket_drops() == 200, "every datagram counted"
            )
            drops = ep.socket_drops()
            assert 0 < drops < 200
            proc = {r["inode"]: r["drops"] for r in read_udp6_table(ns_a)}
            assert proc[ep.inode] == drops  # SO_MEMINFO and /proc/net/udp6 agree

    arun(main())


@netns
def test_endpoint_errors(netns_lab):
    ns_a, _ = pair(netns_lab)

    async def main() -> None:
        noop = lambda dg: None  # noqa: E731
        with pytest.raises(EndpointError) as err:
            await UdpEndpoint.open(port=547, interfaces=["eth9"], netns=ns_a, on_datagram=noop)
        msg = one_line(err.value)
        assert "eth9" in msg and ns_a in msg and "eth0" in msg

        with pytest.raises(NetnsError) as err:
            await UdpEndpoint.open(
                port=547, interfaces=["eth0"], netns=f"{ns_a}-missing", on_datagram=noop
            )
        assert f"{ns_a}-missing" in one_line(err.value)
        assert "ip netns" in str(err.value)

        first = await UdpEndpoint.open(port=547, interfaces=["eth0"], netns=ns_a, on_datagram=noop)
        with first:
            with pytest.raises(EndpointError) as err:
                await UdpEndpoint.open(port=547, interfaces=["eth0"], netns=ns_a, on_datagram=noop)
            msg = one_line(err.value)
            assert "port 547 is already in use" in msg and "this process" in msg
            assert err.value.errno == 98
        # After close the port is free again.
        again = await UdpEndpoint.open(port=547, interfaces=["eth0"], netns=ns_a, on_datagram=noop)
        again.close()
        again.close()  # idempotent

        holder = plain_socket(ns_a, 5600)  # no SO_REUSEADDR: bind itself fails
        with holder, pytest.raises(EndpointError) as err:
            await UdpEndpoint.open(port=5600, interfaces=["eth0"], netns=ns_a, on_datagram=noop)
        assert "port 5600" in one_line(err.value)

        with pytest.raises(ValueError, match="interfaces"):
            await UdpEndpoint.open(
                port=547, interfaces=None, netns=ns_a, multicast=("ff02::1:2",), on_datagram=noop
            )

    arun(main())

    with pytest.raises(NetlinkError) as err:
        AddressDriver("eth9", ns_a)
    assert "eth9" in one_line(err.value) and ns_a in str(err.value)
    with pytest.raises(NetnsError) as err:
        AddressDriver("eth0", "dhcp6-no-such-namespace")
    assert "dhcp6-no-such-namespace" in one_line(err.value)
    with pytest.raises(NetnsError):
        run_in_netns("dhcp6-no-such-namespace", int)

    async def monitor_errors() -> None:
        with pytest.raises(NetlinkError) as err:
            await LinkMonitor.open("eth9", ns_a, lambda ev: None)
        one_line(err.value)

    arun(monitor_errors())


@netns
def test_address_driver_lifetimes(netns_lab):
    ns_a, _ = pair(netns_lab)
    driver = AddressDriver("eth0", ns_a)
    scaled = AddressDriver("eth0", ns_a, time_scale=10)
    with driver, scaled:
        assert driver.ifindex() == ifindex(ns_a, "eth0")
        assert driver.link_local() == IPv6Address(netns_lab.link_local("a", "eth0"))

        def rec(addr: str) -> dict | None:
            found = [a for a in driver.addresses() if a["address"] == IPv6Address(addr)]
            return found[0] if found else None

        def assert_lifetimes(addr: str, preferred: int, valid: int) -> None:
            r = rec(addr)
            assert r is not None, f"{addr} missing"
            assert preferred - 2 <= r["preferred"] <= preferred, r
            assert valid - 2 <= r["valid"] <= valid, r

        driver.add(IPv6Address("2001:db8:1::100"), 128, 30, 60)
        assert_lifetimes("2001:db8:1::100", 30, 60)
        r = rec("2001:db8:1::100")
        assert r["prefixlen"] == 128
        assert r["flags"] & IFA_F_NOPREFIXROUTE and not r["flags"] & IFA_F_NODAD
        assert "noprefixroute" in r["flag_names"]

        scaled.add(IPv6Address("2001:db8:1::101"), 128, 30, 60)
        assert_lifetimes("2001:db8:1::101", 3, 6)

        driver.add("2001:db8:1::100", 128, 300, 600)  # update in place
        assert_lifetimes("2001:db8:1::100", 300, 600)
        assert sum(a["address"] == IPv6Address("2001:db8:1::100") for a in driver.addresses()) == 1
        driver.add("2001:db8:1::100", 128, INFINITE_LIFETIME, INFINITE_LIFETIME)
        assert_lifetimes("2001:db8:1::100", INFINITE_LIFETIME, INFINITE_LIFETIME)
        driver.add("2001:db8:1::100", 128, 0, 60)  # deprecated
        assert "deprecated" in rec("2001:db8:1::100")["flag_names"]

        driver.remove(IPv6Address("2001:db8:1::100"), 128)
        assert rec("2001:db8:1::100") is None
        driver.remove(IPv6Address("2001:db8:1::100"), 128)  # absent: no error
        scaled.remove("2001:db8:1::101", 128)
        assert rec("2001:db8:1::101") is None

        # No on-link prefix route unless asked for.
        def routes(prefix: str) -> str:
            return netns_lab.run("a", ["ip", "-6", "route", "show", prefix]).stdout.strip()

        driver.add("2001:db8:2::5", 64, 30, 60)
        assert routes("2001:db8:2::/64") == ""
        driver.add("2001:db8:3::5", 64, 30, 60, prefix_route=True)
        assert "2001:db8:3::/64" in routes("2001:db8:3::/64")

        with pytest.raises(ValueError, match="uint32"):
            driver.add("2001:db8:1::102", 128, 30, 1 << 32)
        with pytest.raises(ValueError, match="exceeds"):
            driver.add("2001:db8:1::102", 128, 61, 60)
        with pytest.raises(ValueError, match="remove"):
            driver.add("2001:db8:1::102", 128, 0, 0)
        assert rec("2001:db8:1::102") is None


@netns
def test_link_monitor_link_events(netns_lab):
    ns_a, _ = pair(netns_lab)
    netns_lab.namespace("c")
    netns_lab.veth("a", "eth1", "c", "eth0")

    async def main() -> None:
        events: asyncio.Queue[dict] = asyncio.Queue()
        other: asyncio.Queue[dict] = asyncio.Queue()
        mon = await LinkMonitor.open("eth0", ns_a, events.put_nowait)
        mon1 = await LinkMonitor.open("eth1", ns_a, other.put_nowait)

        async def next_link(q: asyncio.Queue) -> dict:
            while True:
                ev = await asyncio.wait_for(q.get(), TIMEOUT)
                if ev["kind"] == "link":
                    return ev

        try:
            assert mon.link_up
            ip(netns_lab, "b", "link", "set", "eth0", "down")  # the peer: carrier lost
            ev = await next_link(events)
            assert (ev["up"], ev["admin_up"], ev["running"]) == (False, True, False)
            assert ev["ifname"] == "eth0"
            ip(netns_lab, "b", "link", "set", "eth0", "up")
            ev = await next_link(events)
            assert ev["up"] is True
            ip(netns_lab, "a", "link", "set", "eth0", "down")  # our own end
            ev = await next_link(events)
            assert (ev["up"], ev["admin_up"]) == (False, False)
            assert not mon.link_up
            ip(netns_lab, "a", "link", "set", "eth0", "up")
            assert (await next_link(events))["up"] is True

            ip(netns_lab, "c", "link", "del", "eth0")  # takes a:eth1 with it
            ev = await next_link(other)  # first "down" (the kernel closes it), then gone
            assert (ev["up"], ev["ifname"]) == (False, "eth1")
            if not ev.get("deleted"):
                ev = await next_link(other)
            assert ev.get("deleted") is True and ev["ifname"] == "eth1"
        finally:
            mon.close()
            mon1.close()
            mon.close()

    arun(main())


@netns
def test_link_monitor_dad_failed(netns_lab):
    ns_a, _ = pair(netns_lab)
    netns_lab.add_address("b", "eth0", "2001:db8:1::77")  # the peer holds it first
    netns_lab.add_address("b", "eth0", "2001:db8:1::78")
    write_sysctl(ns_a, "net.ipv6.conf.eth0.accept_dad", "1")

    async def main() -> None:
        events: asyncio.Queue[dict] = asyncio.Queue()
        mon = await LinkMonitor.open("eth0", ns_a, events.put_nowait)
        driver = AddressDriver("eth0", ns_a)

        async def next_kind(kind: str, timeout: float = 10.0) -> dict:
            seen = []
            try:
                while True:
                    ev = await asyncio.wait_for(events.get(), timeout)
                    if ev["kind"] == kind:
                        return ev
                    seen.append(ev)
            except TimeoutError:
                pytest.fail(f"no {kind} event within {timeout} s; saw {seen}")

        try:
            # A lease (finite lifetimes): the kernel deletes the duplicate.
            driver.add("2001:db8:1::77", 128, 30, 60)
            ev = await next_kind("address")
            assert ev["address"] == IPv6Address("2001:db8:1::77") and ev["tentative"]
            ev = await next_kind("dad-failed")
            assert (ev["address"], ev["prefixlen"], ev["removed"]) == (
                IPv6Address("2001:db8:1::77"),
                128,
                True,
            )
            assert all(a["address"] != ev["address"] for a in driver.addresses())

            # Infinite lifetimes: the kernel keeps it, marked dadfailed.
            driver.add("2001:db8:1::78", 128, INFINITE_LIFETIME, INFINITE_LIFETIME)
            ev = await next_kind("dad-failed")
            assert (ev["address"], ev["removed"]) == (IPv6Address("2001:db8:1::78"), False)
            kept = [a for a in driver.addresses() if a["address"] == ev["address"]]
            assert kept and kept[0]["flags"] & IFA_F_DADFAILED
            driver.remove("2001:db8:1::78", 128)
            ev = await next_kind("address-removed")
            assert ev["address"] == IPv6Address("2001:db8:1::78")

            # A unique address passes DAD: tentative first, then not.
            driver.add("2001:db8:1::79", 128, 30, 60)
            while True:
                ev = await next_kind("address")
                if ev["address"] == IPv6Address("2001:db8:1::79") and not ev["tentative"]:
                    break
        finally:
            mon.close()
            driver.close()

    arun(main())


@netns
def test_nothing_left_behind(netns_lab):
    """Closing releases the sockets (the fixture removes the namespaces)."""
    ns_a, _ = pair(netns_lab)

    async def main() -> None:
        ep = await UdpEndpoint.open(
            port=547, interfaces=["eth0"], netns=ns_a, on_datagram=lambda dg: None
        )
        mon = await LinkMonitor.open("eth0", ns_a, lambda ev: None)
        inode = ep.inode
        ep.close()
        mon.close()
        assert inode not in {r["inode"] for r in read_udp6_table(ns_a)}

    arun(main())
