"""A scale-out worker: owns partitions of the sample stream, scores them, publishes scores and alerts.

Every ``lease_ttl_s / 4`` a worker renews its membership and its leases, computes which partitions
it should own (rendezvous hashing over the live members, :func:`foresight.scaleout.partition.owned_by`),
hands back those it should not (checkpoint first, then release the lease) and claims the free ones
it should own: it restores the partition's checkpoint and reads the stream from the sequence after
it. A worker that dies stops renewing; its leases and membership expire after ``lease_ttl_s`` and
the survivors take its partitions over, replaying what came after the last checkpoint. The
detectors are deterministic, so the replay gives the same scores and alert keys as the first
pass, and the broker drops the repeated results by their ids: exactly once in effect.

A new worker waits ``join_grace_s`` after announcing itself before claiming, so that workers
started together see each other and each claims its share instead of the first taking all.

A lease is renewed before each checkpoint is written; a worker that lost a lease stops serving the
partition without writing its checkpoint, so a stale owner never overwrites its successor's.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from foresight.adapters.alertmanager import AlertmanagerClient
from foresight.adapters.jetstream import JetStreamBus, PartitionReader, Received, StreamNames
from foresight.clock import SystemClock
from foresight.config import ScaleoutSettings
from foresight.detect import make_detector
from foresight.detect.protocol import Detector
from foresight.errors import ConfigError, ServiceUnavailable
from foresight.runtime.result_alerts import AlertForwarder
from foresight.scaleout.checkpoint import decode_checkpoint, encode_checkpoint
from foresight.scaleout.codec import AlertRecord, ScoreBatch, decode_samples
from foresight.scaleout.partition import owned_by
from foresight.scaleout.scorer import ShardScorer

__all__ = ["Worker", "WorkerConfig", "run_worker"]

_log = logging.getLogger(__name__)
_PIPELINE = 4  # rounds whose results may await the broker's acknowledgement at once
_FIRST_READ_S = 0.5  # a partition's first read: long enough for its consumer to deliver, so that its series
# join the others' first round instead of arriving later (new series cost a copy of the worker's state)


@dataclass(frozen=True)
class WorkerConfig:
    """One worker's identity and timing (the ``scaleout`` settings, plus what is per process)."""

    worker_id: str
    detector: str = "surprise"
    alert_threshold: float = 0.8
    lease_ttl_s: float = 3.0
    checkpoint_every_s: float = 5.0
    join_grace_s: float | None = None  # None: half the lease TTL
    fetch_batch: int = 16


@dataclass
class _Owned:
    reader: PartitionReader
    revision: int
    checkpointed_seq: int
    checkpointed_at: float
    pending: deque[Received] = field(default_factory=deque)  # read, not yet scored
    drained: bool = False  # its last read found nothing new: the others' rounds need not wait for it
    read_once: bool = False  # a first read waits longer: its consumer is being made


