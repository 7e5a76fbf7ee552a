"""``links:``: endpoints, interfaces, prefixes; then static addresses and allocation."""

from __future__ import annotations

import re
from ipaddress import IPv6Address, IPv6Interface, IPv6Network
from typing import Any

from ..model import CLIENT_KINDS, Endpoint, Impairment, Interface, Link
from ..schema import (
    IFNAME_RE,
    IMPAIRMENT,
    LINK_KEYS,
    NAME_RE,
    Prefix,
    SpecError,
    allowed_hint,
    describe,
    did_you_mean,
)
from .context import Ctx
from .errors import dotted, short_list

_EP_HINT = "write NODE:IFACE (e.g. c1:eth0) or just NODE for its next free ethN"


def _node_hint(ctx: Ctx, name: str) -> str:
    return did_you_mean(name, ctx.names) or (
        f"nodes: {short_list(sorted(ctx.names), 8)}" if ctx.names else "define it under nodes:"
    )


def read_links(ctx: Ctx) -> None:
    raw = ctx.doc.get(("links",))
    if raw is None:
        if ctx.nodes:
            ctx.err(
                ("links",),
                "the topology has no links",
                "add links: [{members: [s1:eth0, c1:eth0]}]",
                at=(),
            )
        return
    if not isinstance(raw, list):
        ctx.err(
            ("links",),
            f"expected a list of links, got {describe(raw)}",
            "links: [{members: [s1:eth0, c1:eth0]}, {endpoints: [r1:eth1, r2:eth0]}]",
        )
        return
    pending: list[tuple[int, dict, list[tuple[tuple, str, str | None]]]] = []
    taken_names: set[str] = set()
    name_owner: dict[str, int] = {}  # a link name → the index of the link that has it
    name_paths: dict[str, tuple] = {}
    incomplete: set[int] = set()  # links with a rejected endpoint
    mentioned: set[str] = set()  # nodes named by any link, also a rejected one
    explicit: dict[tuple[str, str], tuple] = {}  # (node, iface) → endpoint path
    # pass 1: shapes, names, explicit interfaces
    for i, spec in enumerate(raw):
        path = ("links", i)
        if not isinstance(spec, dict):
            ctx.err(
                path,
                f"expected a mapping, got {describe(spec)}",
                "a LAN is {members: [a:eth0, b:eth0, …]}, a point-to-point link {endpoints: [a:eth0, b:eth0]}",
            )
            continue
        for k in spec:
            if k not in LINK_KEYS:
                ctx.err((*path, k), f"unknown key {k!r}", allowed_hint(k, LINK_KEYS, "link keys"))
        for key in ("members", "endpoints"):
            if isinstance(spec.get(key), list):
                mentioned.update(str(e).partition(":")[0] for e in spec[key])
        if "members" in spec and "endpoints" in spec:
            ctx.err(
                path,
                "a link has members: (a LAN) or endpoints: (point-to-point), not both",
                "keep one of them",
            )
            continue
        key = "members" if "members" in spec else "endpoints" if "endpoints" in spec else None
        if key is None:
            ctx.err(
                path,
                "a link needs members: (a LAN) or endpoints: (point-to-point)",
                "e.g. members: [s1:eth0, c1:eth0]",
            )
            continue
        eps = spec[key]
        if not isinstance(eps, list):
            ctx.err((*path, key), f"expected a list of NODE:IFACE, got {describe(eps)}", _EP_HINT)
            continue
        if key == "endpoints" and len(eps) != 2:
            ctx.err(
                (*path, key),
                f"a point-to-point link has 2 endpoints, not {len(eps)}",
                "use members: for a LAN of any size",
            )
        if key == "members" and not eps:
            ctx.err((*path, key), "a LAN needs at least one member", _EP_HINT)
        name = spec.get("name")
        if name is not None:
            if not isinstance(name, str) or not re.match(NAME_RE, name):
                ctx.err(
                    (*path, "name"),
                    f"{describe(name)} is not a valid link name",
                    "a letter, then up to 31 of A-Z a-z 0-9 _ -",
                )
            elif name in taken_names:
                first = name_paths[name]
                ctx.err(
                    (*path, "name"),
                    f"link name {name!r} is used twice (first at line {ctx.doc.line(first)})",
                    "give each link its own name",
                )
            else:
                taken_names.add(name)
                name_owner[name] = i
                name_paths[name] = (*path, "name")
        parsed: list[tuple[tuple, str, str | None]] = []
        for j, ep in enumerate(eps):
            ep_path = (*path, key, j)
            if not isinstance(ep, str):
                ctx.err(ep_path, f"expected NODE:IFACE, got {describe(ep)}", _EP_HINT)
                incomplete.add(i)
                continue
            node, _, iface = ep.strip().partition(":")
            if node not in ctx.names:
                ctx.err(ep_path, f"no node {node!r}", _node_hint(ctx, node))
                incomplete.add(i)
                continue
            if iface and not re.match(IFNAME_RE, iface):
                ctx.err(
                    ep_path,
                    f"{iface!r} is not an interface name",
                    "a letter, then up to 14 of A-Z a-z 0-9 _ . - (e.g. eth0)",
                )
                incomplete.add(i)
                continue
            if iface:
                if (node, iface) in explicit:
                    first = explicit[(node, iface)]
                    ctx.err(
                        ep_path,
                        f"{node}:{iface} is already used at line {ctx.doc.line(first)} ({dotted(first)})",
                        "an interface joins one link: give this one another name",
                    )
                    incomplete.add(i)
                    continue
                explicit[(node, iface)] = ep_path
            parsed.append((ep_path, node, iface or None))
        pending.append((i, spec, parsed))
    # pass 2: names for unnamed links, automatic interfaces, the model
    counters = {"lan": 0, "p2p": 0}
    used: dict[str, set[str]] = {}
    for node, iface in explicit:
        used.setdefault(node, set()).add(iface)
    for i, spec, parsed in pending:
        path = ("links", i)
        kind = "lan" if "members" in spec else "p2p"
        if kind == "p2p" and len(parsed) != 2:
            kind = "lan"  # reported above; a LAN keeps the rest of the checks going
        name = spec.get("name")
        if not isinstance(name, str) or name_owner.get(name) != i:
            while True:
                counters[kind] += 1
                name = f"{kind}{counters[kind]}"
                if name not in taken_names:
                    break
            taken_names.add(name)
        endpoints: list[Endpoint] = []
        ep_paths: list[tuple] = []
        seen_nodes: dict[str, tuple] = {}
        for ep_path, node, iface in parsed:
            if iface is None:
                n = 0
                while f"eth{n}" in used.setdefault(node, set()):
                    n += 1
                iface = f"eth{n}"
                used[node].add(iface)
            if node in seen_nodes:
                ctx.err(
                    ep_path,
                    f"{node} is on link {name} twice",
                    f"first as {seen_nodes[node][1]} at line {ctx.doc.line(seen_nodes[node][0])}",
                )
                continue
            seen_nodes[node] = (ep_path, iface)
            endpoints.append(Endpoint(node, iface))
            ep_paths.append(ep_path)
        prefix = None
        if "prefix" in spec and spec["prefix"] is not None:
            try:
                prefix = IPv6Network(Prefix().check(spec["prefix"]))
            except SpecError as e:
                ctx.spec_err((*path, "prefix"), e)
                incomplete.add(i)
        impairment = None
        if spec.get("impairment") is not None:
            try:
                imp = IMPAIRMENT.check(spec["impairment"])
                impairment = Impairment(imp["loss"], imp["duplicate"], imp["delay"])
            except SpecError as e:
                ctx.spec_err((*path, "impairment"), e)
        link = Link(name, kind, endpoints, prefix, impairment, line=ctx.doc.line(path))
        ctx.links[name] = link
        ctx.link_paths[name] = path
        if i in incomplete:
            ctx.incomplete_links.add(name)
        for ep_path, ep in zip(ep_paths, endpoints, strict=True):
            node = ctx.nodes.get(ep.node)
            if node is not None:
                node.interfaces[ep.iface] = Interface(ep.iface, name)
                ctx.info[ep.node].iface_paths[ep.iface] = ep_path
    _check_overlaps(ctx)
    for name in ctx.nodes:
        if not ctx.nodes[name].interfaces and name not in mentioned:
            ctx.err(
                ("nodes", name),
                f"{name} is not on any link",
                f"add it to a link, e.g. members: [..., {name}:eth0]",
            )


