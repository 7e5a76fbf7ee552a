"""A small network-namespace lab for tests (Linux, root), built on pyroute2 netlink.

``NetnsLab`` creates namespaces, veth pairs and bridges that all carry one prefix, runs
commands inside them, and removes everything it made on ``close()`` / ``__exit__``,
pass or fail (an ``atexit`` hook closes any lab a test forgot)::

    with NetnsLab() as lab:
        lab.namespace("c1")
        lab.namespace("s1")
        lab.veth("c1", "eth0", "s1", "eth0")
        lab.add_address("s1", "eth0", "2001:db8:1::1")
        lla = lab.link_local("s1", "eth0")
        lab.run("c1", ["ping", "-6", "-c1", f"{lla}%eth0"])

How it works: each namespace gets one daemon worker thread that has ``setns``-ed into
it and owns an ``IPRoute`` socket opened there; every netlink request and sysctl write
for that namespace runs on its worker, so nothing forks except namespace creation
(``pyroute2.netns.create``) and the commands run with ``ip netns exec``. veth ends are
created directly inside their namespaces (the peer's ``net_ns_fd``), so no interface
ever appears in the root namespace and interface names only need to be unique inside
their own namespace.

This module is for tests; the lab builder (``lab/build``) is the real thing.
"""

from __future__ import annotations

import atexit
import contextlib
import ipaddress
import os
import queue
import re
import secrets
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pyroute2 import IPRoute
from pyroute2 import netns as pyr_netns

__all__ = ["INFINITE_LIFETIME", "NetnsLab", "NetnsLabError"]

#: Lifetime value (seconds) the kernel reports for "forever".
INFINITE_LIFETIME = 0xFFFFFFFF

NETNS_RUN_DIR = "/var/run/netns"
IFNAMSIZ = 16  # kernel limit including the trailing NUL: names are at most 15 characters

IFA_F_NODAD = 0x02
IFA_F_TENTATIVE = 0x40
IFA_F_DADFAILED = 0x08
_IFA_FLAG_NAMES = {
    0x01: "temporary",
    0x02: "nodad",
    0x04: "optimistic",
    0x08: "dadfailed",
    0x10: "homeaddress",
    0x20: "deprecated",
    0x40: "tentative",
    0x80: "permanent",
    0x100: "mngtmpaddr",
    0x200: "noprefixroute",
    0x400: "autojoin",
    0x800: "stable-privacy",
}

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_CALL_TIMEOUT = 30.0  # seconds one netlink/sysctl step may take before we give up
_TERM_GRACE = 3.0  # SIGTERM → SIGKILL delay for tracked processes
_POLL = 0.02

T = TypeVar("T")


class NetnsLabError(RuntimeError):
    """A lab step failed; the message names the node, interface and what went wrong."""


# --------------------------------------------------------------------------- workers


class _NsWorker:
    """A daemon thread that lives in one namespace and owns an IPRoute opened there."""

    def __init__(self, nsname: str) -> None:
        self.nsname = nsname
        self._queue: queue.SimpleQueue[tuple[Callable[[IPRoute], Any], Future] | None] = (
            queue.SimpleQueue()
        )
        self._ipr: IPRoute | None = None
        ready: Future[None] = Future()
        self._thread = threading.Thread(
            target=self._main, args=(ready,), name=f"netns:{nsname}", daemon=True
        )
        self._thread.start()
        ready.result(timeout=_CALL_TIMEOUT)

    def _main(self, ready: Future[None]) -> None:
        try:
            # setns(CLONE_NEWNET) only moves this thread; the rest of the process stays put.
            pyr_netns.setns(self.nsname, flags=0)
            self._ipr = IPRoute(groups=0)  # no multicast subscriptions: nothing piles up
        except BaseException as exc:
            ready.set_exception(exc)
            return
        ready.set_result(None)
        try:
            while True:
                item = self._queue.get()
                if item is None:
                    return
                fn, fut = item
                if not fut.set_running_or_notify_cancel():
                    continue
                try:
                    fut.set_result(fn(self._ipr))
                except BaseException as exc:
                    fut.set_exception(exc)
        finally:
            with contextlib.suppress(Exception):
                self._ipr.close()

    def call(self, fn: Callable[[IPRoute], T], timeout: float = _CALL_TIMEOUT) -> T:
        if not self._thread.is_alive():
            raise NetnsLabError(f"namespace {self.nsname}: its worker thread has stopped")
        fut: Future[T] = Future()
        self._queue.put((fn, fut))
        return fut.result(timeout=timeout)

    def stop(self, timeout: float = 5.0) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout)


