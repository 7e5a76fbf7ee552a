"""The ladder against the captures of the same run: every captured DHCPv6 message must
be an arrow. A synthetic run (messages built with our codec, traced with their
summaries, written to pcaps), then a real demo lab with captures (root)."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from ipaddress import IPv6Address
from pathlib import Path

import pytest

from dhcp6.constants import MessageType
from dhcp6.io.pcap import LINKTYPE_ETHERNET, PcapWriter
from dhcp6.wire import (
    ClientId,
    IaAddress,
    IaNa,
    Message,
    RelayMessage,
    RelayMsg,
    ServerId,
    duid_from_hex,
)
from dhcp6.wire.describe import summary
from lab.observe.captures import check_captures
from lab.observe.ladder import build_ladder
from lab.observe.rundata import load_run

ROOT = Path(__file__).resolve().parent.parent
EPOCH = 1_700_000_000.0
C1, RELAY_LL, RELAY, S1 = "fe80::c1", "fe80::2", "2001:db8:2::2", "2001:db8:1::2"
ALL = "ff02::1:2"


def frame(src: str, dst: str, sport: int, dport: int, payload: bytes) -> bytes:
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip6 = (
        struct.pack("!IHBB", 0x60000000, len(udp), 17, 64)
        + IPv6Address(src).packed
        + IPv6Address(dst).packed
    )
    return b"\x33\x33\x00\x01\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x86\xdd" + ip6 + udp


def synthetic_run(folder: Path) -> None:
    cid, sid = (
        ClientId(duid_from_hex("00030001aa0000000c01")),
        ServerId(duid_from_hex("0001000100000001aa0000000001")),
    )
    sol = Message(MessageType.SOLICIT, 0xA1A1A1, (cid, IaNa(1)))
    adv = Message(MessageType.ADVERTISE, 0xA1A1A1,
                  (cid, sid, IaNa(1, 20, 32, (IaAddress(IPv6Address("2001:db8:2::100"), 40, 60),))))  # fmt: skip
    fwd = RelayMessage(
        MessageType.RELAY_FORW, 0, IPv6Address(RELAY), IPv6Address(C1), (RelayMsg(sol),)
    )
    rep = RelayMessage(
        MessageType.RELAY_REPL, 0, IPv6Address(RELAY), IPv6Address(C1), (RelayMsg(adv),)
    )
    traces = {
        "c1": [(0.100, "send", sol, {"to": ALL}), (0.200, "recv", adv, {"peer": RELAY_LL})],
        "relay1": [(0.101, "recv", sol, {"peer": C1}), (0.102, "send", fwd, {"peer": S1}),
                   (0.190, "recv", rep, {"peer": S1}), (0.191, "send", adv, {"peer": C1})],
        "s1": [(0.110, "recv", fwd, {"peer": RELAY}), (0.111, "send", adv, {"peer": RELAY})],
    }  # fmt: skip
    (folder / "traces").mkdir(parents=True)
    for node, evs in traces.items():
        with open(folder / "traces" / f"{node}.jsonl", "w") as f:
            for t, kind, m, extra in evs:
                f.write(
                    json.dumps({"t": t, "node": node, "event": kind, **summary(m), **extra}) + "\n"
                )
    (folder / "runtime.json").write_text(
        json.dumps({"name": "syn", "epoch": EPOCH, "time_scale": 1.0})
    )
    pcap = folder / "pcap"
    w = PcapWriter(pcap / "lan2.pcap", LINKTYPE_ETHERNET)
    w.write(EPOCH + 0.100, frame(C1, ALL, 546, 547, sol.encode()))
    w.write(EPOCH + 0.191, frame(RELAY_LL, C1, 547, 546, adv.encode()))
    w.close()
    w = PcapWriter(pcap / "lan1.pcap", LINKTYPE_ETHERNET)
    w.write(EPOCH + 0.102, frame(RELAY, S1, 547, 547, fwd.encode()))
    w.write(EPOCH + 0.111, frame(S1, RELAY, 547, 547, rep.encode()))
    w.close()


def test_synthetic_captures_all_appear_in_the_ladder(tmp_path):
    synthetic_run(tmp_path)
    run = load_run(tmp_path)
    lad = build_ladder(run.events)
    assert [(a.src, a.dst, a.msg) for a in lad.arrows] == [
        ("c1", "relay1", "SOLICIT"), ("relay1", "s1", "RELAY-FORW"),
        ("s1", "relay1", "RELAY-REPL"), ("relay1", "c1", "ADVERTISE"),
    ]  # fmt: skip
    checks = check_captures(run.pcaps, lad, run.epoch)
    assert [(c.path.name, c.messages, c.matched, c.ok) for c in checks] == [
        ("lan1.pcap", 2, 2, True), ("lan2.pcap", 2, 2, True)]  # fmt: skip
    assert checks[0].types == {"RELAY-FORW(SOLICIT)": 1, "RELAY-REPL(ADVERTISE)": 1}


def test_a_capture_the_ladder_lacks_is_reported(tmp_path):
    synthetic_run(tmp_path)
    extra = Message(
        MessageType.REQUEST, 0xE5E5E5, (ClientId(duid_from_hex("00030001aa0000000c02")),)
    )
    w = PcapWriter(tmp_path / "pcap" / "lan3.pcap", LINKTYPE_ETHERNET)
    w.write(EPOCH + 0.5, frame("fe80::99", ALL, 546, 547, extra.encode()))
    w.write(EPOCH + 0.6, frame("fe80::99", ALL, 546, 547, b"\x03\x00"))  # not DHCPv6
    sol = Message(
        MessageType.SOLICIT, 0xA1A1A1, (ClientId(duid_from_hex("00030001aa0000000c01")), IaNa(1))
    )
    w.write(EPOCH + 300.0, frame(C1, ALL, 546, 547, sol.encode()))  # the same Solicit, much later
    w.close()
    run = load_run(tmp_path)
    check = check_captures(run.pcaps, build_ladder(run.events), run.epoch)[-1]
    assert (check.messages, check.matched, check.undecodable) == (3, 0, 1)
    assert len(check.missing) == 2 and not check.ok
    assert "REQUEST e5e5e5" in check.missing[0] and "SOLICIT a1a1a1" in check.missing[1]


def test_an_unreadable_capture_is_an_error_not_a_crash(tmp_path):
    synthetic_run(tmp_path)
    (tmp_path / "pcap" / "bad.pcap").write_bytes(b"not a capture")
    run = load_run(tmp_path)
    bad = next(
        c
        for c in check_captures(run.pcaps, build_ladder(run.events), run.epoch)
        if c.path.name == "bad.pcap"
    )
    assert bad.error and not bad.ok


# ---------------------------------------------------------------------------- a real lab


def lab(*args: str, root: Path, timeout: float = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "DHCP6_LAB_RUN_ROOT": str(root)}
    return subprocess.run([sys.executable, "-m", "lab.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=ROOT)  # fmt: skip


@pytest.fixture
def root(tmp_path):
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        pytest.skip("needs root and Linux network namespaces")
    r = tmp_path / "labs"
    yield r
    for d in r.iterdir() if r.exists() else []:  # never leave a lab behind, pass or fail
        if d.is_dir():
            lab("down", d.name, root=r)
    lab("clean", root=r)


@pytest.mark.netns
@pytest.mark.interop
def test_demo_lab_captures_appear_in_its_ladder(root):
    r = lab(
        "up", "topologies/demo.yaml", "--name", "cap", "--pcap", "--wait-bound", "30", root=root
    )
    assert r.returncode == 0, r.stdout + r.stderr
    run = load_run(root / "cap")
    assert {p.name for p in run.pcaps} >= {"dh1-eth0.pcap", "kea1-eth0.pcap"}
    lad = build_ladder(run.events, roles=run.roles)
    checks = check_captures(run.pcaps, lad, run.epoch)
    for c in checks:
        assert c.error is None and c.messages > 0, c
        assert c.ok, f"{c.path.name}: not in the ladder: {c.missing}"
    dh1 = next(c for c in checks if c.path.name == "dh1-eth0.pcap")
    assert dh1.types["SOLICIT"] >= 1 and dh1.types["REPLY"] >= 1
    # and dh1's whole exchange is in its ladder, through the relay to both servers
    mine = [
        (a.src, a.dst, a.msg) for a in build_ladder(run.events, roles=run.roles, node="dh1").arrows
    ]
    assert ("dh1", "relay1", "SOLICIT") in mine and ("relay1", "kea1", "RELAY-FORW") in mine
    assert ("s1", "relay1", "RELAY-REPL") in mine and ("relay1", "dh1", "REPLY") in mine
    assert lab("down", "cap", root=root).returncode == 0
