"""``lab report``: one self-contained HTML page about a lab run.

The page (``lab/templates/report.html.j2``) needs no network to be read: CSS and SVG
are inline, no script, and captures of up to :data:`EMBED_LIMIT` bytes in all are
embedded as downloadable ``data:`` links (a CI artefact keeps its pcaps). It shows the
topology, every node's last state, per-client state timelines with T1/T2/expiry, the
ladder of all exchanges (and one per client), the leases as clients and servers saw
them, drops with their reasons, errors, and the captures checked against the ladder.
"""

from __future__ import annotations

import base64
import datetime as _dt
import re
from pathlib import Path
from typing import Any

import jinja2

from . import ladder as L
from .captures import check_captures
from .rundata import Run, ordered_nodes
from .timeline import CYCLE_ACTIONS, STATE_FILL, client_timelines, timeline_svg
from .topology import topology_svg

#: Captures embedded in the page, in all (bytes); bigger ones are linked by path.
EMBED_LIMIT = 8 * 1024 * 1024
#: The full ladder is drawn up to this many rows (per-client ladders always are).
FULL_LADDER_ROWS = 600
PER_CLIENT_LADDERS = 60
TIMELINE_CLIENTS = 200

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
_DUID_RE = re.compile(r"\bduid ([0-9a-fA-F]{8,})")


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["secs"] = _secs
    return env


def _secs(v: Any, digits: int = 1) -> str:
    if v is None or v == "":
        return ""
    if not isinstance(v, (int, float)):
        return str(v)
    if v == 0xFFFFFFFF:
        return "∞"
    return f"{v:.{digits}f}"


def _short(duid: str | None) -> str:
    if not duid:
        return ""
    return duid if len(duid) <= 14 else f"{duid[:6]}…{duid[-6:]}"


