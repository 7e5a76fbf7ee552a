"""The topology format as data: every key, its type, default and meaning.

One table serves three readers: the loader checks a user's values against it
(``Spec.check`` normalises a value or raises ``SpecError``), ``lab schema`` exports it as
a JSON Schema for editors (``json_schema()``), and the tests read it for the docs.

Node options inherit ``defaults.all`` → ``defaults.<kind>`` → the node. Options whose
default depends on the topology (a node's only interface, a link's prefix…) have
``default=DERIVED`` and say in ``derived`` what they become; the loader fills them in.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from ipaddress import IPv6Address, IPv6Network
from typing import Any

from dhcp6.constants import MessageType
from dhcp6.engine.client_table import STATES

from .model import KINDS, OUR_KINDS, PEER_KINDS

# --------------------------------------------------------------------------- helpers

INFINITY = 0xFFFFFFFF
NAME_RE = r"^[A-Za-z][A-Za-z0-9_-]{0,31}$"
IFNAME_RE = r"^[A-Za-z][A-Za-z0-9_.-]{0,14}$"  # the kernel's IFNAMSIZ is 16 with the NUL
DURATION_RE = r"^[0-9]+(\.[0-9]+)?(ms|s|m|h)$"
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def did_you_mean(word: Any, choices: Iterable[str]) -> str:
    """``"did you mean 'x'?"`` for the closest choice, else ``""``."""
    close = difflib.get_close_matches(str(word), sorted(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""


def allowed_hint(word: Any, choices: Iterable[str], what: str = "allowed") -> str:
    choices = sorted(choices)
    if len(choices) > 16:
        return did_you_mean(word, choices) or "`lab schema` lists them all"
    return did_you_mean(word, choices) or f"{what}: {', '.join(choices)}"


def describe(v: Any) -> str:
    """A user's value in an error message: short, YAML-ish."""
    if v is None:
        return "nothing (null)"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, list):
        return "a list"
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "…"


def parse_duration(v: Any) -> float:
    """``5s``, ``1.5s``, ``250ms``, ``2m``, ``1h`` or a number of seconds → seconds."""
    if isinstance(v, bool):
        raise SpecError(f"expected a duration like 5s, got {describe(v)}")
    if isinstance(v, (int, float)):
        if v < 0:
            raise SpecError(f"a duration cannot be negative ({v})")
        return float(v)
    if isinstance(v, str):
        m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h)\s*", v)
        if m:
            return float(m.group(1)) * _DURATION_UNITS[m.group(2)]
    raise SpecError(
        f"{describe(v)} is not a duration", "write a number with a unit: 250ms, 5s, 1.5s, 2m, 1h"
    )


class SpecError(ValueError):
    """A value does not fit its spec. ``subpath`` locates it inside the value."""

    def __init__(self, problem: str, hint: str = "", subpath: tuple = ()) -> None:
        super().__init__(problem)
        self.problem = problem
        self.hint = hint
        self.subpath = subpath


# --------------------------------------------------------------------------- value specs


class Spec:
    """A value's type. ``check`` returns the normalised value or raises SpecError."""

    what = "a value"
    types: tuple[type, ...] = (object,)

    def accepts(self, v: Any) -> bool:
        return isinstance(v, self.types) and not (isinstance(v, bool) and bool not in self.types)

    def check(self, v: Any) -> Any:
        if not self.accepts(v):
            raise SpecError(f"expected {self.what}, got {describe(v)}")
        return v

    def json(self) -> dict[str, Any]:
        return {}


class Any_(Spec):
    what = "anything"

    def accepts(self, v: Any) -> bool:
        return True


class Bool(Spec):
    what = "true or false"
    types = (bool,)

    def json(self) -> dict[str, Any]:
        return {"type": "boolean"}


@dataclass
class Int(Spec):
    lo: int = 0
    hi: int | None = None
    what: str = "a whole number"
    types: tuple[type, ...] = (int,)

    def check(self, v: Any) -> Any:
        v = super().check(v)
        if v < self.lo or (self.hi is not None and v > self.hi):
            hi = "" if self.hi is None else f"{self.hi}"
            raise SpecError(f"{v} is out of range {self.lo}..{hi}")
        return v

    def json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "integer", "minimum": self.lo}
        if self.hi is not None:
            out["maximum"] = self.hi
        return out