class Worker:
    """Serves partitions of ``bus`` until :meth:`run`'s ``stop`` is set (then checkpoints and leaves)."""

    def __init__(self, bus: JetStreamBus, config: WorkerConfig) -> None:
        self.bus, self.config = bus, config
        self.detector: Detector[Any] = make_detector(config.detector)
        self.scorer = ShardScorer(self.detector, config.alert_threshold)
        self.owned: dict[int, _Owned] = {}
        self.scored_samples = 0
        self._renewed_at = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        cfg = self.config
        tick = cfg.lease_ttl_s / 4
        await self.bus.heartbeat(cfg.worker_id)
        grace_ends = time.monotonic() + (cfg.join_grace_s if cfg.join_grace_s is not None else cfg.lease_ttl_s / 2)
        while not stop.is_set() and time.monotonic() < grace_ends:  # a member all along, however long the grace
            await _wait(stop, min(tick, grace_ends - time.monotonic()))
            await self.bus.heartbeat(cfg.worker_id)
        next_tick = 0.0
        try:
            while not stop.is_set():
                try:
                    if time.monotonic() >= next_tick:
                        await self._rebalance()
                        next_tick = time.monotonic() + tick
                    if not self.owned:
                        await _wait(stop, min(tick, 0.1))
                        continue
                    await self._serve_once(stop)
                    await self._checkpoint_due()
                except ServiceUnavailable as exc:  # the broker away: its leases decide who serves after
                    _log.warning("worker %s: %s; retrying", cfg.worker_id, exc)
                    await _wait(stop, min(tick, 0.5))
        finally:
            try:
                for partition in list(self.owned):
                    await self._hand_back(partition)
                await self.bus.leave(cfg.worker_id)
            except ServiceUnavailable as exc:
                _log.warning("worker %s: left without handing back (%s); leases expire instead", cfg.worker_id, exc)

    async def _keepalive(self) -> None:
        """Renew membership and leases (and stop serving a partition whose lease was lost)."""
        cfg = self.config
        await self.bus.heartbeat(cfg.worker_id)
        for partition, owned in list(self.owned.items()):
            revision = await self.bus.renew(partition, cfg.worker_id, owned.revision)
            if revision is None:
                _log.warning("worker %s: lost the lease of partition %d; stopped serving it", cfg.worker_id, partition)
                await self._drop(partition)
            else:
                owned.revision = revision
        self._renewed_at = time.monotonic()

    async def _rebalance(self) -> None:
        cfg = self.config
        await self._keepalive()
        members = await self.bus.members()
        desired = owned_by(self.bus.partitions, members or [cfg.worker_id], cfg.worker_id)
        for partition in sorted(set(self.owned) - desired):
            await self._hand_back(partition)
        for partition in sorted(desired - set(self.owned)):
            revision = await self.bus.claim(partition, cfg.worker_id)
            if revision is not None:
                await self._take(partition, revision)

    async def _take(self, partition: int, revision: int) -> None:
        data = await self.bus.load_checkpoint(partition)
        checkpoint = decode_checkpoint(data, self.detector) if data is not None else None
        self.scorer.add_partition(partition, checkpoint)
        seq = self.scorer.seq[partition]
        reader = self.bus.reader(self.bus.names.stream, self.bus.names.samples(partition), seq)
        self.owned[partition] = _Owned(reader, revision, seq, time.monotonic())
        _log.info("worker %s: serving partition %d from sequence %d", self.config.worker_id, partition, seq + 1)

    async def _drop(self, partition: int) -> None:
        owned = self.owned.pop(partition)
        self.scorer.drop_partition(partition)
        await owned.reader.close()

    async def _hand_back(self, partition: int) -> None:
        owned = self.owned[partition]
        revision = await self.bus.renew(partition, self.config.worker_id, owned.revision)
        if revision is not None and self.scorer.seq[partition] > owned.checkpointed_seq:
            await self.bus.save_checkpoint(partition, encode_checkpoint(self.scorer.checkpoint(partition)))
        await self._drop(partition)
        if revision is not None:
            await self.bus.release(partition, revision)

    async def _serve_once(self, stop: asyncio.Event) -> None:
        """Read what is new and score it round by round: a round takes the next batch of every partition.

        A round waits for every partition that still has samples in the stream, so that the rounds keep
        the partitions in step (a round of all of them is one detector call over all their rows; rounds
        of some partitions cost calls of their own). A partition whose read found nothing is drained and
        waited for no longer. What was read and not yet scored waits for the next call.
        """
        short = [p for p, owned in self.owned.items() if len(owned.pending) < self.config.fetch_batch]
        fetched = await asyncio.gather(*(self.owned[p].reader.fetch(
            self.config.fetch_batch, timeout_s=0.05 if self.owned[p].read_once else _FIRST_READ_S) for p in short))
        for p, messages in zip(short, fetched):
            entry = self.owned[p]
            entry.pending.extend(messages)
            entry.drained, entry.read_once = not messages, True
        partitions = list(self.owned)
        inflight: list[asyncio.Task[bool]] = []  # results of earlier rounds on their way while this one is scored
        published = True
        while True:
            if time.monotonic() - self._renewed_at >= self.config.lease_ttl_s / 4:  # a long serve keeps its
                await self._keepalive()  # leases (a busy worker must not look dead); lost ones are dropped
            owned = [self.owned[p] for p in partitions if p in self.owned]
            if not any(o.pending for o in owned) or any(not o.pending and not o.drained for o in owned):
                break  # nothing to score, or a partition with more to read: read it first
            batches = {p: (o.pending[0].seq, decode_samples(o.pending.popleft().data))
                       for p, o in zip([p for p in partitions if p in self.owned], owned) if o.pending}
            scores = self.scorer.score(batches)
            now = time.time()
            results = [(ScoreBatch(p, seq, self.config.worker_id, scores[p], batch.ingested_at, now),
                        self.scorer.alerts(p, batch, scores[p], self.config.worker_id))
                       for p, (seq, batch) in batches.items()]
            inflight.append(asyncio.create_task(self._publish(results, stop)))
            self.scored_samples += sum(len(batch) for _, batch in batches.values())
            if len(inflight) >= _PIPELINE:
                published &= await inflight.pop(0)
            await asyncio.sleep(0)  # let the publications go out
        for task in inflight:
            published &= await task
        if not published:  # stopping with the broker away: give the partitions up unsaved, their next
            for p in partitions:  # owners replay what was scored but not published
                if p in self.owned:
                    await self._drop(p)

    async def _publish(self, results: list[tuple[ScoreBatch, list[AlertRecord]]], stop: asyncio.Event) -> bool:
        """Publish learnt results until the broker takes them (the same bytes: ids make retries harmless);
        False if stopping first."""
        while True:
            try:
                await self.bus.publish_many(results)
                return True
            except ServiceUnavailable as exc:
                if stop.is_set():
                    return False
                _log.warning("worker %s: results not published (%s); retrying", self.config.worker_id, exc)
                await _wait(stop, 0.2)

    async def _checkpoint_due(self) -> None:
        now = time.monotonic()
        for partition, owned in list(self.owned.items()):
            seq = self.scorer.seq[partition]
            if seq == owned.checkpointed_seq or now - owned.checkpointed_at < self.config.checkpoint_every_s:
                continue
            revision = await self.bus.renew(partition, self.config.worker_id, owned.revision)
            if revision is None:
                await self._drop(partition)
                continue
            owned.revision = revision
            await self.bus.save_checkpoint(partition, encode_checkpoint(self.scorer.checkpoint(partition)))
            owned.checkpointed_seq, owned.checkpointed_at = seq, time.monotonic()


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass


