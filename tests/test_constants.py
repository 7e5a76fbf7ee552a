"""Pin every protocol number to RFC 9915 (§7.1, §7.2, §7.3, §7.6, §21, §21.13)."""

from ipaddress import IPv6Address

import dhcp6.constants as c
from dhcp6.constants import RETRANSMISSION, MessageType, OptionCode, StatusCode


def test_addresses_and_ports():
    assert c.ALL_DHCP_RELAY_AGENTS_AND_SERVERS == IPv6Address("ff02::1:2")
    assert c.ALL_DHCP_SERVERS == IPv6Address("ff05::1:3")
    assert (c.CLIENT_PORT, c.SERVER_PORT) == (546, 547)
    assert c.INFINITY == 0xFFFFFFFF


def test_message_types():
    assert [m.value for m in MessageType] == list(range(1, 14))
    assert (
        MessageType(11).name == "INFORMATION_REQUEST"
        and c.message_name(11) == "INFORMATION-REQUEST"
    )
    assert c.message_name(12) == "RELAY-FORW" and c.message_name(99) == "TYPE-99"


def test_option_codes():
    assert {o.name: o.value for o in OptionCode} == {
        "CLIENTID": 1, "SERVERID": 2, "IA_NA": 3, "IA_TA": 4, "IAADDR": 5, "ORO": 6,
        "PREFERENCE": 7, "ELAPSED_TIME": 8, "RELAY_MSG": 9, "AUTH": 11, "UNICAST": 12,
        "STATUS_CODE": 13, "RAPID_COMMIT": 14, "USER_CLASS": 15, "VENDOR_CLASS": 16,
        "VENDOR_OPTS": 17, "INTERFACE_ID": 18, "RECONF_MSG": 19, "RECONF_ACCEPT": 20,
        "DNS_SERVERS": 23, "DOMAIN_LIST": 24, "IA_PD": 25, "IAPREFIX": 26,
        "INFORMATION_REFRESH_TIME": 32, "CLIENT_LINKLAYER_ADDR": 79, "SOL_MAX_RT": 82,
        "INF_MAX_RT": 83,
    }  # fmt: skip


def test_status_codes():
    assert [(s.value, c.status_name(s)) for s in StatusCode] == [
        (0, "Success"), (1, "UnspecFail"), (2, "NoAddrsAvail"), (3, "NoBinding"),
        (4, "NotOnLink"), (5, "UseMulticast"), (6, "NoPrefixAvail"),
    ]  # fmt: skip


def test_transmission_table():  # §7.6, Table 1
    assert (c.SOL_MAX_DELAY, c.SOL_TIMEOUT, c.SOL_MAX_RT) == (1, 1, 3600)
    assert (c.REQ_TIMEOUT, c.REQ_MAX_RT, c.REQ_MAX_RC) == (1, 30, 10)
    assert (c.CNF_MAX_DELAY, c.CNF_TIMEOUT, c.CNF_MAX_RT, c.CNF_MAX_RD) == (1, 1, 4, 10)
    assert (c.REN_TIMEOUT, c.REN_MAX_RT) == (10, 600)
    assert (c.REB_TIMEOUT, c.REB_MAX_RT) == (10, 600)
    assert (c.INF_MAX_DELAY, c.INF_TIMEOUT, c.INF_MAX_RT) == (1, 1, 3600)
    assert (c.REL_TIMEOUT, c.REL_MAX_RC) == (1, 4)
    assert (c.DEC_TIMEOUT, c.DEC_MAX_RC) == (1, 4)
    assert (c.REC_TIMEOUT, c.REC_MAX_RC) == (2, 8)
    assert c.HOP_COUNT_LIMIT == 8
    assert (c.IRT_DEFAULT, c.IRT_MINIMUM, c.MAX_WAIT_TIME) == (86400, 600, 60)


def test_retransmission_parameters_per_message():
    r = RETRANSMISSION
    assert r[MessageType.SOLICIT] == c.Retransmission(1, 1, 3600, 0, 0)
    assert r[MessageType.REQUEST] == c.Retransmission(0, 1, 30, 10, 0)
    assert r[MessageType.CONFIRM] == c.Retransmission(1, 1, 4, 0, 10)
    assert r[MessageType.RENEW] == c.Retransmission(0, 10, 600, 0, 0)
    assert r[MessageType.REBIND] == c.Retransmission(0, 10, 600, 0, 0)
    assert r[MessageType.INFORMATION_REQUEST] == c.Retransmission(1, 1, 3600, 0, 0)
    assert r[MessageType.RELEASE] == c.Retransmission(0, 1, 0, 4, 0)
    assert r[MessageType.DECLINE] == c.Retransmission(0, 1, 0, 4, 0)
    assert r[MessageType.RECONFIGURE] == c.Retransmission(0, 2, 0, 8, 0)
