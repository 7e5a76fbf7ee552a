"""The sans-IO relay agent (RFC 9915 §19, RFC 7283, RFC 6939), alone and chained with our
server engine."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest

from dhcp6.constants import MessageType as M
from dhcp6.engine.actions import Send
from dhcp6.engine.relay import RELAY_TABLE, ListenLink, RelayConfig, RelayEngine
from dhcp6.engine.server import ServerEngine
from dhcp6.server_config import config_from_text
from dhcp6.wire import InterfaceId, Message, RelayMessage, RelayMsg, decode

from .server_helpers import SERVER_DUID, msg, na

A = IPv6Address
SRV = A("2001:db8:1::1")


def relay(link="2001:db8:2::1", servers=((SRV, None),), interface_id=False, own=()) -> RelayEngine:
    lk = ListenLink("eth1", A(link) if link else None)
    return RelayEngine(RelayConfig((lk,), tuple(servers), interface_id, frozenset(map(A, own))))


def sends(actions) -> list[Send]:
    return [a for a in actions if isinstance(a, Send)]


def drop(actions) -> str:
    return next(a.fields["reason"] for a in actions if getattr(a, "kind", "") == "drop")


def test_client_message_is_relay_forwarded_to_each_server():
    r = relay(servers=((SRV, None), (A("2001:db8:1::2"), "eth0")))
    sol = msg(M.SOLICIT, 1, na())
    out = r.packet_received(
        sol.encode(), A("fe80::1"), A("ff02::1:2"), "eth1", 0, b"\x02\x00\x00\x00\x00\x01"
    )
    s = sends(out)
    assert [(x.dst, x.port, x.iface) for x in s] == [
        (SRV, 547, None),
        (A("2001:db8:1::2"), 547, "eth0"),
    ]
    fwd = decode(s[0].message.encode())
    assert (fwd.msg_type, fwd.hop_count, fwd.link_address, fwd.peer_address) == (
        M.RELAY_FORW,
        0,
        A("2001:db8:2::1"),
        A("fe80::1"),
    )
    assert fwd.relay_message == sol and fwd.interface_id is None
    cll = fwd.option(79)
    assert cll.link_type == 1 and cll.address == b"\x02\x00\x00\x00\x00\x01"


def test_link_without_global_address_gets_interface_id_and_no_server_means_ff05():
    r = relay(link=None, servers=())
    s = sends(r.packet_received(msg(M.SOLICIT).encode(), A("fe80::1"), None, "eth1", 0))
    assert (s[0].dst, s[0].hop_limit) == (A("ff05::1:3"), 8)
    fwd = s[0].message
    assert fwd.link_address == A("::") and fwd.interface_id == b"eth1"
    r2 = relay(interface_id=True)
    assert (
        sends(r2.packet_received(msg(M.SOLICIT).encode(), A("fe80::1"), None, "eth1", 0))[
            0
        ].message.interface_id
        == b"eth1"
    )


def test_relay_forward_from_another_relay_and_the_hop_limit():
    r = relay()
    inner = RelayMessage(
        M.RELAY_FORW, 3, A("2001:db8:9::1"), A("fe80::9"), (RelayMsg(msg(M.SOLICIT)),)
    )
    s = sends(r.packet_received(inner.encode(), A("2001:db8:2::9"), None, "eth1", 0))
    assert s[0].message.hop_count == 4 and s[0].message.relay_message == inner
    too_far = RelayMessage(M.RELAY_FORW, 8, A("::"), A("fe80::9"), (RelayMsg(msg(M.SOLICIT)),))
    out = r.packet_received(too_far.encode(), A("2001:db8:2::9"), None, "eth1", 0)
    assert not sends(out) and "HOP_COUNT_LIMIT" in drop(out)


def test_unknown_message_types_are_relayed_too():
    r = relay()
    odd = Message(200, 5, ())
    assert (
        sends(r.packet_received(odd.encode(), A("fe80::1"), None, "eth1", 0))[
            0
        ].message.relay_message
        == odd
    )


def test_relay_reply_is_unwrapped_one_level():
    r = relay(link=None)
    adv = Message(M.ADVERTISE, 1, ())
    rep = RelayMessage(
        M.RELAY_REPL, 0, A("::"), A("fe80::c1"), (InterfaceId(b"eth1"), RelayMsg(adv))
    )
    (s,) = sends(r.packet_received(rep.encode(), SRV, A("2001:db8:1::5"), "eth0", 0))
    assert (s.dst, s.port, s.iface) == (A("fe80::c1"), 546, "eth1") and s.message == adv
    r2 = relay()  # by link-address, and an inner Relay-reply goes to port 547
    inner = RelayMessage(M.RELAY_REPL, 0, A("2001:db8:7::1"), A("fe80::c1"), (RelayMsg(adv),))
    rep2 = RelayMessage(M.RELAY_REPL, 1, A("2001:db8:2::1"), A("2001:db8:2::7"), (RelayMsg(inner),))
    (s2,) = sends(r2.packet_received(rep2.encode(), SRV, None, "eth0", 0))
    assert (s2.dst, s2.port, s2.iface) == (A("2001:db8:2::7"), 547, "eth1") and s2.message == inner


@pytest.mark.parametrize("bad, reason", [
    (RelayMessage(M.RELAY_REPL, 0, A("::"), A("fe80::1"), ()), "without a Relay Message"),
    (RelayMessage(M.RELAY_REPL, 0, A("::"), A("fe80::1"), (InterfaceId(b"eth7"), RelayMsg(Message(7, 1, ())))), "names none"),
    (RelayMessage(M.RELAY_REPL, 0, A("2001:db8:5::1"), A("fe80::1"), (RelayMsg(Message(7, 1, ())),)), "none of our links"),
    (RelayMessage(M.RELAY_REPL, 0, A("2001:db8:2::1"), A("2001:db8:2::1"), (RelayMsg(Message(7, 1, ())),)), "loop"),
    (RelayMessage(M.RELAY_REPL, 0, A("2001:db8:2::1"), A("fe80::1"), (RelayMsg(RelayMessage(12, 0, A("::"), A("::"), ())),)), "carries a RELAY-FORW"),
    (bytes([13, 0]) + bytes(20), "malformed"),
])  # fmt: skip
def test_bad_relay_replies_are_dropped(bad, reason):
    r = relay(own=("2001:db8:2::1",))
    out = r.packet_received(bad if isinstance(bad, bytes) else bad.encode(), SRV, None, "eth0", 0)
    assert not sends(out) and reason in drop(out)


def test_deep_relay_nesting_never_crashes():
    import struct

    m = Message(1, 1, ()).encode()
    for _ in range(40):  # built by hand: the codec itself refuses to decode this deep
        m = bytes([13, 0]) + bytes(16) + A("fe80::1").packed + struct.pack("!HH", 9, len(m)) + m
    out = relay().packet_received(m, SRV, None, "eth0", 0)
    assert not sends(out) and "deeper than 32" in drop(out)


def test_client_message_on_a_non_listen_interface_is_dropped():
    out = relay().packet_received(msg(M.SOLICIT).encode(), A("fe80::1"), None, "eth0", 0)
    assert not sends(out) and "not a --listen interface" in drop(out)


def test_two_chained_relays_with_our_server():
    """client → r2 (link 2001:db8:3::/64) → r1 → server; the server picks the innermost link."""
    server = ServerEngine(config_from_text("""