@dataclass
class Number(Spec):
    lo: float = 0.0
    hi: float | None = None
    exclusive_lo: bool = False
    what: str = "a number"
    types: tuple[type, ...] = (int, float)

    def check(self, v: Any) -> Any:
        v = super().check(v)
        if (v <= self.lo if self.exclusive_lo else v < self.lo) or (
            self.hi is not None and v > self.hi
        ):
            lo = f"> {self.lo:g}" if self.exclusive_lo else f">= {self.lo:g}"
            hi = "" if self.hi is None else f" and <= {self.hi:g}"
            raise SpecError(f"{v} is out of range: must be {lo}{hi}")
        return float(v)

    def json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "number"}
        out["exclusiveMinimum" if self.exclusive_lo else "minimum"] = self.lo
        if self.hi is not None:
            out["maximum"] = self.hi
        return out


@dataclass
class Str(Spec):
    pattern: str | None = None
    what: str = "a string"
    example: str = ""
    types: tuple[type, ...] = (str,)

    def check(self, v: Any) -> Any:
        v = super().check(v)
        if self.pattern and not re.match(self.pattern, v):
            raise SpecError(
                f"{v!r} is not {self.what}", f"e.g. {self.example}" if self.example else ""
            )
        return v

    def json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "string"}
        if self.pattern:
            out["pattern"] = self.pattern
        return out


@dataclass
class Enum(Spec):
    values: tuple[str, ...] = ()
    what: str = "one of the listed words"
    types: tuple[type, ...] = (str,)

    def check(self, v: Any) -> Any:
        if not isinstance(v, str) or v not in self.values:
            raise SpecError(
                f"{describe(v)} is not one of {', '.join(self.values)}",
                did_you_mean(v, self.values) if isinstance(v, str) else "",
            )
        return v

    def json(self) -> dict[str, Any]:
        return {"enum": list(self.values)}


def _quote_hint(v: Any) -> str:
    return "YAML read this as a number: put the address in quotes" if isinstance(v, int) else ""


class Address(Spec):
    what = "an IPv6 address"
    types = (str, int)

    def check(self, v: Any) -> Any:
        if isinstance(v, bool) or not isinstance(v, str):
            raise SpecError(f"expected an IPv6 address, got {describe(v)}", _quote_hint(v))
        try:
            return str(IPv6Address(v.strip()))
        except ValueError:
            raise SpecError(f"{v!r} is not an IPv6 address", "e.g. 2001:db8:1::53") from None

    def json(self) -> dict[str, Any]:
        return {"type": "string", "pattern": "^[0-9A-Fa-f:.]+$"}


class Prefix(Spec):
    """An IPv6 network (no host bits), normalised to its compressed text."""

    what = "an IPv6 prefix"
    types = (str, int)

    def check(self, v: Any) -> Any:
        if isinstance(v, bool) or not isinstance(v, str):
            raise SpecError(f"expected an IPv6 prefix, got {describe(v)}", _quote_hint(v))
        text = v.strip()
        if "/" not in text:
            raise SpecError(f"{v!r} has no prefix length", f"e.g. {text}/64")
        try:
            return str(IPv6Network(text))
        except ValueError as e:
            try:
                net = IPv6Network(text, strict=False)
            except ValueError:
                raise SpecError(
                    f"{v!r} is not an IPv6 prefix ({e})", "e.g. 2001:db8:1::/64"
                ) from None
            raise SpecError(f"{v!r} has host bits set", f"did you mean {net}?") from None

    def json(self) -> dict[str, Any]:
        return {"type": "string", "pattern": "^[0-9A-Fa-f:.]+/[0-9]{1,3}$"}


class IfName(Str):
    def __init__(self) -> None:
        super().__init__(
            IFNAME_RE, "an interface name (a letter, then up to 14 of A-Z a-z 0-9 _ . -)", "eth0"
        )


class Duration(Spec):
    what = "a duration"
    types = (str, int, float)

    def check(self, v: Any) -> Any:
        return parse_duration(v)

    def json(self) -> dict[str, Any]:
        return {
            "oneOf": [
                {"type": "string", "pattern": DURATION_RE},
                {"type": "number", "minimum": 0},
            ]
        }


