"""Remote write 1.0: the WriteRequest codec, the out-of-order guard, and the HTTP endpoint."""

from __future__ import annotations

import itertools
import logging
import math
import struct
import threading

import anyio
import cramjam
import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st

from foresight.adapters.remote_write import (
    RemoteWriteReceiver,
    decode_write_request,
    encode_write_request,
    remote_write_router,
)
from foresight.errors import InputError
from foresight.series import Series

# A WriteRequest assembled by hand from the field numbers of Prometheus' remote.proto/types.proto,
# independently of encode_write_request: one TimeSeries {__name__="up", job="api"} with samples
# (1.0 @ 1700000000123 ms) and (0.5 @ -1500 ms), then a metadata entry (field 3) to be skipped.
HAND_WRITTEN = bytes.fromhex(
    "0a44"  # WriteRequest.timeseries (1), 68 bytes
    "0a0e"
    "0a085f5f6e616d655f5f"
    "12027570"  # TimeSeries.labels (1): name (1) "__name__", value (2) "up"
    "0a0a"
    "0a036a6f62"
    "1203617069"  # TimeSeries.labels (1): "job" = "api"
    "1210"
    "09000000000000f03f"
    "10fbd095ffbc31"  # TimeSeries.samples (2): value (1, double), timestamp (2)
    "1214"
    "09000000000000e03f"
    "10a4f4ffffffffffffff01"  # a negative timestamp: 10-byte varint
    "1a02"
    "0801"  # WriteRequest.metadata (3): skipped
)
STALE_NAN = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]  # Prometheus' staleness marker


def snappy(raw: bytes) -> bytes:
    return bytes(cramjam.snappy.compress_raw(raw))


def test_decodes_a_hand_written_write_request():
    [s] = decode_write_request(snappy(HAND_WRITTEN))
    assert dict(s.labels) == {"__name__": "up", "job": "api"}
    assert s.timestamps.tolist() == [-1.5, 1700000000.123]  # sorted within the batch
    assert s.values.tolist() == [0.5, 1.0]


def test_encoder_writes_the_hand_written_bytes():
    # The hand-written samples are out of time order; a Series is not, so they come out swapped.
    series = Series({"job": "api", "__name__": "up"}, [-1.5, 1700000000.123], [0.5, 1.0])
    raw = bytes(cramjam.snappy.decompress_raw(encode_write_request([series])))
    labels, sample_new, sample_old = HAND_WRITTEN[:30], HAND_WRITTEN[30:48], HAND_WRITTEN[48:70]
    assert raw == labels + sample_old + sample_new  # labels sorted by name


label_names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,10}", fullmatch=True)
label_sets = st.dictionaries(label_names, st.text(min_size=1, max_size=8), min_size=1, max_size=4)
sample_times = st.lists(st.integers(-(2**50), 2**50), min_size=1, max_size=20, unique=True).map(sorted)


@st.composite
def series_batches(draw: st.DrawFn) -> list[Series]:
    batch, seen = [], set()
    for labels in draw(st.lists(label_sets, min_size=1, max_size=5)):
        if tuple(sorted(labels.items())) in seen:
            continue
        seen.add(tuple(sorted(labels.items())))
        times = draw(sample_times)
        values = draw(
            st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=len(times), max_size=len(times))
        )
        batch.append(Series(labels, np.asarray(times) / 1000.0, values))
    return batch


@given(series_batches())
def test_round_trip_keeps_labels_times_and_values(batch):
    decoded = {tuple(sorted(s.labels.items())): s for s in decode_write_request(encode_write_request(batch))}
    assert len(decoded) == len(batch)
    for s in batch:
        got = decoded[tuple(sorted(s.labels.items()))]
        assert np.array_equal(got.timestamps, s.timestamps)
        assert np.array_equal(got.values, s.values, equal_nan=True)


