"""Topology loading: generators and --set, inheritance, addresses, routes, derived
options, scenario/expect with lines, the example topologies, robustness."""

from __future__ import annotations

import textwrap
from ipaddress import IPv6Address, IPv6Interface, IPv6Network
from pathlib import Path

import pytest

from lab.load import (
    TopologyError,
    load_topology,
    load_topology_text,
    parse_overrides,
    render_topology,
)
from lab.model import Route, Topology

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "topologies").glob("*.yaml"))


def load(text: str, overrides: dict | None = None, **kw) -> Topology:
    return load_topology_text(textwrap.dedent(text), "t.yaml", overrides, **kw)


def errors(text: str, overrides: dict | None = None, **kw) -> list[str]:
    with pytest.raises(TopologyError) as info:
        load(text, overrides, **kw)
    return info.value.errors


def addrs(topo: Topology, node: str, iface: str = "eth0") -> list[str]:
    return [str(a) for a in topo.nodes[node].interfaces[iface].addresses]


# --------------------------------------------------------------------------- examples


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_examples_validate(path: Path):
    topo = load_topology(path)
    assert topo.nodes and topo.links
    assert topo.source == str(path)


def test_the_required_examples_exist():
    assert {p.stem for p in EXAMPLES} >= {"basic", "demo", "relay", "clients50"}


def test_basic_example():
    topo = load_topology(ROOT / "topologies" / "basic.yaml")
    kinds = sorted(n.kind for n in topo.nodes.values())
    assert kinds == ["dhcp6-client"] * 3 + ["dhcp6-server"]
    assert list(topo.links) == ["lan1"] and topo.links["lan1"].kind == "lan"


def test_demo_example_relay_forwards_to_both_servers():
    topo = load_topology(ROOT / "topologies" / "demo.yaml")
    relay = topo.nodes["relay1"]
    s1, kea = topo.nodes["s1"], topo.nodes["kea1"]
    assert relay.options["server"] == [
        str(s1.interfaces["eth0"].addresses[0].ip),
        str(kea.interfaces["eth0"].addresses[0].ip),
    ]
    assert relay.interfaces["eth0"].link == "lan2"
    assert topo.nodes["r1"].kind == "router"
    assert {n.kind for n in topo.nodes.values()} >= {"dhcp6-client", "dhclient", "kea"}
    # IA_NA and IA_PD on both servers
    assert s1.options["config"]["subnets"][0]["pd_pools"]
    assert kea.options["pd_pool"] == ["2001:db8:9000::/48", 56]
    assert all(topo.nodes[f"c{i}"].options["ia_pd"] == "1/56" for i in (1, 2, 3))
    assert topo.nodes["dh1"].options["pd"] is True
    # Kea listens for the relay's unicast on its own address
    assert kea.options["unicast"] == "2001:db8:1::3"


def test_clients50_generator_and_set():
    path = ROOT / "topologies" / "clients50.yaml"
    topo = load_topology(path)
    assert len(topo.nodes) == 51
    assert topo.variables == {"clients": 50, "scale": 60}
    assert topo.time_scale == 60
    assert [ep.node for ep in topo.links["lan1"].endpoints][:3] == ["s1", "c1", "c2"]
    small = load_topology(path, {"clients": "5", "scale": "1"})
    assert sorted(small.nodes) == sorted(["s1", "c1", "c2", "c3", "c4", "c5"])
    assert small.variables["clients"] == 5 and small.time_scale == 1.0
    assert small.nodes["c5"].options["seed"] == 5


# --------------------------------------------------------------------------- jinja


def test_generated_nodes_keep_the_loop_body_line():
    topo = load(
        """\
        vars:
          n: 3
        nodes:
          s1: {kind: dhcp6-server}
        {% for i in range(n) %}
          c{{ i }}: {kind: dhcp6-client}
        {% endfor %}
        links:
          - prefix: 2001:db8:1::/64
            members: [s1{% for i in range(n) %}, c{{ i }}{% endfor %}]
        """
    )
    assert [topo.nodes[f"c{i}"].line for i in range(3)] == [6, 6, 6]
    assert topo.nodes["s1"].line == 4
    assert topo.links["lan1"].line == 9


def test_error_in_generated_node_points_into_the_loop():
    errs = errors(
        """\
        nodes:
          s1: {kind: dhcp6-server}
        {% for i in range(2) %}
          c{{ i }}: {kind: dhcp6-client, ia_na: {{ "x" if i == 1 else 1 }}}
        {% endfor %}
        links:
          - prefix: 2001:db8:1::/64
            members: [s1, c0, c1]
        """
    )
    assert errs == ["t.yaml:4: nodes.c1.ia_na: expected a whole number, got 'x'"]


