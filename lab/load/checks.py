"""Whole-topology checks: can every client reach DHCPv6, can every relay reach its
servers, does a server have a subnet for each relayed link, are the clocks compatible.

DHCPv6 clients multicast to ff02::1:2, which stays on their link: a client is served
only by a server or relay *on its link* (routers do not forward link-scoped multicast).
Relays forward by unicast, so they need a route to the server.
"""

from __future__ import annotations

from ipaddress import IPv6Address

from ..model import CLIENT_KINDS, PEER_KINDS, RELAY_KINDS, Node
from .context import Ctx
from .errors import short_list
from .options import config_error, parse_range, relays_to


def served_interfaces(ctx: Ctx, node: Node) -> set[str]:
    """Interfaces on which ``node`` answers clients directly (servers) or relays (relays)."""
    if node.kind == "dhcp6-server":
        config = ctx.server_configs.get(node.name)
        if config is None:  # a bad or missing config was reported; do not pile on
            return set(node.interfaces)
        return {s.interface for s in config.subnets if s.interface} & set(node.interfaces)
    if node.kind == "kea":
        if node.options.get("relayed"):
            return set()
        return {node.options.get("interface")} & set(node.interfaces)
    if node.kind == "dnsmasq":
        return {node.options.get("interface")} & set(node.interfaces)
    if node.kind in RELAY_KINDS:
        return set(node.options.get("listen") or []) & set(node.interfaces)
    return set()


def check_clients(ctx: Ctx) -> None:
    """Group clients that nothing serves by link: one error per link."""
    unserved: dict[str, list[str]] = {}
    for node in ctx.nodes.values():
        if node.kind not in CLIENT_KINDS or node.name in ctx.broken:
            continue
        iface = node.options.get("interface")
        if iface not in node.interfaces:
            continue
        link = ctx.links[node.interfaces[iface].link]
        if link.name in ctx.incomplete_links:
            continue  # its endpoint errors come first
        ok = False
        for ep in link.endpoints:
            other = ctx.nodes.get(ep.node)
            if other is None:
                if ep.node in ctx.names:
                    ok = True  # a node with a bad kind: reported already
                continue
            if ep.iface in served_interfaces(ctx, other):
                ok = True
                break
        if not ok:
            unserved.setdefault(link.name, []).append(node.name)
    for link_name, clients in unserved.items():
        link = ctx.links[link_name]
        present = [
            ctx.nodes[ep.node]
            for ep in link.endpoints
            if ep.node in ctx.nodes and ctx.nodes[ep.node].kind not in CLIENT_KINDS
        ]
        idle = [n for n in present if n.kind in {"dhcp6-server", "kea", "dnsmasq", *RELAY_KINDS}]
        what = "client" if len(clients) == 1 else "clients"
        problem = f"{what} {short_list(clients)} on link {link_name} cannot reach a DHCPv6 server"
        if idle:
            n = idle[0]
            ep = next(e for e in link.endpoints if e.node == n.name)
            if n.kind in RELAY_KINDS:
                hint = f"relay {n.name} does not listen on {ep.iface}: add it to listen:"
            elif n.kind == "kea":
                hint = f"{n.name} has relayed: true, so it does not serve its own link"
            else:
                hint = f"{n.name} has no subnet with interface: {ep.iface} in its config"
        elif any(n.kind == "router" for n in present):
            hint = (
                f"multicast does not cross routers: put a dhcp6-relay (or a server) on {link_name}"
            )
        else:
            hint = f"put a server (dhcp6-server, kea, dnsmasq) or a dhcp6-relay on {link_name}"
        ctx.err(ctx.link_paths[link_name], problem, hint)


def _reaches(ctx: Ctx, node: Node, addr: IPv6Address, via: str | None) -> bool:
    if via or addr.is_multicast:
        return True  # on a named interface, or multicast: nothing to route
    for iface in node.interfaces.values():
        prefix = ctx.links[iface.link].prefix
        if prefix is not None and addr in prefix:
            return True
        if any(addr in a.network for a in iface.addresses):
            return True
    return any(addr in r.destination for r in node.routes)


