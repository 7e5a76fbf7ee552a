"""Server configuration: YAML shaped like Kea's ``subnet6``, checked before anything starts.

```yaml
preference: 0
rapid_commit: false
lifetimes: {preferred: 3000, valid: 4000}   # seconds; t1/t2 optional
subnets:
  - prefix: 2001:db8:1::/64
    interface: eth0            # local link; a subnet without one serves relayed traffic
    pools: ["2001:db8:1::100-2001:db8:1::1ff"]
    pd_pools: [{prefix: "2001:db8:8000::/48", delegated_length: 56}]
    options: {dns_servers: ["2001:db8::53"], domain_search: [lab.example]}
```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv6Address, IPv6Network
from pathlib import Path
from typing import Any

from .constants import INFINITY, MAX_RT_OPTION_MAX, MAX_RT_OPTION_MIN
from .wire.names import encode_name
from .yamlmarks import ConfigError, Marked, load_marked, load_marked_file

OPTION_KEYS = {
    "dns_servers",
    "domain_search",
    "sol_max_rt",
    "inf_max_rt",
    "information_refresh_time",
}


@dataclass(frozen=True)
class Lifetimes:
    preferred: int
    valid: int
    t1: int | None = None  # default 0.5 × preferred
    t2: int | None = None  # default 0.8 × preferred

    def timers(self) -> tuple[int, int]:
        """T1/T2 per RFC 9915 §21.4: the same for every IA of a Reply."""
        if self.preferred == INFINITY:
            t1d = t2d = INFINITY
        else:
            t1d, t2d = self.preferred // 2, self.preferred * 4 // 5
        return (t1d if self.t1 is None else self.t1, t2d if self.t2 is None else self.t2)


@dataclass(frozen=True)
class AddressRange:
    first: IPv6Address
    last: IPv6Address

    @property
    def size(self) -> int:
        return int(self.last) - int(self.first) + 1

    def __contains__(self, a: IPv6Address) -> bool:
        return self.first <= a <= self.last


@dataclass(frozen=True)
class PdPool:
    prefix: IPv6Network
    delegated_length: int

    @property
    def size(self) -> int:
        return 1 << (self.delegated_length - self.prefix.prefixlen)


@dataclass(frozen=True)
class OptionValues:
    dns_servers: tuple[IPv6Address, ...] = ()
    domain_search: tuple[str, ...] = ()
    sol_max_rt: int | None = None
    inf_max_rt: int | None = None
    information_refresh_time: int | None = None


@dataclass(frozen=True)
class Subnet:
    prefix: IPv6Network
    interface: str | None = None
    interface_id: bytes | None = None  # relayed subnet selected by the relay's Interface-ID
    pools: tuple[AddressRange, ...] = ()
    pd_pools: tuple[PdPool, ...] = ()
    options: OptionValues = field(default_factory=OptionValues)
    lifetimes: Lifetimes | None = None  # overrides the global lifetimes

    @property
    def name(self) -> str:
        return str(self.prefix)


@dataclass(frozen=True)
class ServerConfig:
    subnets: tuple[Subnet, ...]
    lifetimes: Lifetimes = Lifetimes(3000, 4000)
    preference: int = 0
    rapid_commit: bool = False
    # Options sent even when the client's ORO does not ask for them.
    always_send: frozenset[str] = frozenset()
    # §18.3.5 Rebind for a binding we do not hold: "extend" (create it when the leases are
    # appropriate and free — what makes failover to a secondary work) or "nobinding".
    rebind_unknown: str = "extend"
    decline_probation: int = 3600
    reclaim_interval: float = 10.0
    # Reconfigure (RFC 9915 §18.3.11, §20.4): offer a reconfigure key to accepting clients.
    reconfigure: bool = False
    source: str = "<config>"

    def lifetimes_for(self, subnet: Subnet) -> Lifetimes:
        return subnet.lifetimes or self.lifetimes

    def interfaces(self) -> set[str]:
        return {s.interface for s in self.subnets if s.interface}


_TOP = {
    "preference",
    "rapid_commit",
    "lifetimes",
    "subnets",
    "always_send",
    "rebind_unknown",
    "decline_probation",
    "reclaim_interval",
    "reconfigure",
}
_SUBNET = {"prefix", "interface", "interface_id", "pools", "pd_pools", "options", "lifetimes"}


def _keys(m: Marked, obj: Any, path: tuple, allowed: set[str], what: str) -> dict:
    if not isinstance(obj, dict):
        raise m.error(path, f"{what} must be a mapping, got {type(obj).__name__}")
    for k in obj:
        if k not in allowed:
            raise m.error(
                (*path, k), f"unknown key {k!r}", f"allowed keys: {', '.join(sorted(allowed))}"
            )
    return obj


def _list(m: Marked, obj: Any, key: str, path: tuple) -> list:
    v = obj.get(key, []) if isinstance(obj, dict) else []
    if v is None:
        return []
    if not isinstance(v, list):
        raise m.error(
            (*path, key), f"expected a list, got {type(v).__name__} {v!r}", f"e.g. {key}: [...]"
        )
    return v


def _int(m: Marked, v: Any, path: tuple, lo: int, hi: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise m.error(path, f"expected a whole number, got {v!r}")
    if not lo <= v <= hi:
        raise m.error(path, f"{v} is out of range {lo}..{hi}")
    return v


def _lifetimes(m: Marked, obj: Any, path: tuple) -> Lifetimes:
    d = _keys(m, obj, path, {"preferred", "valid", "t1", "t2"}, "lifetimes")
    for k in ("preferred", "valid"):
        if k not in d:
            raise m.error(path, f"missing {k!r}", "give preferred and valid lifetimes in seconds")
    lt = Lifetimes(
        *(
            _int(m, d[k], (*path, k), 0, INFINITY) if k in d else None
            for k in ("preferred", "valid", "t1", "t2")
        )  # type: ignore[arg-type]
    )
    if lt.preferred > lt.valid:
        raise m.error(
            (*path, "preferred"), f"preferred {lt.preferred} > valid {lt.valid}", "RFC 9915 §21.6"
        )
    t1, t2 = lt.timers()
    if t1 > t2:
        raise m.error((*path, "t1"), f"T1 {t1} > T2 {t2}", "T1 must not exceed T2")
    return lt


def _network(m: Marked, v: Any, path: tuple) -> IPv6Network:
    try:
        return IPv6Network(str(v))
    except ValueError as e:
        raise m.error(path, f"not an IPv6 prefix: {e}") from None


def _address(m: Marked, v: Any, path: tuple) -> IPv6Address:
    try:
        return IPv6Address(str(v).strip())
    except ValueError:
        raise m.error(path, f"{v!r} is not an IPv6 address") from None


def _range(m: Marked, v: Any, path: tuple, prefix: IPv6Network) -> AddressRange:
    text = str(v)
    if "/" in text:
        net = _network(m, text, path)
        first, last = net[0], net[-1]
    elif "-" in text:
        a, _, b = text.partition("-")
        first, last = _address(m, a, path), _address(m, b, path)
    else:
        raise m.error(path, f"pool {text!r} is neither FIRST-LAST nor a prefix")
    if first > last:
        raise m.error(path, f"inverted range {first} > {last}", "write the lower address first")
    if first not in prefix or last not in prefix:
        raise m.error(path, f"pool {text} lies outside its subnet {prefix}")
    return AddressRange(first, last)


def _options(m: Marked, obj: Any, path: tuple) -> OptionValues:
    d = _keys(m, obj, path, OPTION_KEYS, "options")
    dns = tuple(
        _address(m, a, (*path, "dns_servers", i))
        for i, a in enumerate(_list(m, d, "dns_servers", path))
    )
    names = tuple(str(n).rstrip(".") for n in _list(m, d, "domain_search", path))
    for i, n in enumerate(_list(m, d, "domain_search", path)):
        if not isinstance(n, str):
            raise m.error((*path, "domain_search", i), f"expected a domain name, got {n!r}")
    for i, n in enumerate(names):
        try:
            encode_name(n)
        except ValueError as e:
            raise m.error((*path, "domain_search", i), str(e)) from None
    kw: dict[str, Any] = {}
    for k in ("sol_max_rt", "inf_max_rt"):
        if k in d:
            kw[k] = _int(m, d[k], (*path, k), MAX_RT_OPTION_MIN, MAX_RT_OPTION_MAX)
    if "information_refresh_time" in d:
        kw["information_refresh_time"] = _int(
            m, d["information_refresh_time"], (*path, "information_refresh_time"), 600, INFINITY
        )
    return OptionValues(dns, names, **kw)


def _subnet(m: Marked, obj: Any, path: tuple) -> Subnet:
    d = _keys(m, obj, path, _SUBNET, "a subnet")
    if "prefix" not in d:
        raise m.error(path, "subnet without 'prefix'", "e.g. prefix: 2001:db8:1::/64")
    prefix = _network(m, d["prefix"], (*path, "prefix"))
    pools = tuple(
        _range(m, p, (*path, "pools", i), prefix) for i, p in enumerate(_list(m, d, "pools", path))
    )
    pd: list[PdPool] = []
    for i, p in enumerate(_list(m, d, "pd_pools", path)):
        pp = (*path, "pd_pools", i)
        pdd = _keys(m, p, pp, {"prefix", "delegated_length"}, "a pd pool")
        net = _network(m, pdd.get("prefix"), (*pp, "prefix"))
        if "delegated_length" not in pdd:
            raise m.error(pp, "pd pool without 'delegated_length'", "e.g. delegated_length: 56")
        dl = _int(m, pdd["delegated_length"], (*pp, "delegated_length"), net.prefixlen, 128)
        pd.append(PdPool(net, dl))
    iid = d.get("interface_id")
    return Subnet(
        prefix=prefix,
        interface=str(d["interface"]) if d.get("interface") is not None else None,
        interface_id=str(iid).encode() if iid is not None else None,
        pools=pools,
        pd_pools=tuple(pd),
        options=_options(m, d.get("options") or {}, (*path, "options")),
        lifetimes=_lifetimes(m, d["lifetimes"], (*path, "lifetimes")) if "lifetimes" in d else None,
    )


def parse_config(m: Marked) -> ServerConfig:
    d = _keys(m, m.data if m.data is not None else {}, (), _TOP, "the server config")
    subnets = d.get("subnets")
    if not isinstance(subnets, list) or not subnets:
        raise m.error(("subnets",), "no subnets", "add at least one subnet with a prefix and pools")
    subs = tuple(_subnet(m, s, ("subnets", i)) for i, s in enumerate(subnets))
    for i, a in enumerate(subs):
        for j in range(i):
            if a.prefix.overlaps(subs[j].prefix):
                raise m.error(("subnets", i, "prefix"), f"{a.prefix} overlaps {subs[j].prefix}")
    always = _list(m, d, "always_send", ())
    for i, k in enumerate(always):
        if k not in OPTION_KEYS:
            raise m.error(
                ("always_send", i), f"unknown option {k!r}", ", ".join(sorted(OPTION_KEYS))
            )
    rebind = d.get("rebind_unknown", "extend")
    if rebind not in ("extend", "nobinding"):
        raise m.error(("rebind_unknown",), f"{rebind!r} is not 'extend' or 'nobinding'")
    for key in ("rapid_commit", "reconfigure"):
        if not isinstance(d.get(key, False), bool):
            raise m.error((key,), f"expected true or false, got {d[key]!r}")
    return ServerConfig(
        subnets=subs,
        lifetimes=_lifetimes(m, d["lifetimes"], ("lifetimes",))
        if "lifetimes" in d
        else Lifetimes(3000, 4000),
        preference=_int(m, d.get("preference", 0), ("preference",), 0, 255),
        rapid_commit=d.get("rapid_commit", False),
        always_send=frozenset(always),
        rebind_unknown=rebind,
        decline_probation=_int(
            m, d.get("decline_probation", 3600), ("decline_probation",), 0, INFINITY
        ),
        reclaim_interval=float(
            _int(m, d.get("reclaim_interval", 10), ("reclaim_interval",), 1, 86400)
        ),
        reconfigure=d.get("reconfigure", False),
        source=m.source,
    )


def load_config(path: str | Path) -> ServerConfig:
    return parse_config(load_marked_file(path))


def config_from_text(text: str, source: str = "<config>") -> ServerConfig:
    return parse_config(load_marked(text, source))


def config_from_dict(data: dict, source: str = "<config>") -> ServerConfig:
    return parse_config(Marked(data, {}, source))


def check_interfaces(config: ServerConfig, existing: set[str], cli: list[str]) -> None:
    """Every interface named in the config or on the command line must exist."""
    for s in config.subnets:
        if s.interface and s.interface not in existing:
            raise ConfigError(
                f"{config.source}: subnet {s.prefix}: interface {s.interface!r} does not exist "
                f"(interfaces here: {', '.join(sorted(existing)) or 'none'})"
            )
    for name in cli:
        if name not in existing:
            raise ConfigError(
                f"--interface {name}: no such interface "
                f"(interfaces here: {', '.join(sorted(existing)) or 'none'})"
            )


__all__ = [
    "ConfigError",
    "ServerConfig",
    "Subnet",
    "check_interfaces",
    "config_from_text",
    "load_config",
]
