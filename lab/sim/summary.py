"""What a simulation did: per client, per server, per relay, and the links."""

from __future__ import annotations

from collections import Counter
from typing import Any

from .nodes import ClientNode, RelayNode, ServerNode
from .simulator import Simulator

DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def fmt_duration(seconds: float) -> str:
    """3600 → '1h', 90061 → '1d1h1m1s', 0.25 → '0.25s'."""
    if seconds < 60:
        return f"{seconds:g}s"
    out, rest = [], round(seconds)
    for unit in ("w", "d", "h", "m", "s"):
        n, rest = divmod(rest, int(DURATION_UNITS[unit]))
        if n:
            out.append(f"{n}{unit}")
    return "".join(out)


def summarize(sim: Simulator, wall: float | None = None) -> dict[str, Any]:
    clients: dict[str, Any] = {}
    servers: dict[str, Any] = {}
    relays: dict[str, Any] = {}
    for name, n in sim.nodes.items():
        if isinstance(n, ClientNode):
            leases = []
            if n.running and n.engine is not None:
                leases = [x.text() for x in n.engine.leases]
            clients[name] = {
                "state": n.engine.state if n.running and n.engine is not None else "STOPPED",
                "process": n.status,
                "transitions": n.transitions,
                "bound": n.bound,
                "renewals": n.renewals,
                "rebinds": n.rebinds,
                "expiries": n.expiries,
                "starts": n.starts,
                "leases": leases,
                "drops": dict(n.drops),
                "errors": n.errors,
            }
        elif isinstance(n, ServerNode):
            bindings = len(n.engine.table) if n.running else len(n.store.leases)
            servers[name] = {
                "state": "LISTEN" if n.running else "STOPPED",
                "bindings": bindings,
                "leases": dict(n.leases),
                "drops": sum(n.drops.values()),
                "drop_reasons": dict(n.drops.most_common()),
                "commits": n.store.commits,
            }
        elif isinstance(n, RelayNode):
            stats = dict(n.engine.stats) if n.engine is not None else {}
            relays[name] = {
                "state": "LISTEN" if n.running else "STOPPED",
                "forwarded": stats.get("forwarded", 0),
                "replied": stats.get("replied", 0),
                "drops": sum(n.drops.values()),
                "drop_reasons": dict(n.drops.most_common()),
            }
    out: dict[str, Any] = {
        "topology": sim.topology.name,
        "source": sim.source,
        "seed": sim.seed,
        "t": round(sim.now, 6),
        "events": sim.events,
        "trace_lines": sim.trace.lines,
        "clients": clients,
        "servers": servers,
        "relays": relays,
        "network": dict(sim.net.stats),
    }
    if wall is not None:
        out["wall"] = round(wall, 3)
    return out


def _table(rows: list[list[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
            for r in rows]  # fmt: skip


def format_summary(s: dict[str, Any], *, max_clients: int = 20) -> str:
    """The summary as text: a row per client (totals when there are many), server, relay."""
    lines = []
    wall = s.get("wall")
    speed = ""
    if wall:
        speed = f" in {wall:.2f} s wall ({s['t'] / wall:,.0f}× real time)" if wall > 0 else ""
    lines.append(f"{s['topology']}: simulated {fmt_duration(s['t'])} (seed {s['seed']}){speed}: "
                 f"{s['events']:,} events, {s['trace_lines']:,} trace events")  # fmt: skip
    clients = s["clients"]
    if clients:
        head = [
            "client",
            "state",
            "transitions",
            "bound",
            "renewals",
            "rebinds",
            "expiries",
            "lease",
        ]
        if len(clients) <= max_clients:
            rows = [head]
            for name, c in clients.items():
                lease = ", ".join(c["leases"]) or "-"
                rows.append([name, c["state"], f"{c['transitions']:,}", f"{c['bound']:,}",
                             f"{c['renewals']:,}", f"{c['rebinds']:,}", f"{c['expiries']:,}", lease])  # fmt: skip
            lines += _table(rows)
        else:
            states = Counter(c["state"] for c in clients.values())
            tot = {k: sum(c[k] for c in clients.values())
                   for k in ("transitions", "bound", "renewals", "rebinds", "expiries")}  # fmt: skip
            lines.append(
                f"  {len(clients):,} clients: "
                + ", ".join(f"{n:,} {st}" for st, n in states.most_common())
            )
            lines.append("  totals: " + ", ".join(f"{k} {v:,}" for k, v in tot.items()))
            lo = {
                k: min(c[k] for c in clients.values()) for k in ("renewals", "rebinds", "expiries")
            }
            hi = {
                k: max(c[k] for c in clients.values()) for k in ("renewals", "rebinds", "expiries")
            }
            lines.append("  per client (min-max): " + ", ".join(f"{k} {lo[k]}-{hi[k]}" for k in lo))
    if s["servers"]:
        rows = [["server", "state", "bindings", "lease events", "drops"]]
        for name, v in s["servers"].items():
            leases = ", ".join(f"{k} {n:,}" for k, n in sorted(v["leases"].items())) or "-"
            rows.append([name, v["state"], f"{v['bindings']:,}", leases, f"{v['drops']:,}"])
        lines += _table(rows)
        for name, v in s["servers"].items():
            for reason, n in list(v["drop_reasons"].items())[:6]:
                lines.append(f"    {name} dropped {n:,}: {reason}")
    if s["relays"]:
        rows = [["relay", "state", "forwarded", "replied", "drops"]]
        for name, v in s["relays"].items():
            rows.append(
                [name, v["state"], f"{v['forwarded']:,}", f"{v['replied']:,}", f"{v['drops']:,}"]
            )
        lines += _table(rows)
        for name, v in s["relays"].items():
            for reason, n in list(v["drop_reasons"].items())[:6]:
                lines.append(f"    {name} dropped {n:,}: {reason}")
    net = s["network"]
    lines.append("  links: " + ", ".join(f"{k} {v:,}" for k, v in net.items() if v or k == "sent"))
    return "\n".join(lines)
