"""A lease: one address (IA_NA) or delegated prefix (IA_PD) bound to a client's IA."""

from __future__ import annotations

from dataclasses import dataclass, replace
from ipaddress import IPv6Address, IPv6Network

NA = "na"
PD = "pd"
BOUND = "bound"
DECLINED = "declined"  # held on probation after a client's Decline (RFC 9915 §18.3.8)


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
        return (self.kind, int(self.address))

    @property
    def network(self) -> IPv6Network:
        return IPv6Network((self.address, self.prefixlen))

    def text(self) -> str:
        return str(self.address) if self.kind == NA else f"{self.address}/{self.prefixlen}"

    def renewed(self, preferred: int, valid: int, expires: float) -> Lease:
        return replace(self, preferred=preferred, valid=valid, expires=expires)