def test_set_values_are_read_as_yaml_scalars():
    text = """\
        vars: {n: 1, rc: false}
        nodes:
          s1: {kind: dhcp6-server}
          c1: {kind: dhcp6-client, rapid_commit: {{ rc | lower }}}
        links:
          - prefix: 2001:db8:1::/64
            members: [s1, c1]
        """
    assert load(text).nodes["c1"].options["rapid_commit"] is False
    assert load(text, {"rc": "true"}).nodes["c1"].options["rapid_commit"] is True
    assert load(text, {"n": "7"}).variables == {"n": 7, "rc": False}


def test_set_may_name_a_variable_the_template_reads_without_vars():
    text = """\
        nodes:
          s1: {kind: dhcp6-server}
        {% for i in range(extra | default(0)) %}
          c{{ i }}: {kind: dhcp6-client}
        {% endfor %}
          c9: {kind: dhcp6-client}
        links:
          - prefix: 2001:db8:1::/64
            members: [s1, c9{% for i in range(extra | default(0)) %}, c{{ i }}{% endfor %}]
        """
    assert len(load(text).nodes) == 2
    assert len(load(text, {"extra": "2"}).nodes) == 4


def test_inline_block_tags_keep_their_newline_and_multiline_values_map_back():
    topo = load(
        """\
        {% set servers = ["s1", "s2"] %}
        nodes:
        {% for s in servers %}
          {{ s }}: {kind: dhcp6-server}
        {% endfor %}
          c1: {kind: dhcp6-client, rapid_commit: {% if true %}true{% else %}false{% endif %}}
          c2:
            {{ "kind: dhcp6-client\\n    ia_pd: 1" }}
        links:
          - prefix: 2001:db8:1::/64
            members: [s1, s2, c1, c2]
        """
    )
    assert topo.nodes["c1"].options["rapid_commit"] is True
    assert topo.nodes["c2"].options["ia_pd"] == 1
    assert topo.nodes["s2"].line == 4


def test_guarded_undefined_variables_are_fine():
    topo = load(
        """\
        nodes:
          s1: {kind: dhcp6-server}
          c1: {kind: dhcp6-client{% if fast is defined %}, rapid_commit: true{% endif %}}
        links:
          - prefix: 2001:db8:1::/64
            members: [s1, c1]
        """
    )
    assert topo.nodes["c1"].options["rapid_commit"] is False


def test_template_runtime_errors_are_one_line():
    errs = errors(
        """\
        vars: {n: 2}
        nodes:
          s1: {kind: dhcp6-server}
        {% for i in range(n) %}
          c{{ i }}: {kind: dhcp6-client, seed: {{ 10 // (i - 1) }}}
        {% endfor %}
        """
    )
    assert errs == [
        "t.yaml:5: template error: ZeroDivisionError: integer division or modulo by zero"
    ]


def test_vars_cannot_use_jinja():
    errs = errors("vars:\n  n: {{ 3 }}\nnodes: {}\n")
    assert errs[0].startswith("t.yaml:1: vars: vars: cannot use jinja")


def test_render_topology_gives_data_with_lines():
    doc, variables = render_topology(
        "vars: {n: 2}\nlist:\n{% for i in range(n) %}\n  - {{ i }}\n{% endfor %}\n", "x.yaml"
    )
    assert doc.data == {"vars": {"n": 2}, "list": [0, 1]}
    assert doc.line(("list", 1)) == 4
    assert variables == {"n": 2}


