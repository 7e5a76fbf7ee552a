"""The `lab` / `lab_factory` fixtures on real namespaces: the handle's API, the example
labs' timing (Renew at T1, Rebind at T2, Preference 255, RFC retransmissions under
loss), captures readable by tshark, impairments measured against what was asked."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from ipaddress import IPv6Address, IPv6Network
from pathlib import Path

import pytest

from lab.pytest_plugin import lab_params
from lab.run.impair import ImpairError, kernel_has_netem

pytestmark = [pytest.mark.netns]
ROOT = Path(__file__).resolve().parent.parent

RA_LAB = """\
name: ra
nodes:
  r1: {kind: router, ra: {managed: true, other: true, interval: 3}}
  s1:
    kind: dhcp6-server
    config:
      reconfigure: true
      lifetimes: {preferred: 300, valid: 600}
      subnets:
        - prefix: 2001:db8:1::/64
          interface: eth0
          pools: ["2001:db8:1::100-2001:db8:1::1ff"]
  c1: {kind: dhcp6-client, seed: 1, reconfigure_accept: true}
  c2: {kind: dhcp6-client, seed: 2, reconfigure_accept: true}
  h1: {kind: host}
links:
  - name: lan1
    prefix: 2001:db8:1::/64
    members: [r1:eth0, s1:eth0, c1:eth0, c2:eth0]
  - name: p1
    prefix: 2001:db8:9::/64
    endpoints: [r1:eth1, h1:eth0]
"""

P2P_LAB = """\
name: pair
nodes:
  a: {kind: host}
  b: {kind: host}
