"""Per-kind options that depend on the topology: derived defaults and cross-checks.

Runs after links and addresses are known. Fills in every ``DERIVED`` option (see
lab/schema.py) so that ``Node.options`` is final, validates dhcp6-server configs with
``dhcp6.server_config`` (errors at the config's own lines), and resolves relay targets.
"""

from __future__ import annotations

import re
from ipaddress import IPv6Address, IPv6Network
from pathlib import Path
from typing import Any

from dhcp6.server_config import ConfigError, ServerConfig, parse_config
from dhcp6.yamlmarks import Marked, load_marked

from ..model import CLIENT_KINDS, RELAY_KINDS, SERVER_KINDS, Node
from ..schema import RA_FIELDS, Map, did_you_mean, options_for
from .context import Ctx
from .errors import format_error, short_list

_SINGLE_IFACE_KINDS = ("dhcp6-client", "kea", "dnsmasq", "dhclient", "dhcpcd", "wide-dhcp6c")
_LOC = re.compile(r"^(.*?):([0-9]+): ")


class _ScopedMarked(Marked):
    """A server config inside the topology: errors name the topology path and line."""

    def __init__(
        self, data: Any, lines: dict[tuple, int], source: str, prefix: tuple, fallback: int
    ) -> None:
        super().__init__(data, lines, source)
        self.prefix = prefix
        self.fallback = fallback

    def line_of(self, path: tuple) -> int:
        p = tuple(path)
        while p and p not in self.lines:
            p = p[:-1]
        return self.lines.get(p, self.fallback)

    def error(self, path: tuple, problem: str, hint: str = "") -> ConfigError:
        line = self.line_of(path)
        e = ConfigError(format_error(self.source, line, (*self.prefix, *path), problem, hint))
        e.line = line  # type: ignore[attr-defined]
        return e


def first_address(node: Node, iface: str | None = None) -> IPv6Address | None:
    ifaces = [node.interfaces[iface]] if iface else list(node.interfaces.values())
    for i in ifaces:
        for a in i.addresses:
            return a.ip
    return None


def default_pool(prefix: IPv6Network) -> str:
    """The derived pool of our server: ::1:0-::1:ffff in a /96 or shorter, else the upper half."""
    base = int(prefix.network_address)
    if prefix.prefixlen <= 96:
        first, last = base + 0x10000, base + 0x1FFFF
    else:
        first, last = base + prefix.num_addresses // 2, base + prefix.num_addresses - 1
    return f"{IPv6Address(first)}-{IPv6Address(last)}"


def parse_range(text: str, sep: str = "-") -> tuple[IPv6Address, IPv6Address] | None:
    text = text.strip()
    try:
        if sep == "-" and "/" in text:
            net = IPv6Network(text)
            return net[0], net[-1]
        a, b = (x.strip() for x in text.split(sep, 1))
        return IPv6Address(a), IPv6Address(b)
    except ValueError:
        return None


def resolve_options(ctx: Ctx) -> None:
    for node in ctx.nodes.values():
        if node.kind in _SINGLE_IFACE_KINDS:
            _single_interface(ctx, node)
    for node in ctx.nodes.values():
        if node.kind in RELAY_KINDS:
            _relay(ctx, node)
    for node in ctx.nodes.values():
        kind = node.kind
        if kind == "dhcp6-server":
            _server(ctx, node)
        elif kind == "dhcp6-client":
            _client(ctx, node)
        elif kind == "kea":
            _kea(ctx, node)
        elif kind == "dnsmasq":
            _dnsmasq(ctx, node)
        elif kind in ("dhclient", "dhcpcd", "wide-dhcp6c"):
            if node.options.get("na") is False and node.options.get("pd") is False:
                ctx.err(
                    ctx.option_path(node.name, "na"),
                    f"{node.name} asks for neither an address nor a prefix",
                    "set na: true, pd: true or both",
                )
        elif kind == "router":
            _router(ctx, node)
    for node in ctx.nodes.values():  # the schema's order, extras (config_file) last
        order = list(options_for(node.kind))
        node.options = dict(
            sorted(
                node.options.items(),
                key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order),
            )
        )


