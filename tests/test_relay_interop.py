"""Our relay in namespaces: dhclient behind it served by our server, our client behind it
served by Kea, a chain of two relays; and Reconfigure end to end."""

from __future__ import annotations

import subprocess
import sys
from ipaddress import IPv6Address, IPv6Network

import pytest

from dhcp6.engine import rkap
from dhcp6.testing.ours import (
    control,
    events,
    start_dhcp6_client,
    start_dhcp6_server,
    wait_event,
)
from dhcp6.testing.peers import (
    PeerProcess,
    _launch,
    _prepare_run_dir,
    _wait_port,
    start_dhclient,
    start_kea,
    wait_for_address,
)

pytestmark = [pytest.mark.netns, pytest.mark.interop]

RELAYED = """
lifetimes: {preferred: 30, valid: 60, t1: 2, t2: 3}
subnets:
  - {prefix: 2001:db8:1::/64, interface: eth0, pools: ["2001:db8:1::100-2001:db8:1::1ff"]}
  - {prefix: 2001:db8:2::/64, pools: ["2001:db8:2::100-2001:db8:2::1ff"]}
  - {prefix: 2001:db8:3::/64, pools: ["2001:db8:3::100-2001:db8:3::1ff"]}
"""


def start_relay(lab, node, run_dir, listen: list[str], servers: list[str], extra=()) -> PeerProcess:
    run = _prepare_run_dir(run_dir)
    files = {"trace": run / f"relay-{node}.jsonl"}
    argv = [
        sys.executable,
        "-m",
        "dhcp6.cli",
        "relay",
        "--trace",
        str(files["trace"]),
        "--node",
        node,
    ]
    argv += [a for i in listen for a in ("--listen", i)] + [
        a for s in servers for a in ("--server", s)
    ]
    return _wait_port(_launch(lab, node, f"relay-{node}", [*argv, *extra], run, files), 547, 10)


@pytest.fixture
def chain(netns_lab):
    """cli —(2001:db8:2::/64)— rel —(2001:db8:1::/64)— srv"""
    lab = netns_lab
    for n in ("srv", "rel", "cli"):
        lab.namespace(n)
    lab.veth("srv", "eth0", "rel", "eth0")
    lab.veth("rel", "eth1", "cli", "eth0")
    lab.add_address("srv", "eth0", "2001:db8:1::1")
    lab.add_address("rel", "eth0", "2001:db8:1::2")
    lab.add_address("rel", "eth1", "2001:db8:2::1")
    for n, i in (("srv", "eth0"), ("rel", "eth0"), ("rel", "eth1"), ("cli", "eth0")):
        lab.link_local(n, i)
    return lab


def test_dhclient_behind_our_relay_gets_a_lease_from_our_server(chain, tmp_path):
    srv = start_dhcp6_server(chain, "srv", "eth0", tmp_path / "srv", RELAYED)
    rel = start_relay(chain, "rel", tmp_path / "rel", ["eth1"], ["2001:db8:1::1"])
    cli = start_dhclient(chain, "cli", "eth0", tmp_path / "cli")
    addr = wait_for_address(chain, "cli", "eth0", "2001:db8:2::/64", 15, peer=cli)
    assert IPv6Address(addr) in IPv6Network("2001:db8:2::100/120")
    fwd = wait_event(rel.files["trace"], event="send", msg="RELAY-FORW")
    assert fwd["link"] == "2001:db8:2::1"
    recv = wait_event(srv.files["trace"], event="recv", msg="RELAY-FORW")
    assert recv["inner"]["msg"] == "SOLICIT"
    # the client's link-layer address (RFC 6939) is in the Relay-forward the server saw
    wait_event(srv.files["trace"], action="renewed", address=addr, timeout=10)


def test_our_client_behind_our_relay_gets_a_lease_from_kea(chain, tmp_path):
    start_kea(chain, "srv", "eth0", tmp_path / "kea", subnet="2001:db8:2::/64",
              pool="2001:db8:2::100-2001:db8:2::1ff", pd_pool=None, relayed=True,
              unicast="2001:db8:1::1")  # fmt: skip
    start_relay(chain, "rel", tmp_path / "rel", ["eth1"], ["2001:db8:1::1"])
    cli = start_dhcp6_client(chain, "cli", "eth0", tmp_path / "cli")
    addr = wait_for_address(chain, "cli", "eth0", "2001:db8:2::/64", 15, peer=cli)
    assert IPv6Address(addr) in IPv6Network("2001:db8:2::100/120")
    wait_event(cli.files["trace"], to="BOUND")


