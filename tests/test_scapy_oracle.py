"""scapy as an independent oracle for the DHCPv6 wire codec (dhcp6.wire).

scapy is a test dependency only: the package never imports it. Every case below is written
twice from the same literal values, once with our option classes and once with scapy's
``scapy.layers.dhcp6`` classes, and then checked three ways:

(a) ``test_scapy_built_decodes_with_ours``: scapy builds the message, we decode its bytes and
    compare every field with what scapy was told (types, xid, addresses, lifetimes, iaid,
    T1/T2, nested options, DUID fields, names, status messages…), then check the decoded
    value equals our own model of the message and re-encodes to scapy's bytes;
(b) ``test_ours_encoded_parses_in_scapy``: we encode, scapy parses (with the message class of
    the type), every field is compared the same way, including scapy's view of each option
    length, and scapy must have consumed every octet (no Raw / Padding left over);
(c) ``test_scapy_reserialises_our_bytes``: what scapy parsed from our bytes, rebuilt by scapy
    with its raw-packet caches dropped (and once more with every length field reset so scapy
    recomputes it), equals our bytes.

In the scapy builders ``msgtype`` (for message classes), ``optcode`` and ``optlen`` are left
to scapy on purpose: the class picks the code and scapy computes the lengths itself, which
is exactly what is under test. Every other field is set explicitly, because scapy fills in
non-RFC defaults (ORO ``[23, 24]``, Preference 255, Reconfigure Message 11, IAPREFIX /48
``2001:db8::``, Information Refresh Time 86400, DUID-EN enterprise 311…).

Where scapy cannot express something it is checked against hexadecimal written by hand
from the RFC layouts instead (``HAND_VECTORS``):

* SOL_MAX_RT (82) and INF_MAX_RT (83), RFC 9915 §21.24/§21.25: scapy 2.8 has no class for
  them (``test_scapy_lacks_max_rt_options`` pins that); they are also carried through
  scapy's generic ``DHCP6OptUnknown``;
* DUID-LL / DUID-LLT link-layer addresses that are not 6 octets: scapy's ``_LLAddrField``
  is a fixed 6-octet MACField (so is the RFC 6939 Client Link-Layer Address option's);
* the root domain name in a Domain Search List: scapy builds ``["."]`` as two zero octets
  ``00 00`` (an empty label and then the root), which is wrong (RFC 1035 §3.1: the root is
  the single octet ``00``); scapy parses ``00`` correctly as ``"."``, so only that direction
  is compared with scapy.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import reduce
from ipaddress import IPv6Address
from operator import truediv
from typing import Any

import pytest
from scapy.layers.dhcp6 import (
    DUID_EN,
    DUID_LL,
    DUID_LLT,
    DUID_UUID,
    DHCP6_Advertise,
    DHCP6_Confirm,
    DHCP6_Decline,
    DHCP6_InfoRequest,
    DHCP6_Rebind,
    DHCP6_Reconf,
    DHCP6_RelayForward,
    DHCP6_RelayReply,
    DHCP6_Release,
    DHCP6_Renew,
    DHCP6_Reply,
    DHCP6_Request,
    DHCP6_Solicit,
    DHCP6OptAuth,
    DHCP6OptClientId,
    DHCP6OptClientLinkLayerAddr,
    DHCP6OptDNSDomains,
    DHCP6OptDNSServers,
    DHCP6OptElapsedTime,
    DHCP6OptIA_NA,
    DHCP6OptIA_PD,
    DHCP6OptIA_TA,
    DHCP6OptIAAddress,
    DHCP6OptIAPrefix,
    DHCP6OptIfaceId,
    DHCP6OptInfoRefreshTime,
    DHCP6OptOptReq,
    DHCP6OptPref,
    DHCP6OptRapidCommit,
    DHCP6OptReconfAccept,
    DHCP6OptReconfMsg,
    DHCP6OptRelayMsg,
    DHCP6OptServerId,
    DHCP6OptServerUnicast,
    DHCP6OptStatusCode,
    DHCP6OptUnknown,
    dhcp6opts,
    dhcp6opts_by_code,
    dhcp6statuscodes,
    dhcp6types,
)
from scapy.packet import NoPayload, Packet, Raw

from dhcp6.constants import (
    INFINITY,
    RELAY_TYPES,
    MessageType,
    OptionCode,
    StatusCode,
    message_name,
    option_name,
)
from dhcp6.wire import (
    Auth,
    ClientId,
    ClientLinkLayerAddress,
    DnsServers,
    DomainList,
    DuidEN,
    DuidLL,
    DuidLLT,
    DuidUUID,
    ElapsedTime,
    IaAddress,
    IaNa,
    IaPd,
    IaPrefix,
    IaTa,
    InfMaxRt,
    InformationRefreshTime,
    InterfaceId,
    Message,
    OptionRequest,
    Preference,
    RapidCommit,
    ReconfigureAccept,
    ReconfigureMessage,
    RelayMessage,
    RelayMsg,
    ServerId,
    ServerUnicast,
    SolMaxRt,
    StatusOption,
    UnknownOption,
    decode,
)
from dhcp6.wire.duid import Duid

MESSAGE_CLASSES: dict[int, type[Packet]] = {
    1: DHCP6_Solicit,
    2: DHCP6_Advertise,
    3: DHCP6_Request,
    4: DHCP6_Confirm,
    5: DHCP6_Renew,
    6: DHCP6_Rebind,
    7: DHCP6_Reply,
    8: DHCP6_Release,
    9: DHCP6_Decline,
    10: DHCP6_Reconf,
    11: DHCP6_InfoRequest,
    12: DHCP6_RelayForward,
    13: DHCP6_RelayReply,
}

OPTION_CLASSES: dict[type, type[Packet]] = {
    ClientId: DHCP6OptClientId,
    ServerId: DHCP6OptServerId,
    IaNa: DHCP6OptIA_NA,
    IaTa: DHCP6OptIA_TA,
    IaAddress: DHCP6OptIAAddress,
    OptionRequest: DHCP6OptOptReq,
    Preference: DHCP6OptPref,
    ElapsedTime: DHCP6OptElapsedTime,
    RelayMsg: DHCP6OptRelayMsg,
    Auth: DHCP6OptAuth,
    ServerUnicast: DHCP6OptServerUnicast,
    StatusOption: DHCP6OptStatusCode,
    RapidCommit: DHCP6OptRapidCommit,
    InterfaceId: DHCP6OptIfaceId,
    ReconfigureMessage: DHCP6OptReconfMsg,
    ReconfigureAccept: DHCP6OptReconfAccept,
    DnsServers: DHCP6OptDNSServers,
    DomainList: DHCP6OptDNSDomains,
    IaPd: DHCP6OptIA_PD,
    IaPrefix: DHCP6OptIAPrefix,
    InformationRefreshTime: DHCP6OptInfoRefreshTime,
    ClientLinkLayerAddress: DHCP6OptClientLinkLayerAddr,
    # scapy 2.8 has no class for these; it parses them as its generic option.
    SolMaxRt: DHCP6OptUnknown,
    InfMaxRt: DHCP6OptUnknown,
    UnknownOption: DHCP6OptUnknown,
}

DUID_CLASSES: dict[type, type[Packet]] = {
    DuidLLT: DUID_LLT,
    DuidEN: DUID_EN,
    DuidLL: DUID_LL,
    DuidUUID: DUID_UUID,
}


# --------------------------------------------------------------------------- comparison
def mac(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


def chain(p: Packet) -> list[Packet]:
    """A packet and its payloads, one per layer; scapy must have decoded every octet."""
    out: list[Packet] = []
    while not isinstance(p, NoPayload):
        # Raw (and its subclass Padding) means scapy did not understand what followed.
        assert not isinstance(p, Raw), f"scapy left octets undecoded: {bytes(p).hex()}"
        out.append(p)
        p = p.payload
    return out


def flatten(elements: list[Packet]) -> list[Packet]:
    """The options of a scapy PacketListField (an element may carry the next as payload)."""
    return [o for e in elements for o in chain(e)]


def check_duid(ours: Duid, sc: Packet) -> None:
    assert type(sc) is DUID_CLASSES[type(ours)]
    assert sc.type == ours.duid_type
    assert chain(sc.payload) == [], "scapy left DUID octets over"
    match ours:
        case DuidLLT():
            assert sc.hwtype == ours.hw_type
            assert sc.timeval == ours.time
            assert mac(sc.lladdr) == ours.link_layer
        case DuidEN():
            assert sc.enterprisenum == ours.enterprise
            assert sc.id == ours.identifier
        case DuidLL():
            assert sc.hwtype == ours.hw_type
            assert mac(sc.lladdr) == ours.link_layer
        case DuidUUID():
            assert isinstance(sc.uuid, uuid.UUID)
            assert sc.uuid.bytes == ours.uuid
        case _:  # pragma: no cover
            raise AssertionError(f"no scapy counterpart for {ours!r}")


def check_options(ours: tuple[Any, ...], sc: list[Packet]) -> None:
    assert len(ours) == len(sc), (
        f"ours {[type(o).__name__ for o in ours]} vs scapy {[type(s).__name__ for s in sc]}"
    )
    for o, s in zip(ours, sc, strict=True):
        check_option(o, s)


def check_option(o: Any, s: Packet) -> None:
    assert type(s) is OPTION_CLASSES[type(o)], f"{type(o).__name__} vs {type(s).__name__}"
    assert s.optcode == o.code
    # None on a packet scapy built (it computes the length when serialising).
    if s.optlen is not None:
        assert s.optlen == len(o.data())
    match o:
        case ClientId() | ServerId():
            check_duid(o.duid, s.duid)
        case IaNa() | IaPd():
            assert (s.iaid, s.T1, s.T2) == (o.iaid, o.t1, o.t2)
            check_options(o.options, flatten(s.ianaopts if isinstance(o, IaNa) else s.iapdopt))
        case IaTa():
            assert s.iaid == o.iaid
            check_options(o.options, flatten(s.iataopts))
        case IaAddress():
            assert IPv6Address(s.addr) == o.address
            assert (s.preflft, s.validlft) == (o.preferred_lifetime, o.valid_lifetime)
            check_options(o.options, flatten(s.iaaddropts))
        case IaPrefix():
            assert (s.preflft, s.validlft) == (o.preferred_lifetime, o.valid_lifetime)
            assert s.plen == o.prefix_length
            assert IPv6Address(s.prefix) == o.prefix
            check_options(o.options, flatten(s.iaprefopts))
        case OptionRequest():
            assert list(s.reqopts) == list(o.codes)
        case Preference():
            assert s.prefval == o.value
        case ElapsedTime():
            assert s.elapsedtime == o.value
        case RelayMsg():
            check_message(o.message, s.message)
        case Auth():
            assert (s.proto, s.alg, s.rdm) == (o.protocol, o.algorithm, o.rdm)
            assert s.replay == o.replay_detection.to_bytes(8, "big")
            assert s.authinfo == o.auth_info
        case ServerUnicast():
            assert IPv6Address(s.srvaddr) == o.address
        case StatusOption():
            assert s.statuscode == o.status
            assert s.statusmsg == o.message.encode("utf-8")
            assert dhcp6statuscodes[s.statuscode] == o.name
        case RapidCommit() | ReconfigureAccept():
            pass  # nothing but code and (zero) length
        case InterfaceId():
            assert s.ifaceid == o.value
        case ReconfigureMessage():
            assert s.msgtype == o.msg_type
        case DnsServers():
            assert [IPv6Address(a) for a in s.dnsservers] == list(o.servers)
        case DomainList():
            # scapy writes names fully qualified ("example.com."), ours without the dot.
            assert all(n.endswith(".") for n in s.dnsdomains), s.dnsdomains
            assert [n[:-1] for n in s.dnsdomains] == list(o.names)
        case InformationRefreshTime():
            assert s.reftime == o.value
        case ClientLinkLayerAddress():
            assert s.lltype == o.link_type
            assert mac(s.clladdr) == o.address
        case SolMaxRt() | InfMaxRt():
            assert len(s.data) == 4
            assert int.from_bytes(s.data, "big") == o.value
        case UnknownOption():
            assert s.data == o.value
        case _:  # pragma: no cover
            raise AssertionError(f"no scapy counterpart for {o!r}")


def check_message(ours: Message | RelayMessage, sc: Packet) -> None:
    assert type(sc) is MESSAGE_CLASSES[ours.msg_type]
    assert sc.msgtype == ours.msg_type
    assert dhcp6types[sc.msgtype] == ours.name
    if isinstance(ours, RelayMessage):
        assert sc.hopcount == ours.hop_count
        assert IPv6Address(sc.linkaddr) == ours.link_address
        assert IPv6Address(sc.peeraddr) == ours.peer_address
    else:
        assert sc.trid == ours.transaction_id
    check_options(ours.options, chain(sc.payload))


def all_layers(pkt: Packet) -> Iterator[Packet]:
    """Every scapy layer: payloads and the packets held in fields (option lists, DUIDs…)."""
    p = pkt
    while not isinstance(p, NoPayload):
        yield p
        for f in p.fields_desc:
            if f.holds_packets:
                v = p.getfieldval(f.name)
                for sub in v if isinstance(v, list) else [v]:
                    if isinstance(sub, Packet):
                        yield from all_layers(sub)
        p = p.payload


# --------------------------------------------------------------------------- pairs
@dataclass(frozen=True)
class Pair:
    """One option or message, as our value and as a scapy factory (fresh packet per call)."""

    ours: Any
    build: Callable[[], Packet]


CLIENT_MAC = "00:16:3e:12:34:56"
SERVER_MAC = "52:54:00:ab:cd:ef"
LLT_TIME = 0x2F1E5A80  # seconds since 2000-01-01 (§11.2)
EN_NUMBER = 32473  # RFC 5612 documentation enterprise number
EN_ID = bytes.fromhex("0c0ffee0d00dfeed")
UUID_VALUE = uuid.UUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8")

DUIDS: dict[str, tuple[Duid, Callable[[], Packet]]] = {
    "DUID_LLT": (
        DuidLLT(1, LLT_TIME, mac(CLIENT_MAC)),
        lambda: DUID_LLT(type=1, hwtype=1, timeval=LLT_TIME, lladdr=CLIENT_MAC),
    ),
    "DUID_EN": (
        DuidEN(EN_NUMBER, EN_ID),
        lambda: DUID_EN(type=2, enterprisenum=EN_NUMBER, id=EN_ID),
    ),
    "DUID_LL": (
        DuidLL(1, mac(SERVER_MAC)),
        lambda: DUID_LL(type=3, hwtype=1, lladdr=SERVER_MAC),
    ),
    "DUID_UUID": (
        DuidUUID(UUID_VALUE.bytes),
        lambda: DUID_UUID(type=4, uuid=UUID_VALUE),
    ),
}


def client_id(duid: str = "DUID_LLT") -> Pair:
    ours, sc = DUIDS[duid]
    return Pair(ClientId(ours), lambda: DHCP6OptClientId(duid=sc()))


def server_id(duid: str = "DUID_EN") -> Pair:
    ours, sc = DUIDS[duid]
    return Pair(ServerId(ours), lambda: DHCP6OptServerId(duid=sc()))


def ia_na(iaid: int, t1: int, t2: int, *subs: Pair) -> Pair:
    return Pair(
        IaNa(iaid, t1, t2, tuple(s.ours for s in subs)),
        lambda: DHCP6OptIA_NA(iaid=iaid, T1=t1, T2=t2, ianaopts=[s.build() for s in subs]),
    )


def ia_ta(iaid: int, *subs: Pair) -> Pair:
    return Pair(
        IaTa(iaid, tuple(s.ours for s in subs)),
        lambda: DHCP6OptIA_TA(iaid=iaid, iataopts=[s.build() for s in subs]),
    )


def iaaddr(addr: str, pref: int, valid: int, *subs: Pair) -> Pair:
    return Pair(
        IaAddress(IPv6Address(addr), pref, valid, tuple(s.ours for s in subs)),
        lambda: DHCP6OptIAAddress(
            addr=addr, preflft=pref, validlft=valid, iaaddropts=[s.build() for s in subs]
        ),
    )


def ia_pd(iaid: int, t1: int, t2: int, *subs: Pair) -> Pair:
    return Pair(
        IaPd(iaid, t1, t2, tuple(s.ours for s in subs)),
        lambda: DHCP6OptIA_PD(iaid=iaid, T1=t1, T2=t2, iapdopt=[s.build() for s in subs]),
    )


def iaprefix(pref: int, valid: int, plen: int, prefix: str, *subs: Pair) -> Pair:
    return Pair(
        IaPrefix(pref, valid, plen, IPv6Address(prefix), tuple(s.ours for s in subs)),
        lambda: DHCP6OptIAPrefix(
            preflft=pref,
            validlft=valid,
            plen=plen,
            prefix=prefix,
            iaprefopts=[s.build() for s in subs],
        ),
    )


def oro(*codes: int) -> Pair:
    return Pair(OptionRequest(codes), lambda: DHCP6OptOptReq(reqopts=list(codes)))


def preference(value: int) -> Pair:
    return Pair(Preference(value), lambda: DHCP6OptPref(prefval=value))


def elapsed(value: int) -> Pair:
    return Pair(ElapsedTime(value), lambda: DHCP6OptElapsedTime(elapsedtime=value))


def auth(proto: int, alg: int, rdm: int, replay: int, info: bytes) -> Pair:
    return Pair(
        Auth(proto, alg, rdm, replay, info),
        lambda: DHCP6OptAuth(
            proto=proto, alg=alg, rdm=rdm, replay=replay.to_bytes(8, "big"), authinfo=info
        ),
    )


def unicast(addr: str) -> Pair:
    return Pair(ServerUnicast(IPv6Address(addr)), lambda: DHCP6OptServerUnicast(srvaddr=addr))


def status(code: int, text: str) -> Pair:
    return Pair(
        StatusOption(code, text),
        lambda: DHCP6OptStatusCode(statuscode=code, statusmsg=text.encode("utf-8")),
    )


def rapid_commit() -> Pair:
    return Pair(RapidCommit(), DHCP6OptRapidCommit)


def reconf_accept() -> Pair:
    return Pair(ReconfigureAccept(), DHCP6OptReconfAccept)


def reconf_msg(msg_type: int) -> Pair:
    return Pair(ReconfigureMessage(msg_type), lambda: DHCP6OptReconfMsg(msgtype=msg_type))


def iface_id(value: bytes) -> Pair:
    return Pair(InterfaceId(value), lambda: DHCP6OptIfaceId(ifaceid=value))


def dns(*addrs: str) -> Pair:
    return Pair(
        DnsServers(tuple(IPv6Address(a) for a in addrs)),
        lambda: DHCP6OptDNSServers(dnsservers=list(addrs)),
    )


def domains(*names: str) -> Pair:
    return Pair(DomainList(names), lambda: DHCP6OptDNSDomains(dnsdomains=[n + "." for n in names]))


def info_refresh(value: int) -> Pair:
    return Pair(InformationRefreshTime(value), lambda: DHCP6OptInfoRefreshTime(reftime=value))


def client_ll(lltype: int, addr: str) -> Pair:
    return Pair(
        ClientLinkLayerAddress(lltype, mac(addr)),
        lambda: DHCP6OptClientLinkLayerAddr(lltype=lltype, clladdr=addr),
    )


def generic(ours: Any, code: int, data_hex: str) -> Pair:
    """An option through scapy's generic class; ``data_hex`` is written by hand."""
    return Pair(ours, lambda: DHCP6OptUnknown(optcode=code, data=bytes.fromhex(data_hex)))


