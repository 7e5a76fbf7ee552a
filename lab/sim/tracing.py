"""The simulator's trace: the JSON-lines events of dhcp6.trace, stamped with virtual time.

Lines have the shape :class:`dhcp6.trace.Tracer` writes — ``t``, ``node``, ``event``,
``pt``, then the event's fields in the order the engine (or the driver) gave them — so
``lab trace``-style readers, reports, ladders and pytest assertions read them unchanged.
``t`` is virtual seconds since the simulation began (epoch 0) and ``pt`` (protocol
seconds) is always present and equal to ``t``: the simulator's clock *is* the protocol
clock (there is no time scale), so a reader that prefers ``pt`` gets the same number.

One file holds every node's events in time order (a merged trace, like ``lab trace``
prints), or — when the sink is a directory — one ``traces/NODE.jsonl`` per node, the
layout of a namespace lab's run directory.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import orjson

from dhcp6.engine.actions import Trace, set_trace_json
from dhcp6.trace import JSON_OPTIONS

_dumps = orjson.dumps
_FIELDS = JSON_OPTIONS | orjson.OPT_APPEND_NEWLINE  # a line's fields: "{…}\n"
# Lines queued before one write(): about 75 KB joined. Measured with 10,000 clients,
# two runs side by side: 10 % faster than 8,192 lines (1.2 MB, which malloc maps afresh
# and the kernel zeroes at every join), 1-4 % faster than 2,048.
_FLUSH_LINES = 512
FLUSH_PARTS = 4 * _FLUSH_LINES  # a line is 4 parts of SimTrace._buf
_FLUSH_DIR_LINES = 8192  # per-node files: each write opens a file per node


def time_text(t: float) -> bytes:
    """``repr(round(t, 6))``, the trace's time, faster: for 1e-4 ≤ t < 1e9 the 6-decimal
    text (correctly rounded, as round() does) without trailing zeros is that repr — such a
    decimal has at most 15 significant digits, so it is the shortest text of its float."""
    if 1e-4 <= t < 1e9:
        s = b"%.6f" % t
        s = s.rstrip(b"0")
        return s + b"0" if s[-1] == 46 else s  # "3600." → "3600.0"
    return repr(round(t, 6)).encode()


def trace_body(a: Trace) -> bytes:
    """The JSON of a Trace's fields as a line ends them (``…}\n`` without its "{"; b""
    for none), kept in its cache slot: engines hand the same Trace out again for what
    repeats at every renewal, and the driver does for its own constant lines."""
    fields = a.fields
    body = _dumps(fields, default=str, option=_FIELDS)[1:] if fields else b""
    set_trace_json(a, body)
    return body


class SimTrace:
    """Writes, keeps and/or forwards trace events; the simulator sets :attr:`now`.

    ``sink``: a file path (truncated first), a directory (one file per node, see the
    module doc), an open text stream, or None. ``keep``: keep events as dicts for
    queries (:meth:`node`, :meth:`merged` — the interface of lab.handle.TraceView) —
    True for every node, or a set of node names; the pytest handle keeps everything,
    the CLI only what a topology's ``expect:`` needs, the benchmark nothing, so a large
    run costs no memory per event.
    """

    def __init__(
        self,
        sink: str | Path | IO[str] | None = None,
        *,
        keep: bool | set[str] | frozenset[str] = False,
        meta: dict | None = None,
    ) -> None:
        self.keep = bool(keep)
        self.keep_nodes = None if isinstance(keep, bool) else frozenset(keep)
        self.events: list[dict[str, Any]] = []
        self.by_node: dict[str, list[dict[str, Any]]] = {}
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        self._lines = 0  # lines not in _buf (see lines)
        self.now = 0.0  # virtual seconds; the simulator sets it before each event
        # A line is {"t":T,"node":N,"event":K,"pt":T,FIELDS}: built from parts made once
        # per clock value (_lead, _ts_comma) and once per node and kind (_heads), and
        # the fields by orjson (its "{" dropped, a newline appended); the parts are joined
        # once per flush.
        self._t = 0.0  # the time the parts below were made for
        self._ts_comma = b"0.0,"
        self._lead = b'{"t":0.0'
        self._heads: dict[str, dict[str, bytes]] = {}  # node → kind → b',"node":…,"pt":'
        self._buf: list[bytes] = []  # parts of the lines not yet written, 4 per line
        self._per_node: dict[str, list[bytes]] | None = None
        self._dir: Path | None = None
        self._out: IO[Any] | None = None
        self._text = False  # the sink takes str (a text stream), not bytes
        self._own = False
        if sink is None:
            pass
        elif isinstance(sink, (str, Path)):
            p = Path(sink)
            if p.is_dir() or str(sink).endswith("/"):
                self._dir = p
                (p / "traces").mkdir(parents=True, exist_ok=True)
                for old in (p / "traces").glob("*.jsonl"):
                    old.unlink()
                self._per_node = {}
                info = {"name": "sim", "epoch": 0.0, "time_scale": 1.0, "simulated": True}
                (p / "runtime.json").write_text(json.dumps({**info, **(meta or {})}) + "\n")
            else:
                p.parent.mkdir(parents=True, exist_ok=True)
                self._out = open(p, "wb")  # noqa: SIM115 - closed in close()
                self._own = True
        else:
            self._out = sink
            self._text = isinstance(sink, io.TextIOBase)
        self._into_file = self._out is not None  # else lines go per node (or nowhere)
        self._dicts = keep  # listeners added later switch this on
        self.inline = False  # lines are queued as parts in _buf (_modes)
        self._modes()

    def _modes(self) -> None:
        """``inline``: whether lines are queued in _buf as parts, one test for a caller
        that queues a batch of lines at the current time itself (SimNode.run: a renewal
        writes 17 lines, and an :meth:`emit_trace` call per line costs more than the
        line). Such a caller calls _stamp() when ``now != _t``, then extends _buf with
        ``(_lead, head, _ts_comma, body)`` per line (``_ts_close()`` in place of
        ``_ts_comma`` for a line without fields, ``body`` b""): ``head`` from
        :meth:`heads_of` (or :meth:`head` when missing there), ``body`` the Trace's kept
        JSON or :func:`trace_body`. Four parts a line (:attr:`lines` counts them); once
        _buf holds FLUSH_PARTS, it calls :meth:`flush_lines`. Not inline (per-node files,
        kept or listened-to events, no sink): :meth:`emit_trace` per line."""
        self.inline = self._into_file and not self._dicts

    def write_lab(self, lab: dict[str, Any]) -> None:
        """In directory mode, ``lab.json`` as the builder writes it (node kinds, each
        interface's link) so ``lab report --from DIR`` draws the topology."""
        if self._dir is not None:
            (self._dir / "lab.json").write_text(json.dumps(lab, indent=1) + "\n")

    # ------------------------------------------------------------------ events
    def add_listener(self, fn: Callable[[dict[str, Any]], None]) -> None:
        self.listeners.append(fn)
        self._dicts = True
        self._modes()

    def remove_listener(self, fn: Callable[[dict[str, Any]], None]) -> None:
        self.listeners.remove(fn)
        self._dicts = self.keep or bool(self.listeners)
        self._modes()

    @property
    def lines(self) -> int:
        """Lines emitted so far: those queued in _buf are 4 parts each."""
        return self._lines + len(self._buf) // 4

    def emit(self, node: str, kind: str, fields: dict[str, Any] | None = None) -> None:
        """One event of ``node``: ``{"t", "node", "event", "pt", **fields}``."""
        if self._into_file:
            # the line's parts queued here, inline: this runs for every line of a run
            if self.now != self._t:
                self._stamp()
            try:
                head = self._heads[node][kind]
            except KeyError:
                head = self._head(node, kind)
            buf = self._buf
            if fields:
                buf += (self._lead, head, self._ts_comma,
                        _dumps(fields, default=str, option=_FIELDS)[1:])  # fmt: skip
            else:
                buf += (self._lead, head, self._ts_close(), b"")
            if len(buf) >= FLUSH_PARTS:
                self._flush_buf()
        else:
            self._lines += 1
            if self._per_node is not None:
                self._node_line(node, kind, _dumps(fields, default=str, option=_FIELDS)[1:]
                                if fields else b"")  # fmt: skip
        if self._dicts:
            self._event(node, kind, fields)

    def heads_of(self, node: str) -> dict[str, bytes]:
        """``node``'s part of the line heads (kind → bytes), for a caller that queues
        lines itself (see _modes) to keep: one lookup fewer per line."""
        return self._heads.setdefault(node, {})

    def emit_trace(self, node: str, a: Trace) -> None:
        """:meth:`emit` of an engine's Trace action. Its fields' JSON is kept in the
        action (a cache slot, trace_body): engines hand the same Trace out again for what
        repeats at every renewal (a lease extended, a Renew dropped by the server not
        chosen), and so does the driver for its own constant lines (timer fired and
        cancelled, state)."""
        if self._into_file:
            if self.now != self._t:
                self._stamp()
            kind = a.kind
            try:
                head = self._heads[node][kind]
            except KeyError:
                head = self._head(node, kind)
            try:
                body = a._json
            except AttributeError:  # a Trace built without its cache slot (copy, pickle)
                body = None
            if body is None:
                body = trace_body(a)
            buf = self._buf
            if body:
                buf += (self._lead, head, self._ts_comma, body)
            else:
                buf += (self._lead, head, self._ts_close(), body)
            if len(buf) >= FLUSH_PARTS:
                self._flush_buf()
        else:
            self._lines += 1
            if self._per_node is not None:
                fields = a.fields
                self._node_line(node, a.kind, _dumps(fields, default=str, option=_FIELDS)[1:]
                                if fields else b"")  # fmt: skip
        if self._dicts:
            self._event(node, a.kind, a.fields)

    def flush_lines(self) -> None:
        """Write the queued lines (see _modes)."""
        self._flush_buf()

    def head(self, node: str, kind: str) -> bytes:
        """The part of a line naming ``node`` and ``kind`` (made once, kept in heads_of)."""
        heads = self._heads.get(node)
        head = heads.get(kind) if heads is not None else None
        return head if head is not None else self._head(node, kind)

    def _stamp(self) -> None:
        """The parts of a line that hold the time, made once per clock value."""
        self._t = t = self.now
        if 1e-4 <= t < 1e9:  # time_text(t), inline
            ts = (b"%.6f" % t).rstrip(b"0")
            if ts[-1] == 46:
                ts += b"0"
        else:
            ts = time_text(t)
        self._lead, self._ts_comma = b'{"t":' + ts, ts + b","

    def _ts_close(self) -> bytes:
        """The time closing a line without fields (rare: made when needed, from _ts_comma)."""
        return self._ts_comma[:-1] + b"}\n"

    def _node_line(self, node: str, kind: str, body: bytes) -> None:
        """A line for ``traces/NODE.jsonl``: ``body`` is the fields' JSON without its "{"
        ("…}\n"), or b"" for none."""
        assert self._per_node is not None
        if self.now != self._t:
            self._stamp()
        head = self.head(node, kind)
        self._per_node.setdefault(node, []).append(
            self._lead + head + (self._ts_comma + body if body else self._ts_close())
        )
        if self._lines % _FLUSH_DIR_LINES == 0:
            self._flush_dir()

    def _head(self, node: str, kind: str) -> bytes:
        head = b',"node":' + _dumps(node) + b',"event":' + _dumps(kind) + b',"pt":'
        self._heads.setdefault(node, {})[kind] = head
        return head

    def _event(self, node: str, kind: str, fields: dict[str, Any] | None) -> None:
        t = round(self.now, 6)
        ev: dict[str, Any] = {"t": t, "node": node, "event": kind, "pt": t}
        if fields:
            ev.update(fields)
        if self.keep and (self.keep_nodes is None or node in self.keep_nodes):
            self.by_node.setdefault(node, []).append(ev)
            self.events.append(ev)
        for fn in self.listeners:
            fn(ev)

    # ------------------------------------------------------------------ queries
    def node(self, name: str) -> list[dict[str, Any]]:
        """The kept events of ``name``, in order (the list grows as the run goes on)."""
        return self.by_node.setdefault(name, [])

    def merged(self) -> list[dict[str, Any]]:
        """Every kept event in time order (emission order is time order)."""
        return self.events

    def refresh(self) -> bool:
        return False  # nothing to read: events arrive as they are emitted

    def stop_keeping(self) -> None:
        """Keep no further events (those kept so far stay)."""
        self.keep = False
        self._dicts = bool(self.listeners)
        self._modes()

    # ------------------------------------------------------------------ output
    def _flush_buf(self) -> None:
        buf = self._buf
        self._lines += len(buf) // 4
        if buf and self._out is not None:
            data = b"".join(buf)
            self._out.write(data.decode() if self._text else data)
        buf.clear()  # in place: a caller queuing lines itself may hold it

    def _flush_dir(self) -> None:
        assert self._dir is not None and self._per_node is not None
        for node, lines in self._per_node.items():
            if lines:
                with open(self._dir / "traces" / f"{node}.jsonl", "ab") as f:
                    f.write(b"".join(lines))
        self._per_node = {n: [] for n in self._per_node}

    def flush(self) -> None:
        if self._per_node is not None:
            self._flush_dir()
        else:
            self._flush_buf()
            if self._out is not None:
                self._out.flush()

    def close(self) -> None:
        self.flush()
        if self._own and self._out is not None:
            self._out.close()
        self._out = None
        self._into_file = False
        self._per_node = None
        self._modes()
