"""A running lab: the built namespaces plus every node's engine or process.

Our engines are hosted in this process (each node's sockets opened in its namespace);
real peers run as processes inside their namespaces, watched by a packet-socket
observer. Nodes start in dependency order (servers, relays, then clients) and stop in
reverse (clients first, so their Releases are answered). Used by the `lab` supervisor
process and, in-process, by the pytest plugin.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import random
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dhcp6.engine.client import ClientConfig
from dhcp6.engine.client_table import SEED as CLIENT_SEED
from dhcp6.testing import peers as real_peers
from dhcp6.trace import Tracer

from ..build import BuiltLab, build
from ..build.state import record_pid
from ..model import CLIENT_KINDS, PEER_KINDS, SERVER_KINDS, Endpoint, Node, Topology
from .observer import PeerObserver

ORDER = {"dhcp6-server": 0, "kea": 0, "dnsmasq": 0, "dhcp6-relay": 1, "router": 1, "host": 1}
PEER_STARTERS: dict[str, Callable[..., real_peers.PeerProcess]] = {
    "kea": real_peers.start_kea,
    "dnsmasq": real_peers.start_dnsmasq,
    "dhclient": real_peers.start_dhclient,
    "dhcpcd": real_peers.start_dhcpcd,
    "wide-dhcp6c": real_peers.start_dhcp6c,
}
PEER_BINARIES = {"kea": "kea-dhcp6", "dnsmasq": "dnsmasq", "dhclient": "dhclient",
                 "dhcpcd": "dhcpcd", "wide-dhcp6c": "dhcp6c"}  # fmt: skip


class RuntimeError_(Exception):
    """A node could not start; one line naming the node."""


class LabAdapter:
    """What dhcp6.testing.peers needs of a lab: run a command inside a node's namespace."""

    def __init__(self, built: BuiltLab) -> None:
        self.built = built

    def ns(self, node: str) -> str:
        return self.built.ns(node)

    def popen(self, node: str, argv: list[str], **kw: Any) -> subprocess.Popen:
        p = subprocess.Popen(["ip", "netns", "exec", self.ns(node), *argv], **kw)
        record_pid(self.built.run_dir, p.pid, node)
        return p

    def run(self, node: str, argv: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(["ip", "netns", "exec", self.ns(node), *argv], capture_output=True,
                              text=True, timeout=timeout, check=False)  # fmt: skip

    def addresses(self, node: str, iface: str) -> list[dict]:
        from dhcp6.io.netlink import AddressDriver

        with AddressDriver(iface, self.ns(node)) as d:
            return [{**a, "address": str(a["address"])} for a in d.addresses()]

    def link_local(self, node: str, iface: str, timeout: float = 5.0) -> str:
        from dhcp6.io.netlink import AddressDriver

        deadline = time.monotonic() + timeout
        with AddressDriver(iface, self.ns(node)) as d:
            while True:
                ll = d.link_local()
                if ll is not None:
                    return str(ll)
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"{node}:{iface} has no usable link-local address after {timeout} s"
                    )
                time.sleep(0.02)


@dataclass
class NodeRun:
    node: Node
    status: str = "stopped"  # stopped | starting | running | failed
    error: str = ""
    handle: Any = None  # ServerDaemon, HostedClient, RelayDaemon, PeerProcess
    observer: PeerObserver | None = None
    tracer: Tracer | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _ia_pd(value: Any) -> tuple[int, int | None]:
    if value in (None, 0, False):
        return 0, None
    n, _, hint = str(value).partition("/")
    return int(n), int(hint) if hint else None


