"""Real captures (Kea, dhclient, dhcpcd, dhcp6c, a dnsmasq relay) decode completely and
re-encode byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from dhcp6.io.pcap import read_dhcp6
from dhcp6.wire import Message, RelayMessage, UnknownOption, decode

CAPTURES = Path(__file__).parent / "data" / "captures"
FILES = sorted(CAPTURES.glob("*.pcap"))


def test_the_captures_are_there():
    assert len(FILES) == 7


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_capture_round_trips(path):
    datagrams = list(read_dhcp6(path))
    assert datagrams, "no DHCPv6 packets found"
    for d in datagrams:
        m = decode(d.payload)
        assert m.encode() == d.payload, f"frame {d.index} does not re-encode exactly"


def names(path: str) -> list[str]:
    out = []
    for d in read_dhcp6(CAPTURES / path):
        m = decode(d.payload)
        out.append(m.name if isinstance(m, Message) else f"{m.name}({m.innermost().name})")
    return out


def test_expected_exchanges():
    assert names("kea-dhclient-sarr.pcap") == ["SOLICIT", "ADVERTISE", "REQUEST", "REPLY"]
    assert names("kea-dhcp6c-sarr-release.pcap") == [
        "SOLICIT",
        "ADVERTISE",
        "REQUEST",
        "REPLY",
        "RELEASE",
        "REPLY",
    ]
    assert names("kea-dhclient-rapid-commit.pcap") == ["SOLICIT", "REPLY"]
    renew = names("kea-dhclient-na-pd-renew-rebind.pcap")
    assert renew[:4] == ["SOLICIT", "ADVERTISE", "REQUEST", "REPLY"]
    assert "RENEW" in renew and renew[-1] == "REBIND"
    relayed = names("kea-dnsmasqrelay-dhclient-relayed.pcap")
    assert relayed[0] == "RELAY-FORW(SOLICIT)" and relayed[1] == "RELAY-REPL(ADVERTISE)"


def test_known_fields_of_real_messages():
    msgs = [
        decode(d.payload) for d in read_dhcp6(CAPTURES / "kea-dhclient-na-pd-renew-rebind.pcap")
    ]
    reply = msgs[3]
    assert isinstance(reply, Message) and reply.name == "REPLY"
    addr = reply.ia_na[0].addresses[0]
    assert (str(addr.address), addr.preferred_lifetime, addr.valid_lifetime) == (
        "2001:db8:1::100",
        4,
        8,
    )
    assert str(reply.ia_pd[0].prefixes[0].network) == "2001:db8:8000::/56"
    assert [str(a) for a in reply.dns_servers] == ["2001:db8::53"]
    assert reply.domain_list == ("lab.example",)
    pref = decode(
        next(
            d.payload
            for d in read_dhcp6(CAPTURES / "kea-dhclient-preference255.pcap")
            if d.sport == 547
        )
    )
    assert pref.preference == 255
    rc = [decode(d.payload) for d in read_dhcp6(CAPTURES / "kea-dhclient-rapid-commit.pcap")]
    assert all(m.rapid_commit for m in rc)
    relayed = decode(
        next(iter(read_dhcp6(CAPTURES / "kea-dnsmasqrelay-dhclient-relayed.pcap"))).payload
    )
    assert isinstance(relayed, RelayMessage)
    assert str(relayed.link_address) == "2001:db8:2::1"


def test_every_option_in_the_captures_is_understood_or_kept():
    """Options we do not interpret (FQDN 39, NTP 56…) stay as raw bytes, never lost."""
    for path in FILES:
        for d in read_dhcp6(path):
            m = decode(d.payload)
            inner = m.innermost() if isinstance(m, RelayMessage) else m
            for o in inner.walk():
                if isinstance(o, UnknownOption):
                    assert o.encode() in d.payload


def test_pcapng_reads_the_same(tmp_path):
    """tshark's editcap (installed by the bootstrap) converts to pcapng; same datagrams."""
    import shutil
    import subprocess

    editcap = shutil.which("editcap")
    assert editcap, "editcap missing: run `make bootstrap` (Debian package tshark)"
    src = CAPTURES / "kea-dhclient-na-pd-renew-rebind.pcap"
    dst = tmp_path / "x.pcapng"
    subprocess.run([editcap, "-F", "pcapng", str(src), str(dst)], check=True, timeout=30)
    a = [(d.src, d.dst, d.payload) for d in read_dhcp6(src)]
    b = [(d.src, d.dst, d.payload) for d in read_dhcp6(dst)]
    assert a == b and a
    assert abs(next(read_dhcp6(src)).time - next(read_dhcp6(dst)).time) < 1e-5
