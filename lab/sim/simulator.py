"""The discrete-event simulator: one virtual clock, one event queue, every node's engine.

An event is a timer of an engine, a datagram arriving at an interface, a scenario step
or a call the simulator made for itself (a client's Release timeout). Events run in
time order, ties in the order they were scheduled; nothing reads the wall clock, and
every random draw comes from a generator seeded from ``seed`` and a name (a node, a
link), so the same topology and seed give the same events — the same trace, byte for
byte. A simulated week takes as long as its events take to compute.
"""

from __future__ import annotations

import gc
import heapq
import math
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from dhcp6.engine.client_table import BOUND

from ..model import PEER_KINDS, Topology
from .matching import wait_matcher
from .network import ARRIVE_ALL, Addr, Iface, Netem, Network, derive_mac, eui64_link_local
from .nodes import ClientNode, PlainNode, RelayNode, ServerNode, SimError, SimNode
from .tracing import SimTrace

TIMER, ARRIVE, CALL, STEP = 0, 1, 2, 3
# and ARRIVE_ALL (from .network, which makes them): a datagram reaching several
# interfaces (a multicast's receivers) one after the other at one time — one queue
# entry, delivered as that many ARRIVE events (see push_arrival)
FAR = 64  # seconds: timers due after the next bucket boundary wait in buckets this long
#: Start order (lab/run/runtime.py ORDER): servers, then relays and routers, then clients.
ORDER = {"dhcp6-server": 0, "dhcp6-relay": 1, "router": 1, "host": 1}
NODE_ACTIONS = ("kill", "stop", "start", "restart")
WAIT_WITHIN = 30.0  # a scenario wait's default `within` (lab/scenario.py EXPECT_WITHIN)
NODE_CLASSES: dict[str, type[SimNode]] = {
    "dhcp6-client": ClientNode,
    "dhcp6-server": ServerNode,
    "dhcp6-relay": RelayNode,
    "router": PlainNode,
    "host": PlainNode,
}


def parse_delay(v: Any) -> float:
    """Seconds from a number or a duration text (250ms, 5s, 2m, 1h)."""
    if isinstance(v, str):
        from ..schema import parse_duration

        return parse_duration(v)
    return float(v)


def refuse_peers(topology: Topology) -> None:
    """One line naming the real-peer nodes, which only the namespace lab can run."""
    peers = [n for n in topology.nodes.values() if n.kind in PEER_KINDS]
    if not peers:
        return
    first, rest = peers[0], peers[1:]
    more = f" (and {', '.join(f'{n.name} ({n.kind})' for n in rest)})" if rest else ""
    raise SimError(
        f"node {first.name} is a {first.kind}, a real peer{more}: the simulator runs only our "
        "engines (dhcp6-server, dhcp6-client, dhcp6-relay), routers and hosts; "
        "run this topology in namespaces with `lab up`"
    )


_gc_depth = 0


@contextmanager
def quiet_gc() -> Iterator[None]:
    """Keep the cyclic garbage collector off while events run.

    Engines' objects die by reference counting (a simulated day of 10,000 clients leaves
    no cyclic garbage, and 6 hours of 2,000 clients with the collector off leave none for
    it to find: measured), but its passes over what a large run keeps alive and what it
    allocates (timers waiting in buckets, leases, memos) took 7 % of a 10,000-client run
    even with young-only passes. So automatic collection is off inside, as it is for a
    benchmark's timed loop; on the way out it is back as it was, and a cycle made while
    running (an exception's traceback) is found by its next full pass. Reentrant.
    """
    global _gc_depth
    if _gc_depth:
        yield
        return
    was_enabled = gc.isenabled()
    gc.disable()
    _gc_depth = 1
    try:
        yield
    finally:
        _gc_depth = 0
        # What the run made goes to the oldest generation unscanned (freeze, then
        # unfreeze: both move lists): else the first young pass after the run would
        # scan all of it at once (0.4 s after 10,000 bindings).
        gc.freeze()
        gc.unfreeze()
        if was_enabled:
            gc.enable()


