"""The streaming ingest on the real NATS JetStream and Redis: aggregates right, bad events counted, crashes never double-count."""

from __future__ import annotations

import asyncio
import json
import math
import socket
import time
import uuid
from collections.abc import Sequence

import pytest
from conftest import require_service

from foresight.features.events import EventSchema
from foresight.features.ingest import Delivery, StreamIngest
from foresight.features.windows import WindowAggregator

pytestmark = pytest.mark.integration
FEATURES = ["card_activity:txn_count", "card_activity:amount_sum", "card_activity:amount_max", "card_activity:last_merchant"]


def nats_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 4222), timeout=1):
            return True
    except OSError:
        return False


def events(now: float) -> list[dict]:
    """Cards 1-3, amounts known by hand; a few seconds old so they stay in the window they are expected in."""
    return [
        {"card_id": 1 + i % 3, "ts": now - 3.0 + i * 0.01, "amount": float(i), "merchant": 100 + i} for i in range(30)
    ]


def expected(rows: Sequence[dict], width: float = 60.0) -> dict[int, tuple[int, float, float, int]]:
    """Per card, (count, sum, max, last merchant) of its newest window, computed by hand."""
    out = {}
    for card in {r["card_id"] for r in rows}:
        mine = [r for r in rows if r["card_id"] == card]
        newest = max(math.floor(r["ts"] / width) for r in mine)
        window = [r for r in mine if math.floor(r["ts"] / width) == newest]
        last = max(window, key=lambda r: r["ts"])
        out[card] = (len(window), sum(r["amount"] for r in window), max(r["amount"] for r in window), last["merchant"])
    return out


class NoAck:
    """The source of a consumer that crashes after writing and before acknowledging."""

    def __init__(self, inner) -> None:
        self.inner = inner

    async def fetch(self, max_messages: int, timeout_s: float) -> list[Delivery]:
        return await self.inner.fetch(max_messages, timeout_s)

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        return None

    def replay(self, since_s: float):
        return self.inner.replay(since_s)


async def drain(ingest: StreamIngest, quiet_steps: int = 3) -> None:
    quiet = 0
    while quiet < quiet_steps:
        quiet = quiet + 1 if await ingest.step(timeout_s=0.3) == 0 else 0


def make_ingest(spec, source, store) -> StreamIngest:
    view = spec.view("card_activity")
    schema = EventSchema.of(view, {"card_id": "int64"})
    return StreamIngest(WindowAggregator(view, lateness_s=5.0), schema, source, store, time.time)


def test_ingest_writes_aggregates_and_counts_bad_events(feast_store, payments) -> None:
    require_service(nats_up(), "NATS JetStream on 127.0.0.1:4222")
    from foresight.adapters.jetstream import JetStreamEvents

    async def run() -> None:
        name = f"FS_TEST_{uuid.uuid4().hex[:8]}"
        source = JetStreamEvents("nats://127.0.0.1:4222", name, f"fs_test.{name}", "ingest")
        await source.connect()
        try:
            now = time.time()
            good = events(now)
            bad = [
                b"{not json",
                json.dumps({"card_id": 1, "ts": now, "amt": 5.0, "merchant": 1}).encode(),  # renamed field
                json.dumps({"card_id": 1, "ts": now, "amount": "5", "merchant": 1}).encode(),  # type changed
                json.dumps({"card_id": "one", "ts": now, "amount": 5.0, "merchant": 1}).encode(),  # bad entity key
                json.dumps({"card_id": 1, "ts": now + 3600, "amount": 5.0, "merchant": 1}).encode(),  # future
            ]
            await source.publish([json.dumps(e).encode() for e in good] + bad)
            ingest = make_ingest(payments, source, feast_store)
            total = len(good) + len(bad)
            # the pipelined loop: each batch written, then acknowledged, while the next is windowed
            await asyncio.wait_for(
                ingest.run(lambda: ingest.stats.accepted + sum(ingest.stats.rejected.values()) >= total, 7, 0.2), 60
            )
            assert ingest.stats.accepted == len(good)
            assert dict(ingest.stats.rejected) == {"malformed": 1, "schema": 2, "entity": 1, "future": 1}
            read = feast_store.read_online(FEATURES, [{"card_id": c} for c in (1, 2, 3, 99)])
            want = expected(good)
            for i, card in enumerate((1, 2, 3)):
                got = tuple(read.values[n][i] for n in ("txn_count", "amount_sum", "amount_max", "last_merchant"))
                assert got == want[card]
            assert read.missing == (3,)  # card 99 never streamed
        finally:
            await source.delete()
            await source.close()

    asyncio.run(run())


