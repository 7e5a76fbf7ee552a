"""Real peers in the trace: a packet socket on each peer's interface, decoded with our
codec into send/recv events, with the peer's state derived from what it sends and gets.

A client peer is SOLICIT/REQUEST/RENEW/… after sending that message and BOUND once a
Reply gives it leases; a server peer goes through the seed states of our own server's
table (Advertise, Reply, Release). Frames are also written to a pcap per interface.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from typing import Any

from dhcp6.constants import CLIENT_TO_SERVER, MessageType
from dhcp6.engine.client_table import SEED as CLIENT_SEED
from dhcp6.engine.server_table import HANDLING
from dhcp6.io.netns import run_in_netns
from dhcp6.io.pcap import LINKTYPE_ETHERNET, PcapWriter, dhcp6_datagram
from dhcp6.trace import Tracer
from dhcp6.wire import IaNa, IaPd, Message, ParseError, RelayMessage, decode
from dhcp6.wire.describe import summary

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
STATE_AFTER_SEND = {
    MessageType.SOLICIT: "SOLICIT",
    MessageType.REQUEST: "REQUEST",
    MessageType.RENEW: "RENEW",
    MessageType.REBIND: "REBIND",
    MessageType.CONFIRM: "CONFIRM",
    MessageType.DECLINE: "DECLINE",
    MessageType.RELEASE: "RELEASE",
    MessageType.INFORMATION_REQUEST: "INFORMATION-REQUEST",
}


def _open_packet_socket(ifname: str) -> socket.socket:
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((ifname, ETH_P_ALL))
    s.setblocking(False)
    return s


class PeerObserver:
    def __init__(self, node: str, kind: str, netns: str, ifname: str, tracer: Tracer,
                 pcap: str | None = None, role: str = "client") -> None:  # fmt: skip
        self.node, self.kind, self.netns, self.ifname = node, kind, netns, ifname
        self.tracer = tracer
        self.role = role
        self.state = "INIT" if role == "client" else "Listen"
        self.seed = CLIENT_SEED["INIT"] if role == "client" else "Listen"
        self.leases: dict[str, dict[str, Any]] = {}
        self.pcap = PcapWriter(pcap, LINKTYPE_ETHERNET) if pcap else None
        self.sock: socket.socket | None = None
        self.last: dict[str, str] = {}

    async def open(self) -> None:
        self.sock = run_in_netns(self.netns, _open_packet_socket, self.ifname)
        asyncio.get_running_loop().add_reader(self.sock.fileno(), self._readable)

    def _readable(self) -> None:
        assert self.sock is not None
        for _ in range(256):
            try:
                frame, addr = self.sock.recvfrom(65535)
            except BlockingIOError:
                return
            except OSError as e:
                self.tracer.emit("error", message=f"capture on {self.ifname}: {e}")
                return
            d = dhcp6_datagram(LINKTYPE_ETHERNET, frame)
            if d is None:
                continue
            if self.pcap is not None:
                self.pcap.write(time.time(), frame)
            self._datagram(addr[2] == PACKET_OUTGOING, *d)

    def _datagram(self, outgoing: bool, src, dst, sport, dport, payload: bytes) -> None:
        kind = "send" if outgoing else "recv"
        try:
            msg = decode(payload)
        except ParseError as e:
            self.tracer.emit(
                "drop", reason=f"malformed ({kind}): {e}", peer=str(dst if outgoing else src)
            )
            return
        peer = str(dst if outgoing else src)
        self.tracer.emit(
            kind, {**summary(msg), "peer": peer, "iface": self.ifname, "observed": True}
        )
        inner = msg.innermost() if isinstance(msg, RelayMessage) else msg
        if not isinstance(inner, Message):
            return
        if self.role == "client":
            self._client(outgoing, inner)
        else:
            self._server(outgoing, inner)

    def _goto(self, state: str, seed: str, reason: str) -> None:
        if state != self.state:
            self.tracer.emit("state", {"from": self.state, "to": state, "seed": seed, "reason": reason,
                                       "observed": True})  # fmt: skip
            self.state, self.seed = state, seed

    def _client(self, outgoing: bool, m: Message) -> None:
        if outgoing and m.msg_type in STATE_AFTER_SEND:
            st = STATE_AFTER_SEND[MessageType(m.msg_type)]
            self._goto(st, CLIENT_SEED[st], f"sent {m.name}")
            if m.msg_type == MessageType.RELEASE:
                self.leases.clear()
            return
        if outgoing or m.msg_type != MessageType.REPLY:
            return
        if self.state == "RELEASE":
            self._goto("STOPPED", CLIENT_SEED["STOPPED"], "Reply to Release")
            return
        if self.state not in ("REQUEST", "RENEW", "REBIND", "SOLICIT"):
            return
        got = 0
        server = m.server_id.hex() if m.server_id else None
        for ia in [*m.ia_na, *m.ia_pd]:
            items = (
                ia.addresses
                if isinstance(ia, IaNa)
                else ia.prefixes
                if isinstance(ia, IaPd)
                else []
            )
            for x in items:
                key = str(x.address) if isinstance(ia, IaNa) else f"{x.prefix}/{x.prefix_length}"
                field = "address" if isinstance(ia, IaNa) else "prefix"
                if x.valid_lifetime == 0:
                    self.leases.pop(key, None)
                    continue
                got += 1
                action = "bound" if key not in self.leases else {"RENEW": "renewed", "REBIND": "rebound"}.get(
                    self.state, "bound")  # fmt: skip
                lease = {field: key, "preferred": x.preferred_lifetime, "valid": x.valid_lifetime,
                         "t1": ia.t1, "t2": ia.t2, "server": server, "since": time.time()}  # fmt: skip
                self.leases[key] = lease
                self.tracer.emit("lease", {"action": action, **{k: v for k, v in lease.items() if k != "since"},
                                           "observed": True})  # fmt: skip
        if got:
            self._goto("BOUND", CLIENT_SEED["BOUND"], f"Reply to {self.state} with leases")

    def _server(self, outgoing: bool, m: Message) -> None:
        if outgoing or m.msg_type not in CLIENT_TO_SERVER:
            return
        h = HANDLING[MessageType(m.msg_type)]
        seed = "Reply" if (m.msg_type == MessageType.SOLICIT and m.rapid_commit) else h.seed
        self.tracer.emit("state", {"seed": seed, "msg": m.name,
                                   "client": m.client_id.hex() if m.client_id else "", "observed": True})  # fmt: skip

    def close(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(RuntimeError):
                asyncio.get_running_loop().remove_reader(self.sock.fileno())
            self.sock.close()
            self.sock = None
        if self.pcap is not None:
            self.pcap.close()
            self.pcap = None
