"""`dhcp6 server`: the server engine on UDP 547, leases in SQLite, a control socket.

Start-up checks everything before serving (config, interfaces, lease file, port) and
fails with one line. SIGTERM/SIGINT exit at once (leases are already on disk); SIGHUP
reloads the config and keeps every binding.

Profiling: with ``DHCP6_PROFILE=PATH`` in the environment the daemon runs under
cProfile from start to exit and writes the dump to PATH when it stops (read it with
``python -m pstats PATH``). Times are the process's CPU time (``time.process_time``),
so other work on the machine does not inflate them; profiling slows the server several
times over. bench/server_vs_kea.py ``--profile`` uses it.
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import os
import signal
import socket
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..commands.server import DEFAULT_LEASES
from ..engine.server import ServerEngine
from ..io.host import EngineClock, EngineHost
from ..io.identity import link_layer_address, load_or_create_duid, new_duid
from ..io.netns import DriverError, run_in_netns
from ..io.udp import Datagram, UdpEndpoint
from ..leases.store import LeaseStore
from ..server_config import ConfigError, ServerConfig, check_interfaces, load_config
from .common import TERM_SIGNALS, UserError, install_signals, make_tracer


@dataclass
class ServerOptions:
    interfaces: list[str]
    config: str
    leases: str = DEFAULT_LEASES
    trace: str | None = None
    control: str | None = None
    netns: str | None = None
    time_scale: float = 1.0
    node: str = "server"
    durability: str = "normal"
    signals: bool = True  # False when hosted inside another program (the lab supervisor)
    epoch: float | None = None  # trace epoch (the lab's start)


def _interfaces_and_macs() -> dict[str, bytes]:
    return {name: link_layer_address(name) or b"" for _, name in socket.if_nameindex()}


class ServerDaemon:
    def __init__(self, opts: ServerOptions) -> None:
        self.opts = opts
        self.stopped = asyncio.Event()
        self.endpoint: UdpEndpoint | None = None
        self.control: asyncio.AbstractServer | None = None

    def _load_config(self) -> ServerConfig:
        try:
            return load_config(self.opts.config)
        except ConfigError as e:
            raise UserError(str(e)) from None

    async def start(self) -> None:
        o = self.opts
        config = self._load_config()
        ifaces = list(dict.fromkeys([*o.interfaces, *sorted(config.interfaces())]))
        if not ifaces:
            raise UserError("no interface to serve: give --interface IF (or a subnet interface)")
        try:
            here = run_in_netns(o.netns, _interfaces_and_macs)
            check_interfaces(config, set(here), o.interfaces)
        except (ConfigError, DriverError) as e:
            raise UserError(str(e)) from None
        try:
            self.store = LeaseStore(o.leases, durability=o.durability)
        except (sqlite3.Error, OSError) as e:
            raise UserError(f"--leases {o.leases}: cannot open the lease database: {e}") from None
        mac = next((here[i] for i in ifaces if here.get(i)), None)
        try:
            duid = load_or_create_duid(self.duid_path(), mac) if self.duid_path() else new_duid(mac)
        except (ValueError, OSError) as e:
            raise UserError(str(e)) from None
        self.tracer = make_tracer(o.trace, o.node, o.time_scale, o.epoch)
        # Without --trace nothing reads the events: the engine need not describe them.
        self.engine = ServerEngine(config, duid, node=o.node, trace=o.trace is not None)
        clock = EngineClock(o.time_scale)
        restored = self.engine.restore(self.store.load())
        self.engine.restore_meta(self.store.all_meta())
        loop = asyncio.get_running_loop()
        self.host = EngineHost(self.engine, tracer=self.tracer, clock=clock, store=self.store,
                               loop=loop)  # fmt: skip
        try:
            self.endpoint = await UdpEndpoint.open(
                port=547, interfaces=ifaces, netns=o.netns, multicast=("ff02::1:2",),
                on_datagram=self._datagram, rcvbuf=4 << 20,
            )  # fmt: skip
        except DriverError as e:
            raise UserError(str(e)) from None
        self.host.transport = self.endpoint
        if o.control:
            await self._open_control(o.control)
        self.host.run_now(self.engine.start(clock.now()))
        self.tracer.emit(
            "state", {"to": "LISTEN", "seed": "Listen", "reason":
                      f"serving {', '.join(ifaces)}; {restored} leases restored; duid {duid.hex()}"},
        )  # fmt: skip
        if o.signals:
            install_signals(
                loop, {**{s: self.stop for s in TERM_SIGNALS}, signal.SIGHUP: self.reload}
            )

    def duid_path(self) -> Path | None:
        """The server DUID is kept beside the lease database (``leases.duid``)."""
        return (
            None if self.opts.leases == ":memory:" else Path(self.opts.leases).with_suffix(".duid")
        )

    def _datagram(self, d: Datagram) -> None:
        self.host.datagram(d.data, d.src, d.dst, d.ifname)

    def reload(self) -> None:
        try:
            config = load_config(self.opts.config)
        except ConfigError as e:
            self.tracer.emit("error", message=f"reload refused, old config kept: {e}")
            return
        self.engine.configure(config)
        self.tracer.emit("state", {"to": "LISTEN", "seed": "Listen", "reason": "config reloaded"})

    def stop(self) -> None:
        self.stopped.set()

    async def _open_control(self, path: str) -> None:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        if p.exists():
            p.unlink()
        self.control = await asyncio.start_unix_server(self._control_client, path=str(p))

    async def _control_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            while line := await reader.readline():
                try:
                    req = json.loads(line)
                    reply = self.command(req)
                except (ValueError, KeyError, TypeError) as e:
                    reply = {"ok": False, "error": str(e)}
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
        finally:
            writer.close()

    def command(self, req: dict[str, Any]) -> dict[str, Any]:
        """Control-socket commands: leases, stats, reload (reconfigure comes with issue 5)."""
        cmd = req.get("cmd")
        if cmd == "leases":
            return {"ok": True, "leases": [
                {"kind": x.kind, "lease": x.text(), "client": x.duid.hex(), "iaid": x.iaid,
                 "preferred": x.preferred, "valid": x.valid, "state": x.state}
                for x in self.engine.table.all()
            ]}  # fmt: skip
        if cmd == "stats":
            ep = self.endpoint
            return {"ok": True, "engine": self.engine.stats, "host": self.host.stats,
                    "socket": ep.stats if ep else {}, "kernel_drops": ep.socket_drops() if ep else 0}  # fmt: skip
        if cmd == "reload":
            self.reload()
            return {"ok": True}
        if cmd == "reconfigure":
            clients = [bytes.fromhex(c.replace(":", "")) for c in req.get("clients", [])]
            actions, result = self.engine.reconfigure(
                self.host.clock.now(), clients=clients, all_clients=bool(req.get("all")),
                subnet=req.get("subnet"), msg=req.get("msg", "renew"),
            )  # fmt: skip
            self.host.run_now(actions)
            return {"ok": True, **result}
        return {
            "ok": False,
            "error": f"unknown command {cmd!r} (leases, stats, reload, reconfigure)",
        }

    async def run(self) -> int:
        profile = os.environ.get("DHCP6_PROFILE")
        prof = cProfile.Profile(time.process_time) if profile else None
        if prof is not None:
            prof.enable()
        try:
            await self.start()
            await self.stopped.wait()
            self.close()
        finally:
            if prof is not None:
                prof.disable()
                prof.dump_stats(profile)
        return 0

    def close(self) -> None:
        if self.endpoint is not None:
            self.endpoint.close()
        if self.control is not None:
            self.control.close()
            if self.opts.control:
                Path(self.opts.control).unlink(missing_ok=True)
        self.host.close()
        self.store.close()
        self.tracer.emit("state", {"to": "STOPPED", "seed": "Listen", "reason": "signal"})
        self.tracer.close()
