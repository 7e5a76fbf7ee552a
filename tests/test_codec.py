"""Codec unit tests: typed access, exact encoding, and each kind of malformed input."""

from __future__ import annotations

import struct
from ipaddress import IPv6Address

import pytest

import dhcp6
from dhcp6.constants import MessageType, OptionCode, StatusCode
from dhcp6.wire import (
    ClientId,
    DomainList,
    DuidLL,
    DuidLLT,
    DuidUUID,
    ElapsedTime,
    IaAddress,
    IaNa,
    IaPd,
    IaPrefix,
    InterfaceId,
    Message,
    OptionRequest,
    ParseError,
    RelayMessage,
    RelayMsg,
    ServerId,
    StatusOption,
    UnknownOption,
    decode,
    duid_from_hex,
)

A = IPv6Address
CLIENT = DuidLLT(1, 849158587, bytes.fromhex("3e7e342fd408"))
SERVER = DuidLL(1, bytes.fromhex("0e397c6d4fa9"))


def opt(code: int, body: bytes) -> bytes:
    return struct.pack("!HH", code, len(body)) + body


def request() -> Message:
    return Message(
        MessageType.REQUEST,
        0x0B13E4,
        (
            ClientId(CLIENT),
            ServerId(SERVER),
            OptionRequest((23, 24)),
            ElapsedTime(0),
            IaNa(7, 3600, 5400, (IaAddress(A("2001:db8:1::100"), 7200, 7500),)),
            IaPd(7, 0, 0, (IaPrefix(7200, 7500, 56, A("2001:db8:8000::")),)),
        ),
    )


def test_readable_access():
    m = decode(request().encode())
    assert isinstance(m, Message)
    assert m.msg_type == MessageType.REQUEST and m.name == "REQUEST" and m.xid == "0b13e4"
    assert m.ia_na[0].addresses[0].valid_lifetime == 7500
    assert m.ia_pd[0].prefixes[0].network.compressed == "2001:db8:8000::/56"
    assert m.option(OptionCode.SERVERID) == ServerId(SERVER)
    assert m.client_id == CLIENT and m.server_id == SERVER
    assert m.oro == (23, 24) and m.elapsed_time == 0 and not m.rapid_commit
    assert dhcp6.ParseError is ParseError


def test_exact_wire_form_of_a_known_message():
    m = Message(MessageType.SOLICIT, 0xA7C032, (ClientId(CLIENT), ElapsedTime(0)))
    assert m.encode().hex() == (
        "01a7c032" + "0001000e" + "00010001329d21bb3e7e342fd408" + "00080002" + "0000"
    )


def test_unknown_options_and_message_types_are_kept():
    raw = bytes([200, 1, 2, 3]) + opt(999, b"\x01\x02") + opt(39, b"\x00abc")
    m = decode(raw)
    assert m.msg_type == 200 and m.name == "TYPE-200"
    assert m.options == (UnknownOption(999, b"\x01\x02"), UnknownOption(39, b"\x00abc"))
    assert m.encode() == raw


def test_relay_levels_and_innermost():
    inner = request()
    r = RelayMessage(12, 0, A("2001:db8:2::1"), A("fe80::1"), (RelayMsg(inner),))
    outer = RelayMessage(12, 1, A("::"), A("2001:db8:2::2"), (InterfaceId(b"eth1"), RelayMsg(r)))
    d = decode(outer.encode())
    assert isinstance(d, RelayMessage)
    assert [lv.hop_count for lv in d.levels()] == [1, 0]
    assert d.interface_id == b"eth1" and d.innermost() == inner
    assert d.with_message(inner).relay_message == inner


def test_domain_names_and_status_text():
    d = DomainList(("lab.example", "a.b.c"))
    assert d.data() == b"\x03lab\x07example\x00\x01a\x01b\x01c\x00"
    s = StatusOption(StatusCode.NO_ADDRS_AVAIL, "pool empty ✓")
    m = decode(Message(7, 1, (d, s)).encode())
    assert m.domain_list == ("lab.example", "a.b.c") and m.status == s
    assert m.status.name == "NoAddrsAvail"


def test_duid_from_hex():
    assert duid_from_hex("00:03:00:01:0e:39:7c:6d:4f:a9") == SERVER
    assert isinstance(duid_from_hex("0004" + "11" * 16), DuidUUID)