def check_relays(ctx: Ctx) -> None:
    owner = ctx.owner
    for rname, targets in ctx.relay_targets.items():
        relay = ctx.nodes[rname]
        spath = ctx.option_path(rname, "server")
        for i, (addr, via, _) in enumerate(targets):
            p = (*spath, i) if ctx.doc.get((*spath, i)) is not None else spath
            holder = owner.get(addr)
            if holder is None and not (addr.is_multicast or via):
                ctx.err(
                    p,
                    f"relay {rname} forwards to {addr}, which no node has",
                    "give a server's address or its node name",
                )
                continue
            if not _reaches(ctx, relay, addr, via):
                ctx.err(
                    p,
                    f"relay {rname} has no route to {addr}" + (f" ({holder[0]})" if holder else ""),
                    "connect the relay's link to the server's through a router",
                )


def check_relayed_subnets(ctx: Ctx) -> None:
    """A dhcp6-server reached through a relay needs a subnet for the relay's link."""
    for name, config in ctx.server_configs.items():
        server = ctx.nodes[name]
        if any(s.interface_id is not None for s in config.subnets):
            continue  # selection by Interface-ID: nothing to check from addresses
        relayed = [s for s in config.subnets if not s.interface]
        local = {
            server.interfaces[s.interface].link
            for s in config.subnets
            if s.interface in server.interfaces
        }
        for relay, iface in relays_to(ctx, server):
            link = ctx.links[relay.interfaces[iface].link]
            if link.name in local:
                continue  # the server is on that link and serves it directly
            addrs = relay.interfaces[iface].addresses
            if not addrs:
                ctx.err(
                    ("nodes", relay.name),
                    f"relay {relay.name} has no address on {iface}, so its link-address tells "
                    f"{name} nothing",
                    f"give link {link.name} a prefix: (or use interface_id with a subnet interface_id:)",
                )
                continue
            la = addrs[0].ip
            if not any(la in s.prefix for s in relayed):
                config_error(
                    ctx,
                    name,
                    ("subnets",),
                    f"{name} has no relayed subnet for link {link.name} (relay {relay.name}'s "
                    f"link-address {la})",
                    f"add a subnet with prefix: {link.prefix or addrs[0].network} and no interface:",
                )


def check_pools(ctx: Ctx) -> None:
    """Static addresses must not lie in a server's pool (a client could lease them)."""
    statics = sorted(ctx.owner.items())
    for node in ctx.nodes.values():
        ranges: list[tuple[IPv6Address, IPv6Address, tuple | None]] = []
        if node.kind == "dhcp6-server":
            config = ctx.server_configs.get(node.name)
            for i, s in enumerate(config.subnets if config else ()):
                ranges += [
                    (p.first, p.last, ("subnets", i, "pools", j)) for j, p in enumerate(s.pools)
                ]
        elif node.kind in ("kea", "dnsmasq"):
            key = "pool" if node.kind == "kea" else "range"
            text = node.options.get(key)
            rng = parse_range(text, "-" if node.kind == "kea" else ",") if text else None
            if rng:
                ranges.append((rng[0], rng[1], None))
        for first, last, sub in ranges:
            for addr, (holder, iface, _) in statics:
                if first <= addr <= last:
                    problem = f"{holder}'s static address {addr} ({iface}) lies in {node.name}'s pool {first}-{last}"
                    hint = "move the pool or the address: a client could lease it"
                    if sub is not None:
                        config_error(ctx, node.name, sub, problem, hint)
                    else:
                        key = "pool" if node.kind == "kea" else "range"
                        ctx.err(ctx.option_path(node.name, key), problem, hint)
                    break


def check_clock(ctx: Ctx) -> None:
    if ctx.time_scale == 1:
        return
    peers = sorted((n.kind, n.name) for n in ctx.nodes.values() if n.kind in PEER_KINDS)
    if peers:
        listed = short_list([f"{name} ({kind})" for kind, name in peers])
        ctx.err(
            ctx.time_scale_path,
            f"time_scale {ctx.time_scale:g} with real peers {listed}: real peers keep real time",
            "set time_scale: 1, or use our dhcp6-server/dhcp6-client kinds for those nodes",
        )
