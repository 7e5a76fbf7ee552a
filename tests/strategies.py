"""Hypothesis strategies that build valid DHCPv6 messages (for round-trip properties)."""

from __future__ import annotations

from ipaddress import IPv6Address

from hypothesis import strategies as st

from dhcp6.constants import MAX_RELAY_DEPTH, OptionCode
from dhcp6.wire import (
    Auth,
    ClientId,
    ClientLinkLayerAddress,
    DnsServers,
    DomainList,
    DuidEN,
    DuidLL,
    DuidLLT,
    DuidUnknown,
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
)
from dhcp6.wire.options import DECODERS

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
addr = st.integers(0, 2**128 - 1).map(IPv6Address)

duid = st.one_of(
    st.builds(DuidLLT, u16, u32, st.binary(max_size=20)),
    st.builds(DuidEN, u32, st.binary(min_size=1, max_size=40)),
    st.builds(DuidLL, u16, st.binary(min_size=1, max_size=20)),
    st.builds(DuidUUID, st.binary(min_size=16, max_size=16)),
    st.builds(DuidUnknown, st.integers(5, 0xFFFF), st.binary(min_size=1, max_size=128)),
)
label = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=20)
domain = st.lists(label, min_size=1, max_size=4).map(".".join)
status = st.builds(StatusOption, st.integers(0, 6), st.text(max_size=20))
unknown_codes = st.integers(0, 0xFFFF).filter(lambda c: c not in DECODERS)
unknown = st.builds(UnknownOption, unknown_codes, st.binary(max_size=30))

leaf_option = st.one_of(
    st.builds(ClientId, duid),
    st.builds(ServerId, duid),
    st.builds(OptionRequest, st.lists(u16, max_size=8).map(tuple)),
    st.builds(Preference, u8),
    st.builds(ElapsedTime, u16),
    st.builds(Auth, u8, u8, u8, st.integers(0, 2**64 - 1), st.binary(max_size=24)),
    st.builds(ServerUnicast, addr),
    status,
    st.just(RapidCommit()),
    st.builds(InterfaceId, st.binary(max_size=16)),
    st.builds(ReconfigureMessage, u8),
    st.just(ReconfigureAccept()),
    st.builds(DnsServers, st.lists(addr, max_size=3).map(tuple)),
    st.builds(DomainList, st.lists(domain, max_size=3).map(tuple)),
    st.builds(InformationRefreshTime, u32),
    st.builds(ClientLinkLayerAddress, u16, st.binary(max_size=8)),
    st.builds(SolMaxRt, u32),
    st.builds(InfMaxRt, u32),
    unknown,
)
sub_options = st.lists(st.one_of(status, unknown), max_size=2).map(tuple)
iaaddr = st.builds(IaAddress, addr, u32, u32, sub_options)
iaprefix = st.builds(IaPrefix, u32, u32, st.integers(0, 128), addr, sub_options)
ia_option = st.one_of(
    st.builds(IaNa, u32, u32, u32, st.lists(st.one_of(iaaddr, status), max_size=3).map(tuple)),
    st.builds(IaTa, u32, st.lists(st.one_of(iaaddr, status), max_size=2).map(tuple)),
    st.builds(IaPd, u32, u32, u32, st.lists(st.one_of(iaprefix, status), max_size=3).map(tuple)),
)
option = st.one_of(leaf_option, ia_option)
options = st.lists(option, max_size=8).map(tuple)

client_server_message = st.builds(
    Message,
    st.integers(1, 255).filter(lambda t: t not in (12, 13)),
    st.integers(0, 0xFFFFFF),
    options,
)


def _relay(inner: st.SearchStrategy) -> st.SearchStrategy:
    return st.builds(
        lambda t, hops, link, peer, opts, m: RelayMessage(
            t, hops, link, peer, (*opts, RelayMsg(m))
        ),
        st.sampled_from([12, 13]),
        u8,
        addr,
        addr,
        st.lists(st.one_of(st.builds(InterfaceId, st.binary(max_size=8)), unknown), max_size=2),
        inner,
    )


message = st.recursive(client_server_message, _relay, max_leaves=4)

__all__ = ["MAX_RELAY_DEPTH", "OptionCode", "message", "option"]