class Simulator:
    """A topology running on virtual time. ``begin()`` starts it (t = 0)."""

    def __init__(self, topology: Topology, *, seed: object = 0, trace: SimTrace | None = None,
                 scenario: bool = True) -> None:  # fmt: skip
        refuse_peers(topology)
        self.topology = topology
        self.seed = seed
        self.source = topology.source
        self.now = 0.0
        self.trace = trace if trace is not None else SimTrace()
        self.trace.now = 0.0
        self.queue: list[tuple] = []  # a heap of (time, seq, kind, a, b)
        # Datagrams mostly arrive in the order they are sent (every link has the same
        # latency): one arriving no earlier than the last one queued here goes to this
        # FIFO, already in (time, seq) order, not through the heap. Events are taken from
        # whichever of the two has the smaller (time, seq): the order is the heap's alone.
        self.arrivals: deque[tuple] = deque()
        # Timers set far ahead (T1, T2, a lease's valid lifetime: each re-armed at every
        # renewal, so most never fire) wait in buckets of FAR seconds, unsorted; a bucket
        # goes into the heap, its stale timers left out, when the clock nears it. Every
        # event due before _horizon is in the heap or the FIFO, so the order is the same;
        # the heap holds about a minute of events instead of every client's timers.
        self._horizon = float(FAR)
        self._far: dict[int, list[tuple]] = {}  # bucket (int(time) // FAR) → timer entries
        self._far_keys: list[int] = []  # a heap of the buckets in _far
        self._seq = 0
        self.events = 0  # events carried out (stale timers are not events)
        self.began = False
        self.net = Network(self)
        self.nodes: dict[str, SimNode] = {}
        self.scenario = list(topology.scenario) if scenario else []
        self.on_step: list[Callable[[dict[str, Any]], None]] = []
        self._restart: set[str] = set()
        self.failures: list[str] = []  # the scenario step that failed (it ended the scenario)
        for node in topology.nodes.values():
            self.nodes[node.name] = NODE_CLASSES[node.kind](self, node)
        for link in topology.links.values():
            st = self.net.add_link(link, seed)
            for ep in link.endpoints:
                n = self.nodes[ep.node]
                mac = derive_mac(seed, ep.node, ep.iface)
                iface = Iface(n, ep.iface, st, mac, eui64_link_local(mac))
                self.net.attach(iface)
                n.ifaces[ep.iface] = iface
                n.own.add(int(iface.ll))
                for a in topology.nodes[ep.node].interfaces[ep.iface].addresses:
                    self.net.add_address(iface, Addr(a.ip))
        for n in self.nodes.values():
            n.finish_links()
            identity = getattr(n, "identity", None)
            if identity is not None:
                identity()
        self._setup_scenario()
        self.trace.write_lab(self.lab_json())

    # ------------------------------------------------------------------ queue
    def push_arrival(self, at: float, to: Any, pkt: tuple, kind: int = ARRIVE) -> None:
        """``pkt`` arrives at interface ``to`` at ``at``; with ``kind`` ARRIVE_ALL, at each
        interface of the tuple ``to`` in turn, as one entry: those arrivals would take
        consecutive seqs at one time, so nothing could come between them, and a multicast
        costs one entry and one turn of the loop instead of one per receiver (the stepper
        and a run's ``stop`` still see one event per receiver: _dispatch)."""
        self._seq += 1
        fifo = self.arrivals
        if not fifo or fifo[-1][0] <= at:
            fifo.append((at, self._seq, kind, to, pkt))
        else:
            heapq.heappush(self.queue, (at, self._seq, kind, to, pkt))

    def _peek(self) -> tuple | None:
        """The next event of the heap and the arrivals FIFO (buckets of far timers moved
        into the heap as needed), not taken."""
        q, fifo = self.queue, self.arrivals
        while True:
            nxt = q[0] if q else None
            if fifo and (nxt is None or fifo[0] < nxt):
                nxt = fifo[0]
            if (nxt is None or nxt[0] >= self._horizon) and self._pull():
                continue
            return nxt

    def _pull(self) -> bool:
        """Move the next bucket's live timers into the heap; False if there is none."""
        if not self._far_keys:
            return False
        k = heapq.heappop(self._far_keys)
        self._horizon = float((k + 1) * FAR)
        q = self.queue
        for e in self._far.pop(k):
            if e[3].timers.get(e[4]) == e[1]:  # not re-armed or cancelled since
                heapq.heappush(q, e)
        return True

    def _take(self) -> tuple:
        """Take the event _peek returned (its buckets are in the heap by then)."""
        q, fifo = self.queue, self.arrivals
        if fifo and not (q and q[0] < fifo[0]):
            return fifo.popleft()
        return heapq.heappop(q)

    def set_timer(self, node: SimNode, name: str, at: float) -> None:
        self._seq += 1
        seq = node.timers[name] = self._seq
        if at < self.now:
            at = self.now
        if at < self._horizon:
            heapq.heappush(self.queue, (at, seq, TIMER, node, name))
            return
        k = int(at) // FAR  # int() truncates exactly: k * FAR <= at < (k + 1) * FAR
        bucket = self._far.get(k)
        if bucket is None:
            bucket = self._far[k] = []
            heapq.heappush(self._far_keys, k)
        bucket.append((at, seq, TIMER, node, name))

    def call_at(self, at: float, fn: Callable[..., Any], *args: Any) -> None:
        self._seq += 1
        heapq.heappush(self.queue, (max(at, self.now), self._seq, CALL, fn, args))

    def next_time(self) -> float | None:
        """When the next event is due (stale timers skipped); None: nothing is left."""
        while (item := self._peek()) is not None:
            t, seq, kind, a, b = item
            if kind == TIMER and a.timers.get(b) != seq:
                self._take()
                continue
            return t  # type: ignore[no-any-return]
        return None

    # ------------------------------------------------------------------ running
    def begin(self) -> None:
        """t = 0: start every node with autostart (servers, relays, clients); arm the
        scenario's steps."""
        if self.began:
            return
        self.began = True
        for n in sorted(self.nodes.values(), key=lambda n: ORDER.get(n.kind, 2)):
            if n.node.options.get("autostart", True) and not isinstance(n, PlainNode):
                n.start()
        self._next_step()

    def step(self, until: float | None = None) -> tuple | None:
        """Carry out the next event (due by ``until``); return it, or None if there is none."""
        self.begin()
        while (item := self._peek()) is not None:
            if until is not None and item[0] > until:
                return None
            self._take()
            done = self._dispatch(item)
            if done is not None:
                return done
        return None

    def _dispatch(self, item: tuple) -> tuple | None:
        """Carry out one event; return it (one ARRIVE of an ARRIVE_ALL), or None for a
        stale timer."""
        t, seq, kind, a, b = item
        if kind == TIMER:
            if a.timers.get(b) != seq:
                return None
            del a.timers[b]
            self.now = t
            self.trace.now = t
            self.events += 1
            a.fire(b)
            return item
        if kind == ARRIVE_ALL:  # the first receiver now; the others next, in the same place
            if len(a) > 1:
                heapq.heappush(self.queue, (t, seq, ARRIVE_ALL, a[1:], b))
            kind, a = ARRIVE, a[0]
            item = (t, seq, kind, a, b)
        self.now = t
        self.trace.now = t
        self.events += 1
        if kind == ARRIVE:
            self.net.arrive(a, b)
        elif kind == CALL:
            a(*b)
        else:
            self.scenario_step(a)
        return item

    def run_until(self, t_end: float, stop: Callable[[], bool] | None = None) -> bool:
        """Run every event due by ``t_end``, then set the clock to ``t_end``. With ``stop``,
        return True (the clock at that event) as soon as it says so after an event."""
        self.begin()
        if stop is not None and stop():
            return True
        with quiet_gc():
            return self._run_until(t_end, stop)

    def _run_until(self, t_end: float, stop: Callable[[], bool] | None) -> bool:
        q = self.queue
        fifo = self.arrivals
        trace = self.trace
        arrive = self.net.arrive
        pop = heapq.heappop
        take = fifo.popleft
        horizon = self._horizon
        limit = min(horizon, t_end)  # an event due from here needs a second look
        events = self.events
        try:
            while True:
                # the next event: _peek and _take, inlined (tuples compare by time, then
                # seq); taken at once, and put back in the rare case it is not due yet
                if fifo:
                    nxt = pop(q) if q and q[0] < fifo[0] else take()
                elif q:
                    nxt = pop(q)
                elif self._pull():
                    horizon = self._horizon
                    limit = min(horizon, t_end)
                    continue
                else:
                    break
                t, seq, kind, a, b = nxt
                if t >= limit:
                    pull = t >= horizon and self._far_keys
                    if pull or t > t_end:
                        heapq.heappush(q, nxt)  # back (the merge takes it from either)
                        if not pull:
                            break
                        self._pull()  # (a bucket's timers may come before nxt)
                        horizon = self._horizon
                        limit = min(horizon, t_end)
                        continue
                if kind == TIMER:
                    timers = a.timers
                    live = timers.pop(b, None)
                    if live != seq:  # cancelled, or set again since
                        if live is not None:
                            timers[b] = live
                        continue
                    self.now = t
                    trace.now = t
                    events += 1
                    a.fire(b)
                elif kind == ARRIVE:
                    self.now = t
                    trace.now = t
                    events += 1
                    arrive(a, b)
                elif kind == ARRIVE_ALL and stop is None:
                    self.now = t
                    trace.now = t
                    events += len(a)
                    for iface in a:
                        arrive(iface, b)
                else:  # (an ARRIVE_ALL with a stop test: one receiver at a time)
                    self.events = events
                    self._dispatch(nxt)
                    events = self.events
                if stop is not None:
                    self.events = events
                    if stop():
                        return True
        finally:
            self.events = events
        if self.now < t_end < math.inf:
            self.now = t_end
            trace.now = t_end
        return False

    def run(self, duration: float) -> None:
        self.run_until(self.now + duration)

    # ------------------------------------------------------------------ commands
    def node(self, name: str) -> SimNode:
        n = self.nodes.get(name)
        if n is None:
            raise SimError(f"no node {name!r} (nodes: {', '.join(self.nodes)})")
        return n

    def start_node(self, name: str) -> None:
        self.node(name).start()

    def stop_node(self, name: str) -> None:
        self.node(name).stop()

    def kill_node(self, name: str) -> None:
        self.node(name).kill()

    def restart_node(self, name: str) -> None:
        """Stop, then start once it is closed (a client may wait up to 2 s for its Reply)."""
        n = self.node(name)
        if not n.running:
            n.start()
            return
        self._restart.add(name)
        n.stop()
        if not n.running:
            self.node_closed(n)

    def node_closed(self, n: SimNode) -> None:
        if n.name in self._restart:
            self._restart.discard(n.name)
            n.start()

    def set_link(self, ref: str, up: bool) -> None:
        """A link (every member's interface) or one NODE:IFACE down or up; clients on a
        changed interface hear of it (link_changed), as from the kernel's link events."""
        try:
            _, ifaces = self.net.resolve(ref)
        except KeyError as e:
            raise SimError(str(e.args[0])) from None
        for iface in ifaces:
            if iface.up == up:
                continue
            iface.up = up
            n = iface.node
            if isinstance(n, ClientNode) and n.running and iface.name == n.config.iface:
                n.run(n.engine.link_changed(up, self.now))

    def netem(
        self, ref: str, loss: float = 0.0, delay: float = 0.0, duplicate: float = 0.0
    ) -> None:
        """Impair a link (or NODE:IFACE) from now on; all zero removes the impairment."""
        imp = Netem.of({"loss": loss, "delay": delay, "duplicate": duplicate})
        try:
            link, ifaces = self.net.resolve(ref)
        except KeyError as e:
            raise SimError(str(e.args[0])) from None
        if link is not None:
            link.impairment = imp
        else:
            ifaces[0].impairment = imp

    def reconfigure(self, server: str, clients: list[str] | str | None = None,
                    msg: str = "renew") -> dict[str, Any]:  # fmt: skip
        """The server's Reconfigure to the named clients (default: every bound client)."""
        s = self.node(server)
        if not isinstance(s, ServerNode):
            raise SimError(f"reconfigure: {server} is a {s.kind}, not a dhcp6-server")
        names = [clients] if isinstance(clients, str) else list(clients or [])
        duids = []
        for c in names:
            cn = self.node(c)
            if not isinstance(cn, ClientNode) or cn.duid is None:
                raise SimError(f"reconfigure: {c} is a {cn.kind}, not a dhcp6-client")
            duids.append(cn.duid.encode())
        try:
            return s.reconfigure(duids, msg)
        except ValueError as e:
            raise SimError(f"reconfigure: {e}") from None

    # ------------------------------------------------------------------ scenario
    # The namespace lab's runner (lab/scenario.py), on virtual time: steps in order of
    # (at, line), each at its time or at once if an earlier one held it back; a
    # ``wait: {node: …}`` waits (within, default 30 s) for an event of that node — one
    # from before counts — and ``wait: 5s`` makes the scenario last 5 s past its step.
    # The first step that fails ends the scenario (recorded in ``failures``).

    def _setup_scenario(self) -> None:
        self._steps = sorted(self.scenario, key=lambda s: (float(s["at"]), s.get("line", 0)))
        self._step_index = 0
        self._scenario_until = 0.0
        self.scenario_complete = False
        self.scenario_completed_at: float | None = None
        self._waiting: dict[str, Any] | None = None
        nodes = {st["args"].get("node") for st in self._steps
                 if st["action"] == "wait" and isinstance(st["args"], dict)}  # fmt: skip
        self._history: dict[str | None, list[dict[str, Any]]] = {n: [] for n in nodes}
        if self._history:
            self.trace.add_listener(self._record)

    def _record(self, e: dict[str, Any]) -> None:
        h = self._history.get(e["node"])
        if h is not None:
            h.append(e)
        w = self._waiting
        if w is not None and (w["node"] is None or w["node"] == e["node"]) and w["match"](e):
            self._waiting = None
            self.call_at(self.now, self._next_step)

    def _next_step(self) -> None:
        if self.scenario_complete:
            return
        if self._step_index >= len(self._steps):
            self.call_at(max(self._scenario_until, self.now), self._scenario_done)
            return
        step = self._steps[self._step_index]
        self._step_index += 1
        self._seq += 1
        heapq.heappush(self.queue, (max(float(step["at"]), self.now), self._seq, STEP, step, None))

    def _scenario_done(self) -> None:
        if not self.scenario_complete:
            self.scenario_complete = True
            self.scenario_completed_at = self.now

    def _fail(self, step: dict[str, Any], text: str) -> None:
        self.failures.append(f"{self.source}:{step.get('line', '?')}: scenario step "
                             f"{step['action']}: {text}")  # fmt: skip
        self._waiting = None
        self._scenario_done()

    def scenario_step(self, step: dict[str, Any]) -> None:
        """Run one ``scenario:`` step (lab/load/scenario.py shapes)."""
        if self.scenario_complete:
            return
        for fn in self.on_step:
            fn(step)
        action, args = step["action"], step["args"]
        self._scenario_until = max(self._scenario_until, float(step["at"]))
        try:
            if action == "wait":
                if not isinstance(args, dict):
                    self._scenario_until = max(
                        self._scenario_until, float(step["at"]) + float(args)
                    )
                elif self._wait(step):
                    return  # the next step comes when the event does
            else:
                self.do_step(action, args)
        except (SimError, KeyError, ValueError, TypeError) as e:
            text = e.args[0] if isinstance(e, KeyError) and e.args else e
            self._fail(step, f"{step['args']!r} failed: {text}")
            return
        self._next_step()

    def do_step(self, action: str, args: Any) -> None:
        if action in NODE_ACTIONS:
            for name in [args] if isinstance(args, str) else args:
                getattr(self, f"{action}_node")(name)
        elif action in ("link_down", "link_up"):
            for ref in [args] if isinstance(args, str) else args:
                self.set_link(ref, action == "link_up")
        elif action == "reconfigure":
            if isinstance(args, dict):
                clients = args.get("client") or args.get("clients")
                self.reconfigure(args["server"], clients, str(args.get("msg", "renew")))
            else:
                self.reconfigure(args)
        elif action == "netem":
            self.netem(args["link"], float(args.get("loss", 0)), parse_delay(args.get("delay", 0)),
                       float(args.get("duplicate", 0)))  # fmt: skip
        else:
            raise SimError(f"unknown scenario action {action!r}")

    def _wait(self, step: dict[str, Any]) -> bool:
        """Start a ``wait: {node, state/event/fields, within}``; False if it is met already."""
        a = dict(step["args"])
        within = parse_delay(a.pop("within", WAIT_WITHIN))
        node = a.pop("node", None)
        if node is not None:
            self.node(node)
        match = wait_matcher(a.pop("state", None), a.pop("event", None), a)
        if node is not None and any(match(e) for e in self._history.get(node, ())):
            return False
        token = object()
        self._waiting = {"token": token, "node": node, "match": match}
        self.call_at(self.now + within, self._wait_timeout, token, step, within)
        return True

    def _wait_timeout(self, token: object, step: dict[str, Any], within: float) -> None:
        w = self._waiting
        if w is None or w["token"] is not token:
            return
        self._fail(step, f"{step['args']!r}: not met within {within:g} s")

    def scenario_end(self) -> float:
        """When the scenario ends if no wait holds it back: its last step, or a step's
        time plus its ``wait:`` duration if later."""
        end = 0.0
        for st in self.scenario:
            t = float(st["at"])
            if st["action"] == "wait" and isinstance(st["args"], (int, float)):
                t += float(st["args"])
            end = max(end, t)
        return end

    # ------------------------------------------------------------------ views
    def clients(self) -> list[ClientNode]:
        return [n for n in self.nodes.values() if isinstance(n, ClientNode)]

    def servers(self) -> list[ServerNode]:
        return [n for n in self.nodes.values() if isinstance(n, ServerNode)]

    def server_name(self, duid_hex: str | None) -> str | None:
        for s in self.servers():
            if s.duid is not None and s.duid.hex() == duid_hex:
                return s.name
        return None

    def all_bound(self) -> bool:
        return all(c.running and c.engine.state == BOUND for c in self.clients())

    def lab_json(self) -> dict[str, Any]:
        """The builder's ``lab.json`` shape (lab/build/builder.py), with what a simulated
        interface has instead of a namespace and an ifindex: its MAC and link-local."""
        return {
            "lab": self.topology.name, "topology": self.topology.name, "simulated": True,
            "seed": self.seed if isinstance(self.seed, (int, str)) else str(self.seed),
            "nodes": {name: {"kind": n.kind, "interfaces": {
                i.name: {"link": i.link.name, "mac": i.mac.hex(":"), "link_local": str(i.ll),
                         "addresses": [str(a) for a in i.addrs]}
                for i in n.ifaces.values()}} for name, n in self.nodes.items()},
        }  # fmt: skip

    def status(self) -> dict[str, Any]:
        """Rows like the namespace lab's `lab status` (runtime.LabRuntime.status)."""
        return {"lab": self.topology.name, "t": round(self.now, 6), "simulated": True,
                "nodes": {name: n.status_row() for name, n in self.nodes.items()}}  # fmt: skip

    def close(self) -> None:
        self.trace.close()
