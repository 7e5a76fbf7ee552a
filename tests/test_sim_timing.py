"""Exact protocol times on the simulator's virtual clock (RFC 9915 §15, §18.2).

The engine draws every RAND from the generator the driver gives it; a client with a
``seed:`` option gets ``random.Random(seed)`` (as in the namespace lab), so these tests
can replay the draws and demand the times to the microsecond the trace keeps."""

from __future__ import annotations

import itertools
import random

import pytest

from lab.load import load_topology_text
from lab.sim.handle import SimLab

NO_SERVER = """
name: alone
vars: {seed: 1, sol_max_rt: null}
nodes:
  s1:
    kind: dhcp6-server
    autostart: false
    config:
      lifetimes: {preferred: 100, valid: 200}
      subnets:
        - prefix: 2001:db8:1::/64
          interface: eth0
          pools: ["2001:db8:1::100-2001:db8:1::100"]
{% if sol_max_rt %}
          options: {sol_max_rt: {{ sol_max_rt }}}
{% endif %}
  c1: {kind: dhcp6-client, seed: {{ seed }}}
links:
  - {name: lan1, prefix: 2001:db8:1::/64, members: [s1:eth0, c1:eth0]}
"""

LAN = """
name: lan
nodes:
  s1:
    kind: dhcp6-server
    config:
      reconfigure: true
      lifetimes: {preferred: 100, valid: 200, t1: 40, t2: 70}
      subnets:
        - prefix: 2001:db8:1::/64
          interface: eth0
          pools: ["2001:db8:1::100-2001:db8:1::1ff"]
  c1: {kind: dhcp6-client, seed: 7, reconfigure_accept: true}
links:
  - {name: lan1, prefix: 2001:db8:1::/64, members: [s1:eth0, c1:eth0]}
"""


def lab_of(text: str, **v) -> SimLab:
    return SimLab(load_topology_text(text, "t.yaml", v or None), seed=1)


def solicit_times(lab: SimLab) -> list[float]:
    return [e["t"] for e in lab.events("c1", "send", msg="SOLICIT")]


@pytest.mark.parametrize("seed", range(1, 41))
def test_first_solicit_rt_is_in_1_0_to_1_1(seed):
    """§18.2.1: the first RT of a Solicit is IRT + RAND·IRT with RAND strictly > 0."""
    lab = lab_of(NO_SERVER, seed=seed)
    lab.advance(3.5)
    first, second = lab.events("c1", "send", msg="SOLICIT")[:2]
    gap = second["t"] - first["t"]
    assert 1.0 < gap <= 1.1 + 1e-6 and abs(gap - first["rt"]) <= 2e-6
    assert 0.0 <= first["t"] <= 1.0  # SOL_MAX_DELAY


def replay_solicit_rts(seed: int, n: int, cap: float = 3600.0) -> tuple[float, list[float]]:
    """RFC 9915 §15 with the client's own generator: (initial delay, the first n RTs)."""
    rng = random.Random(seed)
    rng.getrandbits(24)  # the Solicit's transaction id
    delay = rng.random() * 1.0  # SOL_MAX_DELAY
    rts = [1.0 + 0.1 * (1.0 - rng.random()) * 1.0]  # (1.0, 1.1]
    while len(rts) < n:
        rt = rts[-1]
        rt = 2 * rt + (-0.1 + 0.2 * rng.random()) * rt
        if rt > cap:
            rt = cap + (-0.1 + 0.2 * rng.random()) * cap
        rts.append(rt)
    return delay, rts


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_solicit_backoff_doubles_to_sol_max_rt_exactly(seed):
    lab = lab_of(NO_SERVER, seed=seed)
    lab.advance(5 * 3600)
    times = solicit_times(lab)
    ivs = [b - a for a, b in itertools.pairwise(times)]
    delay, rts = replay_solicit_rts(seed, len(ivs))
    assert times[0] == round(delay, 6)
    assert all(abs(iv - rt) <= 2e-6 for iv, rt in zip(ivs, rts, strict=True))
    doublings = next(i for i, rt in enumerate(rts) if 2.1 * rt > 3600 and rts[i + 1] >= 3240)
    capped = rts[doublings + 1 :]
    assert all(3240 <= rt <= 3960 for rt in capped) and len(capped) >= 2
    # from ~1 s, ×(1.9…2.1) per step: the cap comes after 11 to 13 doublings
    assert 11 <= doublings <= 13
    assert sum(ivs[: doublings + 1]) < 2 * 3600 * 1.1
    # and the namespace handle's own §15 check agrees
    assert len(lab.assert_retransmissions("c1", "SOLICIT", at_least=doublings + 2)) == len(ivs)


