"""Properties of the codec: valid messages round-trip; any other bytes raise only ParseError."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dhcp6.wire import ParseError, decode

from .strategies import message

settings.register_profile("ci", max_examples=300, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci")


@given(message)
def test_valid_messages_round_trip(msg):
    wire = msg.encode()
    decoded = decode(wire)
    assert decoded == msg
    assert decoded.encode() == wire


@given(st.binary(max_size=300))
def test_arbitrary_bytes_decode_or_raise_parse_error(data):
    try:
        m = decode(data)
    except ParseError as e:
        assert 0 <= e.offset <= len(data)
    else:  # whatever decodes must re-encode exactly
        assert m.encode() == data


@given(message, st.data())
def test_mutated_messages_decode_or_raise_parse_error(msg, data):
    wire = bytearray(msg.encode())
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "truncate", "insert", "delete"]))
        if op == "truncate" or not wire:
            wire = wire[: data.draw(st.integers(0, len(wire)))]
        elif op == "flip":
            i = data.draw(st.integers(0, len(wire) - 1))
            wire[i] = data.draw(st.integers(0, 255))
        elif op == "insert":
            i = data.draw(st.integers(0, len(wire)))
            wire[i:i] = data.draw(st.binary(min_size=1, max_size=4))
        else:
            i = data.draw(st.integers(0, len(wire) - 1))
            del wire[i]
    try:
        m = decode(bytes(wire))
    except ParseError:
        return
    assert m.encode() == bytes(wire)


def _outcome(data: bytes, memo: dict | None):
    """What decode gives for ``data``: the message, or the ParseError's text and offset."""
    try:
        return decode(data, memo=memo)
    except ParseError as e:
        return ("ParseError", str(e), e.offset)


_MEMO: dict = {}  # shared across examples, as the simulator shares one across a run


@given(message, st.data())
def test_decode_memo_gives_what_decode_gives(msg, data):
    """The option memo (dhcp6.wire.decode(memo=…)) changes nothing: the same message, or
    the same ParseError, for valid, mutated and repeated datagrams."""
    wire = bytearray(msg.encode())
    if data.draw(st.booleans()):
        i = data.draw(st.integers(0, len(wire) - 1))
        wire[i] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        wire = wire[: data.draw(st.integers(0, len(wire)))]
    wire = bytes(wire)
    plain = _outcome(wire, None)
    assert _outcome(wire, _MEMO) == plain
    assert _outcome(wire, _MEMO) == plain  # the second time from the memo
    got = _outcome(wire, _MEMO)
    if not isinstance(got, tuple):
        assert got.encode() == wire
        assert type(got) is type(plain)
        for code in {o.code for o in plain.options} | {0, 13}:  # an OptionRun's index
            assert got.option(code) == plain.option(code)


def test_decode_memo_shares_equal_options_and_stays_bounded(monkeypatch):
    from ipaddress import IPv6Address

    import dhcp6.wire.options as options
    from dhcp6.wire import ClientId, DuidLL, ElapsedTime, IaAddress, IaNa, Message, ServerId

    renew = Message(5, 0x12E06A, (
        ClientId(DuidLL(1, bytes.fromhex("ca6d8a219045"))),
        ServerId(DuidLL(1, bytes.fromhex("a672613b4000"))),
        ElapsedTime(0),
        IaNa(1, 0, 0, (IaAddress(IPv6Address("2001:db8:1::1:0"), 0, 0),)),
    )).encode()  # fmt: skip
    memo: dict = {}
    a, b = decode(renew, memo=memo), decode(renew, memo=memo)
    assert a == b == decode(renew)
    assert all(x is y for x, y in zip(a.options, b.options, strict=True))  # shared values
    assert a.options is b.options  # the run of options is remembered whole too
    # a message of one option: its run is that option's wire form, remembered as an option
    one = Message(7, 1, (a.options[0],)).encode()
    assert decode(one, memo=memo) == decode(one) == decode(one, memo=memo)
    assert decode(one, memo=memo).options[0] is a.options[0]
    twice = Message(5, 1, (ElapsedTime(1), ElapsedTime(2))).encode()
    assert decode(twice, memo=memo).option(8) == ElapsedTime(1)  # the first, as a scan finds
    assert decode(twice, memo=memo).elapsed_time == 1
    monkeypatch.setattr(options, "MEMO_MAX", 3)
    small: dict = {}
    assert decode(renew, memo=small) == a  # four options through a memo that holds three
    assert 0 < len(small) <= 3
