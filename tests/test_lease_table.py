"""The server's lease table against a plain model: what expires when, and in what order."""

from __future__ import annotations

import random
from ipaddress import IPv6Address

from dhcp6.leases.model import NA, Lease
from dhcp6.leases.table import LeaseTable


def lease(addr: int, duid: int, iaid: int, expires: float) -> Lease:
    return Lease(NA, IPv6Address(addr), 128, bytes([duid]), iaid, 10, 20, expires)


def test_expiry_order_and_renewals_match_a_model():
    """Renewals that extend or shorten a lease, replacements by another IA, removals:
    expired() returns what a model says has expired, in (expiry, key) order, and
    next_expiry() the earliest expiry."""
    rng = random.Random(7)
    for _ in range(200):
        table, model = LeaseTable(), {}
        now = 0.0
        for _ in range(60):
            op = rng.random()
            x = lease(rng.randrange(8), rng.randrange(3), rng.randrange(2),
                      now + rng.choice([0, 1, 2, 5, 10, float("inf")]))  # fmt: skip
            if op < 0.6:
                table.put(x)
                model[x.key] = x
            elif op < 0.7:
                table.remove(x)
                model.pop(x.key, None)
            elif op < 0.8:
                b = table.bindings.get((x.kind, x.duid, x.iaid))
                old = model.get(x.key)
                if b is not None and len(b) == 1 and old is not None and x.key in b:
                    table.renew(b, x.key, x)  # what the engine's usual Renew does
                    model[x.key] = x
            else:
                now += rng.choice([0, 1, 3])
                gone = sorted((v for v in model.values() if v.expires <= now),
                              key=lambda v: (v.expires, v.key))  # fmt: skip
                assert table.expired(now) == gone
                for v in gone:
                    del model[v.key]
            assert table.leases == model
            want = min((v.expires for v in model.values()), default=None)
            assert table.next_expiry() == want