links:
  - name: ab
    prefix: 2001:db8:7::/64
    endpoints: [a:eth0, b:eth0]
{impairment}
"""


@pytest.fixture
def ra_lab(tmp_path, lab_factory):
    f = tmp_path / "ra.yaml"
    f.write_text(RA_LAB)
    return lab_factory(f)


# ---------------------------------------------------------------------------- the handle


@pytest.mark.lab("topologies/basic.yaml")
def test_marker_lab_leases_events_exec(lab):
    bound = lab.wait_for("c1", state="BOUND", within=10)
    assert bound["event"] == "state" and bound["from"] == "REQUEST"
    x = lab.lease("c1")
    assert IPv6Address(x.address) in IPv6Network("2001:db8:1::/64")
    assert (x.preferred, x.valid, x.t1, x.t2, x.server_node) == (300, 600, 150, 240, "s1")
    assert lab.server_by_duid()[x.server] == "s1"
    sends = lab.events("c1", "send")
    assert [e["msg"] for e in sends][:2] == ["SOLICIT", "REQUEST"] and sends[0]["attempt"] == 1
    assert lab.events("c3", "recv", msg="REPLY", rapid_commit=True)  # c3 used rapid commit
    out = lab.exec("c1", "ip -6 addr show dev eth0", check=True).stdout
    assert x.address in out
    assert lab.status()["nodes"]["c1"]["state"] == "BOUND"
    assert lab.name.split("-")[0].startswith(("t", "gw"))


def test_actions_stop_start_kill_restart_link(ra_lab):
    lab = ra_lab
    for c in ("c1", "c2"):
        lab.wait_for(c, state="BOUND", within=10)
    first = lab.lease("c2").address
    t = lab.link_down("lan1")
    lab.link_up("lan1")
    assert lab.wait_for("c1", state="CONFIRM", since=t)["reason"] == "link up after down"
    lab.wait_for("c1", state="BOUND", since=t)
    t = lab.stop("c2")  # a graceful stop Releases
    lab.wait_for("s1", event="lease", action="released", address=first, since=t, within=5)
    t = lab.start("c2")
    lab.wait_for("c2", state="BOUND", since=t)
    t = lab.restart("s1")
    assert lab.wait_for("s1", state="LISTEN", since=t, within=5)
    t = lab.kill("c2")
    assert lab.runtime.nodes["c2"].status == "stopped" and not lab.events("c2", "send", since=t)


def test_ping_and_reconfigure(ra_lab):
    lab = ra_lab
    for c in ("c1", "c2"):
        lab.wait_for(c, state="BOUND", within=10)
    assert lab.ping("c1", "c2")  # on the LAN: r1's Router Advertisement gives the prefix
    assert lab.ping("c1", "h1")  # across the router
    r = lab.ping("h1", lab.lease("c1").address, count=3, interval=0.05)
    assert (r.sent, r.received, r.loss) == (3, 3, 0.0)
    assert not lab.ping("c1", "2001:db8:1::dead", timeout=0.5)
    t = lab.now()
    reply = lab.reconfigure("s1", "c2")
    assert reply["ok"] and reply["sent"] == [lab.client_duid("c2")]
    lab.wait_for("c2", event="recv", msg="RECONFIGURE", since=t)
    renewed = lab.wait_for("c2", event="lease", action="renewed", since=t)
    assert renewed["address"] == lab.lease("c2").address
    assert not lab.events("c1", "recv", msg="RECONFIGURE")


def test_lab_factory_makes_several_labs(lab_factory):
    a = lab_factory("topologies/basic.yaml")
    b = lab_factory("topologies/basic.yaml")
    assert a.name != b.name
    for lab in (a, b):
        lab.wait_for("c2", state="BOUND", within=10)
    assert a.lease("c2").address.startswith("2001:db8:1::")
    ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert f"{a.name}-s1" in ns and f"{b.name}-s1" in ns


@pytest.mark.parametrize("lab", lab_params("topologies/basic.yaml", "topologies/stateless.yaml"),
                         indirect=True)  # fmt: skip
def test_parametrised_over_topologies(lab):
    for c in ("c1", "c2"):
        assert lab.wait_for(c, state="BOUND", within=10)


def test_control_socket_answers_lab_status(lab_factory):
    lab = lab_factory("topologies/basic.yaml")
    lab.wait_for("c1", state="BOUND", within=10)
    r = subprocess.run([sys.executable, "-m", "lab.cli", "status", lab.name, "--json", "--run-root",
                        str(lab.run_root)], capture_output=True, text=True, timeout=30)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["nodes"]["c1"]["state"] == "BOUND"


# ---------------------------------------------------------------------------- example labs


@pytest.mark.lab("topologies/failover.yaml")
def test_failover_renew_at_t1_rebind_at_t2_secondary_extends(lab):
    for c in ("c1", "c2"):
        lab.wait_for(c, state="BOUND", within=10)
    before = {c: lab.lease(c) for c in ("c1", "c2")}
    assert {x.server_node for x in before.values()} == {"s1"}  # Preference 10 beats 0
    lab.kill("s1")
    for c in ("c1", "c2"):
        at_t1 = lab.assert_renewed_at_t1(c)  # T1 = 20 s (protocol), slack 50 ms × 10
        at_t2 = lab.assert_rebound_at_t2(c)  # T2 = 32 s
        assert at_t1 == pytest.approx(20, abs=0.5) and at_t2 == pytest.approx(32, abs=0.5)
        lab.wait_for(c, event="lease", action="rebound", within=20)
        after = lab.lease(c)
        assert after.address == before[c].address and after.server_node == "s2"
    assert lab.events("s2", "drop", msg="RENEW")  # s2 ignored Renews naming s1


@pytest.mark.lab("topologies/preference255.yaml")
def test_preference_255_requests_at_once(lab):
    for c in ("c1", "c2"):
        lab.wait_for(c, state="BOUND", within=10)
        adv = lab.events(c, "recv", msg="ADVERTISE")[0]
        req = lab.events(c, "send", msg="REQUEST")[0]
        assert 0 <= req["t"] - adv["t"] < lab.slack()  # not after the first RT (≈ 1 s)
        assert lab.lease(c).server_node == "s1"
        assert "Preference 255" in lab.events(c, "state", to="REQUEST")[0]["reason"]


@pytest.mark.lab("topologies/restart.yaml")
def test_server_restart_keeps_leases(lab):
    for c in ("c1", "c2"):
        lab.wait_for(c, state="BOUND", within=10)
    before = {c: lab.lease(c).address for c in ("c1", "c2")}
    t = lab.restart("s1")
    assert "2 leases restored" in lab.wait_for("s1", state="LISTEN", since=t, within=5)["reason"]
    lab.start("c3")
    for c in ("c1", "c2"):
        lab.wait_for(c, event="lease", action="renewed", since=t, within=40)
        assert lab.lease(c).address == before[c]
        lab.assert_renewed_at_t1(c)
    lab.wait_for("c3", state="BOUND", within=10)
    assert lab.lease("c3").address not in before.values()


@pytest.mark.lab("topologies/pd-cpe.yaml")
def test_cpe_numbers_its_downstream_lan(lab):
    lab.wait_for("cpe", state="BOUND", within=10)
    pd = lab.lease("cpe", kind="pd")
    assert IPv6Network(pd.prefix).prefixlen == 56 and pd.within("2001:db8:8000::/48")
    lab.wait_for("cpe", event="address", iface="eth1")
    out = lab.exec("cpe", "ip -6 -j addr show dev eth1 scope global", check=True).stdout
    addrs = [a["local"] for i in json.loads(out) for a in i["addr_info"] if "local" in a]
    first64 = next(IPv6Network(pd.prefix).subnets(new_prefix=64))
    assert addrs == [str(first64.network_address + 1)]


@pytest.mark.lab("topologies/lossy.yaml")
def test_lossy_link_retransmissions_follow_the_rfc(lab):
    clients = [n for n in lab.topology.nodes if n.startswith("c")]
    for c in clients:
        lab.wait_for(c, state="BOUND", within=4000)  # protocol seconds: see topologies/lossy.yaml
    # 30 % loss: some Solicit or its Advertise is lost, so clients retransmit
    measured = lab.assert_retransmissions(clients, "SOLICIT", rfc=True, at_least=1)
    assert all(m > 0.9 for m in measured)
    lab.assert_retransmissions(clients, "REQUEST", rfc=True, at_least=0)
    assert lab.runtime.impairments["lan1"].loss == 30


# ---------------------------------------------------------------------------- captures


def test_pcap_of_every_link_reads_as_dhcpv6_in_tshark(tmp_path, lab_factory):
    f = tmp_path / "ra.yaml"
    f.write_text(RA_LAB)
    lab = lab_factory(f, pcap=True)
    for c in ("c1", "c2"):
        lab.wait_for(c, state="BOUND", within=10)
    pcaps = lab.run_dir / "pcap"
    assert {p.name for p in pcaps.glob("*.pcap")} == {"lan1.pcap", "p1.pcap"}
    r = subprocess.run(["tshark", "-r", str(pcaps / "lan1.pcap"), "-Y", "dhcpv6", "-T", "fields",
                        "-e", "dhcpv6.msgtype"], capture_output=True, text=True, timeout=60)  # fmt: skip
    types = [int(x) for x in r.stdout.split()]
    assert types.count(1) >= 2 and types.count(3) >= 2 and types.count(7) >= 2, r.stdout + r.stderr
    # started before the engines: each client's first Solicit is in it
    first = lab.events("c1", "send", msg="SOLICIT")[0]
    r = subprocess.run(["tshark", "-r", str(pcaps / "lan1.pcap"), "-Y",
                        f"dhcpv6.xid == 0x{first['xid']}", "-T", "fields", "-e", "frame.number"],
                       capture_output=True, text=True, timeout=60)  # fmt: skip
    assert r.stdout.split(), r.stderr


def test_lab_capture_cli(lab_factory, tmp_path):
    lab = lab_factory("topologies/basic.yaml")
    lab.wait_for("c1", state="BOUND", within=10)
    out = tmp_path / "lan1.pcap"
    env = {**os.environ, "DHCP6_LAB_RUN_ROOT": str(lab.run_root)}
    cap = subprocess.Popen([sys.executable, "-m", "lab.cli", "capture", lab.name, "lan1", "-w", str(out),
                            "--duration", "20", "--count", "4"], env=env,
                           stderr=subprocess.PIPE, text=True)  # fmt: skip
    line = cap.stderr.readline()
    assert "capturing lan1" in line, line
    t = lab.restart("c1")  # Release + Reply, then Solicit…
    lab.wait_for("c1", state="BOUND", since=t)
    assert cap.wait(30) == 0, cap.stderr.read()
    assert "4 packets captured" in cap.stderr.read()
    r = subprocess.run(["tshark", "-r", str(out)], capture_output=True, text=True, timeout=60)
    assert len(r.stdout.splitlines()) == 4 and "DHCPv6" in r.stdout and "Release" in r.stdout, (
        r.stdout
    )
    bad = subprocess.run([sys.executable, "-m", "lab.cli", "capture", lab.name, "nolink"], env=env,
                         capture_output=True, text=True, timeout=30)  # fmt: skip
    assert bad.returncode == 1 and bad.stderr.strip().count("\n") == 0
    assert "has no link 'nolink' (links: lan1; or NODE:IFACE)" in bad.stderr


# ---------------------------------------------------------------------------- impairments


def pair(tmp_path: Path, lab_factory, impairment: str = ""):
    f = tmp_path / "pair.yaml"
    f.write_text(P2P_LAB.replace("{impairment}", impairment))
    lab = lab_factory(f)
    # Permanent neighbour entries: the loss rule also drops neighbour discovery, and a
    # failed resolution loses pings the rule itself did not drop — measure the rule alone.
    macs = {n: json.loads(lab.exec(n, "ip -j link show dev eth0", check=True).stdout)[0]["address"]
            for n in ("a", "b")}  # fmt: skip
    for n, peer in (("a", "b"), ("b", "a")):
        lab.exec(n, f"ip -6 neigh replace {lab.address(peer)} lladdr {macs[peer]} dev eth0 nud permanent",
                 check=True)  # fmt: skip
    return lab


def test_loss_on_one_interface_measured_by_ping(tmp_path, lab_factory):
    lab = pair(tmp_path, lab_factory)
    assert lab.ping("a", "b")
    lab.netem("a:eth0", loss=30)  # a drops 30 % of what it receives: the echo replies
    r = lab.ping("a", "b", count=200, interval=0.005, timeout=1)
    assert 0.15 <= r.loss <= 0.45, r.output
    lab.netem("a:eth0")  # all zero: cleared
    assert lab.ping("a", "b", count=50, interval=0.005).loss == 0


def test_loss_on_a_link_from_the_topology_is_per_direction(tmp_path, lab_factory):
    lab = pair(tmp_path, lab_factory, "    impairment: {loss: 30}")
    r = lab.ping("a", "b", count=300, interval=0.005, timeout=1)
    per_direction = 1 - math.sqrt(r.received / r.sent)  # a round trip crosses the link twice
    assert 0.15 <= per_direction <= 0.45, r.output


def test_duplication_measured_by_ping(tmp_path, lab_factory):
    lab = pair(tmp_path, lab_factory)
    lab.netem("b:eth0", duplicate=20)  # b sends 20 % of its frames twice: duplicate replies
    r = lab.ping("a", "b", count=200, interval=0.005)
    assert r.loss == 0 and 0.10 <= r.duplicates / r.received <= 0.30, r.output


def test_delay_is_refused_in_one_line_without_netem(tmp_path, lab_factory):
    lab = pair(tmp_path, lab_factory)
    if kernel_has_netem():
        lab.netem("ab", delay="50ms")
        assert "time=" in lab.ping("a", "b").output
        return
    with pytest.raises(ImpairError) as e:
        lab.netem("ab", delay="100ms")
    assert "\n" not in str(e.value) and "this kernel lacks netem" in str(e.value)
