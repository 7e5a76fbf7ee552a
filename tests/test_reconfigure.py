"""Reconfigure with RKAP (RFC 9915 §18.2.11, §18.3.11, §20.4): HMAC, drops, timing."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace

import pytest

from dhcp6.constants import MessageType as M
from dhcp6.constants import OptionCode
from dhcp6.engine import rkap
from dhcp6.engine.actions import CommitMeta, Send, SetTimer
from dhcp6.engine.client import ClientConfig
from dhcp6.engine.client_table import BOUND, INFORMATION_REQUEST, REBIND, RENEW
from dhcp6.wire import Auth, ClientId, DuidLL, Message, ReconfigureMessage, ServerId, decode

from .client_sim import SERVER_CONFIG, Sim

RC_CONFIG = "reconfigure: true\n" + SERVER_CONFIG
KEY = bytes(range(16))


def test_hmac_against_an_independent_computation():
    msg = Message(M.RECONFIGURE, 0, (ServerId(DuidLL(1, b"\x02" * 6)), ClientId(DuidLL(1, b"\x04" * 6)),
                                     ReconfigureMessage(M.RENEW)))  # fmt: skip
    signed = rkap.sign(msg, KEY, 7)
    auth = signed.option(OptionCode.AUTH)
    assert (auth.protocol, auth.algorithm, auth.rdm, auth.replay_detection) == (3, 1, 0, 7)
    # independently: the wire bytes with the 16 HMAC octets zeroed, HMAC-MD5 with the key
    wire = bytearray(signed.encode())
    digest = bytes(auth.auth_info[1:])
    at = wire.find(digest)
    zeroed = bytes(wire[:at]) + bytes(16) + bytes(wire[at + 16 :])
    assert hmac.new(KEY, zeroed, hashlib.md5).digest() == digest
    assert rkap.verify(decode(bytes(wire)), KEY) == (True, 7, "authenticated")
    assert not rkap.verify(signed, bytes(16))[0]
    key_opt = rkap.key_option(KEY, 3)
    assert key_opt.auth_info == b"\x01" + KEY
    assert rkap.key_from(Message(M.REPLY, 1, (key_opt,))) == (KEY, 3)


def bound(reconf_server=True, accept=True) -> Sim:
    sim = Sim(ClientConfig(reconfigure_accept=accept),
              server_config=RC_CONFIG if reconf_server else SERVER_CONFIG).start()  # fmt: skip
    sim.until_state(BOUND)
    return sim


def test_the_reply_carries_the_key_and_the_server_keeps_it():
    sim = bound()
    reply = [m for _, m in sim.received if m.name == "REPLY"][-1]
    assert reply.reconfigure_accept and rkap.key_from(reply) is not None
    assert sim.client.reconfigure_key == sim.servers[0].keys[sim.client.duid.encode()]
    # the client asked with Reconfigure Accept; a server without reconfigure sends no key
    sim2 = bound(reconf_server=False)
    assert sim2.client.reconfigure_key is None


@pytest.mark.parametrize("msg, state", [("renew", RENEW), ("rebind", REBIND),
                                        ("information-request", INFORMATION_REQUEST)])  # fmt: skip
def test_admin_reconfigure_makes_a_bound_client_answer(msg, state):
    sim = bound()
    t0 = sim.now
    res = sim.server_reconfigure(msg=msg)
    assert res["sent"] == [sim.client.duid.encode().hex()]
    t = sim.until_state(state)
    assert t - t0 < 0.01
    entered = [s for s in sim.states if s[2] == state][-1]
    assert entered[3] == f"Reconfigure ({msg})"
    sim.until_state(BOUND)
    srv_states = [
        a for a in sim.server_actions if type(a).__name__ == "Trace" and a.kind == "state"
    ]
    assert srv_states[0].fields["seed"] == "Reconfigure"
    # the server recorded the answer as Reconfigure Reply and stopped retransmitting
    assert not sim.servers[0].reconfiguring


def forged(sim: Sim, **change) -> Message:
    """A Reconfigure like the server's, with one thing wrong."""
    srv = sim.servers[0]
    base = Message(
        M.RECONFIGURE, 0, (srv.server_id, ClientId(sim.client.duid), ReconfigureMessage(M.RENEW))
    )
    key = change.pop("key", srv.keys[sim.client.duid.encode()])
    replay = change.pop("replay", srv.replay + 1)
    msg = rkap.sign(base, key, replay)
    return replace(msg, **change) if change else msg


