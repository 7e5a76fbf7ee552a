"""The sans-IO client engine through whole lifecycles, on a fake clock with a fake RNG,
against our server engine or hand-made replies; send times are checked against RFC 9915."""

from __future__ import annotations

import itertools
from ipaddress import IPv6Address

import pytest

from dhcp6.constants import MessageType as M
from dhcp6.constants import OptionCode, StatusCode
from dhcp6.engine.actions import RemoveAddress, Send
from dhcp6.engine.client import ClientConfig
from dhcp6.engine.client_table import (
    BOUND,
    CONFIRM,
    INFORMATION_REQUEST,
    REBIND,
    RENEW,
    REQUEST,
    SEED,
    SOLICIT,
    STATES,
    STOPPED,
    TRANSITIONS,
)
from dhcp6.wire import (
    DuidLLT,
    IaAddress,
    IaNa,
    IaPd,
    IaPrefix,
    Message,
    ServerId,
    SolMaxRt,
    StatusOption,
)

from .client_sim import FixedRand, Sim

A = IPv6Address
APPROX = pytest.approx


def gaps(times: list[float]) -> list[float]:
    return [round(b - a, 6) for a, b in itertools.pairwise(times)]


# ---------------------------------------------------------------- Solicit / Advertise / Request
def test_four_message_exchange_exact_times():
    sim = Sim(rand=FixedRand(0.5)).start()
    assert sim.timers["tx"] == APPROX(0.5)  # SOL_MAX_DELAY × rand
    bound_at = sim.until_state(BOUND)
    (t_sol, sol), = sim.sends("SOLICIT")  # fmt: skip
    assert t_sol == APPROX(0.5) and sol.elapsed_time == 0
    # the first RT is spent collecting Advertises: RT = IRT + RAND·IRT, RAND = 0.1·(1 - 0.5)
    (t_req, req), = sim.sends("REQUEST")  # fmt: skip
    assert t_req == APPROX(0.5 + 1.05)
    assert req.server_id == sim.servers[0].duid and req.ia_na[0].addresses
    assert req.ia_na[0].addresses[0].valid_lifetime == 0  # client lifetimes are 0 (§21.6)
    assert bound_at == APPROX(t_req + 0.002)
    addr = A("2001:db8:1::100")
    assert sim.kernel == {addr: (100, 200)}
    assert sim.client.s.dns_servers == (A("2001:db8::53"),)
    assert sim.client.s.domain_list == ("lab.example",)
    # T1/T2 = 0.5 / 0.8 × preferred from the server
    assert sim.timers["t1"] == APPROX(bound_at + 50) and sim.timers["t2"] == APPROX(bound_at + 80)
    lease = sim.events("lease")[0]
    assert lease["action"] == "bound" and lease["address"] == str(addr) and lease["t1"] == 50


def test_first_solicit_rt_is_strictly_greater_than_irt():
    for r, expect in ((0.0, 1.1), (0.999999, 1.0000001)):
        sim = Sim(servers=0, rand=FixedRand(0.0, r, 0.5)).start().run(0.01)
        assert sim.timers["rtx"] - sim.sends("SOLICIT")[0][0] == APPROX(expect, abs=1e-6)
        assert sim.timers["rtx"] - sim.sends("SOLICIT")[0][0] > 1.0


def test_solicit_retransmission_doubles_up_to_sol_max_rt():
    sim = Sim(servers=0, rand=FixedRand(0.0, 0.5)).start().run(20000)
    times = [t for t, _ in sim.sends("SOLICIT")]
    g = gaps(times)
    # RT1 = 1.05, then RTn = 2·RTn-1 + RAND·RTn-1 with RAND = 0 (rand 0.5)
    expect = [1.05 * 2**i for i in range(12)]
    assert g[:12] == APPROX(expect, rel=1e-9)
    assert max(g) == APPROX(3600)  # capped at SOL_MAX_RT + RAND·SOL_MAX_RT, RAND = 0
    assert g[-1] == APPROX(3600)
    elapsed = [m.elapsed_time for _, m in sim.sends("SOLICIT")]
    assert elapsed[0] == 0 and elapsed[1] == 105 and elapsed[-1] == 0xFFFF  # capped