def _write_sysctl(path: str, value: str) -> None:
    # /proc/sys/net resolves against the calling *thread's* network namespace.
    with open(f"/proc/sys/{path.replace('.', '/')}", "w") as f:
        f.write(value)


# --------------------------------------------------------------------------- records


@dataclass
class _Node:
    name: str
    nsname: str
    kind: str = "node"  # or "bridge"
    worker: _NsWorker | None = None
    bridge_ports: set[str] = field(default_factory=set)
    bridge_ifname: str = "br0"


_OPEN_LABS: set[NetnsLab] = set()
_OPEN_LABS_LOCK = threading.Lock()


def _close_all_at_exit() -> None:
    with _OPEN_LABS_LOCK:
        labs = list(_OPEN_LABS)
    for lab in labs:
        with contextlib.suppress(Exception):
            lab.close()


atexit.register(_close_all_at_exit)


def _check_name(what: str, name: str) -> None:
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise ValueError(
            f"{what} {name!r}: use 1–64 characters from A-Z a-z 0-9 _ . - "
            "(starting with a letter or digit)"
        )


def _check_ifname(ifname: str) -> None:
    if (
        not isinstance(ifname, str)
        or not 0 < len(ifname) < IFNAMSIZ
        or ifname in (".", "..")
        or any(c in ifname for c in "/:")
        or any(c.isspace() for c in ifname)
    ):
        raise ValueError(
            f"interface name {ifname!r}: must be 1–{IFNAMSIZ - 1} characters, "
            "without '/', ':' or whitespace"
        )


def _ns_inode(nsname: str) -> tuple[int, int] | None:
    try:
        st = os.stat(os.path.join(NETNS_RUN_DIR, nsname))
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _pids_in_namespaces(inodes: set[tuple[int, int]]) -> list[int]:
    """Processes (not threads) whose network namespace is one of ``inodes``."""
    found = []
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            st = os.stat(f"/proc/{entry}/ns/net")
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in inodes:
            found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); treat it as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


# --------------------------------------------------------------------------- the lab