def test_crash_before_ack_neither_loses_nor_double_counts(feast_store, payments) -> None:
    require_service(nats_up(), "NATS JetStream on 127.0.0.1:4222")
    from foresight.adapters.jetstream import JetStreamEvents

    async def run() -> None:
        name = f"FS_TEST_{uuid.uuid4().hex[:8]}"
        first = JetStreamEvents("nats://127.0.0.1:4222", name, f"fs_test.{name}", "ingest", ack_wait_s=1.0)
        await first.connect()
        try:
            now = time.time()
            sent = events(now)
            await first.publish([json.dumps(e).encode() for e in sent[:20]])
            crashed = make_ingest(payments, NoAck(first), feast_store)
            await drain(crashed, quiet_steps=1)  # wrote 20 events' rows, acknowledged none, then "crashed"
            await first.close()

            second = JetStreamEvents("nats://127.0.0.1:4222", name, f"fs_test.{name}", "ingest", ack_wait_s=1.0)
            await second.connect()
            await second.publish([json.dumps(e).encode() for e in sent[20:]])
            restarted = make_ingest(payments, second, feast_store)
            assert await restarted.recover() == len(sent)  # the open windows rebuilt from the stream
            await asyncio.sleep(1.2)  # past ack_wait: the 20 unacknowledged events are redelivered
            await drain(restarted)
            assert restarted.stats.rejected["duplicate"] >= 20
            read = feast_store.read_online(FEATURES, [{"card_id": c} for c in (1, 2, 3)])
            want = expected(sent)
            for i, card in enumerate((1, 2, 3)):
                got = tuple(read.values[n][i] for n in ("txn_count", "amount_sum", "amount_max", "last_merchant"))
                assert got == want[card]
            await second.delete()
            await second.close()
        finally:
            await first.close()

    asyncio.run(run())


class MemorySource:
    """An in-process event source (the port's contract: ids stable across redelivery, unacknowledged events come back)."""

    def __init__(self) -> None:
        self.log: list[Delivery] = []
        self.acked = 0

    def publish(self, payloads: Sequence[dict]) -> None:
        self.log += [Delivery(str(len(self.log) + i), json.dumps(p).encode()) for i, p in enumerate(payloads)]

    async def fetch(self, max_messages: int, timeout_s: float) -> list[Delivery]:
        return self.log[self.acked : self.acked + max_messages]

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        self.acked = max(self.acked, int(deliveries[-1].id) + 1)

    async def replay(self, since_s: float):
        for delivery in self.log:
            yield delivery


def test_a_restart_after_late_events_still_lands_its_rows(feast_store, payments) -> None:
    """Late events push a row's stored time past its newest event's; the rebuilt row after a restart must still land.

    Before the restart the ingest wrote card 1's row three times: the stored time is its newest
    event's plus 2 us (each late event's rewrite must be newer). The event that came next was
    not written when it "crashed". The restarted ingest rebuilds the window from the stream, so
    its row's time is just the newest event's again, older than the stored one: a store that
    skipped writes no newer than the stored row would keep the stale row, and then the redelivered
    event, already counted in the rebuilt window, would be acknowledged as a duplicate and lost.
    """

    async def run() -> None:
        start = math.floor((time.time() - 10) / 60) * 60  # a window already open, fully in the past
        source = MemorySource()
        first = make_ingest(payments, source, feast_store)
        for ts, amount in ((start + 5, 1.0), (start + 1, 2.0), (start + 2, 4.0)):  # one on time, two late
            source.publish([{"card_id": 1, "ts": ts, "amount": amount, "merchant": 7}])
            assert await first.step() == 1
        source.publish([{"card_id": 1, "ts": start + 3, "amount": 8.0, "merchant": 8}])  # fetched by no one: "crash"

        restarted = make_ingest(payments, source, feast_store)
        assert await restarted.recover() == 4
        await drain(restarted, quiet_steps=1)
        assert restarted.stats.rejected["duplicate"] == 1
        read = feast_store.read_online(FEATURES, [{"card_id": 1}])
        assert [read.values[n][0] for n in ("txn_count", "amount_sum", "amount_max")] == [4, 15.0, 8.0]

    asyncio.run(run())