class LabRuntime:
    def __init__(self, topology: Topology, name: str, *, run_root: Path | str | None = None,
                 time_scale: float | None = None, pcap: bool = False,
                 progress: Callable[[str, int, int], None] | None = None) -> None:  # fmt: skip
        self.topology = topology
        self.name = name
        self.run_root = run_root
        self.time_scale = time_scale if time_scale is not None else topology.time_scale
        self.pcap = pcap
        self.progress = progress or (lambda what, done, total: None)
        peers = sorted(n.name for n in topology.nodes.values() if n.kind in PEER_KINDS)
        if self.time_scale != 1.0 and peers:
            raise RuntimeError_(f"time scale {self.time_scale:g} with real peers ({', '.join(peers)}): "
                                "real peers keep real time; drop --time-scale or the real-peer nodes")  # fmt: skip
        self.epoch = time.time()
        self.built: BuiltLab | None = None
        self.nodes: dict[str, NodeRun] = {n: NodeRun(node) for n, node in topology.nodes.items()}
        self.captures: dict[str, Any] = {}  # link → lab.run.capture.Capture (pcap=True)
        self.impairments: dict[str, Any] = {}  # link or NODE:IFACE → lab.run.impair.Impairment

    # ------------------------------------------------------------------ paths
    @property
    def run_dir(self) -> Path:
        assert self.built is not None
        return self.built.run_dir

    def trace_path(self, node: str) -> Path:
        return self.run_dir / "traces" / f"{node}.jsonl"

    def node_dir(self, node: str) -> Path:
        d = self.run_dir / "nodes" / node
        d.mkdir(parents=True, exist_ok=True)
        return d

    # ------------------------------------------------------------------ up / down
    async def up(self) -> None:
        missing = sorted({PEER_BINARIES[n.kind] for n in self.topology.nodes.values()
                          if n.kind in PEER_KINDS} & set(real_peers.missing_binaries()))  # fmt: skip
        if missing:
            raise RuntimeError_(f"missing real-peer programs: {', '.join(missing)}; "
                                "run `make bootstrap` (it installs the Debian packages)")  # fmt: skip
        total = len(self.topology.nodes)

        def built_one(done: int, n: int) -> None:
            self.progress("build", done, total)

        self.built = await asyncio.to_thread(
            build, self.topology, self.name, self.run_root, built_one
        )
        (self.run_dir / "traces").mkdir(exist_ok=True)
        (self.run_dir / "runtime.json").write_text(json.dumps({"name": self.name, "epoch": self.epoch,
            "time_scale": self.time_scale, "source": self.topology.source}) + "\n")  # fmt: skip
        order = sorted(self.nodes.values(), key=lambda r: ORDER.get(r.node.kind, 2))
        started = 0
        try:
            if self.pcap:  # every link, before any engine: the first Solicit is in the pcap
                await self.start_captures()
            for lk in self.topology.links.values():  # the topology's impairments, likewise
                imp = lk.impairment
                if imp is not None and (imp.loss or imp.duplicate or imp.delay):
                    await self.impair(
                        lk.name, loss=imp.loss, duplicate=imp.duplicate, delay=imp.delay
                    )
            for run in order:
                if run.node.options.get("autostart", True):
                    await self.start_node(run.node.name)
                started += 1
                self.progress("start", started, total)
        except BaseException:
            await self.down()
            raise

    async def down(self) -> None:
        order = sorted(self.nodes.values(), key=lambda r: -ORDER.get(r.node.kind, 2))
        for run in order:
            await self.stop_node(run.node.name)
        await self.stop_captures()
        if self.built is not None:
            await asyncio.to_thread(self.built.teardown)

    # ------------------------------------------------------------------ one node
    def _tracer(self, name: str) -> Tracer:
        return Tracer(self.trace_path(name), name, epoch=self.epoch, time_scale=self.time_scale)

    async def start_node(self, name: str) -> None:
        run = self.nodes[name]
        if run.status == "running":
            return
        node = run.node
        run.status, run.error = "starting", ""
        try:
            if node.kind == "dhcp6-server":
                await self._start_server(run)
            elif node.kind == "dhcp6-client":
                await self._start_client(run)
            elif node.kind == "dhcp6-relay":
                await self._start_relay(run)
            elif node.kind in PEER_KINDS:
                await self._start_peer(run)
            elif node.kind == "router" and node.options.get("ra"):
                await self._start_ra(run)
            run.status = "running"
        except Exception as e:  # one line naming the node; the caller decides what to do
            run.status, run.error = "failed", str(e).splitlines()[0] if str(e) else type(e).__name__
            raise RuntimeError_(f"node {name} ({node.kind}): {run.error}") from e

    async def stop_node(self, name: str, *, kill: bool = False) -> None:
        run = self.nodes[name]
        h = run.handle
        if h is None or run.status not in ("running", "starting"):
            run.status = "stopped"
            return
        kind = run.node.kind
        try:
            if kind == "dhcp6-client":
                if kill:
                    h.close()
                else:
                    await h.stop(timeout=2.0)
                h.tracer.close()
            elif kind in ("dhcp6-server", "dhcp6-relay", "router"):
                h.close()
            elif kind in PEER_KINDS:
                if kill:
                    h.popen.kill()
                    h.popen.wait(5)
                else:
                    await asyncio.to_thread(h.stop, 5.0)
                if run.observer is not None:
                    run.observer.close()
                if run.tracer is not None:
                    run.tracer.emit("state", {"from": run.observer.state if run.observer else "", "to": "STOPPED",
                                              "seed": "IPv6 Start", "reason": "killed" if kill else "stopped"})  # fmt: skip
                    run.tracer.close()
        finally:
            run.handle, run.observer = None, None
            run.status = "stopped"

    async def restart_node(self, name: str) -> None:
        await self.stop_node(name)
        await self.start_node(name)

    # ------------------------------------------------------------------ kinds
    def _iface(self, node: Node) -> str:
        opt = node.options.get("interface")
        if isinstance(opt, list):
            opt = opt[0] if opt else None
        return opt or next(iter(node.interfaces), "eth0")

    async def _start_server(self, run: NodeRun) -> None:
        from dhcp6.daemons.server import ServerDaemon, ServerOptions

        node = run.node
        d = self.node_dir(node.name)
        cfg = d / "server.yaml"
        config = node.options.get("config") or {}
        if isinstance(config, str):
            cfg = Path(config)
        else:
            cfg.write_text(
                yaml.safe_dump(json.loads(json.dumps(config, default=str)), sort_keys=False)
            )
        ifaces = node.options.get("interface") or list(node.interfaces)
        if isinstance(ifaces, str):
            ifaces = [ifaces]
        opts = ServerOptions(
            interfaces=list(ifaces), config=str(cfg), leases=node.options.get("leases") or str(d / "leases.sqlite"),
            trace=str(self.trace_path(node.name)), control=str(d / "control.sock"),
            netns=self.built.ns(node.name), time_scale=self.time_scale, node=node.name,
            durability=node.options.get("durability") or "normal", signals=False, epoch=self.epoch,
        )  # fmt: skip
        daemon = ServerDaemon(opts)
        await daemon.start()
        run.handle = daemon
        run.extra["control"] = opts.control

    async def _start_client(self, run: NodeRun) -> None:
        from dhcp6.daemons.client import HostedClient

        node = run.node
        o = node.options
        n_pd, hint = _ia_pd(o.get("ia_pd"))
        cfg = ClientConfig(iface=self._iface(node), ia_na=0 if o.get("stateless") else int(o.get("ia_na", 1)),
                           ia_pd=0 if o.get("stateless") else n_pd, pd_hint_length=hint,
                           rapid_commit=bool(o.get("rapid_commit")), reconfigure_accept=bool(o.get("reconfigure_accept")),
                           stateless=bool(o.get("stateless")), prefixlen=int(o.get("prefixlen") or 128),
                           downstream=o.get("downstream"))  # fmt: skip
        seed = o.get("seed")
        client = HostedClient(cfg, self.node_dir(node.name) / "state", self._tracer(node.name),
                              netns=self.built.ns(node.name), time_scale=self.time_scale,
                              rng=random.Random(seed))  # fmt: skip
        await client.start()
        run.handle = client

    async def _start_relay(self, run: NodeRun) -> None:
        from dhcp6.daemons.relay import RelayDaemon, RelayOptions

        node = run.node
        o = node.options
        listen = o.get("listen") or [self._iface(node)]
        servers = o.get("server") or []
        if isinstance(servers, str):
            servers = [servers]
        opts = RelayOptions(list(listen), [str(s) for s in servers], bool(o.get("interface_id")),
                            str(self.trace_path(node.name)), self.built.ns(node.name), node.name,
                            signals=False, epoch=self.epoch)  # fmt: skip
        daemon = RelayDaemon(opts)
        await daemon.start()
        run.handle = daemon

    async def _start_ra(self, run: NodeRun) -> None:
        from .ra import RouterAdvertiser

        node = run.node
        ra = node.options["ra"]
        ra = ra if isinstance(ra, dict) else {}
        names = ra.get("interfaces") or list(node.interfaces)
        ifaces = {i: list(node.interfaces[i].addresses) for i in names if i in node.interfaces}
        adv = RouterAdvertiser(self.built.ns(node.name), ifaces, managed=bool(ra.get("managed", True)),
                               other=bool(ra.get("other", True)), autonomous=bool(ra.get("autonomous", False)),
                               interval=float(ra.get("interval") or 10), lifetime=int(ra.get("lifetime") or 1800))  # fmt: skip
        await adv.start()
        run.handle = adv

    async def _start_peer(self, run: NodeRun) -> None:
        node = run.node
        starter = PEER_STARTERS[node.kind]
        accepted = inspect.signature(starter).parameters
        kw = {
            k: v
            for k, v in node.options.items()
            if k in accepted and k not in ("lab", "node", "iface", "run_dir")
        }
        if "pd_pool" in kw and isinstance(kw["pd_pool"], list):
            kw["pd_pool"] = tuple(kw["pd_pool"])
        if "range" in node.options and "range_" in accepted:
            kw["range_"] = node.options["range"]
        iface = self._iface(node)
        tracer = self._tracer(node.name)
        role = "server" if node.kind in SERVER_KINDS else "client"
        pcap = str(self.run_dir / "pcap" / f"{node.name}-{iface}.pcap")
        obs = PeerObserver(
            node.name, node.kind, self.built.ns(node.name), iface, tracer, pcap, role
        )
        await obs.open()  # before the peer starts: its first Solicit is seen
        adapter = LabAdapter(self.built)
        try:
            peer = await asyncio.to_thread(
                starter, adapter, node.name, iface, self.node_dir(node.name), **kw
            )
        except BaseException:
            obs.close()
            tracer.close()
            raise
        run.handle, run.observer, run.tracer = peer, obs, tracer
        tracer.emit("state", {"from": "INIT", "to": obs.state, "seed": obs.seed,
                              "reason": f"{node.kind} started (pid {peer.pid})", "observed": True})  # fmt: skip

    # ------------------------------------------------------------------ links
    def endpoints(self, link: str) -> list[Endpoint]:
        """A link's member interfaces; ``NODE:IFACE`` names one. KeyError (one line) if unknown."""
        if link in self.topology.links:
            return list(self.topology.links[link].endpoints)
        node, sep, iface = link.partition(":")
        if sep and node in self.topology.nodes and iface in self.topology.nodes[node].interfaces:
            return [Endpoint(node, iface)]
        raise KeyError(f"lab {self.name} has no link {link!r} (links: "
                       f"{', '.join(self.topology.links) or 'none'}; or NODE:IFACE)")  # fmt: skip

    async def impair(self, link: str, *, loss: float = 0.0, duplicate: float = 0.0,
                     delay: float | str = 0.0) -> None:  # fmt: skip
        """Set (replace) loss / duplicate percent and delay on a link (every member) or on
        one NODE:IFACE; all zero clears it. See lab/run/impair.py; ImpairError if refused."""
        from .impair import parse_impairment, set_impairment

        imp = parse_impairment(loss, duplicate, delay)
        for ep in self.endpoints(link):
            await asyncio.to_thread(set_impairment, self.built.ns(ep.node), ep.iface, imp,
                                    where=f"link {link} ({ep})")  # fmt: skip
        self.impairments[link] = imp

    async def start_captures(self) -> None:
        """tcpdump on every link (LAN: its bridge; p2p: its first endpoint) → pcap/<link>.pcap."""
        from .capture import capture_point, read_lab_json, start_capture

        info = read_lab_json(self.run_dir)
        for name in self.topology.links:
            if name in self.captures:
                continue
            ns, iface = capture_point(info, name)
            self.captures[name] = await asyncio.to_thread(
                start_capture, ns, iface, self.run_dir / "pcap" / f"{name}.pcap", link=name,
                record=self.run_dir)  # fmt: skip

    async def stop_captures(self) -> None:
        caps, self.captures = self.captures, {}
        for cap in caps.values():
            await asyncio.to_thread(cap.stop)

    async def link(self, link: str, up: bool) -> None:
        """Set a link down or up, as a pulled and re-plugged cable: a LAN member's bridge
        port goes down, so the node's interface loses its carrier and keeps its addresses
        and routes; a p2p end is set down itself (its peer loses carrier) and, when it
        comes back, gets its static addresses and routes again (the kernel flushes IPv6
        addresses on an interface that goes down). ``link`` is a link or one NODE:IFACE."""
        state = "up" if up else "down"
        assert self.built is not None
        for ep in self.endpoints(link):
            port = self.built.bridge_ports.get((ep.node, ep.iface))
            lk = self.topology.nodes[ep.node].interfaces[ep.iface].link
            if port is not None:
                argv = ["ip", "-n", self.built.bridge_ns(lk), "link", "set", port, state]
                r = await asyncio.to_thread(subprocess.run, argv, capture_output=True, text=True,
                                            timeout=30, check=False)  # fmt: skip
            else:
                r = await asyncio.to_thread(
                    LabAdapter(self.built).run, ep.node, ["ip", "link", "set", ep.iface, state]
                )
                if up and r.returncode == 0:
                    await asyncio.to_thread(self._restore_static, ep)
            if r.returncode != 0:
                raise RuntimeError_(f"link {link}: {ep}: {r.stderr.strip()}")

    def _restore_static(self, ep: Endpoint) -> None:
        node = self.topology.nodes[ep.node]
        run = LabAdapter(self.built).run
        for a in node.interfaces[ep.iface].addresses:
            run(ep.node, ["ip", "-6", "addr", "replace", str(a), "dev", ep.iface, "nodad"])
        for rt in node.routes:
            if rt.iface == ep.iface:
                run(ep.node, ["ip", "-6", "route", "replace", str(rt.destination), "via", str(rt.via),
                              "dev", ep.iface, "onlink"])  # fmt: skip

    # ------------------------------------------------------------------ status
    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {"lab": self.name, "time_scale": self.time_scale,
                               "t": round(time.time() - self.epoch, 3), "nodes": {}}  # fmt: skip
        for name, run in self.nodes.items():
            out["nodes"][name] = self._node_status(run)
        return out

    def _node_status(self, run: NodeRun) -> dict[str, Any]:
        node, h = run.node, run.handle
        row: dict[str, Any] = {
            "kind": node.kind,
            "process": run.status,
            "state": "",
            "seed": "",
            "leases": [],
        }
        if run.error:
            row["error"] = run.error
        if node.kind == "dhcp6-client" and h is not None and h.engine is not None:
            e = h.engine
            now = h.clock.now()
            row["state"], row["seed"] = e.state, CLIENT_SEED[e.state]
            for x in e.leases:
                key = "address" if x.kind == "na" else "prefix"
                row["leases"].append({key: x.text(), "preferred_left": _left(x.since + x.preferred, now, x.preferred),
                                      "valid_left": _left(x.expires, now, x.valid),
                                      "server": e.s.server.hex() if e.s.server else None})  # fmt: skip
            row["t1_left"] = None if e.s.t1_at is None else round(e.s.t1_at - now, 1)
            row["t2_left"] = None if e.s.t2_at is None else round(e.s.t2_at - now, 1)
        elif node.kind == "dhcp6-server" and h is not None:
            row["state"], row["seed"] = "LISTEN", "Listen"
            row["bindings"] = len(h.engine.table)
        elif node.kind == "dhcp6-relay" and h is not None:
            row["state"], row["seed"] = "RELAY", "Relay"
        elif node.kind in PEER_KINDS and run.observer is not None:
            obs = run.observer
            row["state"], row["seed"] = obs.state, obs.seed
            now = time.time()
            for lease in obs.leases.values():
                age = (now - lease["since"]) * self.time_scale
                row["leases"].append({k: v for k, v in lease.items() if k in ("address", "prefix", "server")}
                                     | {"preferred_left": round(lease["preferred"] - age, 1),
                                        "valid_left": round(lease["valid"] - age, 1)})  # fmt: skip
        elif node.kind in ("router", "host"):
            row["state"], row["seed"] = "UP", ""
        if node.kind in CLIENT_KINDS:
            row["bound"] = row["state"] == "BOUND"
        return row


def _left(at: float, now: float, lifetime: int) -> float | None:
    if lifetime == 0xFFFFFFFF:
        return None
    return round(at - now, 1)
