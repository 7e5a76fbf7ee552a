"""RFC 9915 §15 retransmission: RT from IRT, RAND, MRT, MRC and MRD — no clock, no RNG.

The caller injects ``rand``: a function returning floats uniform in [0, 1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..constants import Retransmission


def rand_factor(rand: Callable[[], float]) -> float:
    """RAND uniform in [-0.1, 0.1]."""
    return -0.1 + 0.2 * rand()


def positive_rand_factor(rand: Callable[[], float]) -> float:
    """RAND strictly greater than 0 (§18.2.1: the first Solicit RT exceeds IRT)."""
    return 0.1 * (1.0 - rand())  # (0, 0.1]


@dataclass(slots=True)
class Exchange:
    """One client-initiated exchange: its transaction id and its retransmission state."""

    msg_type: int
    xid: int
    params: Retransmission
    deadline: float | None = None  # absolute MRD (engine time); None: none
    started: float | None = None  # first transmission (Elapsed Time counts from here)
    count: int = 0  # transmissions so far
    rt: float = 0.0  # the current RT
    first_rt_positive: bool = False

    def elapsed_centiseconds(self, now: float) -> int:
        """§21.9: 0 on the first transmission, then hundredths of a second, capped."""
        if self.started is None or self.count == 0:
            return 0
        return min(0xFFFF, max(0, round((now - self.started) * 100)))

    def next_rt(self, rand: Callable[[], float], mrt: float | None = None) -> float:
        """The RT to wait after the transmission being made now (§15)."""
        irt = self.params.irt
        cap = self.params.mrt if mrt is None else mrt
        if self.count == 0:
            # rand_factor / positive_rand_factor, inline (an exchange's first RT is the one
            # every Renew draws)
            r = 0.1 * (1.0 - rand()) if self.first_rt_positive else -0.1 + 0.2 * rand()
            rt = irt + r * irt
        else:
            rt = 2 * self.rt + rand_factor(rand) * self.rt
        if cap and rt > cap:
            rt = cap + rand_factor(rand) * cap
        return rt

    def exhausted(self, now: float) -> bool:
        """MRC reached or MRD passed: the exchange has failed."""
        if self.params.mrc and self.count >= self.params.mrc:
            return True
        return self.deadline is not None and now >= self.deadline


_new = object.__new__


def new_exchange(msg_type: int, xid: int, params: Retransmission, deadline: float | None,
                 first_rt_positive: bool) -> Exchange:  # fmt: skip
    """``Exchange(msg_type, xid, params, deadline, first_rt_positive=…)``, its fields stored
    without the type call and ``__init__`` frame (a client starts an exchange per renewal;
    tests/test_client_fastpaths.py checks it against the constructor)."""
    ex = _new(Exchange)
    ex.msg_type = msg_type
    ex.xid = xid
    ex.params = params
    ex.deadline = deadline
    ex.started = None
    ex.count = 0
    ex.rt = 0.0
    ex.first_rt_positive = first_rt_positive
    return ex
