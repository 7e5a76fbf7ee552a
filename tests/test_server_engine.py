"""The sans-IO server engine against RFC 9915 §16 and §18.3, with no sockets and no clock."""

from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network

import pytest

from dhcp6.constants import MessageType as M
from dhcp6.constants import OptionCode, StatusCode
from dhcp6.engine.actions import CommitLease, RemoveLease, Send, SetTimer, Trace
from dhcp6.engine.server_table import HANDLING, transitions
from dhcp6.leases.model import DECLINED
from dhcp6.server_config import config_from_text
from dhcp6.wire import (
    ClientId,
    IaAddress,
    IaNa,
    InterfaceId,
    Message,
    RapidCommit,
    ReconfigureAccept,
    RelayMessage,
    RelayMsg,
    ServerId,
    UnknownOption,
    decode,
)

from .server_helpers import (
    CONFIG,
    LL,
    MCAST,
    SERVER_DUID,
    A,
    client,
    engine,
    msg,
    na,
    oro,
    pd,
    same,
    sarr,
    send,
)


def status_of(ia) -> int | None:
    return ia.status.status if ia.status else None


# ---------------------------------------------------------------- four-message exchange
def test_solicit_advertise_request_reply():
    e = engine()
    adv = send(e, msg(M.SOLICIT, 1, na(7))).reply
    assert adv.msg_type == M.ADVERTISE and adv.transaction_id == 0x1234
    assert adv.server_id == SERVER_DUID and adv.client_id == client(1)
    a = adv.ia_na[0].addresses[0]
    assert a.address == A("2001:db8:1::100") and (a.preferred_lifetime, a.valid_lifetime) == (
        3000,
        4000,
    )
    assert (adv.ia_na[0].t1, adv.ia_na[0].t2) == (1500, 2400)  # 0.5 / 0.8 × preferred
    assert adv.option(OptionCode.PREFERENCE) is None  # not configured
    assert len(e.table) == 0  # an Advertise reserves nothing
    run = sarr(e, 1, na(7))
    reply = run.reply
    assert reply.msg_type == M.REPLY and reply.ia_na[0].addresses[0].address == A("2001:db8:1::100")
    assert [x.address for x in run.commits] == [A("2001:db8:1::100")]
    # committed before the Reply that grants it
    kinds = [type(x) for x in run.actions if isinstance(x, (CommitLease, Send))]
    assert kinds == [CommitLease, Send]
    assert run.sends[0].dst == LL and run.sends[0].port == 546 and run.sends[0].iface == "eth0"
    assert run.events("lease")[0]["action"] == "bound"
    assert run.events("state") == [{"seed": "Reply", "msg": "REQUEST", "client": client(1).hex()}]


def test_seed_labels_in_the_trace():
    e = engine()
    assert send(e, msg(M.SOLICIT, 1, na())).events("state")[0]["seed"] == "Advertise"
    run = sarr(e, 1)
    addr = run.reply.ia_na[0].addresses[0].address
    rel = send(e, msg(M.RELEASE, 1, na(1, str(addr)), server=True))
    assert rel.events("state")[0]["seed"] == "Release"


def test_preference_and_rapid_commit():
    e = engine("preference: 200\nrapid_commit: true\n" + CONFIG)
    adv = send(e, msg(M.SOLICIT, 1, na())).reply
    assert adv.preference == 200
    run = send(e, msg(M.SOLICIT, 2, na(), RapidCommit()))
    assert run.reply.msg_type == M.REPLY and run.reply.rapid_commit and run.commits
    # rapid commit disabled: an ordinary Advertise, nothing committed
    e2 = engine()
    run = send(e2, msg(M.SOLICIT, 2, na(), RapidCommit()))
    assert run.reply.msg_type == M.ADVERTISE and not run.reply.rapid_commit and not run.commits