def test_preference_255_requests_at_once_and_best_preference_wins():
    sim = Sim(servers=2, preference=[10, 255]).start()
    sim.until_state(REQUEST)
    (t_req, req), = sim.sends("REQUEST")  # fmt: skip
    assert t_req == APPROX(0.5 + 0.0021, abs=1e-3)  # no waiting for the first RT
    assert req.server_id == sim.servers[1].duid
    sim2 = Sim(servers=2, preference=[10, 20]).start()
    sim2.until_state(BOUND)
    assert sim2.sends("REQUEST")[0][1].server_id == sim2.servers[1].duid
    assert sim2.sends("REQUEST")[0][0] == APPROX(1.55)


def test_advertise_after_the_first_rt_is_taken_at_once():
    sim = Sim(rand=FixedRand(0.5))
    late = []

    def slow(msg):  # the server answers only the second Solicit
        if msg.name == "SOLICIT":
            late.append(msg)
            return [] if len(late) == 1 else None
        return None

    sim.intercept = slow
    sim.start().until_state(REQUEST)
    t_sol2 = sim.sends("SOLICIT")[1][0]
    assert sim.sends("REQUEST")[0][0] == APPROX(t_sol2 + 0.002)
    assert [e for _, _, new, e in sim.states if new == REQUEST] == ["Advertise after the first RT"]


def test_advertise_without_leases_is_ignored_but_its_sol_max_rt_is_honoured():
    sim = Sim(rand=FixedRand(0.5))

    def empty(msg):
        if msg.name != "SOLICIT":
            return None
        ia = IaNa(1, 0, 0, (StatusOption(StatusCode.NO_ADDRS_AVAIL),))
        return [Message(M.ADVERTISE, msg.transaction_id, (ServerId(DuidLLT(1, 1, b"\x02" * 6)),
                msg.option(OptionCode.CLIENTID), ia, SolMaxRt(120)))]  # fmt: skip

    sim.intercept = empty
    sim.start().run(2000)
    assert sim.state == SOLICIT and not sim.sends("REQUEST")
    assert any("offers no addresses" in e["reason"] for e in sim.events("drop"))
    g = gaps([t for t, _ in sim.sends("SOLICIT")])
    assert max(g) == APPROX(120)  # SOL_MAX_RT 120 from the server
    # invalid values (< 60) are ignored
    sim2 = Sim(rand=FixedRand(0.5))
    sim2.intercept = lambda m: [
        Message(M.ADVERTISE, m.transaction_id, (ServerId(DuidLLT(1, 1, b"\x02" * 6)),
                m.option(OptionCode.CLIENTID), SolMaxRt(30)))]  # fmt: skip
    sim2.start().run(200)
    assert sim2.client.sol_max_rt == 3600


def test_rapid_commit():
    text = "rapid_commit: true\n" + __import__("tests.client_sim", fromlist=["x"]).SERVER_CONFIG
    sim = Sim(ClientConfig(rapid_commit=True), server_config=text).start()
    t = sim.until_state(BOUND)
    assert t == APPROX(0.502) and not sim.sends("REQUEST")
    assert sim.sends("SOLICIT")[0][1].rapid_commit
    # a Reply without Rapid Commit to a Solicit is dropped
    sim2 = Sim(ClientConfig(rapid_commit=True))
    sim2.intercept = lambda m: [Message(M.REPLY, m.transaction_id, (ServerId(DuidLLT(1, 1, b"\x02" * 6)),
                                m.option(OptionCode.CLIENTID), IaNa(1, 5, 8, (IaAddress(A("2001:db8::9"), 10, 20),))))]  # fmt: skip
    sim2.start().run(3)
    assert sim2.state == SOLICIT
    assert any("without Rapid Commit" in e["reason"] for e in sim2.events("drop"))


def test_request_gives_up_after_req_max_rc_and_goes_back_to_solicit():
    sim = Sim(rand=FixedRand(0.5))
    sim.intercept = lambda m: [] if m.name == "REQUEST" else None  # Requests are lost
    sim.start().run(400)
    reqs = [t for t, _ in sim.sends("REQUEST")]
    assert len(reqs) >= 10
    g = gaps(reqs[:10])
    assert g == APPROX([1, 2, 4, 8, 16, 30, 30, 30, 30])  # REQ_TIMEOUT doubling, REQ_MAX_RT 30
    back = [s for s in sim.states if s[3] == "REQ_MAX_RC reached, no Advertise left"]
    assert back and back[0][0] == APPROX(reqs[9] + 30)


