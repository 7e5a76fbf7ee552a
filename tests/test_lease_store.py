"""The SQLite lease store: durable, one row per address (enforced by the schema)."""

from __future__ import annotations

import sqlite3
from ipaddress import IPv6Address

import pytest

from dhcp6.leases.model import Lease
from dhcp6.leases.pools import RangeAllocator
from dhcp6.leases.store import LeaseStore

A = IPv6Address


def lease(
    addr: str, duid: bytes = b"\x00\x03\x00\x01ab", iaid: int = 1, kind: str = "na", plen=128
):
    return Lease(kind, A(addr), plen, duid, iaid, 30, 60, 100.0, "bound", "2001:db8:1::/64")


def test_file_and_folder_are_created_and_leases_survive_reopen(tmp_path):
    path = tmp_path / "deep" / "leases.sqlite"
    s = LeaseStore(path)
    s.apply([lease("2001:db8:1::1"), lease("2001:db8:8000::", kind="pd", plen=56)])
    s.close()
    s2 = LeaseStore(path)
    got = sorted(s2.load(), key=lambda x: x.kind)
    assert [x.text() for x in got] == ["2001:db8:1::1", "2001:db8:8000::/56"]
    assert got[0] == lease("2001:db8:1::1")
    assert s2.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    s2.close()


def test_schema_refuses_one_address_for_two_clients():
    s = LeaseStore()
    s.insert(lease("2001:db8:1::1", duid=b"client-a"))
    with pytest.raises(sqlite3.IntegrityError):
        s.insert(lease("2001:db8:1::1", duid=b"client-b"))
    assert s.count() == 1


def test_apply_is_one_transaction():
    s = LeaseStore()
    s.apply([lease("2001:db8:1::1")])
    bad = Lease("xx", A("2001:db8:1::2"), 128, b"c", 1, 1, 1, 1.0, "bound", "")
    with pytest.raises(sqlite3.IntegrityError):  # CHECK(kind IN ...) fails: nothing applied
        s.apply([lease("2001:db8:1::3"), bad], removals=[lease("2001:db8:1::1")])
    assert [x.text() for x in s.load()] == ["2001:db8:1::1"]


def test_upsert_renews_and_remove_deletes_and_infinity_round_trips():
    s = LeaseStore()
    s.apply([lease("2001:db8:1::1")])
    s.apply([lease("2001:db8:1::1").renewed(300, 600, float("inf"))])
    (x,) = s.load()
    assert (x.preferred, x.valid, x.expires) == (300, 600, float("inf"))
    s.apply([], removals=[x])
    assert s.count() == 0
    s.set_meta("k", "v")
    assert s.get_meta("k") == "v" and s.get_meta("nope") is None


def test_range_allocator_is_a_cursor_plus_free_list():
    used: set[int] = {3}
    pool = RangeAllocator(1, 5)
    in_use = used.__contains__
    assert pool.peek(in_use) == 1 and pool.peek(in_use) == 1
    got = []
    while (v := pool.take(in_use)) is not None:
        used.add(v)
        got.append(v)
    assert got == [1, 2, 4, 5]
    used.discard(2)
    pool.give_back(2)
    assert pool.take(in_use) == 2
    prefixes = RangeAllocator(0, 0xFF00, 0x100)
    assert 0x200 in prefixes and 0x201 not in prefixes


def test_no_secondary_index_and_an_old_one_is_dropped(tmp_path):
    path = tmp_path / "leases.sqlite"
    old = sqlite3.connect(path)  # a database made when the schema had an index by client
    old.executescript(
        "CREATE TABLE leases (kind TEXT NOT NULL, address BLOB NOT NULL, prefixlen INTEGER "
        "NOT NULL, duid BLOB NOT NULL, iaid INTEGER NOT NULL, preferred INTEGER NOT NULL, "
        "valid INTEGER NOT NULL, expires REAL NOT NULL, state TEXT NOT NULL, subnet TEXT "
        "NOT NULL, PRIMARY KEY (kind, address)) WITHOUT ROWID;"
        "CREATE INDEX leases_by_client ON leases (duid, iaid);"
    )
    old.close()
    s = LeaseStore(path)
    s.apply([lease("2001:db8:1::1")])
    indexes = s.db.execute("SELECT name FROM sqlite_master WHERE type='index'").fetchall()
    assert all(name.startswith("sqlite_autoindex") for (name,) in indexes), indexes
    assert [x.text() for x in s.load()] == ["2001:db8:1::1"]
    s.close()
