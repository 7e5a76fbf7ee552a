"""Our DHCPv6 client on a real interface: engine + UDP 546 + kernel addresses + link events.

One :class:`HostedClient` is one client in one namespace; many can share one process and
one asyncio loop (``dhcp6 clients``), because every socket — UDP and netlink — is opened
inside the client's namespace and stays there (DESIGN.md, Hosting).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field
from ipaddress import IPv6Address
from pathlib import Path
from typing import Any

from ..constants import CLIENT_PORT
from ..engine.client import ClientConfig, ClientEngine
from ..engine.client_table import STOPPED
from ..io.host import EngineClock, EngineHost
from ..io.identity import link_layer_address, load_or_create_duid
from ..io.netlink import AddressDriver, LinkMonitor, wait_link_local
from ..io.netns import DriverError, run_in_netns
from ..io.udp import Datagram, UdpEndpoint
from ..trace import Tracer
from .common import UserError


def _mac_here(ifname: str) -> bytes | None:
    import socket

    names = {n for _, n in socket.if_nameindex()}
    if ifname not in names:
        raise UserError(
            f"--interface {ifname}: no such interface (here: {', '.join(sorted(names))})"
        )
    return link_layer_address(ifname)


@dataclass
class ClientIdentity:
    """The DUID and IAIDs a client keeps across restarts (RFC 9915 §11, §12)."""

    duid_path: Path
    iaids_path: Path

    @classmethod
    def in_dir(cls, state_dir: Path) -> ClientIdentity:
        return cls(state_dir / "duid", state_dir / "iaids.json")

    def load(self, mac: bytes | None, config: ClientConfig) -> tuple[Any, ClientConfig]:
        duid = load_or_create_duid(self.duid_path, mac, llt=mac is None)
        try:
            saved = json.loads(self.iaids_path.read_text()) if self.iaids_path.exists() else {}
        except ValueError:
            saved = {}
        na = tuple(saved.get("na", []))[: config.ia_na]
        pd = tuple(saved.get("pd", []))[: config.ia_pd]
        na += tuple(i for i in range(1, 1000) if i not in na)[: config.ia_na - len(na)]
        pd += tuple(i for i in range(1, 1000) if i not in pd)[: config.ia_pd - len(pd)]
        text = json.dumps({"na": list(na), "pd": list(pd)}) + "\n"
        if saved != json.loads(text):
            self.iaids_path.write_text(text)
        from dataclasses import replace

        return duid, replace(config, na_iaids=na, pd_iaids=pd)


@dataclass
class HostedClient:
    config: ClientConfig
    state_dir: Path
    tracer: Tracer
    netns: str | None = None
    time_scale: float = 1.0
    rng: random.Random = field(default_factory=random.Random)
    engine: ClientEngine | None = None
    stopped: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self, link_timeout: float = 10.0) -> None:
        cfg = self.config
        try:
            mac = run_in_netns(self.netns, _mac_here, cfg.iface)
            if cfg.downstream:
                run_in_netns(self.netns, _mac_here, cfg.downstream)
        except DriverError as e:
            raise UserError(str(e)) from None
        self.state_dir.mkdir(parents=True, exist_ok=True)
        duid, cfg = ClientIdentity.in_dir(self.state_dir).load(mac, cfg)
        self.config = cfg
        self.engine = ClientEngine(cfg, duid, rand=self.rng.random,
                                   xid=lambda: self.rng.getrandbits(24))  # fmt: skip
        loop = asyncio.get_running_loop()
        self.clock = EngineClock(self.time_scale, base=time.monotonic)
        try:
            addresses = {cfg.iface: AddressDriver(cfg.iface, self.netns, self.time_scale)}
            ll = addresses[cfg.iface].link_local() or await wait_link_local(
                cfg.iface, self.netns, timeout=link_timeout
            )
            if cfg.downstream:
                addresses[cfg.downstream] = AddressDriver(
                    cfg.downstream, self.netns, self.time_scale
                )
            self.endpoint = await UdpEndpoint.open(port=CLIENT_PORT, interfaces=[cfg.iface],
                                                   netns=self.netns, on_datagram=self._datagram)  # fmt: skip
            self.monitor = await LinkMonitor.open(cfg.iface, self.netns, self._link_event)
        except (DriverError, TimeoutError) as e:
            raise UserError(f"{self.netns or 'this namespace'}: {cfg.iface}: {e}") from None
        self.host = EngineHost(self.engine, tracer=self.tracer, clock=self.clock,
                               transport=self.endpoint, addresses=addresses, loop=loop,
                               on_actions=self._watch)  # fmt: skip
        self.tracer.emit("state", {"from": "INIT", "to": "INIT", "seed": "IPv6 Start",
                                   "reason": f"link-local {ll}; duid {duid.hex()}"})  # fmt: skip
        self.host.run_now(self.engine.start(self.clock.now()))

    def _watch(self, actions: list) -> None:
        if self.engine is not None and self.engine.state == STOPPED:
            self.stopped.set()

    def _datagram(self, d: Datagram) -> None:
        self.host.datagram(d.data, d.src, d.dst, d.ifname)

    def _link_event(self, ev: dict) -> None:
        assert self.engine is not None
        now = self.clock.now()
        if ev["kind"] == "link":
            self.host.run_now(self.engine.link_changed(bool(ev["up"]), now))
        elif ev["kind"] == "dad-failed":
            self.tracer.emit(
                "address", action="dad-failed", address=ev["address"], iface=ev["ifname"]
            )
            self.host.run_now(self.engine.dad_failed(IPv6Address(ev["address"]), now))

    async def stop(self, timeout: float = 3.0) -> None:
        """Release (if bound) and wait, bounded, for the Reply; then close everything."""
        if self.engine is None:
            return
        self.host.run_now(self.engine.stop(self.clock.now()))
        if self.engine.state != STOPPED:
            try:
                await asyncio.wait_for(self.stopped.wait(), timeout)
            except TimeoutError:
                self.tracer.emit(
                    "error", message=f"no Reply to Release within {timeout} s; exiting"
                )
        self.close()

    def close(self) -> None:
        for part in ("monitor", "endpoint"):
            obj = getattr(self, part, None)
            if obj is not None:
                obj.close()
        host = getattr(self, "host", None)
        if host is not None:
            host.close()
            for d in (host.addresses or {}).values():
                d.close()