HEADER = bytes([3, 0, 0, 1])
BAD = {
    "empty": (b"", 0, "header"),
    "truncated header": (b"\x01\x02", 0, "header"),
    "truncated option header": (HEADER + b"\x00\x01\x00", 4, "options"),
    "option length past the end": (HEADER + b"\x00\x08\x00\x04\x00\x00", 4, "ELAPSED_TIME"),
    "IA_NA shorter than 12": (HEADER + opt(3, bytes(11)), 8, "IA_NA"),
    "IAADDR shorter than 24": (HEADER + opt(3, bytes(12) + opt(5, bytes(23))), 24, "IA_NA/IAADDR"),
    "IAPREFIX length over 128": (
        HEADER + opt(25, bytes(12) + opt(26, bytes(8) + b"\x81" + bytes(16))),
        32,
        "IA_PD/IAPREFIX",
    ),
    "elapsed time of 3 octets": (HEADER + opt(8, bytes(3)), 8, "ELAPSED_TIME"),
    "odd ORO": (HEADER + opt(6, bytes(3)), 8, "ORO"),
    "preference of 2 octets": (HEADER + opt(7, bytes(2)), 8, "PREFERENCE"),
    "rapid commit with data": (HEADER + opt(14, b"\x00"), 8, "RAPID_COMMIT"),
    "DNS servers not 16n": (HEADER + opt(23, bytes(17)), 8, "DNS_SERVERS"),
    "label past the end": (HEADER + opt(24, b"\x05ab\x00"), 8, "DOMAIN_LIST"),
    "unterminated name": (HEADER + opt(24, b"\x03lab"), 12, "DOMAIN_LIST"),
    "compressed label": (HEADER + opt(24, b"\xc0\x0c"), 8, "DOMAIN_LIST"),
    "label with a dot": (HEADER + opt(24, b"\x03a.b\x00"), 8, "DOMAIN_LIST"),
    "DUID too short": (HEADER + opt(1, b"\x00\x01"), 8, "CLIENTID"),
    "DUID identifier over 128": (HEADER + opt(1, b"\x00\x02" + bytes(129)), 8, "CLIENTID"),
    "DUID-UUID of 17": (HEADER + opt(2, b"\x00\x04" + bytes(15)), 8, "SERVERID"),
    "DUID-LLT of 7": (HEADER + opt(1, b"\x00\x01" + bytes(5)), 8, "CLIENTID"),
    "status not UTF-8": (HEADER + opt(13, b"\x00\x00\xff"), 10, "STATUS_CODE"),
    "auth shorter than 11": (HEADER + opt(11, bytes(10)), 8, "AUTH"),
    "relay header short": (bytes([12]) + bytes(20), 0, "header"),
    "relay msg truncated": (bytes([12, 0]) + bytes(32) + opt(9, b"\x01\x00"), 38, "header"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_malformed_input_raises_parse_error_naming_offset_and_option(name):
    data, offset, option = BAD[name]
    with pytest.raises(ParseError) as info:
        decode(data)
    assert info.value.offset == offset
    assert info.value.option == option
    assert f"offset {offset}" in str(info.value)


def nested_relays(levels: int) -> bytes:
    m = Message(1, 1, ()).encode()
    for _ in range(levels):
        m = bytes([12, 0]) + bytes(32) + opt(9, m)
    return m


def test_relay_nesting_limit():
    assert len(decode(nested_relays(32)).levels()) == 32
    with pytest.raises(ParseError, match="deeper than 32"):
        decode(nested_relays(33))
    with pytest.raises(ParseError):  # far deeper: still a ParseError, no RecursionError
        decode(nested_relays(1000))


def test_no_blanket_exception_handlers_in_the_codec():
    from pathlib import Path

    for path in Path(dhcp6.__file__).parent.joinpath("wire").glob("*.py"):
        text = path.read_text()
        assert "except Exception" not in text and "except:" not in text, path


def test_deep_option_nesting_is_a_parse_error_not_a_recursion_error():
    # Relay Message inside client messages, nested 400 levels
    b = b"\x01\x00\x00\x00"
    for _ in range(400):
        b = b"\x01\x00\x00\x00" + struct.pack("!HH", 9, len(b)) + b
    with pytest.raises(ParseError, match="nested deeper than 64"):
        decode(b)
    # IA_TA inside IA_TA, 600 levels
    body = b""
    for _ in range(600):
        body = struct.pack("!HHI", 4, 4 + len(body), 0) + body
    with pytest.raises(ParseError, match="nested deeper"):
        decode(b"\x07\x00\x00\x00" + body)


def test_summary_of_the_same_message_again_is_a_fresh_equal_dict():
    """summary() remembers the last message (a multicast reaches several engines): each
    caller still gets its own dict, and another message is summarised afresh."""
    from ipaddress import IPv6Address

    from dhcp6.wire import ClientId, DuidLL, IaAddress, IaNa, Message
    from dhcp6.wire.describe import summary

    ia = IaNa(1, 0, 0, (IaAddress(IPv6Address("2001:db8::5"), 0, 0),))
    m = Message(5, 0xABCDEF, (ClientId(DuidLL(1, b"\x02" * 6)), ia))
    first = summary(m)
    assert first == {"msg": "RENEW", "xid": "abcdef", "ia": ["na:1 2001:db8::5"]}
    first["msg"] = "changed by a caller"
    again = summary(m)
    assert again == {"msg": "RENEW", "xid": "abcdef", "ia": ["na:1 2001:db8::5"]}
    assert summary(Message(7, 0xABCDEF, (ia,)))["msg"] == "REPLY"


def test_summary_remembers_the_options_a_decode_memo_shares_and_nothing_else():
    """A message decoded through a memo carries an OptionRun (a tuple in every way), the
    same one each time its options come back: summary() describes it once; the options
    of a message built anew are described each time and not kept."""
    from ipaddress import IPv6Address

    from dhcp6.wire import ClientId, DuidLL, IaAddress, IaNa, Message, ServerId, decode
    from dhcp6.wire.describe import summary
    from dhcp6.wire.options import OptionRun

    ia = IaNa(1, 1800, 2880, (IaAddress(IPv6Address("2001:db8::5"), 3600, 3600),))
    m = Message(
        7, 0x123456, (ServerId(DuidLL(1, b"\x01" * 6)), ClientId(DuidLL(1, b"\x02" * 6)), ia)
    )
    memo: dict = {}
    a, b = decode(m.encode(), memo=memo), decode(m.encode(), memo=memo)
    assert type(a.options) is OptionRun and a.options is b.options
    assert (
        a == m
        and a.options == m.options
        and repr(a) == repr(m)
        and hash(a.options) == hash(m.options)
    )
    want = {"msg": "REPLY", "xid": "123456", "ia": ["na:1 2001:db8::5"]}
    assert summary(m) == want and a.options.fields is None  # built: not kept
    first = summary(a)
    fields = a.options.fields
    assert first == want and fields == {"ia": ["na:1 2001:db8::5"]}
    first["msg"] = "changed by a caller"
    assert summary(b) == want and summary(Message(7, 0xABCDEF, b.options))["xid"] == "abcdef"
    assert a.options.fields is fields  # worked out once


def test_encode_remembers_an_options_tuple_sent_again_and_stays_bounded(monkeypatch):
    """Message.encode keeps the wire form of an options tuple by identity: the same tuple
    under another transaction id (a client's next Renew) encodes as a fresh encode does,
    an equal but distinct tuple is encoded anew, and the memo never outgrows its bound."""
    from dhcp6.wire import message as wm

    ia = IaNa(1, 0, 0, (IaAddress(A("2001:db8::5"), 0, 0),))
    opts = (ClientId(CLIENT), ServerId(SERVER), ElapsedTime(0), ia, OptionRequest((23,)))
    first = Message(5, 0x000001, opts).encode()
    again = Message(5, 0xABCDEF, opts).encode()
    assert again[4:] == first[4:] and again[:4] == bytes.fromhex("05abcdef")
    assert wm._ENCODED[id(opts)] == (opts, first[4:])
    assert decode(again) == Message(5, 0xABCDEF, opts)
    assert Message(5, 1, tuple(opts)).encode() == first  # tuple(t) is t: same entry
    other = (ClientId(CLIENT), ServerId(SERVER), ElapsedTime(7), ia, OptionRequest((23,)))
    assert decode(Message(5, 1, other).encode()).option(OptionCode.ELAPSED_TIME).value == 7
    monkeypatch.setattr(wm, "ENCODED_MAX", 4)
    kept = [tuple(list(opts)) for _ in range(10)]  # equal, distinct tuples
    for t in kept:
        assert Message(5, 2, t).encode()[4:] == first[4:]
        assert len(wm._ENCODED) <= 4
