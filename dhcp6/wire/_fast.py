"""Cheap construction of the codec's values on the decode path (private to dhcp6.wire).

The generated ``__init__`` of a frozen dataclass costs most when decoding, beyond reading
the bytes: one ``object.__setattr__`` per field, found by name, behind a type call.
:func:`maker` builds, once per class, a function that creates the instance with
``object.__new__`` and stores each field through its slot's member descriptor: the same
object ``cls(*values)`` gives (same type, fields, equality, hash, repr), for classes where
that is provably so — frozen, slotted dataclasses whose ``__init__`` only assigns its
arguments (every field ``init=True``, no ``__post_init__``). Anything else is refused at
import time, so a change to a class cannot silently produce a different value.

Encoding an address through ``a.packed`` costs two Python calls; the encoders read the
address's integer from its ``_ip`` slot instead, but only if :data:`IP6_SLOT` says an
import-time check found that slot holding exactly ``int(a)``; otherwise they use ``int(a)``.

The public constructors are untouched; these are only used where the codec builds values
from bytes it has validated.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from ipaddress import IPv6Address
from types import MemberDescriptorType
from typing import Any

__all__ = ["IP6_SLOT", "maker", "setters"]


def setters(cls: type) -> tuple[Callable[[Any, Any], None], ...]:
    """The slot setters of ``cls``'s fields, in ``__init__`` order, after checking that
    ``o = object.__new__(cls)`` followed by ``setter(o, value)`` for each field builds what
    ``cls(*values)`` builds."""
    params = dataclasses.fields(cls) if dataclasses.is_dataclass(cls) else ()
    ok = (
        isinstance(cls, type)
        and cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
        and cls.__dictoffset__ == 0
        and not hasattr(cls, "__post_init__")
        and all(f.init and f._field_type is dataclasses._FIELD for f in params)  # type: ignore[attr-defined]
        and all(isinstance(cls.__dict__.get(f.name), MemberDescriptorType) for f in params)
        and set(cls.__slots__) == {f.name for f in params}  # type: ignore[attr-defined]
    )
    if not ok:
        raise TypeError(f"{cls.__name__}: not a frozen slotted dataclass with a plain __init__")
    return tuple(cls.__dict__[f.name].__set__ for f in params)


def maker(cls: type) -> Callable[..., Any]:
    """A function ``make(*fields)`` equivalent to ``cls(*fields)`` (all fields positional)."""
    sets = setters(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    env: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    env.update((f"_s{i}", fn) for i, fn in enumerate(sets))
    body = "".join(f"    _s{i}(o, {n})\n" for i, n in enumerate(names))
    src = f"def make_{cls.__name__}({', '.join(names)}):\n    o = _new(_cls)\n{body}    return o\n"
    exec(src, env)  # fixed text built from the class's own field names
    return env[f"make_{cls.__name__}"]  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- IPv6Address
def _ip_slot_holds_the_integer() -> bool:
    """Whether ``IPv6Address`` keeps its value as the int in its ``_ip`` slot."""
    slot = IPv6Address.__dict__.get("_ip")
    if not isinstance(slot, MemberDescriptorType):
        return False
    samples = [
        "::", "::1", "fe80::216:3eff:fe12:3456", "2001:db8::1", "2001:db8:0:1::1:10",
        "::ffff:192.0.2.1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe80::1%eth0",
    ]  # fmt: skip
    for text in samples:
        a = IPv6Address(text)
        for b in (a, IPv6Address(int(a)), IPv6Address(a.packed)):
            v = slot.__get__(b, IPv6Address)
            if type(v) is not int or v != int(a) or v.to_bytes(16, "big") != a.packed:
                return False
    return True


IP6_SLOT: bool = _ip_slot_holds_the_integer()
"""Whether encoders may read an address's integer as ``a._ip`` (else ``int(a)``)."""
