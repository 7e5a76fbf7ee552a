"""Static routes from the topology graph.

The graph has a vertex per node and per link; a node's interface is an edge to its
link. Packets cross only nodes that forward: ``router`` and ``dhcp6-relay`` nodes (the relay
agent on a router) with the ``forwarding`` option on, its default. Every node gets,
for each prefixed link it is not on, a route via the first router of a shortest path,
at that router's address on the link they share. Ties go to the first interface by name.
"""

from __future__ import annotations

from ipaddress import IPv6Address

import networkx as nx

from ..model import Node, Route
from .context import Ctx

FORWARDING_KINDS = frozenset({"router", "dhcp6-relay"})


def _is_router(node: Node) -> bool:
    return node.kind in FORWARDING_KINDS and bool(node.options.get("forwarding", True))


def link_graph(ctx: Ctx) -> nx.Graph:
    """Nodes ("n", name) and links ("l", name); edges carry the interface name."""
    g = nx.Graph()
    for name in sorted(ctx.links):
        g.add_node(("l", name))
    for node in ctx.nodes.values():
        g.add_node(("n", node.name), router=_is_router(node))
        for iface in sorted(node.interfaces):
            g.add_edge(("n", node.name), ("l", node.interfaces[iface].link), iface=iface)
    return g


def compute_routes(ctx: Ctx) -> None:
    g = link_graph(ctx)
    transit = g.subgraph([v for v, d in g.nodes(data=True) if v[0] == "l" or d.get("router")])
    from_link: dict[str, dict] = {}
    missing: dict[tuple[str, str], list[str]] = {}  # (router, link) → nodes needing it
    prefixed = {name: lk.prefix for name, lk in ctx.links.items() if lk.prefix is not None}

    def next_hop(router: str, link: str) -> IPv6Address | None:
        r = ctx.nodes[router]
        for iface in sorted(r.interfaces):
            if r.interfaces[iface].link == link and r.interfaces[iface].addresses:
                return r.interfaces[iface].addresses[0].ip
        return None

    for node in ctx.nodes.values():
        attached = {i.link: i.name for i in node.interfaces.values()}
        if not attached:
            continue
        best: dict[str, tuple[int, str, list]] = {}  # remote link → (length, iface, path)
        if _is_router(node):
            paths = nx.single_source_shortest_path(transit, ("n", node.name))
            for target, path in paths.items():
                if target[0] == "l" and target[1] in prefixed and target[1] not in attached:
                    first_link = path[1][1]
                    best[target[1]] = (len(path), attached[first_link], path[1:])
        else:
            for link, iface in sorted(attached.items(), key=lambda x: x[1]):
                if link not in from_link:
                    from_link[link] = nx.single_source_shortest_path(transit, ("l", link))
                for target, path in from_link[link].items():
                    if target[0] != "l" or target[1] not in prefixed or target[1] in attached:
                        continue
                    if target[1] not in best or len(path) < best[target[1]][0]:
                        best[target[1]] = (len(path), iface, path)
        routes = []
        for target, (_, iface, path) in best.items():
            # path: link, router, link, router, …, target link
            router, shared = path[1][1], path[0][1]
            via = next_hop(router, shared)
            if via is None:
                missing.setdefault((router, shared), []).append(node.name)
                continue
            routes.append(Route(prefixed[target], via, iface))
        routes.sort(key=lambda r: (int(r.destination.network_address), r.destination.prefixlen))
        node.routes = routes
    for (router, link), needers in sorted(missing.items()):
        ctx.err(
            ctx.link_paths[link],
            f"router {router} has no address on link {link}, so {', '.join(sorted(needers)[:3])}"
            + (f" and {len(needers) - 3} more" if len(needers) > 3 else "")
            + " cannot route through it",
            f"give link {link} a prefix: (or {router} an address on it)",
        )