def message(msg_type: int, xid: int, *opts: Pair) -> Pair:
    cls = MESSAGE_CLASSES[msg_type]
    return Pair(
        Message(msg_type, xid, tuple(o.ours for o in opts)),
        lambda: reduce(truediv, [o.build() for o in opts], cls(trid=xid)),
    )


def relay(msg_type: int, hops: int, link: str, peer: str, *opts: Pair) -> Pair:
    cls = MESSAGE_CLASSES[msg_type]
    return Pair(
        RelayMessage(
            msg_type, hops, IPv6Address(link), IPv6Address(peer), tuple(o.ours for o in opts)
        ),
        lambda: reduce(
            truediv,
            [o.build() for o in opts],
            cls(hopcount=hops, linkaddr=link, peeraddr=peer),
        ),
    )


def relay_msg(inner: Pair) -> Pair:
    return Pair(RelayMsg(inner.ours), lambda: DHCP6OptRelayMsg(message=inner.build()))


# --------------------------------------------------------------------------- cases
M = MessageType
ADDR1 = "2001:db8:0:1::1:10"
ADDR2 = "2001:db8:0:1::1:11"
LINK = "2001:db8:0:1::1"
PEER = "fe80::216:3eff:fe12:3456"
HMAC = bytes.fromhex("02") + bytes(range(0x10, 0x20))  # RKAP type 2 + 16-octet HMAC-MD5
KEY = bytes.fromhex("01") + bytes(range(0xA0, 0xB0))  # RKAP type 1 + 16-octet key


