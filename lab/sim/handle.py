"""``SimLab``: a simulated lab with the namespace handle's API (lab.handle.Lab).

    from lab.sim.handle import SimLab
    with SimLab("topologies/basic.yaml", seed=1) as lab:
        bound = lab.wait_for("c1", state="BOUND", within=10)    # runs the clock until then
        renew = lab.wait_for("c1", event="send", msg="RENEW", within=200)
        assert renew["t"] == round(bound["t"] + lab.lease("c1").t1, 6)   # exactly T1
        lab.kill("s1")
        lab.advance(300)                                         # 300 protocol seconds

It *is* a :class:`lab.handle.Lab` as far as a test can tell: the trace queries
(``events``, ``state``, ``leases``, ``lease``, ``explain``, ``retransmissions``) and the
timer assertions (``assert_renewed_at_t1``, ``assert_rebound_at_t2``,
``assert_retransmissions``) are Lab's own, reading the simulator's kept events; the
actions (``stop``, ``start``, ``kill``, ``restart``, ``link_down``, ``link_up``, ``netem``,
``reconfigure``) act on the simulator and return the time. What differs:

- time is virtual: ``wait_for`` runs the clock until the event (``within`` is protocol
  seconds and costs no wall time); ``now`` is the virtual time — a number that can
  also be called, ``lab.now()``, like Lab's method; ``advance(seconds)`` runs the clock;
- ``slack()`` is 2 µs (the trace's rounding): a timer fires exactly when it is due;
- ``lease()`` returns a :class:`SimLease`, Lab's ``Lease`` that can also be read like a
  dict (``lease["address"]``, ``lease["t1"]``…);
- ``ping`` answers from the model (a route there and back over links that are up);
  ``exec``/``ns`` are refused (no namespaces, no processes).

Failures raise :class:`lab.handle.LabAssertionError` with the node's last states and
messages, as in namespaces.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv6Address
from pathlib import Path
from typing import IO, Any

from ..handle import Lab, LabAssertionError, Lease, PingResult, describe_wait
from ..load import load_topology
from ..model import Topology
from .matching import wait_matcher
from .nodes import ClientNode, ServerNode, SimError
from .simulator import Simulator, parse_delay
from .tracing import SimTrace

SLACK = 2e-6  # trace times are rounded to 1 µs; two of them make a measured interval


class SimTime(float):
    """The virtual time: a float that can be called (``lab.now`` and ``lab.now()``)."""

    def __call__(self) -> float:
        return float(self)


class SimLease(Lease):
    """lab.handle.Lease, readable as a mapping too: ``lease["address"]``, ``lease.get("prefix")``."""

    def __getitem__(self, key: str) -> Any:
        if key not in self.keys():
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        v = getattr(self, key, None) if key in self.keys() else None
        return default if v is None else v

    def keys(self) -> list[str]:
        return ["address", "prefix", "value", "kind", "preferred", "valid", "t1", "t2",
                "server", "server_node", "action", "t", "pt"]  # fmt: skip


@dataclass
class _NodeRun:
    status: str
    error: str = ""


class _Runtime:
    """What Lab's inherited methods read of a runtime (explain: a node's process)."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.time_scale = 1.0

    @property
    def nodes(self) -> dict[str, _NodeRun]:
        return {n: _NodeRun(x.status) for n, x in self.sim.nodes.items()}

    def status(self) -> dict[str, Any]:
        return self.sim.status()


