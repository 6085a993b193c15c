"""Kafka as the event source of the streaming feature ingest (confluent-kafka; the port is foresight.features.ingest).

UNTESTED against a broker: no Kafka broker can run on the machines this was written on; only the
no-broker path (a clear ServiceUnavailable) is tested. The same contract as JetStream: offsets are
committed only after a batch's rows are written (auto-commit off), so an uncommitted batch is
consumed again after a crash or rebalance; a delivery's id is ``partition:offset``, the same on
every redelivery and replay, which is what the window state deduplicates on;
:meth:`KafkaEvents.replay` reads every partition from the offsets of a start time
(``offsets_for_times``) up to the end offsets seen when it started.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from foresight.errors import ConfigError, ServiceUnavailable
from foresight.features.ingest import Delivery

__all__ = ["KafkaEvents"]


class KafkaEvents:
    """Events of ``topic``, consumed by the consumer group ``group`` from ``bootstrap`` (host:port[,...])."""

    def __init__(self, bootstrap: str, topic: str, group: str, connect_timeout_s: float = 5.0) -> None:
        try:
            import confluent_kafka
        except ImportError as exc:
            raise ConfigError(f"confluent-kafka is not installed ({exc}): pip install -r requirements-feast.txt") from exc
        self._kafka = confluent_kafka
        self.bootstrap = bootstrap
        self.topic = topic
        self.group = group
        self.connect_timeout_s = connect_timeout_s
        self._consumer: object = None

    def _config(self, group: str) -> dict[str, object]:
        return {
            "bootstrap.servers": self.bootstrap,
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": False,
        }

    async def connect(self) -> None:
        """Check the broker answers and the topic exists, then join the consumer group."""
        consumer = self._kafka.Consumer(self._config(self.group))
        try:
            metadata = await asyncio.to_thread(consumer.list_topics, self.topic, self.connect_timeout_s)
        except self._kafka.KafkaException as exc:
            consumer.close()
            raise ServiceUnavailable(f"Kafka at {self.bootstrap} unreachable: {exc}", retry_after_s=1.0) from exc
        topic = metadata.topics.get(self.topic)
        if topic is None or topic.error is not None:
            consumer.close()
            raise ConfigError(f"Kafka at {self.bootstrap}: topic {self.topic!r} unusable: {topic and topic.error}")
        consumer.subscribe([self.topic])
        self._consumer = consumer

    async def fetch(self, max_messages: int, timeout_s: float) -> list[Delivery]:
        """Up to ``max_messages`` events, waiting at most ``timeout_s``; broker-side errors are raised."""
        messages = await asyncio.to_thread(self._consumer.consume, max_messages, timeout_s)  # type: ignore[attr-defined]
        out = []
        for m in messages:
            if m.error() is not None:
                raise ServiceUnavailable(f"Kafka {self.topic}: {m.error()}", retry_after_s=1.0)
            out.append(Delivery(f"{m.partition()}:{m.offset()}", m.value() or b"", m))
        return out

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        """Commit, per partition, the offset after the batch's last message (synchronously: the write is done)."""
        last: dict[int, int] = {}
        for d in deliveries:
            partition, offset = (int(x) for x in d.id.split(":"))
            last[partition] = max(last.get(partition, -1), offset)
        offsets = [self._kafka.TopicPartition(self.topic, p, o + 1) for p, o in last.items()]
        if offsets:
            await asyncio.to_thread(self._consumer.commit, offsets=offsets, asynchronous=False)  # type: ignore[attr-defined]

    async def replay(self, since_s: float) -> AsyncIterator[Delivery]:
        """Every event since epoch ``since_s`` on every partition, up to the end offsets when the replay began."""
        consumer = self._kafka.Consumer(self._config(f"{self.group}-replay"))
        try:
            metadata = await asyncio.to_thread(consumer.list_topics, self.topic, self.connect_timeout_s)
            partitions = [
                self._kafka.TopicPartition(self.topic, p, int(since_s * 1000)) for p in metadata.topics[self.topic].partitions
            ]
            starts = await asyncio.to_thread(consumer.offsets_for_times, partitions, self.connect_timeout_s)
            ends = {}
            for tp in starts:
                _, high = await asyncio.to_thread(consumer.get_watermark_offsets, tp, self.connect_timeout_s)
                ends[tp.partition] = high
            pending = {tp.partition for tp in starts if 0 <= tp.offset < ends[tp.partition]}
            consumer.assign([tp for tp in starts if tp.partition in pending])
            while pending:
                for m in await asyncio.to_thread(consumer.consume, 1000, 1.0):
                    if m.error() is not None or m.partition() not in pending:
                        continue
                    yield Delivery(f"{m.partition()}:{m.offset()}", m.value() or b"", None)
                    if m.offset() + 1 >= ends[m.partition()]:
                        pending.discard(m.partition())
        finally:
            consumer.close()

    async def close(self) -> None:
        """Leave the consumer group."""
        if self._consumer is not None:
            await asyncio.to_thread(self._consumer.close)  # type: ignore[attr-defined]
            self._consumer = None