# ---------------------------------------------------------------- Renew / Rebind / expiry
def test_renew_at_t1_then_bound_again():
    sim = Sim().start()
    bound = sim.until_state(BOUND)
    t_renew = sim.until_state(RENEW)
    assert t_renew == APPROX(bound + 50)
    (t, renew), = sim.sends("RENEW")  # fmt: skip
    assert t == APPROX(t_renew) and renew.server_id == sim.servers[0].duid
    assert renew.ia_na[0].addresses[0].address == A("2001:db8:1::100")
    again = sim.until_state(BOUND)
    assert sim.timers["t1"] == APPROX(again + 50)
    assert sim.events("lease")[-1]["action"] == "renewed"


def test_rebind_after_a_dead_server_then_expiry_back_to_solicit():
    sim = Sim().start()
    bound = sim.until_state(BOUND)
    sim.alive[0] = False
    t_rebind = sim.until_state(REBIND)
    assert t_rebind == APPROX(bound + 80)
    renews = [t for t, _ in sim.sends("RENEW")]
    # REN_TIMEOUT 10 doubling, RAND 0; bounded by T2
    assert gaps(renews) == APPROX([10, 20])
    rebinds = sim.sends("REBIND")
    assert rebinds[0][1].server_id is None and rebinds[0][0] == APPROX(t_rebind)
    t_sol = sim.until_state(SOLICIT)
    assert t_sol == APPROX(bound + 200)  # the valid lifetime ended
    assert not sim.kernel and ("remove", A("2001:db8:1::100")) in [
        (k, a) for _, k, a in sim.kernel_log
    ]
    assert [e["action"] for e in sim.events("lease")][-1] == "expired"


def test_rebind_answered_by_a_secondary():
    sim = Sim(servers=2, preference=[100, 0]).start()
    sim.alive[1] = False
    sim.until_state(BOUND)
    sim.alive = [False, True]  # primary dies, secondary comes up
    sim.until_state(REBIND)
    t = sim.until_state(BOUND)
    assert sim.client.s.server == sim.servers[1].duid
    assert sim.events("lease")[-1]["action"] == "rebound" and sim.kernel
    assert t > 0


def reply_to(m: Message, *opts, server=None) -> Message:
    sid = server or DuidLLT(1, 1, bytes([2, 0, 0, 0, 0, 1]))
    return Message(M.REPLY, m.transaction_id, (ServerId(sid), m.option(OptionCode.CLIENTID), *opts))


def test_nobinding_in_renew_reply_sends_a_request():
    sim = Sim().start()
    sim.until_state(BOUND)
    sim.intercept = lambda m: (
        [reply_to(m, IaNa(1, 0, 0, (StatusOption(StatusCode.NO_BINDING),)))]
        if m.name == "RENEW"
        else None
    )
    sim.until_state(REQUEST)
    assert [s[3] for s in sim.states if s[2] == REQUEST][-1] == "Reply with NoBinding"
    sim.intercept = None
    sim.until_state(BOUND)
    assert sim.sends("REQUEST")[-1][1].ia_na[0].iaid == 1


def test_noaddrsavail_in_one_ia_keeps_the_others_and_bad_ias_are_discarded():
    sim = Sim(ClientConfig(ia_na=2, ia_pd=1))

    def answer(m):
        if m.name == "SOLICIT":
            return [Message(M.ADVERTISE, m.transaction_id, (ServerId(DuidLLT(1, 1, b"\x02" * 6)),
                    m.option(OptionCode.CLIENTID), IaNa(1, 0, 0, (IaAddress(A("2001:db8::1"), 0, 0),))))]  # fmt: skip
        if m.name == "REQUEST":
            return [reply_to(m,
                IaNa(1, 10, 20, (IaAddress(A("2001:db8::1"), 30, 60),)),
                IaNa(2, 0, 0, (StatusOption(StatusCode.NO_ADDRS_AVAIL),)),
                IaPd(1, 30, 20, (IaPrefix(30, 60, 56, A("2001:db8:100::")),)),  # T1 > T2: discarded
                server=DuidLLT(1, 1, b"\x02" * 6))]  # fmt: skip
        return None

    sim.intercept = answer
    t = sim.start().until_state(BOUND)
    assert [x.text() for x in sim.client.leases] == ["2001:db8::1"]
    assert sim.timers["t1"] == APPROX(t + 10)
    reasons = " ".join(e["reason"] for e in sim.events("drop"))
    assert "NoAddrsAvail" in reasons and "T1 > T2" in reasons
    # the Request also asked again for the IAs the Advertise left empty
    req = sim.sends("REQUEST")[0][1]
    assert [ia.iaid for ia in req.ia_na] == [1, 2] and [ia.iaid for ia in req.ia_pd] == [1]


