"""`dhcp6 decode`: trees for people, one-line errors with exit code 2 for bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CAPTURES = Path(__file__).parent / "data" / "captures"


def dhcp6(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dhcp6.cli", *args], capture_output=True, text=True, timeout=60
    )


def test_decode_hex():
    r = dhcp6("decode", "01a7c032 0008 0002 0000")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["SOLICIT xid=0xa7c032", "└─ ELAPSED_TIME (8): 0.00s"]


def test_decode_pcap_unwraps_relays():
    r = dhcp6("decode", "--pcap", str(CAPTURES / "kea-dnsmasqrelay-dhclient-relayed.pcap"))
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "RELAY-FORW hop-count=0 link-address=2001:db8:2::1" in out
    assert "   SOLICIT xid=0x" in out and "IAADDR (5): 2001:db8:2::100" in out


def test_bad_hex_is_one_line_exit_2():
    r = dhcp6("decode", "zz11")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "not hexadecimal" in r.stderr


def test_malformed_message_is_one_line_exit_2():
    r = dhcp6("decode", "0300000100030005aabbccddee")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "offset 8: IA_NA" in r.stderr


def test_bad_file_is_one_line_exit_2(tmp_path):
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"hello world, not a capture")
    for path in (junk, tmp_path / "missing.pcap"):
        r = dhcp6("decode", "--pcap", str(path))
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    truncated = tmp_path / "cut.pcap"
    truncated.write_bytes((CAPTURES / "kea-dhclient-sarr.pcap").read_bytes()[:100])
    r = dhcp6("decode", "--pcap", str(truncated))
    assert r.returncode == 2 and ("truncated" in r.stderr or "past the end" in r.stderr)


def test_help_has_examples():
    r = dhcp6("decode", "--help")
    assert r.returncode == 0 and "examples:" in r.stdout