@pytest.mark.parametrize("how, reason", [
    ("wrong key", "HMAC-MD5 does not match"),
    ("replayed", "replayed counter"),
    ("multicast", "multicast"),
    ("foreign server", "not from our server"),
    ("no auth", "no authentication option"),
    ("bad msg type", "Reconfigure Message option"),
])  # fmt: skip
def test_forged_reconfigures_change_nothing(how, reason):
    sim = bound()
    dst = sim.client  # noqa: F841
    if how == "wrong key":
        m = forged(sim, key=bytes(16))
    elif how == "replayed":
        m = forged(sim, replay=0)
    elif how == "foreign server":
        m = forged(sim)
        m = replace(m, options=(ServerId(DuidLL(1, b"\x09" * 6)), *m.options[1:]))
    elif how == "no auth":
        m = replace(
            forged(sim), options=tuple(o for o in forged(sim).options if not isinstance(o, Auth))
        )
    elif how == "bad msg type":
        m = forged(sim)
        m = rkap.sign(replace(m, options=tuple(ReconfigureMessage(M.REQUEST) if o.code == 19 else o
                                                for o in m.options)), sim.servers[0].keys[sim.client.duid.encode()],
                      sim.servers[0].replay + 1)  # fmt: skip
    else:
        m = forged(sim)
    dst_addr = __import__("ipaddress").IPv6Address("ff02::1" if how == "multicast" else "fe80::c1")
    sim.do(sim.client.packet_received(m.encode(), __import__("ipaddress").IPv6Address("fe80::5"),
                                      dst_addr, "eth0", sim.now))  # fmt: skip
    assert sim.state == BOUND and not sim.sends("RENEW")
    assert reason in sim.events("drop")[-1]["reason"]


def test_a_client_without_reconfigure_accept_ignores_it():
    sim = bound(accept=False)
    res = sim.server_reconfigure()
    assert res["sent"] == [] and "no key" in next(iter(res["skipped"].values()))


def test_server_retransmits_reconfigure_doubling_up_to_rec_max_rc():
    sim = bound()
    srv = sim.servers[0]
    duid = sim.client.duid.encode()
    acts, _res = srv.reconfigure(100.0, clients=[duid])
    times = []
    timer = next(a for a in acts if isinstance(a, SetTimer))
    counters = [
        next(a for a in acts if isinstance(a, Send))
        .message.option(OptionCode.AUTH)
        .replay_detection
    ]
    while True:
        times.append(timer.at)
        acts = srv.timer_fired(timer.name, timer.at)
        sends = [a for a in acts if isinstance(a, Send)]
        if not sends:
            break
        counters.append(sends[0].message.option(OptionCode.AUTH).replay_detection)
        timer = next(a for a in acts if isinstance(a, SetTimer))
    assert [round(t - 100, 6) for t in times] == [2, 6, 14, 30, 62, 126, 254, 510]  # REC_TIMEOUT ×2
    assert len(counters) == 8 and counters == sorted(set(counters))  # REC_MAX_RC, counter grows
    assert any("REC_MAX_RC" in (a.fields.get("reason") or "") for a in acts if hasattr(a, "fields"))
    assert any(
        isinstance(a, CommitMeta) and a.key == "replay"
        for a in srv.reconfigure(200.0, clients=[duid])[0]
    )


def test_reconfigure_init_for_all_clients():
    sim = bound()
    srv = sim.servers[0]
    acts, res = srv.reconfigure(sim.now, all_clients=True, msg="renew")
    assert res["sent"] == [sim.client.duid.encode().hex()]
    seeds = [a.fields["seed"] for a in acts if type(a).__name__ == "Trace" and a.kind == "state"]
    assert "Reconfigure Init" in seeds


def test_replay_counter_and_keys_survive_a_restart():
    from dhcp6.engine.server import ServerEngine
    from dhcp6.server_config import config_from_text

    sim = bound()
    srv = sim.servers[0]
    meta = {"replay": str(srv.replay)}
    duid = sim.client.duid.encode()
    meta[f"rkey:{duid.hex()}"] = srv.keys[duid].hex()
    again = ServerEngine(config_from_text(RC_CONFIG), srv.duid)
    again.restore_meta(meta)
    again.seen[duid] = srv.seen[duid]
    for lease in srv.table.all():
        again.restore([lease])
    acts, _res = again.reconfigure(sim.now, clients=[duid])
    sent = next(a for a in acts if isinstance(a, Send)).message
    assert sent.option(OptionCode.AUTH).replay_detection == srv.replay + 1
    assert rkap.verify(sent, srv.keys[duid])[0]
