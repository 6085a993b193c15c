"""NATS JetStream as the event source of the streaming feature ingest (nats-py; the port is foresight.features.ingest).

A durable pull consumer acknowledged per batch (ack policy "all"): the ingest acknowledges a batch only after its rows
are written online, so unacknowledged events come back after ``ack_wait``. Every delivery's id is
its stream sequence, the same on redelivery and replay, which is what lets the window state
count each event once. :meth:`JetStreamEvents.replay` reads the stream from a start time with an
ephemeral consumer (no acks) so a restarted ingest can rebuild its open windows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

import nats
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from foresight.errors import ServiceUnavailable
from foresight.features.ingest import Delivery

__all__ = ["JetStreamEvents"]


class JetStreamEvents:
    """Events of ``subject`` in ``stream`` (created if absent), consumed by the durable consumer ``durable``."""

    def __init__(self, url: str, stream: str, subject: str, durable: str, ack_wait_s: float = 30.0) -> None:
        self.url = url
        self.stream = stream
        self.subject = subject
        self.durable = durable
        self.ack_wait_s = ack_wait_s
        self._nc: nats.NATS | None = None
        self._sub: object = None

    async def connect(self) -> None:
        """Connect, make sure the stream exists and bind the durable pull consumer."""
        try:
            self._nc = await nats.connect(self.url, connect_timeout=2, max_reconnect_attempts=2)
        except Exception as exc:  # nats-py raises several unrelated types for an unreachable server
            raise ServiceUnavailable(f"NATS at {self.url} unreachable: {exc}", retry_after_s=1.0) from exc
        js = self._nc.jetstream()
        try:
            await js.stream_info(self.stream)
        except NotFoundError:
            await js.add_stream(name=self.stream, subjects=[self.subject])
        config = ConsumerConfig(ack_policy=AckPolicy.ALL, ack_wait=self.ack_wait_s, max_ack_pending=100_000)
        self._sub = await js.pull_subscribe(self.subject, durable=self.durable, stream=self.stream, config=config)

    async def fetch(self, max_messages: int, timeout_s: float) -> list[Delivery]:
        """Up to ``max_messages`` events, waiting at most ``timeout_s`` for the first."""
        try:
            messages = await self._sub.fetch(max_messages, timeout=timeout_s)  # type: ignore[attr-defined]
        except TimeoutError:  # nats-py raises its own subclass or the plain one
            return []
        return [Delivery(str(m.metadata.sequence.stream), m.data, m) for m in messages]

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        """Acknowledge a written batch (so it is never redelivered): one ack of its last message.

        The consumer's ack policy is "all": acknowledging a message acknowledges every earlier
        one, which is exactly a batch written in order, for one message instead of thousands.
        """
        if deliveries:
            await deliveries[-1].handle.ack()  # type: ignore[attr-defined]

    async def replay(self, since_s: float) -> AsyncIterator[Delivery]:
        """Every event stored since epoch ``since_s``, in stream order, up to the end of the stream now."""
        assert self._nc is not None, "connect() first"
        js = self._nc.jetstream()
        start = datetime.fromtimestamp(since_s, tz=UTC).isoformat().replace("+00:00", "Z")
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_TIME, opt_start_time=start, ack_policy=AckPolicy.NONE
        )
        sub = await js.pull_subscribe(self.subject, stream=self.stream, config=config)
        try:
            while True:
                try:
                    messages = await sub.fetch(1000, timeout=0.5)
                except TimeoutError:  # nats-py raises its own subclass or the plain one
                    return
                for m in messages:
                    yield Delivery(str(m.metadata.sequence.stream), m.data, None)
                if messages[-1].metadata.num_pending == 0:
                    return
        finally:
            await sub.unsubscribe()

    async def publish(self, payloads: Sequence[bytes]) -> None:
        """Publish events (the producer side, for the benchmark and tests), waiting for the stream's acks."""
        assert self._nc is not None, "connect() first"
        js = self._nc.jetstream()
        for payload in payloads:
            await js.publish_async(self.subject, payload, stream=self.stream)
        await js.publish_async_completed()

    async def delete(self) -> None:
        """Remove the stream (and so its consumers): tests and benchmarks clean up."""
        if self._nc is not None:
            await self._nc.jetstream().delete_stream(self.stream)

    async def close(self) -> None:
        """Drain and close the connection."""
        if self._nc is not None:
            await self._nc.close()
            self._nc = None
