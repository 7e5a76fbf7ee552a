"""Node drivers: the unmodified dhcp6 engines, run on the virtual clock and links.

Each driver does for its engine what the namespace lab's driver does — the daemons in
dhcp6/daemons/ and :class:`dhcp6.io.host.EngineHost` — with virtual time and virtual
links instead of sockets, netlink and SQLite:

- actions are carried out in order; ``Trace`` and ``StateChanged`` become the same trace
  events EngineHost writes, ``timer fired`` (except an engine's ``quiet_timers``) and
  ``timer cancelled`` (only for a timer that was pending) included;
- ``ConfigureAddress``/``RemoveAddress`` of a client become ``address`` events (and the
  address joins or leaves the virtual interface); prefixes are not put on interfaces;
- a server's ``CommitLease``/``RemoveLease``/``CommitMeta`` go to an in-memory store
  that outlives the engine, so a stopped or killed server restarts with its bindings,
  keys and replay counter — as its SQLite file would give them back;
- start, stop and kill behave as in lab/run/runtime.py: a stopping client Releases and
  is closed when STOPPED or after 2 s; a killed client sends nothing; servers and relays
  stop at once.

Option handling mirrors lab/run/runtime.py (``_start_client``, ``_start_server``,
``_start_relay``); the simulator does not import it (it pulls in the namespace builder).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import replace
from ipaddress import IPv6Address
from typing import TYPE_CHECKING, Any

from dhcp6.constants import CLIENT_PORT, SERVER_PORT
from dhcp6.engine.actions import (
    CancelTimer,
    CommitLease,
    CommitMeta,
    ConfigureAddress,
    RemoveAddress,
    RemoveLease,
    Send,
    SetTimer,
    StateChanged,
    Trace,
    set_state_trace,
)
from dhcp6.engine.client import ClientConfig, ClientEngine
from dhcp6.engine.client_table import BOUND, REBIND, RENEW, STOPPED
from dhcp6.engine.relay import ListenLink, RelayConfig, RelayEngine
from dhcp6.engine.server import ServerEngine
from dhcp6.leases.model import Lease
from dhcp6.server_config import ConfigError, ServerConfig, config_from_dict
from dhcp6.wire import DuidLL
from dhcp6.wire.describe import address_text

from ..model import Node
from .network import Addr, Iface, is_link_local
from .tracing import FLUSH_PARTS, trace_body

if TYPE_CHECKING:
    from .simulator import Simulator

HW_ETHERNET = 1
CLIENT_STOP_TIMEOUT = 2.0  # lab/run/runtime.py stops a client with stop(timeout=2.0)
ALL_DHCP = int(IPv6Address("ff02::1:2"))


class SimError(Exception):
    """A topology the simulator cannot run, or a command it cannot carry out: one line."""


def eui64_mac(address: IPv6Address) -> bytes | None:
    """The MAC inside a modified-EUI-64 link-local (dhcp6.daemons.relay.eui64_mac)."""
    b = address.packed
    if not is_link_local(int(address)) or b[11:13] != b"\xff\xfe":
        return None
    return bytes([b[8] ^ 0x02, b[9], b[10], b[13], b[14], b[15]])


_FIRED: dict[str, Trace] = {}  # the driver's own constant lines, as Trace actions
_CANCELLED: dict[str, Trace] = {}


def _timer_trace(action: str, name: str) -> Trace:
    """``timer fired``/``cancelled`` of a timer ``name``: one Trace per name, serialized
    once (its JSON kept in it: lab.sim.tracing.trace_body)."""
    kept = _FIRED if action == "fired" else _CANCELLED
    t = kept.get(name)
    if t is None:
        if len(kept) >= 4096:  # names hold a lease's key: keep the memo bounded
            kept.clear()
        t = kept[name] = Trace("timer", {"action": action, "name": name})
    return t


def _state_trace(a: StateChanged) -> Trace:
    """A state line as a Trace, kept in the action's cache slot: an engine hands the same
    StateChanged out for a transition that repeats (its extra fields never change)."""
    try:
        t = a._trace
    except AttributeError:  # built without its cache slot (copy, pickle)
        t = None
    if t is None:
        fields = {"from": a.old, "to": a.new, "seed": a.seed, "reason": a.reason}
        if a.extra:
            fields.update(a.extra)
        t = Trace("state", fields)
        set_state_trace(a, t)
    return t


class MemoryStore:
    """The lease store of a simulated server: what SQLite would keep, in memory."""

    def __init__(self) -> None:
        self.leases: dict[tuple[str, int], Lease] = {}
        self.meta: dict[str, str] = {}
        self.commits = 0

    def load(self) -> list[Lease]:
        return list(self.leases.values())

    def all_meta(self) -> dict[str, str]:
        return dict(self.meta)


class SimNode:
    """A node: its interfaces, routes and (for our kinds) an engine and its timers."""

    quiet: frozenset[str] = frozenset()
    port = 0  # the engine's UDP port (0: no engine)
    listening: frozenset[str] = frozenset()  # the interfaces the engine hears on
    forwarding = False

    def __init__(self, sim: Simulator, node: Node) -> None:
        self.sim = sim
        self.node = node
        self.name = node.name
        self.kind = node.kind
        self.ifaces: dict[str, Iface] = {}
        self.own: set[int] = set()  # every address of the node (ints), link-locals too
        self.connected: list[tuple[int, int, Iface]] = []  # (network, mask, iface)
        self.routes: list[tuple[int, int, int, Iface]] = []  # (network, mask, via, iface)
        self.timers: dict[str, int] = {}
        self._heads: dict[str, bytes] | None = None  # SimTrace.heads_of(name), once used
        self.engine: Any = None
        self.running = False
        self.status = "stopped"  # stopped | running | stopping
        self.transitions = 0
        self.drops: Counter[str] = Counter()
        self.errors = 0

    # ------------------------------------------------------------------ network
    def finish_links(self) -> None:
        """Connected prefixes and routes, once the interfaces exist."""
        for iface in self.ifaces.values():
            nets = []
            if iface.link.prefix is not None:
                nets.append(iface.link.prefix)
            nets += [a.network for a in self.node.interfaces[iface.name].addresses]
            for net in dict.fromkeys(nets):
                self.connected.append((int(net.network_address), int(net.netmask), iface))
        for r in self.node.routes:
            if r.iface in self.ifaces:
                self.routes.append((int(r.destination.network_address), int(r.destination.netmask),
                                    int(r.via), self.ifaces[r.iface]))  # fmt: skip

    def route(self, dst: int, hint: str | None) -> tuple[Iface, int] | None:
        """(egress interface, next hop) toward ``dst``; None: no route."""
        if is_link_local(dst):
            iface = self.ifaces.get(hint or "") or (
                next(iter(self.ifaces.values())) if len(self.ifaces) == 1 else None
            )
            return None if iface is None else (iface, dst)
        for net, mask, iface in self.connected:
            if dst & mask == net:
                return iface, dst
        for net, mask, via, iface in self.routes:
            if dst & mask == net:
                return iface, via
        return None

    def joins(self, group: int, port: int, iface: str) -> bool:
        """Whether this node receives ``group``:``port`` on ``iface`` (multicast)."""
        return False

    def listens(self, port: int, iface: str) -> bool:
        return False

    def deliver(self, iface: Iface, pkt: tuple) -> None:
        """A datagram ``pkt`` (data, src, dst, port, …) addressed to this node (or a group
        it joined) arrived on ``iface``. One for the engine's port, on an interface it
        listens on, goes to the engine, decoded once for all its receivers
        (Network.decoded), and what it answers is carried out; a malformed one goes
        through packet_received, which says why it is dropped."""
        if self.running and pkt[3] == self.port and iface.name in self.listening:
            net = self.sim.net
            data = pkt[0]
            # Network.decoded's own first test, inline: the second receiver of a multicast
            msg = net._last_msg if data is net._last_data else net.decoded(data)
            if msg is None:
                self.run(self.engine.packet_received(data, pkt[1], pkt[2], iface.name,
                                                     self.sim.now))  # fmt: skip
            else:
                self.run(self.engine.message_received(msg, pkt[1], pkt[2], iface.name,
                                                      self.sim.now))  # fmt: skip

    # ------------------------------------------------------------------ actions
    def run(self, actions: list, fired: Trace | None = None) -> None:
        """Carry out an engine's actions in order (dhcp6.io.host.EngineHost.flush);
        ``fired``: the ``timer fired`` line that comes first.

        The trace lines are queued here, inline, when the trace queues them (SimTrace's
        ``inline``, see SimTrace._modes). All are at one clock value."""
        sim = self.sim
        tr = sim.trace
        name = self.name
        heads = self._heads
        if heads is None:
            heads = self._heads = tr.heads_of(name)
        if tr.inline:
            if tr.now != tr._t:
                tr._stamp()
            buf, lead, tsc = tr._buf, tr._lead, tr._ts_comma
            if fired is not None:  # its fields are never empty
                body = fired._json
                if body is None:
                    body = trace_body(fired)
                try:
                    head = heads["timer"]
                except KeyError:
                    head = tr.head(name, "timer")
                buf += (lead, head, tsc, body)
        else:  # (lines go per node, or to listeners: each through emit_trace)
            buf = lead = tsc = None
            if fired is not None:
                tr.emit_trace(name, fired)
        for a in actions:
            c = type(a)
            if c is Trace:
                kind = a.kind
                if kind == "drop":
                    self.drops[a.fields.get("reason", "")] += 1
                elif kind == "lease":
                    self.on_lease(a.fields)
                t = a
            elif c is SetTimer:  # tested by how often they come: ~4 per Renew/Reply
                sim.set_timer(self, a.name, a.at)
                continue
            elif c is CancelTimer:
                if self.timers.pop(a.name, None) is None:
                    continue
                t = _CANCELLED.get(a.name) or _timer_trace("cancelled", a.name)
                kind = "timer"
            elif c is StateChanged:
                self.on_state(a)  # counters only: no line of its own
                try:
                    t = a._trace  # (_state_trace, inline)
                except AttributeError:  # built without its cache slot (copy, pickle)
                    t = None
                if t is None:
                    t = _state_trace(a)
                kind = "state"
            elif c is Send:
                sim.net.send(self, a.message, a.dst, a.port, a.iface, a.hop_limit)
                continue
            elif c is ConfigureAddress or c is RemoveAddress:
                t = self.kernel(a)
                if t is None:
                    continue
                kind = t.kind
            else:
                if c is CommitLease or c is RemoveLease or c is CommitMeta:
                    self.commit(a)
                # ConfigurePrefix, RemovePrefix: a delegated prefix is on no interface
                # (EngineHost does the same)
                continue
            # the action's line (``kind`` is t.kind, read once)
            if buf is None:
                tr.emit_trace(name, t)
                continue
            try:
                body = t._json
            except AttributeError:  # built without its cache slot (copy, pickle)
                body = None
            if body is None:
                body = trace_body(t)
            try:
                head = heads[kind]
            except KeyError:  # the node's first line of this kind
                head = tr.head(name, kind)
            buf += (lead, head, tsc if body else tr._ts_close(), body)
        if buf is not None and len(buf) >= FLUSH_PARTS:
            tr.flush_lines()
        if self.status == "stopping":
            self.after_actions()

    def fire(self, name: str) -> None:
        fired = None if name in self.quiet else _FIRED.get(name) or _timer_trace("fired", name)
        self.run(self.engine.timer_fired(name, self.sim.now), fired)

    def error(self, message: Any) -> None:
        self.errors += 1
        text = message if isinstance(message, str) else str(message)
        self.sim.trace.emit(self.name, "error", {"message": text})

    def on_state(self, a: StateChanged) -> None:
        self.transitions += 1

    def on_lease(self, fields: dict) -> None:
        pass

    def commit(self, a: Any) -> None:
        pass

    def kernel(self, a: Any) -> Trace | None:
        """A ConfigureAddress/RemoveAddress carried out; the ``address`` line, if any."""
        return None

    def after_actions(self) -> None:
        """After a batch of actions of a node that is stopping."""

    # ------------------------------------------------------------------ life
    def start(self) -> None:
        self.running, self.status = True, "running"

    def stop(self) -> None:
        self.close()

    def kill(self) -> None:
        self.close(killed=True)

    def close(self, killed: bool = False) -> None:
        self.timers.clear()
        self.running, self.status = False, "stopped"

    def status_row(self) -> dict[str, Any]:
        return {"kind": self.kind, "process": self.status, "state": "UP" if self.running else ""}


class PlainNode(SimNode):
    """A router or a host: addresses and routes; a router forwards."""

    def __init__(self, sim: Simulator, node: Node) -> None:
        super().__init__(sim, node)
        self.forwarding = node.kind == "router" and bool(node.options.get("forwarding", True))
        self.running, self.status = True, "running"

    def start(self) -> None:  # nothing runs in it; `ra:` is not simulated (no SLAAC here)
        self.running, self.status = True, "running"


def _ia_pd(value: Any) -> tuple[int, int | None]:
    if value in (None, 0, False):
        return 0, None
    n, _, hint = str(value).partition("/")
    return int(n), int(hint) if hint else None


def _first_iface(node: Node) -> str:
    opt = node.options.get("interface")
    if isinstance(opt, list):
        opt = opt[0] if opt else None
    return opt or next(iter(node.interfaces), "eth0")


class ClientNode(SimNode):
    port = CLIENT_PORT

    def __init__(self, sim: Simulator, node: Node) -> None:
        super().__init__(sim, node)
        o = node.options
        n_pd, hint = _ia_pd(o.get("ia_pd"))
        stateless = bool(o.get("stateless"))
        cfg = ClientConfig(iface=_first_iface(node), ia_na=0 if stateless else int(o.get("ia_na", 1)),
                           ia_pd=0 if stateless else n_pd, pd_hint_length=hint,
                           rapid_commit=bool(o.get("rapid_commit")),
                           reconfigure_accept=bool(o.get("reconfigure_accept")),
                           stateless=stateless, prefixlen=int(o.get("prefixlen") or 128),
                           downstream=o.get("downstream"))  # fmt: skip
        # the IAIDs a fresh state folder gets (dhcp6.daemons.client.ClientIdentity)
        self.config = replace(cfg, na_iaids=tuple(range(1, cfg.ia_na + 1)),
                              pd_iaids=tuple(range(1, cfg.ia_pd + 1)))  # fmt: skip
        self.listening = frozenset((self.config.iface,))
        self.node_seed = o.get("seed")
        self.rng = random.Random(f"{sim.seed}\0{self.name}\0rand")
        self.duid: DuidLL | None = None
        self.starts = 0
        self.renewals = self.rebinds = self.expiries = self.bound = 0
        self.state = ""
        self._addrs: dict[int, Addr] = {}  # configured addresses (their text is kept)
        # the last ConfigureAddress: (action, address int, iface, Addr, its trace line)
        self._configured: tuple[Any, int, Iface | None, Addr, Trace] | None = None

    def identity(self) -> None:
        iface = self.ifaces.get(self.config.iface)
        if iface is None:
            raise SimError(f"node {self.name}: interface {self.config.iface!r} is on no link")
        self.duid = DuidLL(HW_ETHERNET, iface.mac)

    def listens(self, port: int, iface: str) -> bool:
        return port == CLIENT_PORT and iface == self.config.iface

    def start(self) -> None:
        if self.running:
            return
        assert self.duid is not None
        # lab/run/runtime.py: rng = random.Random(the node's `seed:`) at every start, so a
        # seeded client draws the same RANDs and xids as it does in namespaces; without
        # one, a per-node stream of the simulation's seed (continued across restarts).
        rng = random.Random(self.node_seed) if self.node_seed is not None else self.rng
        self.engine = ClientEngine(self.config, self.duid, rand=rng.random,
                                   xid=lambda: rng.getrandbits(24))  # fmt: skip
        self.running, self.status = True, "running"
        self.starts += 1
        ll = self.ifaces[self.config.iface].ll
        self.sim.trace.emit(self.name, "state", {"from": "INIT", "to": "INIT", "seed": "IPv6 Start",
                            "reason": f"link-local {ll}; duid {self.duid.hex()}"})  # fmt: skip
        self.state = "INIT"
        self.run(self.engine.start(self.sim.now))

    def stop(self) -> None:
        """Release if bound; closed when STOPPED, or after 2 s without a Reply."""
        if not self.running:
            return
        self.status = "stopping"
        self.run(self.engine.stop(self.sim.now))
        if self.running and self.status == "stopping":
            self.sim.call_at(self.sim.now + CLIENT_STOP_TIMEOUT, self._stop_timeout, self.starts)

    def _stop_timeout(self, start: int) -> None:
        if self.running and self.status == "stopping" and self.starts == start:
            self.error(f"no Reply to Release within {CLIENT_STOP_TIMEOUT} s; exiting")
            self.close()

    def after_actions(self) -> None:
        if self.status == "stopping" and self.engine.state == STOPPED:
            self.close()

    def close(self, killed: bool = False) -> None:
        super().close(killed)
        self.sim.node_closed(self)

    def on_state(self, a: StateChanged) -> None:
        self.transitions += 1
        self.state = a.new
        if a.new == BOUND:
            if a.old == RENEW:
                self.renewals += 1
            elif a.old == REBIND:
                self.rebinds += 1
            else:
                self.bound += 1

    def on_lease(self, fields: dict) -> None:
        if fields.get("action") == "expired":
            self.expiries += 1

    def kernel(self, a: Any) -> Trace:
        c = self._configured
        if c is not None and c[0] is a and self._addrs.get(c[1]) is c[3]:
            # the action the last Renew gave (the engine keeps it): the same address again
            if c[2] is not None:
                self.sim.net.add_address(c[2], c[3])
            return c[4]
        # EngineHost._kernel: the driver of a.iface, else the first one (the client's iface)
        name = (
            a.iface if a.iface in (self.config.iface, self.config.downstream) else self.config.iface
        )
        iface = self.ifaces.get(name)
        v = int(a.address)
        known = self._addrs.get(v)  # a Renew configures the same address again
        if known is None:
            # the engine's lease line has just made its text (address_text keeps it)
            known = self._addrs[v] = Addr(v, address_text(a.address))
        if type(a) is ConfigureAddress:
            if iface is not None:
                self.sim.net.add_address(iface, known)
            f = Trace("address", {"action": "added", "address": known._text, "iface": name,
                                  "preferred": a.preferred, "valid": a.valid})  # fmt: skip
            self._configured = (a, v, iface, known, f)
            return f
        if iface is not None:
            self.sim.net.remove_address(iface, known)
        self._addrs.pop(v, None)
        return Trace("address", {"action": "removed", "address": known._text, "iface": name})

    def status_row(self) -> dict[str, Any]:
        row: dict[str, Any] = {"kind": self.kind, "process": self.status, "state": "", "leases": []}
        e = self.engine
        if e is not None and self.running:
            row["state"] = e.state
            now = self.sim.now
            for x in e.leases:
                key = "address" if x.kind == "na" else "prefix"
                row["leases"].append({key: x.text(), "preferred": x.preferred, "valid": x.valid,
                                      "valid_left": None if x.valid == 0xFFFFFFFF else round(x.expires - now, 3)})  # fmt: skip
        row["bound"] = row["state"] == BOUND
        return row


class ServerNode(SimNode):
    port = SERVER_PORT
    quiet = ServerEngine.quiet_timers

    def __init__(self, sim: Simulator, node: Node) -> None:
        super().__init__(sim, node)
        cfg = node.options.get("config") or {}
        if not isinstance(cfg, dict):
            raise SimError(f"node {self.name}: config is {type(cfg).__name__}, expected a mapping")
        try:
            data = json.loads(json.dumps(cfg, default=str))  # what runtime writes to YAML
            self.config: ServerConfig = config_from_dict(
                data, f"{sim.source}: node {self.name} config"
            )
        except ConfigError as e:
            raise SimError(f"node {self.name}: {str(e).splitlines()[0]}") from None
        ifaces = node.options.get("interface") or list(node.interfaces)
        if isinstance(ifaces, str):
            ifaces = [ifaces]
        self.serve = list(dict.fromkeys([*ifaces, *sorted(self.config.interfaces())]))
        self._serve = self.listening = frozenset(self.serve)
        self.store = MemoryStore()
        self.key_rng = random.Random(f"{sim.seed}\0{self.name}\0keys")
        self.duid: DuidLL | None = None
        self.leases: Counter[str] = Counter()

    def identity(self) -> None:
        for name in self.serve:
            if name not in self.ifaces:
                raise SimError(f"node {self.name}: interface {name!r} is on no link")
        self.duid = DuidLL(HW_ETHERNET, self.ifaces[self.serve[0]].mac)

    def joins(self, group: int, port: int, iface: str) -> bool:
        return self.running and port == SERVER_PORT and group == ALL_DHCP and iface in self._serve

    def listens(self, port: int, iface: str) -> bool:
        return port == SERVER_PORT and iface in self._serve

    def start(self) -> None:
        if self.running:
            return
        assert self.duid is not None
        self.engine = ServerEngine(self.config, self.duid, node=self.name, trace=True,
                                   rand_bytes=self.key_rng.randbytes)  # fmt: skip
        restored = self.engine.restore(self.store.load())
        self.engine.restore_meta(self.store.all_meta())
        self.running, self.status = True, "running"
        self.sim.net.listeners_changed()
        self.run(self.engine.start(self.sim.now))
        self.sim.trace.emit(self.name, "state", {"to": "LISTEN", "seed": "Listen", "reason":
                            f"serving {', '.join(self.serve)}; {restored} leases restored; "
                            f"duid {self.duid.hex()}"})  # fmt: skip

    def close(self, killed: bool = False) -> None:
        if not self.running:
            return
        super().close(killed)
        self.sim.net.listeners_changed()
        # lab/run/runtime.py closes a hosted server the same way for stop and kill
        self.sim.trace.emit(
            self.name, "state", {"to": "STOPPED", "seed": "Listen", "reason": "signal"}
        )

    def commit(self, a: Any) -> None:
        st = self.store
        st.commits += 1
        if type(a) is CommitLease:
            st.leases[a.lease.key] = a.lease
        elif type(a) is RemoveLease:
            st.leases.pop(a.lease.key, None)
        else:
            st.meta[a.key] = a.value

    def on_lease(self, fields: dict) -> None:
        self.leases[fields.get("action", "")] += 1

    def reconfigure(self, clients: list[bytes], msg: str = "renew") -> dict[str, Any]:
        if not self.running:
            raise SimError(f"reconfigure: server {self.name} is not running")
        actions, result = self.engine.reconfigure(self.sim.now, clients=clients,
                                                  all_clients=not clients, msg=msg)  # fmt: skip
        self.run(actions)
        return result

    def status_row(self) -> dict[str, Any]:
        row = {"kind": self.kind, "process": self.status, "state": "LISTEN" if self.running else ""}
        row["bindings"] = len(self.engine.table) if self.running else len(self.store.leases)
        return row


class RelayNode(SimNode):
    port = SERVER_PORT

    def __init__(self, sim: Simulator, node: Node) -> None:
        super().__init__(sim, node)
        o = node.options
        self.forwarding = bool(o.get("forwarding", True))
        self.listen = list(o.get("listen") or [_first_iface(node)])
        servers = o.get("server") or []
        self.server_texts = [str(s) for s in ([servers] if isinstance(servers, str) else servers)]
        parsed = []
        for text in self.server_texts:
            addr, _, iface = text.partition("%")
            try:
                parsed.append((IPv6Address(addr), iface or None))
            except ValueError:
                raise SimError(
                    f"node {self.name}: server {text!r} is not ADDR or ADDR%IF"
                ) from None
        self.servers = tuple(parsed)
        self.interface_id = bool(o.get("interface_id"))

    def identity(self) -> None:
        for name in self.listen:
            if name not in self.ifaces:
                raise SimError(f"node {self.name}: listen interface {name!r} is on no link")

    def joins(self, group: int, port: int, iface: str) -> bool:
        return self.running and port == SERVER_PORT and group == ALL_DHCP

    def listens(self, port: int, iface: str) -> bool:
        return port == SERVER_PORT

    def deliver(self, iface: Iface, pkt: tuple) -> None:
        if self.running and pkt[3] == SERVER_PORT:
            src = pkt[1]
            self.run(self.engine.packet_received(pkt[0], src, pkt[2], iface.name, self.sim.now,
                                                 eui64_mac(src)))  # fmt: skip

    def start(self) -> None:
        if self.running:
            return
        links, own = [], set()
        for name, iface in self.ifaces.items():
            own.add(iface.ll)
            own.update(iface.addrs)
            if name in self.listen:
                glob = [a for a in iface.addrs if not is_link_local(int(a))]
                links.append(ListenLink(name, glob[0] if glob else None))
        self.engine = RelayEngine(RelayConfig(tuple(links), self.servers, self.interface_id,
                                              frozenset(own)))  # fmt: skip
        self.running, self.status = True, "running"
        self.sim.net.listeners_changed()
        self.sim.trace.emit(self.name, "state", {"to": "LISTEN", "seed": "Relay", "reason":
                            "relaying " + ", ".join(f"{lk.iface} ({lk.link_address or 'no global address'})"
                                                    for lk in links)
                            + " to " + (", ".join(self.server_texts) or "ff05::1:3")})  # fmt: skip

    def close(self, killed: bool = False) -> None:
        if not self.running:
            return
        super().close(killed)
        self.sim.net.listeners_changed()
        self.sim.trace.emit(
            self.name, "state", {"to": "STOPPED", "seed": "Relay", "reason": "stopped"}
        )

    def status_row(self) -> dict[str, Any]:
        return {"kind": self.kind, "process": self.status, "state": "RELAY" if self.running else ""}
