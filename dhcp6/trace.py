"""The trace: one JSON object a line, the spine every view and test reads (DESIGN.md).

Each event has ``t`` (wall-clock seconds since an epoch the caller passes — the lab
passes its start, so traces of many processes merge in order), ``node``, ``event`` (one
of :data:`KINDS`) and, when a time scale is on, ``pt`` (protocol seconds). Engines
return trace fields as actions; drivers write them through :class:`Tracer`.
"""

from __future__ import annotations

import heapq
import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import orjson

#: Event kinds and the fields each must carry besides t, node and event.
KINDS: dict[str, frozenset[str]] = {
    "state": frozenset({"seed"}),  # plus from/to (a state change) or msg (a server handling)
    "send": frozenset({"msg"}),
    "recv": frozenset({"msg"}),
    "drop": frozenset({"reason"}),
    "lease": frozenset({"action"}),
    "timer": frozenset({"action", "name"}),
    "address": frozenset({"action", "address"}),
    "error": frozenset({"message"}),
}
LEASE_ACTIONS = frozenset(
    {"bound", "renewed", "rebound", "released", "expired", "declined", "reclaimed", "removed"}
)
TIMER_ACTIONS = frozenset({"set", "fired", "cancelled"})
ADDRESS_ACTIONS = frozenset({"added", "updated", "removed", "dad-failed"})

#: JSON Schema (draft 2020-12) of one trace line, exported for editors and other tools.
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "dhcp6-lab trace event",
    "type": "object",
    "required": ["t", "node", "event"],
    "properties": {
        "t": {"type": "number", "description": "seconds since the lab's epoch (wall clock)"},
        "pt": {"type": "number", "description": "protocol seconds when a time scale is on"},
        "node": {"type": "string"},
        "event": {"enum": sorted(KINDS)},
        "from": {"type": "string"},
        "to": {"type": "string"},
        "seed": {"type": "string", "description": "the seed document's state label"},
        "reason": {"type": "string"},
        "msg": {"type": "string", "description": "message type, RFC spelling (RELAY-FORW)"},
        "xid": {"type": "string", "description": "transaction id, 6 hex digits"},
        "peer": {"type": "string"},
        "iface": {"type": "string"},
        "ia": {"type": "array", "items": {"type": "string"}},
        "action": {"type": "string"},
        "address": {"type": "string"},
        "prefix": {"type": "string"},
        "preferred": {"type": "number"},
        "valid": {"type": "number"},
        "t1": {"type": "number"},
        "t2": {"type": "number"},
        "server": {"type": "string"},
        "client": {"type": "string"},
        "name": {"type": "string"},
        "message": {"type": "string"},
    },
    "allOf": [
        {"if": {"properties": {"event": {"const": k}}}, "then": {"required": sorted(v)}}
        for k, v in KINDS.items()
    ],
}


class TraceError(ValueError):
    """An event or a trace line that does not follow the schema."""


def validate(event: dict[str, Any]) -> None:
    """Raise TraceError unless ``event`` follows the schema."""
    for key, typ in (("t", (int, float)), ("node", str), ("event", str)):
        if not isinstance(event.get(key), typ) or isinstance(event.get(key), bool):
            raise TraceError(f"event field {key!r} missing or of the wrong type: {event!r}")
    kind = event["event"]
    if kind not in KINDS:
        raise TraceError(f"unknown event kind {kind!r} (one of {', '.join(sorted(KINDS))})")
    missing = KINDS[kind] - event.keys()
    if missing:
        raise TraceError(f"{kind} event lacks {', '.join(sorted(missing))}: {event!r}")
    if "pt" in event and not isinstance(event["pt"], (int, float)):
        raise TraceError(f"pt must be a number: {event!r}")
    action = event.get("action")
    allowed = {"lease": LEASE_ACTIONS, "timer": TIMER_ACTIONS, "address": ADDRESS_ACTIONS}
    if kind in allowed and action not in allowed[kind]:
        raise TraceError(f"{kind} action {action!r} not one of {', '.join(sorted(allowed[kind]))}")
    if kind == "state" and "to" not in event and "msg" not in event:
        raise TraceError(f"state event needs 'to' (a transition) or 'msg' (a handling): {event!r}")


