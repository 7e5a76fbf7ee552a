"""Our client reacting to the kernel: Decline after duplicate address detection fails,
Confirm after the link goes down and up."""

from __future__ import annotations

import pytest

from dhcp6.testing.ours import events, start_dhcp6_client, start_dhcp6_server, wait_event

pytestmark = [pytest.mark.netns]


def lan(lab, *nodes):
    lab.bridge("lan")
    for n in nodes:
        lab.namespace(n)
        lab.attach(n, "eth0", "lan")
    for n in nodes:
        lab.link_local(n, "eth0")


def test_duplicate_address_is_declined(netns_lab, tmp_path):
    lab = netns_lab
    lan(lab, "srv", "cli", "squat")
    lab.add_address("srv", "eth0", "2001:db8:1::1")
    lab.add_address("squat", "eth0", "2001:db8:1::100")  # already uses the first pool address
    config = """
decline_probation: 600
lifetimes: {preferred: 30, valid: 60}
subnets:
  - {prefix: 2001:db8:1::/64, interface: eth0, pools: ["2001:db8:1::100-2001:db8:1::101"]}
"""
    srv = start_dhcp6_server(lab, "srv", "eth0", tmp_path / "srv", config)
    # DAD on for the client's leased addresses
    lab.run("cli", ["sysctl", "-qw", "net.ipv6.conf.eth0.accept_dad=1"], check=True)
    cli = start_dhcp6_client(lab, "cli", "eth0", tmp_path / "cli")
    tr = cli.files["trace"]
    dad = wait_event(tr, event="address", action="dad-failed", timeout=10)
    assert dad["address"] == "2001:db8:1::100"
    wait_event(tr, to="DECLINE")
    wait_event(srv.files["trace"], action="declined", address="2001:db8:1::100", timeout=10)
    # back to Solicit, and the next lease is the other address
    ev = wait_event(
        tr, action="bound", match=lambda e: e["address"] != "2001:db8:1::100", timeout=15
    )
    assert ev["address"] == "2001:db8:1::101"
    sent = [e["msg"] for e in events(tr) if e["event"] == "send"]
    assert "DECLINE" in sent


def test_link_down_and_up_sends_confirm(netns_lab, tmp_path):
    lab = netns_lab
    lab.namespace("srv")
    lab.namespace("cli")
    lab.veth("srv", "eth0", "cli", "eth0")
    lab.add_address("srv", "eth0", "2001:db8:1::1")
    lab.link_local("srv", "eth0")
    lab.link_local("cli", "eth0")
    config = """
lifetimes: {preferred: 300, valid: 600}
subnets:
  - {prefix: 2001:db8:1::/64, interface: eth0, pools: ["2001:db8:1::100-2001:db8:1::1ff"]}
"""
    start_dhcp6_server(lab, "srv", "eth0", tmp_path / "srv", config)
    cli = start_dhcp6_client(lab, "cli", "eth0", tmp_path / "cli")
    tr = cli.files["trace"]
    wait_event(tr, to="BOUND")
    lab.run("cli", ["ip", "link", "set", "eth0", "down"], check=True)
    lab.run("cli", ["ip", "link", "set", "eth0", "up"], check=True)
    wait_event(tr, to="CONFIRM", timeout=10)
    ok = wait_event(tr, **{"from": "CONFIRM", "to": "BOUND"}, timeout=10)
    assert ok["reason"] == "Reply Success"
    sent = [e for e in events(tr) if e["event"] == "send" and e["msg"] == "CONFIRM"]
    assert sent and sent[0]["ia"] == ["na:1 2001:db8:1::100"]
