"""Kernel address configuration and link/address events for the DHCPv6 client (Linux).

:class:`AddressDriver` adds, replaces, lists and removes the IPv6 addresses of one
interface; :class:`LinkMonitor` reports link up/down, DAD failures and removed
addresses of one interface to an asyncio callback; :func:`wait_link_local` waits until
the interface has a usable link-local address (a client cannot send before that).
Each opens its rtnetlink socket inside the interface's namespace
(:func:`~dhcp6.io.netns.run_in_netns`), so one process drives many namespaces.

Why a plain ``AF_NETLINK`` socket and not a pyroute2 ``IPRoute``: measured with
pyroute2 0.9.7, an ``IPRoute`` keeps one netlink socket *per calling thread* and opens
it lazily in that thread's namespace — an ``IPRoute()`` made inside the namespace
thread and then used from the loop thread silently lists and changes the *root*
namespace (its ``use_socket=`` refuses a socket from another thread, and
``IPRoute(netns=…)`` forks a helper per namespace, 19–22 ms each, PEERS.md). A netlink
socket created in the namespace is bound to it for good, whatever thread uses it; the
few rtnetlink messages needed here (RTM_NEWADDR/DELADDR/GETADDR, and parsing
RTM_NEWLINK) are encoded below with ``struct``.

Blocking: the requests are synchronous and fast — measured on an interface with a few
addresses: add ≈ 25 µs, replace ≈ 20 µs, remove ≈ 22 µs, dump ≈ 20 µs (with 500
addresses on the interface: add ≈ 150 µs, dump ≈ 2 ms) — so they run directly on the
caller's thread (the asyncio loop); an executor hop alone costs more than that. A
thousand clients configuring an address each cost the loop ≈ 25 ms in total.

Lifetimes: the wire carries protocol seconds; the kernel is given
``ceil(seconds / time_scale)``, at least 1 s, with 0xffffffff ("infinity") kept
as is and 0 (a deprecated address's preferred lifetime) kept as 0. Rounding *up* means
the kernel never expires an address before the engine's own (scaled) timer does, so
the engine stays in charge of removing it. Kernel address lifetimes are uint32 seconds
with 0xffffffff meaning forever: values outside 0..0xffffffff, a valid lifetime of 0
(the kernel refuses it; call :meth:`AddressDriver.remove`) and preferred > valid
raise ValueError before anything is sent. The kernel reports *remaining* lifetimes.

Flags: DAD stays on (no IFA_F_NODAD) so a duplicate is detected when the interface's
``accept_dad`` is on — the kernel then deletes the address (finite lifetimes) or marks
it ``dadfailed`` (infinite ones) and :class:`LinkMonitor` reports ``dad-failed``; with
``accept_dad=0`` (our namespaces, PEERS.md) addresses are usable at once.
IFA_F_NOPREFIXROUTE is set by default: a DHCPv6 lease says nothing about which
prefix is on-link (RFC 5942 — that is the Router Advertisement's job), so adding
2001:db8:1::5/64 must not install a 2001:db8:1::/64 route; pass ``prefix_route=True``
to :meth:`AddressDriver.add` to get the kernel's prefix route anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import math
import os
import socket
import struct
from collections.abc import Callable
from ipaddress import IPv6Address
from typing import Any

from .netns import DriverError, run_in_netns
from .netns import where as _where

__all__ = [
    "IFA_F_DADFAILED",
    "IFA_F_NODAD",
    "IFA_F_NOPREFIXROUTE",
    "IFA_F_TENTATIVE",
    "INFINITE_LIFETIME",
    "AddressDriver",
    "LinkMonitor",
    "NetlinkError",
    "kernel_lifetime",
    "wait_link_local",
]

INFINITE_LIFETIME = 0xFFFFFFFF

# rtnetlink (include/uapi/linux/netlink.h, rtnetlink.h, if_addr.h, if.h)
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_DUMP = 0x300
NLM_F_REPLACE = 0x100
NLM_F_CREATE = 0x400
NLM_F_CAPPED = 0x100  # in an NLMSG_ERROR
NLM_F_ACK_TLVS = 0x200  # in an NLMSG_ERROR
NLMSGERR_ATTR_MSG = 1
RTM_NEWLINK = 16
RTM_DELLINK = 17
RTM_NEWADDR = 20
RTM_DELADDR = 21
RTM_GETADDR = 22
RTMGRP_LINK = 0x1
RTMGRP_IPV6_IFADDR = 0x100
SOL_NETLINK = 270
NETLINK_EXT_ACK = 11
NETLINK_GET_STRICT_CHK = 12
SO_RCVBUFFORCE = 33
IFA_ADDRESS = 1
IFA_LOCAL = 2
IFA_CACHEINFO = 6
IFA_FLAGS = 8
IFA_F_TEMPORARY = 0x01
IFA_F_NODAD = 0x02
IFA_F_OPTIMISTIC = 0x04
IFA_F_DADFAILED = 0x08
IFA_F_DEPRECATED = 0x20
IFA_F_TENTATIVE = 0x40
IFA_F_PERMANENT = 0x80
IFA_F_NOPREFIXROUTE = 0x200
IFF_UP = 0x1
IFF_RUNNING = 0x40
SIOCGIFFLAGS = 0x8913

_FLAG_NAMES = {
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

_NLMSGHDR = struct.Struct("=IHHII")  # len, type, flags, seq, pid
_IFADDRMSG = struct.Struct("=BBBBi")  # family, prefixlen, flags, scope, index
_IFINFOMSG = struct.Struct("=BxHiII")  # family, type, index, flags, change
_RTATTR = struct.Struct("=HH")  # len, type
_CACHEINFO = struct.Struct("=IIII")  # preferred, valid, cstamp, tstamp
_REQUEST_TIMEOUT = 5.0
_MONITOR_RCVBUF = 1 << 20


class NetlinkError(DriverError):
    """A netlink step failed or the interface is missing; one line naming where."""


def kernel_lifetime(seconds: int, time_scale: float = 1.0) -> int:
    """Protocol seconds → kernel seconds: ``ceil(seconds / time_scale)``, at least 1.

    ``0xffffffff`` (infinity) and 0 are kept; the result is always a uint32 and
    never becomes infinity by scaling. Raises ValueError outside 0..0xffffffff.
    """
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise ValueError(f"lifetime {seconds!r} is not an integer number of seconds")
    if not 0 <= seconds <= INFINITE_LIFETIME:
        raise ValueError(f"lifetime {seconds} s is not a uint32 (0..{INFINITE_LIFETIME})")
    if seconds in (0, INFINITE_LIFETIME):
        return seconds
    return min(max(1, math.ceil(seconds / time_scale)), INFINITE_LIFETIME - 1)


def flag_names(flags: int) -> frozenset[str]:
    """``ip``-style names of IFA_F_* bits (``{"tentative", "noprefixroute"}``)."""
    return frozenset(name for bit, name in _FLAG_NAMES.items() if flags & bit)


# --------------------------------------------------------------------------- wire


def _rtattr(kind: int, value: bytes) -> bytes:
    length = _RTATTR.size + len(value)
    return _RTATTR.pack(length, kind) + value + bytes(-length % 4)


def _messages(data: bytes):
    """(type, flags, seq, payload) of each netlink message in a datagram."""
    off = 0
    end = len(data)
    while off + _NLMSGHDR.size <= end:
        length, mtype, flags, seq, _pid = _NLMSGHDR.unpack_from(data, off)
        if length < _NLMSGHDR.size or off + length > end:
            return
        yield mtype, flags, seq, data[off + _NLMSGHDR.size : off + length]
        off += (length + 3) & ~3


def _attrs(payload: bytes, off: int) -> dict[int, bytes]:
    out = {}
    end = len(payload)
    while off + _RTATTR.size <= end:
        length, kind = _RTATTR.unpack_from(payload, off)
        if length < _RTATTR.size:
            break
        out[kind & 0x3FFF] = payload[off + _RTATTR.size : off + length]
        off += (length + 3) & ~3
    return out


def _decode_addr(payload: bytes) -> dict[str, Any] | None:
    """An RTM_NEWADDR/DELADDR payload as a dict (IPv6 only; else None)."""
    if len(payload) < _IFADDRMSG.size:
        return None
    family, prefixlen, flags8, scope, index = _IFADDRMSG.unpack_from(payload)
    if family != socket.AF_INET6:
        return None
    attrs = _attrs(payload, _IFADDRMSG.size)
    raw = attrs.get(IFA_ADDRESS) or attrs.get(IFA_LOCAL)
    if raw is None or len(raw) != 16:
        return None
    flags = struct.unpack("=I", attrs[IFA_FLAGS])[0] if IFA_FLAGS in attrs else flags8
    preferred = valid = INFINITE_LIFETIME
    if IFA_CACHEINFO in attrs and len(attrs[IFA_CACHEINFO]) >= _CACHEINFO.size:
        preferred, valid, _c, _t = _CACHEINFO.unpack_from(attrs[IFA_CACHEINFO])
    return {
        "address": IPv6Address(raw),
        "prefixlen": prefixlen,
        "preferred": preferred,
        "valid": valid,
        "flags": flags,
        "flag_names": flag_names(flags),
        "scope": scope,
        "index": index,
    }


def _ext_ack_message(flags: int, payload: bytes) -> str:
    """The kernel's extended-ack text in an NLMSG_ERROR, or ''."""
    if not flags & NLM_F_ACK_TLVS or len(payload) < 4 + _NLMSGHDR.size:
        return ""
    # After the error code: the request's header (capped) or the whole request.
    off = 4 + (_NLMSGHDR.size if flags & NLM_F_CAPPED else _NLMSGHDR.unpack_from(payload, 4)[0])
    msg = _attrs(payload, (off + 3) & ~3).get(NLMSGERR_ATTR_MSG, b"")
    return msg.split(b"\0", 1)[0].decode(errors="replace")