def solicit() -> Pair:
    return message(
        M.SOLICIT,
        0x3A1B2C,
        client_id("DUID_LLT"),
        elapsed(0),
        ia_na(0x0C0FFEE0, 0, 0),
        ia_pd(0x0000BEEF, 0, 0),
        oro(23, 24, 82),
        rapid_commit(),
        reconf_accept(),
    )


def advertise() -> Pair:
    return message(
        M.ADVERTISE,
        0x3A1B2C,
        server_id("DUID_EN"),
        client_id("DUID_LLT"),
        ia_na(0x0C0FFEE0, 1800, 2880, iaaddr(ADDR1, 3600, 7200)),
        ia_pd(0x0000BEEF, 1800, 2880, iaprefix(3600, 7200, 56, "2001:db8:ff00::")),
        preference(200),
        dns("2001:db8::53", "2001:db8::5353"),
        domains("lab.example", "example"),
        status(StatusCode.SUCCESS, "all addresses assigned"),
    )


MESSAGE_CASES: list[tuple[str, Pair]] = [
    ("SOLICIT", solicit()),
    ("ADVERTISE", advertise()),
    (
        "REQUEST",
        message(
            M.REQUEST,
            0xABCDEF,
            client_id("DUID_LLT"),
            server_id("DUID_EN"),
            ia_na(0x0C0FFEE0, 0, 0, iaaddr(ADDR1, 0, 0)),
            oro(23, 24),
            elapsed(150),
            reconf_accept(),
        ),
    ),
    (
        "CONFIRM",
        message(
            M.CONFIRM,
            0x000001,
            client_id("DUID_LL"),
            ia_na(1, 0, 0, iaaddr(ADDR1, 0, 0), iaaddr(ADDR2, 0, 0)),
            elapsed(0),
        ),
    ),
    (
        "RENEW",
        message(
            M.RENEW,
            0x7F0001,
            client_id("DUID_LLT"),
            server_id("DUID_LL"),
            ia_na(7, 1800, 2880, iaaddr(ADDR1, 3600, 7200)),
            ia_pd(8, 1800, 2880, iaprefix(3600, 7200, 60, "2001:db8:ff00:10::")),
            oro(23, 24, 32),
            elapsed(0),
        ),
    ),
    (
        "REBIND",
        message(
            M.REBIND,
            0x800000,
            client_id("DUID_UUID"),
            ia_na(7, 1800, 2880, iaaddr(ADDR1, 3600, 7200)),
            elapsed(6000),
        ),
    ),
    (
        "REPLY",
        message(
            M.REPLY,
            0xFFFFFF,
            server_id("DUID_EN"),
            client_id("DUID_LLT"),
            ia_na(
                0x0C0FFEE0,
                INFINITY,
                INFINITY,
                iaaddr(ADDR1, INFINITY, INFINITY),
                status(StatusCode.SUCCESS, ""),
            ),
            ia_pd(
                0x0000BEEF,
                0,
                0,
                status(StatusCode.NO_PREFIX_AVAIL, "no prefixes left in pool"),
            ),
            rapid_commit(),
            reconf_accept(),
            auth(3, 1, 0, 1, KEY),
            dns("2001:db8::53"),
            domains("lab.example"),
        ),
    ),
    (
        "RELEASE",
        message(
            M.RELEASE,
            0x123456,
            client_id("DUID_LLT"),
            server_id("DUID_EN"),
            ia_na(0x0C0FFEE0, 0, 0, iaaddr(ADDR1, 0, 0)),
            elapsed(0),
        ),
    ),
    (
        "DECLINE",
        message(
            M.DECLINE,
            0x654321,
            client_id("DUID_LLT"),
            server_id("DUID_EN"),
            ia_na(0x0C0FFEE0, 0, 0, iaaddr(ADDR2, 0, 0)),
            elapsed(10),
        ),
    ),
    (
        # A Reconfigure with the Reconfigure Key Authentication Protocol (§20.4):
        # protocol 3, algorithm 1 (HMAC-MD5), RDM 0, type 2 + HMAC. xid is 0 (§16.11).
        "RECONFIGURE-AUTH",
        message(
            M.RECONFIGURE,
            0,
            server_id("DUID_EN"),
            client_id("DUID_LLT"),
            reconf_msg(M.RENEW),
            auth(3, 1, 0, 0x0000_0001_0000_0002, HMAC),
        ),
    ),
    (
        "INFORMATION-REQUEST",
        message(
            M.INFORMATION_REQUEST,
            0x0BADC0,
            client_id("DUID_LLT"),
            oro(23, 24, 32, 83),
            elapsed(0),
        ),
    ),
    (
        "RELAY-FORW",
        relay(
            M.RELAY_FORW,
            0,
            LINK,
            PEER,
            iface_id(b"eth0"),
            client_ll(1, CLIENT_MAC),
            relay_msg(solicit()),
        ),
    ),
    (
        "RELAY-REPL",
        relay(M.RELAY_REPL, 0, LINK, PEER, iface_id(b"eth0"), relay_msg(advertise())),
    ),
    (
        # Three relay levels: relay 3 (hop 2) ← relay 2 (hop 1) ← relay 1 (hop 0) ← client.
        "RELAY-FORW-nested-3",
        relay(
            M.RELAY_FORW,
            2,
            "2001:db8:2::1",
            "fe80::2",
            iface_id(b"agg-uplink-0/0/1"),
            relay_msg(
                relay(
                    M.RELAY_FORW,
                    1,
                    "::",
                    "fe80::1",
                    iface_id(b"\x00\x00\x00\x07"),
                    relay_msg(
                        relay(
                            M.RELAY_FORW,
                            0,
                            LINK,
                            PEER,
                            iface_id(b"eth0.100"),
                            client_ll(1, CLIENT_MAC),
                            relay_msg(solicit()),
                        )
                    ),
                )
            ),
        ),
    ),
    (
        "RELAY-REPL-nested-2",
        relay(
            M.RELAY_REPL,
            1,
            "2001:db8:2::1",
            "fe80::1",
            iface_id(b"uplink"),
            relay_msg(
                relay(M.RELAY_REPL, 0, LINK, PEER, iface_id(b"eth0"), relay_msg(advertise()))
            ),
        ),
    ),
]

