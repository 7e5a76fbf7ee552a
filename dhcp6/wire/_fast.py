"""Cheap construction of the codec's values on the decode path (private to dhcp6.wire).

Two things cost most when decoding, beyond reading the bytes: the generated ``__init__``
of a frozen dataclass (one ``object.__setattr__`` per field, found by name) and the
``IPv6Address`` constructor (which re-checks octets the decoder has already sized).

* :func:`maker` builds, once per class, a function that creates the instance with
  ``object.__new__`` and stores each field through its slot's member descriptor: the same
  object ``cls(*values)`` gives (same type, fields, equality, hash, repr), for classes where
  that is provably so — frozen, slotted dataclasses whose ``__init__`` only assigns its
  arguments (every field ``init=True``, no ``__post_init__``). Anything else is refused at
  import time, so a change to a class cannot silently produce a different value.
* :func:`ip6` makes an ``IPv6Address`` from its 128-bit integer without going through the
  constructor's checks, by setting the two slots the constructor sets. That relies on
  ``ipaddress`` internals, so it is used only if a self-check at import shows the result
  indistinguishable from ``IPv6Address(n)``; otherwise ``ip6`` *is* ``IPv6Address``.
  When the check passes, the encoders also read an address's integer from that slot
  (``a._ip``) instead of going through ``a.packed``.

The public constructors are untouched; these are only used where the codec builds values
from bytes it has validated.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
from collections.abc import Callable
from ipaddress import IPv6Address
from types import MemberDescriptorType
from typing import Any

__all__ = ["IP6_FAST", "ip6", "maker"]


def maker(cls: type) -> Callable[..., Any]:
    """A function ``make(*fields)`` equivalent to ``cls(*fields)`` (all fields positional)."""
    params = dataclasses.fields(cls) if dataclasses.is_dataclass(cls) else ()
    ok = (
        isinstance(cls, type)
        and params
        and cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
        and cls.__dictoffset__ == 0
        and not hasattr(cls, "__post_init__")
        and all(f.init and f._field_type is dataclasses._FIELD for f in params)  # type: ignore[attr-defined]
        and all(isinstance(cls.__dict__.get(f.name), MemberDescriptorType) for f in params)
        and set(cls.__slots__) == {f.name for f in params}  # type: ignore[attr-defined]
    )
    if not ok:
        raise TypeError(f"{cls.__name__}: not a frozen slotted dataclass with a plain __init__")
    names = [f.name for f in params]
    env: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    for i, n in enumerate(names):
        env[f"_s{i}"] = cls.__dict__[n].__set__
    body = "".join(f"    _s{i}(o, {n})\n" for i, n in enumerate(names))
    src = f"def make_{cls.__name__}({', '.join(names)}):\n    o = _new(_cls)\n{body}    return o\n"
    exec(src, env)  # fixed text built from the class's own field names
    return env[f"make_{cls.__name__}"]  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- IPv6Address
def _ip6_fast(n: int) -> IPv6Address:  # pragma: no cover - replaced below when checks pass
    raise NotImplementedError


def _build_ip6_fast() -> Callable[[int], IPv6Address] | None:
    slots = IPv6Address.__dict__.get("__slots__")
    set_ip = IPv6Address.__dict__.get("_ip")
    set_scope = IPv6Address.__dict__.get("_scope_id")
    if set(slots or ()) != {"_ip", "_scope_id", "__weakref__"}:
        return None
    if not isinstance(set_ip, MemberDescriptorType) or not isinstance(
        set_scope, MemberDescriptorType
    ):
        return None
    new, si, ss = object.__new__, set_ip.__set__, set_scope.__set__

    def ip6(n: int) -> IPv6Address:
        a = new(IPv6Address)
        si(a, n)
        ss(a, None)
        return a

    return ip6


def _same(fast: IPv6Address, ref: IPv6Address) -> bool:
    """Whether two addresses are indistinguishable through everything public."""
    props = [
        "packed", "exploded", "compressed", "reverse_pointer", "scope_id", "max_prefixlen",
        "version", "is_multicast", "is_private", "is_global", "is_unspecified", "is_reserved",
        "is_loopback", "is_link_local", "is_site_local", "ipv4_mapped", "sixtofour", "teredo",
    ]  # fmt: skip
    return (
        type(fast) is type(ref)
        and fast == ref
        and ref == fast
        and (fast != ref) is False
        and not (fast < ref or ref < fast)
        and hash(fast) == hash(ref)
        and str(fast) == str(ref)
        and repr(fast) == repr(ref)
        and int(fast) == int(ref)
        and format(fast, "x") == format(ref, "x")
        and all(getattr(fast, p) == getattr(ref, p) for p in props)
        and copy.copy(fast) == ref
        and pickle.loads(pickle.dumps(fast)) == ref
        and fast + 0 == ref + 0
        and getattr(fast, "_ip", None) == int(ref)
        and getattr(ref, "_ip", None) == int(ref)
    )


def _self_check(fast: Callable[[int], IPv6Address]) -> bool:
    samples = [
        "::", "::1", "fe80::216:3eff:fe12:3456", "2001:db8::1", "2001:db8:0:1::1:10",
        "ff02::1:2", "::ffff:192.0.2.1", "2002:c000:204::1", "2001::1",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fec0::1", "64:ff9b::1",
    ]  # fmt: skip
    for text in samples:
        ref = IPv6Address(text)
        n = int(ref)
        if not (_same(fast(n), ref) and _same(fast(n), IPv6Address(ref.packed))):
            return False
    return True


_candidate = _build_ip6_fast()
IP6_FAST: bool = _candidate is not None and _self_check(_candidate)
"""Whether the fast IPv6Address construction passed its self-check (else the constructor)."""

ip6: Callable[[int], IPv6Address] = _candidate if IP6_FAST and _candidate else IPv6Address
