"""A minimal rtnetlink client: the few messages the builder sends, packed by hand.

Why not ``pyroute2.IPRoute``: measured on the 2-core VM (see bench/build.py), an
``IPRoute()`` costs ≈ 0.8 ms to open and ≈ 2 ms per veth ``link("add")``, while the
same RTM_NEWLINK packed with :mod:`struct` and sent on a plain ``AF_NETLINK`` socket
costs what the kernel costs. A namespace build opens one socket per namespace, so the
opening cost alone would double the build time. Decoding is never needed beyond acks
(and two small RTM_GETLINK lookups, :meth:`Rtnl.link_index` / :meth:`Rtnl.link_alias`,
for tools and tests), so this stays small. The issue asked for pyroute2 *or* raw
netlink sockets opened in the namespace, measured: bench/build.py has both.

Requests are queued and sent together: one ``send`` carries a whole batch (the kernel
runs the messages in order), then every ack is read back. A failed message does not
stop the ones after it; :meth:`Rtnl.commit` raises :class:`NetlinkError` for the first
failure, naming what that message was for and the kernel's extended-ack text.

A socket belongs to the network namespace of the thread that created it, for life.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from ipaddress import IPv6Address, IPv6Interface, IPv6Network

__all__ = ["IFA_F_NODAD", "IFF_UP", "NetlinkError", "Rtnl"]

# netlink / rtnetlink numbers (linux/netlink.h, linux/rtnetlink.h, linux/if_link.h)
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400
NLM_F_ACK_TLVS = 0x200  # in an ack: extended-ack attributes follow
NLMSGERR_ATTR_MSG = 1
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11

RTM_NEWLINK = 16
RTM_GETLINK = 18
RTM_NEWADDR = 20
RTM_NEWROUTE = 24

IFF_UP = 0x1
IFLA_IFNAME = 3
IFLA_MASTER = 10
IFLA_LINKINFO = 18
IFLA_IFALIAS = 20
IFLA_NET_NS_FD = 28
IFLA_INFO_KIND = 1
IFLA_INFO_DATA = 2
VETH_INFO_PEER = 1
IFLA_BR_MCAST_SNOOPING = 23

IFA_ADDRESS = 1
IFA_FLAGS = 8
IFA_F_NODAD = 0x02

RTA_DST = 1
RTA_OIF = 4
RTA_GATEWAY = 5
RT_TABLE_MAIN = 254
RTPROT_STATIC = 4
RT_SCOPE_UNIVERSE = 0
RTN_UNICAST = 1
RTNH_F_ONLINK = 4

_NLMSGHDR = struct.Struct("=IHHII")  # len, type, flags, seq, pid
_IFINFOMSG = struct.Struct("=BxHiII")  # family, type, index, flags, change
_IFADDRMSG = struct.Struct("=BBBBI")  # family, prefixlen, flags, scope, index
_RTMSG = struct.Struct("=BBBBBBBBI")
_RTATTR = struct.Struct("=HH")
_U32 = struct.Struct("=I")
_SEND_CHUNK = 48 * 1024  # bytes per send(); well under the default 208 KiB sndbuf
# Requests per send(): each ack is a small skb whose truesize (≈ 0.8 KiB) counts against
# the 208 KiB default receive buffer; past ≈ 270 unread acks the kernel drops them and
# recv() fails with ENOBUFS (seen with 500 requests in one send).
_SEND_MAX_MSGS = 128


class NetlinkError(OSError):
    """A netlink request failed; ``str()`` is one line: what, errno text, kernel message."""

    def __init__(self, err: int, what: str, detail: str = "") -> None:
        text = os.strerror(err)
        msg = f"{what}: {text}" + (f" ({detail})" if detail and detail != text else "")
        super().__init__(err, msg)
        self.what = what
        self.detail = detail

    def __str__(self) -> str:
        return str(self.strerror)


def _attr(kind: int, payload: bytes) -> bytes:
    n = 4 + len(payload)
    return _RTATTR.pack(n, kind) + payload + b"\0" * (-n % 4)


def _nest(kind: int, *parts: bytes) -> bytes:
    # No NLA_F_NESTED flag, as iproute2 sends them: every kernel parses these nests
    # without it (6.18 accepts it too).
    return _attr(kind, b"".join(parts))


def _str(kind: int, value: str) -> bytes:
    return _attr(kind, value.encode() + b"\0")


def _u32(kind: int, value: int) -> bytes:
    return _attr(kind, _U32.pack(value))


def _parse_attrs(data: bytes, offset: int) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    end = len(data)
    while offset + 4 <= end:
        n, kind = _RTATTR.unpack_from(data, offset)
        if n < 4:
            break
        out[kind & 0x3FFF] = data[offset + 4 : offset + n]
        offset += (n + 3) & ~3
    return out


class Rtnl:
    """An rtnetlink socket in the calling thread's network namespace, with a batch queue."""

    __slots__ = ("_pending", "_queue", "_seq", "sock")

    def __init__(self) -> None:
        self.sock = socket.socket(
            socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, socket.NETLINK_ROUTE
        )
        try:
            self.sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)  # acks without our payload
            self.sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)  # kernel error text
        except OSError:
            pass  # old kernels: acks are only larger, errors only terser
        self.sock.bind((0, 0))
        self._seq = 0
        self._queue: list[tuple[int, str, bytes]] = []
        self._pending: dict[int, str] = {}

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Rtnl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ queueing

    def _put(self, mtype: int, flags: int, body: bytes, what: str) -> None:
        self._seq += 1
        seq = self._seq
        hdr = _NLMSGHDR.pack(16 + len(body), mtype, flags | NLM_F_REQUEST | NLM_F_ACK, seq, 0)
        self._queue.append((seq, what, hdr + body))

    def set_link(
        self, index: int, *, up: bool | None = None, alias: str | None = None, what: str = ""
    ) -> None:
        """RTM_NEWLINK on an existing link: bring it up/down, set its alias."""
        flags = IFF_UP if up else 0
        change = IFF_UP if up is not None else 0
        body = _IFINFOMSG.pack(socket.AF_UNSPEC, 0, index, flags, change)
        if alias is not None:
            body += _str(IFLA_IFALIAS, alias)
        self._put(RTM_NEWLINK, 0, body, what or f"setting link {index}")

    def add_bridge(self, name: str, *, index: int = 0, up: bool = True, what: str = "") -> None:
        """A Linux bridge (multicast snooping off: a lab LAN floods like a hub for multicast).

        Like every link type here, it takes no alias at creation (the kernel ignores
        IFLA_IFALIAS in a create request): set one with :meth:`set_link`.
        """
        body = _IFINFOMSG.pack(socket.AF_UNSPEC, 0, index, IFF_UP if up else 0, IFF_UP)
        body += _str(IFLA_IFNAME, name)
        body += _nest(
            IFLA_LINKINFO,
            _str(IFLA_INFO_KIND, "bridge"),
            _nest(IFLA_INFO_DATA, _attr(IFLA_BR_MCAST_SNOOPING, b"\0")),
        )
        self._put(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, body, what or f"creating bridge {name}")

    def add_veth(
        self,
        name: str,
        peer: str,
        *,
        index: int = 0,
        peer_index: int = 0,
        netns_fd: int | None = None,
        peer_netns_fd: int | None = None,
        master: int | None = None,
        up: bool = True,
        what: str = "",
    ) -> None:
        """One RTM_NEWLINK that creates a veth pair with both ends where they belong.

        ``name`` goes into ``netns_fd`` (default: this socket's namespace) with ifindex
        ``index`` (0: the kernel picks), enslaved to ``master`` (an ifindex in *that*
        namespace) and, with ``up``, up; ``peer`` goes into ``peer_netns_fd`` (default:
        this socket's namespace) with ``peer_index``, *down*: kernel 6.18 refuses a veth
        peer that is up at creation (ENOTCONN: the peer is opened before the pair is
        linked), so bring it up with :meth:`set_link` from a socket in its namespace —
        the same batch, when that is this socket. Nothing passes through another namespace.
        """
        flags = IFF_UP if up else 0
        peer_body = _IFINFOMSG.pack(socket.AF_UNSPEC, 0, peer_index, 0, 0)
        peer_body += _str(IFLA_IFNAME, peer)
        if peer_netns_fd is not None:
            peer_body += _u32(IFLA_NET_NS_FD, peer_netns_fd)
        body = _IFINFOMSG.pack(socket.AF_UNSPEC, 0, index, flags, IFF_UP)
        body += _str(IFLA_IFNAME, name)
        if netns_fd is not None:
            body += _u32(IFLA_NET_NS_FD, netns_fd)
        if master is not None:
            body += _u32(IFLA_MASTER, master)
        body += _nest(
            IFLA_LINKINFO,
            _str(IFLA_INFO_KIND, "veth"),
            _nest(IFLA_INFO_DATA, _attr(VETH_INFO_PEER, peer_body)),
        )
        self._put(
            RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, body, what or f"creating veth {name}/{peer}"
        )

    def add_address(
        self, index: int, address: IPv6Interface, *, nodad: bool = True, what: str = ""
    ) -> None:
        """A static IPv6 address, lifetimes forever (``nodad``: usable at once)."""
        body = _IFADDRMSG.pack(socket.AF_INET6, address.network.prefixlen, 0, 0, index)
        body += _attr(IFA_ADDRESS, address.ip.packed)
        body += _u32(IFA_FLAGS, IFA_F_NODAD if nodad else 0)
        self._put(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, body, what or f"adding address {address}")

    def add_route(
        self,
        destination: IPv6Network,
        via: IPv6Address | None,
        oif: int,
        *,
        onlink: bool = False,
        what: str = "",
    ) -> None:
        """A static IPv6 route in the main table (``via`` on link ``oif``).

        ``onlink``: the gateway is on ``oif``'s link even if no prefix of ``oif`` covers
        it (``ip route … onlink``) — as for a DHCPv6 client whose address comes later.
        """
        body = _RTMSG.pack(
            socket.AF_INET6,
            destination.prefixlen,
            0,
            0,
            RT_TABLE_MAIN,
            RTPROT_STATIC,
            RT_SCOPE_UNIVERSE,
            RTN_UNICAST,
            RTNH_F_ONLINK if onlink and via is not None else 0,
        )
        if destination.prefixlen:
            body += _attr(RTA_DST, destination.network_address.packed)
        if via is not None:
            body += _attr(RTA_GATEWAY, via.packed)
        body += _u32(RTA_OIF, oif)
        self._put(
            RTM_NEWROUTE,
            NLM_F_CREATE | NLM_F_EXCL,
            body,
            what or f"adding route {destination} via {via}",
        )

    # ------------------------------------------------------------------ sending

    def commit(self) -> None:
        """Send every queued request, read every ack; raise the first failure.

        Requests go out in chunks (at most 48 KiB, 128 requests), each chunk's acks read
        before the next is sent (so acks never overflow the receive buffer). All requests are sent
        and acknowledged even when one fails, so the socket is clean afterwards; the
        :class:`NetlinkError` names the first failing request.
        """
        queue, self._queue = self._queue, []
        first: NetlinkError | None = None
        start = 0
        while start < len(queue):
            end, size = start, 0
            while end < len(queue) and (
                end == start
                or (size + len(queue[end][2]) <= _SEND_CHUNK and end - start < _SEND_MAX_MSGS)
            ):
                size += len(queue[end][2])
                end += 1
            chunk = queue[start:end]
            self._pending = {seq: what for seq, what, _ in chunk}
            self.sock.send(b"".join(msg for _, _, msg in chunk))
            err = self._collect()
            if first is None:
                first = err
            start = end
        if first is not None:
            raise first

    def _collect(self) -> NetlinkError | None:
        first: NetlinkError | None = None
        pending = self._pending
        recv = self.sock.recv
        while pending:
            data = recv(65536)
            off = 0
            while off + 16 <= len(data):
                length, mtype, flags, seq, _ = _NLMSGHDR.unpack_from(data, off)
                if length < 16:
                    break
                if mtype == NLMSG_ERROR:
                    err = -struct.unpack_from("=i", data, off + 16)[0]
                    what = pending.pop(seq, None)
                    if err and what is not None and first is None:
                        first = NetlinkError(err, what, self._ext_msg(data, off, length, flags))
                off += (length + 3) & ~3
        return first

    @staticmethod
    def _ext_msg(data: bytes, off: int, length: int, flags: int) -> str:
        if not flags & NLM_F_ACK_TLVS:
            return ""
        # nlmsgerr: error (4) + the request's header (16; its payload is capped by CAP_ACK)
        attrs = _parse_attrs(data[: off + length], off + 16 + 4 + 16)
        msg = attrs.get(NLMSGERR_ATTR_MSG)
        return msg.rstrip(b"\0").decode(errors="replace") if msg else ""

    def link_index(self, name: str) -> int:
        """The ifindex of ``name`` in this socket's namespace (RTM_GETLINK); -1 if none."""
        if self._queue:
            self.commit()
        self._seq += 1
        seq = self._seq
        body = _IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0) + _str(IFLA_IFNAME, name)
        self.sock.send(_NLMSGHDR.pack(16 + len(body), RTM_GETLINK, NLM_F_REQUEST, seq, 0) + body)
        while True:
            data = self.sock.recv(65536)
            off = 0
            while off + 16 <= len(data):
                length, mtype, _, rseq, _ = _NLMSGHDR.unpack_from(data, off)
                if length < 16:
                    break
                if rseq == seq:
                    if mtype == NLMSG_ERROR:
                        err = -struct.unpack_from("=i", data, off + 16)[0]
                        if err == errno.ENODEV:
                            return -1
                        raise NetlinkError(err, f"looking up link {name}")
                    if mtype == RTM_NEWLINK:
                        return _IFINFOMSG.unpack_from(data, off + 16)[2]
                off += (length + 3) & ~3

    def link_alias(self, index: int) -> str | None:
        """The IFLA_IFALIAS of link ``index`` (None if unset or no such link)."""
        if self._queue:
            self.commit()
        self._seq += 1
        seq = self._seq
        body = _IFINFOMSG.pack(socket.AF_UNSPEC, 0, index, 0, 0)
        self.sock.send(_NLMSGHDR.pack(16 + len(body), RTM_GETLINK, NLM_F_REQUEST, seq, 0) + body)
        while True:
            data = self.sock.recv(65536)
            off = 0
            while off + 16 <= len(data):
                length, mtype, _, rseq, _ = _NLMSGHDR.unpack_from(data, off)
                if length < 16:
                    break
                if rseq == seq:
                    if mtype == NLMSG_ERROR:
                        return None
                    if mtype == RTM_NEWLINK:
                        attrs = _parse_attrs(data[: off + length], off + 16 + _IFINFOMSG.size)
                        raw = attrs.get(IFLA_IFALIAS)
                        return raw.rstrip(b"\0").decode(errors="replace") if raw else None
                off += (length + 3) & ~3
