"""The client engine's shortcuts give exactly what the general path gives."""

from __future__ import annotations

import dataclasses
from ipaddress import IPv6Address

from dhcp6.constants import RETRANSMISSION, OptionCode
from dhcp6.constants import MessageType as M
from dhcp6.engine.actions import StateChanged
from dhcp6.engine.client import ClientConfig, ClientEngine, ClientLease
from dhcp6.engine.client_table import BOUND, RENEW, SEED
from dhcp6.engine.retransmit import Exchange, new_exchange
from dhcp6.wire import (
    ClientId,
    DuidLL,
    DuidLLT,
    IaAddress,
    IaNa,
    IaPd,
    IaPrefix,
    InfMaxRt,
    Message,
    OptionRequest,
    ServerId,
    SolMaxRt,
    decode,
)

from .client_sim import Sim

A = IPv6Address
CLIENT = DuidLL(1, b"\x02\x00\x00\x00\x00\x01")
SERVER = DuidLLT(1, 1000, b"\x02\x00\x00\x00\x00\x99")


def engine(**kw: object) -> ClientEngine:
    return ClientEngine(ClientConfig(**kw), CLIENT, rand=lambda: 0.5, xid=lambda: 0x123456)  # type: ignore[arg-type]


def test_see_max_rt_from_the_memo_index_as_from_the_options() -> None:
    eng = engine()
    for extra in ((), (SolMaxRt(120),), (InfMaxRt(300),), (SolMaxRt(1), InfMaxRt(2))):
        msg = Message(M.ADVERTISE, 1, (ServerId(SERVER), ClientId(CLIENT), *extra))
        data = msg.encode()
        plain = decode(data)
        memo = decode(data, memo={})
        assert plain._first is None and memo._first is not None  # both paths taken
        expect = any(o.code in (OptionCode.SOL_MAX_RT, OptionCode.INF_MAX_RT) for o in msg.options)
        assert eng._see(plain).max_rt is eng._see(memo).max_rt is eng._see(msg).max_rt is expect


def test_shared_oro_is_the_engines_own() -> None:
    for oro in ((23, 24), (23,), (24, 23, 24)):
        for t in (M.SOLICIT, M.REQUEST, M.RENEW, M.INFORMATION_REQUEST):
            a, b = engine(oro=oro), engine(oro=oro)
            codes = list(oro)
            if t == M.SOLICIT:
                codes.append(OptionCode.SOL_MAX_RT)
            if t == M.INFORMATION_REQUEST:
                codes += [OptionCode.INFORMATION_REFRESH_TIME, OptionCode.INF_MAX_RT]
            expect = OptionRequest(tuple(dict.fromkeys(codes)))
            assert a._oro(t) == expect and a._oro(t).encode() == expect.encode()
            assert b._oro(t) is a._oro(t)  # made once for alike engines


def test_shared_solicit_ias_are_the_engines_own() -> None:
    for kw in ({}, {"ia_na": 2}, {"ia_na": 0, "ia_pd": 1}, {"ia_pd": 2, "pd_hint_length": 56},
               {"na_iaids": (7, 9), "pd_iaids": (3,)}):  # fmt: skip
        eng = engine(**kw)
        cfg = eng.config
        hint = () if cfg.pd_hint_length is None else (IaPrefix(0, 0, cfg.pd_hint_length, A(0)),)
        expect = [IaNa(i, 0, 0) for i in eng._na] + [IaPd(i, 0, 0, hint) for i in eng._pd]
        assert list(eng._solicit_ias()) == expect
        assert [type(o) for o in eng._solicit_ias()] == [type(o) for o in expect]


