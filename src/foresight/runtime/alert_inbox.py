"""The bounded queue between Alertmanager's webhook (API threads) and the incident controller (the runtime).

A webhook call must answer at once, whatever the controllers are doing, and a flood of alerts must
not grow memory without bound. So the API only :meth:`AlertInbox.offer` s a notification's alerts:
accepted whole (then correlated at the controller's next step, on a graceful stop included) or refused
whole with :class:`InboxFull` (the API answers 429 with ``Retry-After``), never half. Once closed
(the process is stopping, the controller has drained it for the last time) every offer is refused
with :class:`InboxClosed` (503): nothing is accepted that would not be correlated.

Each batch keeps the wall-clock time it arrived at: the controller places alert times on the
platform's clock from it, and clamps an alert "from the future" (a sender whose clock runs ahead)
to its arrival.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

from foresight.correlate.model import Alert
from foresight.errors import ConfigError, ServiceUnavailable

__all__ = ["AlertInbox", "InboxClosed", "InboxFull"]


class InboxFull(ServiceUnavailable):
    """The queue cannot take the whole batch now; ``retry_after_s`` says when it likely can."""


class InboxClosed(ServiceUnavailable):
    """The process is stopping: nothing more is accepted."""


class AlertInbox:
    """At most ``capacity`` alerts waiting; thread-safe. ``wall`` is the clock arrivals are stamped with.

    An empty inbox takes any batch, even one larger than ``capacity``: refused, it would be refused for
    ever (Alertmanager re-sends the same notification). Its size is bounded by the API's body limit.
    """

    def __init__(self, capacity: int = 10_000, *, retry_after_s: float = 1.0,
                 wall: Callable[[], float] = time.time) -> None:
        if capacity < 1 or not (math.isfinite(retry_after_s) and retry_after_s > 0):
            raise ConfigError(f"alert inbox: capacity ({capacity}) must be >= 1 and retry_after_s "
                              f"({retry_after_s}) a positive number of seconds")
        self.capacity, self.retry_after_s, self.wall = capacity, float(retry_after_s), wall
        self._lock = threading.Lock()
        self._queue: deque[tuple[float, Alert]] = deque()
        self._closed = False
        self.accepted = 0
        self.refused = 0

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def offer(self, alerts: Sequence[Alert]) -> int:
        """Queue all of ``alerts`` or none (:class:`InboxFull`, :class:`InboxClosed`); returns how many wait now."""
        with self._lock:
            if self._closed:
                self.refused += len(alerts)
                raise InboxClosed("Foresight is stopping and accepts no more alerts; send them to another replica")
            if self._queue and len(self._queue) + len(alerts) > self.capacity:
                self.refused += len(alerts)
                raise InboxFull(f"alert queue full ({len(self._queue)} of {self.capacity} waiting, {len(alerts)} "
                                f"offered); retry in {self.retry_after_s:g} s", retry_after_s=self.retry_after_s)
            now = self.wall()
            self._queue.extend((now, a) for a in alerts)
            self.accepted += len(alerts)
            return len(self._queue)

    def drain(self) -> list[tuple[float, Alert]]:
        """Everything waiting, oldest first, each with its arrival (wall-clock seconds)."""
        with self._lock:
            out = list(self._queue)
            self._queue.clear()
            return out

    def close(self) -> None:
        """Refuse every later offer (what is queued stays, for the last drain)."""
        with self._lock:
            self._closed = True