def _iface_error(ctx: Ctx, node: Node, option: str, iface: str) -> None:
    known = sorted(node.interfaces)
    ctx.err(
        ctx.option_path(node.name, option),
        f"{node.name} has no interface {iface!r}",
        did_you_mean(iface, known) or f"its interfaces: {', '.join(known) or 'none'}",
    )


def _single_interface(ctx: Ctx, node: Node) -> None:
    iface = node.options.get("interface")
    if iface is None:
        # a client's downstream interface is not the one it runs on
        candidates = [i for i in node.interfaces if i != node.options.get("downstream")]
        if len(candidates) == 1:
            node.options["interface"] = candidates[0]
        elif len(node.interfaces) > 1:
            ctx.err(
                ("nodes", node.name),
                f"{node.name} has {len(node.interfaces)} interfaces: which one does its {node.kind} run on?",
                f"set interface: to one of {', '.join(sorted(node.interfaces))}",
            )
        return
    if node.interfaces and iface not in node.interfaces:
        _iface_error(ctx, node, "interface", iface)


# --------------------------------------------------------------------------- relays


def _relay(ctx: Ctx, node: Node) -> None:
    name = node.name
    listen = node.options.get("listen")
    if listen is None:
        listen = [
            i.name
            for i in node.interfaces.values()
            if any(
                ctx.nodes.get(ep.node) is not None and ctx.nodes[ep.node].kind in CLIENT_KINDS
                for ep in ctx.links[i.link].endpoints
            )
        ]
        if not listen and node.interfaces:
            ctx.err(
                ("nodes", name),
                f"relay {name} is on no link with clients",
                "set listen: to its client-facing interfaces",
            )
        node.options["listen"] = listen
    else:
        for iface in listen:
            if iface not in node.interfaces:
                _iface_error(ctx, node, "listen", iface)
    targets: list[tuple[IPv6Address, str | None, str | None]] = []  # address, %IF, node
    servers = node.options.get("server")
    spath = ctx.option_path(name, "server")
    if servers is None:
        for other in ctx.nodes.values():
            if other.kind in SERVER_KINDS:
                a = first_address(other)
                if a is not None:
                    targets.append((a, None, other.name))
        if not targets:
            ctx.err(
                ("nodes", name),
                f"relay {name} has no server to forward to",
                "give server: [ADDRESS] or a server node's name (no server node has a static address)",
            )
    else:
        for i, s in enumerate(servers):
            p = (*spath, i) if ctx.doc.get((*spath, i)) is not None else spath
            text = s.strip()
            if text in ctx.names:
                other = ctx.nodes.get(text)
                if other is None:
                    continue
                if other.kind not in SERVER_KINDS | RELAY_KINDS:
                    ctx.err(
                        p,
                        f"{text} is a {other.kind}, not a server or relay",
                        "name a server node or give an address",
                    )
                    continue
                a = first_address(other)
                if a is None:
                    ctx.err(
                        p,
                        f"{text} has no static address to forward to",
                        "give its link a prefix: or the node addresses:",
                    )
                    continue
                targets.append((a, None, text))
                continue
            addr, _, via = text.partition("%")
            try:
                ip = IPv6Address(addr)
            except ValueError:
                ctx.err(
                    p,
                    f"{s!r} is neither an IPv6 address nor a node",
                    did_you_mean(text, ctx.names) or "write ADDR, ADDR%IF or a server node's name",
                )
                continue
            if via and via not in node.interfaces:
                known = sorted(node.interfaces)
                ctx.err(
                    p,
                    f"{name} has no interface {via!r}",
                    did_you_mean(via, known) or f"its interfaces: {', '.join(known)}",
                )
                continue
            link_scoped = ip.is_link_local or (ip.is_multicast and ip.packed[1] & 0x0F == 2)
            if link_scoped and not via:
                ctx.err(p, f"{ip} is link-scoped: say which interface", f"write {ip}%IF")
                continue
            owner = ctx.owner.get(ip)
            targets.append((ip, via or None, owner[0] if owner else None))
    node.options["server"] = [f"{a}%{v}" if v else str(a) for a, v, _ in targets]
    ctx.relay_targets[name] = targets