def test_t1_t2_zero_means_the_client_chooses_and_preferred_over_valid_is_ignored():
    sim = Sim()
    sid = DuidLLT(1, 1, b"\x02" * 6)

    def answer(m):
        if m.name == "SOLICIT":
            return [Message(M.ADVERTISE, m.transaction_id, (ServerId(sid), m.option(OptionCode.CLIENTID),
                    IaNa(1, 0, 0, (IaAddress(A("2001:db8::1"), 0, 0),))))]  # fmt: skip
        return [
            reply_to(
                m,
                IaNa(
                    1,
                    0,
                    0,
                    (IaAddress(A("2001:db8::1"), 40, 60), IaAddress(A("2001:db8::2"), 90, 60)),
                ),
                server=sid,
            )
        ]

    sim.intercept = answer
    t = sim.start().until_state(BOUND)
    assert [x.text() for x in sim.client.leases] == ["2001:db8::1"]
    assert sim.timers["t1"] == APPROX(t + 20) and sim.timers["t2"] == APPROX(t + 32)
    assert "t1" in sim.timers and sim.timers["t1"] > t  # never transmit immediately


def test_dns_options_are_revoked_when_a_later_reply_omits_them():
    sim = Sim().start()
    sim.until_state(BOUND)
    assert sim.client.s.dns_servers
    sim.intercept = lambda m: [reply_to(m, IaNa(1, 50, 80, (IaAddress(A("2001:db8:1::100"), 100, 200),)),
                                        server=sim.servers[0].duid)] if m.name == "RENEW" else None  # fmt: skip
    sim.until_state(RENEW)
    sim.until_state(BOUND)
    assert sim.client.s.dns_servers == () and sim.client.s.domain_list == ()


# ---------------------------------------------------------------- Decline, Release, Confirm
def test_decline_after_dad_failure():
    sim = Sim().start()
    sim.until_state(BOUND)
    addr = A("2001:db8:1::100")
    sim.do(sim.client.dad_failed(addr, sim.now))
    (_t, dec), = sim.sends("DECLINE")  # fmt: skip
    assert dec.server_id == sim.servers[0].duid and dec.ia_na[0].addresses[0].address == addr
    assert addr not in sim.kernel
    sim.until_state(SOLICIT)
    sim.until_state(BOUND)
    assert sim.client.leases[0].address != addr  # the server holds it on probation


def test_release_on_stop_removes_addresses_first():
    sim = Sim().start()
    sim.until_state(BOUND)
    acts = sim.client.stop(sim.now)
    kinds = [type(a) for a in acts if isinstance(a, (RemoveAddress, Send))]
    assert kinds.index(RemoveAddress) < kinds.index(Send)
    sim.do(acts)
    sim.until_state(STOPPED)
    rel = sim.sends("RELEASE")[0][1]
    assert rel.server_id == sim.servers[0].duid and rel.ia_na[0].addresses
    assert len(sim.servers[0].table) == 0 and not sim.kernel


def test_release_without_reply_gives_up_after_rel_max_rc():
    sim = Sim().start()
    sim.until_state(BOUND)
    sim.alive[0] = False
    sim.do(sim.client.stop(sim.now))
    t = sim.until_state(STOPPED)
    rels = [x for x, _ in sim.sends("RELEASE")]
    assert len(rels) == 4 and gaps(rels) == APPROX([1, 2, 4])  # REL_TIMEOUT doubling
    assert t == APPROX(rels[-1] + 8)


def test_confirm_after_link_down_up():
    sim = Sim().start()
    sim.until_state(BOUND)
    sim.do(sim.client.link_changed(False, sim.now))
    sim.do(sim.client.link_changed(True, sim.now))
    assert sim.state == CONFIRM and sim.timers["tx"] == APPROX(sim.now + 0.5)  # CNF_MAX_DELAY
    sim.until_state(BOUND)
    conf = sim.sends("CONFIRM")[0][1]
    assert conf.server_id is None and conf.ia_na[0].addresses[0].address == A("2001:db8:1::100")
    assert sim.kernel


