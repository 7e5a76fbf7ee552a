"""A lease: one address (IA_NA) or delegated prefix (IA_PD) bound to a client's IA."""

from __future__ import annotations

from dataclasses import dataclass, replace
from ipaddress import IPv6Address, IPv6Network

from ..wire._fast import IP6_FAST, cheap_init, maker
from ..wire.describe import address_text

NA = "na"
PD = "pd"
BOUND = "bound"
DECLINED = "declined"  # held on probation after a client's Decline (RFC 9915 §18.3.8)


@cheap_init  # one built per commit
@dataclass(frozen=True, slots=True)
class Lease:
    kind: str  # NA or PD
    address: IPv6Address  # the address, or the first address of the prefix
    prefixlen: int  # 128 for addresses
    duid: bytes  # client DUID (wire form); empty for a declined address
    iaid: int
    preferred: int  # lifetimes granted, protocol seconds
    valid: int
    expires: float  # engine time at which the valid lifetime ends
    state: str = BOUND
    subnet: str = ""

    @property
    def key(self) -> tuple[str, int]:
        # a._ip is int(a) without its Python call, where IP6_FAST vouches for it (wire/_fast.py)
        a = self.address
        return (self.kind, a._ip if IP6_FAST else int(a))  # type: ignore[attr-defined]

    @property
    def network(self) -> IPv6Network:
        return IPv6Network((self.address, self.prefixlen))

    def text(self) -> str:
        # address_text: str(IPv6Address) costs microseconds, and every commit traces this
        addr = self.address
        a = address_text(addr)
        return a if self.kind == NA else f"{a}/{self.prefixlen}"

    def renewed(self, preferred: int, valid: int, expires: float) -> Lease:
        """A copy with new lifetimes: what every Renew commits."""
        if type(self) is not Lease:  # a subclass may have more fields
            return replace(self, preferred=preferred, valid=valid, expires=expires)
        # built directly: dataclasses.replace costs several times as much, Lease(...) twice
        return _make_lease(self.kind, self.address, self.prefixlen, self.duid, self.iaid,
                           preferred, valid, expires, self.state, self.subnet)  # fmt: skip


# Lease(*fields) with every field given, built as the codec builds what it decodes
# (wire/_fast.py: checked at import to build what the constructor builds)
_make_lease = maker(Lease)
