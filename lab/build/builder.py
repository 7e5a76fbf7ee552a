"""Build a :class:`lab.model.Topology` into network namespaces, in-process, on netlink.

How a build runs (one worker thread; the caller waits for it):

1. Checks that cost nothing in the kernel: privileges, IPv6, names and lengths, the
   model's consistency, namespace names already taken. Any failure is a one-line
   :class:`BuildError` and nothing has been made.
2. The run directory is taken atomically (``state.LabState.create``).
3. One namespace per LAN (``<lab>--<link>``): IPv6 off there (a switch has no
   addresses: no link-local, no MLD, no RS from 1000 bridge ports), a bridge ``br0``
   with multicast snooping off, left down until its last port has joined.
4. One namespace per node (``<lab>-<node>``), in the topology's order. For each, the
   worker thread ``unshare(CLONE_NEWNET)``s into a fresh anonymous namespace, writes the
   sysctls (DAD off by default, forwarding on routers), opens its rtnetlink and AF_INET6
   sockets *there*, stats the namespace's nsfs identity, appends "name dev ino" to the
   journal, reserves ``/run/netns/<name>`` with O_EXCL and only then bind-mounts the
   namespace on its name. The node's interfaces are made from its socket in one batch:
   for a LAN port, one RTM_NEWLINK creates the veth with the bridge end directly in the
   LAN namespace (explicit ifindex, master br0, up) and the node end here (explicit
   ifindex); then the node end up with its alias, lo up with the lab's tag, addresses
   (``nodad``), routes (``onlink``: a DHCPv6 client has no address on the gateway's
   prefix until it gets a lease). A p2p link is made by the second of its two nodes, the far end
   put straight into the first node's namespace. Nothing ever appears in the root
   namespace. Then tx checksum offload off on every new interface (ethtool ioctl).
5. The bridges go up. ``lab.json`` and ``state: built`` are written; every socket is closed (the
   namespaces live on their bind mounts alone).

If anything fails (a kernel error, the progress callback raising, Ctrl-C in the
caller), the worker rolls back: it closes its sockets, deletes the namespaces it made
and removes the run directory, and the error is raised in the caller.

Sockets are bound to the namespace they were created in, so after a namespace's
sockets are open the thread moves on (the next ``unshare``) and never comes back.

Compared with munet (``munet/base.py``), which keeps each namespace alive with a
process (``unshare`` + a placeholder ``cat``/``mutini``, entered with ``nsenter``) and
runs an ``ip`` command per step, a namespace here lives on its bind mount alone, so a
lab needs no process and survives its builder; that is why ownership is recorded on
disk (see :mod:`lab.build.state`) rather than implied by a process tree.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.model import Endpoint, Link, Node, Topology

from . import kernel
from . import state as st
from .cleanup import remove_lab_dir
from .errors import BuildError
from .rtnl import NetlinkError, Rtnl

__all__ = ["BuiltLab", "build"]

#: Namespace names: "<lab>-<node>" for nodes, "<lab>--<link>" for LAN bridges. Names
#: start with a letter or digit, so a node's namespace never has "--" after the lab.
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
MAX_LAB_NAME = 32
MAX_NETNS_NAME = 64  # keeps paths under the run directory (and sun_path) short
IFNAMSIZ = 16
BRIDGE_IFNAME = "br0"
BRIDGE_INDEX = 2  # lo is 1 in a new namespace; nothing else is there
FIRST_INDEX = 2
ROUTER_KINDS = frozenset({"router", "dhcp6-relay"})
TAG = "dhcp6-lab"
IPV6_PROC = "/proc/sys/net/ipv6"

Progress = Callable[[int, int], None]


def _tag(lab: str, *what: str) -> str:
    return " ".join((TAG, lab, *what))[:255]


# ------------------------------------------------------------------------ the result


@dataclass
class BuiltLab:
    """A lab that :func:`build` made: names to reach it, and ``teardown()``.

    ``namespaces`` maps node → namespace, ``bridge_namespaces`` LAN link → namespace
    (its bridge is ``br0``), ``bridge_ports`` (node, iface) → the veth end in the
    bridge namespace, ``ifindex`` (node, iface) → ifindex inside the node.
    """

    name: str
    run_dir: Path
    build_id: str
    namespaces: dict[str, str]
    bridge_namespaces: dict[str, str]
    bridge_ports: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)
    ifindex: dict[tuple[str, str], int] = field(default_factory=dict, repr=False)
    topology: Topology | None = field(default=None, repr=False)

    def ns(self, node: str) -> str:
        """The namespace name of ``node`` (KeyError naming the lab's nodes if unknown)."""
        try:
            return self.namespaces[node]
        except KeyError:
            raise KeyError(
                f"lab {self.name} has no node {node!r} (nodes: {', '.join(self.namespaces)})"
            ) from None

    def bridge_ns(self, link: str) -> str:
        """The namespace holding LAN ``link``'s bridge ``br0``."""
        try:
            return self.bridge_namespaces[link]
        except KeyError:
            raise KeyError(f"lab {self.name} has no LAN {link!r}") from None

    def teardown(self) -> None:
        """Remove this lab (processes, namespaces, run directory). Idempotent."""
        if self.run_dir.is_dir():
            with st.locked(self.run_dir):
                remove_lab_dir(self.run_dir, self.name)

    def __enter__(self) -> BuiltLab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.teardown()


# ------------------------------------------------------------------------ planning


@dataclass
class _Plan:
    lab: str
    topology: Topology
    node_ns: dict[str, str]
    lan_ns: dict[str, str]
    ports: dict[tuple[str, str], str]  # (node, iface) → bridge port name
    peer: dict[tuple[str, str], Endpoint]  # p2p (node, iface) → far end
    order: dict[str, int]  # node → position in build order


def _check_name(what: str, name: str, limit: int | None = None) -> None:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise BuildError(
            f"{what} {name!r} is not a valid name: use letters, digits, '_', '.', '-', "
            "starting with a letter or digit"
        )
    if limit is not None and len(name) > limit:
        raise BuildError(f"{what} {name!r} is too long ({len(name)} > {limit} characters)")


def _check_ifname(node: str, name: str) -> None:
    bad = (
        not isinstance(name, str)
        or not name
        or len(name) >= IFNAMSIZ
        or name in (".", "..", "lo")
        or any(c in name for c in "/: \t\n%")
    )
    if bad:
        raise BuildError(
            f"node {node}: interface name {name!r} is not usable: 1–15 characters, "
            "no '/', ':', '%' or spaces, not 'lo'"
        )


def _plan(topology: Topology, lab: str) -> _Plan:
    _check_name("lab name", lab, MAX_LAB_NAME)
    if "--" in lab or lab.endswith("-"):
        raise BuildError(
            f"lab name {lab!r} must not contain '--' or end with '-' "
            '("<lab>--<link>" names the LAN namespaces)'
        )
    if not topology.nodes:
        raise BuildError(f"lab {lab}: topology {topology.name!r} has no nodes")
    node_ns: dict[str, str] = {}
    for key, node in topology.nodes.items():
        if key != node.name:
            raise BuildError(f"lab {lab}: node key {key!r} ≠ its name {node.name!r}")
        _check_name("node name", node.name)
        ns = f"{lab}-{node.name}"
        if len(ns) > MAX_NETNS_NAME:
            raise BuildError(
                f"node {node.name}: namespace name {ns!r} is too long "
                f"({len(ns)} > {MAX_NETNS_NAME} characters); shorten the lab or node name"
            )
        node_ns[node.name] = ns
        for ikey, iface in node.interfaces.items():
            _check_ifname(node.name, iface.name)
            if ikey != iface.name:
                raise BuildError(f"node {node.name}: interface key {ikey!r} ≠ {iface.name!r}")
            if iface.link not in topology.links:
                raise BuildError(
                    f"node {node.name}: interface {iface.name} is on link {iface.link!r}, "
                    "which the topology does not define"
                )
            for a in iface.addresses:
                if getattr(a, "version", None) != 6:
                    raise BuildError(f"node {node.name}:{iface.name}: {a!r} is not an IPv6 address")
        for r in node.routes:
            if r.iface not in node.interfaces:
                raise BuildError(
                    f"node {node.name}: route to {r.destination} leaves by {r.iface!r}, "
                    "which is not one of its interfaces"
                )
    lan_ns: dict[str, str] = {}
    ports: dict[tuple[str, str], str] = {}
    peer: dict[tuple[str, str], Endpoint] = {}
    seen: set[tuple[str, str]] = set()
    for key, link in topology.links.items():
        if key != link.name:
            raise BuildError(f"lab {lab}: link key {key!r} ≠ its name {link.name!r}")
        _check_name("link name", link.name)
        for ep in link.endpoints:
            node = topology.nodes.get(ep.node)
            if node is None or ep.iface not in node.interfaces:
                raise BuildError(f"link {link.name}: endpoint {ep} names no node interface")
            if node.interfaces[ep.iface].link != link.name:
                raise BuildError(
                    f"link {link.name}: endpoint {ep} says its interface is on "
                    f"{node.interfaces[ep.iface].link!r}"
                )
            if (ep.node, ep.iface) in seen:
                raise BuildError(f"link {link.name}: endpoint {ep} is on more than one link")
            seen.add((ep.node, ep.iface))
        if link.kind == "lan":
            ns = f"{lab}--{link.name}"
            if len(ns) > MAX_NETNS_NAME:
                raise BuildError(
                    f"link {link.name}: namespace name {ns!r} is too long "
                    f"({len(ns)} > {MAX_NETNS_NAME} characters)"
                )
            lan_ns[link.name] = ns
            used = {BRIDGE_IFNAME}
            for i, ep in enumerate(link.endpoints):
                port = f"{ep.node}-{ep.iface}"
                if len(port) >= IFNAMSIZ or port in used or "/" in port:
                    port = f"p{i}"
                    while port in used:
                        port += "x"
                used.add(port)
                ports[(ep.node, ep.iface)] = port
        elif link.kind == "p2p":
            if len(link.endpoints) != 2:
                raise BuildError(
                    f"link {link.name}: a p2p link has 2 endpoints, not {len(link.endpoints)}"
                )
            a, b = link.endpoints
            if a.node == b.node:
                raise BuildError(f"link {link.name}: both ends are on node {a.node}")
            peer[(a.node, a.iface)] = b
            peer[(b.node, b.iface)] = a
        else:
            raise BuildError(f"link {link.name}: kind {link.kind!r} is neither 'p2p' nor 'lan'")
    for node in topology.nodes.values():
        for iface in node.interfaces.values():
            if (node.name, iface.name) not in seen:
                raise BuildError(
                    f"node {node.name}: interface {iface.name} is not an endpoint of "
                    f"link {iface.link}"
                )
    clash = set(node_ns.values()) & set(lan_ns.values())
    if clash:
        raise BuildError(f"lab {lab}: namespace name(s) {sorted(clash)} used twice")
    order = {name: i for i, name in enumerate(topology.nodes)}
    return _Plan(lab, topology, node_ns, lan_ns, ports, peer, order)


def _in_use(root: Path, lab: str) -> BuildError:
    owner = st.read_owner(root / lab)
    if owner and not st.owner_alive(owner):
        return BuildError(
            f"lab {lab} is left over from pid {owner.get('pid')}, which is gone: "
            "run clean() (`lab clean`) first, or pick another name"
        )
    who = f" by pid {owner.get('pid')}" if owner else ""
    return BuildError(
        f"lab name {lab!r} is already in use{who} ({root / lab}); pick another name "
        "or tear that lab down first"
    )


def _preflight(plan: _Plan, root: Path) -> None:
    caps = kernel.effective_caps()
    need = (1 << kernel.CAP_SYS_ADMIN) | (1 << kernel.CAP_NET_ADMIN)
    if caps & need != need:
        raise BuildError(
            "building a lab needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN): run it as root"
        )
    if not os.path.isdir(IPV6_PROC):
        raise BuildError(
            "IPv6 is disabled in this kernel (no /proc/sys/net/ipv6; booted with "
            "ipv6.disable=1?): boot with IPv6 enabled"
        )
    if os.path.lexists(root / plan.lab):
        raise _in_use(root, plan.lab)
    taken = [
        n
        for n in (*plan.lan_ns.values(), *plan.node_ns.values())
        if os.path.lexists(os.path.join(kernel.NETNS_RUN_DIR, n))
    ]
    if taken:
        more = f" and {len(taken) - 3} more" if len(taken) > 3 else ""
        raise BuildError(
            f"lab {plan.lab}: namespace {', '.join(taken[:3])}{more} already exist(s) and "
            "are not this lab's; pick another lab name (or remove them if they are stale)"
        )


# ------------------------------------------------------------------------ building


class _Ns:
    """A namespace being built: its sockets (opened inside it) and ifindex counter."""

    __slots__ = ("fd", "ident", "name", "next_index", "rt", "udp")

    def __init__(self, name: str, ident: tuple[int, int], rt: Rtnl, udp: socket.socket) -> None:
        self.name = name
        self.ident = ident
        self.rt = rt
        self.udp = udp
        self.fd: int | None = None
        self.next_index = FIRST_INDEX

    def nsfd(self) -> int:
        if self.fd is None:
            self.fd = os.open(
                os.path.join(kernel.NETNS_RUN_DIR, self.name), os.O_RDONLY | os.O_CLOEXEC
            )
        return self.fd

    def take_index(self) -> int:
        i = self.next_index
        self.next_index += 1
        return i

    def close(self) -> None:
        self.rt.close()
        self.udp.close()
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class _Work:
    """A node whose interfaces are not all made yet (a p2p far end still to come)."""

    __slots__ = ("ifindex", "missing", "node", "ns")

    def __init__(self, node: Node, ns: _Ns) -> None:
        self.node = node
        self.ns = ns
        self.missing = len(node.interfaces)
        self.ifindex: dict[str, int] = {}


class _Builder:
    def __init__(
        self, plan: _Plan, lab_state: st.LabState, progress: Progress | None, build_id: str
    ) -> None:
        self.plan = plan
        self.state = lab_state
        self.progress = progress
        self.build_id = build_id
        self.cancel = threading.Event()
        self.created: list[tuple[str, tuple[int, int]]] = []
        self.bridges: dict[str, _Ns] = {}
        self.work: dict[str, _Work] = {}
        self.done = 0
        self.total = len(plan.topology.nodes)
        self.ifindex: dict[tuple[str, str], int] = {}
        self.node_sysctls: list[tuple[str, str]] = []
        self.orig_fd = -1

    # -- namespaces

    def _probe(self) -> None:
        """Learn, in a throwaway namespace, which sysctls a new namespace needs."""
        kernel.unshare_net()
        sysctls = [("net.ipv6.conf.default.accept_dad", "0")]
        try:
            if kernel.read_sysctl("net.ipv6.conf.all.accept_dad") != "0":
                sysctls.append(("net.ipv6.conf.all.accept_dad", "0"))
            for key in ("all", "default"):
                if kernel.read_sysctl(f"net.ipv6.conf.{key}.disable_ipv6") != "0":
                    sysctls.insert(0, (f"net.ipv6.conf.{key}.disable_ipv6", "0"))
        except OSError as exc:
            raise BuildError(
                f"IPv6 is not usable in a new network namespace ({exc.strerror}): "
                "check net.ipv6.conf.*.disable_ipv6 and net.core.devconf_inherit_init_net"
            ) from None
        self.node_sysctls = sysctls

    def _new_ns(self, name: str, sysctls: list[tuple[str, str]], what: str) -> _Ns:
        kernel.unshare_net()
        try:
            for key, value in sysctls:
                kernel.write_sysctl(key, value)
        except OSError as exc:
            raise BuildError(f"{what}: setting {key}={value} failed: {exc.strerror}") from None
        ident = kernel.ns_id("/proc/thread-self/ns/net")
        assert ident is not None
        rt = Rtnl()
        try:
            udp = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        except OSError as exc:
            rt.close()
            raise BuildError(
                f"{what}: no IPv6 socket in the new namespace ({exc.strerror}); "
                "is IPv6 disabled (net.ipv6.conf.all.disable_ipv6=1)?"
            ) from None
        ns = _Ns(name, ident, rt, udp)
        path = os.path.join(kernel.NETNS_RUN_DIR, name)
        # Journaled before the name is reserved, and so before the namespace gets it: a
        # crash at any point leaves nothing unlisted (killed before the reservation, the
        # name is listed but absent, which clean skips; a reservation without its
        # namespace is an empty file, which clean removes as the lab's own).
        try:
            self.state.record_namespace(name, ident)
        except OSError as exc:
            ns.close()
            raise BuildError(f"{what}: cannot write the lab's journal: {exc.strerror}") from None
        try:
            os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0))
        except OSError as exc:
            ns.close()
            with contextlib.suppress(OSError):  # not reserved: what is there is not ours
                self.state.retract_namespace(name)
            if isinstance(exc, FileExistsError):
                raise BuildError(
                    f"{what}: namespace {name} appeared while the lab was being built "
                    "(someone else made it); pick another lab name"
                ) from None
            raise BuildError(f"{what}: cannot create {path}: {exc.strerror}") from None
        try:
            kernel.bind_thread_netns(path)
        except BaseException as exc:
            ns.close()
            with contextlib.suppress(OSError):
                os.unlink(path)
            if isinstance(exc, OSError):
                raise BuildError(f"{what}: naming namespace {name} failed: {exc}") from None
            raise
        self.created.append((name, ident))
        return ns

    # -- the steps

    def _make_bridge(self, link: Link) -> None:
        name = self.plan.lan_ns[link.name]
        what = f"LAN {link.name}"
        ns = self._new_ns(name, [("net.ipv6.conf.default.disable_ipv6", "1")], what)
        self.bridges[link.name] = ns
        ns.rt.set_link(1, alias=_tag(self.plan.lab, self.build_id), what=f"{what}: tagging lo")
        # Down while ports join: each port joining an *up* bridge costs O(ports) in the
        # kernel (STP port-state selection, feature and MTU recomputation), so a
        # 1000-node LAN built up costs 10–19 ms a node at the end against ≈ 2 ms built
        # down (measured here); the bridge goes up once, after its last port.
        ns.rt.add_bridge(
            BRIDGE_IFNAME, index=BRIDGE_INDEX, up=False, what=f"{what}: creating bridge"
        )
        ns.rt.set_link(
            BRIDGE_INDEX, alias=_tag(self.plan.lab, "lan", link.name), what=f"{what}: bridge alias"
        )
        ns.next_index = BRIDGE_INDEX + 1
        self._commit(ns, what)
        ns.nsfd()

    def _make_node(self, node: Node) -> None:
        plan = self.plan
        lab = plan.lab
        sysctls = self.node_sysctls
        forwarding = node.options.get("forwarding", node.kind in ROUTER_KINDS)
        if node.options.get("dad"):
            sysctls = [s for s in sysctls if not s[0].endswith("accept_dad")]
        if forwarding:
            sysctls = [*sysctls, ("net.ipv6.conf.all.forwarding", "1")]
        ns = self._new_ns(plan.node_ns[node.name], sysctls, f"node {node.name}")
        work = _Work(node, ns)
        self.work[node.name] = work
        rt = ns.rt
        rt.set_link(1, up=True, alias=_tag(lab, self.build_id), what=f"node {node.name}: lo up")
        offload: list[tuple[_Ns, str]] = []
        touched: list[_Work] = []
        for iface in node.interfaces.values():
            where = f"node {node.name}: interface {iface.name}"
            link = plan.topology.links[iface.link]
            if link.kind == "lan":
                br = self.bridges[link.name]
                idx = ns.take_index()
                port = plan.ports[(node.name, iface.name)]
                port_idx = br.take_index()
                rt.add_veth(
                    port,
                    iface.name,
                    index=port_idx,
                    peer_index=idx,
                    netns_fd=br.nsfd(),
                    master=BRIDGE_INDEX,
                    what=f"{where}: veth to LAN {link.name}",
                )
                br.rt.set_link(
                    port_idx,
                    alias=_tag(lab, "lan", link.name, "port", f"{node.name}:{iface.name}"),
                    what=f"LAN {link.name}: port {port} alias",
                )
                offload.append((br, port))
            else:
                far = plan.peer[(node.name, iface.name)]
                other = self.work.get(far.node)
                if other is None:
                    continue  # the far node comes later and makes this link
                idx = ns.take_index()
                far_idx = other.ns.take_index()
                rt.add_veth(
                    far.iface,
                    iface.name,
                    index=far_idx,
                    peer_index=idx,
                    netns_fd=other.ns.nsfd(),
                    what=f"{where}: veth to {far}",
                )
                other.ns.rt.set_link(
                    far_idx,
                    alias=_tag(lab, f"{far.node}:{far.iface}", "link", link.name),
                    what=f"node {far.node}: interface {far.iface} alias",
                )
                other.ifindex[far.iface] = far_idx
                other.missing -= 1
                touched.append(other)
            rt.set_link(
                idx,
                up=True,
                alias=_tag(lab, f"{node.name}:{iface.name}", "link", link.name),
                what=f"{where}: up",
            )
            work.ifindex[iface.name] = idx
            work.missing -= 1
        if work.missing == 0:
            self._configure(work)
        self._commit(ns, f"node {node.name}")
        for br, port in offload:
            self._offload(br, port, f"LAN {br.name}")
        if work.missing == 0:
            self._finish(work)
        for other in touched:
            if other.missing == 0:
                self._configure(other)
                self._commit(other.ns, f"node {other.node.name}")
                self._finish(other)

    def _configure(self, work: _Work) -> None:
        node, rt, idx = work.node, work.ns.rt, work.ifindex
        for iface in node.interfaces.values():
            for addr in iface.addresses:
                rt.add_address(
                    idx[iface.name],
                    addr,
                    what=f"node {node.name}: address {addr} on {iface.name}",
                )
        for r in node.routes:
            # onlink: the model puts the gateway on r.iface's link, and the node may not
            # have an address there yet (a DHCPv6 client gets its address later).
            rt.add_route(
                r.destination,
                r.via,
                idx[r.iface],
                onlink=True,
                what=f"node {node.name}: route {r.destination} via {r.via} dev {r.iface}",
            )

    def _commit(self, ns: _Ns, what: str) -> None:
        try:
            ns.rt.commit()
        except NetlinkError as exc:
            raise BuildError(f"lab {self.plan.lab}: {exc}") from None

    def _offload(self, ns: _Ns, ifname: str, what: str) -> None:
        try:
            kernel.set_tx_csum(ns.udp.fileno(), ifname, False)
        except OSError as exc:
            raise BuildError(
                f"lab {self.plan.lab}: {what}: turning tx checksum offload off on "
                f"{ifname} failed: {exc.strerror}"
            ) from None

    def _finish(self, work: _Work) -> None:
        node = work.node
        for ifname in node.interfaces:
            self._offload(work.ns, ifname, f"node {node.name}")
            self.ifindex[(node.name, ifname)] = work.ifindex[ifname]
        work.ns.close()
        del self.work[node.name]
        self.done += 1
        if self.progress is not None:
            # The callback runs in the caller's namespace, not in the last lab namespace.
            kernel.setns_net(self.orig_fd)
            self.progress(self.done, self.total)

    # -- driver

    def run(self) -> None:
        self.orig_fd = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            kernel.ensure_netns_dir()
            self._probe()
            for link in self.plan.topology.links.values():
                if link.kind == "lan":
                    if self.cancel.is_set():
                        raise _Cancelled
                    self._make_bridge(link)
            for node in self.plan.topology.nodes.values():
                if self.cancel.is_set():
                    raise _Cancelled
                self._make_node(node)
            if self.work:  # cannot happen with a valid plan: every p2p link has two nodes
                raise BuildError(f"lab {self.plan.lab}: nodes left unfinished: {list(self.work)}")
            for link_name, br in self.bridges.items():
                br.rt.set_link(BRIDGE_INDEX, up=True, what=f"LAN {link_name}: bridge up")
                self._commit(br, f"LAN {link_name}")
        finally:
            for br in self.bridges.values():
                br.close()
            for work in self.work.values():
                work.ns.close()
            with contextlib.suppress(OSError):
                kernel.setns_net(self.orig_fd)
            os.close(self.orig_fd)

    def rollback(self) -> str | None:
        """Delete what this build made; return a problem (one line) or None."""
        try:
            # What this build journaled, verified namespace by namespace (nsfs identity).
            remove_lab_dir(self.state.run_dir, self.plan.lab)
        except BuildError as exc:
            return str(exc)
        except OSError as exc:
            return f"rollback of lab {self.plan.lab} failed: {exc}"
        finally:
            self.state.close()
        return None

    def result(self) -> dict[str, Any]:
        plan = self.plan
        return {
            "lab": plan.lab,
            "build_id": self.build_id,
            "topology": plan.topology.name,
            "nodes": {
                name: {
                    "namespace": plan.node_ns[name],
                    "kind": node.kind,
                    "interfaces": {
                        ifname: {
                            "link": iface.link,
                            "ifindex": self.ifindex[(name, ifname)],
                            **(
                                {"bridge_port": plan.ports[(name, ifname)]}
                                if (name, ifname) in plan.ports
                                else {}
                            ),
                        }
                        for ifname, iface in node.interfaces.items()
                    },
                }
                for name, node in plan.topology.nodes.items()
            },
            "lans": {
                link: {"namespace": ns, "bridge": BRIDGE_IFNAME} for link, ns in plan.lan_ns.items()
            },
        }


