"""Allocation from address ranges and delegated-prefix pools, O(1) amortised per lease.

A cursor walks the range once; values freed later go to a free list. Neither ever scans
the whole pool, so a /64 costs what a /120 does. Whether a value is taken is asked of
the lease table (``in_use``), which is the one truth about bindings.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable


class RangeAllocator:
    """Values ``first, first+step, …, last`` (step > 1 for delegated prefixes)."""

    def __init__(self, first: int, last: int, step: int = 1) -> None:
        self.first, self.last, self.step = first, last, step
        self.cursor = first
        self.free: deque[int] = deque()

    def __contains__(self, value: int) -> bool:
        return self.first <= value <= self.last and (value - self.first) % self.step == 0

    def _next(self, in_use: Callable[[int], bool], take: bool) -> int | None:
        while self.free:
            v = self.free[0]
            if in_use(v):  # taken meanwhile (a hint); it comes back when released
                self.free.popleft()
                continue
            if take:
                self.free.popleft()
            return v
        while self.cursor <= self.last:
            v = self.cursor
            if in_use(v):  # skipping is final: a taken value returns through give_back
                self.cursor += self.step
                continue
            if take:
                self.cursor += self.step
            return v
        return None

    def peek(self, in_use: Callable[[int], bool]) -> int | None:
        """The value ``take`` would return, without reserving it (for an Advertise)."""
        return self._next(in_use, take=False)

    def take(self, in_use: Callable[[int], bool]) -> int | None:
        return self._next(in_use, take=True)

    def give_back(self, value: int) -> None:
        if value in self and value < self.cursor:
            self.free.append(value)