def test_parse_overrides():
    assert parse_overrides(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    with pytest.raises(TopologyError) as info:
        parse_overrides(["novalue", "9x=1"])
    assert info.value.errors == [
        "--set novalue: expected NAME=VALUE, e.g. --set clients=50",
        "--set 9x=1: expected NAME=VALUE, e.g. --set clients=50",
    ]


def test_unreadable_file_is_a_topology_error(tmp_path: Path):
    with pytest.raises(TopologyError) as info:
        load_topology(tmp_path / "nope.yaml")
    assert info.value.errors == [
        f"{tmp_path / 'nope.yaml'}: cannot read: No such file or directory"
    ]
    bad = tmp_path / "bin.yaml"
    bad.write_bytes(b"\xff\xfe nodes")
    with pytest.raises(TopologyError, match="not UTF-8"):
        load_topology(bad)


# --------------------------------------------------------------------------- inheritance


INHERIT = """\
defaults:
  all: {rapid_commit: true, autostart: false, sysctl: {net.ipv6.conf.all.forwarding: 0}}
  dhcp6-client: {ia_pd: 1, autostart: true}
  router: {ra: {managed: true, interval: 30}}
nodes:
  s1: {kind: dhcp6-server}
  r1: {kind: router, ra: {other: true}}
  c1: {kind: dhcp6-client}
  c2: {kind: dhcp6-client, rapid_commit: false, ia_pd: 2}
  d1: {kind: dhclient}
links:
  - prefix: 2001:db8:1::/64
    members: [s1, r1, c1, c2, d1]
"""


def test_inheritance_defaults_all_then_kind_then_node():
    topo = load(INHERIT)
    c1, c2, d1 = (topo.nodes[n].options for n in ("c1", "c2", "d1"))
    assert (c1["rapid_commit"], c1["ia_pd"], c1["autostart"]) == (True, 1, True)
    assert (c2["rapid_commit"], c2["ia_pd"]) == (False, 2)
    assert (d1["rapid_commit"], d1["autostart"]) == (True, False)  # all: applies to peers too
    assert topo.nodes["s1"].options["autostart"] is False
    # `all` options go only to kinds that take them: a router has no rapid_commit
    r1 = topo.nodes["r1"].options
    assert "rapid_commit" not in r1 and "autostart" not in r1
    assert r1["sysctl"] == {"net.ipv6.conf.all.forwarding": 0}
    # mappings merge key by key, defaults of the mapping fill the rest
    assert r1["ra"] == {
        "managed": True,
        "other": True,
        "autonomous": False,
        "interfaces": None,
        "interval": 30,
        "lifetime": 1800,
    }


def test_every_option_is_filled_in():
    from lab.schema import options_for

    topo = load(INHERIT)
    for node in topo.nodes.values():
        assert set(options_for(node.kind)) <= set(node.options), node.name
    assert topo.nodes["c1"].options["interface"] == "eth0"


def test_server_config_deep_merges_with_its_lines():
    errs = errors(
        """\
        defaults:
          dhcp6-server:
            config:
              lifetimes: {preferred: 600, valid: 300}
        nodes:
          s1:
            kind: dhcp6-server
            config:
              subnets: [{prefix: 2001:db8:1::/64, interface: eth0, pools: [2001:db8:1::/120]}]
          c1: {kind: dhcp6-client}
        links:
          - prefix: 2001:db8:1::/64
            members: [s1, c1]
        """
    )
    assert errs == [
        "t.yaml:4: nodes.s1.config.lifetimes.preferred: preferred 600 > valid 300 — RFC 9915 §21.6"
    ]


def test_server_config_from_a_file(tmp_path: Path):
    (tmp_path / "s1.yaml").write_text(
        'subnets:\n  - {prefix: 2001:db8:1::/64, interface: eth0, pools: ["2001:db8:1::100/120"]}\n'
    )
    topo_file = tmp_path / "t.yaml"
    topo_file.write_text(
        "nodes:\n  s1: {kind: dhcp6-server, config: s1.yaml}\n  c1: {kind: dhcp6-client}\n"
        "links:\n  - {prefix: 2001:db8:1::/64, members: [s1, c1]}\n"
    )
    s1 = load_topology(topo_file).nodes["s1"]
    assert s1.options["config"]["subnets"][0]["prefix"] == "2001:db8:1::/64"
    assert s1.options["config_file"] == str((tmp_path / "s1.yaml").resolve())


def test_peer_template_path_is_resolved(tmp_path: Path):
    (tmp_path / "kea.json.j2").write_text("{}")
    topo = load(
        """\
        nodes:
          k1: {kind: kea, template: kea.json.j2}
          c1: {kind: dhclient}
        links:
          - prefix: 2001:db8:1::/64
            members: [k1, c1]
        """,
        base_dir=tmp_path,
    )
    assert topo.nodes["k1"].template == str((tmp_path / "kea.json.j2").resolve())
    assert topo.nodes["k1"].options["subnet"] == "2001:db8:1::/64"
    assert topo.nodes["k1"].options["pool"] == "2001:db8:1::100-2001:db8:1::1ff"


# --------------------------------------------------------------------------- addresses


def test_allocation_in_order_of_appearance_skipping_given_and_clients():
    topo = load(
        """\
        nodes:
          r1: {kind: router}
          s1: {kind: dhcp6-server, addresses: {eth0: "2001:db8:1::2"}}
          c1: {kind: dhcp6-client}
          h1: {kind: host}
          h2: {kind: host, addresses: {eth0: ["2001:db8:1::99/128", "2001:db8:1::300"]}}
          relay1: {kind: dhcp6-relay, listen: eth0, server: s1}
          k1: {kind: kea, addresses: {eth0: "2001:db8:1::3"}, subnet: "2001:db8:1::/64"}
        links:
          - prefix: 2001:db8:1::/64
            members: [c1, r1, s1, h1, h2, relay1, k1]
        """
    )
    assert addrs(topo, "r1") == ["2001:db8:1::1/64"]
    assert addrs(topo, "s1") == ["2001:db8:1::2/64"]
    assert addrs(topo, "h1") == ["2001:db8:1::4/64"]  # ::2 and ::3 are taken
    assert addrs(topo, "h2") == ["2001:db8:1::99/128", "2001:db8:1::300/64"]
    assert addrs(topo, "relay1") == ["2001:db8:1::5/64"]
    assert addrs(topo, "c1") == []


def test_no_prefix_no_addresses_and_p2p_127():
    topo = load(
        """\
        nodes:
          s1: {kind: dhcp6-server, config: {subnets: [{prefix: "2001:db8:1::/64", interface: eth0}]}}
          c1: {kind: dhcp6-client}
          r1: {kind: router}
          r2: {kind: router}
        links:
          - members: [s1, c1]
          - endpoints: [r1:eth0, r2:eth0]
            prefix: 2001:db8:ff::/127
        """
    )
    assert addrs(topo, "s1") == []
    assert addrs(topo, "r1") == ["2001:db8:ff::/127"]
    assert addrs(topo, "r2") == ["2001:db8:ff::1/127"]
    assert topo.links["p2p1"].kind == "p2p" and topo.links["lan1"].prefix is None


def test_automatic_interface_names_skip_explicit_ones():
    topo = load(
        """\
        nodes:
          r1: {kind: router}
          h1: {kind: host}
          h2: {kind: host}
          h3: {kind: host}
        links:
          - members: [r1, h1]
          - members: [r1:eth0, h2]
          - endpoints: [r1, h3:wan]
        """
    )
    assert {i: x.link for i, x in topo.nodes["r1"].interfaces.items()} == {
        "eth1": "lan1",
        "eth0": "lan2",
        "eth2": "p2p1",
    }
    assert list(topo.nodes["h3"].interfaces) == ["wan"]


# --------------------------------------------------------------------------- routes


TWO_LANS = """\
nodes:
  s1: {kind: dhcp6-server}
  r1: {kind: router}
  relay1: {kind: dhcp6-relay}
  c1: {kind: dhcp6-client}
  h1: {kind: host}
links:
  - name: lan1
    prefix: 2001:db8:1::/64
    members: [r1, s1, h1]
  - name: lan2
    prefix: 2001:db8:2::/64
    members: [r1, relay1, c1]
"""


def test_routes_two_lans_and_a_router():
    topo = load(TWO_LANS)
    r1 = topo.nodes["r1"]
    assert addrs(topo, "r1", "eth0") == ["2001:db8:1::1/64"]
    assert addrs(topo, "r1", "eth1") == ["2001:db8:2::1/64"]
    route = lambda dst, via, iface: Route(IPv6Network(dst), IPv6Address(via), iface)  # noqa: E731
    assert topo.nodes["s1"].routes == [route("2001:db8:2::/64", "2001:db8:1::1", "eth0")]
    assert topo.nodes["h1"].routes == [route("2001:db8:2::/64", "2001:db8:1::1", "eth0")]
    assert topo.nodes["relay1"].routes == [route("2001:db8:1::/64", "2001:db8:2::1", "eth0")]
    assert topo.nodes["c1"].routes == [route("2001:db8:1::/64", "2001:db8:2::1", "eth0")]
    assert r1.routes == []  # both prefixes are on-link
    # derived: the relay listens where the client is and forwards to the server
    assert topo.nodes["relay1"].options["listen"] == ["eth0"]
    assert topo.nodes["relay1"].options["server"] == ["2001:db8:1::2"]
    # derived: the server serves lan1 locally and lan2 through the relay
    assert topo.nodes["s1"].options["config"] == {
        "subnets": [
            {
                "prefix": "2001:db8:1::/64",
                "interface": "eth0",
                "pools": ["2001:db8:1::1:0-2001:db8:1::1:ffff"],
            },
            {"prefix": "2001:db8:2::/64", "pools": ["2001:db8:2::1:0-2001:db8:2::1:ffff"]},
        ]
    }


def test_routes_across_two_routers_and_not_through_hosts():
    topo = load(
        """\
        nodes:
          a: {kind: host}
          r1: {kind: router}
          r2: {kind: router}
          b: {kind: host}
          h: {kind: host}
          r3: {kind: router, forwarding: false}
        links:
          - {name: left, prefix: "2001:db8:1::/64", members: [a, r1, h, r3]}
          - {name: core, prefix: "2001:db8:ff::/64", endpoints: [r1, r2]}
          - {name: right, prefix: "2001:db8:2::/64", members: [r2, b]}
          - {name: side, prefix: "2001:db8:3::/64", members: [h, r3]}
        """
    )

    def table(n):
        return [(str(r.destination), str(r.via), r.iface) for r in topo.nodes[n].routes]

    assert table("a") == [
        ("2001:db8:2::/64", "2001:db8:1::2", "eth0"),
        ("2001:db8:ff::/64", "2001:db8:1::2", "eth0"),
    ]
    assert table("r1") == [("2001:db8:2::/64", "2001:db8:ff::2", "eth1")]
    assert table("b") == [
        ("2001:db8:1::/64", "2001:db8:2::1", "eth0"),
        ("2001:db8:ff::/64", "2001:db8:2::1", "eth0"),
    ]
    # side is behind a host and a router with forwarding off: nobody routes there
    assert all("2001:db8:3::/64" not in str(r.destination) for r in topo.nodes["a"].routes)


def test_router_without_address_on_transit_link_is_an_error():
    errs = errors(
        """\
        nodes:
          a: {kind: host}
          r1: {kind: router}
          r2: {kind: router}
          b: {kind: host}
        links:
          - {name: left, prefix: "2001:db8:1::/64", members: [a, r1]}
          - {name: core, endpoints: [r1, r2]}
          - {name: right, prefix: "2001:db8:2::/64", members: [r2, b]}
        """
    )
    assert errs == [
        "t.yaml:8: links[1]: router r1 has no address on link core, so r2 cannot route through it "
        "— give link core a prefix: (or r1 an address on it)",
        "t.yaml:8: links[1]: router r2 has no address on link core, so r1 cannot route through it "
        "— give link core a prefix: (or r2 an address on it)",
    ]


# --------------------------------------------------------------------------- checks


def test_relay_makes_a_routed_client_reachable():
    load(TWO_LANS)  # no error
    errs = errors(
        TWO_LANS.replace("  relay1: {kind: dhcp6-relay}\n", "").replace("r1, relay1, c1", "r1, c1")
    )
    assert errs == [
        "t.yaml:10: links[1]: client c1 on link lan2 cannot reach a DHCPv6 server — multicast "
        "does not cross routers: put a dhcp6-relay (or a server) on lan2"
    ]


def test_time_scale_with_our_kinds_only_is_fine():
    topo = load(TWO_LANS + "clock: {time_scale: 30}\n")
    assert topo.time_scale == 30.0


def test_kea_relayed_subnet_is_derived_from_its_relay():
    topo = load(
        TWO_LANS.replace("s1: {kind: dhcp6-server}", "s1: {kind: kea, relayed: true}").replace(
            "c1: {kind: dhcp6-client}", "c1: {kind: dhclient}"
        )
    )
    kea = topo.nodes["s1"].options
    assert (kea["subnet"], kea["unicast"]) == ("2001:db8:2::/64", "2001:db8:1::2")


def test_dnsmasq_defaults_from_its_link():
    topo = load(
        """\
        nodes:
          d1: {kind: dnsmasq}
          c1: {kind: dhcpcd}
        links:
          - prefix: 2001:db8:7::/64
            members: [d1, c1]
        """
    )
    o = topo.nodes["d1"].options
    assert (o["range"], o["prefixlen"], o["lease_time"]) == (
        "2001:db8:7::100,2001:db8:7::1ff",
        64,
        "2m",
    )


# --------------------------------------------------------------------------- scenario, expect


def test_scenario_and_expect_keep_lines():
    topo = load_topology(ROOT / "topologies" / "relay.yaml")
    assert topo.scenario[0] == {"at": 5.0, "action": "restart", "args": "s1", "line": 31}
    assert [s["action"] for s in topo.scenario] == ["restart", "link_down", "link_up", "wait"]
    assert topo.scenario[3]["args"] == 5.0
    c1 = topo.expect["c1"]
    assert c1[0] == {"check": "state", "value": "BOUND", "line": 37}
    assert [c["check"] for c in c1] == ["state", "lease_in", "renewed"]


def test_scenario_durations_and_netem():
    topo = load(
        TWO_LANS
        + """\
scenario:
  - {at: 250ms, netem: {link: lan2, loss: 10, delay: 100ms}}
  - {at: 1.5s, link_down: "c1:eth0"}
  - {at: 2m, kill: [c1, s1]}
  - {at: 3, reconfigure: {server: s1, clients: [c1]}}
expect:
  c1: {state: bound, seen: [solicit, relay_forw], renewed: 2, reachable: [s1, "2001:db8:1::1"]}
"""
    )
    assert [s["at"] for s in topo.scenario] == [0.25, 1.5, 120.0, 3.0]
    assert topo.scenario[0]["args"] == {
        "link": "lan2",
        "loss": 10.0,
        "duplicate": 0.0,
        "delay": 0.1,
    }
    values = {c["check"]: c["value"] for c in topo.expect["c1"]}
    assert values["state"] == "BOUND"
    assert values["seen"] == ["SOLICIT", "RELAY-FORW"]


# --------------------------------------------------------------------------- robustness


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_deleting_any_line_never_raises_anything_but_topology_error(path: Path):
    lines = path.read_text().split("\n")
    for i in range(len(lines)):
        text = "\n".join(lines[:i] + lines[i + 1 :])
        try:
            load_topology_text(text, path.name, base_dir=path.parent)
        except TopologyError as e:
            assert e.errors and all("\n" not in x for x in e.errors)


def test_model_graph_of_a_loaded_topology():
    g = load(TWO_LANS).graph()
    assert set(g.neighbors("r1")) == {"lan:lan1", "lan:lan2"}
    assert g.nodes["c1"]["kind"] == "dhcp6-client"


def test_interfaces_hold_ipv6_interfaces():
    topo = load(TWO_LANS)
    assert topo.nodes["s1"].interfaces["eth0"].addresses == [IPv6Interface("2001:db8:1::2/64")]


def test_client_with_a_downstream_lan_runs_on_the_other_interface():
    topo = load(
        """\
        nodes:
          s1: {kind: dhcp6-server}
          cpe: {kind: dhcp6-client, ia_pd: 1/56, downstream: eth1}
          h1: {kind: host}
        links:
          - prefix: 2001:db8:1::/64
            members: [s1, cpe:eth0]
          - members: [cpe:eth1, h1]
        """
    )
    assert topo.nodes["cpe"].options["interface"] == "eth0"


def test_relay_agent_on_the_router():
    topo = load(
        """\
        nodes:
          s1: {kind: dhcp6-server}
          gw: {kind: dhcp6-relay}
          c1: {kind: dhcp6-client}
        links:
          - {name: core, prefix: "2001:db8:1::/64", members: [gw, s1]}
          - {name: access, prefix: "2001:db8:2::/64", members: [gw, c1]}
        """
    )
    gw = topo.nodes["gw"].options
    assert (gw["listen"], gw["server"], gw["forwarding"]) == (["eth1"], ["2001:db8:1::2"], True)
    assert [(str(r.destination), str(r.via)) for r in topo.nodes["c1"].routes] == [
        ("2001:db8:1::/64", "2001:db8:2::1")
    ]
    assert [(str(r.destination), str(r.via)) for r in topo.nodes["s1"].routes] == [
        ("2001:db8:2::/64", "2001:db8:1::1")
    ]
    assert [s["prefix"] for s in topo.nodes["s1"].options["config"]["subnets"]] == [
        "2001:db8:1::/64",
        "2001:db8:2::/64",
    ]


def test_a_set_value_of_the_wrong_type_is_named_in_the_hint():
    errs = errors(
        "vars: {n: 2}\nnodes:\n{% for i in range(n + 1) %}\n  c{{ i }}: {kind: host}\n{% endfor %}\n",
        {"n": "abc"},
    )
    assert errs == [
        't.yaml:3: template error: TypeError: can only concatenate str (not "int") to str '
        "— check the --set values (read as YAML): n='abc'"
    ]