def test_request_names_the_server_with_the_advertised_option() -> None:
    """The Request's Server-ID is the Advertise's own option (equal, same wire form), and
    its IAs are the offered leases as hints, then the unfilled IAs asked for again."""
    eng = engine(ia_na=2, ia_pd=1)
    eng.start(0.0)
    eng.timer_fired("tx", 1.0)
    offer = (IaNa(1, 10, 20, (IaAddress(A("2001:db8::5"), 30, 40),)),
             IaPd(1, 10, 20, (IaPrefix(30, 40, 56, A("2001:db8:100::")),)))  # fmt: skip
    adv = Message(M.ADVERTISE, 0x123456, (ServerId(SERVER), ClientId(CLIENT), *offer))
    out = eng.message_received(decode(adv.encode(), memo={}), A("fe80::1"), None, "eth0", 1.1)
    out += eng.timer_fired("rtx", 2.5)
    (req,) = [a.message for a in out if type(a).__name__ == "Send"]
    assert req.msg_type == M.REQUEST and req.server_id == SERVER
    assert req.option(OptionCode.SERVERID).encode() == ServerId(SERVER).encode()
    assert [o for o in req.options if isinstance(o, (IaNa, IaPd))] == [
        IaNa(1, 0, 0, (IaAddress(A("2001:db8::5"), 0, 0),)),
        IaPd(1, 0, 0, (IaPrefix(0, 0, 56, A("2001:db8:100::")),)),
        IaNa(2, 0, 0),
    ]
    assert decode(req.encode()) == req


def test_configs_of_lists_still_work() -> None:
    """A config given lists (the engine takes them as tuples) gets the same options."""
    a = engine(oro=[23, 24], na_iaids=[4], pd_iaids=[5])
    b = engine(oro=(23, 24), na_iaids=(4,), pd_iaids=(5,))
    for t in (M.SOLICIT, M.REQUEST, M.RENEW):
        assert a._oro(t) == b._oro(t)
    assert list(a._solicit_ias()) == list(b._solicit_ias())
    assert a.start(0.0) == b.start(0.0)
    sends = [x for x in a.timer_fired("tx", 1.0) if type(x).__name__ == "Send"]
    want = [x for x in b.timer_fired("tx", 1.0) if type(x).__name__ == "Send"]
    assert [s.message for s in sends] == [s.message for s in want]


def test_new_exchange_is_the_constructors() -> None:
    """new_exchange stores every field the constructor does (the defaults included)."""
    for t, params in RETRANSMISSION.items():
        for deadline, positive in ((None, True), (12.5, False)):
            a = new_exchange(t, 0xABCDEF, params, deadline, positive)
            b = Exchange(t, 0xABCDEF, params, deadline, first_rt_positive=positive)
            assert type(a) is Exchange and a == b
            values = [(type(getattr(x, f.name)), getattr(x, f.name))
                      for x in (a, b) for f in dataclasses.fields(b)]  # fmt: skip
            assert values[: len(values) // 2] == values[len(values) // 2 :]
            assert set(Exchange.__slots__) == {f.name for f in dataclasses.fields(b)}


def test_renewals_keep_leases_and_events_as_made_afresh() -> None:
    """A renewed lease (updated in place) holds what a new ClientLease would, from the
    Reply's time; each Reply's move to BOUND (remembered) equals what _goto makes."""
    sim = Sim(ClientConfig(ia_na=1, ia_pd=1)).start()
    sim.run(260)  # T1 = 50: a handful of renewals
    renewed = [t for t, old, new, _ in sim.states if (old, new) == (RENEW, BOUND)]
    assert len(renewed) >= 4
    server = sim.client.s.server.hex()  # type: ignore[union-attr]
    moves = [a for _, a in sim.actions if isinstance(a, StateChanged) and a.old == RENEW]
    assert all(a == StateChanged(RENEW, BOUND, SEED[BOUND], "Reply", {"server": server})
               for a in moves if a.new == BOUND)  # fmt: skip
    leases = sim.client.s.leases
    assert len(leases) == 2
    for key, x in leases.items():
        assert key == x.key and x.since == renewed[-1]
        assert x == ClientLease(x.kind, x.iaid, x.address, x.prefixlen, 100, 200, renewed[-1])
