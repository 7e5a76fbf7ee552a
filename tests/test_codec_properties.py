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
