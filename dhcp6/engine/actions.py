"""What engines return: actions for their driver to carry out, in order.

Engines never touch sockets, clocks or files; they return these. A driver must carry
out lease actions (``CommitLease``/``RemoveLease``) durably before any ``Send`` that
follows them in the same list — that is how "committed before the Reply" holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv6Address, IPv6Network
from typing import Any

from ..leases.model import Lease
from ..wire import AnyMessage
from ..wire._fast import cheap_init


@cheap_init
@dataclass(frozen=True, slots=True)
class Send:
    message: AnyMessage
    dst: IPv6Address
    port: int
    iface: str | None = None
    hop_limit: int | None = None


@cheap_init
@dataclass(frozen=True, slots=True)
class SetTimer:
    name: str
    at: float  # engine time (protocol seconds)


@cheap_init
@dataclass(frozen=True, slots=True)
class CancelTimer:
    name: str


@cheap_init
@dataclass(frozen=True, slots=True)
class ConfigureAddress:
    address: IPv6Address
    prefixlen: int
    preferred: int
    valid: int
    iface: str | None = None


@cheap_init
@dataclass(frozen=True, slots=True)
class RemoveAddress:
    address: IPv6Address
    prefixlen: int
    iface: str | None = None


@cheap_init
@dataclass(frozen=True, slots=True)
class ConfigurePrefix:
    prefix: IPv6Network
    preferred: int
    valid: int


@cheap_init
@dataclass(frozen=True, slots=True)
class RemovePrefix:
    prefix: IPv6Network


class _Traced:
    """A cache slot for the Trace a driver made of an action once (as _Serialized)."""

    __slots__ = ("_trace",)


#: set the cache slot of a StateChanged: the simulator keeps its state line's Trace
#: there, for an engine that hands the same StateChanged out again
set_state_trace = _Traced.__dict__["_trace"].__set__


@cheap_init
@dataclass(frozen=True, slots=True)
class StateChanged(_Traced):
    old: str
    new: str
    seed: str
    reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # more trace fields (server, …)


@cheap_init
@dataclass(frozen=True, slots=True)
class CommitLease:
    lease: Lease


@cheap_init
@dataclass(frozen=True, slots=True)
class RemoveLease:
    lease: Lease


@cheap_init
@dataclass(frozen=True, slots=True)
class CommitMeta:
    """A durable key/value of the engine's (reconfigure keys, replay counter)."""

    key: str
    value: str


class _Serialized:
    """A cache slot for what a driver made of an action once (see wire/_fast.py: no
    dataclass field, so ==, hash, repr and replace do not see it; built holding None)."""

    __slots__ = ("_json",)


#: set the cache slot of a Trace: the simulator keeps the JSON of its kind and fields
#: there, for an engine that hands the same Trace out again (its fields never change)
set_trace_json = _Serialized.__dict__["_json"].__set__


@cheap_init
@dataclass(frozen=True, slots=True)
class Trace(_Serialized):
    """A trace event (kind and fields per dhcp6.trace); the driver stamps t and node.
    Engines may hand out the same Trace again; neither they nor drivers change its
    fields once it is handed out."""

    kind: str
    fields: dict[str, Any] = field(default_factory=dict)


Action = (
    Send
    | SetTimer
    | CancelTimer
    | ConfigureAddress
    | RemoveAddress
    | ConfigurePrefix
    | RemovePrefix
    | StateChanged
    | CommitLease
    | RemoveLease
    | CommitMeta
    | Trace
)