# Each option in a message type that may carry it.
OPTION_CASES: list[tuple[str, Pair]] = [
    *(
        (f"CLIENTID-{name}", message(M.SOLICIT, 0x000102, client_id(name), elapsed(0)))
        for name in DUIDS
    ),
    *(
        (
            f"SERVERID-{name}",
            message(M.ADVERTISE, 0x000102, server_id(name), client_id("DUID_LLT")),
        )
        for name in DUIDS
    ),
    ("IA_NA-empty", message(M.SOLICIT, 1, ia_na(0, 0, 0))),
    (
        "IA_NA-IAADDR-STATUS_CODE",
        message(
            M.REPLY,
            1,
            ia_na(
                0xFFFFFFFF,
                100,
                INFINITY,
                status(StatusCode.NO_ADDRS_AVAIL, "none here"),
                iaaddr(ADDR1, 100, 200, status(StatusCode.SUCCESS, "ok")),
                iaaddr(ADDR2, 0, 0),
            ),
        ),
    ),
    ("IA_TA", message(M.REPLY, 2, ia_ta(0x01020304, iaaddr(ADDR2, 300, 600)))),
    ("IA_TA-empty", message(M.SOLICIT, 2, ia_ta(9))),
    ("IAADDR-infinite", message(M.REPLY, 3, ia_na(1, 0, 0, iaaddr("::1", INFINITY, INFINITY)))),
    ("ORO", message(M.INFORMATION_REQUEST, 4, oro(23, 24, 32, 82, 83, 65535))),
    ("ORO-empty", message(M.SOLICIT, 4, oro())),
    ("PREFERENCE-0", message(M.ADVERTISE, 5, preference(0))),
    ("PREFERENCE-255", message(M.ADVERTISE, 5, preference(255))),
    ("ELAPSED_TIME-0", message(M.SOLICIT, 6, elapsed(0))),
    ("ELAPSED_TIME-ffff", message(M.SOLICIT, 6, elapsed(0xFFFF))),
    (
        "RELAY_MSG",
        relay(M.RELAY_FORW, 0, LINK, PEER, relay_msg(message(M.SOLICIT, 7, elapsed(1)))),
    ),
    ("AUTH-reconfigure-key", message(M.REPLY, 8, auth(3, 1, 0, 42, KEY))),
    ("AUTH-no-info", message(M.REPLY, 8, auth(0, 0, 0, 0xFFFFFFFFFFFFFFFF, b""))),
    ("UNICAST", message(M.REPLY, 9, unicast("2001:db8::547"))),
    *(
        (f"STATUS_CODE-{c.name}", message(M.REPLY, 10, status(c, f"status {c.value}")))
        for c in StatusCode
    ),
    ("STATUS_CODE-utf8", message(M.REPLY, 10, status(1, "échec — réessayer ✓"))),
    ("STATUS_CODE-empty", message(M.REPLY, 10, status(0, ""))),
    ("RAPID_COMMIT", message(M.SOLICIT, 11, rapid_commit())),
    ("INTERFACE_ID", relay(M.RELAY_FORW, 0, LINK, PEER, iface_id(bytes(range(40))))),
    *(
        (f"RECONF_MSG-{t.name}", message(M.RECONFIGURE, 0, reconf_msg(t)))
        for t in (M.RENEW, M.REBIND, M.INFORMATION_REQUEST)
    ),
    ("RECONF_ACCEPT", message(M.SOLICIT, 12, reconf_accept())),
    ("DNS_SERVERS-1", message(M.REPLY, 13, dns("2001:4860:4860::8888"))),
    ("DNS_SERVERS-3", message(M.REPLY, 13, dns("2001:db8::1", "::ffff:192.0.2.1", "fe80::53"))),
    (
        "DOMAIN_LIST",
        message(M.REPLY, 14, domains("lab.example", "a.b.c.example.org", "x-y_z", "ex")),
    ),
    ("IA_PD-empty", message(M.SOLICIT, 15, ia_pd(3, 0, 0))),
    (
        "IA_PD-IAPREFIX",
        message(
            M.REPLY,
            15,
            ia_pd(
                3,
                1000,
                1600,
                iaprefix(2000, 4000, 48, "2001:db8:1::"),
                iaprefix(INFINITY, INFINITY, 64, "2001:db8:2:3::"),
            ),
        ),
    ),
    (
        "IAPREFIX-STATUS_CODE",
        message(
            M.REPLY,
            16,
            ia_pd(3, 0, 0, iaprefix(0, 0, 128, ADDR1, status(StatusCode.NO_PREFIX_AVAIL, ""))),
        ),
    ),
    ("IAPREFIX-zero", message(M.SOLICIT, 16, ia_pd(3, 0, 0, iaprefix(0, 0, 0, "::")))),
    ("INFORMATION_REFRESH_TIME", message(M.REPLY, 17, info_refresh(600))),
    ("INFORMATION_REFRESH_TIME-infinite", message(M.REPLY, 17, info_refresh(INFINITY))),
    ("CLIENT_LINKLAYER_ADDR", relay(M.RELAY_FORW, 0, LINK, PEER, client_ll(1, CLIENT_MAC))),
    # scapy 2.8 has no SOL_MAX_RT / INF_MAX_RT classes: go through its generic option with
    # the value octets written by hand (3600 = 0x0e10, 86400 = 0x015180).
    ("SOL_MAX_RT-generic", message(M.REPLY, 18, generic(SolMaxRt(3600), 82, "00000e10"))),
    ("INF_MAX_RT-generic", message(M.REPLY, 18, generic(InfMaxRt(86400), 83, "00015180"))),
    (
        "UNKNOWN-65000",
        message(M.REPLY, 19, generic(UnknownOption(65000, b"\x01\x02\x03"), 65000, "010203")),
    ),
]