@dataclass
class ListOf(Spec):
    item: Spec = field(default_factory=Any_)
    min: int = 0
    max: int | None = None
    single: bool = False  # a lone item stands for a one-item list
    what: str = "a list"
    types: tuple[type, ...] = (list,)

    def accepts(self, v: Any) -> bool:
        return isinstance(v, list) or (self.single and self.item.accepts(v))

    def check(self, v: Any) -> Any:
        if not isinstance(v, list):
            if self.single and self.item.accepts(v):
                v = [v]
            else:
                raise SpecError(f"expected {self.what}, got {describe(v)}")
        if len(v) < self.min:
            raise SpecError(f"needs at least {self.min} item{'s' if self.min != 1 else ''}")
        if self.max is not None and len(v) > self.max:
            raise SpecError(f"has {len(v)} items, at most {self.max} allowed")
        out = []
        for i, x in enumerate(v):
            try:
                out.append(self.item.check(x))
            except SpecError as e:
                raise SpecError(e.problem, e.hint, (i, *e.subpath)) from None
        return out

    def json(self) -> dict[str, Any]:
        arr: dict[str, Any] = {"type": "array", "items": self.item.json()}
        if self.min:
            arr["minItems"] = self.min
        if self.max is not None:
            arr["maxItems"] = self.max
        return {"anyOf": [arr, self.item.json()]} if self.single else arr


@dataclass
class Tuple(Spec):
    """A fixed-length list with one spec per position."""

    items: tuple[Spec, ...] = ()
    what: str = "a list"
    types: tuple[type, ...] = (list,)

    def check(self, v: Any) -> Any:
        v = super().check(v)
        if len(v) != len(self.items):
            raise SpecError(f"expected {self.what} ({len(self.items)} items), got {len(v)} items")
        out = []
        for i, (spec, x) in enumerate(zip(self.items, v, strict=True)):
            try:
                out.append(spec.check(x))
            except SpecError as e:
                raise SpecError(e.problem, e.hint, (i, *e.subpath)) from None
        return out

    def json(self) -> dict[str, Any]:
        n = len(self.items)
        return {
            "type": "array",
            "prefixItems": [s.json() for s in self.items],
            "minItems": n,
            "maxItems": n,
        }


class AnyMap(Spec):
    what = "a mapping"
    types = (dict,)

    def json(self) -> dict[str, Any]:
        return {"type": "object"}


@dataclass
class Nullable(Spec):
    inner: Spec = field(default_factory=Any_)

    def accepts(self, v: Any) -> bool:
        return v is None or self.inner.accepts(v)

    def check(self, v: Any) -> Any:
        return None if v is None else self.inner.check(v)

    def json(self) -> dict[str, Any]:
        return {"anyOf": [{"type": "null"}, self.inner.json()]}


@dataclass
class OneOf(Spec):
    """The first alternative that accepts the value's type checks it."""

    options: tuple[Spec, ...] = ()

    def accepts(self, v: Any) -> bool:
        return any(o.accepts(v) for o in self.options)

    def check(self, v: Any) -> Any:
        for o in self.options:
            if o.accepts(v):
                return o.check(v)
        whats = " or ".join(o.what for o in self.options)
        raise SpecError(f"expected {whats}, got {describe(v)}")

    @property
    def what(self) -> str:  # type: ignore[override]
        return " or ".join(o.what for o in self.options)

    def json(self) -> dict[str, Any]:
        return {"anyOf": [o.json() for o in self.options]}


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


class _Derived:
    def __repr__(self) -> str:
        return "DERIVED"


REQUIRED: Any = _Required()
DERIVED: Any = _Derived()


@dataclass
class Field:
    spec: Spec
    default: Any = None
    doc: str = ""
    derived: str = ""  # with default=DERIVED: what the loader fills in


@dataclass
class Map(Spec):
    """A closed mapping of named fields; ``check`` fills in defaults."""

    fields: dict[str, Field] = field(default_factory=dict)
    what: str = "a mapping"
    types: tuple[type, ...] = (dict,)

    def check(self, v: Any) -> Any:
        v = super().check(v)
        out: dict[str, Any] = {}
        for k in v:
            if k not in self.fields:
                raise SpecError(f"unknown key {k!r}", allowed_hint(k, self.fields), (k,))
        for name, f in self.fields.items():
            if name in v:
                try:
                    out[name] = f.spec.check(v[name])
                except SpecError as e:
                    raise SpecError(e.problem, e.hint, (name, *e.subpath)) from None
            elif f.default is REQUIRED:
                raise SpecError(f"missing {name!r}", f.doc)
            elif f.default is not DERIVED:
                out[name] = f.default
        return out

    def json(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {k: field_json(f) for k, f in self.fields.items()},
            "required": [k for k, f in self.fields.items() if f.default is REQUIRED],
            "additionalProperties": False,
        }