def test_confirm_not_on_link_and_no_reply():
    sim = Sim().start()
    sim.until_state(BOUND)
    sim.intercept = lambda m: (
        [reply_to(m, StatusOption(StatusCode.NOT_ON_LINK))] if m.name == "CONFIRM" else None
    )
    sim.do(sim.client.link_changed(False, sim.now) + sim.client.link_changed(True, sim.now))
    sim.until_state(SOLICIT)
    assert not sim.kernel
    sim2 = Sim().start()
    sim2.until_state(BOUND)
    sim2.alive[0] = False
    sim2.do(sim2.client.link_changed(False, sim2.now) + sim2.client.link_changed(True, sim2.now))
    start = sim2.now
    t = sim2.until_state(BOUND)
    first = sim2.sends("CONFIRM")[0][0]
    assert t == APPROX(first + 10)  # CNF_MAX_RD
    assert gaps([x for x, _ in sim2.sends("CONFIRM")]) == APPROX(
        [1, 2, 4][: len(sim2.sends("CONFIRM")) - 1]
    )
    assert first == APPROX(start + 0.5) and sim2.kernel


# ---------------------------------------------------------------- stateless
def test_stateless_information_request_and_refresh():
    sim = Sim(ClientConfig(stateless=True, ia_na=0)).start()
    assert sim.state == INFORMATION_REQUEST
    t = sim.until_state(BOUND)
    (t_inf, inf), = sim.sends("INFORMATION-REQUEST")  # fmt: skip
    assert t_inf == APPROX(0.5) and not inf.ia_na
    assert OptionCode.INFORMATION_REFRESH_TIME in inf.oro
    assert sim.client.s.dns_servers == (A("2001:db8::53"),) and not sim.kernel
    assert sim.timers["refresh"] == APPROX(t + 900)
    assert sim.until_state(INFORMATION_REQUEST) == APPROX(t + 900)


# ---------------------------------------------------------------- §16 validation
@pytest.mark.parametrize("bad, reason", [
    (lambda m: Message(M.ADVERTISE, m.transaction_id ^ 1, m.options), "transaction id"),
    (lambda m: Message(M.ADVERTISE, m.transaction_id, (m.option(OptionCode.CLIENTID),)), "no Server-ID"),
    (lambda m: Message(M.ADVERTISE, m.transaction_id, (ServerId(DuidLLT(1, 1, b"\x02" * 6)),)), "no Client-ID"),
    (lambda m: Message(M.ADVERTISE, m.transaction_id, (ServerId(DuidLLT(1, 1, b"\x02" * 6)),
                       __import__("dhcp6.wire", fromlist=["x"]).ClientId(DuidLLT(1, 9, b"\x09" * 6)))), "not ours"),
    (lambda m: Message(M.RELAY_FORW, 0, ()), "relay"),
])  # fmt: skip
def test_invalid_server_messages_are_dropped_with_a_reason(bad, reason):
    sim = Sim(servers=0).start().run(0.6)
    sol = sim.sends("SOLICIT")[0][1]
    msg = bad(sol)
    if msg.msg_type == M.RELAY_FORW:
        data = bytes([12, 0]) + bytes(32)
        sim.do(sim.client.packet_received(data, A("fe80::5"), A("fe80::c1"), "eth0", sim.now))
    else:
        sim.to_client(msg)
    assert sim.state == SOLICIT and not sim.client.adverts
    assert reason in sim.events("drop")[-1]["reason"]


def test_malformed_packet_is_dropped_not_raised():
    sim = Sim(servers=0).start()
    sim.do(sim.client.packet_received(b"\x02\x00", A("fe80::5"), A("fe80::c1"), "eth0", 0.1))
    assert "malformed" in sim.events("drop")[-1]["reason"]


# ---------------------------------------------------------------- prefix delegation
def test_prefix_delegation_with_hint_and_downstream():
    sim = Sim(ClientConfig(ia_na=0, ia_pd=1, pd_hint_length=56, downstream="lan0")).start()
    sim.until_state(BOUND)
    sol = sim.sends("SOLICIT")[0][1]
    assert sol.ia_pd[0].prefixes[0].prefix_length == 56 and not sol.ia_na
    lease = sim.client.leases[0]
    assert lease.text() == "2001:db8:8000::/56"
    lan = [a for _, a in sim.actions if type(a).__name__ == "ConfigureAddress"]
    assert (
        lan[0].iface == "lan0"
        and str(lan[0].address) == "2001:db8:8000::1"
        and lan[0].prefixlen == 64
    )


