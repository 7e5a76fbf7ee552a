"""The frame ``lab watch`` draws: one row per client, relay and server.

Two sources: the supervisor's status (state, leases with remaining preferred/valid
lifetimes, T1/T2 countdowns; DESIGN.md's ``lab status``) and the trace, followed as it
grows (:class:`TraceTail`), for how long each node has been in its state, the last
message it sent and received, and the transitions as they happen (the rows that just
changed are highlighted; the latest transitions are listed under the table).

The frame fits the terminal: no wider than it (columns shrink and are cut with "…"),
no taller (rows that do not fit are counted in a last line). Times are protocol
seconds (the title names the time scale).
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from .ladder import overheard
from .rundata import CLIENT_MSGS, infer_roles, kind_role, natural_key

#: A row stays highlighted this long (wall seconds) after its node changed state.
HIGHLIGHT = 3.0
STATE_STYLE = {
    "BOUND": "bold green", "SOLICIT": "bold yellow", "REQUEST": "bold dark_orange",
    "RENEW": "bold cyan", "REBIND": "bold magenta", "CONFIRM": "bold cyan",
    "DECLINE": "bold red", "RELEASE": "bold", "STOPPED": "dim", "INIT": "dim",
    "INFORMATION-REQUEST": "bold cyan", "LISTEN": "blue", "Listen": "blue", "RELAY": "dark_orange",
}  # fmt: skip


class TraceTail:
    """Follows ``<folder>/traces/*.jsonl``: each :meth:`poll` returns the complete lines
    appended since the last one (files that appear later are picked up)."""

    def __init__(self, folder: Path) -> None:
        self.dir = folder / "traces" if (folder / "traces").is_dir() else folder
        self.offsets: dict[Path, int] = {}

    def poll(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if not self.dir.is_dir():
            return out
        for f in sorted(self.dir.glob("*.jsonl")):
            start = self.offsets.get(f, 0)
            try:
                size = f.stat().st_size
                if size < start:  # truncated or replaced: read it again
                    start = 0
                if size == start:
                    continue
                with open(f, "rb") as fh:
                    fh.seek(start)
                    chunk = fh.read(size - start)
            except OSError:
                continue
            end = chunk.rfind(b"\n") + 1
            self.offsets[f] = start + end
            for line in chunk[:end].splitlines():
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                if isinstance(ev, dict) and isinstance(ev.get("t"), (int, float)):
                    ev.setdefault("node", f.stem)
                    out.append(ev)
        out.sort(key=lambda e: e["t"])
        return out


@dataclass
class NodeActivity:
    state: str = ""
    seed: str = ""
    since: float | None = None  # t of the last state change
    changed: float | None = None  # t of the last change that was a real transition
    last_out: dict[str, Any] | None = None
    last_in: dict[str, Any] | None = None
    cycle: tuple[float, float | None, float | None] | None = None  # (t, T1, T2) of the last Reply
    own_xids: set[str] = field(default_factory=set)


class Activity:
    """What the trace says so far, per node, and the latest transitions."""

    def __init__(self, kinds: dict[str, str] | None = None, keep: int = 50) -> None:
        self.kinds = kinds or {}
        self.nodes: dict[str, NodeActivity] = {}
        self.transitions: deque[dict[str, Any]] = deque(maxlen=keep)
        self.roles: dict[str, str] = {n: kind_role(k) for n, k in self.kinds.items()}
        self.t = 0.0
        self._seen: list[dict[str, Any]] = []  # only until roles are known

    def role(self, node: str) -> str:
        return self.roles.get(node, "other")

    def feed(self, events: list[dict[str, Any]]) -> None:
        if not self.kinds and events:
            self._seen.extend(e for e in events if e.get("event") in ("send", "state", "lease"))
            self.roles = infer_roles(self._seen)
        for e in events:
            n = e.get("node")
            if not isinstance(n, str):
                continue
            self.t = max(self.t, e["t"])
            a = self.nodes.setdefault(n, NodeActivity())
            kind = e.get("event")
            if kind == "state" and e.get("to"):
                if e.get("to") != a.state or a.since is None:
                    a.since = e["t"]
                if e.get("from") and e.get("from") != e.get("to"):
                    a.changed = e["t"]
                    self.transitions.append(e)
                a.state, a.seed = e["to"], e.get("seed", "")
            elif kind == "send":
                a.last_out = e
                if e.get("msg") in CLIENT_MSGS and e.get("xid"):
                    a.own_xids.add(str(e["xid"]))
            elif kind == "recv" and not overheard(e, self.role(n), a.own_xids):
                a.last_in = e
            elif kind == "lease" and e.get("action") in ("bound", "renewed", "rebound"):
                t1, t2 = e.get("t1"), e.get("t2")
                if a.cycle is None or e["t"] - a.cycle[0] > 0.05:
                    a.cycle = (e["t"], t1, t2)


# ---------------------------------------------------------------------------- formatting


def dur(v: float | None) -> str:
    """12.3 → "12s", 4.25 → "4.2s", 303 → "5m03", 7300 → "2h01", None → "∞"/""."""
    if v is None:
        return ""
    neg = v < 0
    v = abs(v)
    if v < 10:
        s = f"{v:.1f}s"
    elif v < 100:
        s = f"{v:.0f}s"
    elif v < 3600:
        s = f"{int(v // 60)}m{int(v % 60):02d}"
    elif v < 86400 * 2:
        s = f"{int(v // 3600)}h{int(v % 3600 // 60):02d}"
    else:
        s = f"{v / 86400:.0f}d"
    return "-" + s if neg else s


def _life(v: Any) -> str:
    if v is None:
        return "∞"
    if not isinstance(v, (int, float)):
        return "?"
    return f"{v:.0f}" if abs(v) < 10000 else dur(v)


def _msg(e: dict[str, Any] | None, *, xid: bool = False) -> str:
    if not e:
        return ""
    inner = e.get("inner") if isinstance(e.get("inner"), dict) else None
    name = str(e.get("msg", "?"))
    if inner:
        name = f"{name.replace('RELAY-', 'R-')}({inner.get('msg')})"
    x = (inner or e).get("xid")
    return f"{name} {x}" if xid and x else name


def _inner_name(e: dict[str, Any] | None) -> str:
    """The client/server message (a relay message's inner one): what a narrow frame shows."""
    if not e:
        return ""
    inner = e.get("inner") if isinstance(e.get("inner"), dict) else None
    return str((inner or e).get("msg", "?"))


@dataclass
class Row:
    node: str
    kind: str
    role: str
    state: str
    seed: str
    in_state: float | None
    leases: list[str]
    lifetimes: list[str]
    timers: str
    last_out: str
    last_in: str
    hot: bool
    error: str = ""
    last_out_t: float = -1.0
    last_in_t: float = -1.0
    last_out_inner: str = ""
    last_in_inner: str = ""

    @property
    def seed_line(self) -> bool:
        """Whether the narrow frame gives the seed label a line under the state."""
        return bool(self.seed) and self.seed.lower() != self.state.lower() and not self.error

    def height(self, wide: bool) -> int:
        return max(1, len(self.leases), 1 if wide or not self.seed_line else 2)


def build_rows(status: dict[str, Any], act: Activity, *, show_all: bool = False,
               nodes: list[str] | None = None) -> list[Row]:  # fmt: skip
    """Rows from the supervisor's status merged with the trace's activity."""
    now = float(status.get("t") or act.t)
    scale = float(status.get("time_scale") or 1.0)
    rows = []
    st_nodes: dict[str, dict[str, Any]] = status.get("nodes") or {}
    names = list(st_nodes) or list(act.nodes)
    for name in names:
        st = st_nodes.get(name, {})
        kind = st.get("kind") or act.kinds.get(name, "")
        role = kind_role(kind) if kind else act.role(name)
        if nodes and name not in nodes:
            continue
        if role == "other" and not show_all:
            continue
        a = act.nodes.get(name, NodeActivity())
        state = st.get("state") or a.state or st.get("process", "")
        seed = st.get("seed") or a.seed
        leases, lifetimes = [], []
        for x in st.get("leases") or []:
            leases.append(str(x.get("address") or x.get("prefix") or "?"))
            lifetimes.append(f"{_life(x.get('preferred_left'))}/{_life(x.get('valid_left'))}")
        if "bindings" in st:
            leases.append(f"{st['bindings']} bindings")
            lifetimes.append("")
        timers = ""
        if st.get("t1_left") is not None or st.get("t2_left") is not None:
            timers = f"{_life(st.get('t1_left'))}/{_life(st.get('t2_left'))}"
        elif role == "client" and state == "BOUND" and a.cycle is not None:
            t0, t1, t2 = a.cycle
            el = (now - t0) * scale
            if t1 and t2:
                timers = f"{_life(t1 - el)}/{_life(t2 - el)}"
        in_state = None if a.since is None else max(0.0, now - a.since) * scale
        rows.append(Row(name, kind, role, state, seed, in_state, leases, lifetimes, timers,
                        _msg(a.last_out, xid=True), _msg(a.last_in, xid=True),
                        a.changed is not None and now - a.changed <= HIGHLIGHT,
                        error=str(st.get("error") or ""),
                        last_out_t=a.last_out["t"] if a.last_out else -1.0,
                        last_in_t=a.last_in["t"] if a.last_in else -1.0,
                        last_out_inner=_inner_name(a.last_out), last_in_inner=_inner_name(a.last_in)))  # fmt: skip
    order = {"client": 0, "relay": 1, "server": 2}
    rows.sort(key=lambda r: (order.get(r.role, 3), natural_key(r.node)))
    return rows


#: (header, minimum width, shrink order: lower shrinks first, justify)
COLUMNS = [("node", 4, 5, "left"), ("state / seed", 7, 1, "left"), ("in", 3, 7, "right"),
           ("lease", 12, 2, "left"), ("pref/val", 7, 6, "left"), ("T1/T2", 5, 3, "left"),
           ("last", 6, 0, "left")]  # fmt: skip
COLUMNS_WIDE = [("node", 4, 5, "left"), ("state", 5, 4, "left"), ("seed", 5, 0, "left"),
                ("in", 3, 7, "right"), ("lease", 12, 2, "left"), ("pref/val", 7, 6, "left"),
                ("T1/T2", 5, 3, "left"), ("last sent", 8, 1, "left"), ("last received", 8, 1, "left")]  # fmt: skip


def fit_widths(
    cols: list[tuple[str, int, int, str]], data: list[list[str]], width: int
) -> list[int]:
    """Each column's natural width (its longest line), shrunk in the columns' order
    until the table (one space between columns) fits ``width``."""
    nat = []
    for i, (head, minimum, _, _) in enumerate(cols):
        longest = max([len(line) for row in data for line in row[i].split("\n")] or [0])
        nat.append(max(len(head), longest, 1 if minimum else 0))
    widths = list(nat)
    excess = sum(widths) + len(widths) - 1 - width
    for i in sorted(range(len(cols)), key=lambda k: cols[k][2]):
        if excess <= 0:
            break
        cut = min(excess, max(0, widths[i] - cols[i][1]))
        widths[i] -= cut
        excess -= cut
    k = len(widths) - 1
    while excess > 0 and k >= 0:  # a very narrow terminal: below the minimums, last first
        cut = min(excess, widths[k] - 1)
        widths[k] -= cut
        excess -= cut
        k -= 1
    return widths


def render(status: dict[str, Any], act: Activity, *, width: int = 80, height: int | None = 24,
           show_all: bool = False, nodes: list[str] | None = None, note: str = "") -> RenderableType:  # fmt: skip
    """One frame, at most ``width`` columns and ``height`` lines (None: no limit)."""
    rows = build_rows(status, act, show_all=show_all, nodes=nodes)
    now = float(status.get("t") or act.t)
    scale = float(status.get("time_scale") or 1.0)
    clients = [r for r in rows if r.role == "client"]
    bound = sum(1 for r in clients if r.state == "BOUND")
    title = Text.assemble(
        (f"lab {status.get('lab') or '?'}", "bold"),
        f"  t={now:.1f}s",
        f"  ×{scale:g}" if scale != 1 else "",
        "  " + (f"{bound}/{len(clients)} clients bound" if clients else f"{len(rows)} nodes"),
        (f"  {note}", "dim") if note else "",
    )
    title.truncate(width, overflow="ellipsis")
    wide = width >= 120
    budget = None if height is None else max(1, height - 3)  # title, header, a last line
    shown_rows: list[Row] = []
    used = 0
    for r in rows:
        if budget is not None and used + r.height(wide) > budget:
            break
        used += r.height(wide)
        shown_rows.append(r)
    shown = len(shown_rows)
    data: list[list[str]] = []
    for r in shown_rows:
        state = f"{r.state or 'failed'}: {r.error}" if r.error else (r.state or "-")
        cells = [r.node, state, r.seed, dur(r.in_state), "\n".join(r.leases),
                 "\n".join(r.lifetimes), r.timers]  # fmt: skip
        if wide:
            cells += [r.last_out, r.last_in]
        else:
            cells[1:3] = [state + (f"\n{r.seed}" if r.seed_line else "")]
            out = f"▶{r.last_out_inner}" if r.last_out else ""
            inn = f"◀{r.last_in_inner}" if r.last_in else ""
            if r.height(wide) >= 2:
                cells.append("\n".join(x for x in (out, inn) if x))
            else:
                cells.append(out if r.last_out_t >= r.last_in_t else inn)
        data.append(cells)
    cols = COLUMNS_WIDE if wide else COLUMNS
    widths = fit_widths(cols, data, width)
    t = Table(box=None, padding=(0, 1, 0, 0), pad_edge=False, show_edge=False, expand=False,
              header_style="bold", collapse_padding=True)  # fmt: skip
    for (name, _, _, justify), w in zip(cols, widths, strict=True):
        t.add_column(name, width=w, no_wrap=True, overflow="ellipsis", justify=justify)
    for r, cells in zip(shown_rows, data, strict=True):
        styled: list[Text] = [Text(c) for c in cells]
        styled[0].stylize("bold")
        n = len(r.state or "-") if not r.error else len(styled[1])
        styled[1].stylize("bold red" if r.error else STATE_STYLE.get(r.state, ""), 0, n)
        if not wide:
            styled[1].stylize("dim", n)
        t.add_row(*styled, style="reverse" if r.hot else None)
    parts: list[RenderableType] = [title, t]
    lines_left = None if height is None else height - 2 - used
    if shown < len(rows):
        parts.append(Text(f"… {len(rows) - shown} more nodes (a taller terminal, or --node NAME)",
                          style="dim", overflow="ellipsis", no_wrap=True))  # fmt: skip
        lines_left = 0
    recent = [e for e in act.transitions if not nodes or e.get("node") in nodes]
    if recent and (lines_left is None or lines_left >= 2):
        keep = len(recent) if lines_left is None else lines_left - 1
        parts.append(Text("recent transitions", style="bold dim"))
        for e in list(recent)[-keep:] if keep > 0 else []:
            hot = now - e["t"] <= HIGHLIGHT
            line = Text.assemble(
                (f"{e['t']:8.1f}s ", "dim"), (f"{e['node']} ", "bold"),
                f"{e.get('from')} → ", (str(e.get("to")), STATE_STYLE.get(str(e.get("to")), "")),
                f" ({e.get('seed')})" if e.get("seed") else "",
                (f" {e.get('reason')}", "dim") if e.get("reason") else "",
                style="reverse" if hot else "",
            )  # fmt: skip
            line.no_wrap = True
            line.overflow = "ellipsis"
            line.truncate(width, overflow="ellipsis")
            parts.append(line)
    return Group(*parts)


def frame_text(status: dict[str, Any], act: Activity, *, width: int = 80, height: int | None = 24,
               **kw: Any) -> str:  # fmt: skip
    """The frame as plain text (what a test or a log keeps)."""
    from rich.console import Console

    con = Console(width=width, record=True, file=open("/dev/null", "w"), color_system=None,  # noqa: SIM115
                  emoji=False, highlight=False)  # fmt: skip
    con.print(render(status, act, width=width, height=height, **kw))
    con.file.close()
    return con.export_text()


__all__ = ["Activity", "TraceTail", "build_rows", "dur", "escape", "frame_text", "render"]