subnets:
  - {prefix: 2001:db8:3::/64, pools: ["2001:db8:3::100-2001:db8:3::1ff"]}
"""), SERVER_DUID)  # fmt: skip
    r2 = RelayEngine(
        RelayConfig((ListenLink("c0", A("2001:db8:3::1")),), ((A("2001:db8:2::1"), None),), True)
    )
    r1 = RelayEngine(RelayConfig((ListenLink("down0", A("2001:db8:2::1")),), ((SRV, None),)))
    sol = msg(M.SOLICIT, 1, na())
    (f2,) = sends(r2.packet_received(sol.encode(), A("fe80::c1"), None, "c0", 0))
    (f1,) = sends(
        r1.packet_received(f2.message.encode(), A("2001:db8:2::2"), A("2001:db8:2::1"), "down0", 0)
    )
    assert f1.message.hop_count == 1
    (rep,) = sends(server.packet_received(f1.message.encode(), A("2001:db8:1::2"), SRV, "eth0", 0))
    assert (rep.dst, rep.port) == (A("2001:db8:1::2"), 547)
    (b1,) = sends(r1.packet_received(rep.message.encode(), SRV, None, "up0", 0))
    assert (b1.dst, b1.port, b1.iface) == (A("2001:db8:2::2"), 547, "down0")
    (b2,) = sends(r2.packet_received(b1.message.encode(), A("2001:db8:2::1"), None, "up0", 0))
    assert (b2.dst, b2.port, b2.iface) == (A("fe80::c1"), 546, "c0")
    adv = decode(b2.message.encode())
    assert adv.msg_type == M.ADVERTISE and adv.ia_na[0].addresses[0].address == A("2001:db8:3::100")


def test_the_table_is_data():
    assert len(RELAY_TABLE) >= 4 and all(r.rfc.startswith("§") for r in RELAY_TABLE)