def relays_to(ctx: Ctx, server: Node) -> list[tuple[Node, str]]:
    """(relay, listen iface) pairs of relays forwarding to ``server``'s addresses."""
    mine = {a.ip for i in server.interfaces.values() for a in i.addresses}
    out = []
    for rname, targets in ctx.relay_targets.items():
        if any(a in mine or n == server.name for a, _, n in targets):
            relay = ctx.nodes[rname]
            for iface in relay.options.get("listen") or []:
                if iface in relay.interfaces:
                    out.append((relay, iface))
    return out


# --------------------------------------------------------------------------- servers


def _config_lines(ctx: Ctx, node: Node) -> dict[tuple, int]:
    """Lines of the merged ``config`` mapping, relative to it, from every layer."""
    lines: dict[tuple, int] = {}
    for layer in ctx.info[node.name].layers:
        base = (*layer, "config")
        n = len(base)
        for k, v in ctx.doc.lines.items():
            if len(k) > n and k[:n] == base:
                lines[k[n:]] = v
        if base in ctx.doc.lines:
            lines[()] = ctx.doc.lines[base]
    return lines


def _add_config_error(ctx: Ctx, e: ConfigError) -> None:
    text = str(e)
    m = _LOC.match(text)
    line = getattr(e, "line", None) or (int(m.group(2)) if m else 0)
    src = m.group(1) if m else ctx.source
    ctx.problems.add_text(text, src, line)


def _server(ctx: Ctx, node: Node) -> None:
    name = node.name
    listen = node.options.get("interface")
    if listen is None:
        node.options["interface"] = sorted(node.interfaces)
    else:
        for iface in listen:
            if iface not in node.interfaces:
                _iface_error(ctx, node, "interface", iface)
    cfg = node.options.get("config")
    cpath = ctx.option_path(name, "config")
    config: ServerConfig | None = None
    if cfg is None:
        subnets: list[dict[str, Any]] = []
        seen: set[IPv6Network] = set()
        for iface in sorted(node.interfaces.values(), key=lambda i: i.name):
            prefix = ctx.links[iface.link].prefix
            if prefix is not None and not any(prefix.overlaps(p) for p in seen):
                seen.add(prefix)
                subnets.append(
                    {
                        "prefix": str(prefix),
                        "interface": iface.name,
                        "pools": [default_pool(prefix)],
                    }
                )
        for relay, iface in relays_to(ctx, node):
            prefix = ctx.links[relay.interfaces[iface].link].prefix
            if prefix is not None and not any(prefix.overlaps(p) for p in seen):
                seen.add(prefix)
                subnets.append({"prefix": str(prefix), "pools": [default_pool(prefix)]})
        if not subnets and any(i.link in ctx.incomplete_links for i in node.interfaces.values()):
            ctx.broken.add(name)  # its links' prefixes are wrong: reported there
            return
        if not subnets:
            ctx.err(
                ("nodes", name),
                f"{name} has no config and none can be derived (no link of it or its relays has a prefix)",
                "give config: {subnets: [...]} or a prefix: to its link",
            )
            ctx.broken.add(name)
            return
        cfg = {"subnets": subnets}
        node.options["config"] = cfg
        marked: Marked = _ScopedMarked(cfg, {}, ctx.source, ("nodes", name, "config"), node.line)
    elif isinstance(cfg, str):
        p = Path(cfg)
        full = p if p.is_absolute() else ctx.base_dir / p
        if not full.is_file():
            ctx.err(
                cpath,
                f"server config {cfg!r} not found",
                "a relative path starts at the topology file's directory",
            )
            ctx.broken.add(name)
            return
        # errors name the file as the topology does: relative to the topology's own path
        shown = str(p) if p.is_absolute() else str(Path(ctx.source).parent / p)
        try:
            marked = load_marked(full.read_text(encoding="utf-8"), shown)
        except (OSError, UnicodeDecodeError) as e:
            ctx.err(
                cpath, f"cannot read server config {cfg!r}: {getattr(e, 'strerror', None) or e}"
            )
            ctx.broken.add(name)
            return
        except ConfigError as e:
            _add_config_error(ctx, e)
            ctx.broken.add(name)
            return
        node.options["config"] = marked.data
        node.options["config_file"] = str(full.resolve())
    else:
        marked = _ScopedMarked(
            cfg, _config_lines(ctx, node), ctx.source, cpath, ctx.doc.line(cpath)
        )
    shape = _config_shape(marked.data)
    if shape is not None:
        path, problem = shape
        _add_config_error(
            ctx, marked.error(path, problem, "see `dhcp6 server --help` for the format")
        )
        ctx.broken.add(name)
        return
    try:
        config = parse_config(marked)
    except ConfigError as e:
        _add_config_error(ctx, e)
        ctx.broken.add(name)
        return
    except (TypeError, ValueError, AttributeError, KeyError) as e:  # a shape we did not foresee
        where = marked.prefix if isinstance(marked, _ScopedMarked) else ()
        line = marked.line_of(()) if isinstance(marked, _ScopedMarked) else 1
        ctx.problems.add(
            line,
            where,
            f"the server config cannot be read ({type(e).__name__}: {e})",
            "see `dhcp6 server --help` for the format",
            source=marked.source,
        )
        ctx.broken.add(name)
        return
    ctx.server_configs[name] = config
    ctx.server_marked[name] = marked
    for i, s in enumerate(config.subnets):
        if s.interface and s.interface not in node.interfaces:
            known = sorted(node.interfaces)
            hint = did_you_mean(s.interface, known) or f"its interfaces: {', '.join(known)}"
            config_error(
                ctx,
                name,
                ("subnets", i, "interface"),
                f"{name} has no interface {s.interface!r}",
                hint,
            )


