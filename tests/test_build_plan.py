"""The builder's checks that need no kernel: names, lengths, model consistency.

They run before anything is created, so they run without root too.
"""

from __future__ import annotations

from ipaddress import IPv6Address, IPv6Interface, IPv6Network
from pathlib import Path

import pytest

from lab.build import BuildError, build, list_labs
from lab.build.builder import _plan
from lab.model import Endpoint, Interface, Link, Node, Route, Topology


def _two_hosts(kind: str = "p2p") -> Topology:
    a = Node("a", "host", {"eth0": Interface("eth0", "l1", [IPv6Interface("2001:db8::1/64")])})
    b = Node("b", "host", {"eth0": Interface("eth0", "l1", [IPv6Interface("2001:db8::2/64")])})
    link = Link("l1", kind, [Endpoint("a", "eth0"), Endpoint("b", "eth0")])
    return Topology("t", {"a": a, "b": b}, {"l1": link})


def _error(topology: Topology, lab: str = "ok") -> str:
    with pytest.raises(BuildError) as info:
        _plan(topology, lab)
    msg = str(info.value)
    assert "\n" not in msg
    return msg


@pytest.mark.parametrize(
    ("lab", "needle"),
    [
        ("a--b", "'--'"),
        ("a-", "'--' or end with '-'"),
        ("-a", "not a valid name"),
        ("a/b", "not a valid name"),
        ("", "not a valid name"),
        ("x" * 33, "too long (33 > 32"),
    ],
)
def test_bad_lab_names(lab: str, needle: str) -> None:
    assert needle in _error(_two_hosts(), lab)


def test_namespace_name_too_long() -> None:
    t = _two_hosts()
    long = "n" * 62
    t.nodes[long] = t.nodes.pop("a")
    t.nodes[long].name = long
    t.links["l1"].endpoints[0] = Endpoint(long, "eth0")
    msg = _error(t, "lab")
    assert "too long" in msg and long in msg


def test_interface_name_checks() -> None:
    t = _two_hosts()
    t.nodes["a"].interfaces = {"averyverylongifname": Interface("averyverylongifname", "l1")}
    assert "1–15 characters" in _error(t)
    t = _two_hosts()
    t.nodes["a"].interfaces = {"lo": Interface("lo", "l1")}
    assert "not 'lo'" in _error(t)


def test_model_consistency() -> None:
    t = _two_hosts()
    t.links["l1"].endpoints.append(Endpoint("a", "eth0"))
    assert "more than one link" in _error(t)

    t = _two_hosts()
    t.nodes["a"].interfaces["eth1"] = Interface("eth1", "nowhere")
    assert "does not define" in _error(t)

    t = _two_hosts()
    t.nodes["a"].interfaces["eth1"] = Interface("eth1", "l1")
    assert "not an endpoint" in _error(t)

    t = _two_hosts()
    t.links["l1"].kind = "bus"
    assert "neither 'p2p' nor 'lan'" in _error(t)

    t = _two_hosts()
    t.nodes["c"] = Node("c", "host", {"eth0": Interface("eth0", "l1")})
    t.links["l1"].endpoints.append(Endpoint("c", "eth0"))
    assert "2 endpoints, not 3" in _error(t)

    t = _two_hosts()
    t.nodes["a"].routes.append(Route(IPv6Network("::/0"), IPv6Address("2001:db8::2"), "eth9"))
    assert "not one of its interfaces" in _error(t)

    t = _two_hosts()
    t.nodes["a"].interfaces["eth0"].addresses.append("10.0.0.1/24")  # type: ignore[arg-type]
    assert "not an IPv6 address" in _error(t)

    assert "has no nodes" in _error(Topology("empty", {}, {}))


def test_plan_names_and_ports() -> None:
    t = _two_hosts("lan")
    plan = _plan(t, "lab1")
    assert plan.node_ns == {"a": "lab1-a", "b": "lab1-b"}
    assert plan.lan_ns == {"l1": "lab1--l1"}
    assert plan.ports == {("a", "eth0"): "a-eth0", ("b", "eth0"): "b-eth0"}
    # a port name that would not fit in 15 characters falls back to p<i>
    long = "node-with-long-name"
    t.nodes[long] = Node(long, "host", {"eth0": Interface("eth0", "l1")})
    t.links["l1"].endpoints.append(Endpoint(long, "eth0"))
    assert _plan(t, "lab1").ports[(long, "eth0")] == "p2"


def test_bad_name_fails_before_anything_is_made(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="not a valid name"):
        build(_two_hosts(), "bad name", run_root=tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert list_labs(tmp_path) == []
