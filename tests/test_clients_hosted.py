"""`dhcp6 clients`: many clients, each in its own namespace, hosted by one process."""

from __future__ import annotations

import signal
import sys
from ipaddress import IPv6Address

import pytest

from dhcp6.testing.ours import events, start_dhcp6_server, wait_event
from dhcp6.testing.peers import _prepare_run_dir

pytestmark = [pytest.mark.netns]

CONFIG = """
rapid_commit: true
lifetimes: {preferred: 30, valid: 60}
subnets:
  - {prefix: 2001:db8:1::/64, interface: eth0, pools: ["2001:db8:1::100-2001:db8:1::1ff"]}
"""


def test_five_clients_in_five_namespaces_one_process(netns_lab, tmp_path):
    lab = netns_lab
    lab.bridge("lan")
    lab.namespace("srv")
    lab.attach("srv", "eth0", "lan")
    lab.add_address("srv", "eth0", "2001:db8:1::1")
    names = [f"c{i}" for i in range(5)]
    for n in names:
        lab.namespace(n)
        lab.attach(n, "eth0", "lan")
    for n in ["srv", *names]:
        lab.link_local(n, "eth0")
    srv = start_dhcp6_server(lab, "srv", "eth0", tmp_path / "srv", CONFIG)
    run = _prepare_run_dir(tmp_path / "clients")
    (run / "traces").mkdir()
    argv = [sys.executable, "-m", "dhcp6.cli", "clients", "--interface", "eth0", "--rapid-commit",
            "--netns", ",".join(lab.ns(n) for n in names), "--state-root", str(run / "state"),
            "--trace", str(run / "traces"), "--seed", "7"]  # fmt: skip
    # the hosting process runs in the root namespace: it opens every socket inside each node
    import subprocess

    log = open(run / "clients.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    try:
        got = {}
        for n in names:
            ev = wait_event(run / "traces" / f"{lab.ns(n)}.jsonl", action="bound", timeout=15)
            got[n] = ev["address"]
            assert any(a["address"] == ev["address"] for a in lab.addresses(n, "eth0"))
        assert len(set(got.values())) == 5
        assert all(
            IPv6Address(a) in __import__("ipaddress").IPv6Network("2001:db8:1::100/120")
            for a in got.values()
        )
        leases = [
            e
            for e in events(srv.files["trace"])
            if e["event"] == "lease" and e["action"] == "bound"
        ]
        assert len(leases) == 5
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        for n in names:
            assert events(run / "traces" / f"{lab.ns(n)}.jsonl")[-1]["to"] == "STOPPED"
            assert not [a for a in lab.addresses(n, "eth0") if a["address"] == got[n]]
        wait_event(
            srv.files["trace"],
            match=lambda e: (
                sum(1 for x in events(srv.files["trace"]) if x.get("action") == "released") == 5
            ),
            timeout=5,
        )
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        log.close()