#: orjson: compact JSON (``{"a":1}``), UTF-8 as is; a value JSON has no type for (an
#: IPv6Address, a dataclass) is written as its ``str()``; non-string keys as strings.
JSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS


def encode_json(obj: Any) -> bytes:
    """One trace line's JSON (without the newline): orjson, about 5× cheaper than the
    standard library's encoder, which made up a third of a busy server's time."""
    return orjson.dumps(obj, default=str, option=JSON_OPTIONS)


class Tracer:
    """Writes one node's events as JSON lines.

    ``sink`` is a path (appended to), an open text stream, ``"-"`` for stdout, or None
    (events are only passed to ``listeners``). ``clock`` is the wall clock (time.time).
    Each line is written (and, with ``flush``, flushed) as it is emitted, except inside
    ``with tracer.batch():``, where the lines are kept and written with one ``write``
    (and one flush) when the outermost batch ends or ``write_held()`` is called — how a
    driver writes a burst of events with one system call. Listeners always see each
    event at once.
    """

    def __init__(
        self,
        sink: str | Path | IO[str] | None,
        node: str,
        *,
        epoch: float | None = None,
        time_scale: float = 1.0,
        clock: Callable[[], float] = time.time,
        flush: bool = True,
        check: bool = False,
    ) -> None:
        self.node = node
        self.clock = clock
        self.epoch = clock() if epoch is None else epoch
        self.time_scale = time_scale
        self.flush = flush
        self.check = check
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        self._own = False
        self._held = 0  # depth of batch() blocks
        self._lines: list[str] = []  # lines kept while held
        self._out: IO[str] | None
        if sink is None:
            self._out = None
        elif sink == "-":
            self._out = sys.stdout
        elif isinstance(sink, (str, Path)):
            Path(sink).parent.mkdir(parents=True, exist_ok=True)
            self._out = open(sink, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
            self._own = True
        else:
            self._out = sink

    def emit(
        self, kind: str, fields: dict[str, Any] | None = None, *, pt: float | None = None, **kw: Any
    ) -> dict[str, Any]:
        event: dict[str, Any] = {
            "t": round(self.clock() - self.epoch, 6),
            "node": self.node,
            "event": kind,
        }
        if pt is not None and self.time_scale != 1.0:
            event["pt"] = round(pt, 6)
        if fields:
            event.update(fields)
        if kw:
            event.update(kw)
        if self.check:
            validate(event)
        if self._out is not None:
            if self._held:
                self._lines.append(encode_json(event).decode())
            else:
                self._out.write(encode_json(event).decode() + "\n")
                if self.flush:
                    self._out.flush()
        for listener in self.listeners:
            listener(event)
        return event

    @contextmanager
    def batch(self) -> Iterator[Tracer]:
        """Keep the lines emitted inside; write them with one ``write`` at the end."""
        self._held += 1
        try:
            yield self
        finally:
            self._held -= 1
            if not self._held:
                self.write_held()

    def write_held(self) -> None:
        """Write the lines a batch holds so far (one ``write``); the batch goes on."""
        lines, self._lines = self._lines, []
        if lines and self._out is not None:
            lines.append("")  # the last line's newline
            self._out.write("\n".join(lines))
            if self.flush:
                self._out.flush()

    def close(self) -> None:
        self.write_held()
        if self._out is not None:
            self._out.flush()
            if self._own:
                self._out.close()
            self._out = None

    def __enter__(self) -> Tracer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read(path: str | Path) -> Iterator[dict[str, Any]]:
    """Events of one trace file; a line that is not an event raises TraceError(file:line)."""
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError as e:
                raise TraceError(f"{path}:{lineno}: not JSON ({e.msg})") from None
            if not isinstance(event, dict):
                raise TraceError(f"{path}:{lineno}: not a JSON object")
            yield event


def merge(paths: Iterable[str | Path]) -> Iterator[dict[str, Any]]:
    """Events of several traces (each in time order) as one stream ordered by ``t``."""
    return heapq.merge(*(read(p) for p in paths), key=lambda e: e.get("t", 0.0))