def test_sol_max_rt_caps_a_client_told_noaddrsavail():
    text = NO_SERVER.replace("  c1: {kind: dhcp6-client, seed: {{ seed }}}",
                             "  c0: {kind: dhcp6-client, seed: 5}\n  c1: {kind: dhcp6-client, seed: {{ seed }}, autostart: false}")  # fmt: skip
    text = text.replace("members: [s1:eth0, c1:eth0]", "members: [s1:eth0, c0:eth0, c1:eth0]")
    topo = load_topology_text(text, "t.yaml", {"sol_max_rt": 120})
    topo.nodes["s1"].options["autostart"] = True
    lab = SimLab(topo, seed=1)
    lab.wait_for("c0", state="BOUND", within=10)  # c0 holds the pool's only address
    lab.start("c1")
    lab.advance(1500)
    adv = lab.events("c1", "recv", msg="ADVERTISE")
    assert adv and "NoAddrsAvail" in adv[0]["ia"][0]
    times = solicit_times(lab)
    ivs = [b - a for a, b in itertools.pairwise(times)]
    assert max(ivs) <= 132 + 1e-6 and sum(1 for iv in ivs if iv >= 108) >= 5
    lab.assert_retransmissions("c1", "SOLICIT", mrt=120)


def test_renew_goes_out_exactly_at_t1_and_rebind_exactly_at_t2():
    lab = lab_of(LAN)
    lease_ev = lab.wait_for("c1", event="lease", action="bound", within=5)
    assert lab.lease("c1").t1 == 40 and lab.lease("c1")["t2"] == 70
    renew = lab.wait_for("c1", event="send", msg="RENEW", within=60)
    assert renew["t"] == round(lease_ev["t"] + 40, 6)  # exactly T1
    assert lab.assert_renewed_at_t1("c1") == pytest.approx(40, abs=2e-6)
    renewed = lab.wait_for("c1", event="lease", action="renewed", within=1)
    lab.kill("s1")
    rebind = lab.wait_for("c1", event="send", msg="REBIND", within=100)
    assert rebind["t"] == round(renewed["t"] + 70, 6)  # exactly T2 of the last Reply
    assert lab.assert_rebound_at_t2("c1") == pytest.approx(70, abs=2e-6)
    # the Renews between T1 and T2 back off from REN_TIMEOUT (10 s) and stop at T2
    renews = [e["t"] for e in lab.events("c1", "send", msg="RENEW", since=renewed)]
    assert renews[0] == round(renewed["t"] + 40, 6)
    gaps = [b - a for a, b in itertools.pairwise(renews)]
    assert 9.0 <= gaps[0] <= 11.0 and 18.0 <= gaps[1] <= 22.0 * 1.0 + 2.2
    expired = lab.wait_for("c1", event="lease", action="expired", within=200)
    assert expired["t"] == round(renewed["t"] + 200, 6)  # exactly the valid lifetime


def test_server_reconfigure_retransmits_at_rec_timeout_doubling():
    """§18.3.11: REC_TIMEOUT 2 s, doubled, at most REC_MAX_RC (8) Reconfigures."""
    lab = lab_of(LAN)
    lab.wait_for("c1", state="BOUND", within=5)
    lab.kill("c1")  # nobody answers
    lab.reconfigure("s1", "c1")
    start = lab.now
    lab.advance(600)
    sends = [e["t"] for e in lab.events("s1", "send", msg="RECONFIGURE")]
    assert sends[0] == round(start, 6) and len(sends) == 8
    gaps = [round(b - a, 6) for a, b in itertools.pairwise(sends)]
    assert gaps == [2.0 * 2**i for i in range(7)]
    assert lab.events("s1", "drop", msg="RECONFIGURE")[0]["reason"].startswith("no answer after 8")


def test_confirm_goes_out_within_cnf_max_delay_of_the_link_coming_back():
    lab = lab_of(LAN)
    lab.wait_for("c1", state="BOUND", within=5)
    lab.link_down("lan1")
    lab.advance(5)
    up = lab.link_up("lan1")
    confirm = lab.wait_for("c1", event="send", msg="CONFIRM", within=2)
    assert up <= confirm["t"] <= up + 1.0  # CNF_MAX_DELAY
    assert lab.wait_for("c1", state="BOUND", since=up, within=2)["reason"] == "Reply Success"


def test_t1_still_counts_from_the_lease_after_a_confirm():
    """RFC 9915 §18.2.10.1/§14.2: a Confirm's Reply carries no lifetimes; T1 and T2 keep
    counting from the Reply that granted the leases. Repro: a link that flaps more often
    than T1 must not postpone the Renew (the engine lets the lease expire instead)."""
    lab = lab_of(LAN)
    bound = lab.wait_for("c1", event="lease", action="bound", within=5)
    lab.run_until(bound["t"] + 20)
    lab.link_down("lan1")
    lab.advance(1)
    lab.link_up("lan1")
    lab.wait_for("c1", state="BOUND", since=lab.now, within=3)
    renew = lab.wait_for("c1", event="send", msg="RENEW", within=60)
    assert renew["t"] == pytest.approx(bound["t"] + 40, abs=1e-3)