def name_maps(
    events: list[dict[str, Any]], roles: dict[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """(server DUID → node, client DUID → node) from what the trace tells: our daemons
    name their DUID when they start, servers' lease events name the client's DUID and
    the address the client then reports as bound."""
    servers: dict[str, str] = {}
    clients: dict[str, str] = {}
    for e in events:
        if e.get("event") == "state" and e.get("to"):
            m = _DUID_RE.search(str(e.get("reason", "")))
            if m:
                (servers if roles.get(e["node"]) == "server" else clients)[m.group(1).lower()] = e[
                    "node"
                ]
    held: dict[str, str] = {}  # address/prefix → client node
    for e in events:
        if e.get("event") == "lease" and roles.get(e["node"]) == "client":
            v = e.get("address") or e.get("prefix")
            if v:
                held.setdefault(str(v), e["node"])
    for e in events:
        if e.get("event") == "lease" and roles.get(e["node"]) == "server" and e.get("client"):
            v = str(e.get("address") or e.get("prefix") or "")
            if v in held:
                clients.setdefault(str(e["client"]).lower(), held[v])
    offered: dict[str, str] = {}  # address/prefix → the server that sent it (first)
    for e in events:
        if e.get("event") == "lease" and roles.get(e["node"]) == "server":
            offered.setdefault(str(e.get("address") or e.get("prefix") or ""), e["node"])
        elif e.get("event") == "send" and roles.get(e["node"]) == "server":
            m = e.get("inner") if isinstance(e.get("inner"), dict) else e
            if m.get("msg") == "REPLY":
                for ia in m.get("ia") or ():
                    for token in str(ia).split()[1:]:
                        offered.setdefault(token, e["node"])
    for e in events:
        if e.get("event") == "lease" and roles.get(e["node"]) == "client" and e.get("server"):
            v = str(e.get("address") or e.get("prefix") or "")
            if v in offered:
                servers.setdefault(str(e["server"]).lower(), offered[v])
    return servers, clients


def drop_rows(run: Run) -> list[dict[str, Any]]:
    """Drops, each with the message it dropped when a receive just before names it."""
    last_recv: dict[str, dict[str, Any]] = {}
    rows = []
    for e in run.events:
        if e.get("event") == "recv":
            last_recv[e["node"]] = e
        elif e.get("event") == "drop":
            r = last_recv.get(e["node"])
            exchange, peer = "", str(e.get("peer") or e.get("client") or "")
            if r is not None and e["t"] - r["t"] <= 0.1:
                exchange = _msg_text(r).rsplit(" at ", 1)[0]
                peer = peer or str(r.get("peer") or "")
            rows.append({"t": e["t"], "node": e["node"], "msg": e.get("msg") or "",
                         "reason": e.get("reason", ""), "exchange": exchange, "peer": peer})  # fmt: skip
    return rows


def node_rows(run: Run, roles: dict[str, str]) -> list[dict[str, Any]]:
    last_state: dict[str, dict[str, Any]] = {}
    last_out: dict[str, dict[str, Any]] = {}
    last_in: dict[str, dict[str, Any]] = {}
    counts: dict[str, int] = {}
    own: dict[str, set[str]] = {}
    for e in run.events:
        n = e["node"]
        counts[n] = counts.get(n, 0) + 1
        if e.get("event") == "state" and e.get("to"):
            last_state[n] = e
        elif e.get("event") == "send":
            last_out[n] = e
            if e.get("xid"):
                own.setdefault(n, set()).add(str(e["xid"]))
        elif e.get("event") == "recv" and not L.overheard(
            e, roles.get(n, "other"), own.get(n, set())
        ):
            last_in[n] = e
    status_nodes = (run.status or {}).get("nodes") or {}
    rows = []
    for n in ordered_nodes({**{k: roles.get(k, "other") for k in run.kinds}, **roles}):
        st = last_state.get(n, {})
        live = status_nodes.get(n, {})
        since = st.get("t")
        rows.append({
            "node": n,
            "kind": run.kinds.get(n, roles.get(n, "")),
            "role": roles.get(n, "other"),
            "state": live.get("state") or st.get("to", ""),
            "seed": live.get("seed") or st.get("seed", ""),
            "since": since,
            "in_state": None if since is None else (run.t_end - since) * run.time_scale,
            "reason": st.get("reason", ""),
            "last_out": _msg_text(last_out.get(n)),
            "last_in": _msg_text(last_in.get(n)),
            "events": counts.get(n, 0),
            "fill": STATE_FILL.get(live.get("state") or st.get("to", ""), "#ffffff"),
        })  # fmt: skip
    return rows


def _msg_text(e: dict[str, Any] | None) -> str:
    if not e:
        return ""
    inner = e.get("inner") if isinstance(e.get("inner"), dict) else None
    core = inner or e
    label = f"{e['msg']}({core.get('msg')})" if inner else str(e.get("msg"))
    return f"{label} {core.get('xid') or ''} at {e['t']:.3f}".replace("  ", " ")


def lease_rows(run: Run, roles: dict[str, str], servers: dict[str, str]) -> list[dict[str, Any]]:
    last: dict[tuple[str, str], dict[str, Any]] = {}
    first: dict[tuple[str, str], float] = {}
    for e in run.events:
        if e.get("event") != "lease" or roles.get(e["node"]) != "client":
            continue
        v = str(e.get("address") or e.get("prefix") or "")
        key = (e["node"], v)
        last[key] = e
        first.setdefault(key, e["t"])
    order = {n: k for k, n in enumerate(ordered_nodes(roles))}
    rows = []
    for (node, value), e in sorted(last.items(), key=lambda kv: (order.get(kv[0][0], 0), kv[0][1])):
        action = e.get("action")
        left = None
        valid = e.get("valid")
        if action in CYCLE_ACTIONS and isinstance(valid, (int, float)):
            left = None if valid == 0xFFFFFFFF else valid - (run.t_end - e["t"]) * run.time_scale
        sid = str(e.get("server") or "").lower()
        rows.append({
            "node": node, "type": "address" if e.get("address") else "prefix", "value": value,
            "server": servers.get(sid) or _short(sid), "server_duid": sid,
            "action": action, "at": e["t"], "since": first[(node, value)],
            "preferred": e.get("preferred"), "valid": valid, "t1": e.get("t1"), "t2": e.get("t2"),
            "valid_left": left,
            "active": action in CYCLE_ACTIONS and (left is None or left > 0),
        })  # fmt: skip
    return rows


def binding_rows(run: Run, roles: dict[str, str], clients: dict[str, str]) -> list[dict[str, Any]]:
    last: dict[tuple[str, str], dict[str, Any]] = {}
    for e in run.events:
        if e.get("event") == "lease" and roles.get(e["node"]) == "server":
            last[(e["node"], str(e.get("address") or e.get("prefix") or ""))] = e
    rows = []
    for (server, value), e in sorted(last.items()):
        cid = str(e.get("client") or "").lower()
        rows.append({"server": server, "value": value, "client": clients.get(cid) or _short(cid),
                     "client_duid": cid, "action": e.get("action"), "at": e["t"],
                     "valid": e.get("valid"), "iaid": e.get("iaid")})  # fmt: skip
    return rows


def _kb(n: int) -> str:
    return f"{n / 1024:.1f} KiB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MiB"


def capture_rows(run: Run, ladder: L.Ladder, out_path: Path | None) -> list[dict[str, Any]]:
    rows = []
    budget = EMBED_LIMIT
    for chk in check_captures(run.pcaps, ladder, run.epoch):
        size = chk.path.stat().st_size if chk.path.exists() else 0
        href, embedded = chk.path.resolve().as_uri(), False
        if size <= budget:
            data = base64.b64encode(chk.path.read_bytes()).decode()
            href, embedded = f"data:application/vnd.tcpdump.pcap;base64,{data}", True
            budget -= size
        rows.append({"name": chk.path.name, "node": chk.node, "size": _kb(size), "href": href,
                     "embedded": embedded, "messages": chk.messages, "matched": chk.matched,
                     "undecodable": chk.undecodable, "missing": chk.missing[:20],
                     "missing_count": len(chk.missing), "error": chk.error,
                     "types": ", ".join(f"{k} ×{v}" for k, v in sorted(chk.types.items())),
                     "ok": chk.ok})  # fmt: skip
    return rows


def build_context(run: Run, out_path: Path | None = None, *, origin: str = "") -> dict[str, Any]:
    roles = run.roles
    servers, clients = name_maps(run.events, roles)
    ladder = L.build_ladder(run.events, roles=roles)
    client_names = [n for n in ordered_nodes(roles) if roles[n] == "client"]
    timelines = client_timelines(
        run.events, client_names[:TIMELINE_CLIENTS], run.time_scale, run.t_end
    )
    topo_svg, topo_origin = topology_svg(run)
    full = len(ladder.rows) <= FULL_LADDER_ROWS
    per_client = []
    for c in client_names[:PER_CLIENT_LADDERS]:
        sub = L.focus(ladder, c)
        if sub.arrows:
            per_client.append({"node": c, "svg": L.to_svg(sub, ident=f"ladder-{c}"),
                               "arrows": len(sub.arrows)})  # fmt: skip
    drops = drop_rows(run)
    errors = [e for e in run.events if e.get("event") == "error"]
    kinds_count: dict[str, int] = {}
    for e in run.events:
        kinds_count[e.get("event", "?")] = kinds_count.get(e.get("event", "?"), 0) + 1
    captures = capture_rows(run, ladder, out_path)
    return {
        "title": f"lab {run.name}",
        "run": run,
        "origin": origin or (str(run.folder) if run.folder else ""),
        "generated": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "live": run.status is not None
        and run.folder is not None
        and (run.folder / "control.sock").exists(),
        "t_end": run.t_end,
        "time_scale": run.time_scale,
        "event_count": len(run.events),
        "event_kinds": sorted(kinds_count.items()),
        "nodes": node_rows(run, roles),
        "topology_svg": topo_svg,
        "topology_origin": topo_origin,
        "timeline_svg": timeline_svg(timelines, run.t_end, time_scale=run.time_scale),
        "clients": len(client_names),
        "timeline_limit": TIMELINE_CLIENTS,
        "per_client_limit": PER_CLIENT_LADDERS,
        "ladder_svg": L.to_svg(ladder, ident="ladder-all") if full and ladder.rows else "",
        "ladder_rows": len(ladder.rows),
        "ladder_arrows": len(ladder.arrows),
        "ladder_lost": sum(1 for a in ladder.arrows if a.lost),
        "ladder_mermaid": L.to_mermaid(ladder) if full else "",
        "ladder_text": L.to_text(ladder) if full else "",
        "ladder_limit": FULL_LADDER_ROWS,
        "per_client": per_client,
        "leases": lease_rows(run, roles, servers),
        "bindings": binding_rows(run, roles, clients),
        "drops": drops,
        "errors": errors,
        "captures": captures,
        "problems": run.problems,
        "state_fill": STATE_FILL,
    }


def render_report(run: Run, out_path: Path | None = None, *, origin: str = "") -> str:
    return (
        _env().get_template("report.html.j2").render(**build_context(run, out_path, origin=origin))
    )


def write_report(run: Run, out_path: str | Path, *, origin: str = "") -> Path:
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    html = render_report(run, out, origin=origin)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out)
    return out
