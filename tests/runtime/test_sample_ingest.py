"""Samples into the partitioned stream: remote write answers 429 with Retry-After while the real stream
(the machine's NATS) is full and takes the retry once there is room, each batch stored once; the poller
reads a refused range again."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable, Iterator

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from foresight.adapters.jetstream import JetStreamBus, StreamNames, SyncPublisher
from foresight.adapters.remote_write import RemoteWriteReceiver, encode_write_request, remote_write_router
from foresight.runtime.sample_ingest import StreamIngest, StreamPoller
from foresight.scaleout import Backpressure
from foresight.scaleout.codec import SampleBatch
from foresight.series import Series

URL = "nats://127.0.0.1:4222"


def _nats_up() -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", 4222)) == 0


@pytest.fixture
def publisher(require_service: Callable[[bool, str], None]) -> Iterator[SyncPublisher]:
    require_service(_nats_up(), "NATS is not listening on 127.0.0.1:4222")
    tag = uuid.uuid4().hex[:10]
    names = StreamNames(f"fs-ingest-{tag}", f"fsingest{tag}")
    pub = SyncPublisher(lambda: JetStreamBus.connect(URL, names, 2, max_stream_bytes=1 << 20))
    yield pub
    pub._run(pub.bus.delete_all())
    pub.close()


def _body(step: int, series: int = 2000) -> bytes:
    return encode_write_request([Series({"__name__": "load", "pod": f"p{i}"}, [60.0 * step], [float(i)])
                                 for i in range(series)])


def _messages(pub: SyncPublisher) -> int:
    return int(pub._run(pub.bus.js.stream_info(pub.bus.names.stream)).state.messages)


@pytest.mark.integration
def test_remote_write_gets_429_while_the_stream_is_full_and_its_retry_is_stored_once(publisher: SyncPublisher) -> None:
    stream = StreamIngest(publisher.publish, 2)
    app = FastAPI()
    app.include_router(remote_write_router(RemoteWriteReceiver(stream.deliver)))
    client = TestClient(app)
    headers = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf"}
    codes = [client.post("/api/v1/write", content=_body(step), headers=headers) for step in range(40)]
    refused = [r for r in codes if r.status_code == 429]
    assert refused and int(refused[0].headers["Retry-After"]) >= 1
    accepted = [r for r in codes if r.status_code == 204]
    assert codes.index(refused[0]) == len(accepted)  # accepted until full, refused from then on
    stored = _messages(publisher)
    assert len(accepted) * 2 <= stored <= len(accepted) * 2 + 1  # a refused request may have stored one half
    publisher._run(publisher.bus.js.purge_stream(publisher.bus.names.stream))  # the workers caught up
    retry = client.post("/api/v1/write", content=_body(len(accepted)), headers=headers)
    assert retry.status_code == 204
    assert _messages(publisher) == 2  # both partitions' batches, each once


def test_the_poller_reads_a_refused_range_again() -> None:
    published: list[dict[int, SampleBatch]] = []
    full = [True]

    def publish(batches: dict[int, SampleBatch]) -> None:
        if full[0]:
            raise Backpressure("full")
        published.append(batches)

    class Source:
        def query_range(self, query: str, start: float, end: float, step_s: float) -> list[Series]:
            t = np.arange(start, end + step_s / 2, step_s)
            return [Series({"q": query}, t, np.ones(t.size))]

    poller = StreamPoller(Source(), ["up"], StreamIngest(publish, 4), step_s=15.0, backfill_s=60.0)
    assert poller.poll(1000.0) == 0 and poller.read_until == {}
    full[0] = False
    assert poller.poll(1030.0) == 5  # 960..1020: the refused range and what came since
    assert poller.poll(1040.0) == 1 and poller.poll(1049.0) == 0  # 1035, then nothing new
    times = np.concatenate([b.t for batches in published for b in batches.values()])
    assert times.tolist() == [960.0, 975.0, 990.0, 1005.0, 1020.0, 1035.0]
