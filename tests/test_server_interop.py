"""Our `dhcp6 server` in a namespace, serving real clients from Debian packages
(ISC dhclient, dhcpcd, WIDE dhcp6c, Kea's perfdhcp) across a veth."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from ipaddress import IPv6Address, IPv6Network

import pytest

from dhcp6.testing.ours import control, events, start_dhcp6_server, wait_event
from dhcp6.testing.peers import (
    run_perfdhcp,
    start_dhclient,
    start_dhcp6c,
    start_dhcpcd,
    wait_for_address,
)

pytestmark = [pytest.mark.netns, pytest.mark.interop]

CONFIG = """
lifetimes: {preferred: 30, valid: 60, t1: 2, t2: 3}
subnets:
  - prefix: 2001:db8:1::/64
    interface: eth0
    pools: ["2001:db8:1::100-2001:db8:1::1ff"]
    pd_pools: [{prefix: "2001:db8:8000::/48", delegated_length: 56}]
    options: {dns_servers: ["2001:db8::53"], domain_search: [lab.example]}
"""
POOL = IPv6Network("2001:db8:1::/120")  # ::100-::1ff lies in 2001:db8:1::100/120


@pytest.fixture
def link(netns_lab, tmp_path):
    """Two namespaces joined by a veth; our server on `srv`, a client node `cli`."""
    netns_lab.namespace("srv")
    netns_lab.namespace("cli")
    netns_lab.veth("srv", "eth0", "cli", "eth0")
    netns_lab.add_address("srv", "eth0", "2001:db8:1::1")
    netns_lab.link_local("srv", "eth0")
    netns_lab.link_local("cli", "eth0")
    return netns_lab


def in_pool(addr: str) -> bool:
    return IPv6Address(addr) in IPv6Network("2001:db8:1::100/120")


def store_rows(path) -> list[tuple]:
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT kind, address, prefixlen, state FROM leases").fetchall()
    finally:
        db.close()


def test_dhclient_gets_an_address_and_renews(link, tmp_path):
    srv = start_dhcp6_server(link, "srv", "eth0", tmp_path / "srv", CONFIG)
    cli = start_dhclient(link, "cli", "eth0", tmp_path / "cli")
    addr = wait_for_address(link, "cli", "eth0", "2001:db8:1::/64", 15, peer=cli)
    assert in_pool(addr)
    kernel = next(a for a in link.addresses("cli", "eth0") if a["address"] == addr)
    assert kernel["valid"] <= 60
    # a renewal with short lifetimes is answered (T1 = 2 s)
    bound = wait_event(srv.files["trace"], action="bound", address=addr)
    renewed = wait_event(srv.files["trace"], action="renewed", address=addr, timeout=10)
    assert 1.5 <= renewed["t"] - bound["t"] <= 5
    replies = [
        e for e in events(srv.files["trace"]) if e["event"] == "send" and e["msg"] == "REPLY"
    ]
    assert len(replies) >= 2
    assert control(srv.files["control"], "leases")["leases"][0]["lease"] == addr


def test_dhclient_prefix_delegation(link, tmp_path):
    srv = start_dhcp6_server(link, "srv", "eth0", tmp_path / "srv", CONFIG)
    cli = start_dhclient(link, "cli", "eth0", tmp_path / "cli", na=False, pd=True)
    ev = wait_event(srv.files["trace"], action="bound", match=lambda e: "prefix" in e, timeout=15)
    assert IPv6Network(ev["prefix"]).subnet_of(IPv6Network("2001:db8:8000::/48"))
    assert IPv6Network(ev["prefix"]).prefixlen == 56
    cli.wait_for(rf"new_ip6_prefix='?{ev['prefix']}", file="events", timeout=10)


def test_dhcpcd(link, tmp_path):
    start_dhcp6_server(link, "srv", "eth0", tmp_path / "srv", CONFIG)
    cli = start_dhcpcd(link, "cli", "eth0", tmp_path / "cli")
    assert in_pool(wait_for_address(link, "cli", "eth0", "2001:db8:1::/64", 15, peer=cli))


def test_wide_dhcp6c_binds_and_its_release_frees_the_lease(link, tmp_path):
    srv = start_dhcp6_server(link, "srv", "eth0", tmp_path / "srv", CONFIG)
    cli = start_dhcp6c(link, "cli", "eth0", tmp_path / "cli")
    addr = wait_for_address(link, "cli", "eth0", "2001:db8:1::/64", 15, peer=cli)
    assert in_pool(addr)
    assert [r[3] for r in store_rows(srv.files["leases"])] == ["bound"]
    cli.stop()  # dhcp6c sends Release on SIGTERM
    wait_event(srv.files["trace"], action="released", address=addr, timeout=10)
    assert store_rows(srv.files["leases"]) == []


def test_dhclient_release_frees_the_lease(link, tmp_path):
    srv = start_dhcp6_server(link, "srv", "eth0", tmp_path / "srv", CONFIG)
    cli = start_dhclient(link, "cli", "eth0", tmp_path / "cli")
    addr = wait_for_address(link, "cli", "eth0", "2001:db8:1::/64", 15, peer=cli)
    cli.stop()
    # `dhclient -6 -r` with the same lease file sends a Release for the binding
    r = link.run("cli", ["dhclient", "-6", "-r", "-v", "-lf", str(cli.files["leases"]),
                         "-pf", str(cli.run_dir / "release.pid"), "-sf", str(cli.files["script"]),
                         "-cf", str(cli.files["config"]), "eth0"], timeout=30)  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    wait_event(srv.files["trace"], action="released", address=addr, timeout=10)
    assert store_rows(srv.files["leases"]) == []


def test_perfdhcp_four_way_without_drops(link, tmp_path):
    big_pool = CONFIG.replace(
        '"2001:db8:1::100-2001:db8:1::1ff"', '"2001:db8:1::1:0-2001:db8:1::ffff:ffff"'
    )
    srv = start_dhcp6_server(link, "srv", "eth0", tmp_path / "srv", big_pool)
    four = run_perfdhcp(link, "cli", "eth0", rate=200, seconds=2, clients=400)
    assert four.returncode == 0, four.output
    assert four.sent["SOLICIT"] >= 300 and four.drops == 0, four.output
    assert four.received["REPLY"] == four.sent["REQUEST"] == four.received["ADVERTISE"]
    stats = control(srv.files["control"], "stats")
    assert stats["kernel_drops"] == 0 and stats["host"]["commit_errors"] == 0
    assert len(control(srv.files["control"], "leases")["leases"]) == four.received["REPLY"]


def test_rapid_commit_with_dhclient(link, tmp_path):
    # perfdhcp 2.2's -c aborts at the first Reply to a Solicit ("Packets exchange not
    # specified"), against Kea too, so rapid commit is proven with dhclient instead.
    srv = start_dhcp6_server(link, "srv", "eth0", tmp_path / "srv", "rapid_commit: true\n" + CONFIG)
    cli = start_dhclient(link, "cli", "eth0", tmp_path / "cli", rapid_commit=True)
    addr = wait_for_address(link, "cli", "eth0", "2001:db8:1::/64", 15, peer=cli)
    msgs = [
        (e["event"], e["msg"]) for e in events(srv.files["trace"]) if e["event"] in ("recv", "send")
    ]
    assert msgs[:2] == [("recv", "SOLICIT"), ("send", "REPLY")]
    assert ("send", "ADVERTISE") not in msgs
    sent = next(e for e in events(srv.files["trace"]) if e["event"] == "send")
    assert sent.get("rapid_commit") is True and in_pool(addr)


def test_kill_9_keeps_every_binding(link, tmp_path):
    srv = start_dhcp6_server(link, "srv", "eth0", tmp_path / "srv", CONFIG)
    cli = start_dhclient(link, "cli", "eth0", tmp_path / "cli", pd=True)
    addr = wait_for_address(link, "cli", "eth0", "2001:db8:1::/64", 15, peer=cli)
    os.kill(srv.pid, signal.SIGKILL)
    srv.popen.wait(5)
    rows = store_rows(srv.files["leases"])
    assert sorted(r[0] for r in rows) == ["na", "pd"]
    duid_file = srv.files["leases"].with_suffix(".duid")
    duid = duid_file.read_text()
    n = len(events(srv.files["trace"]))
    srv2 = start_dhcp6_server(link, "srv", "eth0", tmp_path / "srv", CONFIG)
    assert duid_file.read_text() == duid  # the same server identity after the restart
    wait_event(srv2.files["trace"], after=n, to="LISTEN",
               match=lambda e: "2 leases restored" in e.get("reason", ""))  # fmt: skip
    # the client's next Renew (T1 = 2 s) is answered with the same address, not NoBinding
    ev = wait_event(srv2.files["trace"], after=n, action="renewed", address=addr, timeout=10)
    assert ev["valid"] == 60


def test_sighup_reloads_and_keeps_leases(link, tmp_path):
    srv = start_dhcp6_server(link, "srv", "eth0", tmp_path / "srv", CONFIG)
    cli = start_dhclient(link, "cli", "eth0", tmp_path / "cli")
    addr = wait_for_address(link, "cli", "eth0", "2001:db8:1::/64", 15, peer=cli)
    srv.files["config"].write_text(CONFIG.replace("valid: 60", "valid: 50"))
    n = len(events(srv.files["trace"]))
    srv.popen.send_signal(signal.SIGHUP)
    wait_event(srv.files["trace"], after=n, reason="config reloaded")
    ev = wait_event(srv.files["trace"], after=n, action="renewed", address=addr, timeout=10)
    assert ev["valid"] == 50
    srv.files["config"].write_text("subnets: [oops")
    srv.popen.send_signal(signal.SIGHUP)
    err = wait_event(srv.files["trace"], after=n, event="error")
    assert "reload refused" in err["message"] and srv.alive


def test_sigterm_exits_promptly(link, tmp_path):
    srv = start_dhcp6_server(link, "srv", "eth0", tmp_path / "srv", CONFIG)
    srv.popen.send_signal(signal.SIGTERM)
    assert srv.popen.wait(3) == 0
    assert events(srv.files["trace"])[-1]["to"] == "STOPPED"
    assert not os.path.exists(srv.files["control"])


@pytest.mark.parametrize(
    "config, args, expect",
    [
        (
            CONFIG.replace("interface: eth0", "interface: eth9"),
            [],
            "interface 'eth9' does not exist",
        ),
        (CONFIG, ["--interface", "eth7"], "--interface eth7: no such interface"),
        (CONFIG.replace("preferred: 30", "preferred: 90"), [], "lifetimes.preferred"),
        ("subnets: [", [], "YAML syntax error"),
    ],
)
def test_bad_start_is_one_line_and_nothing_is_left(link, tmp_path, config, args, expect):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(config)
    leases = tmp_path / "run" / "leases.sqlite"
    r = link.run("srv", [sys.executable, "-m", "dhcp6.cli", "server", "-c", str(cfg),
                         "--leases", str(leases), *args], timeout=30)  # fmt: skip
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and expect in lines[0], r.stderr
    assert "Traceback" not in r.stderr
    # nothing half-started: no process holds 547 in the namespace
    assert ":0223 " not in link.run("srv", ["cat", "/proc/net/udp6"]).stdout


def test_help_has_examples():
    r = subprocess.run([sys.executable, "-m", "dhcp6.cli", "server", "--help"],
                       capture_output=True, text=True, timeout=30)  # fmt: skip
    assert r.returncode == 0 and "examples:" in r.stdout
