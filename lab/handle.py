"""A running lab for synchronous code (tests): :class:`Lab`.

The lab's :class:`~lab.run.runtime.LabRuntime` — our engines, real peers, captures —
lives on an asyncio loop in a background thread that the handle owns
(:class:`LoopThread`); every method here is synchronous and hands its work to that loop,
so a test body needs no ``async``. Exceptions raised on the loop are re-raised in the
caller with their own traceback; at ``down()`` the runtime is stopped on its loop, the
loop's leftover tasks are cancelled, its executor shut down and the loop closed.

Everything a test asks about reads the lab's trace (``<run_dir>/traces/<node>.jsonl``,
the JSON lines of DESIGN.md): ``wait_for`` polls it until an event matches (no blind
sleeps), ``lease`` and ``events`` replay it, the timer assertions measure it. A failed
wait or assertion is an :class:`LabAssertionError` whose message names the node and
shows its last states, messages and leases.

    from lab.handle import Lab
    with Lab.open("topologies/basic.yaml", run_root=tmp) as lab:
        lab.wait_for("c1", state="BOUND", within=10)
        print(lab.lease("c1").address)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import json
import os
import re
import shlex
import shutil
import subprocess
import threading
import time
import warnings
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from ipaddress import IPv6Address, IPv6Network
from pathlib import Path
from typing import Any, TypeVar

from dhcp6.constants import RETRANSMISSION, MessageType
from dhcp6.control import request

from .load import load_topology
from .matching import match_fields, msg_name
from .model import CLIENT_KINDS, PEER_KINDS, Topology
from .run.runtime import LabRuntime

__all__ = ["Lab", "LabAssertionError", "Lease", "LoopThread", "PingResult"]

T = TypeVar("T")

#: Fixed wall-clock slack for scheduling (timers, sockets, the trace writer), seconds.
#: Converted to protocol time by multiplying by the time scale.
WALL_SLACK = 0.05
#: Extra wall seconds every ``within`` gets (process start, build, scheduling).
WAIT_GRACE = 1.0
POLL = 0.01
GONE = frozenset({"released", "expired", "declined", "reclaimed", "removed"})
KEPT = frozenset({"bound", "renewed", "rebound"})


_OPENED = itertools.count(1)


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if not n:
            return out


class LabAssertionError(AssertionError):
    """A wait or an assertion about the lab failed; the message is the whole story."""


# ---------------------------------------------------------------------------- the loop


class LoopThread:
    """An asyncio loop running in a daemon thread, driven from other threads.

    ``run(coro, timeout)`` waits for a coroutine scheduled on the loop and returns its
    result or raises its exception (a timeout cancels it). ``close()`` cancels what is
    left, shuts the default executor down and closes the loop; it is idempotent.
    Exceptions the loop reports on its own (a callback that raised, a task nobody
    awaited) are kept in ``errors``.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.loop = asyncio.new_event_loop()
        self.errors: list[str] = []
        self.loop.set_exception_handler(self._on_error)
        self._closed = False
        self._started = threading.Event()
        self.thread = threading.Thread(target=self._main, name=f"lab-loop:{name}", daemon=True)
        self.thread.start()
        self._started.wait()

    def _on_error(self, loop: asyncio.AbstractEventLoop, ctx: dict[str, Any]) -> None:
        exc = ctx.get("exception")
        text = ctx.get("message", "")
        if exc is not None:
            text = f"{text}: {type(exc).__name__}: {exc}"
        self.errors.append(text)

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._started.set)
        try:
            self.loop.run_forever()
        finally:
            try:
                tasks = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
                for t in tasks:
                    t.cancel()
                if tasks:
                    self.loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
                self.loop.run_until_complete(self.loop.shutdown_asyncgens())
                self.loop.run_until_complete(self.loop.shutdown_default_executor())
            finally:
                self.loop.close()

    @property
    def alive(self) -> bool:
        return not self._closed and self.thread.is_alive()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None, what: str = "") -> T:
        """Run ``coro`` on the loop; its result, or its exception re-raised here."""
        if threading.current_thread() is self.thread:
            coro.close()
            raise RuntimeError("LoopThread.run called from the lab's own loop (it would deadlock)")
        if not self.alive:
            coro.close()
            raise RuntimeError(f"lab {self.name}: its loop is closed")
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return fut.result(timeout)
        except concurrent.futures.TimeoutError:
            fut.cancel()
            raise TimeoutError(f"lab {self.name}: {what or 'a lab operation'} took more than "
                               f"{timeout:g} s") from None  # fmt: skip
        except BaseException:  # KeyboardInterrupt in the caller: stop the work too
            fut.cancel()
            raise

    def call(self, fn: Callable[..., T], *args: Any, timeout: float | None = 30) -> T:
        """Call a plain function on the loop's thread (to read state the loop owns)."""

        async def body() -> T:
            return fn(*args)

        return self.run(body(), timeout, getattr(fn, "__name__", "call"))

    def close(self, timeout: float = 30) -> None:
        if self._closed:
            return
        self._closed = True
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout)
        if self.thread.is_alive():  # pragma: no cover - a stuck callback
            warnings.warn(f"lab {self.name}: its loop thread did not stop within {timeout} s",
                          RuntimeWarning, stacklevel=2)  # fmt: skip


