"""The server engine's shortcuts for the usual messages act exactly as its general path.

A message decoded with a memo (its options an OptionRun, as in the simulator) may take a
shortcut; the same bytes decoded without one never do. Both engines must give the same
actions (trace fields in the same order), and end with the same table, stats and clients
seen, for the usual message and for everything around it that the shortcut must leave to
the general path.
"""

from __future__ import annotations

from dhcp6.constants import MessageType as M
from dhcp6.wire import ClientId, Message, RapidCommit, ReconfigureAccept, ServerId

from .server_helpers import (
    CONFIG,
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
)

# eth0's subnet without option values (so a Solicit's ORO is never read), a pool of three
PLAIN = CONFIG.replace(
    """    options: {dns_servers: ["2001:db8::53"], domain_search: [lab.example], sol_max_rt: 120,
              inf_max_rt: 300, information_refresh_time: 900}
""",
    "",
).replace(
    'pools: ["2001:db8:1::100-2001:db8:1::1ff"]', 'pools: ["2001:db8:1::100-2001:db8:1::102"]'
)


def request(n: int, *ias) -> Message:
    return Message(M.REQUEST, 0x42 + n, (ClientId(client(n)), ServerId(SERVER_DUID), *ias))


def solicit_script() -> list:
    usual = msg(M.SOLICIT, 1, na(1))
    return [
        (usual, MCAST, "eth0"),
        (usual, MCAST, "eth0"),  # the same run again
        (msg(M.SOLICIT, 2, na(7), oro(23, 24)), MCAST, "eth0"),
        (request(1, na(1, "2001:db8:1::100")), MCAST, "eth0"),
        (usual, MCAST, "eth0"),  # now holding a binding of the IA
        (msg(M.SOLICIT, 1, na(2)), MCAST, "eth0"),  # another IA of that client
        (msg(M.SOLICIT, 3, na(1, "2001:db8:1::101")), MCAST, "eth0"),  # a hint
        (msg(M.SOLICIT, 3, na(1), na(2)), MCAST, "eth0"),
        (msg(M.SOLICIT, 3, pd(1)), MCAST, "eth0"),
        (msg(M.SOLICIT, 3, na(1), pd(2)), MCAST, "eth0"),
        (msg(M.SOLICIT, 3), MCAST, "eth0"),  # no IA
        (msg(M.SOLICIT, 3, na(1), RapidCommit()), MCAST, "eth0"),
        (msg(M.SOLICIT, 3, na(1), ReconfigureAccept()), MCAST, "eth0"),
        (msg(M.SOLICIT, 3, na(1), server=True), MCAST, "eth0"),  # carries a Server-ID
        (Message(M.SOLICIT, 9, (na(1),)), MCAST, "eth0"),  # no Client-ID
        (Message(M.SOLICIT, 9, (ClientId(client(4)), na(1))), MCAST, "eth0"),  # one option more
        (msg(M.SOLICIT, 3, na(1)), A("2001:db8:1::1"), "eth0"),  # unicast
        (msg(M.SOLICIT, 3, na(1)), MCAST, "eth9"),  # a link with no subnet
        (msg(M.SOLICIT, 3, na(1)), MCAST, "eth1"),  # a link with no interface configured
        (request(2, na(7, "2001:db8:1::101")), MCAST, "eth0"),
        (request(3, na(1, "2001:db8:1::102")), MCAST, "eth0"),  # the pool is used up
        (msg(M.SOLICIT, 4, na(1)), MCAST, "eth0"),  # nothing to offer
        (msg(M.SOLICIT, 4, na(1)), None, "eth0"),  # no destination given
    ]


CONFIGS = [
    PLAIN,
    PLAIN + "preference: 200\n",
    PLAIN + "rapid_commit: true\n",
    PLAIN + "reconfigure: true\n",
    CONFIG,  # option values: the ORO is read (the general path)
]


def check(shortcut: str, script: list, *, always: bool = False) -> None:
    """``script`` through two engines of each configuration, with and without tracing;
    the shortcut must be taken (where ``always``, also with Reconfigure and option
    values: what it drops), and not always."""
    for text in CONFIGS:
        for kw in ({}, {"trace": False}):
            plain = engine(text, rand_bytes=bytes, **kw)
            fast = engine(text, rand_bytes=bytes, **kw)
            taken: list[bool] = []
            method = getattr(fast, shortcut)
            setattr(fast, shortcut, lambda *a, f=method, t=taken: t.append(f(*a)) or t[-1])
            same(plain, fast, script * 2)
            assert any(taken) == (always or ("reconfigure" not in text and text != CONFIG))
            assert not all(taken)