def _open_rtnl_here(
    ifname: str, netns: str | None, groups: int, *, with_flags: bool = False
) -> tuple[socket.socket, int, int]:
    """Inside the namespace: a bound rtnetlink socket, ifname's index (and IFF_ flags)."""
    try:
        ifindex = socket.if_nametoindex(ifname)
    except OSError:
        present = sorted(name for _i, name in socket.if_nameindex())
        raise NetlinkError(
            f"interface {ifname} does not exist in {_where(netns)} "
            f"(it has: {', '.join(present) or 'none'}); check the name",
            errno.ENODEV,
        ) from None
    iff = 0
    if with_flags:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
            res = fcntl.ioctl(probe, SIOCGIFFLAGS, struct.pack("16sH22x", ifname.encode(), 0))
            iff = struct.unpack_from("=H", res, 16)[0]
    sock = socket.socket(
        socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, socket.NETLINK_ROUTE
    )
    try:
        with contextlib.suppress(OSError):
            sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        with contextlib.suppress(OSError):
            sock.setsockopt(SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1)
        if groups:
            try:
                sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, _MONITOR_RCVBUF)
            except PermissionError:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _MONITOR_RCVBUF)
        sock.bind((0, groups))
    except BaseException:
        sock.close()
        raise
    return sock, ifindex, iff