# ---------------------------------------------------------------------------- trace


class TraceView:
    """Incremental reader of ``traces/*.jsonl``: only complete lines, each parsed once."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.by_node: dict[str, list[dict[str, Any]]] = {}
        self._offsets: dict[Path, int] = {}
        self._merged: list[dict[str, Any]] | None = None

    def refresh(self) -> bool:
        grew = False
        if not self.dir.is_dir():
            return False
        for f in self.dir.glob("*.jsonl"):
            off = self._offsets.get(f, 0)
            try:
                size = f.stat().st_size
            except FileNotFoundError:
                continue
            if size <= off:
                continue
            with open(f, "rb") as fh:
                fh.seek(off)
                chunk = fh.read(size - off)
            end = chunk.rfind(b"\n") + 1
            if not end:
                continue
            self._offsets[f] = off + end
            events = self.by_node.setdefault(f.stem, [])
            for line in chunk[:end].splitlines():
                if line.strip():
                    with contextlib.suppress(ValueError):
                        events.append(json.loads(line))
            grew = True
        if grew:
            self._merged = None
        return grew

    def node(self, name: str) -> list[dict[str, Any]]:
        return self.by_node.get(name, [])

    def merged(self) -> list[dict[str, Any]]:
        if self._merged is None:
            self._merged = sorted((e for ev in self.by_node.values() for e in ev),
                                  key=lambda e: e.get("t", 0.0))  # fmt: skip
        return self._merged


# ---------------------------------------------------------------------------- values


@dataclass
class Lease:
    """A node's lease as its trace tells it (the last bound/renewed/rebound event)."""

    node: str
    kind: str  # "na" (an address) or "pd" (a prefix)
    value: str  # the address, or the prefix with its length
    preferred: float | None
    valid: float | None
    t1: float | None
    t2: float | None
    server: str | None  # the server's DUID (hex)
    server_node: str | None  # the lab node that granted it, when the lab knows
    action: str  # bound, renewed or rebound
    t: float
    pt: float | None
    event: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def address(self) -> str | None:
        return self.value if self.kind == "na" else None

    @property
    def prefix(self) -> str | None:
        return self.value if self.kind == "pd" else None

    def within(self, net: str | IPv6Network) -> bool:
        net = IPv6Network(net)
        if self.kind == "na":
            return IPv6Address(self.value) in net
        return IPv6Network(self.value).subnet_of(net)

    def __str__(self) -> str:
        srv = f", server {self.server_node}" if self.server_node else ""
        return (f"{self.value} (preferred {_num(self.preferred)}, valid {_num(self.valid)}, "
                f"T1 {_num(self.t1)}, T2 {_num(self.t2)}{srv}; {self.action} at t={self.t:.3f})")  # fmt: skip


@dataclass
class PingResult:
    src: str
    dst: str
    sent: int
    received: int
    duplicates: int
    output: str

    @property
    def ok(self) -> bool:
        return self.received > 0

    @property
    def loss(self) -> float:
        """Fraction of echo requests without a reply (0.0–1.0)."""
        return 1.0 - self.received / self.sent if self.sent else 1.0

    def __bool__(self) -> bool:
        return self.ok


def _num(v: Any) -> str:
    if v is None:
        return "?"
    return f"{v:g}" if isinstance(v, (int, float)) else str(v)


def _fields(kw: dict[str, Any]) -> dict[str, Any]:
    """``from_=`` → ``from`` (a Python keyword)."""
    return {(k[:-1] if k.endswith("_") and k[:-1] in ("from", "in", "not") else k): v
            for k, v in kw.items()}  # fmt: skip


def describe_wait(state: str | None, event: str | None, fields: dict[str, Any]) -> str:
    parts = []
    if state:
        parts.append(f"state {state}")
    if event:
        parts.append(f"{event} event")
    parts += [f"{k}={v!r}" if not callable(v) else f"{k}=<predicate>" for k, v in fields.items()]
    return " ".join(parts) or "any event"


# ---------------------------------------------------------------------------- the handle


class _Control:
    """``<run_dir>/control.sock`` for a lab the handle runs, so ``lab status NAME``,
    ``lab down NAME``… work while a test (or a kept lab) runs. Answers like the
    supervisor; ``stop`` takes the lab down."""

    def __init__(self, handle: Lab) -> None:
        from .run.supervisor import Supervisor

        self.handle = handle
        self.sup = Supervisor(handle.runtime, handle.run_root)
        self.server: asyncio.AbstractServer | None = None

    async def start(self, path: Path) -> None:
        self.sup.command = self.command  # type: ignore[method-assign]
        self.server = await asyncio.start_unix_server(self.sup._client, path=str(path))

    async def command(self, req: dict[str, Any]) -> dict[str, Any]:
        if req.get("cmd") == "stop":
            asyncio.get_running_loop().call_soon(
                lambda: threading.Thread(target=self.handle.down, daemon=True).start()
            )
            return {"ok": True}
        from .run.supervisor import Supervisor

        return await Supervisor.command(self.sup, req)

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None