def test_usual_solicit_fast_path_is_the_general_path():
    check("_solicit_fast", solicit_script())


def test_usual_request_fast_path_is_the_general_path():
    other = ServerId(client(99))
    usual = request(1, na(1, "2001:db8:1::100"))
    script = [
        (msg(M.SOLICIT, 1, na(1)), MCAST, "eth0"),
        (usual, MCAST, "eth0"),
        (usual, MCAST, "eth0"),  # again: now holding the binding
        (request(2, na(1, "2001:db8:1::100")), MCAST, "eth0"),  # another client's address
        (request(2, na(1, "2001:db8:1::50")), MCAST, "eth0"),  # on link, in no pool
        (request(2, na(1, "2001:db8:9::1")), MCAST, "eth0"),  # not on link
        (request(2, na(1, "2001:db8:1::101", "2001:db8:1::102")), MCAST, "eth0"),
        (request(2, na(1)), MCAST, "eth0"),  # no address asked
        (request(2, na(1, "2001:db8:1::101"), na(2, "2001:db8:1::102")), MCAST, "eth0"),
        (request(2, pd(1, "2001:db8:8000::/56")), MCAST, "eth0"),
        (request(2, na(1, "2001:db8:1::101"), oro(23)), MCAST, "eth0"),
        (request(2, na(1, "2001:db8:1::101"), ReconfigureAccept()), MCAST, "eth0"),
        (
            Message(M.REQUEST, 7, (ClientId(client(3)), other, na(1, "2001:db8:1::102"))),
            MCAST,
            "eth0",
        ),
        (Message(M.REQUEST, 7, (ServerId(SERVER_DUID), na(1, "2001:db8:1::102"))), MCAST, "eth0"),
        (msg(M.REQUEST, 3, na(1, "2001:db8:1::102")), MCAST, "eth0"),  # no Server-ID
        (request(3, na(1, "2001:db8:1::102")), A("2001:db8:1::1"), "eth0"),  # unicast
        (request(3, na(1, "2001:db8:1::102")), MCAST, "eth9"),  # a link with no subnet
        (request(3, na(1, "2001:db8:1::102")), None, "eth0"),
        (request(4, na(1, "2001:db8:1::100")), MCAST, "eth0"),  # taken: the next one free
        (request(5, na(1, "2001:db8:1::60")), MCAST, "eth0"),  # in no pool: the next one
        (request(6, na(1, "2001:db8:1::100")), MCAST, "eth0"),  # the pool is used up
        (request(6, na(1, "2001:db8:1::60")), MCAST, "eth0"),
    ]
    check("_request_fast", script, always=True)


def test_usual_renew_from_other_peers_and_for_another_server():
    """The Renew shortcut keeps the recv/send trace fields per peer and interface: the same
    Renew from another address or interface (and back), and another server's Renew, traced
    or not, act as the general path does (fields in order, the xid of each message)."""
    from dhcp6.wire import decode

    from .server_helpers import LL

    other = ServerId(client(99))
    for kw in ({}, {"trace": False}):
        plain, fast = engine(PLAIN, **kw), engine(PLAIN, **kw)
        taken: list = []
        method = fast._renew_fast
        fast._renew_fast = lambda *a, f=method, t=taken: t.append(f(*a)) or t[-1]  # type: ignore[method-assign]
        memo: dict = {}
        mine = msg(M.RENEW, 1, na(1, "2001:db8:1::100"), server=True)
        theirs = Message(M.RENEW, 5, (ClientId(client(1)), other, na(1, "2001:db8:1::100")))
        script = [
            (msg(M.SOLICIT, 1, na(1)), LL, "eth0"),
            (request(1, na(1, "2001:db8:1::100")), LL, "eth0"),
            (mine, LL, "eth0"),
            (Message(M.RENEW, 0x77, mine.options), LL, "eth0"),  # another xid
            (mine, A("fe80::2"), "eth0"),  # another peer
            (mine, A("fe80::2"), "eth0"),
            (mine, LL, "eth0"),  # back
            (theirs, LL, "eth0"),
            (theirs, A("fe80::2"), "eth0"),
        ]
        for i, (m, src, iface) in enumerate(script):
            data = m.encode()
            want = plain.packet_received(data, src, MCAST, iface, float(i))
            got = fast.message_received(decode(data, memo=memo), src, MCAST, iface, float(i))
            assert got == want, m
            fields = [list(a.fields) for a in got if hasattr(a, "fields")]
            assert fields == [list(a.fields) for a in want if hasattr(a, "fields")]
        assert fast.stats == plain.stats and fast.seen == plain.seen
        assert fast.table.leases == plain.table.leases
        assert all(a is not None for a in taken) and len(taken) == 7  # every Renew
