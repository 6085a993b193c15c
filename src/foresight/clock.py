"""The clock port: controllers never read the wall clock themselves, so the simulator can run
hours of control loop in milliseconds and tests are exact."""

from __future__ import annotations

import time
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock"]


class Clock(Protocol):
    """Where time comes from: Unix seconds, and a way to wait until a moment."""

    def now(self) -> float: ...

    def sleep_until(self, t: float) -> None: ...


class SystemClock:
    """The real clock, for controllers that run against a live cluster."""

    def now(self) -> float:
        return time.time()

    def sleep_until(self, t: float) -> None:
        delay = t - time.time()
        if delay > 0:
            time.sleep(delay)


class ManualClock:
    """A clock that moves only when told to (tests, and the simulator's own time).

    >>> c = ManualClock(100.0)
    >>> c.sleep_until(115.0); c.now()
    115.0
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)

    def now(self) -> float:
        return self._now

    def sleep_until(self, t: float) -> None:
        self._now = max(self._now, float(t))

    def advance(self, seconds: float) -> None:
        self._now += float(seconds)
