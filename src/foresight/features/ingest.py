"""The streaming ingest: events from a source port, windowed per entity, written online, acknowledged after the write.

Exactly-once in effect: an event is acknowledged only once the row it changed is in the online
store, so a crash or a Redis outage loses nothing (the source redelivers); a redelivered event is
recognised by its id and not counted again (:mod:`foresight.features.windows`); a restarted ingest
first replays the stream from the start of its oldest open window (:meth:`StreamIngest.recover`),
so its rows are rebuilt from every event, not just the unacknowledged ones, before they are
rewritten. The source (JetStream here, Kafka elsewhere) and the writer (Feast) are ports.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from foresight.errors import ServiceUnavailable
from foresight.features.events import EventSchema, Rejection
from foresight.features.windows import Row, WindowAggregator

__all__ = ["Delivery", "EventSource", "IngestStats", "OnlineWriter", "StreamIngest"]


@dataclass(frozen=True)
class Delivery:
    """One message: ``id`` is the same on every redelivery and replay (JetStream's stream sequence)."""

    id: str
    data: bytes
    handle: object = None


class EventSource(Protocol):
    """Where events come from: batches to process, acknowledged once written, and a replay for recovery."""

    async def fetch(self, max_messages: int, timeout_s: float) -> list[Delivery]: ...

    async def ack(self, deliveries: Sequence[Delivery]) -> None: ...

    def replay(self, since_s: float) -> AsyncIterator[Delivery]: ...


class OnlineWriter(Protocol):
    """Where rows go: a blocking write of whole rows that raises ServiceUnavailable when it finally fails."""

    def write_rows(self, view: str, rows: Sequence[Row]) -> None: ...


@dataclass
class IngestStats:
    """Counters of one ingest: events accepted, rejected by reason (with the last detail), rows and batches written."""

    accepted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    last_rejection: dict[str, str] = field(default_factory=dict)
    rows_written: int = 0
    batches: int = 0
    failed_writes: int = 0


class StreamIngest:
    """One streamed view's ingest; ``clock`` is wall time (future timestamps are judged against it)."""

    def __init__(
        self,
        aggregator: WindowAggregator,
        schema: EventSchema,
        source: EventSource,
        writer: OnlineWriter,
        clock: Callable[[], float],
        on_written: Callable[[Sequence[float], float], None] | None = None,
    ) -> None:
        self.aggregator = aggregator
        self.schema = schema
        self.source = source
        self.writer = writer
        self.clock = clock
        self.on_written = on_written
        self.stats = IngestStats()

    async def recover(self) -> int:
        """Rebuild the open windows from the stream (after a restart) and rewrite their rows; events replayed."""
        since = self.clock() - 2 * self.aggregator.width - self.aggregator.lateness_s
        replayed = 0
        async for delivery in self.source.replay(since):
            self._take(delivery)
            replayed += 1
        await self._write(self.aggregator.flush())
        return replayed

    async def step(self, max_messages: int = 1000, timeout_s: float = 0.05) -> int:
        """Process one batch: aggregate, write the changed rows, then acknowledge; the deliveries handled.

        A write that fails (Redis down past the writer's retries) acknowledges nothing and keeps the
        rows pending, so the next step writes them and the source redelivers the batch meanwhile.
        """
        deliveries = await self.source.fetch(max_messages, timeout_s)
        if not deliveries:
            return 0
        times = [t for t in (self._take(d) for d in deliveries) if t is not None]
        await self._write_then_ack(self.aggregator.flush(), deliveries, times)
        return len(deliveries)

    async def run(self, should_stop: Callable[[], bool], max_messages: int = 1000, timeout_s: float = 0.05) -> None:
        """Process batches until ``should_stop()``, the next batch aggregated while the last one's write is in flight.

        The write is mostly waiting on Redis, so overlapping it with fetching and windowing the next
        batch raises throughput; at most one write is in flight and batches are acknowledged in
        order, each after its own write, so what :meth:`step` guarantees holds. A failed write
        leaves its rows and the next batch's pending and acknowledges neither.
        """
        pending: asyncio.Task[None] | None = None
        while not should_stop():
            deliveries = await self.source.fetch(max_messages, timeout_s)
            times = [t for t in (self._take(d) for d in deliveries) if t is not None]
            rows = self.aggregator.flush()
            if pending is not None:
                try:
                    await pending
                except ServiceUnavailable:
                    self.aggregator.rewrite(rows)
                    raise
                pending = None
            if deliveries:
                pending = asyncio.create_task(self._write_then_ack(rows, deliveries, times))
        if pending is not None:
            await pending

    async def _write_then_ack(self, rows: list[Row], deliveries: list[Delivery], times: list[float]) -> None:
        try:
            await self._write(rows)
        except ServiceUnavailable:
            self.aggregator.rewrite(rows)
            self.stats.failed_writes += 1
            raise
        await self.source.ack(deliveries)
        if self.on_written is not None and times:
            self.on_written(times, self.clock())

    async def _write(self, rows: list[Row]) -> None:
        if rows:
            await asyncio.to_thread(self.writer.write_rows, self.aggregator.view.name, rows)
            self.stats.rows_written += len(rows)
            self.stats.batches += 1

    def _take(self, delivery: Delivery) -> float | None:
        """Aggregate one delivery; its event time when it was counted, None when it was rejected."""
        try:
            payload = json.loads(delivery.data)
        except (ValueError, UnicodeDecodeError) as exc:
            return self._reject(Rejection("malformed", f"not JSON: {exc}"))
        checked = self.schema.check(payload, self.clock())
        if isinstance(checked, Rejection):
            return self._reject(checked)
        reason = self.aggregator.add(delivery.id, checked)
        if reason is not None:
            return self._reject(Rejection(reason, f"event {delivery.id}"))
        self.stats.accepted += 1
        return checked.ts

    def _reject(self, rejection: Rejection) -> None:
        self.stats.rejected[rejection.reason] += 1
        self.stats.last_rejection[rejection.reason] = rejection.detail
        return None
