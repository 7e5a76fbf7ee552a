"""Protocol numbers of DHCPv6 as RFC 9915 (STD 102) defines them, with section references.

RFC 9915 obsoletes RFC 8415: IA_TA, the Server Unicast option and the UseMulticast status
are gone from the protocol; they stay here only so old traffic still decodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from ipaddress import IPv6Address

# §7.1 Multicast addresses
ALL_DHCP_RELAY_AGENTS_AND_SERVERS = IPv6Address("ff02::1:2")
ALL_DHCP_SERVERS = IPv6Address("ff05::1:3")

# §7.2 UDP ports
CLIENT_PORT = 546
SERVER_PORT = 547  # servers and relay agents listen here

# §7.7 Representation of time values: 0xffffffff is "infinity"
INFINITY = 0xFFFFFFFF


class MessageType(IntEnum):
    """§7.3 DHCP message types."""

    SOLICIT = 1
    ADVERTISE = 2
    REQUEST = 3
    CONFIRM = 4
    RENEW = 5
    REBIND = 6
    REPLY = 7
    RELEASE = 8
    DECLINE = 9
    RECONFIGURE = 10
    INFORMATION_REQUEST = 11
    RELAY_FORW = 12
    RELAY_REPL = 13


#: Messages a client sends (§16: a server discards server-to-client types it receives).
CLIENT_TO_SERVER = frozenset(
    {
        MessageType.SOLICIT,
        MessageType.REQUEST,
        MessageType.CONFIRM,
        MessageType.RENEW,
        MessageType.REBIND,
        MessageType.RELEASE,
        MessageType.DECLINE,
        MessageType.INFORMATION_REQUEST,
    }
)
SERVER_TO_CLIENT = frozenset({MessageType.ADVERTISE, MessageType.REPLY, MessageType.RECONFIGURE})
RELAY_TYPES = frozenset({MessageType.RELAY_FORW, MessageType.RELAY_REPL})


class OptionCode(IntEnum):
    """§21 options (codes from the IANA registry, §24)."""

    CLIENTID = 1  # §21.2
    SERVERID = 2  # §21.3
    IA_NA = 3  # §21.4
    IA_TA = 4  # §21.5, obsolete: "SHOULD NOT send", decoded only
    IAADDR = 5  # §21.6
    ORO = 6  # §21.7
    PREFERENCE = 7  # §21.8
    ELAPSED_TIME = 8  # §21.9
    RELAY_MSG = 9  # §21.10
    AUTH = 11  # §21.11
    UNICAST = 12  # §21.12, obsolete: "The server MUST NOT send this option"
    STATUS_CODE = 13  # §21.13
    RAPID_COMMIT = 14  # §21.14
    USER_CLASS = 15  # §21.15
    VENDOR_CLASS = 16  # §21.16
    VENDOR_OPTS = 17  # §21.17
    INTERFACE_ID = 18  # §21.18
    RECONF_MSG = 19  # §21.19
    RECONF_ACCEPT = 20  # §21.20
    DNS_SERVERS = 23  # RFC 3646
    DOMAIN_LIST = 24  # RFC 3646, names in RFC 1035 §3.1 form
    IA_PD = 25  # §21.21
    IAPREFIX = 26  # §21.22
    INFORMATION_REFRESH_TIME = 32  # §21.23
    CLIENT_LINKLAYER_ADDR = 79  # RFC 6939
    SOL_MAX_RT = 82  # §21.24
    INF_MAX_RT = 83  # §21.25


class StatusCode(IntEnum):
    """§21.13 status codes."""

    SUCCESS = 0
    UNSPEC_FAIL = 1
    NO_ADDRS_AVAIL = 2
    NO_BINDING = 3
    NOT_ON_LINK = 4
    USE_MULTICAST = 5  # "Obsoleted; no longer used" (§21.13); never sent by our server
    NO_PREFIX_AVAIL = 6


class DuidType(IntEnum):
    """§11 DUID types."""

    LLT = 1  # §11.2 link-layer address plus time
    EN = 2  # §11.3 vendor-assigned, based on enterprise number
    LL = 3  # §11.4 link-layer address
    UUID = 4  # §11.5 (RFC 6355)


# §11.1: a DUID is at most 130 octets: 2 octets of type and up to 128 of identifier.
DUID_MAX_IDENTIFIER = 128

# §20 Authentication: the only protocol RFC 9915 defines for DHCPv6 itself.
AUTH_PROTOCOL_RECONFIGURE_KEY = 3  # §20.4 Reconfigure Key Authentication Protocol
AUTH_ALGORITHM_HMAC_MD5 = 1
AUTH_RDM_MONOTONIC = 0
RKAP_TYPE_KEY = 1  # Reply carries the key
RKAP_TYPE_HMAC = 2  # Reconfigure carries an HMAC-MD5 over the message

# §7.6 Transmission and retransmission parameters (seconds).
SOL_MAX_DELAY = 1
SOL_TIMEOUT = 1
SOL_MAX_RT = 3600
REQ_TIMEOUT = 1
REQ_MAX_RT = 30
REQ_MAX_RC = 10
CNF_MAX_DELAY = 1
CNF_TIMEOUT = 1
CNF_MAX_RT = 4
CNF_MAX_RD = 10
REN_TIMEOUT = 10
REN_MAX_RT = 600
REB_TIMEOUT = 10
REB_MAX_RT = 600
INF_MAX_DELAY = 1
INF_TIMEOUT = 1
INF_MAX_RT = 3600
REL_TIMEOUT = 1
REL_MAX_RC = 4
DEC_TIMEOUT = 1
DEC_MAX_RC = 4
REC_TIMEOUT = 2
REC_MAX_RC = 8
HOP_COUNT_LIMIT = 8
IRT_DEFAULT = 86400
IRT_MINIMUM = 600
MAX_WAIT_TIME = 60

# §21.24 / §21.25: a client ignores SOL_MAX_RT / INF_MAX_RT values outside this range.
MAX_RT_OPTION_MIN = 60
MAX_RT_OPTION_MAX = 86400

# Relay nesting the codec accepts before refusing (bounds work on hostile input).
MAX_RELAY_DEPTH = 32


@dataclass(frozen=True, slots=True)
class Retransmission:
    """§15 parameters of one client-initiated exchange.

    ``delay`` is the maximum initial random delay, ``irt`` the initial retransmission time,
    ``mrt`` the cap (0: none), ``mrc`` the maximum count (0: none), ``mrd`` the maximum
    duration (0: none; for Renew/Rebind the driver bounds it by T2 / valid lifetimes).
    """

    delay: float
    irt: float
    mrt: float
    mrc: int
    mrd: float


#: §7.6 + §18.2.x: the retransmission parameters of each client message.
RETRANSMISSION: dict[MessageType, Retransmission] = {
    MessageType.SOLICIT: Retransmission(SOL_MAX_DELAY, SOL_TIMEOUT, SOL_MAX_RT, 0, 0),
    MessageType.REQUEST: Retransmission(0, REQ_TIMEOUT, REQ_MAX_RT, REQ_MAX_RC, 0),
    MessageType.CONFIRM: Retransmission(CNF_MAX_DELAY, CNF_TIMEOUT, CNF_MAX_RT, 0, CNF_MAX_RD),
    MessageType.RENEW: Retransmission(0, REN_TIMEOUT, REN_MAX_RT, 0, 0),
    MessageType.REBIND: Retransmission(0, REB_TIMEOUT, REB_MAX_RT, 0, 0),
    MessageType.INFORMATION_REQUEST: Retransmission(INF_MAX_DELAY, INF_TIMEOUT, INF_MAX_RT, 0, 0),
    MessageType.RELEASE: Retransmission(0, REL_TIMEOUT, 0, REL_MAX_RC, 0),
    MessageType.DECLINE: Retransmission(0, DEC_TIMEOUT, 0, DEC_MAX_RC, 0),
    MessageType.RECONFIGURE: Retransmission(0, REC_TIMEOUT, 0, REC_MAX_RC, 0),
}


_MESSAGE_NAMES = {int(m): m.name.replace("_", "-") for m in MessageType}


def message_name(msg_type: int) -> str:
    """The RFC name of a message type, e.g. ``INFORMATION-REQUEST``, or ``TYPE-200``."""
    name = _MESSAGE_NAMES.get(msg_type)
    return name if name is not None else f"TYPE-{msg_type}"


def option_name(code: int) -> str:
    try:
        return OptionCode(code).name
    except ValueError:
        return f"OPTION-{code}"


def status_name(code: int) -> str:
    try:
        return {
            StatusCode.SUCCESS: "Success",
            StatusCode.UNSPEC_FAIL: "UnspecFail",
            StatusCode.NO_ADDRS_AVAIL: "NoAddrsAvail",
            StatusCode.NO_BINDING: "NoBinding",
            StatusCode.NOT_ON_LINK: "NotOnLink",
            StatusCode.USE_MULTICAST: "UseMulticast",
            StatusCode.NO_PREFIX_AVAIL: "NoPrefixAvail",
        }[StatusCode(code)]
    except ValueError:
        return f"Status-{code}"
