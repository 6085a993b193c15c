"""NATS JetStream as Foresight's scale-out engine: the partitioned sample stream, results, leases, checkpoints.

Why JetStream: it runs here beside the other services, it is one small server binary, and it gives
in one place what the workers need: a persistent stream with per-subject filtering (one subject
per partition, so a worker reads only its partitions, from any sequence), publish acknowledgements
and de-duplication by message id, a key-value store whose entries expire (leases, membership) and
an object store for checkpoints larger than a message.

Names, from the ``scaleout`` settings' ``stream`` and ``subject_prefix``:

* stream ``<stream>`` holds ``<prefix>.samples.<partition>``; it is created with the partition
  count in its description and refuses another count later (a series' partition must never change);
  its size is bounded and it discards *new* messages when full, so a full stream is a publish error
  (:class:`~foresight.scaleout.Backpressure`), never a silent loss of old samples; samples older
  than ``retention_s`` expire (workers must not lag that far: a checkpoint replays a few seconds);
* stream ``<stream>-results`` holds ``<prefix>.scores.<partition>`` and ``<prefix>.alerts.<partition>``:
  one score message per sample message, and one alert message for those of its samples that alert;
  every result carries a ``Nats-Msg-Id`` (partition and sample sequence), so the results a replay
  repeats are dropped by the server (and each alert keeps its idempotent key for the consumers);
* KV ``<stream>-leases`` (a partition's owner), KV ``<stream>-members`` (live workers), both with
  the lease TTL: a worker that stops renewing loses both by expiry;
* object store ``<stream>-checkpoints``: one object per partition.

Samples are read by an ephemeral pull consumer per partition (filtered on its subject, from a
given sequence, no acks: the checkpoint's sequence is the read position). After a broker restart
the consumer is gone; :class:`PartitionReader` makes a new one from where it stopped.

The streaming feature ingest's event source is here too (:class:`JetStreamEvents`, the port
:mod:`foresight.features.ingest`): a durable pull consumer acknowledged per batch (ack policy
"all"): the ingest acknowledges a batch only after its rows are written online, so unacknowledged
events come back after ``ack_wait``. Every delivery's id is its stream sequence, the same on
redelivery and replay, which is what lets the window state count each event once;
:meth:`JetStreamEvents.replay` reads the stream from a start time with an ephemeral consumer (no
acks) so a restarted ingest can rebuild its open windows.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.kv import KeyValue
from nats.js.object_store import ObjectStore

from foresight.errors import ConfigError, ServiceUnavailable
from foresight.features.ingest import Delivery
from foresight.scaleout import Backpressure
from foresight.scaleout.codec import (
    AlertRecord,
    SampleBatch,
    ScoreBatch,
    batch_id,
    encode_alerts,
    encode_samples,
    encode_scores,
)

__all__ = ["DurableReader", "JetStreamBus", "JetStreamEvents", "PartitionReader", "Received", "StreamNames",
           "SyncPublisher"]

T = TypeVar("T")
_IDLE_RECREATE_S = 2.0  # an idle reader re-makes its consumer this often: one lost in a broker restart is never waited on
_DESCRIPTION = "foresight samples; partitions={}"


@dataclass(frozen=True)
class StreamNames:
    """Every JetStream name derived from the stream name and the subject prefix."""

    stream: str
    prefix: str = "foresight"

    @property
    def results(self) -> str:
        return f"{self.stream}-results"

    @property
    def leases(self) -> str:
        return f"{self.stream}-leases"

    @property
    def members(self) -> str:
        return f"{self.stream}-members"

    @property
    def checkpoints(self) -> str:
        return f"{self.stream}-checkpoints"

    def samples(self, partition: int | str) -> str:
        return f"{self.prefix}.samples.{partition}"

    def scores(self, partition: int | str) -> str:
        return f"{self.prefix}.scores.{partition}"

    def alerts(self, partition: int | str) -> str:
        return f"{self.prefix}.alerts.{partition}"


@dataclass(frozen=True)
class Received:
    """A message read from a stream: its payload and stream sequence."""

    seq: int
    data: bytes


class JetStreamBus:
    """One connection to NATS and the streams, buckets and store of one Foresight deployment.

    ``publish_timeout_s`` bounds how long a publish waits for the stream's acknowledgement: past it
    (broker slow, away or restarting) the publish fails with :class:`Backpressure`.
    """

    def __init__(self, nc: Client, names: StreamNames, partitions: int, *, publish_timeout_s: float = 2.0) -> None:
        self.nc, self.names, self.partitions = nc, names, partitions
        self.js: JetStreamContext = nc.jetstream(timeout=10.0)  # management calls; publishes pass their own
        self.publish_timeout_s = publish_timeout_s
        self._leases: KeyValue | None = None
        self._members: KeyValue | None = None
        self._checkpoints: ObjectStore | None = None

    @classmethod
    async def connect(cls, url: str, names: StreamNames, partitions: int, *, max_stream_bytes: int = 1 << 30,
                      retention_s: float = 86400.0, lease_ttl_s: float = 3.0,
                      publish_timeout_s: float = 2.0) -> JetStreamBus:
        """Connect (reconnecting for ever after a loss) and create or check the streams, buckets and store."""
        try:
            nc = await nats.connect(url, connect_timeout=2, reconnect_time_wait=0.2, max_reconnect_attempts=-1,
                                    allow_reconnect=True)
        except (OSError, nats.errors.Error) as exc:
            raise ServiceUnavailable(f"NATS at {url}: cannot connect ({exc})") from exc
        bus = cls(nc, names, partitions, publish_timeout_s=publish_timeout_s)
        try:
            await bus._ensure(max_stream_bytes, retention_s, lease_ttl_s)
        except BaseException:
            await nc.close()
            raise
        return bus

    async def _ensure(self, max_stream_bytes: int, retention_s: float, lease_ttl_s: float) -> None:
        names = self.names
        try:
            info = await self.js.stream_info(names.stream)
            if info.config.description != _DESCRIPTION.format(self.partitions):
                raise ConfigError(f"stream {names.stream}: made for {info.config.description!r}, not "
                                  f"{self.partitions} partitions; a stream's partition count is fixed")
        except nats.js.errors.NotFoundError:
            await self.js.add_stream(StreamConfig(
                name=names.stream, subjects=[names.samples("*")], description=_DESCRIPTION.format(self.partitions),
                storage=StorageType.FILE, max_bytes=max_stream_bytes, max_age=retention_s, discard=DiscardPolicy.NEW))
        try:
            await self.js.stream_info(names.results)
        except nats.js.errors.NotFoundError:
            await self.js.add_stream(StreamConfig(
                name=names.results, subjects=[names.scores("*"), names.alerts("*")], storage=StorageType.FILE,
                max_bytes=max_stream_bytes, max_age=retention_s, discard=DiscardPolicy.OLD, duplicate_window=120.0))
        self._leases = await self._bucket(names.leases, lease_ttl_s)
        self._members = await self._bucket(names.members, lease_ttl_s)
        try:
            self._checkpoints = await self.js.object_store(names.checkpoints)
        except nats.js.errors.NotFoundError:
            self._checkpoints = await self.js.create_object_store(names.checkpoints, storage=StorageType.FILE)

    async def _bucket(self, name: str, ttl_s: float) -> KeyValue:
        try:
            return await self.js.key_value(name)
        except nats.js.errors.NotFoundError:
            return await self.js.create_key_value(bucket=name, ttl=ttl_s, history=1, storage=StorageType.FILE)

    async def close(self) -> None:
        await self.nc.close()

    async def delete_all(self) -> None:
        """Remove the streams, buckets and store (tests and benchmarks clean up after themselves)."""
        names = self.names
        failed: list[str] = []
        for call, name in ((self.js.delete_stream, names.stream), (self.js.delete_stream, names.results),
                           (self.js.delete_key_value, names.leases), (self.js.delete_key_value, names.members),
                           (self.js.delete_object_store, names.checkpoints)):
            try:
                await call(name)
            except nats.js.errors.NotFoundError:
                pass
            except (nats.errors.Error, OSError, asyncio.TimeoutError) as exc:  # the others still go
                failed.append(f"{name} ({type(exc).__name__})")
        if failed:
            raise ServiceUnavailable(f"NATS JetStream: not deleted: {', '.join(failed)}")

    # -- samples in -------------------------------------------------------------------------------

    async def publish_samples(self, batches: dict[int, SampleBatch]) -> list[int]:
        """Publish one batch per partition, all acknowledged, or raise :class:`Backpressure` (then some
        may be stored: the sender retries the whole set, and the stream drops the batches it holds
        already by their content ids, within its two-minute de-duplication window)."""
        return await self.publish_in_order(sorted(batches.items()))

    async def publish_in_order(self, batches: Sequence[tuple[int, SampleBatch]]) -> list[int]:
        """Publish ``(partition, batch)`` pairs in this order (a partition's batches must be in time
        order), all in flight at once, then wait for every acknowledgement: their sequences, or
        :class:`Backpressure` as :meth:`publish_samples`."""
        return await self._publish_all([(self.names.samples(p), encode_samples(b), batch_id(p, b)) for p, b in batches])

    async def _publish_all(self, items: Sequence[tuple[str, bytes, str | None]]) -> list[int]:
        """Publish all of ``items`` at once and wait for every acknowledgement (one future each, no task
        per message: a worker publishes thousands a second), or raise :class:`Backpressure`."""
        futures: list[asyncio.Future[Any]] = []
        try:
            for subject, data, msg_id in items:
                futures.append(await self.js.publish_async(  # no stall wait: a wait_for task per message costs
                    subject, data, headers={"Nats-Msg-Id": msg_id} if msg_id else None))  # more than the publish
            acks = await asyncio.wait_for(asyncio.gather(*futures), timeout=self.publish_timeout_s)
        except BaseException as exc:
            for future in futures:  # no acknowledgement will come for these: free their slots
                if not future.cancel() and not future.cancelled():
                    future.exception()  # answered already (an error, or an ack): retrieved, not logged as lost
            if isinstance(exc, asyncio.CancelledError):
                raise
            raise _backpressure(exc) from exc
        return [int(ack.seq) for ack in acks]

    # -- results out ------------------------------------------------------------------------------

    async def publish_many(self, results: Iterable[tuple[ScoreBatch, Sequence[AlertRecord]]]) -> None:
        """Publish batches' scores and alerts (one message each per sample batch), all acknowledged,
        de-duplicated by the server on their ids (the sample batch's partition and sequence)."""
        items: list[tuple[str, bytes, str | None]] = []
        for scores, alerts in results:
            items.append((self.names.scores(scores.partition), encode_scores(scores), f"s{scores.partition}-{scores.seq}"))
            if alerts:
                items.append((self.names.alerts(scores.partition), encode_alerts(alerts),
                              f"a{scores.partition}-{scores.seq}"))
        await self._publish_all(items)

    # -- reading ----------------------------------------------------------------------------------

    def reader(self, stream: str, subject: str, after_seq: int) -> PartitionReader:
        return PartitionReader(self.js, stream, subject, after_seq)

    def alert_reader(self, durable: str) -> DurableReader:
        """Every alert on the results stream, through a durable consumer named ``durable``: the broker
        keeps its position, so a consumer that restarts gets what it has not acknowledged."""
        return DurableReader(self.js, self.names.results, self.names.alerts("*"), durable)

    # -- leases and membership --------------------------------------------------------------------

    async def heartbeat(self, worker: str) -> None:
        assert self._members is not None
        await _available(self._members.put(worker, b"1"))

    async def leave(self, worker: str) -> None:
        assert self._members is not None
        await _available(self._members.delete(worker))

    async def members(self) -> list[str]:
        assert self._members is not None
        try:
            return sorted(await _available(self._members.keys()))
        except nats.js.errors.NoKeysError:
            return []

    async def owners(self) -> dict[int, str]:
        """Each leased partition's holder (what the workers agree on now)."""
        assert self._leases is not None
        try:
            keys = await _available(self._leases.keys())
        except nats.js.errors.NoKeysError:
            return {}
        out = {}
        for key in keys:
            try:
                entry = await _available(self._leases.get(key))
            except nats.js.errors.NotFoundError:  # expired between the listing and the read
                continue
            if entry.value:
                out[int(key.removeprefix("p"))] = entry.value.decode()
        return out

    async def claim(self, partition: int, worker: str) -> int | None:
        """Take a free partition's lease: its revision, or None if another worker holds it."""
        assert self._leases is not None
        try:
            return await _available(self._leases.create(f"p{partition}", worker.encode()))
        except nats.js.errors.KeyWrongLastSequenceError:
            return None

    async def renew(self, partition: int, worker: str, revision: int) -> int | None:
        """Renew a held lease: its new revision, or None if it was lost (expired, taken)."""
        assert self._leases is not None
        try:
            return await _available(self._leases.update(f"p{partition}", worker.encode(), last=revision))
        except nats.js.errors.KeyWrongLastSequenceError:
            return None

    async def release(self, partition: int, revision: int) -> None:
        assert self._leases is not None
        try:
            await _available(self._leases.delete(f"p{partition}", last=revision))
        except nats.js.errors.KeyWrongLastSequenceError:
            pass  # already expired or taken: nothing of ours to give back

    # -- checkpoints ------------------------------------------------------------------------------

    async def save_checkpoint(self, partition: int, data: bytes) -> None:
        assert self._checkpoints is not None
        await _available(self._checkpoints.put(f"p{partition}", data))

    async def load_checkpoint(self, partition: int) -> bytes | None:
        assert self._checkpoints is not None
        try:
            result = await _available(self._checkpoints.get(f"p{partition}"))
        except nats.js.errors.NotFoundError:
            return None
        return bytes(result.data) if result.data is not None else None


class PartitionReader:
    """Reads one subject of a stream in order from ``after_seq + 1``, re-creating its ephemeral consumer
    from the last sequence read whenever the broker lost it (restart) or the connection dropped."""

    def __init__(self, js: JetStreamContext, stream: str, subject: str, after_seq: int) -> None:
        self.js, self.stream, self.subject, self.last_seq = js, stream, subject, after_seq
        self._sub: JetStreamContext.PullSubscription | None = None
        self._active = time.monotonic()

    async def fetch(self, batch: int = 64, timeout_s: float = 0.2) -> list[Received]:
        """The next messages (possibly none after ``timeout_s``); never one twice, never one skipped."""
        try:
            if self._sub is None:
                self._sub = await self.js.pull_subscribe(self.subject, stream=self.stream, config=ConsumerConfig(
                    deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=self.last_seq + 1,
                    ack_policy=AckPolicy.NONE, inactive_threshold=30.0, filter_subject=self.subject))
            msgs = await self._sub.fetch(batch=batch, timeout=timeout_s)
        except (nats.errors.TimeoutError, asyncio.TimeoutError):  # nothing new, or a consumer the broker lost
            if time.monotonic() - self._active > _IDLE_RECREATE_S:  # (a restart): re-made now and then when idle
                await self.close()
                self._active = time.monotonic()
            return []
        except (nats.errors.Error, OSError):
            await self.close()
            await asyncio.sleep(timeout_s)
            return []
        self._active = time.monotonic()
        out: list[Received] = []
        for msg in msgs:
            seq = int(msg.metadata.sequence.stream)
            if seq <= self.last_seq:
                continue  # a consumer re-created over a message already read
            out.append(Received(seq, msg.data))
            self.last_seq = seq
        return out

    async def close(self) -> None:
        sub, self._sub = self._sub, None
        if sub is not None:
            try:
                await sub.unsubscribe()
            except (nats.errors.Error, OSError):
                pass


async def _available(call: Awaitable[T]) -> T:
    """``call``'s result; the broker away or slow is :class:`ServiceUnavailable` (retry later), while
    JetStream's answers that mean something (not found, wrong revision) pass through."""
    try:
        return await call
    except (nats.js.errors.NotFoundError, nats.js.errors.KeyWrongLastSequenceError, nats.js.errors.NoKeysError):
        raise
    except (nats.errors.Error, OSError, asyncio.TimeoutError) as exc:
        raise ServiceUnavailable(f"NATS JetStream: {type(exc).__name__}: {exc}") from exc


class DurableReader:
    """Reads a subject through a durable pull consumer with explicit acknowledgements (redelivered
    after ``ack_wait_s`` if not acknowledged: at least once; consumers de-duplicate by key)."""

    def __init__(self, js: JetStreamContext, stream: str, subject: str, durable: str, ack_wait_s: float = 30.0) -> None:
        self.js, self.stream, self.subject, self.durable, self.ack_wait_s = js, stream, subject, durable, ack_wait_s
        self._sub: JetStreamContext.PullSubscription | None = None
        self._unacked: dict[int, Any] = {}

    async def fetch(self, batch: int = 256, timeout_s: float = 0.5) -> list[Received]:
        try:
            if self._sub is None:
                self._sub = await self.js.pull_subscribe(self.subject, durable=self.durable, stream=self.stream,
                                                         config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT,
                                                                               ack_wait=self.ack_wait_s))
            msgs = await self._sub.fetch(batch=batch, timeout=timeout_s)
        except (nats.errors.TimeoutError, asyncio.TimeoutError):
            return []
        except (nats.errors.Error, OSError) as exc:
            self._sub = None
            raise ServiceUnavailable(f"NATS JetStream: reading {self.subject}: {type(exc).__name__}: {exc}") from exc
        out = []
        for msg in msgs:
            seq = int(msg.metadata.sequence.stream)
            self._unacked[seq] = msg
            out.append(Received(seq, msg.data))
        return out

    async def ack(self, received: Iterable[Received]) -> None:
        for r in received:
            msg = self._unacked.pop(r.seq, None)
            if msg is not None:
                await _available(msg.ack())


def _backpressure(exc: BaseException) -> Backpressure:
    if isinstance(exc, Backpressure):
        return exc
    if isinstance(exc, nats.js.errors.APIError) and "exceeded" in str(exc.description or ""):
        return Backpressure(f"sample stream full ({exc.description}); retry later", retry_after_s=5.0)
    if isinstance(exc, (nats.errors.Error, OSError, asyncio.TimeoutError)):
        return Backpressure(f"sample stream not acknowledging ({type(exc).__name__}: {exc}); retry later")
    raise exc


class SyncPublisher:
    """The bus driven from synchronous code (the remote-write receiver's thread, the poller): an event
    loop of its own in a daemon thread, each call waited for. ``publish`` raises :class:`Backpressure`."""

    def __init__(self, connect: Callable[[], Awaitable[JetStreamBus]]) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="jetstream-publisher", daemon=True)
        self._thread.start()
        self.bus = self._run(connect())

    def _run(self, coro: Awaitable[T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()  # type: ignore[arg-type]

    def publish(self, batches: dict[int, SampleBatch]) -> list[int]:
        return self._run(self.bus.publish_samples(batches))

    def close(self) -> None:
        self._run(self.bus.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()


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
        except nats.js.errors.NotFoundError:
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
