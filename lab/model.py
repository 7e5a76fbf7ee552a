"""The resolved topology: plain data, no I/O. Loaders produce it; builders, runtimes,
the simulator and the views consume it.

Every value here is final (defaults applied, addresses allocated, routes computed); a
``line`` field keeps where in the user's file a thing was written, for errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv6Address, IPv6Interface, IPv6Network
from typing import Any

import networkx as nx

#: Node kinds. Ours run our engines; peers run Debian packages in the node's namespace.
OUR_KINDS = frozenset({"dhcp6-server", "dhcp6-client", "dhcp6-relay"})
PEER_KINDS = frozenset({"kea", "dnsmasq", "dhclient", "dhcpcd", "wide-dhcp6c"})
PLAIN_KINDS = frozenset({"router", "host"})
KINDS = OUR_KINDS | PEER_KINDS | PLAIN_KINDS
SERVER_KINDS = frozenset({"dhcp6-server", "kea", "dnsmasq"})
CLIENT_KINDS = frozenset({"dhcp6-client", "dhclient", "dhcpcd", "wide-dhcp6c"})
RELAY_KINDS = frozenset({"dhcp6-relay"})


@dataclass(frozen=True)
class Endpoint:
    node: str
    iface: str

    def __str__(self) -> str:
        return f"{self.node}:{self.iface}"


@dataclass
class Impairment:
    """Per-link impairment (nftables here; netem where the kernel has it)."""

    loss: float = 0.0  # percent
    duplicate: float = 0.0  # percent
    delay: float = 0.0  # seconds


@dataclass
class Link:
    name: str
    kind: str  # "p2p" (a veth pair) or "lan" (a bridge)
    endpoints: list[Endpoint]
    prefix: IPv6Network | None = None
    impairment: Impairment | None = None
    line: int = 0


@dataclass
class Interface:
    name: str
    link: str  # Link.name
    addresses: list[IPv6Interface] = field(default_factory=list)  # static, with prefix length


@dataclass
class Route:
    destination: IPv6Network
    via: IPv6Address
    iface: str


@dataclass
class Node:
    name: str
    kind: str
    interfaces: dict[str, Interface] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)
    # kind-specific settings after inheritance (defaults → kind → node), e.g. a server's
    # `config:` (the dhcp6 server YAML as a mapping), a client's `ia_na`, `rapid_commit`…
    options: dict[str, Any] = field(default_factory=dict)
    template: str | None = None  # a real peer's own jinja2 config template
    line: int = 0

    @property
    def ours(self) -> bool:
        return self.kind in OUR_KINDS

    @property
    def peer(self) -> bool:
        return self.kind in PEER_KINDS


@dataclass
class Topology:
    name: str
    nodes: dict[str, Node]
    links: dict[str, Link]
    time_scale: float = 1.0
    scenario: list[dict[str, Any]] = field(default_factory=list)
    expect: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    source: str = "<topology>"

    def graph(self) -> nx.Graph:
        """Nodes and links as a graph: node vertices, link vertices for LANs."""
        g = nx.Graph()
        for n in self.nodes.values():
            g.add_node(n.name, kind=n.kind, type="node")
        for link in self.links.values():
            if link.kind == "lan":
                g.add_node(f"lan:{link.name}", type="lan", link=link.name)
                for ep in link.endpoints:
                    g.add_edge(ep.node, f"lan:{link.name}", iface=ep.iface, link=link.name)
            else:
                a, b = link.endpoints
                g.add_edge(a.node, b.node, link=link.name, ifaces=(a.iface, b.iface))
        return g
