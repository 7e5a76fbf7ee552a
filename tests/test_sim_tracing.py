"""The simulator's trace writer: its fast time text and its pre-serialized fields."""

from __future__ import annotations

import io
import json

from hypothesis import example, given
from hypothesis import strategies as st

from lab.sim.tracing import SimTrace, fixed, time_text


@given(st.floats(min_value=0.0, max_value=1e12, allow_nan=False, allow_infinity=False))
@example(0.0)
@example(1e-4)
@example(5e-05)
@example(3600.0)
@example(0.0000005)
@example(86399.9999995)
@example(999_999_999.9999999)
@example(1e9)
def test_time_text_is_the_repr_of_the_rounded_time(t: float) -> None:
    assert time_text(t) == repr(round(t, 6)).encode()


def test_emit_fixed_writes_and_keeps_what_emit_does() -> None:
    out_a, out_b = io.BytesIO(), io.BytesIO()
    a, b = SimTrace(out_a, keep=True), SimTrace(out_b, keep=True)
    f = fixed({"action": "fired", "name": "t1"})
    for t in (0.0, 1.5, 1800.123456789):
        a.now = b.now = t
        a.emit("c1", "timer", {"action": "fired", "name": "t1"})
        b.emit_fixed("c1", "timer", f)
        a.emit("c1", "state", None)
        b.emit("c1", "state", None)
    a.flush()
    b.flush()
    assert out_a.getvalue() == out_b.getvalue()
    assert a.merged() == b.merged() and a.lines == b.lines == 6
    first = json.loads(out_b.getvalue().splitlines()[0])
    assert first == {"t": 0.0, "node": "c1", "event": "timer", "pt": 0.0,
                     "action": "fired", "name": "t1"}  # fmt: skip
