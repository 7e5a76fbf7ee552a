"""asyncio UDP endpoint for DHCPv6 (Linux): one socket on ``[::]:port`` in a namespace.

``UdpEndpoint.open(port=547, interfaces=["eth0"], netns="lab-s1",
multicast=("ff02::1:2",), on_datagram=cb)`` creates the socket inside ``netns``
(:func:`~dhcp6.io.netns.run_in_netns`), so it serves that namespace for its whole life
while it is driven from the caller's asyncio loop — many endpoints of many namespaces
can share one loop and one process (DESIGN.md, "Hosting").

The socket: AF_INET6/SOCK_DGRAM bound to ``[::]:port``; SO_REUSEADDR, IPV6_V6ONLY,
IPV6_RECVPKTINFO (each datagram's destination address — unicast or which multicast
group — and ingress ifindex), IPV6_MULTICAST_ALL off (only groups *this* socket joined
are delivered), non-blocking, IPV6_JOIN_GROUP for each group on each named interface.

Receiving: ``loop.add_reader`` drains the socket with ``recvmsg`` until EAGAIN (at most
``MAX_BATCH`` datagrams per wake-up, then the loop runs other work and comes back), and
calls ``on_datagram(Datagram)`` for each. With ``interfaces`` given, a datagram whose
ingress interface is not one of them is dropped and counted in
``stats["foreign_iface"]``. Exceptions raised by ``on_datagram`` are counted
(``stats["callback_errors"]``) and passed to the loop's exception handler; the endpoint
keeps running. A source or destination address seen before is handed out as the same
(immutable) IPv6Address object again, its text computed once (see ``_Address``).

Sending: ``sendmsg`` with an IPV6_PKTINFO control message naming the outgoing
interface (and optionally the source address), the scope id set for link-local and
link-scope multicast destinations, and an IPV6_HOPLIMIT control message when
``hop_limit`` is given. Multicast leaves with the kernel's default hop limit 1 unless
``hop_limit`` says otherwise (a relay forwarding to ff05::1:3 must pass one). ``send``
never raises for network conditions: EAGAIN is counted in ``stats["send_dropped"]``,
other OSErrors in ``stats["send_errors"]`` with the message in
``stats["last_error"]`` for the engine's driver to trace. Bad arguments raise
ValueError.

Port ownership: SO_REUSEADDR lets a second socket bind the same port silently, and
Linux then hands unicast datagrams to only one of them. So after binding, ``open``
checks the namespace's ``/proc/thread-self/net/udp6`` and refuses (EndpointError
"port 547 is already in use …", naming the other socket's address and process) when
another UDP/IPv6 socket holds the port; ``exclusive=False`` skips that check.

Measured on kernel 6.18 (see tests/test_io_drivers.py): while the interface's
link-local address is still *tentative* (DAD running; 1–2 s after link up when
``accept_dad`` is on), ``sendmsg`` to ``ff02::1:2%eth0`` fails with EADDRNOTAVAIL
(no usable source address), an explicit tentative source in IPV6_PKTINFO fails with
EINVAL, and only IPV6_FREEBIND makes the kernel send from the tentative address — which
RFC 4862 §5.4 forbids, so we don't. A client waits for a usable link-local address
instead (:func:`dhcp6.io.netlink.wait_link_local`); in our namespaces DAD is off
(PEERS.md) and the link-local is usable as soon as the link is up.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import os
import socket
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import Any

from .netns import DriverError, run_in_netns
from .netns import where as _where

__all__ = [
    "MAX_BATCH",
    "Datagram",
    "EndpointError",
    "UdpEndpoint",
    "read_udp6_table",
]

# Linux constants the socket module does not export (include/uapi/linux/in6.h, socket.h).
IPV6_MULTICAST_ALL = 29
SO_RCVBUFFORCE = 33
SO_MEMINFO = 55
SK_MEMINFO_VARS = 9
SK_MEMINFO_DROPS = 8
SIOCGIFNAME = 0x8910
SIOCGIFINDEX = 0x8933

MAX_UDP = 65535  # receive buffer: the largest UDP payload (measured: no slower than 2 KiB)
MAX_BATCH = 1024  # datagrams handled per reader wake-up before yielding to the loop
_ANC_SIZE = socket.CMSG_SPACE(20) * 2  # struct in6_pktinfo, with room to spare
_BYTEORDER = sys.byteorder
_ZERO16 = bytes(16)


class EndpointError(DriverError):
    """The endpoint could not be opened (missing interface, port in use, …); one line."""


class _Address(IPv6Address):
    """An IPv6Address that keeps its text.

    A datagram's source is printed in trace events and turned back into text to send
    the reply, and CPython's ``str(IPv6Address)`` costs a few µs each time; the
    endpoint builds these once per distinct address (:data:`_ADDR_CACHE` entries) and
    hands the same object out again. Equal to, hashed and ordered like the plain
    IPv6Address of the same value; ``repr`` is IPv6Address's.
    """

    __slots__ = ("_text",)

    def __init__(self, address: str | bytes | int) -> None:
        super().__init__(address)
        self._text = IPv6Address.__str__(self)

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"IPv6Address({self._text!r})"


_ADDR_CACHE = 4096  # distinct addresses remembered per endpoint (sources, destinations)


@dataclass(frozen=True, slots=True)
class Datagram:
    """One received UDP datagram.

    ``src`` carries no ``%scope`` (``ifindex``/``ifname`` say where it came from);
    ``dst`` is the address it was sent to — ours, or the multicast group.
    """

    data: bytes
    src: IPv6Address
    sport: int
    dst: IPv6Address
    ifindex: int
    ifname: str


def _new_stats() -> dict[str, Any]:
    return {
        "received": 0,
        "foreign_iface": 0,
        "truncated": 0,
        "no_pktinfo": 0,
        "recv_errors": 0,
        "callback_errors": 0,
        "sent": 0,
        "send_dropped": 0,
        "send_errors": 0,
        "last_error": None,
    }


def _proc_ipv6(hexaddr: str) -> IPv6Address:
    # /proc/net/udp6 prints the address as four 32-bit words in host byte order.
    raw = bytes.fromhex(hexaddr)
    if _BYTEORDER == "little":
        raw = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    return IPv6Address(raw)


def _read_udp6_here() -> list[dict]:
    rows = []
    with open("/proc/thread-self/net/udp6") as f:
        next(f)
        for line in f:
            parts = line.split()
            if len(parts) < 13:
                continue
            laddr, lport = parts[1].split(":")
            rows.append(
                {
                    "address": _proc_ipv6(laddr),
                    "port": int(lport, 16),
                    "inode": int(parts[9]),
                    "drops": int(parts[12]),
                }
            )
    return rows


def read_udp6_table(netns: str | None = None) -> list[dict]:
    """The UDP/IPv6 sockets of ``netns`` from its ``/proc/net/udp6``.

    Rows are ``{address, port, inode, drops}``; ``drops`` is the kernel's per-socket
    drop counter (receive buffer full, bad checksum, …).
    """
    return run_in_netns(netns, _read_udp6_here)


def _socket_owner(inode: int) -> str:
    """'pid 123 (kea-dhcp6)' for the process holding socket ``inode``; best effort."""
    target = f"socket:[{inode}]"
    me = os.getpid()
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            fddir = f"/proc/{entry.name}/fd"
            try:
                fds = os.listdir(fddir)
            except OSError:
                continue
            for fd in fds:
                try:
                    if os.readlink(f"{fddir}/{fd}") != target:
                        continue
                except OSError:
                    continue
                if int(entry.name) == me:
                    return "this process"
                try:
                    with open(f"/proc/{entry.name}/comm") as f:
                        comm = f.read().strip()
                except OSError:
                    comm = "?"
                return f"pid {entry.name} ({comm})"
    return "an unknown process"


def _interfaces_here() -> dict[str, int]:
    return {name: index for index, name in socket.if_nameindex()}


def _open_socket(
    *,
    port: int,
    interfaces: list[str] | None,
    netns: str | None,
    multicast: tuple[IPv6Address, ...],
    rcvbuf: int | None,
    exclusive: bool,
) -> tuple[socket.socket, dict[str, int]]:
    """Runs inside the namespace: create, configure, bind, join; check the port."""
    present = _interfaces_here()
    if interfaces is None:
        ifindexes = present
    else:
        missing = [name for name in interfaces if name not in present]
        if missing:
            raise EndpointError(
                f"interface {', '.join(missing)} does not exist in {_where(netns)} "
                f"(it has: {', '.join(sorted(present)) or 'none'}); check the name",
                errno.ENODEV,
            )
        ifindexes = {name: present[name] for name in interfaces}
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0)
        if rcvbuf is not None:
            try:  # root may exceed net.core.rmem_max
                sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, rcvbuf)
            except PermissionError:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        try:
            sock.bind(("::", port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise EndpointError(
                    f"UDP port {port} is already in use in {_where(netns)} by a socket "
                    "without SO_REUSEADDR; stop the program holding it (`ss -ulpn`)",
                    errno.EADDRINUSE,
                ) from None
            if exc.errno == errno.EACCES:
                raise EndpointError(
                    f"binding UDP port {port} in {_where(netns)}: permission denied; "
                    "ports below 1024 need root (or CAP_NET_BIND_SERVICE)",
                    errno.EACCES,
                ) from None
            raise EndpointError(
                f"binding UDP [::]:{port} in {_where(netns)}: {exc.strerror}", exc.errno
            ) from None
        if exclusive and port != 0:
            mine = os.fstat(sock.fileno()).st_ino
            others = [r for r in _read_udp6_here() if r["port"] == port and r["inode"] != mine]
            if others:
                other = others[0]
                raise EndpointError(
                    f"UDP port {port} is already in use in {_where(netns)}: "
                    f"[{other['address']}]:{port} is held by {_socket_owner(other['inode'])}; "
                    "stop it or run this elsewhere",
                    errno.EADDRINUSE,
                )
        for group in multicast:
            for name, index in ifindexes.items():
                mreq = group.packed + struct.pack("@I", index)
                try:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
                except OSError as exc:
                    raise EndpointError(
                        f"joining {group} on {name} in {_where(netns)}: {exc.strerror} "
                        "(is the interface multicast-capable?)",
                        exc.errno,
                    ) from None
    except BaseException:
        sock.close()
        raise
    return sock, ifindexes


class UdpEndpoint:
    """A DHCPv6 UDP socket on ``[::]:port`` in a namespace, driven by an asyncio loop.

    Use :meth:`open`; ``close()`` (or ``with``) when done. ``stats`` counts what
    happened (see the module doc); ``ifindexes`` maps the endpoint's interfaces to
    their indexes in its namespace.
    """

    def __init__(
        self,
        sock: socket.socket,
        *,
        port: int,
        netns: str | None,
        interfaces: list[str] | None,
        ifindexes: dict[str, int],
        on_datagram: Callable[[Datagram], None],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._sock = sock
        self.port = port
        self.netns = netns
        self.interfaces = None if interfaces is None else list(interfaces)
        self._ifindexes = dict(ifindexes)
        self._names = {index: name for name, index in ifindexes.items()}
        self._allowed = None if interfaces is None else frozenset(ifindexes.values())
        self._on_datagram = on_datagram
        self._loop = loop
        self._pktinfo: dict[int, bytes] = {}
        self._sources: dict[str, IPv6Address] = {}  # kernel's text → address
        self._dests: dict[bytes, IPv6Address] = {}  # IPV6_PKTINFO address → address
        self._closed = False
        self.inode = os.fstat(sock.fileno()).st_ino
        self.stats: dict[str, Any] = _new_stats()
        loop.add_reader(sock.fileno(), self._on_readable)

    @classmethod
    async def open(
        cls,
        *,
        port: int,
        interfaces: list[str] | None,
        netns: str | None = None,
        multicast: tuple[str, ...] = (),
        on_datagram: Callable[[Datagram], None],
        loop: asyncio.AbstractEventLoop | None = None,
        rcvbuf: int | None = None,
        exclusive: bool = True,
    ) -> UdpEndpoint:
        """Open the endpoint (see the module doc). Raises EndpointError / NetnsError.

        ``interfaces=None`` listens on every interface (no filtering) and then cannot
        join multicast groups — name the interfaces for that. ``rcvbuf`` sets the
        socket receive buffer in bytes (SO_RCVBUFFORCE when permitted; the kernel
        doubles it).
        """
        if loop is None:
            loop = asyncio.get_running_loop()
        if not 0 <= port <= 65535:
            raise ValueError(f"UDP port {port} is not 0–65535")
        if isinstance(interfaces, str):
            raise ValueError(f"interfaces must be a list of names, not the string {interfaces!r}")
        groups = []
        for g in multicast:
            addr = IPv6Address(g)
            if not addr.is_multicast:
                raise ValueError(f"{g} is not a multicast address")
            groups.append(addr)
        if groups and not interfaces:
            raise ValueError(
                f"joining {', '.join(map(str, groups))} needs the interfaces to join on; "
                "pass interfaces=[...]"
            )
        sock, ifindexes = run_in_netns(
            netns,
            lambda: _open_socket(
                port=port,
                interfaces=interfaces,
                netns=netns,
                multicast=tuple(groups),
                rcvbuf=rcvbuf,
                exclusive=exclusive,
            ),
        )
        try:
            return cls(
                sock,
                port=port,
                netns=netns,
                interfaces=interfaces,
                ifindexes=ifindexes,
                on_datagram=on_datagram,
                loop=loop,
            )
        except BaseException:
            sock.close()
            raise

    # -- receiving

    def _on_readable(self) -> None:
        recvmsg = self._sock.recvmsg
        stats = self.stats
        allowed = self._allowed
        names = self._names
        deliver = self._on_datagram
        sources = self._sources
        dests = self._dests
        for _ in range(MAX_BATCH):
            try:
                data, ancdata, flags, addr = recvmsg(MAX_UDP, _ANC_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                stats["recv_errors"] += 1
                stats["last_error"] = f"recvmsg on port {self.port}: {exc}"
                return
            dst = None
            ifindex = 0
            for level, kind, value in ancdata:
                if level == socket.IPPROTO_IPV6 and kind == socket.IPV6_PKTINFO:
                    raw = value[:16]
                    dst = dests.get(raw)
                    if dst is None:
                        if len(dests) >= _ADDR_CACHE:
                            dests.clear()
                        dst = dests[raw] = _Address(raw)
                    ifindex = int.from_bytes(value[16:20], _BYTEORDER)
            if dst is None:
                stats["no_pktinfo"] += 1
                continue
            if flags & socket.MSG_TRUNC:
                stats["truncated"] += 1
                continue
            if allowed is not None and ifindex not in allowed:
                stats["foreign_iface"] += 1
                continue
            ifname = names.get(ifindex) or self._ifname_of(ifindex)
            host = addr[0]
            src = sources.get(host)
            if src is None:
                pct = host.find("%")
                if len(sources) >= _ADDR_CACHE:
                    sources.clear()
                src = sources[host] = _Address(host[:pct] if pct >= 0 else host)
            stats["received"] += 1
            try:
                deliver(Datagram(data, src, addr[1], dst, ifindex, ifname))
            except Exception as exc:
                stats["callback_errors"] += 1
                self._loop.call_exception_handler(
                    {
                        "message": f"UDP endpoint port {self.port} ({_where(self.netns)}): "
                        "on_datagram raised",
                        "exception": exc,
                    }
                )
            if self._closed:
                return

    def _ifname_of(self, ifindex: int) -> str:
        """Name of an interface index in the endpoint's namespace (ioctl on our socket)."""
        try:
            res = fcntl.ioctl(self._sock, SIOCGIFNAME, struct.pack("16si20x", b"", ifindex))
            name = res[:16].split(b"\0", 1)[0].decode()
        except OSError:
            return f"if{ifindex}"
        self._names[ifindex] = name
        if self._allowed is None:
            self._ifindexes.setdefault(name, ifindex)
        return name

    # -- sending

    def send(
        self,
        data: bytes,
        dst: IPv6Address | str,
        port: int,
        *,
        ifindex: int | None = None,
        ifname: str | None = None,
        hop_limit: int | None = None,
        src: IPv6Address | str | None = None,
    ) -> None:
        """Send ``data`` to ``[dst]:port`` (never raises for network errors; see stats).

        The outgoing interface is ``ifindex`` or ``ifname`` (one of the endpoint's
        interfaces, or any in its namespace when it has none), or the ``%scope`` of
        a ``"fe80::1%eth0"`` string; link-local and link-scope multicast destinations
        need one, and default to the endpoint's only interface if it has exactly one.
        ``src`` picks the source address (must be a usable local address); otherwise
        the kernel chooses. ``hop_limit`` (0–255) sets this datagram's hop limit.
        """
        if not isinstance(dst, IPv6Address):
            dst = IPv6Address(dst)
        host = str(dst)
        if dst.scope_id:
            host = host.partition("%")[0]
            scope_name = dst.scope_id
            if scope_name.isdigit():
                ifindex = self._check_same(ifindex, int(scope_name), dst)
            elif ifname is None or ifname == scope_name:
                ifname = scope_name
            else:
                raise ValueError(f"send to {dst}: conflicts with ifname={ifname!r}")
        if ifname is not None:
            ifindex = self._check_same(ifindex, self._index_of(ifname), dst)
        value = int(dst)
        needs_iface = (value >> 118) == 0x3FA or (  # fe80::/10
            (value >> 120) == 0xFF and ((value >> 112) & 0xF) <= 2  # ff01::, ff02:: scopes
        )
        if needs_iface and not ifindex:
            if len(self._ifindexes) == 1 and self._allowed is not None:
                ifindex = next(iter(self._ifindexes.values()))
            else:
                raise ValueError(
                    f"send to {dst}: a link-scope destination needs ifname= or ifindex= "
                    f"(endpoint interfaces: {', '.join(self._ifindexes) or 'any'})"
                )
        ancdata = []
        if ifindex or src is not None:
            if src is None:
                pktinfo = self._pktinfo.get(ifindex or 0)
                if pktinfo is None:
                    pktinfo = self._pktinfo[ifindex or 0] = _ZERO16 + struct.pack(
                        "@I", ifindex or 0
                    )
            else:
                pktinfo = IPv6Address(src).packed + struct.pack("@I", ifindex or 0)
            ancdata.append((socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, pktinfo))
        if hop_limit is not None:
            if not 0 <= hop_limit <= 255:
                raise ValueError(f"hop_limit {hop_limit} is not 0–255")
            ancdata.append(
                (socket.IPPROTO_IPV6, socket.IPV6_HOPLIMIT, struct.pack("@i", hop_limit))
            )
        stats = self.stats
        try:
            self._sock.sendmsg([data], ancdata, 0, (host, port, 0, ifindex if needs_iface else 0))
        except BlockingIOError:
            stats["send_dropped"] += 1
            return
        except OSError as exc:
            stats["send_errors"] += 1
            where = f"{host}%{self._names.get(ifindex or 0, ifindex)}" if ifindex else host
            hint = ""
            if exc.errno == errno.EADDRNOTAVAIL:
                hint = " (no usable source address: link-local still tentative, or src not ours)"
            elif exc.errno == errno.ENETUNREACH and needs_iface:
                hint = " (interface down, or IPv6 not configured on it yet)"
            stats["last_error"] = f"sendmsg to [{where}]:{port}: {exc.strerror or exc}{hint}"
            return
        stats["sent"] += 1

    @staticmethod
    def _check_same(current: int | None, new: int, dst: IPv6Address) -> int:
        if current is not None and current != new:
            raise ValueError(f"send to {dst}: interface index {current} and {new} disagree")
        return new

    def _index_of(self, ifname: str) -> int:
        index = self._ifindexes.get(ifname)
        if index is not None:
            return index
        if self._allowed is not None:
            raise ValueError(
                f"interface {ifname!r} is not one of this endpoint's ({', '.join(self._ifindexes)})"
            )
        try:
            res = fcntl.ioctl(self._sock, SIOCGIFINDEX, struct.pack("16si20x", ifname.encode(), 0))
        except OSError:
            raise ValueError(f"no interface {ifname!r} in {_where(self.netns)}") from None
        index = struct.unpack_from("@i", res, 16)[0]
        self._ifindexes[ifname] = index
        self._names[index] = ifname
        return index

    # -- information

    @property
    def ifindexes(self) -> dict[str, int]:
        """Interface name → index in the endpoint's namespace (a copy)."""
        return dict(self._ifindexes)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def rcvbuf(self) -> int:
        """The socket's receive buffer size in bytes as the kernel reports it."""
        return self._sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)

    def socket_drops(self) -> int:
        """The kernel's drop counter for this socket (datagrams lost before we read them).

        Read with SO_MEMINFO (the same ``sk_drops`` value that ``/proc/net/udp6``
        shows in its "drops" column); falls back to that file, read inside the
        endpoint's namespace, on kernels without SO_MEMINFO.
        """
        try:
            raw = self._sock.getsockopt(socket.SOL_SOCKET, SO_MEMINFO, 4 * SK_MEMINFO_VARS)
            if len(raw) >= 4 * (SK_MEMINFO_DROPS + 1):
                return struct.unpack_from("@I", raw, 4 * SK_MEMINFO_DROPS)[0]
        except OSError:
            pass
        for row in read_udp6_table(self.netns):
            if row["inode"] == self.inode:
                return row["drops"]
        raise EndpointError(f"socket inode {self.inode} not found in {_where(self.netns)}")

    # -- lifetime

    def close(self) -> None:
        """Stop reading and close the socket. Idempotent; call from the loop's thread."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            if not self._loop.is_closed():
                self._loop.remove_reader(self._sock.fileno())
        self._sock.close()

    def __enter__(self) -> UdpEndpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        ifs = ",".join(self._ifindexes) if self._allowed is not None else "*"
        state = "closed" if self._closed else "open"
        return f"<UdpEndpoint [::]:{self.port} {ifs} {_where(self.netns)} {state}>"