_CONFIG_LISTS = {"subnets", "always_send"}
_SUBNET_LISTS = {"pools", "pd_pools"}
_SUBNET_MAPS = {"options", "lifetimes"}
_OPTION_LISTS = {"dns_servers", "domain_search"}


def _config_shape(data: Any) -> tuple[tuple, str] | None:
    """The first list or mapping of the wrong type in a server config (parse_config
    expects the types right; it checks values)."""

    def kind(v: Any) -> str:
        return "a mapping" if isinstance(v, dict) else "a list" if isinstance(v, list) else repr(v)

    if data is None:
        return None
    if not isinstance(data, dict):
        return (), f"expected a mapping, got {kind(data)}"
    for k in _CONFIG_LISTS:
        if k in data and data[k] is not None and not isinstance(data[k], list):
            return (k,), f"expected a list, got {kind(data[k])}"
    if "lifetimes" in data and not isinstance(data["lifetimes"], dict):
        return ("lifetimes",), f"expected a mapping, got {kind(data['lifetimes'])}"
    for i, sub in enumerate(data.get("subnets") or []):
        if not isinstance(sub, dict):
            return ("subnets", i), f"expected a mapping, got {kind(sub)}"
        for k in _SUBNET_LISTS:
            if k in sub and sub[k] is not None and not isinstance(sub[k], list):
                return ("subnets", i, k), f"expected a list, got {kind(sub[k])}"
        for k in _SUBNET_MAPS:
            if k in sub and sub[k] is not None and not isinstance(sub[k], dict):
                return ("subnets", i, k), f"expected a mapping, got {kind(sub[k])}"
        for j, pd in enumerate(sub.get("pd_pools") or []):
            if not isinstance(pd, dict):
                return ("subnets", i, "pd_pools", j), f"expected a mapping, got {kind(pd)}"
        opts = sub.get("options") or {}
        for k in _OPTION_LISTS:
            if k in opts and opts[k] is not None and not isinstance(opts[k], list):
                return ("subnets", i, "options", k), f"expected a list, got {kind(opts[k])}"
    return None


def config_error(ctx: Ctx, name: str, subpath: tuple, problem: str, hint: str = "") -> None:
    """An error inside ``name``'s server config, at the config's own file and line."""
    marked = ctx.server_marked[name]
    if isinstance(marked, _ScopedMarked):
        ctx.problems.add(marked.line_of(subpath), (*marked.prefix, *subpath), problem, hint)
    else:  # a config file of its own
        p = tuple(subpath)
        while p and p not in marked.lines:
            p = p[:-1]
        ctx.problems.add(marked.lines.get(p, 1), subpath, problem, hint, source=marked.source)