CASES = [pytest.param(p, id=f"msg-{i}") for i, p in MESSAGE_CASES] + [
    pytest.param(p, id=f"opt-{i}") for i, p in OPTION_CASES
]


# --------------------------------------------------------------------------- tests
@pytest.mark.parametrize("pair", CASES)
def test_scapy_built_decodes_with_ours(pair: Pair) -> None:
    pkt = pair.build()
    wire = bytes(pkt)
    msg = decode(wire)
    check_message(msg, pkt)
    assert msg == pair.ours
    assert msg.encode() == wire


@pytest.mark.parametrize("pair", CASES)
def test_ours_encoded_parses_in_scapy(pair: Pair) -> None:
    wire = pair.ours.encode()
    pkt = MESSAGE_CLASSES[pair.ours.msg_type](wire)
    check_message(pair.ours, pkt)
    # and scapy, told the same values, writes the same octets
    assert bytes(pair.build()) == wire


@pytest.mark.parametrize("pair", CASES)
def test_scapy_reserialises_our_bytes(pair: Pair) -> None:
    cls = MESSAGE_CLASSES[pair.ours.msg_type]
    wire = pair.ours.encode()

    # A parsed scapy packet keeps each layer's raw octets and would hand them straight
    # back; drop that cache so scapy rebuilds every layer from its fields.
    pkt = cls(wire)
    pkt.clear_cache()
    assert all(layer.raw_packet_cache is None for layer in all_layers(pkt))
    assert bytes(pkt) == wire

    # Again with every option length put back to its default (None for computed lengths),
    # so scapy recomputes the lengths too instead of copying the parsed ones.
    pkt = cls(wire)
    pkt.clear_cache()
    for layer in all_layers(pkt):
        if "optlen" in layer.fields:
            delattr(layer, "optlen")
    assert bytes(pkt) == wire