def run_worker(settings: ScaleoutSettings, worker_id: str | None = None, *, join_grace_s: float | None = None,
               alertmanager: str | None = None) -> None:
    """Serve partitions until SIGTERM or SIGINT (then hand them back with a checkpoint, and leave).

    With ``alertmanager``, the worker also forwards the results stream's alerts there, in a thread
    of its own (a slow Alertmanager never delays a lease renewal); every worker given it shares one
    durable consumer, so each alert goes through one of them."""
    if settings.nats_url is None:
        raise ConfigError("foresight worker needs scaleout.nats_url (FORESIGHT_SCALEOUT__NATS_URL); without a "
                          "broker, `foresight serve` scores every series in its own process")
    config = WorkerConfig(worker_id or f"{socket.gethostname()}-{os.getpid()}", settings.detector,
                          settings.alert_threshold, settings.lease_ttl_s, settings.checkpoint_every_s, join_grace_s)

    async def main() -> None:
        assert settings.nats_url is not None
        bus = await JetStreamBus.connect(settings.nats_url, StreamNames(settings.stream, settings.subject_prefix),
                                         settings.partitions, max_stream_bytes=settings.max_stream_bytes,
                                         retention_s=settings.retention_s, lease_ttl_s=settings.lease_ttl_s)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        forwarding = threading.Thread(target=asyncio.run, args=(forward(stop_forwarding),), name="alert-forwarder",
                                      daemon=True) if alertmanager else None
        if forwarding is not None:
            forwarding.start()
        try:
            await Worker(bus, config).run(stop)
        finally:
            stop_forwarding.set()
            if forwarding is not None:
                await asyncio.to_thread(forwarding.join, 30.0)
            await bus.close()

    async def forward(done: threading.Event) -> None:
        assert settings.nats_url is not None and alertmanager is not None
        bus = await JetStreamBus.connect(settings.nats_url, StreamNames(settings.stream, settings.subject_prefix),
                                         settings.partitions, max_stream_bytes=settings.max_stream_bytes,
                                         retention_s=settings.retention_s, lease_ttl_s=settings.lease_ttl_s)
        stop, loop = asyncio.Event(), asyncio.get_running_loop()

        def relay() -> None:  # the worker's stop, from its thread to this loop
            done.wait()
            loop.call_soon_threadsafe(stop.set)

        relaying = loop.run_in_executor(None, relay)
        with AlertmanagerClient(alertmanager, SystemClock()) as sink:
            try:
                await AlertForwarder(bus.alert_reader("foresight-alert-forwarder"), sink).run(stop)
            finally:
                sink.flush()
                await bus.close()
                await relaying

    stop_forwarding = threading.Event()
    asyncio.run(main())