def test_prefix_delegation_and_same_t1_t2_across_ias():
    e = engine()
    run = sarr(e, 1, na(1), pd(2))
    r = run.reply
    assert r.ia_pd[0].prefixes[0].network == IPv6Network("2001:db8:8000::/56")
    assert {(ia.t1, ia.t2) for ia in [*r.ia_na, *r.ia_pd]} == {(1500, 2400)}
    run2 = sarr(e, 2, pd(1))
    assert run2.reply.ia_pd[0].prefixes[0].network == IPv6Network("2001:db8:8000:100::/56")


def test_configured_t1_t2():
    e = engine(
        CONFIG.replace(
            "{preferred: 3000, valid: 4000}", "{preferred: 3000, valid: 4000, t1: 100, t2: 200}"
        )
    )
    ia = sarr(e).reply.ia_na[0]
    assert (ia.t1, ia.t2) == (100, 200)


def test_pool_exhaustion_no_addrs_and_no_prefix_avail():
    text = CONFIG.replace(
        "2001:db8:1::100-2001:db8:1::1ff", "2001:db8:1::100-2001:db8:1::101"
    ).replace(
        '{prefix: "2001:db8:8000::/48", delegated_length: 56}',
        '{prefix: "2001:db8:8000::/56", delegated_length: 56}',
    )
    e = engine(text)
    got = [sarr(e, n, na(1), pd(2)).reply for n in (1, 2, 3)]
    assert [len(r.ia_na[0].addresses) for r in got] == [1, 1, 0]
    assert status_of(got[2].ia_na[0]) == StatusCode.NO_ADDRS_AVAIL
    assert status_of(got[1].ia_pd[0]) == StatusCode.NO_PREFIX_AVAIL
    addresses = {r.ia_na[0].addresses[0].address for r in got[:2]}
    assert len(addresses) == 2


def test_request_with_an_address_not_on_link():
    e = engine()
    r = send(e, msg(M.REQUEST, 1, na(1, "2001:db8:99::5"), server=True)).reply
    assert status_of(r.ia_na[0]) == StatusCode.NOT_ON_LINK and not r.ia_na[0].addresses


def test_free_hint_is_granted_and_same_client_gets_same_address():
    e = engine()
    r = send(e, msg(M.REQUEST, 1, na(1, "2001:db8:1::1aa"), server=True)).reply
    assert r.ia_na[0].addresses[0].address == A("2001:db8:1::1aa")
    again = sarr(e, 1).reply  # new Solicit/Request from the same client and IA
    assert again.ia_na[0].addresses[0].address == A("2001:db8:1::1aa")


def test_retransmitted_request_is_answered_freshly():
    e = engine()
    req = msg(M.REQUEST, 1, na(1), server=True)
    a = send(e, req, now=0).reply
    b = send(e, req, now=5).reply
    assert a.ia_na[0].addresses == b.ia_na[0].addresses and len(e.table) == 1
    lease = next(iter(e.table.all()))
    assert lease.expires == 5 + 4000  # recommitted at the retransmission's time


# ---------------------------------------------------------------- renew / rebind
def test_renew_extends_and_unknown_ia_gets_nobinding():
    e = engine()
    addr = str(sarr(e, 1).reply.ia_na[0].addresses[0].address)
    run = send(e, msg(M.RENEW, 1, na(1, addr), na(9), server=True), now=1500)
    r = run.reply
    assert r.ia_na[0].addresses[0].valid_lifetime == 4000
    assert run.events("lease")[0]["action"] == "renewed"
    assert e.table.get("na", int(A(addr))).expires == 1500 + 4000
    assert status_of(r.ia_na[1]) == StatusCode.NO_BINDING


def test_renew_returns_inappropriate_addresses_with_lifetime_0():
    e = engine()
    addr = str(sarr(e, 1).reply.ia_na[0].addresses[0].address)
    r = send(e, msg(M.RENEW, 1, na(1, addr, "2001:db8:77::1"), server=True)).reply
    zero = next(a for a in r.ia_na[0].addresses if a.address == A("2001:db8:77::1"))
    assert (zero.preferred_lifetime, zero.valid_lifetime) == (0, 0)


