"""The simulator's wait matcher, on the shared event matching of :mod:`lab.matching`."""

from __future__ import annotations

from typing import Any

from ..matching import _MISSING, fields, match_fields, msg_name

__all__ = ["_MISSING", "fields", "match_fields", "msg_name", "wait_matcher"]


def wait_matcher(state: str | None, event: str | None, kw: dict[str, Any]) -> Any:
    """The test ``Lab.wait_for(node, state, event, **kw)`` applies to each event."""
    f = fields(kw)
    if state is not None:
        f["to"] = state.strip().upper()
        event = event or "state"

    def match(e: dict[str, Any]) -> bool:
        return (event is None or e.get("event") == event) and match_fields(e, f)

    return match