def field_json(f: Field) -> dict[str, Any]:
    out = dict(f.spec.json())
    doc = f.doc
    if f.default is DERIVED and f.derived:
        doc = f"{doc} Default: {f.derived}".strip()
    if doc:
        out["description"] = doc
    if f.default not in (REQUIRED, DERIVED) and _jsonable(f.default):
        out["default"] = f.default
    return out


def _jsonable(v: Any) -> bool:
    return v is None or isinstance(v, (bool, int, float, str, list, dict))


# --------------------------------------------------------------------------- node options

_LIFETIME = Int(0, INFINITY)
_DNS = ListOf(Address(), single=True)
_SEARCH = ListOf(Str(r"^[A-Za-z0-9.-]+$", "a domain name", "lab.example"), single=True)
_BOOL_F = Field(Bool(), False)
_IFACE = Field(
    IfName(),
    DERIVED,
    "The interface the daemon runs on.",
    "the node's only interface (a client's downstream one aside); required when it has several.",
)

COMMON_OPTIONS: dict[str, Field] = {
    "dad": Field(
        Bool(),
        False,
        "Duplicate address detection on the node's interfaces (off: addresses work at once).",
    ),
    "sysctl": Field(
        AnyMap(),
        {},
        "Extra sysctls set in the node's namespace, e.g. net.ipv6.conf.all.accept_dad: 0.",
    ),
}

DAEMON_OPTIONS: dict[str, Field] = {
    "autostart": Field(
        Bool(), True, "Start the node's daemon with the lab (false: a scenario `start:` does)."
    ),
}

RA_FIELDS = {
    "managed": Field(Bool(), False, "M flag: addresses come from DHCPv6."),
    "other": Field(Bool(), False, "O flag: other configuration comes from DHCPv6."),
    "autonomous": Field(Bool(), False, "A flag on the advertised link prefix (SLAAC)."),
    "interfaces": Field(
        Nullable(ListOf(IfName(), single=True)), None, "Interfaces to advertise on (null: all)."
    ),
    "interval": Field(Int(3, 1800), 10, "Seconds between unsolicited advertisements."),
    "lifetime": Field(Int(0, 9000), 1800, "Router lifetime in seconds (0: not a default router)."),
}

PD_POOL = Nullable(
    OneOf(
        (
            Map(
                {
                    "prefix": Field(Prefix(), REQUIRED, "the pool prefix"),
                    "delegated_length": Field(Int(1, 128), REQUIRED, "e.g. 56"),
                }
            ),
            Tuple((Prefix(), Int(1, 128)), what="[PREFIX, LENGTH]"),
        )
    )
)

