"""Cheap construction of the codec's values on the decode path (private to dhcp6.wire).

Beyond reading the bytes, what decoding costs most is building the values. A frozen
dataclass's generated ``__init__`` runs behind a type call and stores each field with
``object.__setattr__`` (found by name, since the class's own ``__setattr__`` refuses);
``IPv6Address(n)`` runs ``__init__`` and a range check the decoder has no use for.

* :func:`setters` gives a class's slot setters (the member descriptors' ``__set__``):
  ``o = object.__new__(cls)`` then ``setter(o, value)`` per field builds what
  ``cls(*values)`` builds, for classes where that is provably so — frozen, slotted
  dataclasses whose ``__init__`` only assigns its arguments (every field ``init=True``, no
  ``__post_init__``). Anything else is refused at import time, so a change to a class
  cannot silently make the decoder build something else.
* :func:`maker` compiles, once per class, a function ``make(*fields)`` doing the same. For
  two slots or more to fill (fields and cache slots) it goes cheaper still: it fills an
  instance of a twin class — same bases and slots but the plain ``__setattr__``, so a
  field is one slot store — and then gives the object its real class (``__class__``
  assignment, which CPython allows between classes of identical layout). A twin maker is
  used only if a check at import finds its objects indistinguishable from the
  constructor's (type, fields, ==, hash, repr, still frozen, ``dataclasses.replace``,
  ``copy``); otherwise the setters are used.

A slot a class inherits that is no field is a cache (an option's wire form, a decoded
message's index of its options): ``maker`` and ``cheap_init`` build objects holding None
there (see :func:`cache_slots`); ``==``, hash, repr and pickling see fields only.

``IPv6Address(n)`` costs a type call, ``__init__`` and a range check the decoder does not
need (its integers come from 16 octets). When :data:`IP6_FAST` is true, the decoders build
an address as ``object.__new__(IPv6Address)`` and set the two slots ``__init__`` sets
(``_ip``, ``_scope_id``), and the encoders read ``a._ip`` rather than ``a.packed`` (two
Python calls). These are ``ipaddress`` internals, so IP6_FAST is true only if a self-check
at import finds such an address indistinguishable from ``IPv6Address(n)`` — type,
equality both ways, ordering, hash, str, repr, int, every property, copy and pickle — and
``_ip`` holding exactly ``int(a)``; otherwise the codec uses ``IPv6Address(n)`` and
``a.packed``.

:func:`cheap_init` gives such a class a public constructor built the same way (each field
stored through its slot's descriptor, defaults and default factories as the dataclass
has them), checked at import against the dataclass's own ``__init__``: engines build
messages and actions by the dozen for every exchange.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
from collections.abc import Callable
from ipaddress import IPv6Address
from types import MemberDescriptorType
from typing import Any, TypeVar

__all__ = [
    "IP6_FAST",
    "IP_SET",
    "SCOPE_SET",
    "cache_slots",
    "cheap_init",
    "ip6",
    "maker",
    "setters",
]


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


def cache_slots(cls: type) -> tuple[str, ...]:
    """The slots ``cls`` inherits that are no field of it: caches, which the objects
    ``maker`` and ``cheap_init`` build hold None in (unless a maker is given a value)."""
    fields = {f.name for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else set()
    out: list[str] = []
    for base in cls.__mro__[1:]:
        slots = base.__dict__.get("__slots__", ())
        for n in (slots,) if isinstance(slots, str) else slots:
            if n not in ("__weakref__", "__dict__") and n not in fields and n not in out:
                out.append(n)
    return tuple(out)


def _slot_setter(cls: type, name: str) -> Callable[[Any, Any], None]:
    for base in cls.__mro__:
        d = base.__dict__.get(name)
        if isinstance(d, MemberDescriptorType):
            return d.__set__
    raise TypeError(f"{cls.__name__}: no slot {name}")  # pragma: no cover


def maker(cls: type, *given: str) -> Callable[..., Any]:
    """A function ``make(*fields)`` that builds what ``cls(*fields)`` builds, cheaper.

    With two slots or more to fill (fields and cache slots), the object is built as an
    instance of a twin class (same bases, same slots, but the plain ``__setattr__``, so
    each field is one specialised slot store) and then given its class with
    ``o.__class__ = cls``; with one (or if the twin fails its check), with
    ``object.__new__(cls)`` and the slot setters. (Measured: a setter call costs about as
    much as the class assignment, so two slots already favour the twin, e.g. a Trace's kind,
    fields and cache slot: ~0.9k machine instructions less than the setters.) ``given`` names cache slots
    (:func:`cache_slots`) whose values follow the fields' (``make(*fields, *values)``);
    the other cache slots hold None.
    """
    sets = setters(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    caches = cache_slots(cls)
    if not set(given) <= set(caches):
        raise TypeError(f"{cls.__name__}: {given} are not all cache slots of it")
    values = {n: (n if n in given else "None") for n in caches}
    args = ", ".join(names + list(given))
    if len(names) + len(caches) >= 2:
        twin = type(f"_{cls.__name__}Twin", cls.__bases__, {"__slots__": cls.__slots__})
        body = "".join(f"    __obj.{n} = {n}\n" for n in names)
        body += "".join(f"    __obj.{n} = {v}\n" for n, v in values.items())
        src = f"def make({args}):\n    __obj = _new(_twin)\n{body}    __obj.__class__ = _cls\n    return __obj\n"
        make = _compile(src, {"_new": object.__new__, "_twin": twin, "_cls": cls})
        if _same_as_constructor(cls, make, len(given)):
            return make
    env: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    env.update((f"_s{i}", fn) for i, fn in enumerate(sets))
    env.update((f"_c{i}", _slot_setter(cls, n)) for i, n in enumerate(caches))
    body = "".join(f"    _s{i}(__obj, {n})\n" for i, n in enumerate(names))
    body += "".join(f"    _c{i}(__obj, {v})\n" for i, v in enumerate(values.values()))
    make = _compile(f"def make({args}):\n    __obj = _new(_cls)\n{body}    return __obj\n", env)
    if not _same_as_constructor(cls, make, len(given)):  # pragma: no cover - setters() vouches
        raise TypeError(f"{cls.__name__}: slot setters do not rebuild the object")
    return make


_C = TypeVar("_C", bound=type)
_UNSET = object()


def cheap_init(cls: _C) -> _C:
    """Give a frozen slotted dataclass an ``__init__`` that stores each field through its
    slot's descriptor instead of ``object.__setattr__`` looked up by name: the same object
    for the same arguments (positional or by name, defaults and default factories
    included), at about half the cost. :func:`setters` refuses a class this would not hold
    for; the new ``__init__`` is kept only if it builds what the old one builds."""
    sets = setters(cls)
    fields = dataclasses.fields(cls)
    env: dict[str, Any] = {"_UNSET": _UNSET}
    params, body = [], []
    for i, f in enumerate(fields):
        env[f"_s{i}"] = sets[i]
        value = f.name
        if f.default is not dataclasses.MISSING:
            env[f"_d{i}"] = f.default
            params.append(f"{f.name}=_d{i}")
        elif f.default_factory is not dataclasses.MISSING:
            env[f"_f{i}"] = f.default_factory
            params.append(f"{f.name}=_UNSET")
            value = f"_f{i}() if {f.name} is _UNSET else {f.name}"
        else:
            params.append(f.name)
        body.append(f"    _s{i}(self, {value})\n")
    for i, n in enumerate(cache_slots(cls)):
        env[f"_c{i}"] = _slot_setter(cls, n)
        body.append(f"    _c{i}(self, None)\n")
    code = "".join(body) or "    pass\n"
    init = _compile(f"def make(self, {', '.join(params)}):\n{code}", env)
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__name__ = "__init__"
    old = cls.__init__  # type: ignore[misc]
    for n in range(len(fields) + 1):  # every count of arguments the old one accepts
        values = [object() for _ in range(n)]
        try:
            ref = object.__new__(cls)
            old(ref, *values)
        except TypeError:
            continue
        obj = object.__new__(cls)
        init(obj, *values)
        if not (type(obj) is cls and obj == ref and repr(obj) == repr(ref)):  # pragma: no cover
            return cls
    cls.__init__ = init  # type: ignore[misc]
    return cls


def _compile(src: str, env: dict[str, Any]) -> Callable[..., Any]:
    exec(src, env)  # fixed text built from the class's own field names
    return env["make"]  # type: ignore[no-any-return]


def _same_as_constructor(cls: type, make: Callable[..., Any], given: int = 0) -> bool:
    """Whether ``make`` builds objects indistinguishable from the constructor's (``given``:
    how many cache slot values it takes after the fields)."""
    fields = dataclasses.fields(cls)
    values = [object() for _ in fields]  # distinct values of no field's type: identity shows
    ref = cls(*values)
    try:
        o = make(*values, *[None] * given)
    except TypeError:  # e.g. __class__ assignment refused: the layouts differ
        return False
    frozen = True  # assigning a field must still raise
    if fields:
        try:
            setattr(o, fields[0].name, None)
        except dataclasses.FrozenInstanceError:
            pass
        else:
            frozen = False
    return (
        frozen
        and type(o) is cls
        and all(getattr(o, f.name) is v for f, v in zip(fields, values, strict=True))
        and o == ref
        and ref == o
        and hash(o) == hash(ref)
        and repr(o) == repr(ref)
        and dataclasses.replace(o) == ref
        and copy.copy(o) == ref
    )


# --------------------------------------------------------------------------- IPv6Address
_IP_SET = _SCOPE_SET = None
_ip_slot = IPv6Address.__dict__.get("_ip")
_scope_slot = IPv6Address.__dict__.get("_scope_id")
if (
    isinstance(_ip_slot, MemberDescriptorType)
    and isinstance(_scope_slot, MemberDescriptorType)
    and set(IPv6Address.__dict__.get("__slots__", ())) == {"_ip", "_scope_id", "__weakref__"}
):
    _IP_SET, _SCOPE_SET = _ip_slot.__set__, _scope_slot.__set__


def _ip6_fast(n: int) -> IPv6Address:
    """The unchecked construction the decoders inline (used here only for the check)."""
    a = object.__new__(IPv6Address)
    _IP_SET(a, n)  # type: ignore[misc]
    _SCOPE_SET(a, None)  # type: ignore[misc]
    return a


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
        and (fast < ref or ref < fast) is False
        and hash(fast) == hash(ref)
        and str(fast) == str(ref)
        and repr(fast) == repr(ref)
        and int(fast) == int(ref)
        and format(fast, "x") == format(ref, "x")
        and all(getattr(fast, p) == getattr(ref, p) for p in props)
        and copy.copy(fast) == ref
        and pickle.loads(pickle.dumps(fast)) == ref
        and fast + 0 == ref
        and getattr(fast, "_ip", None) == int(ref)
        and getattr(ref, "_ip", None) == int(ref)
    )


def _self_check() -> bool:
    if _IP_SET is None:
        return False
    samples = [
        "::", "::1", "fe80::216:3eff:fe12:3456", "2001:db8::1", "2001:db8:0:1::1:10",
        "ff02::1:2", "::ffff:192.0.2.1", "2002:c000:204::1", "2001::1", "fec0::1",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "64:ff9b::1",
    ]  # fmt: skip
    for text in samples:
        ref = IPv6Address(text)
        for other in (ref, IPv6Address(int(ref)), IPv6Address(ref.packed)):
            if not _same(_ip6_fast(int(ref)), other):
                return False
    return True


IP6_FAST: bool = _self_check()
"""Whether the codec may build an IPv6Address as ``object.__new__`` plus ``IP_SET(a, n)``
and ``SCOPE_SET(a, None)``, and read its integer as ``a._ip``; otherwise it uses
``IPv6Address(n)`` and ``a.packed``."""
IP_SET: Callable[[Any, Any], None] = _IP_SET if IP6_FAST else None  # type: ignore[assignment]
SCOPE_SET: Callable[[Any, Any], None] = _SCOPE_SET if IP6_FAST else None  # type: ignore[assignment]
_new = object.__new__


def ip6(n: int) -> IPv6Address:
    """``IPv6Address(n)`` for a 128-bit ``n`` (the unchecked way when IP6_FAST)."""
    if IP6_FAST:
        a = _new(IPv6Address)
        IP_SET(a, n)
        SCOPE_SET(a, None)
        return a  # type: ignore[no-any-return]
    return IPv6Address(n)