def _check_overlaps(ctx: Ctx) -> None:
    prefixed = [(lk.prefix, lk) for lk in ctx.links.values() if lk.prefix is not None]
    prefixed.sort(key=lambda x: (int(x[0].network_address), x[0].prefixlen))
    cover: tuple[IPv6Network, Link] | None = None
    for net, link in prefixed:
        if cover is not None and net.overlaps(cover[0]):
            a, b = sorted([cover[1], link], key=lambda lk: lk.line)
            ctx.incomplete_links.add(b.name)
            ctx.err(
                (*ctx.link_paths[b.name], "prefix"),
                f"{b.prefix} overlaps {a.prefix} of link {a.name} (line {ctx.doc.line((*ctx.link_paths[a.name], 'prefix'))})",
                "give every link its own prefix",
            )
        if cover is None or int(net.broadcast_address) > int(cover[0].broadcast_address):
            cover = (net, link)


# --------------------------------------------------------------------------- addresses


def _parse_address(v: Any) -> IPv6Interface | str:
    if isinstance(v, bool) or not isinstance(v, str):
        hint = " (YAML read it as a number: put it in quotes)" if isinstance(v, int) else ""
        return f"expected an IPv6 address, got {describe(v)}{hint}"
    text = v.strip()
    try:
        if "/" in text:
            return IPv6Interface(text)
        IPv6Address(text)
        return IPv6Interface(text + "/128")  # length filled in from the link below
    except ValueError:
        return f"{v!r} is not an IPv6 address"