KIND_OPTIONS: dict[str, dict[str, Field]] = {
    "dhcp6-server": {
        "interface": Field(
            ListOf(IfName(), single=True),
            DERIVED,
            "Interfaces to listen on (`dhcp6 server -i`); the config's subnets add theirs.",
            "all of the node's interfaces.",
        ),
        "config": Field(
            OneOf((AnyMap(), Str(what="a path to a server config file"))),
            DERIVED,
            "The server config (`dhcp6 server -c`, see `dhcp6 server --help`): a mapping, or "
            "a path relative to the topology file.",
            "a subnet per interface on a prefixed link, and a relayed subnet per link a "
            "relay forwarding to this server listens on.",
        ),
        "leases": Field(
            Nullable(Str()), None, "SQLite lease database (null: in the node's run directory)."
        ),
        "durability": Field(
            Enum(("normal", "full")), "normal", "normal: survives kill -9; full: fsync."
        ),
    },
    "dhcp6-client": {
        "interface": _IFACE,
        "ia_na": Field(Int(0, 16), 1, "IA_NAs to ask for."),
        "ia_pd": Field(
            OneOf((Int(0, 16), Str(r"^[0-9]+/[0-9]+$", "N/HINTLEN", "1/56"))),
            0,
            "IA_PDs to ask for, N or N/HINTLEN.",
        ),
        "rapid_commit": Field(Bool(), False, "Ask for a two-message exchange."),
        "reconfigure_accept": Field(Bool(), False, "Accept authenticated Reconfigure."),
        "stateless": Field(Bool(), False, "Information-request only."),
        "prefixlen": Field(Int(1, 128), 128, "Prefix length of leased addresses."),
        "seed": Field(Nullable(OneOf((Int(0), Str()))), None, "Seed for delays and xids."),
        "downstream": Field(
            Nullable(IfName()), None, "Number the first /64 of a delegated prefix here."
        ),
    },
    "dhcp6-relay": {
        "listen": Field(
            ListOf(IfName(), min=1, single=True),
            DERIVED,
            "Client-facing interfaces (`--listen IF…`).",
            "the relay's interfaces on links with a client.",
        ),
        "server": Field(
            ListOf(Str(what="ADDR[%IF] or a node name"), min=1, single=True),
            DERIVED,
            "Where to forward (`--server`): ADDR[%IF] (e.g. ff05::1:3) or a server node's name "
            "(its first address).",
            "the first address of every server node.",
        ),
        "forwarding": Field(
            Bool(), True, "IPv6 forwarding: a relay with forwarding on also routes, like a router."
        ),
        "interface_id": Field(
            Bool(),
            False,
            "Always add an Interface-ID option (added anyway on a link without a global address).",
        ),
    },
    "router": {
        "forwarding": Field(Bool(), True, "IPv6 forwarding (off: routes do not cross it)."),
        "ra": Field(
            OneOf((Bool(), Map(RA_FIELDS, what="a mapping of RA settings"))),
            False,
            "Router Advertisements: false, true (defaults) or {managed, other, …}.",
        ),
    },
    "host": {},  # a plain end host: addresses, routes, sysctl; routes never cross it
    "kea": {
        "interface": _IFACE,
        "subnet": Field(
            Prefix(),
            DERIVED,
            "The subnet served.",
            "the interface's link prefix (relayed: the relay's client link prefix).",
        ),
        "pool": Field(
            Str(what="FIRST-LAST or a prefix", example="2001:db8:1::100-2001:db8:1::1ff"),
            DERIVED,
            "Address pool.",
            "SUBNET::100-SUBNET::1ff.",
        ),
        "pd_pool": Field(
            PD_POOL,
            ["2001:db8:8000::/48", 56],
            "Prefix-delegation pool: [PREFIX, LENGTH], {prefix, delegated_length} or null.",
        ),
        "preferred": Field(_LIFETIME, 3000, "Preferred lifetime (s)."),
        "valid": Field(_LIFETIME, 4000, "Valid lifetime (s)."),
        "t1": Field(Nullable(_LIFETIME), None, "T1 (s); null: Kea's default."),
        "t2": Field(Nullable(_LIFETIME), None, "T2 (s); null: Kea's default."),
        "rapid_commit": _BOOL_F,
        "preference": Field(Nullable(Int(0, 255)), None, "Preference option (always sent)."),
        "dns": Field(_DNS, ["2001:db8::53"], "DNS servers."),
        "domain_search": Field(_SEARCH, ["lab.example"], "Domain search list."),
        "relayed": Field(Bool(), False, "The subnet serves relayed clients (no interface)."),
        "unicast": Field(
            Nullable(Address()),
            DERIVED,
            "Address Kea listens on for relayed unicast.",
            "the node's address on the interface when relayed, else null.",
        ),
        "persist": Field(Bool(), True, "Keep leases in a CSV file."),
        "log_severity": Field(Enum(("FATAL", "ERROR", "WARN", "INFO", "DEBUG")), "INFO"),
        "log_debuglevel": Field(Int(0, 99), 0),
    },
    "dnsmasq": {
        "interface": _IFACE,
        "range": Field(
            OneOf(
                (
                    Str(what="FIRST,LAST", example="2001:db8:1::100,2001:db8:1::1ff"),
                    Tuple((Address(), Address()), what="[FIRST, LAST]"),
                )
            ),
            DERIVED,
            "Address range.",
            "LINKPREFIX::100,LINKPREFIX::1ff.",
        ),
        "prefixlen": Field(Int(1, 128), DERIVED, "Prefix length of the range.", "the link's."),
        "lease_time": Field(
            Str(what="a dnsmasq lease time"), "2m", "dnsmasq syntax: 2m, 1h, infinite (≥ 2m)."
        ),
        "dns": Field(_DNS, ["2001:db8::53"], "DNS servers."),
        "domain_search": Field(_SEARCH, ["lab.example"], "Domain search list."),
        "lease_max": Field(Int(1), 100_000, "Maximum leases."),
    },
    "dhclient": {
        "interface": _IFACE,
        "na": Field(Bool(), True, "Ask for an address."),
        "pd": Field(Bool(), False, "Ask for a prefix."),
        "rapid_commit": _BOOL_F,
    },
    "dhcpcd": {
        "interface": _IFACE,
        "nodelay": Field(Bool(), True, "Skip the initial random delay."),
        "na": Field(Bool(), True, "Ask for an address."),
        "pd": Field(Bool(), False, "Ask for a prefix."),
        "rapid_commit": _BOOL_F,
    },
    "wide-dhcp6c": {
        "interface": _IFACE,
        "na": Field(Bool(), True, "Ask for an address."),
        "pd": Field(Bool(), False, "Ask for a prefix."),
        "rapid_commit": _BOOL_F,
    },
}
assert set(KIND_OPTIONS) == set(KINDS)