class _Cancelled(BaseException):
    """The caller was interrupted; the worker stops and rolls back."""


def build(
    topology: Topology,
    lab: str,
    run_root: Path | str | None = None,
    progress: Progress | None = None,
) -> BuiltLab:
    """Build ``topology`` as lab ``lab``; return a :class:`BuiltLab`.

    ``run_root``: where the lab's run directory goes (default ``/run/dhcp6-lab``, or
    ``$DHCP6_LAB_RUN_ROOT``). ``progress(done, total)`` is called after each node is
    complete (``total`` = number of nodes), in the build's worker thread but in the
    caller's network namespace; if it raises, the build rolls back and the exception
    propagates unchanged. Errors are :class:`BuildError` with a one-line message; on
    any failure nothing of the lab is left (no namespace, no run directory).
    """
    plan = _plan(topology, lab)
    root = st.resolve_run_root(run_root)
    _preflight(plan, root)
    build_id = secrets.token_hex(4)
    try:
        lab_state = st.LabState.create(root, lab, build_id, topology.name)
    except FileExistsError:
        raise _in_use(root, lab) from None
    except OSError as exc:
        raise BuildError(
            f"lab {lab}: cannot create its run directory under {root}: {exc.strerror or exc}"
        ) from None

    builder = _Builder(plan, lab_state, progress, build_id)
    outcome: list[BaseException] = []

    def body() -> None:
        try:
            builder.run()
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=body, name=f"lab-build:{lab}", daemon=True)
    worker.start()
    interrupted: BaseException | None = None
    while True:
        try:
            worker.join()
            break
        except BaseException as exc:  # Ctrl-C in the caller: stop the worker, roll back
            interrupted = exc
            builder.cancel.set()
    error = outcome[0] if outcome else None
    if interrupted is not None and (error is None or isinstance(error, _Cancelled)):
        error = interrupted
    if error is None and interrupted is None:
        try:
            lab_state.mark_built(builder.result())
        except OSError as exc:
            error = BuildError(f"lab {lab}: writing {lab_state.run_dir}: {exc.strerror or exc}")
    if error is not None:
        problem = builder.rollback()
        if problem is not None:
            raise BuildError(f"{error} — and rolling back failed: {problem}") from None
        if isinstance(error, NetlinkError):
            raise BuildError(f"lab {lab}: {error}") from None
        if isinstance(error, OSError) and not isinstance(error, BuildError):
            raise BuildError(f"lab {lab}: {error.strerror or error}") from None
        try:
            raise error
        finally:
            error = None
    return BuiltLab(
        name=lab,
        run_dir=lab_state.run_dir,
        build_id=build_id,
        namespaces=dict(plan.node_ns),
        bridge_namespaces=dict(plan.lan_ns),
        bridge_ports=dict(plan.ports),
        ifindex=dict(builder.ifindex),
        topology=topology,
    )
