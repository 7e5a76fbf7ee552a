"""Per-client state timelines: a strip of states over time (Gantt-like) with the T1, T2
and expiry each Reply scheduled, and lease events (bound, renewed, expired…) as ticks.

The x axis is lab time (``t``, wall seconds since the lab's start). Lease lifetimes
are protocol seconds: with a time scale N they are divided by N to land on the axis.
Each Reply starts a lease cycle; the T1/T2/expiry it scheduled are drawn until the
next cycle replaces them, and those past the end of the trace are listed as "in …".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from . import svg as S
from .rundata import natural_key

INFINITY = 0xFFFFFFFF

STATE_FILL = {
    "INIT": "#e9ecef",
    "SOLICIT": "#ffe08a",
    "REQUEST": "#ffb870",
    "BOUND": "#75d39a",
    "RENEW": "#8ec5ff",
    "REBIND": "#c29ffa",
    "CONFIRM": "#a5d8dd",
    "DECLINE": "#f1919a",
    "RELEASE": "#ced4da",
    "INFORMATION-REQUEST": "#9eeaf9",
    "STOPPED": "#adb5bd",
}
MARK_COLOUR = {"T1": "#0b5ed7", "T2": "#6f42c1", "expiry": "#b02a37"}
LEASE_COLOUR = {"bound": "#146c43", "renewed": "#0b5ed7", "rebound": "#6f42c1",
                "expired": "#b02a37", "released": "#495057", "declined": "#b02a37",
                "removed": "#495057", "reclaimed": "#495057"}  # fmt: skip
CYCLE_ACTIONS = frozenset({"bound", "renewed", "rebound"})


@dataclass
class Segment:
    start: float
    end: float
    state: str
    seed: str = ""
    reason: str = ""


@dataclass
class Marker:
    t: float
    kind: str  # T1 | T2 | expiry | a lease action
    text: str = ""


@dataclass
class ClientTimeline:
    node: str
    segments: list[Segment] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    upcoming: list[Marker] = field(default_factory=list)  # scheduled past the end


def _life(v: Any) -> float | None:
    if not isinstance(v, (int, float)) or v <= 0 or v >= INFINITY:
        return None
    return float(v)


def client_timelines(events: list[dict[str, Any]], clients: list[str], time_scale: float = 1.0,
                     t_end: float | None = None) -> list[ClientTimeline]:  # fmt: skip
    """One timeline per client in ``clients`` (in that order)."""
    scale = time_scale or 1.0
    end = t_end if t_end is not None else (events[-1]["t"] if events else 0.0)
    by_node: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        by_node.setdefault(e.get("node"), []).append(e)  # type: ignore[arg-type]
    out = []
    for node in clients:
        mine = by_node.get(node, [])
        tl = ClientTimeline(node)
        for e in mine:
            if e.get("event") == "state" and e.get("to"):
                if tl.segments:
                    tl.segments[-1].end = e["t"]
                    if tl.segments[-1].state == e["to"]:
                        continue  # INIT → INIT: the same strip goes on
                tl.segments.append(
                    Segment(e["t"], end, e["to"], e.get("seed", ""), e.get("reason", ""))
                )
        if tl.segments:
            tl.segments[-1].end = max(end, tl.segments[-1].start)
        # lease cycles: a Reply's lease events come within a few milliseconds
        cycles: list[tuple[float, list[dict[str, Any]]]] = []
        for e in mine:
            if e.get("event") != "lease":
                continue
            action = e.get("action")
            tl.markers.append(
                Marker(
                    e["t"],
                    str(action),
                    f"{action} {e.get('address') or e.get('prefix') or ''}".strip(),
                )
            )
            if action in CYCLE_ACTIONS:
                if cycles and e["t"] - cycles[-1][0] < 0.05:
                    cycles[-1][1].append(e)
                else:
                    cycles.append((e["t"], [e]))
        for k, (t0, group) in enumerate(cycles):
            limit = cycles[k + 1][0] if k + 1 < len(cycles) else math.inf
            sched: list[Marker] = []
            for kind, field_ in (("T1", "t1"), ("T2", "t2"), ("expiry", "valid")):
                vals = [v for v in (_life(g.get(field_)) for g in group) if v is not None]
                if vals:
                    sched.append(
                        Marker(
                            t0 + min(vals) / scale,
                            kind,
                            f"{kind} ({min(vals):g} s after the Reply at {t0:.3f})",
                        )
                    )
            for m in sched:
                if m.t <= limit:
                    (tl.markers if m.t <= end else tl.upcoming).append(m)
        tl.markers.sort(key=lambda m: m.t)
        out.append(tl)
    return out


def _nice_step(span: float, target: int = 8) -> float:
    if span <= 0:
        return 1.0
    raw = span / target
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def _fmt_s(v: float) -> str:
    if v >= 7200:
        return f"{v / 3600:.1f} h"
    if v >= 600:
        return f"{v / 60:.1f} min"
    return f"{v:.0f} s" if v >= 10 else f"{v:.1f} s"


def timeline_svg(timelines: list[ClientTimeline], t_end: float, *, time_scale: float = 1.0,
                 label: str = "client state timelines") -> str:  # fmt: skip
    """The strips as one SVG: a row per client, an axis, a legend."""
    left, plot_w, row_h, top = 110, 900, 40, 30
    upcoming_w = 260
    span = max(t_end, 1e-3)
    width = left + plot_w + upcoming_w
    rows = max(1, len(timelines))
    axis_y = top + rows * row_h + 6
    legend_y = axis_y + 40
    height = legend_y + 26

    def x(t: float) -> float:
        return left + plot_w * max(0.0, min(t, span)) / span

    doc = S.Svg(width, height, cls="timeline", label=label)
    doc.rect(0, 0, width, height, fill="#ffffff")
    scale_note = "" if time_scale == 1 else f" (× {time_scale:g} = protocol seconds)"
    doc.text(
        left, 16, f"lab time, seconds since the lab started{scale_note}", size=11, fill="#6c757d"
    )
    after = "scheduled after the end" + ("" if time_scale == 1 else " (protocol s)")
    doc.text(left + plot_w + 12, 16, after, size=11, fill="#6c757d")
    step = _nice_step(span)
    k = 0
    while k * step <= span + 1e-9:
        tx = x(k * step)
        doc.line(tx, top - 2, tx, axis_y, stroke="#e9ecef")
        label = f"{k * step:g}"
        doc.text(tx, axis_y + 14, label, size=10, anchor="middle", fill="#495057")
        k += 1
    doc.line(left, axis_y, left + plot_w, axis_y, stroke="#495057")
    if not timelines:
        doc.text(left + 8, top + 18, "no client in the trace", size=12, fill="#6c757d")
    for i, tl in enumerate(sorted(timelines, key=lambda t: natural_key(t.node))):
        y = top + i * row_h
        doc.text(left - 8, y + 26, tl.node, size=12, anchor="end", weight="bold")
        doc.open_group(cls="strip")
        for seg in tl.segments:
            x0, x1 = x(seg.start), x(seg.end)
            title = f"{tl.node}: {seg.state}" + (f" ({seg.seed})" if seg.seed else "") + \
                f" from {seg.start:.3f} s to {seg.end:.3f} s" + (f" — {seg.reason}" if seg.reason else "")  # fmt: skip
            doc.rect(x0, y + 12, max(x1 - x0, 1.5), 20, fill=STATE_FILL.get(seg.state, "#dee2e6"),
                     stroke="#ffffff", title=title, cls=f"seg state-{seg.state}")  # fmt: skip
            if x1 - x0 > S.text_width(seg.state, 10, mono=False) + 6:
                doc.text((x0 + x1) / 2, y + 26, seg.state, size=10, anchor="middle", fill="#212529")
        doc.close_group()
        last_label = last_tick = -math.inf  # a long run: labels and ticks must not pile up
        for m in tl.markers:
            mx = x(m.t)
            if m.kind in MARK_COLOUR:
                c = MARK_COLOUR[m.kind]
                doc.line(
                    mx,
                    y + 9,
                    mx,
                    y + 35,
                    stroke=c,
                    width=2,
                    dash="3 2",
                    title=f"{tl.node}: {m.text}",
                )
                if mx - last_label >= 26:
                    doc.text(mx + 2, y + 9, m.kind, size=9, fill=c, weight="bold")
                    last_label = mx
            elif mx - last_tick >= 6:
                last_tick = mx
                c = LEASE_COLOUR.get(m.kind, "#495057")
                doc.raw(
                    f'<path d="M{mx:.1f},{y + 33} l-4,6 h8 z" fill="{c}"><title>{S.esc(tl.node + ": " + m.text + f" at {m.t:.3f} s")}</title></path>'
                )
        if tl.upcoming:
            parts = []
            for m in tl.upcoming[:3]:
                parts.append(f"{m.kind} in {_fmt_s((m.t - t_end) * time_scale)}")
            doc.text(left + plot_w + 12, y + 26, ", ".join(parts), size=11, fill="#495057",
                     title="; ".join(m.text for m in tl.upcoming))  # fmt: skip
    # legend
    lx = left
    for state, fill in STATE_FILL.items():
        doc.rect(lx, legend_y - 10, 12, 12, fill=fill, stroke="#adb5bd")
        doc.text(lx + 16, legend_y, state, size=10, fill="#495057")
        lx += 30 + S.text_width(state, 10)
    lx += 10
    for kind, c in MARK_COLOUR.items():
        doc.line(lx, legend_y - 11, lx, legend_y + 2, stroke=c, width=2, dash="3 2")
        doc.text(lx + 5, legend_y, kind, size=10, fill=c)
        lx += 20 + S.text_width(kind, 10)
    doc.raw(f'<path d="M{lx + 4:.1f},{legend_y - 6} l-4,5 h8 z" fill="#146c43"/>')
    doc.text(lx + 12, legend_y, "lease event", size=10, fill="#495057")
    return doc.render()
