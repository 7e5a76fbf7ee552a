"""The codec's and the client engine's fast paths give exactly what the general path gives."""

from __future__ import annotations

import random
from ipaddress import IPv6Address

from dhcp6.wire import describe


def test_v6_text_is_str() -> None:
    assert describe._V6_TEXT_OK
    rng = random.Random(7)
    for _ in range(20000):
        n = 0
        for _h in range(8):  # mostly zero hextets: every shape of zero runs comes up
            v = 0 if rng.random() < 0.5 else rng.choice([1, 0xFFFF, 0x10, rng.getrandbits(16)])
            n = n << 16 | v
        assert describe._v6_text(n) == str(IPv6Address(n))
    for text in ("::", "::1", "1::", "2001:db8::1:0:0:1", "2001:0:0:1::1", "::ffff:192.0.2.1"):
        n = int(IPv6Address(text))
        assert describe._v6_text(n) == str(IPv6Address(n))


def test_address_text_is_str() -> None:
    for text in ("2001:db8:0:1::1:10", "fe80::1", "::", "2001:db8::5"):
        a = IPv6Address(text)
        assert describe.address_text(a) == str(a)
        assert describe.address_text(IPv6Address(int(a))) == str(a)  # the remembered text
    scoped = IPv6Address("fe80::1%eth0")
    assert describe.address_text(scoped) == str(scoped)