class Lab:
    """One running lab, driven synchronously. Make it with :meth:`open` (or the pytest
    fixtures ``lab`` / ``lab_factory``); ``down()`` removes everything it made."""

    def __init__(self, topology: Topology, name: str, *, run_root: Path | str,
                 time_scale: float | None = None, pcap: bool = False) -> None:  # fmt: skip
        self.topology = topology
        self.name = name
        self.run_root = Path(run_root)
        self.runtime = LabRuntime(topology, name, run_root=self.run_root, time_scale=time_scale,
                                  pcap=pcap)  # fmt: skip
        self.time_scale = float(self.runtime.time_scale)
        self.pcap = pcap
        self.loop: LoopThread | None = None
        self.trace: TraceView | None = None
        self._control: _Control | None = None
        self._down = threading.Lock()
        self.state_ = "new"  # new | up | down

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def open(cls, path: str | Path, *, name: str | None = None, run_root: str | Path,
             overrides: dict[str, Any] | None = None, time_scale: float | None = None,
             pcap: bool = False, timeout: float = 180) -> Lab:  # fmt: skip
        """Load ``path`` and bring the lab up (down again if that fails). ``name``
        defaults to ``l<pid in base 36>-<n>``, unique on this machine."""
        if name is None:
            name = f"l{_base36(os.getpid())}-{next(_OPENED)}"
        lab = cls(load_topology(path, overrides), name, run_root=run_root, time_scale=time_scale,
                  pcap=pcap)  # fmt: skip
        lab.up(timeout)
        return lab

    def up(self, timeout: float = 180) -> Lab:
        self.loop = LoopThread(self.name)
        try:
            self.loop.run(self.runtime.up(), timeout, "bringing the lab up")
            self.trace = TraceView(self.run_dir / "traces")
            self._control = _Control(self)
            self.loop.run(self._control.start(self.run_dir / "control.sock"), 10, "control socket")
        except BaseException:
            with contextlib.suppress(Exception):
                if self.runtime.built is not None and self.run_dir.exists():
                    self.loop.run(self.runtime.down(), 60, "taking the lab down")
            self.loop.close()
            self.state_ = "down"
            raise
        self.state_ = "up"
        return self

    def down(self, timeout: float = 60) -> None:
        """Stop every node (clients first), remove the lab, close the loop. Idempotent."""
        with self._down:
            if self.state_ == "down":
                return
            self.state_ = "down"
            error: BaseException | None = None
            try:
                if self.loop is not None and self.loop.alive:
                    if self._control is not None:
                        self.loop.call(self._control.close)
                    self.loop.run(self.runtime.down(), timeout, "taking the lab down")
            except BaseException as e:
                error = e
            finally:
                if self.loop is not None:
                    self.loop.close()
                if self.runtime.built is not None and self.run_dir.exists():
                    with contextlib.suppress(Exception):  # whatever the runtime left
                        self.runtime.built.teardown()
            if error is not None:
                raise error

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()

    @property
    def run_dir(self) -> Path:
        return self.runtime.run_dir

    @property
    def epoch(self) -> float:
        return self.runtime.epoch

    def now(self) -> float:
        """The lab's time (the trace's ``t``): wall seconds since the lab's epoch."""
        return time.time() - self.runtime.epoch

    def _loop(self) -> LoopThread:
        if self.loop is None or not self.loop.alive or self.state_ != "up":
            raise RuntimeError(f"lab {self.name} is not up")
        return self.loop

    def ns(self, node: str) -> str:
        self._node(node)
        assert self.runtime.built is not None
        return self.runtime.built.ns(node)

    def _node(self, node: str) -> None:
        if node not in self.topology.nodes:
            raise KeyError(f"lab {self.name} has no node {node!r} "
                           f"(nodes: {', '.join(self.topology.nodes)})")  # fmt: skip

    # ------------------------------------------------------------------ trace queries
    def refresh(self) -> None:
        if self.trace is not None:
            self.trace.refresh()

    def events(self, node: str | None = None, kind: str | None = None, *,
               since: float | dict | None = None, **fields: Any) -> list[dict[str, Any]]:  # fmt: skip
        """Trace events so far (merged in time order), filtered: ``node``, ``kind`` (the
        ``event`` field), ``since`` (a lab time or an event: strictly after it), and field
        values as :func:`match_fields` compares them."""
        self.refresh()
        if self.trace is None:
            return []
        evs = self.trace.node(node) if node is not None else self.trace.merged()
        t0 = _since(since)
        f = _fields(fields)
        return [e for e in evs if (kind is None or e.get("event") == kind)
                and (t0 is None or e.get("t", 0) > t0) and match_fields(e, f)]  # fmt: skip

    def merged_trace(self) -> list[dict[str, Any]]:
        self.refresh()
        return list(self.trace.merged()) if self.trace is not None else []

    def state(self, node: str) -> str | None:
        """The node's state as its trace says (the ``to`` of its last state change)."""
        for e in reversed(self.events(node, "state")):
            if "to" in e:
                return e["to"]
        return None

    def wait_for(self, node: str | None, state: str | None = None, event: str | None = None, *,
                 within: float = 10.0, since: float | dict | None = None,
                 **fields: Any) -> dict[str, Any]:  # fmt: skip
        """Wait until ``node``'s trace has a matching event; return it.

        ``state="BOUND"``: a state change to BOUND. ``event="send"``, ``msg="RENEW"``, any
        other field: see :meth:`events`. ``within`` is protocol seconds (wall seconds
        when no time scale is on); the wall deadline is ``within / time_scale`` + 1 s.
        ``since`` (a lab time or an event) ignores what happened until then. On timeout:
        :class:`LabAssertionError` with the node's last states and messages.
        """
        __tracebackhide__ = True  # pytest shows the caller's line and our message
        if node is not None:
            self._node(node)
        f = _fields(fields)
        if state is not None:
            f["to"] = state.strip().upper()
            event = event or "state"
        t0 = _since(since)
        deadline = time.monotonic() + within / self.time_scale + WAIT_GRACE
        seen = 0
        while True:
            self.refresh()
            evs = (
                self.trace.node(node)
                if (self.trace and node)
                else (self.trace.merged() if self.trace else [])
            )
            if node is None:
                seen = 0  # the merged list is rebuilt when it grows
            for e in evs[seen:]:
                if (event is None or e.get("event") == event) and (t0 is None or e.get("t", 0) > t0) \
                        and match_fields(e, f):  # fmt: skip
                    return e
            seen = len(evs)
            if time.monotonic() > deadline:
                what = describe_wait(state, None if state else event,
                                     {k: v for k, v in f.items() if not (state and k == "to")})  # fmt: skip
                after = f" after t={t0:.3f}" if t0 is not None else ""
                raise LabAssertionError(
                    f"lab {self.name}: {node or 'no node'}: no {what}{after} within {within:g} s"
                    f"{self._scale_note()}\n" + self.explain(node)
                )
            self._check_loop()
            time.sleep(POLL)

    def _scale_note(self) -> str:
        return f" (protocol time; time scale {self.time_scale:g})" if self.time_scale != 1 else ""

    def _check_loop(self) -> None:
        if self.loop is not None and not self.loop.thread.is_alive() and self.state_ == "up":
            raise RuntimeError(f"lab {self.name}: its loop thread died; loop errors: "
                               f"{'; '.join(self.loop.errors) or 'none'}")  # fmt: skip

    def leases(self, node: str) -> list[Lease]:
        """The node's current leases, replayed from its trace's lease events."""
        self._node(node)
        current: dict[str, dict[str, Any]] = {}
        for e in self.events(node, "lease"):
            key = e.get("address") or e.get("prefix")
            if key is None:
                continue
            if e.get("action") in KEPT:
                current[key] = e
            elif e.get("action") in GONE:
                current.pop(key, None)
        return [self._lease(node, e) for e in current.values()]

    def lease(self, node: str, kind: str | None = None) -> Lease:
        """The node's current lease (an address before a prefix; ``kind="pd"`` for a prefix).
        LabAssertionError with the node's recent history when it has none."""
        __tracebackhide__ = True  # pytest shows the caller's line and our message
        got = [x for x in self.leases(node) if kind is None or x.kind == kind]
        got.sort(key=lambda x: x.kind != "na")
        if not got:
            what = {"na": "address", "pd": "prefix"}.get(kind or "", "lease")
            raise LabAssertionError(f"lab {self.name}: {node} has no {what}\n" + self.explain(node))
        return got[0]

    def _lease(self, node: str, e: dict[str, Any]) -> Lease:
        kind = "na" if "address" in e else "pd"
        value = e.get("address") or e.get("prefix")
        return Lease(node, kind, value, e.get("preferred"), e.get("valid"), e.get("t1"),
                     e.get("t2"), e.get("server"), self._server_node(e), e.get("action", ""),
                     e.get("t", 0.0), e.get("pt"), e)  # fmt: skip

    def _server_node(self, lease_event: dict[str, Any]) -> str | None:
        key = "address" if "address" in lease_event else "prefix"
        value, t = lease_event.get(key), lease_event.get("t", 0.0)
        best: tuple[float, str] | None = None
        for name, node in self.topology.nodes.items():
            if node.kind not in ("dhcp6-server",):
                continue
            for e in self.trace.node(name) if self.trace else []:
                if e.get("event") == "lease" and e.get(key) == value and e.get("action") in KEPT \
                        and e.get("t", 0) <= t + 0.001 and (best is None or e["t"] > best[0]):  # fmt: skip
                    best = (e["t"], name)
        if best is not None:
            return best[1]
        duid = lease_event.get("server")
        return self.server_by_duid().get(duid) if duid else None

    def server_by_duid(self) -> dict[str, str]:
        """Our servers' DUIDs (from their start events) → node names."""
        out = {}
        for name, node in self.topology.nodes.items():
            if node.kind != "dhcp6-server":
                continue
            for e in self.events(name, "state"):
                m = re.search(r"duid ([0-9a-f]+)", e.get("reason", ""))
                if m:
                    out[m.group(1)] = name
        return out

    def client_duid(self, node: str) -> str:
        """A client's DUID (hex): from its start event, else from a server's lease of its
        current address."""
        __tracebackhide__ = True  # pytest shows the caller's line and our message
        for e in self.events(node, "state"):
            m = re.search(r"duid ([0-9a-f]+)", e.get("reason", ""))
            if m:
                return m.group(1)
        for x in self.leases(node):
            for s, n in self.topology.nodes.items():
                if n.kind == "dhcp6-server":
                    for e in self.events(
                        s, "lease", **{"address" if x.kind == "na" else "prefix": x.value}
                    ):
                        if e.get("client"):
                            return e["client"]
        raise LabAssertionError(
            f"lab {self.name}: the DUID of {node} is unknown\n" + self.explain(node)
        )

    def explain(self, node: str | None, n: int = 8) -> str:
        """The node's last states, messages and leases, for failure messages."""
        if node is None:
            return ""
        evs = self.events(node)
        lines = []
        kind = self.topology.nodes[node].kind if node in self.topology.nodes else "?"
        run = self.runtime.nodes.get(node)
        proc = (
            f", process {run.status}" + (f" ({run.error})" if run and run.error else "")
            if run
            else ""
        )
        lines.append(
            f"  {node} ({kind}{proc}), {len(evs)} trace events, lab time now {self.now():.3f}"
        )
        states = [e for e in evs if e.get("event") == "state" and "to" in e][-n:]
        lines.append(f"  {node} last states:" + ("" if states else " none"))
        lines += [f"    t={e['t']:.3f} {e.get('from', '?')} → {e['to']}"
                  + (f" ({e['reason']})" if e.get("reason") else "") for e in states]  # fmt: skip
        msgs = [e for e in evs if e.get("event") in ("send", "recv", "drop")][-n:]
        lines.append(f"  {node} last messages:" + ("" if msgs else " none"))
        for e in msgs:
            if e["event"] == "drop":
                lines.append(f"    t={e['t']:.3f} drop {e.get('msg', '')}: {e.get('reason', '')}")
                continue
            extra = []
            if e.get("attempt"):
                extra.append(f"attempt {e['attempt']}")
            if e.get("ia"):
                extra.append("ia " + ", ".join(e["ia"]))
            if e.get("status"):
                extra.append(f"status {e['status']}")
            if e.get("inner"):
                extra.append(f"inner {e['inner'].get('msg')}")
            peer = e.get("peer") or e.get("to") or ""
            lines.append(f"    t={e['t']:.3f} {e['event']} {e.get('msg')}"
                         + (f" xid {e['xid']}" if e.get("xid") else "")
                         + (f" {'to' if e['event'] == 'send' else 'from'} {peer}" if peer else "")
                         + (f" ({'; '.join(extra)})" if extra else ""))  # fmt: skip
        errors = [e for e in evs if e.get("event") == "error"][-3:]
        lines += [f"    t={e['t']:.3f} error: {e.get('message')}" for e in errors]
        if any(e.get("event") == "lease" for e in evs):
            leases = self.leases(node)
            lines.append(
                f"  {node} leases: " + ("; ".join(str(x) for x in leases) if leases else "none")
            )
        return "\n".join(lines)

    # ------------------------------------------------------------------ actions
    def _act(self, coro: Coroutine[Any, Any, Any], what: str, timeout: float = 60) -> float:
        """Run an action on the loop; return the lab time it began at (a ``since=`` for
        waiting on what it caused)."""
        __tracebackhide__ = True  # pytest shows the caller's line and our message
        t = self.now()
        self._loop().run(coro, timeout, what)
        return t

    def stop(self, node: str) -> float:
        """Stop a node gracefully (a client Releases). Returns the lab time it began at."""
        self._node(node)
        return self._act(self.runtime.stop_node(node), f"stopping {node}")

    def kill(self, node: str) -> float:
        """Stop a node at once (no Release; a real peer gets SIGKILL)."""
        self._node(node)
        return self._act(self.runtime.stop_node(node, kill=True), f"killing {node}")

    def start(self, node: str) -> float:
        self._node(node)
        return self._act(self.runtime.start_node(node), f"starting {node}")

    def restart(self, node: str) -> float:
        self._node(node)
        return self._act(self.runtime.restart_node(node), f"restarting {node}")

    def link_down(self, link: str) -> float:
        """Set a link (every member's interface) or one ``NODE:IFACE`` down."""
        return self._act(self.runtime.link(link, False), f"link {link} down")

    def link_up(self, link: str) -> float:
        return self._act(self.runtime.link(link, True), f"link {link} up")

    def netem(self, link: str, *, delay: float | str = 0.0, loss: float = 0.0,
              duplicate: float = 0.0) -> float:  # fmt: skip
        """Impair a link (every member) or one ``NODE:IFACE``: ``loss``/``duplicate`` in
        percent, ``delay`` in seconds or "100ms" (refused where the kernel has no netem).
        All zero clears it. See lab/run/impair.py."""
        return self._act(self.runtime.impair(link, loss=loss, duplicate=duplicate, delay=delay),
                         f"impairing {link}")  # fmt: skip

    impair = netem

    def status(self) -> dict[str, Any]:
        """What ``lab status --json`` shows (read on the lab's loop)."""
        return self._loop().call(self.runtime.status)

    def control(self, server: str, req: dict[str, Any], timeout: float = 10) -> dict[str, Any]:
        """Send one JSON command to our server's control socket; its answer."""
        self._node(server)
        run = self.runtime.nodes[server]
        path = run.extra.get("control")
        if run.node.kind != "dhcp6-server" or not path:
            raise ValueError(f"{server} is a {run.node.kind}: only a running dhcp6-server has a "
                             "control socket")  # fmt: skip
        return request(path, req, timeout)

    def reconfigure(self, server: str, client: str | Iterable[str] | None = None, *,
                    msg: str = "renew", check: bool = True) -> dict[str, Any]:  # fmt: skip
        """Ask ``server`` to send Reconfigure to ``client`` (a node name or a DUID, or a
        list; None: every client it has a binding for). ``msg``: renew or
        information-request (``inf``). Returns the server's answer."""
        __tracebackhide__ = True  # pytest shows the caller's line and our message
        req: dict[str, Any] = {"cmd": "reconfigure", "msg": msg}
        if client is None:
            req["all"] = True
        else:
            names = [client] if isinstance(client, str) else list(client)
            req["clients"] = [self.client_duid(c) if c in self.topology.nodes else c for c in names]
        reply = self.control(server, req)
        if check and not reply.get("ok"):
            raise LabAssertionError(f"lab {self.name}: {server} refused reconfigure: "
                                    f"{reply.get('error', reply)}")  # fmt: skip
        return reply

    def exec(self, node: str, cmd: str | list[str], *, check: bool = False,
             timeout: float = 30, input: str | None = None) -> subprocess.CompletedProcess:  # fmt: skip
        """Run a command inside ``node``'s namespace (a string is split like a shell would);
        output as text. ``check=True`` raises LabAssertionError on a non-zero exit."""
        __tracebackhide__ = True  # pytest shows the caller's line and our message
        argv = shlex.split(cmd) if isinstance(cmd, str) else list(cmd)
        r = subprocess.run(["ip", "netns", "exec", self.ns(node), *argv], capture_output=True,
                           text=True, timeout=timeout, input=input, check=False)  # fmt: skip
        if check and r.returncode != 0:
            raise LabAssertionError(f"lab {self.name}: {node}: `{shlex.join(argv)}` exited "
                                    f"{r.returncode}: {(r.stderr or r.stdout).strip()[-500:]}")  # fmt: skip
        return r

    def address(self, node: str) -> str:
        """The node's address: its leased address if it has one, else its first static one."""
        __tracebackhide__ = True  # pytest shows the caller's line and our message
        self._node(node)
        na = [x for x in self.leases(node) if x.kind == "na"]
        if na:
            return na[0].value
        for iface in self.topology.nodes[node].interfaces.values():
            for a in iface.addresses:
                if not a.ip.is_link_local:
                    return str(a.ip)
        raise LabAssertionError(f"lab {self.name}: {node} has no address (no lease, no static "
                                f"address)\n" + self.explain(node))  # fmt: skip

    def ping(self, src: str, dst: str, *, count: int = 1, interval: float = 0.2,
             timeout: float = 2.0, source: str | None = None) -> PingResult:  # fmt: skip
        """Ping ``dst`` (an address, or a node: its address) from node ``src``; the result
        is truthy when a reply came. ``source``: the source address (default: the
        kernel's choice)."""
        target = dst if ":" in dst else self.address(dst)
        argv = [
            "ping",
            "-6",
            "-n",
            "-q",
            "-c",
            str(count),
            "-i",
            f"{interval:g}",
            "-W",
            f"{timeout:g}",
        ]
        if source:
            argv += ["-I", source]
        r = self.exec(src, [*argv, target], timeout=timeout + count * (interval + 0.5) + 10)
        out = r.stdout + r.stderr
        m = re.search(r"(\d+) packets transmitted, (\d+) (?:packets )?received", out)
        d = re.search(r"\+(\d+) duplicates", out)
        sent, got = (int(m.group(1)), int(m.group(2))) if m else (count, 0)
        return PingResult(src, target, sent, got, int(d.group(1)) if d else 0, out.strip())

    # ------------------------------------------------------------------ timer assertions
    def slack(self) -> float:
        """The scheduling slack in protocol seconds: WALL_SLACK × time scale."""
        return WALL_SLACK * self.time_scale

    def _pt(self, e: dict[str, Any]) -> float:
        if self.time_scale != 1.0:
            return float(e["pt"]) if "pt" in e else float(e["t"]) * self.time_scale
        return float(e["t"])

    def assert_renewed_at_t1(self, node: str, *, within: float | None = None,
                             slack: float | None = None) -> float:  # fmt: skip
        """The node's first Renew after its last lease went out T1 after that lease
        (RFC 9915 §18.2.4: no randomisation), within ± the slack. Waits for the Renew.
        Returns the measured delay (protocol seconds)."""
        __tracebackhide__ = True  # pytest shows the caller's line and our message
        return self._assert_at(node, "RENEW", "t1", 0.5, within, slack)

    def assert_rebound_at_t2(self, node: str, *, within: float | None = None,
                             slack: float | None = None) -> float:  # fmt: skip
        """The node's first Rebind went out T2 after the lease it extends (§18.2.5)."""
        __tracebackhide__ = True  # pytest shows the caller's line and our message
        return self._assert_at(node, "REBIND", "t2", 0.8, within, slack)

    def _assert_at(self, node: str, msg: str, timer: str, factor: float, within: float | None,
                   slack: float | None) -> float:  # fmt: skip
        __tracebackhide__ = True  # pytest shows the caller's line and our message
        self._node(node)
        s = self.slack() if slack is None else slack
        if within is None:
            lease = self.leases(node)
            base = max((x.event.get(timer) or 0) for x in lease) if lease else 0
            within = max(base, 1.0) * 1.5 + 5
        first = self.wait_for(node, event="send", msg=msg, within=within,
                              attempt=lambda a: a in (None, 1))  # fmt: skip
        evs = self.trace.node(node) if self.trace else []
        i = evs.index(first)
        ref = next((e for e in reversed(evs[:i]) if e.get("event") == "lease"
                    and e.get("action") in KEPT), None)  # fmt: skip
        if ref is None:
            raise LabAssertionError(f"lab {self.name}: {node} sent {msg} at t={first['t']:.3f} "
                                    "without a lease before it\n" + self.explain(node))  # fmt: skip
        group = [
            e
            for e in evs[:i]
            if e.get("event") == "lease"
            and e.get("action") in KEPT
            and abs(e["t"] - ref["t"]) < 0.01
        ]  # fmt: skip  (one Reply's leases)
        armed = next((e for e in evs[evs.index(ref):i] if e.get("event") == "timer"
                      and e.get("action") == "set" and e.get("name") == timer), None)  # fmt: skip
        server_values = [e.get(timer) for e in group if e.get(timer)]
        if armed is not None:
            expected, source = float(armed["after"]), f"{timer.upper()} armed by the client"
        elif server_values:
            expected, source = float(min(server_values)), f"{timer.upper()} from the Reply"
        else:
            pref = min(e.get("preferred") or 0 for e in group)
            expected, source = factor * pref, f"{factor} × preferred lifetime {pref}"
        if server_values and armed is not None and float(min(server_values)) != expected:
            raise LabAssertionError(
                f"lab {self.name}: {node} armed {timer.upper()} = {expected:g} s but the Reply at "
                f"t={ref['t']:.3f} said {min(server_values)} s\n" + self.explain(node)
            )
        measured = self._pt(first) - self._pt(ref)
        lo, hi = expected - s, expected + s
        if not lo <= measured <= hi:
            raise LabAssertionError(
                f"lab {self.name}: {node} sent {msg} {measured:.3f} s after its lease "
                f"({ref.get('action')} at t={ref['t']:.3f}); {source} is {expected:g} s, "
                f"allowed {lo:.3f}–{hi:.3f} s (± {s:.3f} s slack = {WALL_SLACK * 1000:g} ms wall"
                f" × time scale {self.time_scale:g})\n" + self.explain(node)
            )
        return measured

    def retransmissions(self, node: str, msg: str) -> list[dict[str, Any]]:
        """The node's exchanges of ``msg``: [{"xid", "sends": [events], "intervals": [s]}]."""
        msg = msg_name(msg)
        groups: dict[str, list[dict[str, Any]]] = {}
        for e in self.events(node, "send", msg=msg):
            if e.get("msg") != msg:
                continue
            groups.setdefault(str(e.get("xid")), []).append(e)
        out = []
        for xid, sends in groups.items():
            pts = [self._pt(e) for e in sends]
            out.append({"xid": xid, "sends": sends,
                        "intervals": [b - a for a, b in itertools.pairwise(pts)]})  # fmt: skip
        return out

    def assert_retransmissions(self, node: str | Iterable[str], msg: str, *, rfc: bool = True,
                               at_least: int = 1, mrt: float | None = None,
                               slack: float | None = None) -> list[float]:  # fmt: skip
        """Check every retransmission of ``msg`` by ``node`` (or several nodes) against
        RFC 9915 §15: the first RT is IRT·(1 + RAND) with RAND in [-0.1, 0.1] (Solicit:
        (0, 0.1], §18.2.1), each next RT is 2·RT·(1 + RAND), capped at MRT·(1 + RAND);
        never more than MRC transmissions. Intervals are measured between consecutive
        transmissions of one transaction (``pt`` when a time scale is on) with ± the
        slack, and compared with the ``rt`` the client recorded when it did. At least
        ``at_least`` retransmissions must have happened. Returns the intervals checked."""
        __tracebackhide__ = True  # pytest shows the caller's line and our message
        nodes = [node] if isinstance(node, str) else list(node)
        name = msg_name(msg)
        try:
            params = RETRANSMISSION[MessageType[name.replace("-", "_")]]
        except KeyError:
            raise ValueError(f"{msg!r}: not a message a client retransmits") from None
        s = self.slack() if slack is None else slack
        cap = params.mrt if mrt is None else mrt
        lo1, hi1 = (1.0, 1.1) if name == "SOLICIT" else (0.9, 1.1)
        checked: list[float] = []
        problems: list[str] = []
        exchanges = 0
        for n in nodes:
            self._node(n)
            for ex in self.retransmissions(n, name):
                exchanges += 1
                sends, ivs = ex["sends"], ex["intervals"]
                if params.mrc and len(sends) > params.mrc:
                    problems.append(
                        f"{n} xid {ex['xid']}: {len(sends)} transmissions, MRC is {params.mrc}"
                    )
                prev = None
                for k, m in enumerate(ivs):
                    checked.append(m)
                    rt = sends[k].get("rt")
                    where = f"{n} xid {ex['xid']} transmission {k + 1}→{k + 2} ({m:.3f} s"
                    if rt is not None and abs(m - rt) > s:  # what the client said it waited
                        problems.append(f"{where}): the client recorded RT {rt:.3f} s")
                    if not rfc:
                        prev = m
                        continue
                    if prev is None:
                        lo, hi = lo1 * params.irt - s, hi1 * params.irt + s
                        rule = f"IRT {params.irt:g} s × (1 + RAND): {lo:.3f}–{hi:.3f} s"
                        ok = lo <= m <= hi
                    else:
                        lo, hi = 1.9 * (prev - s) - s, 2.1 * (prev + s) + s
                        ok = lo <= m <= hi and (not cap or m <= 1.1 * cap + s)
                        rule = f"2 × previous {prev:.3f} s × (1 + RAND): {lo:.3f}–{hi:.3f} s"
                        if cap and not ok and hi >= cap * 0.9 - s:
                            ok = 0.9 * cap - s <= m <= 1.1 * cap + s
                            rule += f", or MRT {cap:g} s × (1 + RAND)"
                    if not ok:
                        problems.append(f"{where}): the RFC allows {rule}")
                    prev = m
        if problems:
            node_list = nodes if len(nodes) <= 3 else nodes[:3]
            raise LabAssertionError(
                f"lab {self.name}: {name} retransmissions break RFC 9915 §15 "
                f"(slack ± {s:.3f} s):\n  "
                + "\n  ".join(problems[:10])
                + "\n"
                + "\n".join(self.explain(n) for n in node_list)
            )
        if len(checked) < at_least:
            raise LabAssertionError(
                f"lab {self.name}: {len(checked)} retransmission(s) of {name} by "
                f"{', '.join(nodes)} to check, expected at least {at_least} ({exchanges} "
                "exchange(s), each answered at its first transmission)\n"
                + "\n".join(self.explain(n) for n in nodes[:3])
            )
        return checked

    # ------------------------------------------------------------------ artifacts
    def write_merged_trace(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w") as f:
            for e in self.merged_trace():
                f.write(json.dumps(e) + "\n")
        return path

    def save_artifacts(self, dest: Path, note: str = "") -> Path:
        """Copy what explains a failure — the merged trace, every node's trace, pcaps, node
        logs and configs, lab.json/runtime.json, a status snapshot — into ``dest``."""
        dest.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(Exception):
            self.write_merged_trace(dest / "trace.jsonl")
        with contextlib.suppress(Exception):
            if self.state_ == "up":
                (dest / "status.json").write_text(json.dumps(self.status(), indent=1, default=str))
        src = self.run_dir
        for p in sorted(src.rglob("*")) if src.is_dir() else []:
            rel = p.relative_to(src)
            if not p.is_file() or p.is_symlink() or p.stat().st_size > 64 << 20:
                continue  # sockets, fifos, huge files
            if p.suffix in (".sqlite-shm",) or rel.parts[0] not in (
                "traces", "pcap", "nodes", "lab.json", "runtime.json", "pids"):  # fmt: skip
                continue
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(OSError):
                shutil.copy2(p, target)
        if note:
            (dest / "failure.txt").write_text(note)
        return dest


def _since(since: float | dict | None) -> float | None:
    if since is None:
        return None
    if isinstance(since, dict):
        return float(since.get("t", 0.0))
    return float(since)


def kinds_note(topology: Topology) -> str:
    peers = sorted({n.kind for n in topology.nodes.values() if n.kind in PEER_KINDS})
    return ", ".join(peers)


def has_peers(topology: Topology) -> bool:
    return any(n.kind in PEER_KINDS for n in topology.nodes.values())


def clients(topology: Topology) -> list[str]:
    return [n for n, node in topology.nodes.items() if node.kind in CLIENT_KINDS]