def test_rebind_extends_known_binding():
    e = engine()
    addr = str(sarr(e, 1).reply.ia_na[0].addresses[0].address)
    run = send(e, msg(M.REBIND, 1, na(1, addr)), now=2400)
    assert run.reply.ia_na[0].addresses[0].valid_lifetime == 4000
    assert run.events("lease")[0]["action"] == "rebound"


def test_rebind_of_another_servers_binding_is_adopted_when_free():
    e = engine()  # a secondary that never saw this client
    run = send(e, msg(M.REBIND, 1, na(1, "2001:db8:1::150"), pd(2, "2001:db8:8000:500::/56")))
    r = run.reply
    assert r.ia_na[0].addresses[0].address == A("2001:db8:1::150")
    assert r.ia_na[0].addresses[0].valid_lifetime == 4000
    assert r.ia_pd[0].prefixes[0].valid_lifetime == 4000
    assert {x.text() for x in run.commits} == {"2001:db8:1::150", "2001:db8:8000:500::/56"}
    # the address is now bound: another client asking for it by Rebind gets lifetime 0
    r2 = send(e, msg(M.REBIND, 2, na(1, "2001:db8:1::150"))).reply
    assert r2.ia_na[0].addresses[0].valid_lifetime == 0


def test_rebind_inappropriate_gets_lifetime_0_and_empty_rebind_is_dropped():
    e = engine()
    r = send(e, msg(M.REBIND, 1, na(1, "2001:db8:99::1"))).reply
    assert r.ia_na[0].addresses[0].valid_lifetime == 0
    run = send(e, msg(M.REBIND, 1, na(1)))
    assert not run.sends and "return nothing" in run.drop_reason


def test_rebind_unknown_as_nobinding_by_policy():
    e = engine("rebind_unknown: nobinding\n" + CONFIG)
    r = send(e, msg(M.REBIND, 1, na(1, "2001:db8:1::150"))).reply
    assert status_of(r.ia_na[0]) == StatusCode.NO_BINDING


# ---------------------------------------------------------------- confirm, release, decline
def test_confirm():
    e = engine()
    ok = send(e, msg(M.CONFIRM, 1, na(1, "2001:db8:1::123"))).reply
    assert ok.status.status == StatusCode.SUCCESS
    bad = send(e, msg(M.CONFIRM, 1, na(1, "2001:db8:5::1"))).reply
    assert bad.status.status == StatusCode.NOT_ON_LINK
    silent = send(e, msg(M.CONFIRM, 1, na(1)))
    assert not silent.sends and "cannot tell" in silent.drop_reason
    unknown_link = send(e, msg(M.CONFIRM, 1, na(1, "2001:db8:1::123")), iface="eth9")
    assert not unknown_link.sends


def test_release_frees_and_unknown_ia_gets_nobinding():
    e = engine()
    addr = str(sarr(e, 1).reply.ia_na[0].addresses[0].address)
    run = send(e, msg(M.RELEASE, 1, na(1, addr), na(5, "2001:db8:1::1"), server=True))
    r = run.reply
    assert r.status.status == StatusCode.SUCCESS
    assert status_of(r.ia_na[0]) == StatusCode.NO_BINDING and r.ia_na[0].iaid == 5
    assert len(r.ia_na) == 1 and not r.ia_na[0].addresses
    assert [x.text() for x in run.removals] == [addr] and len(e.table) == 0
    assert run.events("lease")[0]["action"] == "released"
    # the address can be handed out again
    assert sarr(e, 2).reply.ia_na[0].addresses[0].address == A(addr)


def test_decline_holds_the_address_on_probation():
    e = engine("decline_probation: 100\n" + CONFIG)
    addr = sarr(e, 1).reply.ia_na[0].addresses[0].address
    run = send(e, msg(M.DECLINE, 1, na(1, str(addr)), server=True), now=10)
    assert run.reply.status.status == StatusCode.SUCCESS
    held = e.table.get("na", int(addr))
    assert held.state == DECLINED and held.expires == 110 and run.commits[0].state == DECLINED
    assert sarr(e, 2, now=20).reply.ia_na[0].addresses[0].address != addr
    acts = e.timer_fired("reclaim", 111)
    assert any(isinstance(a, RemoveLease) for a in acts)
    assert e.table.get("na", int(addr)) is None