# Hand-computed vectors for what scapy cannot express (see the module docstring).
# Layouts: message = type(1) xid(3) options; option = code(2) len(2) data.
HAND_VECTORS = [
    pytest.param(
        # RFC 9915 §21.24: OPTION_SOL_MAX_RT (82) len 4, SOL_MAX_RT value (3600 s).
        Message(M.REPLY, 0x0A0B0C, (SolMaxRt(3600),)),
        "07 0a0b0c  0052 0004 00000e10",
        id="SOL_MAX_RT",
    ),
    pytest.param(
        # RFC 9915 §21.25: OPTION_INF_MAX_RT (83) len 4, INF_MAX_RT value (86400 s).
        Message(M.REPLY, 0x0A0B0C, (InfMaxRt(86400),)),
        "07 0a0b0c  0053 0004 00015180",
        id="INF_MAX_RT",
    ),
    pytest.param(
        # Both, in an Advertise, at the bounds of §21.24/§21.25 (60 and 86400) and out of
        # range (0, 0xffffffff: the codec keeps them, clients ignore them).
        Message(
            M.ADVERTISE,
            0xFFFFFF,
            (SolMaxRt(60), InfMaxRt(86400), SolMaxRt(0), InfMaxRt(0xFFFFFFFF)),
        ),
        "02 ffffff  0052 0004 0000003c  0053 0004 00015180  0052 0004 00000000  0053 0004 ffffffff",
        id="SOL_MAX_RT+INF_MAX_RT",
    ),
    pytest.param(
        # DUID-LL (§11.4) with an 8-octet EUI-64 (hardware type 27): scapy's link-layer
        # field is a fixed 6-octet MAC, so it cannot represent this.
        # CLIENTID(1) len 12: DUID type 3, hw type 27, 02:11:22:33:44:55:66:77.
        Message(M.SOLICIT, 0x000001, (ClientId(DuidLL(27, bytes.fromhex("0211223344556677"))),)),
        "01 000001  0001 000c 0003 001b 0211223344556677",
        id="CLIENTID-DUID_LL-EUI64",
    ),
    pytest.param(
        # DUID-LLT (§11.2), hardware type 32 (InfiniBand) with a 20-octet address.
        # SERVERID(2) len 28: type 1, hw 32, time 0x01020304, 20 octets 0x00..0x13.
        Message(M.ADVERTISE, 0x000002, (ServerId(DuidLLT(32, 0x01020304, bytes(range(20)))),)),
        "02 000002  0002 001c 0001 0020 01020304 000102030405060708090a0b0c0d0e0f10111213",
        id="SERVERID-DUID_LLT-InfiniBand",
    ),
    pytest.param(
        # RFC 6939 Client Link-Layer Address with a non-Ethernet (EUI-64) address: again
        # beyond scapy's 6-octet field. RELAY-FORW hop 0, link ::, peer fe80::1,
        # OPTION_CLIENT_LINKLAYER_ADDR (79) len 10: link type 27, 8 octets.
        RelayMessage(
            M.RELAY_FORW,
            0,
            IPv6Address("::"),
            IPv6Address("fe80::1"),
            (ClientLinkLayerAddress(27, bytes.fromhex("0211223344556677")),),
        ),
        "0c 00 00000000000000000000000000000000 fe800000000000000000000000000001"
        "  004f 000a 001b 0211223344556677",
        id="CLIENT_LINKLAYER_ADDR-EUI64",
    ),
    pytest.param(
        # A Domain Search List holding the root name (a single 00 octet, RFC 1035 §3.1)
        # then "ex": scapy builds "." as 00 00, so only its parse is compared (below).
        Message(M.REPLY, 0x000003, (DomainList(("", "ex")),)),
        "07 000003  0018 0005 00 02 6578 00",
        id="DOMAIN_LIST-root",
    ),
]