def read_addresses(ctx: Ctx) -> None:
    """Static ``addresses:`` per node, then ::1, ::2… for non-clients, then duplicates."""
    owner = ctx.owner
    for name, node in ctx.nodes.items():
        path = ("nodes", name, "addresses")
        raw = ctx.doc.get(path)
        if raw is None:
            continue
        if not isinstance(raw, dict):
            ctx.err(
                path,
                f"expected a mapping of interfaces to addresses, got {describe(raw)}",
                "e.g. addresses: {eth0: 2001:db8:1::10}",
            )
            continue
        info = ctx.info[name]
        for iface, vals in raw.items():
            ipath = (*path, iface)
            if iface not in node.interfaces:
                known = sorted(node.interfaces)
                ctx.err(
                    ipath,
                    f"{name} has no interface {iface!r} on any link",
                    did_you_mean(iface, known)
                    or (
                        f"its interfaces: {', '.join(known)}"
                        if known
                        else "put the node on a link first"
                    ),
                )
                continue
            link = ctx.links[node.interfaces[iface].link]
            items = vals if isinstance(vals, list) else [vals]
            for j, v in enumerate(items):
                apath = (*ipath, j) if isinstance(vals, list) else ipath
                a = _parse_address(v)
                if isinstance(a, str):
                    ctx.err(apath, a, "e.g. 2001:db8:1::10 or 2001:db8:1::10/64")
                    continue
                if "/" not in str(v):
                    a = IPv6Interface(f"{a.ip}/{link.prefix.prefixlen if link.prefix else 64}")
                if link.prefix is not None and a.ip not in link.prefix:
                    ctx.err(
                        apath,
                        f"{a.ip} is outside link {link.name}'s prefix {link.prefix}",
                        f"pick an address in {link.prefix}",
                    )
                    continue
                if a.ip.is_link_local or a.ip.is_multicast or a.ip.is_unspecified:
                    ctx.err(
                        apath, f"{a.ip} cannot be a static address", "give a global or ULA address"
                    )
                    continue
                info.given.setdefault(iface, []).append(a)
                info.given_paths[(iface, str(a.ip))] = apath
                if a.ip in owner:
                    other, oif, opath = owner[a.ip]
                    ctx.err(
                        apath,
                        f"{a.ip} is also {other}'s address on {oif} (line {ctx.doc.line(opath)})",
                        "every static address must be unique",
                    )
                    continue
                owner[a.ip] = (name, iface, apath)
                node.interfaces[iface].addresses.append(a)
    # allocation: ::1, ::2… on each prefixed link in the order of its members
    for link in ctx.links.values():
        if link.prefix is None:
            continue
        net = link.prefix
        start = 0 if net.prefixlen >= 127 else 1
        nxt = start
        for ep in link.endpoints:
            node = ctx.nodes.get(ep.node)
            if node is None or node.kind in CLIENT_KINDS:
                continue
            iface = node.interfaces.get(ep.iface)
            if iface is None or ctx.info[ep.node].given.get(ep.iface):
                continue
            while nxt < net.num_addresses and net[nxt] in owner:
                nxt += 1
            if nxt >= net.num_addresses:
                ctx.err(
                    (*ctx.link_paths[link.name], "prefix"),
                    f"{net} has no address left for {ep}",
                    "use a shorter prefix (e.g. /64)",
                )
                break
            a = IPv6Interface(f"{net[nxt]}/{net.prefixlen}")
            owner[a.ip] = (ep.node, ep.iface, ctx.link_paths[link.name])
            iface.addresses.append(a)
            nxt += 1