def _kea(ctx: Ctx, node: Node) -> None:
    o = node.options
    name = node.name
    iface = o.get("interface")
    if iface not in node.interfaces:
        return
    link = ctx.links[node.interfaces[iface].link]
    if o.get("subnet") is None:
        if o["relayed"]:
            prefixes = sorted(
                {
                    ctx.links[r.interfaces[i].link].prefix
                    for r, i in relays_to(ctx, node)
                    if ctx.links[r.interfaces[i].link].prefix is not None
                },
                key=str,
            )
            if len(prefixes) != 1:
                ctx.err(
                    ("nodes", name),
                    f"{name} is relayed: which subnet does it serve?"
                    + (
                        f" (its relays' links: {', '.join(map(str, prefixes))})" if prefixes else ""
                    ),
                    "set subnet: to the relayed link's prefix",
                )
                return
            o["subnet"] = str(prefixes[0])
        elif link.prefix is None:
            ctx.err(
                ("nodes", name),
                f"{name}: link {link.name} has no prefix to serve",
                "give the link a prefix: or the node subnet:",
            )
            return
        else:
            o["subnet"] = str(link.prefix)
    subnet = IPv6Network(o["subnet"])
    if o.get("pool") is None:
        o["pool"] = (
            f"{subnet[0x100]}-{subnet[0x1FF]}"
            if subnet.num_addresses > 0x200
            else f"{subnet[1]}-{subnet[-1]}"
        )
    else:
        rng = parse_range(o["pool"])
        ppath = ctx.option_path(name, "pool")
        if rng is None:
            ctx.err(
                ppath,
                f"{o['pool']!r} is neither FIRST-LAST nor a prefix",
                "e.g. 2001:db8:1::100-2001:db8:1::1ff",
            )
        elif rng[0] > rng[1]:
            ctx.err(ppath, f"inverted range {rng[0]} > {rng[1]}", "write the lower address first")
        elif rng[0] not in subnet or rng[1] not in subnet:
            ctx.err(ppath, f"pool {o['pool']} lies outside the subnet {subnet}", "")
    pd = o.get("pd_pool")
    if isinstance(pd, dict):
        pd = [pd["prefix"], pd["delegated_length"]]
    if isinstance(pd, list):
        net_s, length = ([*pd, None, None])[:2]
        if not isinstance(net_s, str) or not isinstance(length, int):
            ctx.err(
                ctx.option_path(name, "pd_pool"),
                "expected [PREFIX, LENGTH]",
                "e.g. [2001:db8:8000::/48, 56]",
            )
        elif length < IPv6Network(net_s).prefixlen:
            ctx.err(
                ctx.option_path(name, "pd_pool"),
                f"delegated length /{length} is shorter than the pool {net_s}",
                "",
            )
        o["pd_pool"] = [net_s, length]
    if o["preferred"] > o["valid"]:
        ctx.err(
            ctx.option_path(name, "preferred"),
            f"preferred {o['preferred']} > valid {o['valid']}",
            "RFC 9915 §21.6",
        )
    if o.get("t1") is not None and o.get("t2") is not None and o["t1"] > o["t2"]:
        ctx.err(
            ctx.option_path(name, "t1"), f"T1 {o['t1']} > T2 {o['t2']}", "T1 must not exceed T2"
        )
    if "unicast" not in o:
        o["unicast"] = None
        if o["relayed"]:
            a = first_address(node, iface)
            if a is None:
                ctx.err(
                    ("nodes", name),
                    f"{name} is relayed but has no address on {iface} for relays to reach",
                    "give its link a prefix: or set unicast:",
                )
            else:
                o["unicast"] = str(a)
    elif o["unicast"] is not None:
        mine = {str(a.ip) for a in node.interfaces[iface].addresses}
        if o["unicast"] not in mine:
            ctx.err(
                ctx.option_path(name, "unicast"),
                f"{o['unicast']} is not an address of {name} on {iface}",
                f"its addresses there: {', '.join(sorted(mine)) or 'none'}",
            )


