"""EngineHost with the server engine, a real SQLite store and a trace file: a batch of
packets is committed once, and every reply leaves only after its lease is on disk and
its trace lines are in the file — however many packets the batch holds."""

from __future__ import annotations

import json
import sqlite3

import pytest

from dhcp6.constants import MessageType
from dhcp6.io.host import EngineClock, EngineHost
from dhcp6.leases.store import LeaseStore
from dhcp6.trace import Tracer
from dhcp6.wire import ServerId, decode

from .server_helpers import LL, MCAST, SERVER_DUID, engine, msg, na


class ManualLoop:
    """Stands in for asyncio: the test calls host.flush() itself."""

    def call_soon(self, fn, *args):
        pass

    def call_later(self, delay, fn, *args):
        return type("Handle", (), {"cancel": lambda self: None})()


class CheckingTransport:
    """At each send, read what another process would see: the trace file, the database."""

    def __init__(self, trace_path, db_path):
        self.trace_path, self.db_path = trace_path, db_path
        self.sent: list[bytes] = []
        self.writes_seen: list[int] = []

    def send(self, data, dst, port, *, ifname=None, hop_limit=None):
        m = decode(data)
        lines = [json.loads(x) for x in self.trace_path.read_text().splitlines()]
        xid = f"{m.transaction_id:06x}"
        assert any(e["event"] == "send" and e.get("xid") == xid for e in lines), (xid, lines)
        if m.msg_type == MessageType.REPLY:
            ((addr,),) = [[a.address for a in ia.addresses] for ia in m.ia_na]
            db = sqlite3.connect(self.db_path)
            try:
                rows = db.execute("SELECT address FROM leases").fetchall()
            finally:
                db.close()
            assert addr.packed in [r[0] for r in rows], f"{addr} replied before its commit"
        self.sent.append(data)


@pytest.mark.parametrize("batch", [1, 5])
def test_reply_leaves_after_commit_and_trace_line(tmp_path, batch):
    trace_path, db_path = tmp_path / "s.jsonl", tmp_path / "s.sqlite"
    e = engine()
    tracer = Tracer(trace_path, "s1")
    tx = CheckingTransport(trace_path, db_path)
    host = EngineHost(e, tracer=tracer, clock=EngineClock(), store=LeaseStore(db_path),
                      loop=ManualLoop(), transport=tx)  # fmt: skip
    clients = range(1, 11)
    for start in range(0, len(clients), batch):
        group = clients[start : start + batch]
        for n in group:
            host.datagram(msg(MessageType.SOLICIT, n, na(1), xid=2 * n).encode(), LL, MCAST, "eth0")
        host.flush()
        advertised = {n: decode(d) for n, d in zip(group, tx.sent[-len(group) :], strict=True)}
        for n in group:
            ia = advertised[n].ia_na[0]
            req = msg(MessageType.REQUEST, n, ia, xid=2 * n + 1, server=True)
            assert req.option(ServerId.code) is not None
            host.datagram(req.encode(), LL, MCAST, "eth0")
        host.flush()
    assert len(tx.sent) == 2 * len(clients)
    assert host.stats["batches"] == 2 * -(-len(clients) // batch)
    tracer.close()
    events = [json.loads(x) for x in trace_path.read_text().splitlines()]
    assert sum(ev["event"] == "lease" and ev["action"] == "bound" for ev in events) == 10
    assert [ev["t"] for ev in events] == sorted(ev["t"] for ev in events)
    assert SERVER_DUID.encode() == e.duid_bytes