def options_for(kind: str) -> dict[str, Field]:
    """Every option a node of ``kind`` takes, common ones included."""
    out = dict(COMMON_OPTIONS)
    if kind in OUR_KINDS or kind in PEER_KINDS:
        out.update(DAEMON_OPTIONS)
    out.update(KIND_OPTIONS[kind])
    return out


ALL_OPTION_NAMES = frozenset(k for kind in KINDS for k in options_for(kind))

TEMPLATE_FIELD = Field(
    Str(what="a path"), None, "A real peer's own jinja2 config template (relative to the topology)."
)
ADDRESSES_DOC = (
    "Static addresses per interface: {eth0: 2001:db8:1::10} or a list; the length "
    "defaults to the link prefix's."
)
NODE_KEYS = ("kind", "addresses", "template")  # besides options

# --------------------------------------------------------------------------- the rest

TOP_KEYS = (
    "name",
    "description",
    "vars",
    "clock",
    "defaults",
    "nodes",
    "links",
    "scenario",
    "expect",
)
LINK_KEYS = ("name", "prefix", "members", "endpoints", "impairment")
CLOCK = Map(
    {
        "time_scale": Field(
            Number(0, exclusive_lo=True),
            1.0,
            "Run every lifetime and timer N× faster (only with our own kinds).",
        )
    }
)
IMPAIRMENT = Map(
    {
        "loss": Field(Number(0, 100), 0.0, "Percent of packets dropped."),
        "duplicate": Field(Number(0, 100), 0.0, "Percent of packets duplicated."),
        "delay": Field(Duration(), 0.0, "Added delay (250ms, 1s…)."),
    }
)
ACTIONS = (
    "link_down",
    "link_up",
    "kill",
    "stop",
    "start",
    "restart",
    "reconfigure",
    "wait",
    "netem",
)
EXPECT_KEYS = ("state", "lease_in", "renewed", "rebound", "seen", "never_seen", "reachable")
CLIENT_STATES = tuple(STATES)
MESSAGE_NAMES = tuple(m.name.replace("_", "-") for m in MessageType)
ENDPOINT_RE = r"^[A-Za-z][A-Za-z0-9_-]{0,31}(:[A-Za-z][A-Za-z0-9_.-]{0,14})?$"


def _node_schema(kind: str) -> dict[str, Any]:
    props: dict[str, Any] = {
        "kind": {"const": kind},
        "addresses": {
            "type": "object",
            "description": ADDRESSES_DOC,
            "additionalProperties": {
                "anyOf": [
                    {"type": "string"},
                    {"type": "array", "items": {"type": "string"}},
                ]
            },
        },
    }
    if kind in PEER_KINDS:
        props["template"] = field_json(TEMPLATE_FIELD)
    for name, f in options_for(kind).items():
        props[name] = field_json(f)
    return {"type": "object", "properties": props, "additionalProperties": False}


