"""Event matching as the namespace handle does it (lab.handle.match_fields, ``_fields``).

Kept here so the simulator's own scenario runner (``wait: {node: …}`` steps) needs no
import of the namespace runtime; tests/test_sim_handle.py checks both agree.
"""

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


def wait_matcher(state: str | None, event: str | None, kw: dict[str, Any]) -> Any:
    """The test ``Lab.wait_for(node, state, event, **kw)`` applies to each event."""
    f = fields(kw)
    if state is not None:
        f["to"] = state.strip().upper()
        event = event or "state"

    def match(e: dict[str, Any]) -> bool:
        return (event is None or e.get("event") == event) and match_fields(e, f)

    return match