# ---------------------------------------------------------------- the table
def test_every_state_has_a_seed_label_and_every_transition_is_reachable():
    assert set(SEED) == set(STATES)
    assert {SEED[s] for s in (SOLICIT, REQUEST, BOUND)} == {
        "Solicit",
        "Request",
        "IPv6 Address Timer",
    }
    sources = {t.source for t in TRANSITIONS} | {t.target for t in TRANSITIONS}
    assert sources == set(STATES)


# ---------------------------------------------------------------- every edge of the table
SID = DuidLLT(1, 1, bytes([2, 0, 0, 0, 0, 1]))


def scripted(replies):
    """A server that answers each message type with replies(m) (None: stay silent)."""

    def answer(m):
        if m.name == "SOLICIT":
            ias = [
                IaNa(ia.iaid, 0, 0, (IaAddress(A(f"2001:db8::{ia.iaid}"), 0, 0),)) for ia in m.ia_na
            ]
            return [
                Message(
                    M.ADVERTISE,
                    m.transaction_id,
                    (ServerId(SID), m.option(OptionCode.CLIENTID), *ias),
                )
            ]
        r = replies(m)
        return [] if r is None else [reply_to(m, *r, server=SID)]

    return answer


def lease(t1, t2, pref, valid, iaid=1):
    return IaNa(iaid, t1, t2, (IaAddress(A(f"2001:db8::{iaid}"), pref, valid),))


def collect_transitions() -> set[tuple[str, str, str]]:
    seen: set[tuple[str, str, str]] = set()

    def run(sim: Sim, *steps):
        for step in steps:
            step(sim)
        seen.update((o, n, e) for _, o, n, e in sim.states)

    def stop(sim):
        sim.do(sim.client.stop(sim.now))
        sim.run(sim.now + 100)

    def bound(sim):
        sim.until_state(BOUND)

    # the common paths, against our server
    s = Sim().start()
    run(s, bound, lambda s: s.until_state(RENEW), bound, stop)
    s = Sim().start()
    run(s, bound, lambda s: s.alive.__setitem__(0, False), lambda s: s.until_state(SOLICIT))
    s = Sim(
        ClientConfig(rapid_commit=True),
        server_config="rapid_commit: true\n"
        + __import__("tests.client_sim", fromlist=["x"]).SERVER_CONFIG,
    ).start()
    run(s, bound)
    for pref in ([0, 255],):
        run(Sim(servers=2, preference=pref).start(), bound)
    # Advertise after the first RT
    s = Sim()
    n = []
    s.intercept = lambda m: (
        [] if (m.name == "SOLICIT" and not n.append(1) and len(n) == 1) else None
    )
    run(s.start(), bound)
    # Reply without leases; REQ_MAX_RC with and without another Advertise
    s = Sim(ClientConfig(), servers=2)
    s.intercept = lambda m: [] if m.name == "REQUEST" else None
    run(s.start(), lambda s: s.run(700))
    s = Sim()
    s.intercept = scripted(lambda m: [IaNa(1, 0, 0, (StatusOption(StatusCode.NO_ADDRS_AVAIL),))])
    run(s.start(), lambda s: s.run(3))
    # T1 = T2: straight to Rebind; Rebind and Renew Replies that remove every lease or say NoBinding
    for t1t2, renew_reply, rebind_reply in [
        ((30, 30), None, lambda m: [IaNa(1, 0, 0, (StatusOption(StatusCode.NO_BINDING),))]),
        ((30, 40), lambda m: [lease(0, 0, 0, 0)], None),
        ((30, 40), None, lambda m: [lease(0, 0, 0, 0)]),
    ]:

        def replies(m, t1t2=t1t2, renew_reply=renew_reply, rebind_reply=rebind_reply):
            if m.name == "RENEW":
                return renew_reply(m) if renew_reply else None
            if m.name == "REBIND":
                return rebind_reply(m) if rebind_reply else None
            return [lease(*t1t2, 100, 200)]

        s = Sim()
        s.intercept = scripted(replies)
        run(s.start(), bound, lambda s: s.run(s.now + 45))
    # valid lifetime ends in BOUND (no T1/T2) and in RENEW (valid < T2)
    for ia in (lease(0xFFFFFFFF, 0xFFFFFFFF, 30, 60), lease(20, 80, 50, 60)):
        s = Sim()
        s.intercept = scripted(lambda m, ia=ia: [ia] if m.name == "REQUEST" else None)
        run(s.start(), bound, lambda s: s.until_state(SOLICIT))
    # stop in every state that has a stop edge
    s = Sim()
    run(s, stop)  # INIT
    run(Sim(servers=0).start(), stop)  # SOLICIT
    s = Sim()
    s.intercept = scripted(lambda m: None)
    s.start().until_state(REQUEST)
    run(s, stop)
    for state in (RENEW, REBIND, CONFIRM):
        s = Sim().start()
        s.until_state(BOUND)
        s.alive[0] = False
        if state == CONFIRM:
            s.do(s.client.link_changed(False, s.now) + s.client.link_changed(True, s.now))
        else:
            s.until_state(state)
        run(s, stop)
    s = Sim(ClientConfig(stateless=True, ia_na=0)).start()
    run(s, stop)
    s = Sim(ClientConfig(stateless=True, ia_na=0)).start()
    run(s, bound, stop)
    # authenticated Reconfigure from our server, for each message it can ask for
    for what in ("renew", "rebind", "information-request"):
        s = Sim(
            ClientConfig(reconfigure_accept=True),
            server_config="reconfigure: true\n"
            + __import__("tests.client_sim", fromlist=["x"]).SERVER_CONFIG,
        ).start()
        s.until_state(BOUND)
        s.server_reconfigure(msg=what)
        run(s, lambda s: s.run(s.now + 1))
    # Decline leaving another lease, and stop while declining
    for then_stop in (False, True):
        s = Sim(ClientConfig(ia_na=2))
        s.intercept = scripted(
            lambda m: (
                [lease(50, 80, 100, 200, 1), lease(50, 80, 100, 200, 2)]
                if m.name == "REQUEST"
                else None
            )
        )
        s.start().until_state(BOUND)
        s.do(s.client.dad_failed(A("2001:db8::1"), s.now))
        run(s, stop if then_stop else (lambda s: s.run(s.now + 20)))
    return seen


