"""Our `dhcp6 client` in a namespace against real servers from Debian packages
(kea-dhcp6, dnsmasq, ISC dhcpd -6) and against our own server."""

from __future__ import annotations

import signal
import subprocess
import sys
from ipaddress import IPv6Address, IPv6Network

import pytest

from dhcp6.testing.ours import events, start_dhcp6_client, start_dhcp6_server, wait_event
from dhcp6.testing.peers import start_dhcpd6, start_dnsmasq, start_kea, wait_for_address

pytestmark = [pytest.mark.netns, pytest.mark.interop]


@pytest.fixture
def link(netns_lab):
    netns_lab.namespace("srv")
    netns_lab.namespace("cli")
    netns_lab.veth("srv", "eth0", "cli", "eth0")
    netns_lab.add_address("srv", "eth0", "2001:db8:1::1")
    netns_lab.link_local("srv", "eth0")
    netns_lab.link_local("cli", "eth0")
    return netns_lab


def kernel(lab, addr: str) -> dict:
    return next(a for a in lab.addresses("cli", "eth0") if a["address"] == addr)


def renew_then_release(cli, trace) -> None:
    """Renew at T1 answered, then SIGTERM: Release answered with Success, clean exit."""
    wait_event(trace, to="RENEW", timeout=10)
    wait_event(
        trace, event="recv", msg="REPLY", match=lambda e: True, after=_index_of(trace, "RENEW")
    )
    wait_event(trace, **{"from": "RENEW", "to": "BOUND"}, timeout=10)
    cli.popen.send_signal(signal.SIGTERM)
    assert cli.popen.wait(10) == 0
    evs = events(trace)
    sent = [i for i, e in enumerate(evs) if e["event"] == "send" and e["msg"] == "RELEASE"]
    assert sent, "no Release sent"
    reply = [e for e in evs[sent[0] :] if e["event"] == "recv" and e["msg"] == "REPLY"]
    assert reply and reply[0].get("status") == "Success"
    assert evs[-1]["to"] == "STOPPED"


def _index_of(trace, state: str) -> int:
    evs = events(trace)
    return next(i for i, e in enumerate(evs) if e.get("to") == state)


def test_against_kea_na_and_pd(link, tmp_path):
    kea = start_kea(link, "srv", "eth0", tmp_path / "kea", preferred=4, valid=8, t1=2, t2=3)
    cli = start_dhcp6_client(link, "cli", "eth0", tmp_path / "cli", extra=["--ia-pd", "1/56"])
    trace = cli.files["trace"]
    addr = wait_for_address(link, "cli", "eth0", "2001:db8:1::/64", 15, peer=cli)
    assert IPv6Address(addr) in IPv6Network("2001:db8:1::100/120")
    k = kernel(link, addr)
    assert 0 < k["valid"] <= 8 and 0 < k["preferred"] <= 4
    bound = wait_event(trace, to="BOUND")
    pd = wait_event(trace, action="bound", match=lambda e: "prefix" in e)
    assert IPv6Network(pd["prefix"]).subnet_of(IPv6Network("2001:db8:8000::/48"))
    renew = wait_event(trace, to="RENEW", timeout=10)
    assert 1.8 <= renew["t"] - bound["t"] <= 2.6  # T1 = 2 s
    renew_then_release(cli, trace)
    kea.wait_for(r"DHCP6_RELEASE_NA", timeout=10)
    assert not [a for a in link.addresses("cli", "eth0") if a["address"] == addr]


def test_against_isc_dhcpd(link, tmp_path):
    start_dhcpd6(link, "srv", "eth0", tmp_path / "dhcpd", preferred=4, valid=8)
    cli = start_dhcp6_client(link, "cli", "eth0", tmp_path / "cli")
    addr = wait_for_address(link, "cli", "eth0", "2001:db8:1::/64", 15, peer=cli)
    assert IPv6Address(addr) in IPv6Network("2001:db8:1::100/120")
    assert 0 < kernel(link, addr)["valid"] <= 8
    renew_then_release(cli, cli.files["trace"])


def test_against_dnsmasq_bind_and_release(link, tmp_path):
    # dnsmasq's shortest lease is two minutes: bind and release only
    dns = start_dnsmasq(link, "srv", "eth0", tmp_path / "dnsmasq")
    cli = start_dhcp6_client(link, "cli", "eth0", tmp_path / "cli")
    addr = wait_for_address(link, "cli", "eth0", "2001:db8:1::/64", 15, peer=cli)
    assert 100 <= kernel(link, addr)["valid"] <= 120
    cli.popen.send_signal(signal.SIGTERM)
    assert cli.popen.wait(10) == 0
    evs = events(cli.files["trace"])
    assert any(
        e["event"] == "recv" and e["msg"] == "REPLY" and e.get("status") == "Success" for e in evs
    )
    assert evs[-1]["to"] == "STOPPED"
    assert addr not in dns.read("leases")


def test_against_our_server_with_a_time_scale(link, tmp_path):
    # lifetimes on the wire stay in protocol seconds; kernel lifetimes are divided by 20
    config = """
lifetimes: {preferred: 40, valid: 80}
subnets:
  - {prefix: 2001:db8:1::/64, interface: eth0, pools: ["2001:db8:1::100-2001:db8:1::1ff"]}
"""
    start_dhcp6_server(link, "srv", "eth0", tmp_path / "srv", config, extra=["--time-scale", "20"])
    cli = start_dhcp6_client(link, "cli", "eth0", tmp_path / "cli", extra=["--time-scale", "20"])
    addr = wait_for_address(link, "cli", "eth0", "2001:db8:1::/64", 15, peer=cli)
    assert kernel(link, addr)["valid"] <= 4
    bound = wait_event(cli.files["trace"], to="BOUND")
    renew = wait_event(cli.files["trace"], to="RENEW", timeout=5)
    assert 0.8 <= renew["t"] - bound["t"] <= 1.3  # T1 = 20 protocol s = 1 s
    assert renew["pt"] - bound["pt"] == pytest.approx(20, abs=2)


def test_bad_interface_is_one_line(link):
    r = link.run(
        "cli",
        [sys.executable, "-m", "dhcp6.cli", "client", "-i", "eth9", "--state-dir", "/tmp/x-unused"],
        timeout=30,
    )
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "eth9" in r.stderr and "Traceback" not in r.stderr


def test_help_has_examples():
    r = subprocess.run(
        [sys.executable, "-m", "dhcp6.cli", "client", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 0 and "examples:" in r.stdout