def _options_schema(kind: str) -> dict[str, Any]:
    s = _node_schema(kind)
    s["properties"].pop("kind")
    s["properties"].pop("addresses")
    return s


def json_schema() -> dict[str, Any]:
    """The topology format (after jinja rendering) as a JSON Schema (draft 2020-12)."""
    kinds = sorted(KINDS)
    node_defs = {f"node-{k}": _node_schema(k) for k in kinds}
    node = {
        "type": "object",
        "required": ["kind"],
        "properties": {"kind": {"enum": kinds}},
        "allOf": [
            {
                "if": {"properties": {"kind": {"const": k}}, "required": ["kind"]},
                "then": {"$ref": f"#/$defs/node-{k}"},
            }
            for k in kinds
        ],
    }
    endpoint = {"type": "string", "pattern": ENDPOINT_RE, "description": "NODE:IFACE or NODE"}
    link_common = {
        "name": {"type": "string", "pattern": NAME_RE},
        "prefix": {**Prefix().json(), "description": "Addresses ::1, ::2… come from here."},
        "impairment": IMPAIRMENT.json(),
    }
    link = {
        "oneOf": [
            {
                "type": "object",
                "description": "A point-to-point link (a veth pair).",
                "required": ["endpoints"],
                "properties": {
                    **link_common,
                    "endpoints": {"type": "array", "items": endpoint, "minItems": 2, "maxItems": 2},
                },
                "additionalProperties": False,
            },
            {
                "type": "object",
                "description": "A LAN (one bridge).",
                "required": ["members"],
                "properties": {
                    **link_common,
                    "members": {"type": "array", "items": endpoint, "minItems": 1},
                },
                "additionalProperties": False,
            },
        ]
    }
    step = {
        "type": "object",
        "required": ["at"],
        "properties": {"at": Duration().json(), **{a: {} for a in ACTIONS}},
        "additionalProperties": False,
        "minProperties": 2,
        "maxProperties": 2,
    }
    msg_list = {
        "anyOf": [
            {"enum": list(MESSAGE_NAMES)},
            {"type": "array", "items": {"enum": list(MESSAGE_NAMES)}},
            {"type": "object"},
        ]
    }
    expect_node = {
        "type": "object",
        "properties": {
            "state": {"enum": list(CLIENT_STATES)},
            "lease_in": Prefix().json(),
            "renewed": {"anyOf": [{"type": "boolean"}, {"type": "integer", "minimum": 0}]},
            "rebound": {"anyOf": [{"type": "boolean"}, {"type": "integer", "minimum": 0}]},
            "seen": msg_list,
            "never_seen": msg_list,
            "reachable": {
                "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
            },
        },
        "additionalProperties": False,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://dhcp6-lab.invalid/topology.schema.json",
        "title": "dhcp6-lab topology",
        "description": "A dhcp6-lab topology after jinja2 rendering (lab validate checks more: "
        "references, addresses, reachability).",
        "type": "object",
        "required": ["nodes", "links"],
        "properties": {
            "name": {"type": "string", "pattern": NAME_RE},
            "description": {"type": "string"},
            "vars": {"type": "object", "description": "jinja2 variables; --set k=v overrides."},
            "clock": CLOCK.json(),
            "defaults": {
                "type": "object",
                "description": "Options for every node (all) and per kind.",
                "properties": {
                    "all": {"type": "object"},
                    **{k: {"$ref": f"#/$defs/options-{k}"} for k in kinds},
                },
                "additionalProperties": False,
            },
            "nodes": {
                "type": "object",
                "propertyNames": {"pattern": NAME_RE},
                "additionalProperties": {"$ref": "#/$defs/node"},
            },
            "links": {"type": "array", "items": {"$ref": "#/$defs/link"}},
            "scenario": {"type": "array", "items": {"$ref": "#/$defs/step"}},
            "expect": {
                "type": "object",
                "additionalProperties": {"$ref": "#/$defs/expect"},
            },
        },
        "additionalProperties": False,
        "$defs": {
            "node": node,
            **node_defs,
            **{f"options-{k}": _options_schema(k) for k in kinds},
            "link": link,
            "step": step,
            "expect": expect_node,
        },
    }


def option_table() -> Mapping[str, Mapping[str, Field]]:
    """kind → option → Field, for documentation."""
    return {k: options_for(k) for k in sorted(KINDS)}