def test_every_transition_in_the_table_is_taken_and_nothing_else(monkeypatch):
    """Runs this module's scenarios again, recording every transition the engine takes."""
    import inspect

    from dhcp6.engine.actions import StateChanged

    from . import client_sim

    taken: set[tuple[str, str, str]] = set()
    original = client_sim.Sim.do

    def recording(self, actions):
        taken.update((a.old, a.new, a.reason) for a in actions if isinstance(a, StateChanged))
        return original(self, actions)

    monkeypatch.setattr(client_sim.Sim, "do", recording)
    for name, fn in list(globals().items()):
        if (
            name.startswith("test_")
            and name != "test_every_transition_in_the_table_is_taken_and_nothing_else"
        ) and not inspect.signature(fn).parameters:
            fn()
    seen = collect_transitions() | taken
    table = {(t.source, t.target, t.event) for t in TRANSITIONS}
    assert table - seen == set()
    assert seen - table == set()


def test_message_received_is_packet_received_after_decode():
    """A driver that decodes a datagram once (the simulator) gets the same actions."""
    import copy

    from dhcp6.wire import decode

    from .client_sim import CLIENT_LL, MCAST, SERVER_LL

    sim = Sim(rand=FixedRand(0.5)).start()
    sim.until_state(RENEW)
    _, renew = sim.sent[-1]
    server_actions = sim.servers[0].packet_received(
        renew.encode(), CLIENT_LL, MCAST, "eth0", sim.now
    )
    (reply,) = [a.message for a in server_actions if isinstance(a, Send)]
    data = reply.encode()
    a, b = copy.deepcopy(sim.client), copy.deepcopy(sim.client)
    got_a = a.packet_received(data, SERVER_LL, CLIENT_LL, "eth0", sim.now)
    got_b = b.message_received(decode(data), SERVER_LL, CLIENT_LL, "eth0", sim.now)
    assert got_a == got_b and a.state == b.state == BOUND
    bad = a.packet_received(b"\x07\x00", SERVER_LL, CLIENT_LL, "eth0", sim.now)
    (drop,) = bad
    assert drop.fields["reason"].startswith("malformed")
