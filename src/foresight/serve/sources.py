"""A metrics source that remembers whether it works, so the API and the dashboard can say so.

Every controller of ``foresight serve`` reads through one :class:`MonitoredSource` per backend.
When the backend fails, the failure is kept (what, since when) and re-raised as
:class:`~foresight.errors.ServiceUnavailable`, which the controllers already treat as "skip this
period and record why"; the dashboard shows a banner instead of charts that silently stop.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from foresight.clock import Clock
from foresight.errors import ForesightError, ServiceUnavailable
from foresight.ports import MetricsSource
from foresight.series import Series

__all__ = ["MonitoredSource", "SourceHealth"]


@dataclass(frozen=True)
class SourceHealth:
    """What is known about one source: ``ok`` after its last call, the error of the last failure."""

    name: str
    ok: bool
    error: str | None
    last_ok_at: float | None
    failing_since: float | None


class MonitoredSource:
    """Wraps a :class:`~foresight.ports.MetricsSource`; records each call's outcome (thread-safe).

    ``fail_with(reason)`` makes every call fail until ``fail_with(None)``: how the simulator's
    "metrics source down" fault is injected, and how an operator's drill breaks it on purpose.

    >>> from foresight.clock import ManualClock
    >>> class Empty:
    ...     def query_range(self, query, start, end, step_s): return []
    >>> src = MonitoredSource("sim", Empty(), ManualClock(10.0))
    >>> src.query_range("up", 0.0, 10.0, 5.0), src.health().ok
    ([], True)
    >>> src.fail_with("drill")
    >>> try:
    ...     src.query_range("up", 0.0, 10.0, 5.0)
    ... except ServiceUnavailable as exc:
    ...     print(exc)
    metrics source sim unavailable: drill
    """

    def __init__(self, name: str, inner: MetricsSource, clock: Clock) -> None:
        self.name = name
        self.inner = inner
        self.clock = clock
        self._lock = threading.Lock()
        self._forced: str | None = None
        self._error: str | None = None
        self._last_ok_at: float | None = None
        self._failing_since: float | None = None

    def fail_with(self, reason: str | None) -> None:
        """Fail every call with ``reason`` from now on (None: work normally again)."""
        with self._lock:
            self._forced = reason

    def query_range(self, query: str, start: float, end: float, step_s: float) -> list[Series]:
        with self._lock:
            forced = self._forced
        try:
            if forced is not None:
                raise ServiceUnavailable(f"metrics source {self.name} unavailable: {forced}")
            result = self.inner.query_range(query, start, end, step_s)
        except ServiceUnavailable as exc:
            self._failed(str(exc))
            raise
        except ForesightError:
            raise  # a bad query is the caller's error, not the source being down
        except Exception as exc:  # a transport or driver error: the source is down
            self._failed(f"metrics source {self.name}: {type(exc).__name__}: {exc}")
            raise ServiceUnavailable(f"metrics source {self.name}: {type(exc).__name__}: {exc}") from exc
        with self._lock:
            self._error, self._failing_since, self._last_ok_at = None, None, self.clock.now()
        return result

    def _failed(self, message: str) -> None:
        with self._lock:
            if self._failing_since is None:
                self._failing_since = self.clock.now()
            self._error = message

    def health(self) -> SourceHealth:
        with self._lock:
            return SourceHealth(self.name, self._error is None, self._error, self._last_ok_at, self._failing_since)