def test_expiry_reclaims_the_lease():
    e = engine()
    assert e.start(0) == [SetTimer("reclaim", 10.0)]
    addr = sarr(e, 1, now=0).reply.ia_na[0].addresses[0].address
    assert not [a for a in e.timer_fired("reclaim", 3999) if isinstance(a, RemoveLease)]
    acts = e.timer_fired("reclaim", 4000)
    assert [a.lease.address for a in acts if isinstance(a, RemoveLease)] == [addr]
    assert acts[-1] == SetTimer("reclaim", 4010.0)


# ---------------------------------------------------------------- information-request and options
def test_information_request_and_oro():
    e = engine()
    r = send(e, Message(M.INFORMATION_REQUEST, 9, (oro(23, 24, 83, 32),))).reply
    assert [str(a) for a in r.dns_servers] == ["2001:db8::53"] and r.domain_list == ("lab.example",)
    assert r.option(OptionCode.INF_MAX_RT).value == 300
    assert r.option(OptionCode.INFORMATION_REFRESH_TIME).value == 900
    assert r.client_id is None and r.server_id == SERVER_DUID
    # unrequested options are not sent
    adv = send(e, msg(M.SOLICIT, 1, na())).reply
    assert adv.option(OptionCode.DNS_SERVERS) is None
    adv = send(e, msg(M.SOLICIT, 1, na(), oro(23, 82))).reply
    assert adv.dns_servers and adv.option(OptionCode.SOL_MAX_RT).value == 120
    assert adv.option(OptionCode.DOMAIN_LIST) is None
    e2 = engine("always_send: [domain_search]\n" + CONFIG)
    assert send(e2, msg(M.SOLICIT, 1, na())).reply.domain_list == ("lab.example",)


