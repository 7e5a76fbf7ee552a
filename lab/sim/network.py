"""Virtual links: LANs and point-to-point links that carry datagrams between nodes.

What a datagram meets, modelled on the namespace lab's kernel:

- **Addresses.** Every interface gets a MAC derived from the seed and the node and
  interface names (locally administered), and the modified-EUI-64 link-local address of
  that MAC (``fe80::…``), unique on its link. Static addresses come from the topology;
  a client's leased addresses join its interface when its engine configures them.
- **Multicast** (``ff02::…``) reaches the members of the sender's link that listen on
  the port there: ``ff02::1:2`` port 547 reaches the dhcp6-server nodes serving that
  interface and the dhcp6-relay nodes on the link.
- **Unicast** goes by the sender's connected prefixes, then the model's static routes
  (``Node.routes``), one hop at a time; routers, and relays with ``forwarding`` on,
  forward what is not theirs (hop limit 64). Link-local destinations stay on the link of
  the interface the engine named.
- **Impairment** (a link's ``impairment:`` or a scenario ``netem:``) acts on the sending
  side of a link, as netem on an egress queue would: one loss draw and one duplicate
  draw per datagram put on the link (a multicast is lost or duplicated for every
  receiver alike), and ``delay`` seconds added to the fixed per-hop latency
  (:data:`LATENCY`). Draws come from one seeded generator per link.
- **Partition** is a link (or one NODE:IFACE) set down: nothing is sent from or
  delivered to a down interface, datagrams in flight to it are lost, and a sender is
  told (an ``error`` event, as the kernel's ENETDOWN would be).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import TYPE_CHECKING, Any

from dhcp6.wire import AnyMessage, ParseError, decode
from dhcp6.wire._fast import IP6_FAST
from dhcp6.wire.options import Memo
from lab.model import Impairment, Link

if TYPE_CHECKING:
    from .nodes import SimNode
    from .simulator import Simulator

ARRIVE_ALL = 4  # lab.sim.simulator's queue entry kind for a multicast's receivers

LATENCY = 0.0001  # seconds per hop (a veth and a bridge): small, fixed, deterministic
HOP_LIMIT = 64
_LL_PREFIX = 0xFE80 << 112
_LL_TEST = 0x3FA  # fe80::/10 → the top 10 bits


class Addr(IPv6Address):
    """An IPv6Address that remembers its text: engines put peers' addresses in every
    trace line, and ``str(IPv6Address)`` costs microseconds each time."""

    __slots__ = ("_text",)

    def __init__(self, address: Any, text: str | None = None) -> None:
        """``text``: str(address), if the caller has it."""
        super().__init__(address)
        self._text = text if text is not None else IPv6Address.__str__(self)

    def __str__(self) -> str:
        return self._text


def is_link_local(value: int) -> bool:
    return value >> 118 == _LL_TEST


def is_multicast(value: int) -> bool:
    return value >> 120 == 0xFF


def derive_mac(seed: object, node: str, iface: str, salt: int = 0) -> bytes:
    """A locally administered unicast MAC, the same for the same seed and names."""
    h = hashlib.sha256(f"{seed}\0{node}\0{iface}\0{salt}".encode()).digest()
    return bytes([(h[0] & 0xFC) | 0x02]) + h[1:6]


def eui64_link_local(mac: bytes) -> Addr:
    iid = bytes([mac[0] ^ 0x02, mac[1], mac[2], 0xFF, 0xFE, mac[3], mac[4], mac[5]])
    return Addr(_LL_PREFIX | int.from_bytes(iid, "big"))


@dataclass
class Netem:
    """An impairment in force: loss and duplicate in percent, delay in seconds."""

    loss: float = 0.0
    duplicate: float = 0.0
    delay: float = 0.0

    @classmethod
    def of(cls, imp: Impairment | dict | None) -> Netem | None:
        if imp is None:
            return None
        if isinstance(imp, dict):
            n = cls(float(imp.get("loss", 0) or 0), float(imp.get("duplicate", 0) or 0),
                    float(imp.get("delay", 0) or 0))  # fmt: skip
        else:
            n = cls(imp.loss, imp.duplicate, imp.delay)
        return n if (n.loss or n.duplicate or n.delay) else None


class Iface:
    __slots__ = ("addrs", "impairment", "link", "ll", "mac", "name", "node", "up")

    def __init__(self, node: SimNode, name: str, link: LinkState, mac: bytes, ll: Addr) -> None:
        self.node = node
        self.name = name
        self.link = link
        self.mac = mac
        self.ll = ll
        self.addrs: list[IPv6Address] = []  # global addresses: static, then leased
        self.up = True
        self.impairment: Netem | None = None  # a netem on NODE:IFACE

    def __repr__(self) -> str:
        return f"<Iface {self.node.name}:{self.name}>"

    def source_for(self, dst: int) -> Addr | IPv6Address:
        """Source address selection, simplified: the link-local for link-local and
        multicast destinations, else a global address of this interface (or the node)."""
        if is_link_local(dst) or is_multicast(dst):
            return self.ll
        if self.addrs:
            return self.addrs[0]
        for other in self.node.ifaces.values():
            if other.addrs:
                return other.addrs[0]
        return self.ll


class LinkState:
    __slots__ = ("_listeners", "impairment", "kind", "lls", "members", "name", "prefix", "rng")

    def __init__(self, link: Link, seed: object) -> None:
        self.name = link.name
        self.kind = link.kind
        self.prefix = link.prefix
        self.members: list[Iface] = []
        self.lls: dict[int, Iface] = {}
        self.impairment = Netem.of(link.impairment)
        self.rng = random.Random(f"{seed}\0link\0{link.name}")
        self._listeners: dict[tuple[int, int], tuple[Iface, ...]] = {}


class Network:
    """The links and the datagrams on them; the simulator delivers what this schedules."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.links: dict[str, LinkState] = {}
        self.owners: dict[int, Iface] = {}  # global address → interface
        self.version = 0  # bumped when a multicast listener starts or stops
        self._seen_version = 0
        self._last_data: bytes | None = None
        self._last_msg: AnyMessage | None = None
        self._options: Memo = {}  # decode memo: options (and runs of them) by their wire form
        self.stats = {"sent": 0, "delivered": 0, "lost": 0, "duplicated": 0, "unroutable": 0,
                      "down": 0, "forwarded": 0}  # fmt: skip

    # ------------------------------------------------------------------ building
    def add_link(self, link: Link, seed: object) -> LinkState:
        st = self.links[link.name] = LinkState(link, seed)
        return st

    def attach(self, iface: Iface) -> None:
        link = iface.link
        salt = 0
        while int(iface.ll) in link.lls:  # a MAC collision on the link: draw again
            salt += 1
            iface.mac = derive_mac(self.sim.seed, iface.node.name, iface.name, salt)
            iface.ll = eui64_link_local(iface.mac)
        link.members.append(iface)
        link.lls[int(iface.ll)] = iface

    def add_address(self, iface: Iface, address: IPv6Address) -> None:
        v = int(address)
        if self.owners.get(v) is iface:
            return  # a Renew configures the same address again
        if address not in iface.addrs:
            iface.addrs.append(address)
        self.owners[v] = iface
        iface.node.own.add(v)

    def remove_address(self, iface: Iface, address: IPv6Address) -> None:
        if address in iface.addrs:
            iface.addrs.remove(address)
        v = int(address)
        if self.owners.get(v) is iface:
            del self.owners[v]
        if not any(v == int(a) for i in iface.node.ifaces.values() for a in i.addrs):
            iface.node.own.discard(v)

    def listeners_changed(self) -> None:
        self.version += 1

    # ------------------------------------------------------------------ sending
    def send(self, node: SimNode, msg: AnyMessage, dst: IPv6Address, port: int,
             iface: str | None, hop_limit: int | None) -> None:  # fmt: skip
        """A message an engine sends (EngineHost._send): encoded, routed, put on a link."""
        self.stats["sent"] += 1
        data = msg.encode()
        d = dst._ip if IP6_FAST else int(dst)  # int() of an address is a Python call
        if d >> 120 == 0xFF:  # is_multicast(d), inline: every datagram passes here
            one = node.ifaces.get(iface)  # type: ignore[arg-type]
            for out in (one,) if one is not None else list(node.ifaces.values()):
                if not out.up:
                    node.error(
                        f"send {msg.name} to {dst}: [Errno 100] Network is down ({out.name})"
                    )
                    continue
                self._put(out, d, (data, out.ll, dst, port, HOP_LIMIT, d))
            return
        if d >> 118 == _LL_TEST:  # link-local on the interface named (a server's Reply)
            out = node.ifaces.get(iface)  # type: ignore[arg-type]
            if out is not None:
                if not out.up:
                    node.error(f"send {msg.name} to {dst}: [Errno 100] Network is down ({out.name})")
                    return
                self._put(out, d, (data, out.ll, dst, port, hop_limit or HOP_LIMIT, d))
                return
        hop = node.route(d, iface)
        if hop is None:
            self.stats["unroutable"] += 1
            node.error(f"send {msg.name} to {dst}: [Errno 101] Network is unreachable")
            return
        out, nh = hop
        if not out.up:
            node.error(f"send {msg.name} to {dst}: [Errno 100] Network is down ({out.name})")
            return
        self._put(out, nh, (data, out.source_for(d), dst, port, hop_limit or HOP_LIMIT, d))

    def _put(self, out: Iface, nh: int, pkt: tuple) -> None:
        """Put a datagram on ``out``'s link toward ``nh`` (a multicast group or a
        neighbour's address); schedule its arrival at the receiving interfaces. ``pkt`` is
        (data, source, destination, port, hop limit, the destination as an integer)."""
        link = out.link
        imp = out.impairment or link.impairment
        sim = self.sim
        twice = False
        if imp is None:
            at = sim.now + LATENCY
        else:
            rng = link.rng
            if imp.loss and rng.random() * 100.0 < imp.loss:
                self.stats["lost"] += 1
                return
            if imp.duplicate and rng.random() * 100.0 < imp.duplicate:
                twice = True
                self.stats["duplicated"] += 1
            at = sim.now + (LATENCY + imp.delay)
        push = sim.push_arrival
        if nh >> 120 == 0xFF:  # is_multicast(nh)
            targets = link._listeners.get((nh, pkt[3])) if self._seen_version == self.version else None
            if targets is None:
                targets = self._multicast_targets(link, nh, pkt[3])
            if out in targets:  # a listener sending to its own group (a relay): not to itself
                targets = tuple(target for target in targets if target is not out)
            if twice:  # each receiver's two copies, one after the other
                targets = tuple(x for target in targets for x in (target, target))
            if len(targets) == 1:
                push(at, targets[0], pkt)
            elif targets:
                push(at, targets, pkt, ARRIVE_ALL)
            return
        target = link.lls.get(nh) if nh >> 118 == _LL_TEST else self.owners.get(nh)
        if target is None or target.link is not link:
            self.stats["unroutable"] += 1  # no neighbour answers: the kernel drops it
            return
        push(at, target, pkt)
        if twice:
            push(at, target, pkt)

    def _multicast_targets(self, link: LinkState, group: int, port: int) -> tuple[Iface, ...]:
        """The members of ``link`` that join ``group`` on ``port``, kept until a listener
        starts or stops."""
        if self._seen_version != self.version:
            for lk in self.links.values():
                lk._listeners.clear()
            self._seen_version = self.version
        key = (group, port)
        found = link._listeners.get(key)
        if found is None:
            found = link._listeners[key] = tuple(
                m for m in link.members if m.node.joins(group, port, m.name)
            )
        return found

    # ------------------------------------------------------------------ arriving
    def decoded(self, data: bytes) -> AnyMessage | None:
        """``decode(data)``, once per datagram: the copies of a multicast reach their
        receivers one after the other, so the last datagram decoded is remembered (its
        bytes held, so the identity test cannot be fooled by a reused id), and options seen
        before are looked up by their bytes (dhcp6.wire.decode's memo). The engines get the
        same immutable message. None: malformed — the engine's packet_received then
        decodes it and reports why."""
        if data is self._last_data:
            return self._last_msg
        try:
            msg: AnyMessage | None = decode(data, memo=self._options)
        except ParseError:
            msg = None
        self._last_data, self._last_msg = data, msg
        return msg

    def arrive(self, iface: Iface, pkt: tuple) -> None:
        if not iface.up:
            self.stats["down"] += 1
            return
        node = iface.node
        d = pkt[5]
        if d >> 120 == 0xFF or d in node.own or (is_link_local(d) and d == int(iface.ll)):
            self.stats["delivered"] += 1
            node.deliver(iface, pkt)
            return
        if not node.forwarding:
            self.stats["unroutable"] += 1
            return
        hops = pkt[4] - 1
        if hops <= 0 or is_link_local(d):
            self.stats["unroutable"] += 1
            return
        hop = node.route(d, None)
        if hop is None or not hop[0].up:
            self.stats["unroutable"] += 1
            return
        self.stats["forwarded"] += 1
        self._put(hop[0], hop[1], (pkt[0], pkt[1], pkt[2], pkt[3], hops, d))

    # ------------------------------------------------------------------ references
    def resolve(self, ref: str) -> tuple[LinkState | None, list[Iface]]:
        """A scenario's link reference: a link name (every member) or NODE:IFACE."""
        if ref in self.links:
            link = self.links[ref]
            return link, list(link.members)
        node, _, iface = ref.partition(":")
        n = self.sim.nodes.get(node)
        if n is None or iface not in n.ifaces:
            raise KeyError(f"no link or interface {ref!r}")
        return None, [n.ifaces[iface]]
