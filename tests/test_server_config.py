"""Server configuration: good files load; bad ones are refused with one line naming
the file:line, the key and the problem."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest

from dhcp6.server_config import ConfigError, check_interfaces, config_from_text, load_config

GOOD = """\
preference: 10
rapid_commit: true
lifetimes: {preferred: 3000, valid: 4000}
subnets:
  - prefix: 2001:db8:1::/64
    interface: eth0
    pools: ["2001:db8:1::100-2001:db8:1::1ff"]
    pd_pools: [{prefix: "2001:db8:8000::/48", delegated_length: 56}]
    options: {dns_servers: ["2001:db8::53"], domain_search: [lab.example]}
"""


def test_the_documented_example_loads(tmp_path):
    p = tmp_path / "server.yaml"
    p.write_text(GOOD)
    c = load_config(p)
    s = c.subnets[0]
    assert c.preference == 10 and c.rapid_commit and c.lifetimes.timers() == (1500, 2400)
    assert s.interface == "eth0" and s.pools[0].size == 256 and s.pd_pools[0].size == 256
    assert s.options.dns_servers == (IPv6Address("2001:db8::53"),)


BAD = {
    "pool outside prefix": (GOOD.replace("2001:db8:1::100-2001:db8:1::1ff", "2001:db8:9::100-2001:db8:9::1ff"), 7, "subnets[0].pools[0]", "outside"),
    "inverted range": (GOOD.replace("2001:db8:1::100-2001:db8:1::1ff", "2001:db8:1::1ff-2001:db8:1::100"), 7, "pools[0]", "inverted"),
    "t1 > t2": (GOOD.replace("valid: 4000}", "valid: 4000, t1: 900, t2: 800}"), 3, "lifetimes.t1", "T1 900 > T2 800"),
    "preferred > valid": (GOOD.replace("preferred: 3000", "preferred: 5000"), 3, "lifetimes.preferred", "preferred 5000 > valid 4000"),
    "unknown key": (GOOD + "    colour: blue\n", 10, "subnets[0].colour", "unknown key 'colour'"),
    "unknown top key": ("prefernce: 3\n" + GOOD, 1, "prefernce", "unknown key"),
    "bad prefix": (GOOD.replace("2001:db8:1::/64", "2001:db8:1::/129"), 5, "subnets[0].prefix", "not an IPv6 prefix"),
    "no subnets": ("preference: 1\n", 1, "subnets", "no subnets"),
    "preference out of range": (GOOD.replace("preference: 10", "preference: 300"), 1, "preference", "out of range"),
    "yaml syntax": (GOOD + "  - [unclosed\n", 11, "", "YAML syntax error"),
    "bad domain": (GOOD.replace("lab.example", "bad..example"), 9, "domain_search", "invalid label"),
    "overlapping subnets": (GOOD + "  - prefix: 2001:db8:1:0:1::/80\n", 10, "subnets[1].prefix", "overlaps"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_config_is_one_clear_line(name, tmp_path):
    text, line, key, problem = BAD[name]
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(p)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(f"{p}:{line}: "), msg
    assert key in msg and problem in msg


def test_missing_interfaces_are_named():
    c = config_from_text(GOOD)
    check_interfaces(c, {"eth0", "lo"}, ["eth0"])
    with pytest.raises(ConfigError, match="interface 'eth0' does not exist"):
        check_interfaces(c, {"lo"}, [])
    with pytest.raises(ConfigError, match="--interface eth7: no such interface"):
        check_interfaces(c, {"eth0"}, ["eth7"])


def test_missing_file_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.yaml")


def test_any_shape_of_config_gives_a_config_error_or_a_config():
    """Wrong types anywhere are one-line ConfigErrors, never TypeError or AttributeError."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from dhcp6.server_config import config_from_dict

    scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 70000), st.floats(allow_nan=False),
                        st.sampled_from(["2001:db8::/64", "2001:db8::1", "eth0", "x", "2001:db8::1-2001:db8::9"]))  # fmt: skip
    values = st.recursive(scalars, lambda kids: st.one_of(
        st.lists(kids, max_size=3),
        st.dictionaries(st.sampled_from(["prefix", "pools", "pd_pools", "options", "dns_servers",
                                         "domain_search", "delegated_length", "interface",
                                         "lifetimes", "preferred", "valid", "t1", "t2"]), kids, max_size=4),
    ), max_leaves=8)  # fmt: skip
    top = st.dictionaries(st.sampled_from(["subnets", "lifetimes", "preference", "rapid_commit",
                                           "always_send", "rebind_unknown", "reconfigure"]), values, max_size=4)  # fmt: skip

    @settings(max_examples=400, deadline=None)
    @given(top)
    def check(data):
        try:
            config_from_dict(data, "fuzz.yaml")
        except ConfigError as e:
            assert "\n" not in str(e)

    check()
