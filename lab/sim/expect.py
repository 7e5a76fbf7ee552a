"""A topology's ``expect:`` on a simulated lab — lab/scenario.py's rules on virtual time.

Checked once the scenario is over: every positive expectation (``state``, ``lease_in``,
``renewed``, ``rebound``, ``seen``, ``reachable``) must hold within ``within`` protocol
seconds (30 by default; the clock runs until they all do), then ``never_seen`` (and
``renewed``/``rebound`` false) over the whole run. Counts are at-least counts. Each
failure names the topology file and line, then the node's last states and messages —
the namespace lab's messages, word for word where they can be.

``reachable`` is answered by the model (:func:`reachable`): a route from the node to the
target and one back to the node's source address, over links and interfaces that are up.
"""

from __future__ import annotations

from ipaddress import IPv6Address
from typing import TYPE_CHECKING, Any

from ..scenario import _count, _items, _label, _seen  # noqa: F401 - one rule for both labs
from ..scenario import _probe as probe
from .nodes import SimNode
from .simulator import Simulator

if TYPE_CHECKING:
    from .handle import SimLab

EXPECT_WITHIN = 30.0  # lab/scenario.py EXPECT_WITHIN


def reachable(sim: Simulator, src: SimNode, dst: IPv6Address,
              source: IPv6Address | None = None) -> tuple[bool, str]:  # fmt: skip
    """Whether a datagram from ``src`` (from ``source``, else the address the kernel
    would choose) reaches ``dst``, and an answer comes back; and why not."""

    def walk(node: SimNode, d: int) -> tuple[SimNode | None, str]:
        for _ in range(64):
            if d in node.own:
                return node, ""
            hop = node.route(d, None)
            if hop is None:
                return None, f"{node.name} has no route to {IPv6Address(d)}"
            out, nh = hop
            if not out.up:
                return None, f"{node.name}:{out.name} is down"
            link = out.link
            target = link.lls.get(nh) or sim.net.owners.get(nh)
            if target is None or target.link is not link:
                return None, f"no neighbour {IPv6Address(nh)} on {link.name}"
            if not target.up:
                return None, f"{target.node.name}:{target.name} is down"
            node = target.node
            if d not in node.own and not node.forwarding:
                return None, f"{node.name} does not forward"
        return None, "hop limit reached"

    d = int(dst)
    there, why = walk(src, d)
    if there is None:
        return False, why
    if source is None:
        hop = src.route(d, None)
        if hop is None:
            return False, f"{src.name} has no route to {dst}"
        source = hop[0].source_for(d)
    back, why = walk(there, int(source))
    if back is not src:
        return False, why or f"the answer to {source} does not come back to {src.name}"
    return True, ""


# ---------------------------------------------------------------------------- checks


def _text(check: str, value: Any) -> str:
    if isinstance(value, list):
        return f"{check}: [{', '.join(_label(v) for v in value)}]"
    if isinstance(value, dict):
        return f"{check}: {_label(value)}"
    if isinstance(value, bool):
        return f"{check}: {'true' if value else 'false'}"
    return f"{check}: {value}"


def _negative(x: dict[str, Any]) -> bool:
    return x["check"] == "never_seen" or (x["check"] in ("renewed", "rebound")
                                          and x["value"] in (False, 0))  # fmt: skip


def expectation_failures(lab: SimLab, expect: dict[str, list[dict[str, Any]]], *,
                         within: float = EXPECT_WITHIN, source: str | None = None) -> list[str]:  # fmt: skip
    """Every failed expectation's message (empty: all met); runs the clock up to
    ``within`` for the positive ones to come true."""
    source = source or lab.topology.source
    sim = lab.sim
    pending = [(node, x) for node, checks in expect.items() for x in checks if not _negative(x)]
    found: dict[int, str] = {}
    nodes = {node for node, _ in pending}
    seen_len = -1

    def still() -> list[tuple[str, dict[str, Any]]]:
        out = []
        for node, x in pending:
            why = probe(lab, node, x["check"], x["value"])
            if why is not None:
                found[id(x)] = why
                out.append((node, x))
        return out

    def all_met() -> bool:
        nonlocal pending, seen_len
        n = sum(len(lab.trace.node(node)) for node in nodes)
        if n == seen_len:
            return False
        seen_len = n
        pending = still()
        return not pending

    pending = still()
    if pending:
        seen_len = sum(len(lab.trace.node(node)) for node in nodes)
        deadline = sim.now + within
        sim.run_until(deadline, stop=all_met)
        pending = still()
    failures: list[tuple[int, str]] = []
    for node, x in pending:
        failures.append((x["line"], f"{source}:{x['line']}: {node}: expected {_text(x['check'], x['value'])} "
                        f"within {within:g} s, but {found[id(x)]}\n{lab.explain(node)}"))  # fmt: skip
    for node, checks in expect.items():
        for x in checks:
            if x["check"] == "never_seen":
                hits = [(w, e) for w in _items(x["value"]) for e in _seen(lab, node, w)[:1]]
                if hits:
                    seen = ", ".join(
                        f"{_label(w)} ({e['event']} at t={e['t']:.3f})" for w, e in hits
                    )
                    failures.append((x["line"], f"{source}:{x['line']}: {node}: expected "
                                     f"{_text(x['check'], x['value'])}, but it saw {seen}\n"
                                     f"{lab.explain(node)}"))  # fmt: skip
            elif _negative(x):
                why = probe(lab, node, x["check"], x["value"])
                if why is not None:
                    failures.append((x["line"], f"{source}:{x['line']}: {node}: expected "
                                     f"{_text(x['check'], x['value'])}, but {why}\n{lab.explain(node)}"))  # fmt: skip
    return [text for _, text in sorted(failures, key=lambda f: f[0])]


def expect_nodes(topology: Any) -> set[str]:
    """Nodes whose events ``expect:`` reads (the CLI keeps only theirs), and the servers
    (a lease's server is found in their events)."""
    out = set(topology.expect)
    out |= {n for n, node in topology.nodes.items() if node.kind == "dhcp6-server"}
    return out