class NetnsLab:
    """Namespaces, veths, bridges and processes for one test; all removed on close.

    Every namespace is named ``f"{prefix}-{name}"``; the default prefix is
    ``f"d6t{os.getpid()}-{4 random hex}"`` so two labs (in one process or many) never
    collide. Methods take the short node name given to :meth:`namespace` /
    :meth:`bridge`.
    """

    def __init__(self, prefix: str | None = None) -> None:
        if prefix is None:
            prefix = f"d6t{os.getpid()}-{secrets.token_hex(2)}"
        _check_name("prefix", prefix)
        self.prefix = prefix
        self._nodes: dict[str, _Node] = {}
        self._procs: list[subprocess.Popen] = []
        self._lock = threading.RLock()
        self._closed = False
        with _OPEN_LABS_LOCK:
            _OPEN_LABS.add(self)

    # -- context manager

    def __enter__(self) -> NetnsLab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{len(self._nodes)} namespaces"
        return f"<NetnsLab {self.prefix} {state}>"

    # -- namespaces

    def namespace(self, name: str, *, forwarding: bool = False) -> str:
        """Create namespace ``f"{prefix}-{name}"`` and return its full name.

        ``lo`` is brought up; ``net.ipv6.conf.{all,default}.disable_ipv6=0`` and
        ``accept_dad=0`` are set before any interface exists (so no address is ever
        tentative); ``forwarding=True`` also sets ``net.ipv6.conf.all.forwarding=1``.
        """
        return self._create_namespace(name, kind="node", forwarding=forwarding).nsname

    def bridge(self, name: str) -> str:
        """Create a lab-owned namespace ``f"{prefix}-{name}"`` holding bridge ``br0`` (up).

        Multicast snooping is off, so ``ff02::1:2`` and friends reach every port.
        Returns the namespace name; add members with :meth:`attach`.
        """
        node = self._create_namespace(name, kind="bridge", forwarding=False)

        def add(ipr: IPRoute) -> None:
            ipr.link("add", ifname=node.bridge_ifname, kind="bridge", br_mcast_snooping=0)
            ipr.link("set", index=self._lookup(ipr, node, node.bridge_ifname), state="up")

        self._call(node, add, f"bridge {name}: creating {node.bridge_ifname}")
        return node.nsname

    def _create_namespace(self, name: str, *, kind: str, forwarding: bool) -> _Node:
        _check_name("node name", name)
        with self._lock:
            self._check_open()
            if name in self._nodes:
                raise ValueError(f"node {name!r} already exists in lab {self.prefix}")
            nsname = f"{self.prefix}-{name}"
            if os.path.lexists(os.path.join(NETNS_RUN_DIR, nsname)):
                raise NetnsLabError(
                    f"namespace {nsname} already exists (not created by this lab); "
                    "delete it with `ip netns del` or use another prefix"
                )
            # Registered before anything is created: close() removes a half-made namespace.
            node = _Node(name=name, nsname=nsname, kind=kind)
            self._nodes[name] = node
        try:
            pyr_netns.create(nsname)
        except FileExistsError as exc:
            # Someone else made it between our check and now: it is not ours to delete.
            with self._lock:
                self._nodes.pop(name, None)
            raise NetnsLabError(f"node {name}: namespace {nsname} already exists") from exc
        except Exception as exc:
            raise NetnsLabError(f"node {name}: creating namespace {nsname} failed: {exc}") from exc
        node.worker = _NsWorker(nsname)

        def setup(ipr: IPRoute) -> None:
            for key in ("all", "default"):
                _write_sysctl(f"net.ipv6.conf.{key}.disable_ipv6", "0")
                _write_sysctl(f"net.ipv6.conf.{key}.accept_dad", "0")
            if forwarding:
                _write_sysctl("net.ipv6.conf.all.forwarding", "1")
            ipr.link("set", index=self._lookup(ipr, node, "lo"), state="up")

        self._call(node, setup, f"node {name}: sysctls and lo up in {nsname}")
        return node

    # -- links

    def veth(self, a: str, a_if: str, b: str, b_if: str, *, up: bool = True) -> None:
        """A veth pair: ``a_if`` inside node ``a``, ``b_if`` inside node ``b`` (both up).

        Both ends are created directly in their namespaces, never in the root one.
        """
        node_a, node_b = self._node(a), self._node(b)
        _check_ifname(a_if)
        _check_ifname(b_if)
        if node_a is node_b and a_if == b_if:
            raise ValueError(f"veth {a}:{a_if} <-> {b}:{b_if}: both ends have one name")
        where = f"veth {a}:{a_if} <-> {b}:{b_if}"
        self._add_veth(node_a, a_if, node_b, b_if, where)
        if up:
            self._set_up(node_a, a_if, where)
            self._set_up(node_b, b_if, where)

    def attach(self, node: str, node_if: str, bridge: str) -> str:
        """Join ``node`` to ``bridge`` with a veth: ``node_if`` in the node, a port in br0.

        Everything is up afterwards. Returns the port's interface name in the bridge
        namespace (``f"{node}-{node_if}"`` when that fits in 15 characters).
        """
        n, br = self._node(node), self._node(bridge)
        _check_ifname(node_if)
        if br.kind != "bridge":
            raise ValueError(f"attach {node}:{node_if}: {bridge!r} is not a bridge of this lab")
        where = f"attach {node}:{node_if} -> bridge {bridge}"
        with self._lock:
            port = f"{node}-{node_if}"
            if len(port) >= IFNAMSIZ or port in br.bridge_ports or port == br.bridge_ifname:
                i = len(br.bridge_ports)
                while f"port{i}" in br.bridge_ports:
                    i += 1
                port = f"port{i}"
            br.bridge_ports.add(port)
        self._add_veth(n, node_if, br, port, where)

        def enslave(ipr: IPRoute) -> None:
            br_idx = self._lookup(ipr, br, br.bridge_ifname)
            ipr.link("set", index=self._lookup(ipr, br, port), master=br_idx, state="up")

        self._call(br, enslave, f"{where}: enslaving {port} to {br.bridge_ifname}")
        self._set_up(n, node_if, where)
        return port

    def _add_veth(self, na: _Node, a_if: str, nb: _Node, b_if: str, where: str) -> None:
        def add(ipr: IPRoute) -> None:
            fd = os.open(os.path.join(NETNS_RUN_DIR, nb.nsname), os.O_RDONLY)
            try:
                ipr.link("add", ifname=a_if, kind="veth", peer={"ifname": b_if, "net_ns_fd": fd})
            finally:
                os.close(fd)

        self._call(na, add, f"{where}: creating the veth pair")

    def _set_up(self, node: _Node, ifname: str, where: str) -> None:
        def up(ipr: IPRoute) -> None:
            ipr.link("set", index=self._lookup(ipr, node, ifname), state="up")

        self._call(node, up, f"{where}: setting {node.name}:{ifname} up")

    # -- addresses

    def add_address(self, node: str, ifname: str, address: str, prefixlen: int = 64) -> None:
        """Add a static IPv6 address (``nodad``, lifetimes forever) to ``node:ifname``."""
        n = self._node(node)
        try:
            addr = ipaddress.IPv6Address(address)
        except ValueError as exc:
            raise ValueError(f"add_address {node}:{ifname}: {exc}") from None
        if not 0 <= prefixlen <= 128:
            raise ValueError(f"add_address {node}:{ifname}: prefix length {prefixlen} not 0–128")

        def add(ipr: IPRoute) -> None:
            ipr.addr(
                "add",
                index=self._lookup(ipr, n, ifname),
                family=socket.AF_INET6,
                address=str(addr),
                prefixlen=prefixlen,
                flags=IFA_F_NODAD,
            )

        self._call(n, add, f"add_address {node}:{ifname} {addr}/{prefixlen}")

    def addresses(self, node: str, ifname: str) -> list[dict]:
        """IPv6 addresses on ``node:ifname`` as the kernel reports them (netlink).

        Each is ``{address, prefixlen, preferred, valid, flags, flag_names, scope}``;
        ``preferred``/``valid`` are the remaining lifetimes in seconds from
        IFA_CACHEINFO (``INFINITE_LIFETIME`` for forever), ``flags`` the IFA_F_* bits,
        ``flag_names`` their ``ip``-style names (``{"nodad", "permanent"}``).
        """
        n = self._node(node)

        def dump(ipr: IPRoute) -> list[dict]:
            idx = self._lookup(ipr, n, ifname)
            out = []
            for msg in ipr.addr("dump", family=socket.AF_INET6):
                if msg["index"] != idx:
                    continue
                flags = msg.get_attr("IFA_FLAGS")
                if flags is None:
                    flags = msg["flags"]
                cache = msg.get_attr("IFA_CACHEINFO")
                out.append(
                    {
                        "address": msg.get_attr("IFA_ADDRESS") or msg.get_attr("IFA_LOCAL"),
                        "prefixlen": msg["prefixlen"],
                        "preferred": cache["ifa_preferred"] if cache else INFINITE_LIFETIME,
                        "valid": cache["ifa_valid"] if cache else INFINITE_LIFETIME,
                        "flags": flags,
                        "flag_names": frozenset(
                            name for bit, name in _IFA_FLAG_NAMES.items() if flags & bit
                        ),
                        "scope": msg["scope"],
                    }
                )
            return out

        return self._call(n, dump, f"addresses {node}:{ifname}")

    def link_local(self, node: str, ifname: str, timeout: float = 5.0) -> str:
        """Wait until ``node:ifname`` has a usable (non-tentative) fe80:: address; return it.

        Polls netlink every 20 ms; raises ``TimeoutError`` naming what was seen.
        """
        deadline = time.monotonic() + timeout
        seen: list[dict] = []
        while True:
            seen = self.addresses(node, ifname)
            for a in seen:
                if ipaddress.IPv6Address(a["address"]).is_link_local and not (
                    a["flags"] & (IFA_F_TENTATIVE | IFA_F_DADFAILED)
                ):
                    return a["address"]
            if time.monotonic() >= deadline:
                break
            time.sleep(_POLL)
        shown = ", ".join(f"{a['address']} {sorted(a['flag_names'])}" for a in seen) or "none"
        raise TimeoutError(
            f"{node}:{ifname} ({self.ns(node)}) had no usable link-local address after "
            f"{timeout} s (addresses: {shown}); is the link up on both ends?"
        )

    def ifindex(self, node: str, ifname: str) -> int:
        """The interface index of ``ifname`` inside ``node``."""
        n = self._node(node)
        return self._call(n, lambda ipr: self._lookup(ipr, n, ifname), f"ifindex {node}:{ifname}")

    # -- processes

    def run(self, node: str, argv: list[str], **popen_kwargs: Any) -> subprocess.CompletedProcess:
        """Run ``argv`` inside ``node`` (``ip netns exec``) and wait for it.

        Text output, captured unless ``stdout``/``stderr`` are given, ``check=False``,
        ``timeout=60`` unless given.
        """
        cmd = self._exec_argv(node, argv)
        popen_kwargs.setdefault("text", True)
        popen_kwargs.setdefault("check", False)
        popen_kwargs.setdefault("timeout", 60)
        if not {"stdout", "stderr", "capture_output"} & popen_kwargs.keys():
            popen_kwargs["capture_output"] = True
        return subprocess.run(cmd, **popen_kwargs)

    def popen(self, node: str, argv: list[str], **kw: Any) -> subprocess.Popen:
        """Start ``argv`` inside ``node``; the lab SIGTERMs (then SIGKILLs) it on close."""
        cmd = self._exec_argv(node, argv)
        with self._lock:
            self._check_open()
            # `ip netns exec` execs argv in place: the Popen pid is the command's pid.
            proc = subprocess.Popen(cmd, **kw)
            self._procs.append(proc)
        return proc

    def _exec_argv(self, node: str, argv: list[str]) -> list[str]:
        if isinstance(argv, str | bytes) or not argv:
            raise ValueError(f"node {node}: argv must be a non-empty list of strings")
        return ["ip", "netns", "exec", self._node(node).nsname, *map(str, argv)]

    # -- lookups

    def ns(self, node: str) -> str:
        """The full namespace name of ``node``."""
        return self._node(node).nsname

    @property
    def nodes(self) -> dict[str, str]:
        """Node name → namespace name, for everything this lab created."""
        return {name: n.nsname for name, n in self._nodes.items()}

    def _node(self, name: str) -> _Node:
        self._check_open()
        try:
            return self._nodes[name]
        except KeyError:
            known = ", ".join(sorted(self._nodes)) or "none yet"
            raise KeyError(f"no node {name!r} in lab {self.prefix} (nodes: {known})") from None

    @staticmethod
    def _lookup(ipr: IPRoute, node: _Node, ifname: str) -> int:
        found = ipr.link_lookup(ifname=ifname)
        if not found:
            raise NetnsLabError(f"node {node.name}: no interface {ifname!r} in {node.nsname}")
        return found[0]

    def _call(self, node: _Node, fn: Callable[[IPRoute], T], what: str) -> T:
        if node.worker is None:
            raise NetnsLabError(f"{what}: namespace {node.nsname} is not set up")
        try:
            return node.worker.call(fn)
        except NetnsLabError:
            raise
        except Exception as exc:
            raise NetnsLabError(f"{what}: {type(exc).__name__}: {exc}") from exc

    def _check_open(self) -> None:
        if self._closed:
            raise NetnsLabError(f"lab {self.prefix} is closed")

    # -- teardown

    def close(self) -> None:
        """Stop tracked processes, then delete every namespace (and so every interface).

        Idempotent. Every step is tried even if an earlier one failed; a namespace
        that could not be removed is reported at the end.
        """
        with self._lock:
            self._closed = True
            procs, self._procs = self._procs, []
            nodes = list(self._nodes.values())
        failed = []
        try:
            self._stop_processes(procs)
        except Exception as exc:  # keep going: the namespaces must still be deleted
            failed.append(f"stopping processes: {exc}")
        try:
            inodes = {ino for n in nodes if (ino := _ns_inode(n.nsname)) is not None}
            if inodes:
                self._stop_pids(_pids_in_namespaces(inodes), grace=1.0)
        except Exception as exc:
            failed.append(f"stopping processes left in the namespaces: {exc}")
        for n in nodes:
            if n.worker is not None:
                n.worker.stop()
                n.worker = None
        for n in nodes:
            path = os.path.join(NETNS_RUN_DIR, n.nsname)
            if not os.path.lexists(path):
                self._nodes.pop(n.name, None)
                continue
            try:
                pyr_netns.remove(n.nsname)
            except FileNotFoundError:
                pass
            except OSError as exc:
                failed.append(f"deleting namespace {n.nsname}: {exc}")
                continue
            self._nodes.pop(n.name, None)
        with _OPEN_LABS_LOCK:
            _OPEN_LABS.discard(self)
        if self._nodes:
            with _OPEN_LABS_LOCK:
                _OPEN_LABS.add(self)  # the atexit hook tries again
        if failed:
            raise NetnsLabError(
                f"lab {self.prefix}: cleanup incomplete: {'; '.join(failed)} "
                "(leftover namespaces: `ip netns list`, remove with `ip netns del NAME`)"
            )

    @staticmethod
    def _stop_processes(procs: list[subprocess.Popen]) -> None:
        # Newest first, each given a moment to exit: clients started after their server
        # get their Release answered before the server itself is stopped.
        live = [p for p in reversed(procs) if p.poll() is None]
        for p in live:
            with contextlib.suppress(ProcessLookupError):
                p.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=1.0)
        deadline = time.monotonic() + _TERM_GRACE
        while live and time.monotonic() < deadline:
            live = [p for p in live if p.poll() is None]
            if live:
                time.sleep(_POLL)
        for p in live:
            with contextlib.suppress(ProcessLookupError):
                p.kill()
        for p in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=5)
            for stream in (p.stdin, p.stdout, p.stderr):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()

    @staticmethod
    def _stop_pids(pids: list[int], grace: float) -> None:
        """SIGTERM, then SIGKILL, processes we did not start that live in our namespaces."""
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        live = [pid for pid in pids if _alive(pid)]
        while live and time.monotonic() < deadline:
            time.sleep(_POLL)
            live = [pid for pid in live if _alive(pid)]
        for pid in live:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