@pytest.mark.parametrize(("msg", "hexdata"), HAND_VECTORS)
def test_hand_vectors(msg: Message | RelayMessage, hexdata: str) -> None:
    wire = bytes.fromhex(hexdata.replace(" ", ""))
    assert msg.encode() == wire
    assert decode(wire) == msg


def test_domain_list_root_parses_in_scapy() -> None:
    wire = bytes.fromhex("07000003001800050002657800")
    pkt = DHCP6_Reply(wire)
    assert pkt[DHCP6OptDNSDomains].dnsdomains == [".", "ex."]
    assert decode(wire).domain_list == ("", "ex")


def test_scapy_lacks_max_rt_options() -> None:
    """Pins why SOL_MAX_RT / INF_MAX_RT use hand vectors and scapy's generic option."""
    for code in (OptionCode.SOL_MAX_RT, OptionCode.INF_MAX_RT):
        assert code not in dhcp6opts_by_code, f"scapy now knows option {code}: use its class"


@pytest.mark.parametrize("msg_type", list(MessageType), ids=lambda t: t.name)
def test_message_names_match_scapy(msg_type: MessageType) -> None:
    assert message_name(msg_type) == dhcp6types[msg_type]
    # The shortest message of the type: a 4-octet header, or a 34-octet relay header.
    wire = bytes([msg_type]) + bytes(33 if msg_type in RELAY_TYPES else 3)
    assert type(MESSAGE_CLASSES[msg_type](wire)) is MESSAGE_CLASSES[msg_type]
    assert decode(wire).name == dhcp6types[msg_type]
    assert bytes(MESSAGE_CLASSES[msg_type](wire)) == wire


# Codes whose scapy name is the RFC/IANA name (23 and 24 scapy names descriptively).
NAMED_OPTIONS = [c for c in OptionCode if c in dhcp6opts and c not in (23, 24)]


@pytest.mark.parametrize("code", NAMED_OPTIONS, ids=lambda c: c.name)
def test_option_names_match_scapy(code: OptionCode) -> None:
    assert option_name(code) == dhcp6opts[code].removeprefix("OPTION_")


@pytest.mark.parametrize("code", list(StatusCode), ids=lambda c: c.name)
def test_status_names_match_scapy(code: StatusCode) -> None:
    assert StatusOption(code).name == dhcp6statuscodes[code]
