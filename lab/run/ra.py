"""Router Advertisements (RFC 4861 §4.2) from a `router` node with `ra:` set.

A raw ICMPv6 socket opened in the router's namespace sends, every ``interval`` seconds
and once at start, an RA on each chosen interface: the M (managed: use DHCPv6 for
addresses) and O (other configuration) flags, a router lifetime, and a Prefix
Information option per prefix on that interface (on-link; autonomous only when asked,
so hosts don't also make SLAAC addresses by default). The kernel fills the checksum.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from ipaddress import IPv6Interface

from dhcp6.io.identity import link_layer_address
from dhcp6.io.netns import run_in_netns

ALL_NODES = "ff02::1"
ND_ROUTER_ADVERT = 134


def router_advert(*, managed: bool, other: bool, lifetime: int, prefixes: list[IPv6Interface],
                  autonomous: bool, mac: bytes | None) -> bytes:  # fmt: skip
    flags = (0x80 if managed else 0) | (0x40 if other else 0)
    msg = struct.pack("!BBHBBHII", ND_ROUTER_ADVERT, 0, 0, 64, flags, lifetime, 0, 0)
    for p in prefixes:
        pflags = 0x80 | (0x40 if autonomous else 0)  # L (on-link), A (autonomous)
        msg += struct.pack("!BBBBIII", 3, 4, p.network.prefixlen, pflags, 86400, 14400, 0)
        msg += p.network.network_address.packed
    if mac:
        msg += struct.pack("!BB", 1, 1) + mac  # source link-layer address
    return msg


def _open(ifname: str) -> tuple[socket.socket, int, bytes | None]:
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
    idx = socket.if_nametoindex(ifname)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
    s.setblocking(False)
    return s, idx, link_layer_address(ifname)


class RouterAdvertiser:
    def __init__(self, netns: str, interfaces: dict[str, list[IPv6Interface]], *, managed: bool,
                 other: bool, autonomous: bool, interval: float, lifetime: int) -> None:  # fmt: skip
        self.netns = netns
        self.interfaces = interfaces
        self.managed, self.other, self.autonomous = managed, other, autonomous
        self.interval, self.lifetime = interval, lifetime
        self.socks: list[tuple[socket.socket, int, bytes]] = []
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        for ifname, prefixes in self.interfaces.items():
            s, idx, mac = run_in_netns(self.netns, _open, ifname)
            ra = router_advert(managed=self.managed, other=self.other, lifetime=self.lifetime,
                               prefixes=prefixes, autonomous=self.autonomous, mac=mac)  # fmt: skip
            self.socks.append((s, idx, ra))
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            for s, idx, ra in self.socks:
                with contextlib.suppress(OSError):  # a link that is down: the next period tries again
                    s.sendto(ra, (ALL_NODES, 0, 0, idx))
            await asyncio.sleep(self.interval)

    def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        for s, _, _ in self.socks:
            s.close()
        self.socks = []
