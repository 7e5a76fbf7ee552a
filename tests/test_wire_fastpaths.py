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


def _first_of_each(opts: tuple[object, ...]) -> dict[int, object]:
    first: dict[int, object] = {}
    for o in opts:
        first.setdefault(o.code, o)  # type: ignore[attr-defined]
    return first


def test_option_run_index_is_the_first_of_each_code() -> None:
    from dhcp6.wire import ClientId, DuidLL, ElapsedTime, StatusOption, UnknownOption
    from dhcp6.wire.options import OptionRun

    d = DuidLL(1, b"\x02\x00\x00\x00\x00\x01")
    for opts in ((ClientId(d), ElapsedTime(1)),
                 (StatusOption(0, "a"), ClientId(d), StatusOption(2, "b")),
                 (UnknownOption(300, b"x"), UnknownOption(300, b"y"), ElapsedTime(2)),
                 ()):  # fmt: skip
        run = OptionRun(opts)
        want = _first_of_each(opts)
        assert run.first == want and list(run.first) == list(want)
        assert all(run.first[c] is o for c, o in want.items())


def test_memo_decode_is_plain_decode() -> None:
    """Through a memo (cold, warm, a run of one option, unknown and high codes, malformed
    tails) decode gives what it gives without one, or the same ParseError."""
    import pytest

    from dhcp6.wire import (
        ClientId,
        DuidLL,
        ElapsedTime,
        IaAddress,
        IaNa,
        Message,
        ParseError,
        ServerId,
        UnknownOption,
        decode,
    )

    d = DuidLL(1, b"\x02\x00\x00\x00\x00\x01")
    ia = IaNa(1, 10, 20, (IaAddress(IPv6Address("2001:db8::1"), 30, 40),))
    msgs = [
        Message(1, 5, (ClientId(d), ElapsedTime(0), ia)),
        Message(7, 6, (ServerId(d), ClientId(d), ia)),
        Message(7, 6, (ClientId(d),)),
        Message(1, 7, ()),
        Message(1, 8, (UnknownOption(99, b"ab"), UnknownOption(4000, b""), ClientId(d))),
    ]
    datas = [m.encode() for m in msgs]
    datas += [datas[0] + b"\x00", datas[1] + b"\x00\x01\x00\x09ab", datas[0][:-3]]
    memo: dict = {}
    for _round in range(2):  # cold, then warm
        for data in datas:
            try:
                want = decode(data)
            except ParseError as e:
                with pytest.raises(ParseError) as got:
                    decode(data, memo=memo)
                assert str(got.value) == str(e)
                continue
            got = decode(data, memo=memo)
            assert got == want and got.encode() == data
            assert [type(o) for o in got.options] == [type(o) for o in want.options]


def test_ia_na_of_one_address_decodes_as_the_loop_does() -> None:
    """IA_NA bodies of 40 octets (one IAADDR, or not quite) give what the general loop
    gives, or the same ParseError."""
    import struct

    import pytest

    from dhcp6.wire import IaNa, ParseError
    from dhcp6.wire.options import _ia_na, decode_options

    rng = random.Random(3)
    heads = [(5, 24), (5, 20), (5, 28), (6, 24), (13, 24), (5, 0), (99, 24)]
    for i in range(400):
        code, length = heads[i % len(heads)]
        body = struct.pack("!IIIHH", rng.getrandbits(32), rng.getrandbits(32),
                           rng.getrandbits(32), code, length) + rng.randbytes(24)  # fmt: skip
        data = b"\xff" * 7 + body  # at an offset, as inside a message
        iaid, t1, t2 = struct.unpack_from("!III", body)
        try:
            want = IaNa(iaid, t1, t2, decode_options(data, 7 + 12, 7 + 40, (3,)))
        except ParseError as e:
            with pytest.raises(ParseError) as got:
                _ia_na(data, 7, 7 + 40, ())
            assert str(got.value) == str(e)
            continue
        got = _ia_na(data, 7, 7 + 40, ())
        assert got == want and got.encode() == struct.pack("!HH", 3, 40) + body
        assert [type(o) for o in got.options] == [type(o) for o in want.options]


def test_memo_decoded_run_is_an_option_run() -> None:
    """The run decode_run_memo builds inline is what OptionRun(...) builds."""
    from dhcp6.wire import ClientId, DuidLL, ElapsedTime, Message, StatusOption, decode
    from dhcp6.wire.options import OptionRun

    d = DuidLL(1, b"\x02\x00\x00\x00\x00\x01")
    msg = Message(7, 1, (StatusOption(0, "a"), ClientId(d), StatusOption(2, "b"), ElapsedTime(3)))
    got = decode(msg.encode(), memo={}).options
    want = OptionRun(got)
    assert type(got) is OptionRun and got == want and got.fields is None
    assert list(got.first.items()) == list(want.first.items())
    assert all(got.first[c] is o for c, o in want.first.items())


def test_ia_na_addresses_is_the_ia_address_options() -> None:
    from dhcp6.wire import IaAddress, IaNa, StatusOption
    from dhcp6.wire.options import _addresses

    a1 = IaAddress(IPv6Address("2001:db8::1"), 1, 2)
    a2 = IaAddress(IPv6Address("2001:db8::2"), 1, 2)
    st = StatusOption(2, "no")
    for opts in ((), (a1,), (st,), (a1, a2), (st, a1), (a1, st, a2)):
        ia = IaNa(1, 0, 0, opts)
        assert ia.addresses == _addresses(opts) == [o for o in opts if isinstance(o, IaAddress)]