# ---------------------------------------------------------------- §16 validation
DROPS = {
    "solicit with server-id": (msg(M.SOLICIT, 1, na(), server=True), "Server-ID"),
    "solicit without client-id": (Message(M.SOLICIT, 1, (na(),)), "no Client-ID"),
    "request without server-id": (msg(M.REQUEST, 1, na()), "without a Server-ID"),
    "request, foreign server-id": (Message(M.REQUEST, 1, (ClientId(client(1)), ServerId(client(99)), na())), "does not match"),
    "renew without server-id": (msg(M.RENEW, 1, na()), "without a Server-ID"),
    "release, foreign server-id": (Message(M.RELEASE, 1, (ClientId(client(1)), ServerId(client(99)))), "does not match"),
    "decline without server-id": (msg(M.DECLINE, 1, na()), "without a Server-ID"),
    "decline without client-id": (Message(M.DECLINE, 1, (ServerId(SERVER_DUID),)), "no Client-ID"),
    "confirm with server-id": (msg(M.CONFIRM, 1, na(), server=True), "Server-ID"),
    "rebind with server-id": (msg(M.REBIND, 1, na(), server=True), "Server-ID"),
    "information-request with IA": (Message(M.INFORMATION_REQUEST, 1, (na(),)), "IA option"),
    "information-request, foreign server-id": (Message(M.INFORMATION_REQUEST, 1, (ServerId(client(9)),)), "does not match"),
    "advertise": (Message(M.ADVERTISE, 1, ()), "server-to-client"),
    "reply": (Message(M.REPLY, 1, ()), "server-to-client"),
    "reconfigure": (Message(M.RECONFIGURE, 0, ()), "server-to-client"),
    "unknown type": (Message(77, 1, ()), "unknown message type"),
    "relay-reply": (RelayMessage(M.RELAY_REPL, 0, A("::"), A("fe80::1"), ()), "relay agents"),
    "malformed": (bytes.fromhex("03000001000300050102030405"), "malformed: offset 8: IA_NA"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(DROPS))
def test_invalid_messages_are_dropped_with_a_reason(name):
    m, reason = DROPS[name]
    run = send(engine(), m)
    assert not run.sends and not run.commits
    assert reason in run.drop_reason


def test_unicast_from_a_client_is_dropped():
    run = send(engine(), msg(M.SOLICIT, 1, na()), dst=A("2001:db8:1::1"))
    assert not run.sends and "unicast" in run.drop_reason


def test_unknown_options_are_ignored():
    r = send(engine(), msg(M.SOLICIT, 1, na(), UnknownOption(999, b"x"), ReconfigureAccept())).reply
    assert r.msg_type == M.ADVERTISE


# ---------------------------------------------------------------- relayed traffic
def relay(inner, link="::", peer="fe80::99", hops=0, iid: bytes | None = None) -> RelayMessage:
    opts = ([InterfaceId(iid)] if iid else []) + [RelayMsg(inner)]
    return RelayMessage(M.RELAY_FORW, hops, A(link), A(peer), tuple(opts))


def test_relayed_solicit_through_two_relays_is_mirrored():
    e = engine()
    inner = relay(msg(M.SOLICIT, 1, na()), link="2001:db8:2::1", peer="fe80::c1", iid=b"eth1")
    outer = relay(inner, link="2001:db8:10::1", peer="2001:db8:20::2", hops=1, iid=b"up0")
    run = send(e, outer, src=A("2001:db8:10::2"), dst=A("2001:db8:10::5"))  # unicast is fine
    s = run.sends[0]
    assert (s.dst, s.port) == (A("2001:db8:10::2"), 547)
    out = run.reply
    assert isinstance(out, RelayMessage) and out.msg_type == M.RELAY_REPL
    assert [
        (lv.hop_count, str(lv.link_address), str(lv.peer_address), lv.interface_id)
        for lv in out.levels()
    ] == [
        (1, "2001:db8:10::1", "2001:db8:20::2", b"up0"),
        (0, "2001:db8:2::1", "fe80::c1", b"eth1"),
    ]
    adv = out.innermost()
    assert adv.msg_type == M.ADVERTISE and adv.ia_na[0].addresses[0].address == A("2001:db8:2::100")


def test_relayed_subnet_by_interface_id_when_link_address_is_unspecified():
    e = engine()
    run = send(e, relay(msg(M.SOLICIT, 1, na()), iid=b"port7"), src=A("2001:db8:10::2"))
    assert run.reply.innermost().ia_na[0].addresses[0].address == A("2001:db8:3::100")


def test_relayed_from_an_unknown_link_gets_no_addrs_avail():
    e = engine()
    run = send(e, relay(msg(M.SOLICIT, 1, na()), link="2001:db8:77::1"), src=A("2001:db8:10::2"))
    assert status_of(run.reply.innermost().ia_na[0]) == StatusCode.NO_ADDRS_AVAIL


# ---------------------------------------------------------------- allocation at scale
def test_allocation_from_a_slash_64_is_unique_and_cheap():
    text = CONFIG.replace("2001:db8:1::100-2001:db8:1::1ff", "2001:db8:1::/64")
    e = engine(text, trace=False)
    seen = set()
    for n in range(3000):
        r = send(
            e,
            Message(M.REQUEST, n, (ClientId(client(n)), ServerId(SERVER_DUID), IaNa(1, 0, 0, ()))),
        ).reply
        seen.add(r.ia_na[0].addresses[0].address)
    assert len(seen) == 3000 and all(a in IPv6Network("2001:db8:1::/64") for a in seen)


# ---------------------------------------------------------------- the table is data
def test_handling_table_covers_every_client_message_and_the_engine_has_each_handler():
    from dhcp6.constants import CLIENT_TO_SERVER
    from dhcp6.engine.server import ServerEngine

    assert set(HANDLING) == set(CLIENT_TO_SERVER)
    for h in HANDLING.values():
        assert callable(getattr(ServerEngine, h.handler))
    seeds = {t.target for t in transitions()} | {t.source for t in transitions()}
    assert {
        "Advertise",
        "Reply",
        "Release",
        "Reconfigure",
        "Reconfigure Init",
        "Reconfigure Reply",
    } <= seeds


def test_restore_keeps_bindings():
    e = engine()
    run = sarr(e, 1, na(1), pd(2))
    e2 = engine()
    assert e2.restore(run.commits) == 2
    r = sarr(e2, 1, na(1), pd(2)).reply
    assert r.ia_na[0].addresses[0].address == run.commits[0].address
    assert r.ia_pd[0].prefixes[0].prefix == run.commits[1].address
    # and nobody else gets them
    other = sarr(e2, 2, na(1), pd(2)).reply
    assert other.ia_na[0].addresses[0].address != run.commits[0].address


def test_ia_address_options_are_typed():
    ia = IaNa(1, 0, 0, (IaAddress(A("2001:db8:1::5"), 1, 2),))
    assert isinstance(ia.addresses[0].address, IPv6Address)


# ---------------------------------------------------------------- message_received
def test_message_received_is_packet_received_after_decode():
    """A driver may decode once and hand the message to several engines (a multicast
    reaching two servers): each gets what packet_received would have given it."""
    by_bytes, by_msg, other = engine(), engine(), engine()  # `other` shares the messages
    unicast = A("2001:db8:1::1")
    script = [
        (msg(M.SOLICIT, 1, na(1), pd(2), oro(23, 24)), MCAST),
        (Message(M.REQUEST, 2, (ClientId(client(1)), ServerId(SERVER_DUID), na(1), pd(2))), MCAST),
        (msg(M.RENEW, 1, na(1, "2001:db8:1::100", "2001:db8:9::1"), pd(2), server=True), MCAST),
        (msg(M.REBIND, 1, na(1, "2001:db8:1::100"), na(5, "2001:db8:1::150")), MCAST),
        (msg(M.RENEW, 2, na(1, "2001:db8:1::100"), server=True), MCAST),  # no binding
        (Message(M.RENEW, 1, (ClientId(client(1)), ServerId(client(99)), na(1))), MCAST),
        (msg(M.CONFIRM, 1, na(1, "2001:db8:1::100")), MCAST),
        (Message(M.INFORMATION_REQUEST, 9, (oro(23, 24, 83, 32),)), MCAST),
        (msg(M.SOLICIT, 3, na()), unicast),
        (relay(msg(M.SOLICIT, 4, na()), link="2001:db8:2::1", iid=b"eth1"), unicast),
        (msg(M.DECLINE, 1, na(5, "2001:db8:1::150"), server=True), MCAST),
        (msg(M.RELEASE, 1, na(1, "2001:db8:1::100"), pd(2), server=True), MCAST),
        *((m, MCAST) for m, _ in DROPS.values() if not isinstance(m, bytes)),
    ]
    for i, (m, dst) in enumerate(script):
        data = m.encode()
        want = by_bytes.packet_received(data, LL, dst, "eth0", float(i))
        decoded = decode(data)
        got = by_msg.message_received(decoded, LL, dst, "eth0", float(i))
        assert got == want, m
        # the same decoded object again, for another engine: nothing of it was changed
        assert other.message_received(decoded, LL, dst, "eth0", float(i)) == want
        fields = [list(a.fields) for a in got if isinstance(a, Trace)]
        assert fields == [list(a.fields) for a in want if isinstance(a, Trace)]  # key order
    assert by_msg.stats == by_bytes.stats and by_msg.table.leases == by_bytes.table.leases


def test_usual_renew_fast_path_is_the_general_path():
    """A Renew decoded with a memo (its options an OptionRun, as in the simulator) may take
    the engine's shortcut for the usual renewal; it must act as the general path does —
    actions, trace fields and their order, table, stats — in the usual case and around it."""
    plain, fast = engine(), engine()  # fast: every message decoded with one memo
    memo: dict = {}
    renew1 = msg(M.RENEW, 1, na(1, "2001:db8:1::100"), oro(23), server=True)
    script = [
        (msg(M.SOLICIT, 1, na(1), pd(2)), MCAST, "eth0"),
        (Message(M.REQUEST, 2, (ClientId(client(1)), ServerId(SERVER_DUID), na(1), pd(2))), MCAST, "eth0"),
        (renew1, MCAST, "eth0"),
        (renew1, MCAST, "eth0"),  # the same run again: what the engine kept is used
        (renew1, A("2001:db8:1::1"), "eth0"),  # unicast
        (renew1, MCAST, "eth9"),  # from a link with no subnet
        (msg(M.RENEW, 1, na(1, "2001:db8:1::101"), server=True), MCAST, "eth0"),  # not its address
        (msg(M.RENEW, 1, na(1), server=True), MCAST, "eth0"),  # no address asked
        (msg(M.RENEW, 1, na(1, "2001:db8:1::100"), pd(2), server=True), MCAST, "eth0"),
        (msg(M.RENEW, 2, na(1, "2001:db8:1::100"), server=True), MCAST, "eth0"),  # no binding
        (Message(M.RENEW, 3, (ClientId(client(1)), ServerId(client(99)), na(1, "2001:db8:1::100"))), MCAST, "eth0"),
        (Message(M.RENEW, 3, (ServerId(SERVER_DUID), na(1, "2001:db8:1::100"))), MCAST, "eth0"),
        (msg(M.RENEW, 1, na(1, "2001:db8:1::100")), MCAST, "eth0"),  # no Server-ID
        (msg(M.REBIND, 1, na(1, "2001:db8:1::100"), na(5, "2001:db8:1::150")), MCAST, "eth0"),
        (msg(M.RENEW, 1, na(5, "2001:db8:1::150"), server=True), MCAST, "eth0"),
        (renew1, MCAST, "eth0"),
    ]
    same(plain, fast, script * 2, memo)
    # a new configuration (other lifetimes, the address now off the link): new answers
    other = CONFIG.replace("3000, valid: 4000", "1000, valid: 2000")
    for text in (other, other.replace("2001:db8:1::", "2001:db8:1:1::")):
        for e in (plain, fast):
            e.configure(config_from_text(text))
        data = renew1.encode()
        want = plain.packet_received(data, LL, MCAST, "eth0", 99.0)
        assert fast.message_received(decode(data, memo=memo), LL, MCAST, "eth0", 99.0) == want
    assert fast.table.leases == plain.table.leases


def test_usual_renew_fast_path_with_reconfigure_and_without_trace():
    reconf = CONFIG + "reconfigure: true\n"
    for text, kw in ((CONFIG, {"trace": False}), (reconf, {"trace": False}), (reconf, {})):
        plain = engine(text, rand_bytes=bytes, **kw)
        fast = engine(text, rand_bytes=bytes, **kw)
        memo: dict = {}
        script = [
            msg(M.SOLICIT, 1, na(1)),
            Message(M.REQUEST, 2, (ClientId(client(1)), ServerId(SERVER_DUID), na(1), ReconfigureAccept())),
            msg(M.RENEW, 1, na(1, "2001:db8:1::100"), ReconfigureAccept(), server=True),
            msg(M.RENEW, 1, na(1, "2001:db8:1::100"), ReconfigureAccept(), server=True),
        ]
        for i, m in enumerate(script):
            if i == len(script) - 1:  # the last Renew answers a Reconfigure
                for e in (plain, fast):
                    e.reconfigure(float(i), clients=[client(1).encode()])
            data = m.encode()
            want = plain.packet_received(data, LL, MCAST, "eth0", float(i))
            got = fast.message_received(decode(data, memo=memo), LL, MCAST, "eth0", float(i))
            assert got == want, m
        assert not fast.reconfiguring and fast.replay == plain.replay and fast.table.leases == plain.table.leases