# --------------------------------------------------------------------------- addresses


class AddressDriver:
    """IPv6 addresses of one interface, configured through rtnetlink in its namespace.

    Synchronous and fast (tens of µs per call); safe to call from the asyncio loop.
    Not thread-safe: use one driver from one thread. The interface's index is looked
    up once; if the interface is deleted and re-created, make a new driver.
    """

    def __init__(self, ifname: str, netns: str | None = None, time_scale: float = 1.0) -> None:
        if not time_scale > 0:
            raise ValueError(f"time scale {time_scale} must be > 0")
        self.ifname = ifname
        self.netns = netns
        self.time_scale = float(time_scale)
        self._sock, self._ifindex, _ = run_in_netns(netns, _open_rtnl_here, ifname, netns, 0)
        self._sock.settimeout(_REQUEST_TIMEOUT)
        self._seq = 0

    # -- requests

    def _request(self, mtype: int, flags: int, body: bytes, what: str) -> list[tuple[int, bytes]]:
        """Send one request; return the reply messages (a dump's parts), raise on error."""
        if self._sock.fileno() < 0:
            raise NetlinkError(f"{what}: the address driver is closed")
        self._seq = (self._seq + 1) & 0xFFFFFFFF or 1
        seq = self._seq
        header = _NLMSGHDR.pack(_NLMSGHDR.size + len(body), mtype, flags | NLM_F_REQUEST, seq, 0)
        out: list[tuple[int, bytes]] = []
        try:
            self._sock.send(header + body)
            while True:
                data = self._sock.recv(1 << 16)
                for rtype, rflags, rseq, payload in _messages(data):
                    if rseq != seq:
                        continue  # a stale answer to an earlier, timed-out request
                    if rtype == NLMSG_ERROR:
                        code = -struct.unpack_from("=i", payload)[0]
                        if code:
                            detail = _ext_ack_message(rflags, payload)
                            raise OSError(
                                code, os.strerror(code) + (f" ({detail})" if detail else "")
                            )
                        return out
                    if rtype == NLMSG_DONE:
                        return out
                    out.append((rtype, payload))
        except TimeoutError:
            raise NetlinkError(
                f"{what}: no answer from the kernel within {_REQUEST_TIMEOUT} s", errno.ETIMEDOUT
            ) from None

    def _ifaddrmsg(self, address: IPv6Address, prefixlen: int, *extra: bytes) -> bytes:
        return (
            _IFADDRMSG.pack(socket.AF_INET6, prefixlen, 0, 0, self._ifindex)
            + _rtattr(IFA_ADDRESS, address.packed)
            + b"".join(extra)
        )

    @staticmethod
    def _check(address: IPv6Address | str, prefixlen: int) -> IPv6Address:
        address = IPv6Address(address)
        if (
            isinstance(prefixlen, bool)
            or not isinstance(prefixlen, int)
            or not 0 <= prefixlen <= 128
        ):
            raise ValueError(f"prefix length {prefixlen!r} of {address} is not 0–128")
        return address

    def add(
        self,
        address: IPv6Address | str,
        prefixlen: int,
        preferred: int,
        valid: int,
        *,
        prefix_route: bool = False,
    ) -> None:
        """Add ``address/prefixlen`` or update its lifetimes (protocol seconds).

        Lifetimes are scaled for the kernel (see the module doc); DAD stays on; no
        prefix route unless ``prefix_route``. Updating an existing address keeps its
        prefix length (the kernel matches IPv6 addresses by address alone).
        """
        address = self._check(address, prefixlen)
        kp = kernel_lifetime(preferred, self.time_scale)
        kv = kernel_lifetime(valid, self.time_scale)
        if valid == 0:
            raise ValueError(f"{address}: valid lifetime 0 means the address is gone; use remove()")
        if preferred > valid:
            raise ValueError(
                f"{address}: preferred lifetime {preferred} s exceeds valid lifetime {valid} s"
            )
        flags = 0 if prefix_route else IFA_F_NOPREFIXROUTE
        body = self._ifaddrmsg(
            address,
            prefixlen,
            _rtattr(IFA_CACHEINFO, _CACHEINFO.pack(kp, kv, 0, 0)),
            _rtattr(IFA_FLAGS, struct.pack("=I", flags)),
        )
        what = f"adding {address}/{prefixlen} to {self.ifname} in {_where(self.netns)}"
        try:
            self._request(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, body, what)
        except OSError as exc:
            if isinstance(exc, NetlinkError):
                raise
            hint = " (was the interface deleted?)" if exc.errno == errno.ENODEV else ""
            raise NetlinkError(f"{what}: {exc.strerror}{hint}", exc.errno) from None

    def remove(self, address: IPv6Address | str, prefixlen: int) -> None:
        """Remove ``address/prefixlen``; no error if it (or the interface) is already gone."""
        address = self._check(address, prefixlen)
        what = f"removing {address}/{prefixlen} from {self.ifname} in {_where(self.netns)}"
        try:
            self._request(RTM_DELADDR, NLM_F_ACK, self._ifaddrmsg(address, prefixlen), what)
        except OSError as exc:
            if isinstance(exc, NetlinkError):
                raise
            if exc.errno in (errno.EADDRNOTAVAIL, errno.ENODEV):
                return
            raise NetlinkError(f"{what}: {exc.strerror}", exc.errno) from None

    def addresses(self) -> list[dict[str, Any]]:
        """The interface's IPv6 addresses as the kernel sees them.

        Each: ``{address: IPv6Address, prefixlen, preferred, valid, flags,
        flag_names, scope}`` — ``preferred``/``valid`` are the *remaining* kernel
        seconds (0xffffffff = forever), ``flags`` the IFA_F_* bits.
        """
        what = f"listing addresses of {self.ifname} in {_where(self.netns)}"
        body = _IFADDRMSG.pack(socket.AF_INET6, 0, 0, 0, self._ifindex)
        try:
            parts = self._request(RTM_GETADDR, NLM_F_DUMP, body, what)
        except OSError as exc:
            if isinstance(exc, NetlinkError):
                raise
            raise NetlinkError(f"{what}: {exc.strerror}", exc.errno) from None
        out = []
        for rtype, payload in parts:
            if rtype != RTM_NEWADDR:
                continue
            rec = _decode_addr(payload)
            if rec is not None and rec.pop("index") == self._ifindex:
                out.append(rec)
        return out

    def link_local(self) -> IPv6Address | None:
        """A usable (not tentative, not dadfailed) fe80:: address of the interface."""
        for rec in self.addresses():
            if rec["address"].is_link_local and not rec["flags"] & (
                IFA_F_TENTATIVE | IFA_F_DADFAILED
            ):
                return rec["address"]
        return None

    def ifindex(self) -> int:
        """The interface's index in its namespace (looked up when the driver was made)."""
        return self._ifindex

    def close(self) -> None:
        """Close the netlink socket. Idempotent."""
        self._sock.close()

    def __enter__(self) -> AddressDriver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<AddressDriver {self.ifname} (index {self._ifindex}) {_where(self.netns)}>"