def delimited(field: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (wire type 2), lengths up to 16383 bytes."""
    size = (
        bytes([len(payload)])
        if len(payload) < 128
        else bytes([len(payload) & 0x7F | 0x80, len(payload) >> 7])
    )
    return bytes([field << 3 | 2]) + size + payload


def test_fields_left_out_or_in_another_layout_are_read():
    # proto3 leaves out zero values (Prometheus sends a sample of 0.0 without its value field);
    # fields may come in any order; a name or value of 128 bytes or more has a two-byte length.
    long_value = "v" * 200
    label = delimited(2, long_value.encode()) + delimited(1, b"kkkk")
    one_at_1s = bytes.fromhex("10e80709000000000000f03f")  # timestamp 1000 ms, then value 1.0
    zero_at_0 = b""
    raw = delimited(1, delimited(1, label) + delimited(2, one_at_1s) + delimited(2, zero_at_0))
    [s] = decode_write_request(snappy(raw))
    assert dict(s.labels) == {"kkkk": long_value}
    assert s.timestamps.tolist() == [0.0, 1.0] and s.values.tolist() == [0.0, 1.0]


def test_series_sent_twice_are_merged_and_a_repeated_time_keeps_the_last_value():
    up = {"__name__": "up"}
    body = encode_write_request([Series(up, [3.0, 4.0], [3.0, 4.0]), Series(up, [1.0, 3.0], [1.0, 30.0])])
    [s] = decode_write_request(body)
    assert s.timestamps.tolist() == [1.0, 3.0, 4.0] and s.values.tolist() == [1.0, 30.0, 4.0]


def test_staleness_markers_arrive_as_nan_and_histogram_only_series_are_left_out():
    stale = encode_write_request([Series({"__name__": "up"}, [1.0], [STALE_NAN])])
    histogram_only = (
        "0a1f"  # WriteRequest.timeseries (1), 31 bytes
        "0a10"
        "0a085f5f6e616d655f5f"
        "120468697374"  # labels: __name__="hist"
        "220b"
        "0801"
        "11000000000000f03f"  # TimeSeries.histograms (4): skipped
    )
    raw = bytes(cramjam.snappy.decompress_raw(stale)) + bytes.fromhex(histogram_only)
    [s] = decode_write_request(snappy(raw))
    assert s.labels["__name__"] == "up" and math.isnan(s.values[0])


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"not snappy at all", "not snappy block format"),
        (b"\xff\xff\xff\xff\x7f", "declares 34359738367 decompressed bytes"),
        (snappy(HAND_WRITTEN[:-10]), "malformed WriteRequest protobuf: .*runs past the end"),
        (snappy(bytes.fromhex("0b")), "unsupported wire type 3"),
        (snappy(bytes.fromhex("0aff")), "truncated varint"),
        (snappy(bytes.fromhex("0a100a060a01611201620a060a0161120163")), "repeats label 'a'"),
        (snappy(bytes.fromhex("0a080a060a01ff120162")), "not UTF-8"),
        (snappy(bytes.fromhex("0a020a00")), "timeseries\\[0\\] has a label without a name"),
    ],
)
def test_malformed_bodies_are_input_errors_saying_what_is_wrong(body, match):
    with pytest.raises(InputError, match=f"^remote-write body: .*{match}"):
        decode_write_request(body)


def batch_of(*points: tuple[str, float, float]) -> bytes:
    """A body with samples ``(job, time, value)``; one Series per sample so any order can be sent."""
    return encode_write_request([Series({"__name__": "rps", "job": job}, [t], [v]) for job, t, v in points])


def test_receiver_drops_and_counts_samples_not_after_what_it_delivered(caplog):
    delivered: list[list[Series]] = []
    receiver = RemoteWriteReceiver(delivered.append)
    assert receiver.receive(batch_of(("api", 20, 2.0), ("api", 10, 1.0), ("db", 5, 9.0))) == 3
    with caplog.at_level(logging.WARNING, logger="foresight.adapters.remote_write"):
        assert (
            receiver.receive(batch_of(("api", 15, 1.5), ("api", 20, 2.0), ("api", 30, 3.0), ("db", 6, 9.5)))
            == 2
        )

    first = {s.labels["job"]: s for s in delivered[0]}
    assert first["api"].timestamps.tolist() == [10, 20] and first["db"].timestamps.tolist() == [5]
    second = {s.labels["job"]: s for s in delivered[1]}
    assert second["api"].timestamps.tolist() == [30] and second["api"].values.tolist() == [3.0]
    assert receiver.dropped_samples == 2 and receiver.delivered_samples == 5
    assert "dropped 2 sample(s)" in caplog.text and "'job': 'api'" in caplog.text


def test_a_failed_delivery_commits_nothing_so_the_retry_is_delivered():
    delivered: list[list[Series]] = []
    failures = [RuntimeError("queue full")]

    def deliver(batch: list[Series]) -> None:
        if failures:
            raise failures.pop()
        delivered.append(batch)

    receiver = RemoteWriteReceiver(deliver)
    body = batch_of(("api", 10, 1.0))
    with pytest.raises(RuntimeError):
        receiver.receive(body)
    assert receiver.receive(body) == 1 and receiver.dropped_samples == 0
    assert delivered[0][0].timestamps.tolist() == [10]


def test_concurrent_senders_never_deliver_a_series_backwards():
    delivered: list[float] = []
    receiver = RemoteWriteReceiver(lambda batch: delivered.extend(batch[0].timestamps.tolist()))
    bodies = [batch_of(("api", t, 1.0)) for t in range(200)]

    def send(part: list[bytes]) -> None:
        for body in part:
            receiver.receive(body)

    threads = [threading.Thread(target=send, args=(bodies[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(b > a for a, b in itertools.pairwise(delivered))
    assert receiver.delivered_samples + receiver.dropped_samples == 200
    assert receiver.delivered_samples == len(delivered)


HEADERS = {
    "Content-Encoding": "snappy",
    "Content-Type": "application/x-protobuf",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
}


def post(app: FastAPI, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    """POST to the app in-process (ASGI), as Prometheus would over HTTP."""

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as client:
            return await client.post(path, content=body, headers=headers)

    return anyio.run(send)


def app_delivering_to(deliver, path: str = "/api/v1/write") -> FastAPI:
    app = FastAPI()
    app.include_router(remote_write_router(RemoteWriteReceiver(deliver), path=path))
    return app


def test_endpoint_accepts_remote_write_with_204():
    delivered: list[list[Series]] = []
    response = post(app_delivering_to(delivered.append), "/api/v1/write", snappy(HAND_WRITTEN), HEADERS)
    assert response.status_code == 204
    assert delivered[0][0].values.tolist() == [0.5, 1.0]


@pytest.mark.parametrize(
    ("body", "extra_headers", "status", "text"),
    [
        (b"garbage", {}, 400, "not snappy block format"),
        (snappy(HAND_WRITTEN), {"Content-Encoding": "gzip"}, 400, "Content-Encoding 'gzip' is not supported"),
        (
            snappy(HAND_WRITTEN),
            {"Content-Type": "application/x-protobuf;proto=io.prometheus.write.v2.Request"},
            415,
            "remote write 2.0 is not supported",
        ),
    ],
)
def test_endpoint_refuses_what_it_cannot_read_with_a_message(body, extra_headers, status, text):
    delivered: list[list[Series]] = []
    response = post(app_delivering_to(delivered.append), "/api/v1/write", body, {**HEADERS, **extra_headers})
    assert response.status_code == status and text in response.text
    assert delivered == []


def test_endpoint_answers_500_when_delivery_fails_so_prometheus_retries():
    def deliver(batch: list[Series]) -> None:
        raise RuntimeError("detector is down")

    response = post(app_delivering_to(deliver, path="/push"), "/push", snappy(HAND_WRITTEN), HEADERS)
    assert response.status_code == 500