class SimLab(Lab):
    backend = "sim"

    def __init__(
        self,
        topology: Topology | str | Path,
        *,
        seed: object = 0,
        overrides: dict[str, Any] | None = None,
        trace: SimTrace | str | Path | IO[str] | None = None,
        keep: bool | set[str] = True,
        scenario: bool = True,
        start: bool = True,
        name: str | None = None,
    ) -> None:  # Lab.__init__ would make a namespace runtime: not called
        topo = topology if isinstance(topology, Topology) else load_topology(topology, overrides)
        self.topology = topo
        self.name = name or topo.name
        self.seed = seed
        self.time_scale = 1.0
        self.pcap = False
        self.loop = None
        self._control = None
        self.trace = trace if isinstance(trace, SimTrace) else SimTrace(trace, keep=keep)
        self.trace_path = Path(trace) if isinstance(trace, (str, Path)) else None
        self.sim = Simulator(topo, seed=seed, trace=self.trace, scenario=scenario)
        self.runtime = _Runtime(self.sim)  # type: ignore[assignment]
        self.run_root = Path(".")
        self.state_ = "up"
        if start:
            self.sim.begin()

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def open(cls, path: str | Path, *, seed: object = 0, overrides: dict[str, Any] | None = None,
             **_ignored: Any) -> SimLab:  # fmt: skip
        """Like Lab.open (name, run_root, time_scale, pcap, timeout mean nothing here)."""
        return cls(path, seed=seed, overrides=overrides)

    def up(self, timeout: float = 0) -> SimLab:
        self.sim.begin()
        return self

    def down(self, timeout: float = 0) -> None:
        if self.state_ != "down":
            self.state_ = "down"
            self.sim.close()

    close = down

    def __enter__(self) -> SimLab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()

    @property
    def run_dir(self) -> Path:  # type: ignore[override]
        if self.trace_path is None:
            raise SimError(f"lab {self.name} is simulated and writes no run directory")
        return self.trace_path.parent

    @property
    def epoch(self) -> float:  # type: ignore[override]
        return 0.0

    @property
    def now(self) -> SimTime:  # type: ignore[override]
        return SimTime(self.sim.now)

    def ns(self, node: str) -> str:
        raise SimError(f"lab {self.name} is simulated: {node} has no network namespace")

    def refresh(self) -> None:
        return None

    def slack(self) -> float:
        return SLACK

    # ------------------------------------------------------------------ clock
    def advance(self, seconds: float) -> float:
        """Run every event of the next ``seconds`` (protocol seconds); the new time."""
        if seconds < 0:
            raise ValueError(f"advance({seconds}): time only runs forward")
        self.sim.run_until(self.sim.now + seconds)
        return self.sim.now

    def run_until(self, t: float) -> float:
        self.sim.run_until(t)
        return self.sim.now

    sleep = advance

    def wait_for(self, node: str | None, state: str | None = None, event: str | None = None, *,
                 within: float = 10.0, since: float | dict | None = None,
                 **fields: Any) -> dict[str, Any]:  # fmt: skip
        """Lab.wait_for on virtual time: the first matching event of ``node`` (any time
        before, or strictly after ``since``); if there is none yet, run the clock until
        it comes, at most ``within`` protocol seconds. LabAssertionError otherwise."""
        if node is not None:
            self._node(node)
        match = wait_matcher(state, event, fields)
        t0 = (
            None
            if since is None
            else float(since.get("t", 0.0) if isinstance(since, dict) else since)
        )
        evs = self.trace.node(node) if node is not None else self.trace.merged()
        pos = 0
        found: list[dict[str, Any]] = []

        def scan() -> bool:
            nonlocal pos
            while pos < len(evs):
                e = evs[pos]
                pos += 1
                if (t0 is None or e.get("t", 0) > t0) and match(e):
                    found.append(e)
                    return True
            return False

        start = self.sim.now
        if not scan():
            self.sim.run_until(start + within, stop=scan)
        if found:
            return found[0]
        f = dict(fields)
        what = describe_wait(state, None if state else event, f)
        after = f" after t={t0:.3f}" if t0 is not None else ""
        raise LabAssertionError(
            f"lab {self.name}: {node or 'no node'}: no {what}{after} within {within:g} s "
            f"(simulated, t={start:.3f}…{start + within:.3f})\n" + self.explain(node)
        )

    def _lease(self, node: str, e: dict[str, Any]) -> SimLease:
        kind = "na" if "address" in e else "pd"
        value = e.get("address") or e.get("prefix")
        return SimLease(node, kind, value, e.get("preferred"), e.get("valid"), e.get("t1"),
                        e.get("t2"), e.get("server"), self._server_node(e), e.get("action", ""),
                        e.get("t", 0.0), e.get("pt"), e)  # fmt: skip

    # ------------------------------------------------------------------ actions
    def stop(self, node: str) -> float:
        """Stop a node gracefully: a client Releases, and is closed when the Reply comes
        or after 2 s — run the clock (``advance``) to let that happen."""
        self._node(node)
        self._do(self.sim.stop_node, node)
        return self.sim.now

    def kill(self, node: str) -> float:
        self._node(node)
        self._do(self.sim.kill_node, node)
        return self.sim.now

    def start(self, node: str) -> float:
        self._node(node)
        self._do(self.sim.start_node, node)
        return self.sim.now

    def restart(self, node: str) -> float:
        self._node(node)
        self._do(self.sim.restart_node, node)
        return self.sim.now

    def link_down(self, link: str) -> float:
        self._do(self.sim.set_link, link, False)
        return self.sim.now

    def link_up(self, link: str) -> float:
        self._do(self.sim.set_link, link, True)
        return self.sim.now

    def netem(self, link: str, *, delay: float | str = 0.0, loss: float = 0.0,
              duplicate: float = 0.0) -> float:  # fmt: skip
        self._do(self.sim.netem, link, loss, parse_delay(delay), duplicate)
        return self.sim.now

    impair = netem

    def _do(self, fn: Any, *args: Any) -> None:
        try:
            fn(*args)
        except SimError as e:
            raise LabAssertionError(f"lab {self.name}: {e}") from None

    def status(self) -> dict[str, Any]:
        return self.sim.status()

    def control(self, server: str, req: dict[str, Any], timeout: float = 10) -> dict[str, Any]:
        """The control socket's commands, answered by the simulated server."""
        self._node(server)
        n = self.sim.nodes[server]
        if not isinstance(n, ServerNode) or not n.running:
            raise ValueError(f"{server} is a {n.kind}: only a running dhcp6-server has a "
                             "control socket")  # fmt: skip
        cmd = req.get("cmd")
        if cmd == "leases":
            return {"ok": True, "leases": [
                {"kind": x.kind, "lease": x.text(), "client": x.duid.hex(), "iaid": x.iaid,
                 "preferred": x.preferred, "valid": x.valid, "state": x.state}
                for x in n.engine.table.all()]}  # fmt: skip
        if cmd == "stats":
            return {
                "ok": True,
                "engine": dict(n.engine.stats),
                "host": {},
                "socket": {},
                "kernel_drops": 0,
            }
        if cmd == "reconfigure":
            clients = [bytes.fromhex(c.replace(":", "")) for c in req.get("clients", [])]
            try:
                result = n.reconfigure(clients, str(req.get("msg", "renew")))
            except (SimError, ValueError) as e:
                return {"ok": False, "error": str(e)}
            return {"ok": True, **result}
        return {"ok": False, "error": f"unknown command {cmd!r} (leases, stats, reconfigure)"}

    def reconfigure(self, server: str, client: str | Iterable[str] | None = None, *,
                    msg: str = "renew", check: bool = True) -> dict[str, Any]:  # fmt: skip
        """Reconfigure from ``server`` to ``client`` (node names or DUIDs; None: every
        client it has a binding for). Returns the server's answer, as Lab does."""
        req: dict[str, Any] = {
            "cmd": "reconfigure",
            "msg": {"inf": "information-request"}.get(msg, msg),
        }
        if client is not None:
            names = [client] if isinstance(client, str) else list(client)
            req["clients"] = [self.client_duid(c) if c in self.topology.nodes else c for c in names]
        reply = self.control(server, req)
        if check and not reply.get("ok"):
            raise LabAssertionError(f"lab {self.name}: {server} refused reconfigure: "
                                    f"{reply.get('error', reply)}")  # fmt: skip
        return reply

    def client_duid(self, node: str) -> str:
        n = self.sim.nodes.get(node)
        if isinstance(n, ClientNode) and n.duid is not None:
            return n.duid.hex()
        return super().client_duid(node)

    def exec(self, node: str, cmd: Any, **_: Any) -> Any:  # type: ignore[override]
        raise SimError(
            f"lab {self.name} is simulated: there is no process to run `{cmd}` in {node}"
        )

    def ping(self, src: str, dst: str, *, count: int = 1, interval: float = 0.2,
             timeout: float = 2.0, source: str | None = None) -> PingResult:  # fmt: skip
        """Whether ``dst`` (an address, or a node: its address) answers ``src``, by the
        model: routes there and back over links (and interfaces) that are up."""
        from .expect import reachable

        self._node(src)
        target = dst if ":" in dst else self.address(dst)
        ok, why = reachable(self.sim, self.sim.nodes[src], IPv6Address(target),
                            IPv6Address(source) if source else None)  # fmt: skip
        out = (f"{count} packets transmitted, {count if ok else 0} received (simulated"
               + (f": {why})" if why else ")"))  # fmt: skip
        return PingResult(src, target, count, count if ok else 0, 0, out)

    # ------------------------------------------------------------------ scenario, expect
    def run_scenario(self, until: float = math.inf) -> list[dict[str, Any]]:
        """Run the topology's scenario to its end (lab/scenario.py run_scenario on virtual
        time); the steps done. AssertionError naming the step's line if one failed."""
        done: list[dict[str, Any]] = []
        self.sim.on_step.append(done.append)
        try:
            self.sim.run_until(until, stop=lambda: self.sim.scenario_complete)
        finally:
            self.sim.on_step.remove(done.append)
        if self.sim.failures:
            raise AssertionError(self.sim.failures[0])
        return done

    def check_expectations(self, expect: dict[str, list[dict[str, Any]]] | None = None, *,
                           within: float | None = None) -> None:  # fmt: skip
        """The topology's ``expect:`` (lab/scenario.py check_expectations on virtual time):
        ExpectationFailed with every failure."""
        from ..scenario import ExpectationFailed

        failures = self.expectation_failures(expect, within=within)
        if failures:
            raise ExpectationFailed(failures)

    def expectation_failures(self, expect: dict[str, list[dict[str, Any]]] | None = None, *,
                             within: float | None = None) -> list[str]:  # fmt: skip
        from .expect import EXPECT_WITHIN, expectation_failures

        return expectation_failures(self, self.topology.expect if expect is None else expect,
                                    within=EXPECT_WITHIN if within is None else within)  # fmt: skip

    def save_artifacts(self, dest: Path, note: str = "") -> Path:
        dest.mkdir(parents=True, exist_ok=True)
        self.write_merged_trace(dest / "trace.jsonl")
        (dest / "status.json").write_text(json.dumps(self.status(), indent=1, default=str))
        if note:
            (dest / "failure.txt").write_text(note)
        return dest