def test_two_chained_relays(netns_lab, tmp_path):
    """cli —(db8:3)— r2 —(db8:2)— r1 —(db8:1)— srv; the server picks the innermost link."""
    lab = netns_lab
    for n in ("srv", "r1", "r2", "cli"):
        lab.namespace(n)
    lab.veth("srv", "eth0", "r1", "eth0")
    lab.veth("r1", "eth1", "r2", "eth0")
    lab.veth("r2", "eth1", "cli", "eth0")
    for n, i, a in (("srv", "eth0", "2001:db8:1::1"), ("r1", "eth0", "2001:db8:1::2"),
                    ("r1", "eth1", "2001:db8:2::1"), ("r2", "eth0", "2001:db8:2::2"),
                    ("r2", "eth1", "2001:db8:3::1")):  # fmt: skip
        lab.add_address(n, i, a)
    for n, i in (
        ("srv", "eth0"),
        ("r1", "eth0"),
        ("r1", "eth1"),
        ("r2", "eth0"),
        ("r2", "eth1"),
        ("cli", "eth0"),
    ):
        lab.link_local(n, i)
    srv = start_dhcp6_server(lab, "srv", "eth0", tmp_path / "srv", RELAYED)
    start_relay(lab, "r1", tmp_path / "r1", ["eth1"], ["2001:db8:1::1"])
    start_relay(lab, "r2", tmp_path / "r2", ["eth1"], ["2001:db8:2::1"], extra=["--interface-id"])
    cli = start_dhcp6_client(lab, "cli", "eth0", tmp_path / "cli")
    addr = wait_for_address(lab, "cli", "eth0", "2001:db8:3::/64", 15, peer=cli)
    assert IPv6Address(addr) in IPv6Network("2001:db8:3::100/120")
    recv = wait_event(srv.files["trace"], event="recv", msg="RELAY-FORW")
    assert recv["hops"] == 2


def test_admin_reconfigure_and_forged_reconfigures(netns_lab, tmp_path):
    lab = netns_lab
    lab.namespace("srv")
    lab.namespace("cli")
    lab.veth("srv", "eth0", "cli", "eth0")
    lab.add_address("srv", "eth0", "2001:db8:1::1")
    lab.link_local("srv", "eth0")
    lab.link_local("cli", "eth0")
    config = "reconfigure: true\n" + RELAYED.replace("t1: 2, t2: 3", "t1: 1000, t2: 1600").replace(
        "valid: 60", "valid: 3000"
    ).replace("preferred: 30", "preferred: 2000")
    srv = start_dhcp6_server(lab, "srv", "eth0", tmp_path / "srv", config)
    cli = start_dhcp6_client(lab, "cli", "eth0", tmp_path / "cli", extra=["--reconfigure-accept"])
    tr = cli.files["trace"]
    bound = wait_event(tr, to="BOUND")
    duid = next(e for e in events(srv.files["trace"]) if e.get("action") == "bound")["client"]
    # forged ones first: wrong key, replayed counter (sent from the server's namespace)
    import sqlite3

    db = sqlite3.connect(srv.files["leases"])
    key = bytes.fromhex(
        db.execute("SELECT value FROM meta WHERE key=?", (f"rkey:{duid}",)).fetchone()[0]
    )
    replay = int(db.execute("SELECT value FROM meta WHERE key='replay'").fetchone()[0])
    db.close()
    server_duid = srv.files["leases"].with_suffix(".duid").read_text().strip()
    ll = next(a["address"] for a in lab.addresses("cli", "eth0") if a["address"].startswith("fe80"))
    forgeries = {"wrong key": (bytes(16), replay + 1), "replayed": (key, replay)}
    for what, (k, counter) in forgeries.items():
        from dhcp6.constants import MessageType as M
        from dhcp6.wire import ClientId, Message, ReconfigureMessage, ServerId, duid_from_hex

        m = rkap.sign(Message(M.RECONFIGURE, 0, (ServerId(duid_from_hex(server_duid)), ClientId(duid_from_hex(duid)),
                                                 ReconfigureMessage(M.RENEW))), k, counter)  # fmt: skip
        code = (f"import socket; s=socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); "
                f"s.sendto(bytes.fromhex('{m.encode().hex()}'), ('{ll}', 546, 0, socket.if_nametoindex('eth0')))")  # fmt: skip
        before = len(events(tr))
        assert lab.run("srv", [sys.executable, "-c", code]).returncode == 0
        drop = wait_event(tr, event="drop", msg="RECONFIGURE", after=before, timeout=5)
        assert ("HMAC" in drop["reason"]) if what == "wrong key" else ("replayed" in drop["reason"])
    # a correctly signed one sent by multicast, with a counter far ahead: not even received
    # (the client joins no group); were it accepted, the admin's Reconfigure below would be
    # refused as replayed — so the Renew that follows proves it changed nothing
    m = rkap.sign(Message(M.RECONFIGURE, 0, (ServerId(duid_from_hex(server_duid)), ClientId(duid_from_hex(duid)),
                                             ReconfigureMessage(M.RENEW))), key, replay + 100)  # fmt: skip
    code = (f"import socket; s=socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); "
            f"s.sendto(bytes.fromhex('{m.encode().hex()}'), ('ff02::1', 546, 0, socket.if_nametoindex('eth0')))")  # fmt: skip
    assert lab.run("srv", [sys.executable, "-c", code]).returncode == 0
    assert [e for e in events(tr) if e.get("to") == "RENEW"] == []  # nothing changed
    # the admin's Reconfigure: the client renews within a second
    n = len(events(tr))
    r = subprocess.run([sys.executable, "-m", "dhcp6.cli", "reconfigure", "--control",
                        str(srv.files["control"]), "--client", duid], capture_output=True, text=True, timeout=30)  # fmt: skip
    assert r.returncode == 0 and "sent Reconfigure (renew)" in r.stdout, r.stderr
    renew = wait_event(tr, after=n, to="RENEW", timeout=5)
    assert renew["seed"] == "Reconfigure" and renew["t"] - bound["t"] > 0
    sent_at = next(e["t"] for e in events(srv.files["trace"]) if e.get("seed") == "Reconfigure")
    got = wait_event(srv.files["trace"], seed="Reconfigure Reply", timeout=5)
    assert got["t"] - sent_at < 1.0
    assert control(srv.files["control"], "stats")["engine"].get("Reconfigure Reply") == 1
