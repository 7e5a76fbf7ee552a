"""`dhcp6 relay`: the relay engine on UDP 547 of every interface of its namespace."""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass
from ipaddress import IPv6Address

from ..engine.relay import ListenLink, RelayConfig, RelayEngine
from ..io.host import EngineClock, EngineHost
from ..io.netlink import AddressDriver
from ..io.netns import DriverError, run_in_netns
from ..io.udp import Datagram, UdpEndpoint
from .common import TERM_SIGNALS, UserError, install_signals, make_tracer


@dataclass
class RelayOptions:
    listen: list[str]
    servers: list[str]
    interface_id: bool = False
    trace: str | None = None
    netns: str | None = None
    node: str = "relay"
    signals: bool = True  # False when hosted inside another program (the lab supervisor)
    epoch: float | None = None


def eui64_mac(address: IPv6Address) -> bytes | None:
    """The MAC inside a modified-EUI-64 link-local address (RFC 4291), if it has one.

    UDP sockets do not see the sender's link-layer address; clients that form their
    link-local from the MAC (the default on Linux) still reveal it here (RFC 6939 option).
    """
    b = address.packed
    if not address.is_link_local or b[11:13] != b"\xff\xfe":
        return None
    return bytes([b[8] ^ 0x02, b[9], b[10], b[13], b[14], b[15]])


def _parse_server(text: str) -> tuple[IPv6Address, str | None]:
    addr, _, iface = text.partition("%")
    try:
        return IPv6Address(addr), iface or None
    except ValueError:
        raise UserError(f"--server {text}: not an IPv6 address (ADDR or ADDR%IF)") from None


class RelayDaemon:
    def __init__(self, opts: RelayOptions) -> None:
        self.opts = opts
        self.stopped = asyncio.Event()

    async def start(self) -> None:
        o = self.opts
        servers = tuple(_parse_server(s) for s in o.servers)
        names = [n for _, n in run_in_netns(o.netns, socket.if_nameindex) if n != "lo"]
        for i in o.listen:
            if i not in names:
                raise UserError(
                    f"--listen {i}: no such interface (here: {', '.join(names) or 'none'})"
                )
        for addr, iface in servers:
            if iface and iface not in names:
                raise UserError(f"--server {addr}%{iface}: no such interface")
        links, own = [], set()
        try:
            for name in names:
                with AddressDriver(name, o.netns) as d:
                    addrs = [IPv6Address(a["address"]) for a in d.addresses()]
                own.update(addrs)
                if name in o.listen:
                    glob = [a for a in addrs if not a.is_link_local and not a.is_loopback]
                    links.append(ListenLink(name, glob[0] if glob else None))
        except DriverError as e:
            raise UserError(str(e)) from None
        self.engine = RelayEngine(
            RelayConfig(tuple(links), servers, o.interface_id, frozenset(own))
        )
        self.tracer = make_tracer(o.trace, o.node, 1.0, o.epoch)
        loop = asyncio.get_running_loop()
        self.host = EngineHost(self.engine, tracer=self.tracer, clock=EngineClock(1.0, time.monotonic),
                               loop=loop)  # type: ignore[arg-type]  # fmt: skip
        try:
            self.endpoint = await UdpEndpoint.open(port=547, interfaces=names, netns=o.netns,
                                                   multicast=("ff02::1:2",), on_datagram=self._datagram)  # fmt: skip
        except DriverError as e:
            raise UserError(str(e)) from None
        self.host.transport = self.endpoint
        if o.signals:
            install_signals(loop, {s: self.stopped.set for s in TERM_SIGNALS})
        self.tracer.emit("state", {"to": "LISTEN", "seed": "Relay", "reason":
                         "relaying " + ", ".join(f"{lk.iface} ({lk.link_address or 'no global address'})"
                                                 for lk in links)
                         + " to " + (", ".join(o.servers) or "ff05::1:3")})  # fmt: skip

    def _datagram(self, d: Datagram) -> None:
        now = self.host.clock.now()
        actions = self.engine.packet_received(d.data, d.src, d.dst, d.ifname, now, eui64_mac(d.src))
        self.host.submit(actions)

    async def run(self) -> int:
        await self.start()
        await self.stopped.wait()
        self.close()
        return 0

    def close(self) -> None:
        self.endpoint.close()
        self.host.close()
        self.tracer.emit("state", {"to": "STOPPED", "seed": "Relay", "reason": "stopped"})
        self.tracer.close()
