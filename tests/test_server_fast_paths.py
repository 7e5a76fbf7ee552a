"""The server engine's shortcuts for the usual messages act exactly as its general path.

A message decoded with a memo (its options an OptionRun, as in the simulator) may take a
shortcut; the same bytes decoded without one never do. Both engines must give the same
actions (trace fields in the same order), and end with the same table, stats and clients
seen, for the usual message and for everything around it that the shortcut must leave to
the general path.
"""

from __future__ import annotations

from dhcp6.constants import MessageType as M
from dhcp6.engine.actions import Trace
from dhcp6.engine.server import ServerEngine
from dhcp6.wire import ClientId, Message, RapidCommit, ReconfigureAccept, ServerId, decode

from .server_helpers import CONFIG, LL, MCAST, SERVER_DUID, A, client, engine, msg, na, oro, pd

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


def same(plain: ServerEngine, fast: ServerEngine, script: list) -> None:
    memo: dict = {}
    for i, (m, dst, iface) in enumerate(script):
        data = m.encode()
        want = plain.packet_received(data, LL, dst, iface, float(i))
        got = fast.message_received(decode(data, memo=memo), LL, dst, iface, float(i))
        assert got == want, m
        fields = [list(a.fields) for a in got if isinstance(a, Trace)]
        assert fields == [list(a.fields) for a in want if isinstance(a, Trace)]  # key order
    assert fast.stats == plain.stats and fast.table.leases == plain.table.leases
    assert fast.table.bindings == plain.table.bindings and fast.seen == plain.seen


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


def test_usual_solicit_fast_path_is_the_general_path():
    configs = [
        PLAIN,
        PLAIN + "preference: 200\n",
        PLAIN + "rapid_commit: true\n",
        PLAIN + "reconfigure: true\n",
        CONFIG,  # option values: the ORO is read (the general path)
    ]
    for text in configs:
        for kw in ({}, {"trace": False}):
            plain = engine(text, rand_bytes=bytes, **kw)
            fast = engine(text, rand_bytes=bytes, **kw)
            taken: list[bool] = []
            shortcut = fast._solicit_fast
            fast._solicit_fast = lambda *a, f=shortcut, t=taken: t.append(f(*a)) or t[-1]  # type: ignore[method-assign]
            same(plain, fast, solicit_script() * 2)
            # the shortcut was taken where it should be (not with Reconfigure, option values)
            assert any(taken) == ("reconfigure" not in text and text != CONFIG), text
            assert not all(taken)
