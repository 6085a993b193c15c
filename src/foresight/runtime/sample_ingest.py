"""Samples into the partitioned stream: the remote-write receiver's ``deliver`` and a Prometheus poller.

Both hand samples over only when the stream has acknowledged them. When it cannot (full, or the
broker away) :class:`~foresight.scaleout.Backpressure` reaches the sender: the remote-write route
answers 429 with ``Retry-After`` and Prometheus sends the samples again; the poller keeps its read
position and reads the same range again next period. A retried batch has the same content id, so the
stream stores it once.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence

from foresight.errors import ForesightError
from foresight.ports import MetricsSource
from foresight.scaleout import Backpressure
from foresight.scaleout.codec import SampleBatch
from foresight.scaleout.partition import batches_of
from foresight.series import Series

__all__ = ["StreamIngest", "StreamPoller"]

_log = logging.getLogger(__name__)


class StreamIngest:
    """``deliver(series)``: publish the samples, one batch per partition, or raise :class:`Backpressure`."""

    def __init__(self, publish: Callable[[dict[int, SampleBatch]], object], partitions: int,
                 clock: Callable[[], float] = time.time) -> None:
        self._publish, self.partitions, self._clock = publish, partitions, clock
        self.published_samples = 0

    def deliver(self, series: Sequence[Series]) -> None:
        batches = batches_of(series, self.partitions, self._clock())
        if batches:
            self._publish(batches)
            self.published_samples += sum(len(b) for b in batches.values())


class StreamPoller:
    """Reads ``queries`` from ``source`` on a ``step_s`` grid and delivers each new range to ``ingest``.

    At start-up it reads ``backfill_s`` of history; a range is marked read only once the stream has
    it, so a refused or failed read is read again (up to ``backfill_s`` back) the next time.
    """

    def __init__(self, source: MetricsSource, queries: Sequence[str], ingest: StreamIngest, *, step_s: float,
                 backfill_s: float = 0.0) -> None:
        self.source, self.queries, self.ingest = source, tuple(queries), ingest
        self.step_s, self.backfill_s = step_s, backfill_s
        self.read_until: dict[str, float] = {}

    def poll(self, now: float) -> int:
        """Read and publish what is new; return the samples published (0 when the stream refused)."""
        end = math.floor(now / self.step_s) * self.step_s
        oldest = end - math.floor(self.backfill_s / self.step_s) * self.step_s
        published = 0
        for query in self.queries:
            start = max(self.read_until.get(query, -math.inf) + self.step_s, oldest)
            if start > end:
                continue
            try:
                found = self.source.query_range(query, start, end, self.step_s)
                before = self.ingest.published_samples
                self.ingest.deliver(found)
            except Backpressure as exc:
                _log.warning("poller: stream refused %r's samples (%s); reading them again next period", query, exc)
                return published
            except ForesightError as exc:  # Prometheus down, bad PromQL: read the range again later
                _log.warning("poller: query %r failed: %s", query, exc)
                continue
            self.read_until[query] = end
            published += self.ingest.published_samples - before
        return published

