"""The JetStream adapter against the machine's NATS (127.0.0.1:4222, JetStream on): streams, acknowledged
batches, back-pressure when the stream is full, per-partition reads from a sequence, leases, checkpoints.
Every test uses its own stream and subject names and deletes them afterwards."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Callable

import numpy as np
import pytest
import pytest_asyncio

from foresight.adapters.jetstream import JetStreamBus, StreamNames
from foresight.errors import ConfigError
from foresight.scaleout import Backpressure
from foresight.scaleout.codec import SampleBatch, decode_samples

pytestmark = [pytest.mark.integration, pytest.mark.asyncio]
URL = "nats://127.0.0.1:4222"


def _nats_up() -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", 4222)) == 0


def _names() -> StreamNames:
    tag = uuid.uuid4().hex[:10]
    return StreamNames(f"fs-test-{tag}", f"fstest{tag}")


def _batch(n: int, t: float = 0.0) -> SampleBatch:
    return SampleBatch.of([f"s{i}" for i in range(n)], np.full(n, t), np.arange(n, dtype=float), 1.0)


@pytest_asyncio.fixture
async def bus(require_service: Callable[[bool, str], None]) -> AsyncIterator[JetStreamBus]:
    require_service(_nats_up(), "NATS is not listening on 127.0.0.1:4222")
    b = await JetStreamBus.connect(URL, _names(), 4, max_stream_bytes=1 << 20, lease_ttl_s=1.0)
    yield b
    await b.delete_all()
    await b.close()


async def test_batches_are_read_back_per_partition_from_a_sequence(bus: JetStreamBus) -> None:
    seqs = await bus.publish_samples({0: _batch(3, 1.0), 2: _batch(2, 1.0)})
    await bus.publish_samples({0: _batch(3, 2.0)})
    reader = bus.reader(bus.names.stream, bus.names.samples(0), 0)
    got = []
    for _ in range(20):
        got += await reader.fetch(10, timeout_s=0.2)
        if len(got) == 2:
            break
    assert [decode_samples(m.data).t[0] for m in got] == [1.0, 2.0]
    assert got[0].seq == seqs[0]
    replay = bus.reader(bus.names.stream, bus.names.samples(0), got[0].seq)  # a takeover after the first
    again = await replay.fetch(10, timeout_s=0.5)
    assert [m.seq for m in again] == [got[1].seq]
    await reader.close()
    await replay.close()


async def test_a_full_stream_refuses_with_backpressure_and_keeps_what_it_had(bus: JetStreamBus) -> None:
    accepted = 0
    with pytest.raises(Backpressure) as refused:
        for step in range(20):  # ~130 KB a message against a 1 MiB stream
            await bus.publish_samples({1: _batch(6000, float(step))})
            accepted += 1
    assert 0 < accepted < 20 and refused.value.retry_after_s > 0
    info = await bus.js.stream_info(bus.names.stream)
    assert info.state.messages == accepted  # nothing accepted was dropped to make room


async def test_a_batch_sent_again_is_stored_once(bus: JetStreamBus) -> None:
    await bus.publish_samples({0: _batch(3, 1.0), 1: _batch(2, 1.0)})
    await bus.publish_samples({0: _batch(3, 1.0), 1: _batch(2, 2.0)})  # a retry after a partial failure
    info = await bus.js.stream_info(bus.names.stream)
    assert info.state.messages == 3


async def test_the_partition_count_of_a_stream_is_fixed(bus: JetStreamBus) -> None:
    with pytest.raises(ConfigError, match="partition count is fixed"):
        await JetStreamBus.connect(URL, bus.names, 8)


async def test_a_lease_is_exclusive_renewable_and_expires(bus: JetStreamBus) -> None:
    rev = await bus.claim(0, "w1")
    assert rev is not None
    assert await bus.claim(0, "w2") is None
    assert await bus.owners() == {0: "w1"}
    rev2 = await bus.renew(0, "w1", rev)
    assert rev2 is not None and await bus.renew(0, "w1", rev) is None  # a stale revision is refused
    await asyncio.sleep(2.5)  # TTL 1 s: the lease lapses when w1 stops renewing
    assert await bus.renew(0, "w1", rev2) is None
    assert await bus.claim(0, "w2") is not None


async def test_membership_and_checkpoints(bus: JetStreamBus) -> None:
    await bus.heartbeat("w1")
    await bus.heartbeat("w2")
    assert await bus.members() == ["w1", "w2"]
    await bus.leave("w2")
    assert await bus.members() == ["w1"]
    assert await bus.load_checkpoint(3) is None
    blob = bytes(range(256)) * 8000  # 2 MB: larger than a NATS message
    await bus.save_checkpoint(3, blob)
    await bus.save_checkpoint(3, blob[:10])
    assert await bus.load_checkpoint(3) == blob[:10]