_DNSMASQ_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _dnsmasq(ctx: Ctx, node: Node) -> None:
    o = node.options
    name = node.name
    lt = o["lease_time"].strip()
    m = re.fullmatch(r"([0-9]+)([smhdw]?)", lt)
    if lt != "infinite" and (not m or int(m.group(1)) * _DNSMASQ_UNITS[m.group(2)] < 120):
        ctx.err(
            ctx.option_path(name, "lease_time"),
            f"lease_time {lt!r}: dnsmasq's minimum is 2m (it raises shorter times to 120 s)",
            "use e.g. 2m, 1h or infinite",
        )
    iface = o.get("interface")
    if iface not in node.interfaces:
        return
    link = ctx.links[node.interfaces[iface].link]
    if o.get("prefixlen") is None:
        o["prefixlen"] = link.prefix.prefixlen if link.prefix else 64
    if o.get("range") is None:
        if link.prefix is None:
            ctx.err(
                ("nodes", name),
                f"{name}: link {link.name} has no prefix to serve",
                "give the link a prefix: or the node range:",
            )
            return
        p = link.prefix
        o["range"] = f"{p[0x100]},{p[0x1FF]}" if p.num_addresses > 0x200 else f"{p[1]},{p[-1]}"
    elif isinstance(o["range"], list):
        o["range"] = ",".join(o["range"])
    rng = parse_range(o["range"], ",")
    rpath = ctx.option_path(name, "range")
    if rng is None:
        ctx.err(rpath, f"{o['range']!r} is not FIRST,LAST", "e.g. 2001:db8:1::100,2001:db8:1::1ff")
        return
    if rng[0] > rng[1]:
        ctx.err(rpath, f"inverted range {rng[0]} > {rng[1]}", "write the lower address first")
        return
    net = IPv6Network(f"{rng[0]}/{o['prefixlen']}", strict=False)
    mine = [a.ip for a in node.interfaces[iface].addresses]
    if not any(a in net for a in mine):
        ctx.err(
            ("nodes", name),
            f"dnsmasq serves only a link it has an address on: {name} has none in {net} on {iface}",
            "give the link that prefix: or the node an address in it",
        )


def _client(ctx: Ctx, node: Node) -> None:
    o = node.options
    name = node.name
    pd = o.get("ia_pd", 0)
    pd_n = int(str(pd).split("/")[0])
    if isinstance(pd, str):
        hint_len = int(pd.split("/")[1])
        if not 1 <= hint_len <= 128:
            ctx.err(
                ctx.option_path(name, "ia_pd"),
                f"prefix-length hint /{hint_len} is out of range 1..128",
                "e.g. ia_pd: 1/56",
            )
    if o.get("ia_na") == 0 and pd_n == 0 and not o.get("stateless"):
        ctx.err(
            ctx.option_path(name, "ia_na"),
            f"{name} asks for nothing (ia_na: 0, ia_pd: 0)",
            "ask for an address (ia_na: 1), a prefix (ia_pd: 1) or set stateless: true",
        )
    ds = o.get("downstream")
    if ds is not None:
        if ds not in node.interfaces:
            _iface_error(ctx, node, "downstream", ds)
        elif ds == o.get("interface"):
            ctx.err(
                ctx.option_path(name, "downstream"),
                f"downstream {ds} is the client's own link",
                "name another interface",
            )


def _router(ctx: Ctx, node: Node) -> None:
    ra = node.options.get("ra")
    if ra is True:
        ra = Map(RA_FIELDS).check({})
    if isinstance(ra, dict):
        for iface in ra.get("interfaces") or []:
            if iface not in node.interfaces:
                known = sorted(node.interfaces)
                ctx.err(
                    ctx.option_path(node.name, "ra"),
                    f"{node.name} has no interface {iface!r} to advertise on",
                    did_you_mean(iface, known) or f"its interfaces: {short_list(known)}",
                )
    node.options["ra"] = ra
