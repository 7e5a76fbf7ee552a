"""Sans-IO DHCPv6 relay agent (RFC 9915 §19, RFC 7283 for unknown messages, RFC 6939).

Client messages (any type but Relay-reply) and Relay-forwards arriving on a client-facing
(``listen``) interface are wrapped in a Relay-forward and sent to every server; a
Relay-reply from anywhere is unwrapped one level and sent on to its peer-address through
the interface its Interface-ID or link-address names. The behaviour is the table
:data:`RELAY_TABLE` — data the diagrams are drawn from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv6Address

from ..constants import (
    ALL_DHCP_SERVERS,
    CLIENT_PORT,
    HOP_COUNT_LIMIT,
    SERVER_PORT,
    MessageType,
)
from ..wire import (
    ClientLinkLayerAddress,
    InterfaceId,
    Message,
    Option,
    ParseError,
    RelayMessage,
    RelayMsg,
    decode,
)
from ..wire.describe import summary
from .actions import Action, Send, Trace

UNSPECIFIED = IPv6Address("::")
HW_ETHERNET = 1


@dataclass(frozen=True, slots=True)
class RelayRule:
    received: str
    on: str
    action: str
    rfc: str


RELAY_TABLE: tuple[RelayRule, ...] = (
    RelayRule("client message (any type but Relay-reply)", "listen interface",
              "Relay-forward, hop-count 0, link-address = a global address of the link (:: and "
              "Interface-ID when it has none), peer-address = the client; to every server", "§19.1.1"),
    RelayRule("Relay-forward", "listen interface",
              "wrap again with hop-count + 1; discard at HOP_COUNT_LIMIT", "§19.1.2"),
    RelayRule("Relay-reply", "any interface",
              "unwrap one level; send the inner message to peer-address (port 547 if it is a "
              "Relay-reply, else 546) on the interface of Interface-ID or link-address", "§19.2"),
    RelayRule("client message", "a non-listen interface", "drop", "§19"),
    RelayRule("malformed / nesting too deep / unknown interface", "any", "drop with a reason", "§16"),
)  # fmt: skip


@dataclass(frozen=True)
class ListenLink:
    iface: str
    link_address: IPv6Address | None  # a global/ULA address of the link, None: none


@dataclass(frozen=True)
class RelayConfig:
    listen: tuple[ListenLink, ...]
    servers: tuple[tuple[IPv6Address, str | None], ...] = ()  # (address, egress iface)
    interface_id: bool = (
        False  # always add Interface-ID (it is added anyway without a link address)
    )
    own_addresses: frozenset[IPv6Address] = field(default_factory=frozenset)


class RelayEngine:
    def __init__(self, config: RelayConfig) -> None:
        self.config = config
        self._listen = {lk.iface: lk for lk in config.listen}
        self._by_link = {lk.link_address: lk.iface for lk in config.listen if lk.link_address}
        self.stats: dict[str, int] = {}

    def packet_received(self, data: bytes, src: IPv6Address, dst: IPv6Address | None, iface: str,
                        now: float, lladdr: bytes | None = None) -> list[Action]:  # fmt: skip
        out: list[Action] = []
        try:
            msg = decode(data)
        except ParseError as e:
            return self._drop(out, f"malformed: {e}", peer=str(src), iface=iface)
        out.append(Trace("recv", {**summary(msg), "peer": str(src), "iface": iface}))
        if isinstance(msg, RelayMessage) and msg.msg_type == MessageType.RELAY_REPL:
            return self._reply(out, msg, src)
        if iface not in self._listen:
            return self._drop(out, f"{msg.name} on {iface}, which is not a --listen interface",
                              msg=msg.name)  # fmt: skip
        if isinstance(msg, RelayMessage) and msg.hop_count >= HOP_COUNT_LIMIT:
            return self._drop(
                out, f"hop-count {msg.hop_count} reached HOP_COUNT_LIMIT", msg=msg.name
            )
        return self._forward(out, msg, src, iface, lladdr)

    def _forward(self, out: list[Action], msg: Message | RelayMessage, src: IPv6Address,
                 iface: str, lladdr: bytes | None) -> list[Action]:  # fmt: skip
        link = self._listen[iface]
        opts: list[Option] = []
        if self.config.interface_id or link.link_address is None:
            opts.append(InterfaceId(iface.encode()))
        if isinstance(msg, Message) and lladdr:
            opts.append(ClientLinkLayerAddress(HW_ETHERNET, lladdr))  # RFC 6939
        opts.append(RelayMsg(msg))
        hops = msg.hop_count + 1 if isinstance(msg, RelayMessage) else 0
        fwd = RelayMessage(MessageType.RELAY_FORW, hops, link.link_address or UNSPECIFIED, src,
                           tuple(opts))  # fmt: skip
        targets = self.config.servers or ((ALL_DHCP_SERVERS, None),)
        for addr, egress in targets:
            hop_limit = HOP_COUNT_LIMIT if addr.is_multicast else None
            out.append(Send(fwd, addr, SERVER_PORT, egress, hop_limit))
            out.append(Trace("send", {**summary(fwd), "peer": str(addr), "iface": egress or ""}))
        self._count("forwarded")
        return out

    def _reply(self, out: list[Action], msg: RelayMessage, src: IPv6Address) -> list[Action]:
        inner = msg.relay_message
        if inner is None:
            return self._drop(out, "Relay-reply without a Relay Message option", msg=msg.name)
        iid = msg.interface_id
        if iid is not None:
            egress = iid.decode("utf-8", "replace")
            if egress not in self._listen:
                return self._drop(out, f"Interface-ID {egress!r} names none of our interfaces",
                                  msg=msg.name)  # fmt: skip
        else:
            egress = self._by_link.get(msg.link_address)  # type: ignore[assignment]
            if egress is None:
                return self._drop(out, f"link-address {msg.link_address} is none of our links",
                                  msg=msg.name)  # fmt: skip
        if msg.peer_address in self.config.own_addresses:
            return self._drop(out, "Relay-reply addressed to ourselves (a loop)", msg=msg.name)
        relayed = isinstance(inner, RelayMessage)
        if relayed and inner.msg_type != MessageType.RELAY_REPL:
            return self._drop(out, f"Relay-reply carries a {inner.name}", msg=msg.name)
        port = SERVER_PORT if relayed else CLIENT_PORT
        out.append(Send(inner, msg.peer_address, port, egress))
        out.append(
            Trace("send", {**summary(inner), "peer": str(msg.peer_address), "iface": egress})
        )
        self._count("replied")
        return out

    def _count(self, key: str) -> None:
        self.stats[key] = self.stats.get(key, 0) + 1

    def _drop(self, out: list[Action], reason: str, **fields: object) -> list[Action]:
        self._count("drop")
        out.append(Trace("drop", {"reason": reason, **fields}))
        return out
