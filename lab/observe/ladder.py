"""Ladder (message sequence) diagrams from the trace alone.

:func:`build_ladder` turns a list of trace events into a :class:`Ladder`: one lane per
node (clients, then relays, then servers), arrows for messages, notes on the lifelines
for state changes, leases, drops and errors. It is pure: no files, no clock.

How a message becomes an arrow: every ``recv`` is paired with the ``send`` of another
node that carries the same innermost message (type, transaction id, IA summary) — a
Relay-forward's ``inner`` is its client message — preferring, in this order, the sender
whose address the receiver saw (addresses are learnt from the unambiguous pairs), the
same wire form (a relay's Relay-reply to a client becomes an Advertise/Reply), a send
before the receive, and the latest such send (a retransmission reuses its xid). A
unicast send is received once; a multicast send may be received by several nodes. A
send nobody received is drawn as lost; a receive without a sender in the trace comes
from the ``?`` lane. A client's packet socket overhears other clients' multicast (real
peers are observed that way): such receives are not arrows.

Renderers: :func:`to_text` (a terminal ladder, labels to the right), :func:`to_mermaid`
(``sequenceDiagram``) and :func:`to_svg` (drawn directly, no network, no JavaScript).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from . import svg as S
from .rundata import CLIENT_MSGS, RELAY_MSGS, ROLE_ORDER, SERVER_MSGS, infer_roles, natural_key

UNKNOWN = "?"
#: A receive may be stamped this much before its send (clocks of different processes).
SKEW = 0.05
#: A receive is paired only with sends at most this many seconds older.
MAX_AGE = 600.0

Key = tuple[Any, ...]


@dataclass(frozen=True)
class Lane:
    name: str
    role: str  # client | relay | server | other | unknown


@dataclass
class Arrow:
    t: float  # when it was sent (or received, when the sender is unknown)
    src: str  # lane name (UNKNOWN when no send is in the trace)
    dst: str | None  # None: no receiver in the trace
    msg: str  # the message on the wire: RELAY-FORW, ADVERTISE…
    xid: str | None  # the (innermost) transaction id
    inner: str | None = None  # the client/server message a relay message carries
    hops: int = 0
    ia: tuple[str, ...] = ()
    status: str | None = None
    rapid_commit: bool = False
    t_recv: float | None = None
    lost: bool = False  # sent, not received by any traced node
    seq: int = 0  # position of its event in the trace (stable ordering)

    @property
    def label(self) -> str:
        """``SOLICIT 48892a`` or ``RELAY-FORW(SOLICIT 48892a)``."""
        core = f"{self.inner or self.msg}" + (f" {self.xid}" if self.xid else "")
        return f"{self.msg}({core})" if self.inner else core

    @property
    def detail(self) -> str:
        """The IA summary (and status, Rapid Commit, what happened to it)."""
        parts = [", ".join(self.ia)] if self.ia else []
        if self.status:
            parts.append(self.status)
        if self.rapid_commit:
            parts.append("rapid commit")
        if self.lost:
            parts.append("not received" if self.dst else "no receiver in the trace")
        if self.src == UNKNOWN:
            parts.append("sender not in the trace")
        return " · ".join(parts)

    @property
    def direction(self) -> str:
        """``up`` (towards servers) for client messages and Relay-forward, else ``down``."""
        return (
            "up" if (self.inner or self.msg) in CLIENT_MSGS and self.msg != "RELAY-REPL" else "down"
        )


@dataclass
class Note:
    t: float
    node: str
    kind: str  # state | lease | drop | error
    text: str  # short: drawn on the lifeline
    detail: str = ""  # longer: beside it
    xid: str | None = None  # the exchange it belongs to (a drop right after a receive)
    seq: int = 0


@dataclass
class Ladder:
    lanes: list[Lane]
    rows: list[Arrow | Note] = field(default_factory=list)

    @property
    def arrows(self) -> list[Arrow]:
        return [r for r in self.rows if isinstance(r, Arrow)]

    @property
    def notes(self) -> list[Note]:
        return [r for r in self.rows if isinstance(r, Note)]


# ---------------------------------------------------------------------------- building


def _innermost(e: dict[str, Any]) -> dict[str, Any]:
    inner = e.get("inner")
    return inner if e.get("msg") in RELAY_MSGS and isinstance(inner, dict) else e


def _key(e: dict[str, Any]) -> Key:
    m = _innermost(e)
    if m is e and e.get("msg") in RELAY_MSGS:  # a relay message without its inner summary
        return (e.get("msg"), None, ())
    return (m.get("msg"), m.get("xid"), tuple(m.get("ia") or ()))


def _hops(e: dict[str, Any]) -> int:
    return int(e.get("hops") or 0) if e.get("msg") in RELAY_MSGS else 0


def _peer(e: dict[str, Any]) -> str:
    return str(e.get("peer") or e.get("to") or "")


def _multicast(addr: str) -> bool:
    return addr.lower().startswith("ff")


@dataclass
class _Send:
    i: int
    e: dict[str, Any]
    key: Key
    consumed: bool = False
    matched: bool = False

    @property
    def node(self) -> str:
        return self.e["node"]

    @property
    def t(self) -> float:
        return self.e["t"]

    @property
    def unicast(self) -> bool:
        p = _peer(self.e)
        return bool(p) and not _multicast(p)


def overheard(e: dict[str, Any], role: str, own_xids: set[str]) -> bool:
    """A receive that is no message to this node: a client's capture of another
    client's multicast, or of a reply to someone else; a server's of a reply."""
    m = _innermost(e)
    msg = m.get("msg")
    if role == "client":
        if msg in CLIENT_MSGS or e.get("msg") in RELAY_MSGS:
            return True
        return msg in ("ADVERTISE", "REPLY") and m.get("xid") not in own_xids
    if role == "server":
        return e.get("msg") == "RELAY-REPL" or msg in SERVER_MSGS
    return False


def _form(e: dict[str, Any]) -> dict[str, Any]:
    m = _innermost(e)
    relayed = m is not e
    return {
        "msg": e.get("msg", "?"),
        "xid": m.get("xid"),
        "inner": m.get("msg") if relayed else None,
        "hops": _hops(e),
        "ia": tuple(m.get("ia") or ()),
        "status": m.get("status"),
        "rapid_commit": bool(m.get("rapid_commit")),
    }


def _state_note(e: dict[str, Any], i: int) -> Note | None:
    to = e.get("to")
    if not to:
        return None  # a server's handling of one message: the arrows show it
    frm = e.get("from")
    text = to if not frm or frm == to else f"{frm} → {to}"
    seed = e.get("seed")
    reason = e.get("reason") or ""
    detail = f"({seed})" if seed and seed != to else ""
    if reason:
        detail = f"{detail} {reason}".strip()
    return Note(e["t"], e["node"], "state", text, detail, seq=i)


def _life(v: Any) -> str:
    return "∞" if v == 0xFFFFFFFF else f"{v:g}"


def _lease_note(e: dict[str, Any], i: int) -> Note:
    what = e.get("address") or e.get("prefix") or ""
    text = f"{e.get('action')} {what}".strip()
    bits = []
    if "preferred" in e or "valid" in e:
        bits.append(f"{_life(e.get('preferred', '?'))}/{_life(e.get('valid', '?'))} s")
    if e.get("t1") or e.get("t2"):
        bits.append(f"T1 {e.get('t1', '?')} s, T2 {e.get('t2', '?')} s")
    return Note(e["t"], e["node"], "lease", text, ", ".join(bits), seq=i)


def build_ladder(
    events: Iterable[dict[str, Any]],
    *,
    roles: dict[str, str] | None = None,
    kinds: dict[str, str] | None = None,
    node: str | Iterable[str] | None = None,
    server_leases: bool = False,
) -> Ladder:
    """The ladder of ``events`` (any order; sorted by ``t``). ``roles`` (node → client,
    relay, server, other) or ``kinds`` (node → topology kind) order the lanes; without
    them roles are read from the trace. ``node`` keeps only that node's exchanges (the
    relay and server legs of its transactions included). ``server_leases`` also notes
    the leases servers commit."""
    evs = sorted(
        (e for e in events if isinstance(e.get("t"), (int, float)) and isinstance(e.get("node"), str)),
        key=lambda e: (e["t"], e["node"]),  # ties: by node, each node's own order kept
    )  # fmt: skip
    roles = dict(roles) if roles else infer_roles(evs, kinds)
    for e in evs:
        roles.setdefault(e["node"], "other")

    own_xids: dict[str, set[str]] = {}
    for e in evs:
        if e.get("event") == "send" and e.get("msg") in CLIENT_MSGS and e.get("xid"):
            own_xids.setdefault(e["node"], set()).add(str(e["xid"]))

    sends: list[_Send] = []
    recvs: list[tuple[int, dict[str, Any], Key]] = []
    for i, e in enumerate(evs):
        kind = e.get("event")
        if kind == "send" and e.get("msg"):
            sends.append(_Send(i, e, _key(e)))
        elif (kind == "recv" and e.get("msg")
              and not overheard(e, roles[e["node"]], own_xids.get(e["node"], set()))):  # fmt: skip
            recvs.append((i, e, _key(e)))
    by_key: dict[Key, list[_Send]] = {}
    for s in sends:
        by_key.setdefault(s.key, []).append(s)

    def candidates(r: dict[str, Any], key: Key) -> list[_Send]:
        t = r["t"]
        return [s for s in by_key.get(key, []) if s.node != r["node"]
                and t - MAX_AGE <= s.t <= t + SKEW]  # fmt: skip

    # pass 1: addresses, from receives with exactly one possible sender node
    seen_at: dict[str, Counter[str]] = {}
    for _, r, key in recvs:
        cands = candidates(r, key)
        nodes = {s.node for s in cands}
        if len(nodes) != 1:
            continue
        sender = next(iter(nodes))
        peer = _peer(r)
        if peer and not _multicast(peer):
            seen_at.setdefault(peer, Counter())[sender] += 1
        for s in cands:
            if s.unicast:
                seen_at.setdefault(_peer(s.e), Counter())[r["node"]] += 1
    addr = {a: c.most_common(1)[0][0] for a, c in seen_at.items()}

    # pass 2: pair every receive with its best send
    rows: list[Arrow | Note] = []
    for i, r, key in recvs:
        cands = [s for s in candidates(r, key) if not (s.unicast and s.consumed)]
        peer = _peer(r)

        def score(s: _Send, r: dict[str, Any] = r, peer: str = peer) -> tuple[float, ...]:
            pts = 0.0
            if peer in addr:
                pts += 4 if addr[peer] == s.node else -4
            if s.unicast and _peer(s.e) in addr:
                pts += 2 if addr[_peer(s.e)] == r["node"] else -2
            if (s.e.get("msg"), _hops(s.e)) == (r.get("msg"), _hops(r)):
                pts += 1
            if s.t <= r["t"]:
                pts += 0.5
            return (pts, s.t)

        if cands:
            s = max(cands, key=score)
            s.matched = True
            if s.unicast:
                s.consumed = True
            wire = r if _hops(r) > _hops(s.e) else s.e  # a server logs what it wraps
            rows.append(
                Arrow(t=s.t, src=s.node, dst=r["node"], t_recv=r["t"], seq=s.i, **_form(wire))
            )
        else:
            src = addr.get(peer, UNKNOWN)
            if src == r["node"]:
                src = UNKNOWN
            rows.append(Arrow(t=r["t"], src=src, dst=r["node"], t_recv=r["t"], seq=i, **_form(r)))
    for s in sends:
        if s.matched:
            continue
        dst = addr.get(_peer(s.e)) if s.unicast else None
        rows.append(Arrow(t=s.t, src=s.node, dst=dst if dst != s.node else None, lost=True,
                          seq=s.i, **_form(s.e)))  # fmt: skip

    # notes: state changes, leases, drops (tied to the receive just before), errors
    last_recv: dict[str, tuple[float, str | None]] = {}
    for i, e in enumerate(evs):
        kind, n = e.get("event"), e["node"]
        if kind == "recv":
            last_recv[n] = (e["t"], _innermost(e).get("xid"))
        elif kind == "state":
            note = _state_note(e, i)
            if note is not None:
                rows.append(note)
        elif kind == "lease" and (roles[n] == "client" or server_leases):
            rows.append(_lease_note(e, i))
        elif kind == "drop":
            msg = e.get("msg")
            t_prev, xid = last_recv.get(n, (None, None))
            tied = xid if t_prev is not None and e["t"] - t_prev <= 0.1 else None
            rows.append(Note(e["t"], n, "drop", f"drop {msg}" if msg else "drop",
                             str(e.get("reason", "")), xid=tied, seq=i))  # fmt: skip
        elif kind == "error":
            rows.append(Note(e["t"], n, "error", "error", str(e.get("message", "")), seq=i))
    rows.sort(key=lambda x: (x.t, x.seq))

    used = {r.node for r in rows if isinstance(r, Note)}
    for a in (r for r in rows if isinstance(r, Arrow)):
        used.add(a.src)
        if a.dst:
            used.add(a.dst)
    lanes = _lanes(used, roles)
    ladder = Ladder(lanes, rows)
    return focus(ladder, node) if node else ladder


def _lanes(used: set[str], roles: dict[str, str]) -> list[Lane]:
    def order(n: str) -> tuple[Any, ...]:
        if n == UNKNOWN:
            return (len(ROLE_ORDER) + 1, ())
        r = roles.get(n, "other")
        return (ROLE_ORDER.index(r) if r in ROLE_ORDER else len(ROLE_ORDER), natural_key(n))

    return [Lane(n, "unknown" if n == UNKNOWN else roles.get(n, "other"))
            for n in sorted(used, key=order)]  # fmt: skip


def focus(ladder: Ladder, node: str | Iterable[str]) -> Ladder:
    """Only the exchanges of ``node`` (a name or several): its arrows, every arrow of
    the same transactions (the relay and server legs), its notes and the drops tied to
    those transactions."""
    nodes = {node} if isinstance(node, str) else set(node)
    xids = {a.xid for a in ladder.arrows if nodes & {a.src, a.dst} and a.xid}
    rows: list[Arrow | Note] = []
    for r in ladder.rows:
        if isinstance(r, Arrow):
            if nodes & {r.src, r.dst} or (r.xid and r.xid in xids):
                rows.append(r)
        elif r.node in nodes or (r.xid is not None and r.xid in xids):
            rows.append(r)
    used = set(nodes)
    for r in rows:
        if isinstance(r, Arrow):
            used.update(x for x in (r.src, r.dst) if x)
        else:
            used.add(r.node)
    lanes = [lane for lane in ladder.lanes if lane.name in used]
    return Ladder(lanes, rows)


def arrows_between(ladder: Ladder, a: str, b: str) -> list[Arrow]:
    return [x for x in ladder.arrows if {x.src, x.dst} == {a, b}]


# ---------------------------------------------------------------------------- text

_MARK = {"state": "●", "lease": "◆", "drop": "✗", "error": "!"}


def to_text(ladder: Ladder, *, times: bool = True) -> str:
    """A terminal ladder: lifelines ``│``, arrows ``──▶``/``◀──``, and each row's label
    to the right of the lanes (so labels never collide)."""
    names = [lane.name for lane in ladder.lanes]
    if not names:
        return "(no messages in the trace)\n"
    gap = max(10, max(len(n) for n in names) + 3)
    tcol = 10 if times else 0
    half = gap // 2
    xs = {n: tcol + half + i * gap for i, n in enumerate(names)}
    width = tcol + gap * len(names)

    def canvas() -> list[str]:
        c = [" "] * width
        for x in xs.values():
            c[x] = "│"
        return c

    head = [" "] * width
    if times:
        head[0:5] = list("t (s)")
    for n, x in xs.items():
        start = max(tcol, min(x - len(n) // 2, width - len(n)))
        head[start : start + len(n)] = list(n)
    lines = ["".join(head).rstrip(), "".join(canvas()).rstrip()]
    for r in ladder.rows:
        c = canvas()
        if isinstance(r, Arrow):
            xa = xs[r.src]
            if r.dst is not None:
                xb = xs[r.dst]
                lo, hi = sorted((xa, xb))
                for x in range(lo + 1, hi):
                    c[x] = "┼" if c[x] == "│" else "─"
                head_ch = "✗" if r.lost else ("▶" if xb > xa else "◀")
                c[xb - 1 if xb > xa else xb + 1] = head_ch
            else:  # lost, receiver unknown: a stub in the message's direction
                step = 1 if r.direction == "up" else -1
                if not 0 <= xa + 4 * step < width:
                    step = -step
                for k in range(1, 4):
                    c[xa + k * step] = "─"
                c[xa + 4 * step] = "✗"
            text = f"{r.label}  {r.detail}".rstrip() if r.detail else r.label
        else:
            c[xs[r.node]] = _MARK.get(r.kind, "•")
            text = f"{r.node}: {r.text}" + (f"  {r.detail}" if r.detail else "")
        prefix = f"{r.t:9.3f} " if times else ""
        body = "".join(c)
        lines.append((prefix + body[tcol:] + "  " + text).rstrip())
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- mermaid

_MERMAID_ESC = {";": "#59;", "#": "#35;", "<": "#lt;", ">": "#gt;", "\n": " "}


def _mtext(text: str) -> str:
    return "".join(_MERMAID_ESC.get(ch, ch) for ch in text)


def _mids(names: list[str]) -> dict[str, str]:
    ids: dict[str, str] = {}
    for n in names:
        base = n if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", n) else "n_" + re.sub(r"\W", "_", n)
        if n == UNKNOWN:
            base = "unknown_sender"
        ident, k = base, 1
        while ident in ids.values():
            k += 1
            ident = f"{base}_{k}"
        ids[n] = ident
    return ids


def to_mermaid(ladder: Ladder) -> str:
    """A Mermaid ``sequenceDiagram`` (paste into a Markdown mermaid block)."""
    ids = _mids([lane.name for lane in ladder.lanes])
    out = ["sequenceDiagram"]
    for lane in ladder.lanes:
        shown = "? (not traced)" if lane.name == UNKNOWN else f"{lane.name} ({lane.role})"
        out.append(f"    participant {ids[lane.name]} as {_mtext(shown)}")
    for r in ladder.rows:
        if isinstance(r, Arrow):
            text = _mtext(f"{r.label} · {r.detail}" if r.detail else r.label)
            if r.dst is None:
                out.append(
                    f"    Note {'right' if r.direction == 'up' else 'left'} of {ids[r.src]}: ✗ {text}"
                )
            else:
                arrow = "-x" if r.lost else "->>"
                out.append(f"    {ids[r.src]}{arrow}{ids[r.dst]}: {text}")
        else:
            body = _mtext(f"{_MARK.get(r.kind, '')} {r.text}".strip())
            if r.detail:
                body += "<br/>" + _mtext(r.detail)
            out.append(f"    Note over {ids[r.node]}: {body}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------- svg

ROLE_FILL = {"client": "#d1f2d9", "relay": "#ffe5b4", "server": "#cfe2ff",
             "other": "#e2e3e5", "unknown": "#f8d7da"}  # fmt: skip
NOTE_FILL = {"state": "#fff3cd", "lease": "#d1f2d9", "drop": "#f8d7da", "error": "#f5c2c7"}


def _msg_colour(a: Arrow) -> str:
    if a.lost:
        return "#b02a37"
    m = a.inner or a.msg
    if a.msg in RELAY_MSGS:
        return "#b35c00"
    if m in CLIENT_MSGS:
        return "#0b5ed7"
    if m == "RECONFIGURE":
        return "#6f42c1"
    return "#146c43"


def to_svg(ladder: Ladder, *, ident: str = "ladder", title: str | None = None) -> str:
    """The ladder as a standalone SVG document. ``ident`` prefixes element ids, so
    several ladders can live inline in one HTML page."""
    lanes = ladder.lanes
    pfx = re.sub(r"[^A-Za-z0-9_-]", "_", ident)
    row_h, top, left = 22, 58 if title else 40, 70
    label_w = max([S.text_width(a.label, 11) for a in ladder.arrows] or [60])
    name_w = max([S.text_width(lane.name, 12) for lane in lanes] or [40])
    gap = int(max(110, min(label_w + 24, 170), name_w + 24))  # long labels may overhang
    xs = {lane.name: left + gap // 2 + i * gap for i, lane in enumerate(lanes)}
    detail_x = left + gap * max(1, len(lanes)) + 12
    details = [(r.detail if isinstance(r, Arrow) else f"{r.node}: {r.text}  {r.detail}".strip())
               for r in ladder.rows]  # fmt: skip
    width = detail_x + max([S.text_width(d, 11) for d in details] or [0]) + 16
    height = top + 30 + row_h * len(ladder.rows) + 16
    doc = S.Svg(width, height, cls="ladder", label=title or "ladder diagram")
    doc.raw(
        "<defs>"
        + "".join(
            f'<marker id="{pfx}-head-{k}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
            f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{c}"/></marker>'
            for k, c in (("b", "#0b5ed7"), ("g", "#146c43"), ("o", "#b35c00"), ("r", "#b02a37"), ("p", "#6f42c1"))
        )
        + "</defs>"
    )  # fmt: skip
    doc.rect(0, 0, width, height, fill="#ffffff")
    if title:
        doc.text(8, 20, title, size=14, weight="bold")
    y_head = top - 30
    bottom = height - 10
    for lane in lanes:
        x = xs[lane.name]
        doc.line(x, y_head + 24, x, bottom, stroke="#adb5bd", dash="4 3")
        w = max(name_w + 16, 56)
        doc.rect(
            x - w / 2, y_head, w, 24, fill=ROLE_FILL.get(lane.role, "#eee"), stroke="#495057", rx=4
        )
        doc.text(x, y_head + 16, lane.name, size=12, anchor="middle", weight="bold",
                 title=f"{lane.name} ({lane.role})")  # fmt: skip
    doc.text(8, y_head + 16, "t (s)", size=11, fill="#6c757d")
    heads = {"#0b5ed7": "b", "#146c43": "g", "#b35c00": "o", "#b02a37": "r", "#6f42c1": "p"}
    for k, r in enumerate(ladder.rows):
        y = top + 18 + k * row_h
        doc.text(8, y + 4, f"{r.t:.3f}", size=10, fill="#6c757d", mono=True)
        if isinstance(r, Arrow):
            colour = _msg_colour(r)
            xa = xs[r.src]
            hover = f"{r.label} {r.detail}".strip() + f" — {r.src} → {r.dst or '?'} at {r.t:.3f} s"
            if r.t_recv is not None and r.dst is not None and not r.lost:
                hover += f", received {r.t_recv:.3f} s"
            doc.open_group(cls="arrow", title=hover)
            if r.dst is not None:
                xb = xs[r.dst]
                end = xb - 3 if xb > xa else xb + 3
                doc.line(xa, y, end, y, stroke=colour, width=1.6, dash="5 3" if r.lost else None,
                         marker=None if r.lost else f"url(#{pfx}-head-{heads[colour]})")  # fmt: skip
                if r.lost:
                    doc.text(end, y + 4, "✗", size=13, anchor="middle", fill=colour, weight="bold")
                mid = (xa + xb) / 2
            else:
                step = 1 if r.direction == "up" else -1
                end = xa + step * 40
                doc.line(xa, y, end, y, stroke=colour, width=1.6, dash="5 3")
                doc.text(
                    end + step * 6, y + 4, "✗", size=13, anchor="middle", fill=colour, weight="bold"
                )
                mid = xa + step * 20
            doc.text(
                mid, y - 4, r.label, size=11, anchor="middle", fill=colour, mono=True, halo=True
            )
            doc.close_group()
            if r.detail:
                doc.text(detail_x, y + 4, r.detail, size=11, fill="#212529", mono=True)
        else:
            x = xs[r.node]
            w = S.text_width(r.text, 10) + 12
            doc.open_group(
                cls=f"note note-{r.kind}", title=f"{r.node}: {r.text} {r.detail}".strip()
            )
            doc.rect(
                x - w / 2, y - 9, w, 17, fill=NOTE_FILL.get(r.kind, "#eee"), stroke="#6c757d", rx=8
            )
            doc.text(x, y + 3, r.text, size=10, anchor="middle", mono=True)
            doc.close_group()
            doc.text(detail_x, y + 4, f"{r.node}: {r.text}  {r.detail}".strip(), size=11,
                     fill="#6c757d", mono=True)  # fmt: skip
    return doc.render()


def ladder_for(events: Iterable[dict[str, Any]], fmt: str = "text", **kw: Any) -> str:
    """Convenience: ``build_ladder`` then the renderer for ``fmt`` (text, mermaid, svg)."""
    lad = build_ladder(events, **{k: v for k, v in kw.items() if k in ("roles", "kinds", "node")})
    if fmt == "mermaid":
        return to_mermaid(lad)
    if fmt == "svg":
        return to_svg(lad, **{k: v for k, v in kw.items() if k in ("ident", "title")})
    return to_text(lad)


__all__ = ["UNKNOWN", "Arrow", "Ladder", "Lane", "Note", "build_ladder", "focus", "ladder_for",
           "to_mermaid", "to_svg", "to_text"]  # fmt: skip
