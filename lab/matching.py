"""Matching trace events against wanted fields: one rule for the namespace handle
(lab.handle) and the simulator (lab.sim), with no heavy imports."""

from __future__ import annotations

from typing import Any

_MISSING = object()


def msg_name(v: Any) -> Any:
    return v.strip().upper().replace("_", "-") if isinstance(v, str) else v


def fields(kw: dict[str, Any]) -> dict[str, Any]:
    """``from_=`` → ``from`` (a Python keyword)."""
    return {(k[:-1] if k.endswith("_") and k[:-1] in ("from", "in", "not") else k): v
            for k, v in kw.items()}  # fmt: skip


def match_fields(e: dict[str, Any], want_fields: dict[str, Any]) -> bool:
    """Each field equal; a callable is a predicate; a string matches inside a list value
    (``ia="NoAddrsAvail"`` matches ``ia: ["na:1 NoAddrsAvail"]``); ``msg`` also matches a
    relay message's inner message."""
    for k, want in want_fields.items():
        have = e.get(k, _MISSING)
        if k == "msg":
            want = msg_name(want)
            inner = e.get("inner") or {}
            if have != want and inner.get("msg") != want:
                return False
            continue
        if callable(want):
            if have is _MISSING or not want(have):
                return False
        elif isinstance(have, list) and isinstance(want, str):
            if not any(want in str(x) for x in have):
                return False
        elif have != want:
            return False
    return True
