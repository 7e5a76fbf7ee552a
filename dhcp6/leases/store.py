"""Durable lease store on SQLite (WAL): one file, created with its folder if missing.

The engine keeps bindings in memory; the driver hands this store the engine's
``CommitLease``/``RemoveLease`` actions of a batch of packets and sends the batch's
replies only after ``apply`` returned (group commit). WAL with ``synchronous=NORMAL``
makes a committed transaction survive a crash or ``kill -9`` of the server (the data is
in the kernel once ``COMMIT`` returns), as Kea's memfile does; ``durability="full"``
also survives power loss at the cost of an fsync per batch.

The primary key (kind, address) makes it impossible to bind one address or prefix to
two clients, whatever the code above does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from ipaddress import IPv6Address
from pathlib import Path

from .model import Lease

SCHEMA = """
CREATE TABLE IF NOT EXISTS leases (
    kind      TEXT    NOT NULL CHECK (kind IN ('na', 'pd')),
    address   BLOB    NOT NULL CHECK (length(address) = 16),
    prefixlen INTEGER NOT NULL CHECK (prefixlen BETWEEN 0 AND 128),
    duid      BLOB    NOT NULL,
    iaid      INTEGER NOT NULL,
    preferred INTEGER NOT NULL,
    valid     INTEGER NOT NULL,
    expires   REAL    NOT NULL,
    state     TEXT    NOT NULL,
    subnet    TEXT    NOT NULL,
    PRIMARY KEY (kind, address)
) WITHOUT ROWID;
-- No index by client: bindings are looked up in memory (dhcp6.leases.table); this file
-- is written per batch and read whole at start, and an index on random DUIDs would
-- double the cost of every commit. Databases made with the old index lose it here.
DROP INDEX IF EXISTS leases_by_client;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_UPSERT = (
    "INSERT INTO leases VALUES (?,?,?,?,?,?,?,?,?,?) "
    "ON CONFLICT(kind, address) DO UPDATE SET prefixlen=excluded.prefixlen, duid=excluded.duid, "
    "iaid=excluded.iaid, preferred=excluded.preferred, valid=excluded.valid, "
    "expires=excluded.expires, state=excluded.state, subnet=excluded.subnet"
)


class LeaseStore:
    def __init__(self, path: str | Path = ":memory:", durability: str = "normal") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(f"PRAGMA synchronous={'FULL' if durability == 'full' else 'NORMAL'}")
        self.db.executescript(SCHEMA)

    @staticmethod
    def _row(x: Lease) -> tuple:
        exp = x.expires if x.expires != float("inf") else 1e300
        return (
            x.kind,
            x.address.packed,
            x.prefixlen,
            x.duid,
            x.iaid,
            x.preferred,
            x.valid,
            exp,
            x.state,
            x.subnet,
        )

    def apply(
        self,
        commits: Iterable[Lease],
        removals: Iterable[Lease] = (),
        meta: dict[str, str] | None = None,
    ) -> None:
        """One transaction: remove, upsert, meta. Raises sqlite3.Error and rolls back."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            gone = [(x.kind, x.address.packed) for x in removals]
            if gone:
                db.executemany("DELETE FROM leases WHERE kind=? AND address=?", gone)
            db.executemany(_UPSERT, [self._row(x) for x in commits])
            if meta:
                db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(meta.items()))
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def insert(self, lease: Lease) -> None:
        """Insert a new lease; an address already bound raises sqlite3.IntegrityError."""
        self.db.execute("INSERT INTO leases VALUES (?,?,?,?,?,?,?,?,?,?)", self._row(lease))

    def load(self) -> Iterator[Lease]:
        for kind, addr, plen, duid, iaid, pref, valid, exp, state, subnet in self.db.execute(
            "SELECT * FROM leases"
        ):
            yield Lease(
                kind,
                IPv6Address(addr),
                plen,
                bytes(duid),
                iaid,
                pref,
                valid,
                exp if exp < 1e299 else float("inf"),
                state,
                subnet,
            )

    def count(self) -> int:
        return self.db.execute("SELECT count(*) FROM leases").fetchone()[0]

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def all_meta(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT key, value FROM meta"))

    def close(self) -> None:
        self.db.close()