# --------------------------------------------------------------------------- events


class LinkMonitor:
    """Link and IPv6 address events of one interface, delivered on an asyncio loop.

    ``on_event`` receives dicts (every one has ``kind`` and ``ifname``):

    - ``{"kind": "link", "up": bool, "admin_up": bool, "running": bool}`` when the
      link's usable state changes (``up`` = administratively up *and* running, i.e.
      carrier on a veth); ``"deleted": True`` is added when the interface disappears.
    - ``{"kind": "dad-failed", "address", "prefixlen", "removed": bool}`` when the
      kernel found a duplicate: ``removed`` is True when it deleted the address (finite
      lifetimes, e.g. a lease), False when it kept it marked ``dadfailed``.
    - ``{"kind": "address-removed", "address", "prefixlen", "flags"}``.
    - ``{"kind": "address", "address", "prefixlen", "flags", "tentative", "preferred",
      "valid"}`` for every RTM_NEWADDR (added, lifetimes updated, DAD finished).
    - ``{"kind": "overrun"}`` when the kernel dropped events (ENOBUFS): re-read state.

    Exceptions from ``on_event`` go to the loop's exception handler.
    """

    def __init__(
        self,
        sock: socket.socket,
        *,
        ifname: str,
        ifindex: int,
        netns: str | None,
        iff: int,
        on_event: Callable[[dict], None],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._sock = sock
        self.ifname = ifname
        self.ifindex = ifindex
        self.netns = netns
        self._on_event = on_event
        self._loop = loop
        self._up = bool(iff & IFF_UP and iff & IFF_RUNNING)
        self._dad_reported: set[IPv6Address] = set()
        self._closed = False
        loop.add_reader(sock.fileno(), self._on_readable)

    @classmethod
    async def open(
        cls,
        ifname: str,
        netns: str | None = None,
        on_event: Callable[[dict], None] | None = None,
        *,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> LinkMonitor:
        """Subscribe to RTMGRP_LINK | RTMGRP_IPV6_IFADDR in ``netns`` for ``ifname``."""
        if on_event is None:
            raise ValueError("LinkMonitor.open needs on_event")
        if loop is None:
            loop = asyncio.get_running_loop()
        sock, ifindex, iff = run_in_netns(
            netns,
            lambda: _open_rtnl_here(
                ifname, netns, RTMGRP_LINK | RTMGRP_IPV6_IFADDR, with_flags=True
            ),
        )
        sock.setblocking(False)
        try:
            return cls(
                sock,
                ifname=ifname,
                ifindex=ifindex,
                netns=netns,
                iff=iff,
                on_event=on_event,
                loop=loop,
            )
        except BaseException:
            sock.close()
            raise

    @property
    def link_up(self) -> bool:
        """The link's last known state (administratively up and running)."""
        return self._up

    def _emit(self, event: dict) -> None:
        event["ifname"] = self.ifname
        try:
            self._on_event(event)
        except Exception as exc:
            self._loop.call_exception_handler(
                {
                    "message": f"LinkMonitor {self.ifname} ({_where(self.netns)}): on_event raised",
                    "exception": exc,
                }
            )

    def _on_readable(self) -> None:
        while not self._closed:
            try:
                data = self._sock.recv(1 << 16)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno == errno.ENOBUFS:
                    self._emit({"kind": "overrun"})
                    continue
                self._emit({"kind": "error", "error": str(exc)})
                return
            for mtype, _flags, _seq, payload in _messages(data):
                if self._closed:
                    return
                if mtype in (RTM_NEWADDR, RTM_DELADDR):
                    self._on_addr(mtype, payload)
                elif mtype in (RTM_NEWLINK, RTM_DELLINK):
                    self._on_link(mtype, payload)

    def _on_link(self, mtype: int, payload: bytes) -> None:
        if len(payload) < _IFINFOMSG.size:
            return
        _family, _type, index, iff, _change = _IFINFOMSG.unpack_from(payload)
        if index != self.ifindex:
            return
        admin_up = bool(iff & IFF_UP)
        running = bool(iff & IFF_RUNNING)
        if mtype == RTM_DELLINK:
            self._up = False
            self._emit(
                {"kind": "link", "up": False, "admin_up": False, "running": False, "deleted": True}
            )
            return
        up = admin_up and running
        if up != self._up:
            self._up = up
            self._emit({"kind": "link", "up": up, "admin_up": admin_up, "running": running})

    def _on_addr(self, mtype: int, payload: bytes) -> None:
        rec = _decode_addr(payload)
        if rec is None or rec["index"] != self.ifindex:
            return
        address, flags = rec["address"], rec["flags"]
        if flags & IFA_F_DADFAILED and address not in self._dad_reported:
            removed = mtype == RTM_DELADDR
            if not removed:
                self._dad_reported.add(address)
            self._emit(
                {
                    "kind": "dad-failed",
                    "address": address,
                    "prefixlen": rec["prefixlen"],
                    "removed": removed,
                }
            )
            return
        if mtype == RTM_DELADDR:
            self._dad_reported.discard(address)
            self._emit(
                {
                    "kind": "address-removed",
                    "address": address,
                    "prefixlen": rec["prefixlen"],
                    "flags": flags,
                }
            )
            return
        if flags & IFA_F_DADFAILED:
            return  # already reported
        self._emit(
            {
                "kind": "address",
                "address": address,
                "prefixlen": rec["prefixlen"],
                "flags": flags,
                "tentative": bool(flags & IFA_F_TENTATIVE),
                "preferred": rec["preferred"],
                "valid": rec["valid"],
            }
        )

    def close(self) -> None:
        """Unsubscribe and close. Idempotent; call from the loop's thread."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            if not self._loop.is_closed():
                self._loop.remove_reader(self._sock.fileno())
        self._sock.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("up" if self._up else "down")
        return f"<LinkMonitor {self.ifname} {_where(self.netns)} {state}>"


async def wait_link_local(
    ifname: str, netns: str | None = None, timeout: float = 5.0
) -> IPv6Address:
    """Wait until ``ifname`` has a usable (non-tentative) link-local address; return it.

    A client needs one before it can send (see :mod:`dhcp6.io.udp`: with the
    link-local still tentative, sending fails with EADDRNOTAVAIL). Event-driven: it
    subscribes to address events first, then checks, and re-checks on each event —
    no polling. Raises TimeoutError (one line, with the addresses seen) after
    ``timeout`` seconds.
    """
    changed = asyncio.Event()
    monitor = await LinkMonitor.open(ifname, netns, lambda _event: changed.set())
    driver = AddressDriver(ifname, netns)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            changed.clear()
            found = driver.link_local()
            if found is not None:
                return found
            left = deadline - loop.time()
            if left <= 0:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), left)
        seen = ", ".join(
            f"{a['address']} {'/'.join(sorted(a['flag_names'])) or '-'}" for a in driver.addresses()
        )
        raise TimeoutError(
            f"{ifname} in {_where(netns)} had no usable link-local address after {timeout} s "
            f"(addresses: {seen or 'none'}); is the link up, and is DAD finishing?"
        )
    finally:
        monitor.close()
        driver.close()
