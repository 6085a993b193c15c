"""A Prometheus remote-write 1.0 receiver: Prometheus pushes samples, Foresight scores them live.

The body of a remote-write request is a ``prometheus.WriteRequest`` protobuf message, compressed
with snappy's block format. Only four messages matter to a receiver of float samples (field
numbers from Prometheus' ``prompb/remote.proto`` and ``prompb/types.proto``)::

    message WriteRequest { repeated TimeSeries timeseries = 1; }    // 3: metadata (skipped)
    message TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
                                                 // 3: exemplars, 4: histograms (skipped)
    message Label        { string name = 1; string value = 2; }
    message Sample       { double value = 1; int64 timestamp = 2; }  // Unix milliseconds

They are read and written here with a small protobuf wire-format codec (varints, 64-bit fixed,
length-delimited fields; unknown fields skipped), which keeps the receiver free of generated code
and of a protobuf runtime version to pin.

Ordering. Prometheus sends each series' samples in order, but retries, resharding and HA pairs
can repeat or reorder them. :func:`decode_write_request` sorts each series' samples within a
batch (a repeated timestamp keeps its last value); :class:`RemoteWriteReceiver` then drops, and
counts, every sample not newer than the last one it delivered for that series, so consumers
(streaming detectors) always see strictly increasing time. A delivery that raises commits
nothing, so the sender's retry delivers the same samples again.

:func:`remote_write_router` serves the receiver over HTTP (FastAPI): 204 when accepted, 400 with
a message for a malformed body (the sender does not retry a 4xx), 415 for remote write 2.0, and 429
with ``Retry-After`` when ``deliver`` raises :class:`~foresight.scaleout.Backpressure` (the scale-out
stream is full or away). Prometheus retries a 429 only with ``queue_config: {retry_on_http_429: true}``
in its ``remote_write`` section (it drops the batch otherwise): set it when Foresight scales out.
"""

from __future__ import annotations

import logging
import math
import struct
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping

import cramjam
import numpy as np
from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from foresight.errors import InputError
from foresight.scaleout import Backpressure
from foresight.series import Series

__all__ = ["RemoteWriteReceiver", "decode_write_request", "encode_write_request", "remote_write_router"]

_log = logging.getLogger(__name__)

#: Largest decompressed body accepted; Prometheus' batches are far smaller (about 100 KiB).
MAX_DECODED_BYTES = 64 * 2**20

_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5
_DOUBLE = struct.Struct("<d")


class _Malformed(ValueError):
    """The protobuf bytes break the wire format; the message says where."""


def decode_write_request(body: bytes, *, max_decoded_bytes: int = MAX_DECODED_BYTES) -> list[Series]:
    """Decode a snappy-compressed ``WriteRequest`` into one Series per label set (float samples).

    Timestamps become Unix seconds; each series' samples are sorted, a repeated timestamp keeps
    the last value sent, and a time series sent twice in one request is merged. Series with no
    float samples (native histograms only) are left out. Staleness markers stay NaN.

    >>> up = {"__name__": "up", "job": "api"}
    >>> body = encode_write_request([Series(up, [2.0, 3.0], [1.0, 1.0]), Series(up, [1.0, 3.0], [0.0, 5.0])])
    >>> [(s.labels["job"], s.timestamps.tolist(), s.values.tolist()) for s in decode_write_request(body)]
    [('api', [1.0, 2.0, 3.0], [0.0, 1.0, 5.0])]
    """
    raw = _decompress(body, max_decoded_bytes)
    samples: dict[tuple[tuple[str, str], ...], tuple[list[int], list[float]]] = {}
    index = 0
    try:
        for field, wire, start, end in _fields(raw, 0, len(raw)):
            if field == 1 and wire == _BYTES:
                labels, timestamps, values = _time_series(raw, start, end, index)
                index += 1
                if timestamps:
                    ts, vs = samples.setdefault(tuple(sorted(labels.items())), ([], []))
                    ts.extend(timestamps)
                    vs.extend(values)
    except _Malformed as exc:
        raise InputError(f"remote-write body: malformed WriteRequest protobuf: {exc}") from exc
    return [_sorted_series(dict(key), ts, vs) for key, (ts, vs) in samples.items()]


def encode_write_request(series: Iterable[Series]) -> bytes:
    """Encode series as a snappy-compressed ``WriteRequest`` (to push samples into Prometheus).

    Labels are sent sorted by name, as the specification asks; empty label values are left out
    (an empty label is an absent one); times are rounded to milliseconds.
    """
    out = bytearray()
    for s in series:
        ts_body = bytearray()
        for name, value in sorted(s.labels.items()):
            if value:
                _put_bytes(ts_body, 1, _put_str(_put_str(bytearray(), 1, name), 2, value))
        for t, v in zip(s.timestamps.tolist(), s.values.tolist()):
            sample = bytearray(b"\x09") + _DOUBLE.pack(v)  # field 1, wire type 1 (64-bit)
            sample.append(0x10)  # field 2, wire type 0 (varint)
            _put_varint(sample, round(t * 1000) & 0xFFFF_FFFF_FFFF_FFFF)
            _put_bytes(ts_body, 2, sample)
        _put_bytes(out, 1, ts_body)
    return bytes(cramjam.snappy.compress_raw(bytes(out)))


class RemoteWriteReceiver:
    """Decodes remote-write bodies and hands ``deliver`` only samples newer than those it gave before.

    ``deliver`` gets a list of Series (each strictly after what was delivered for its labels);
    it is called under a lock, so concurrent requests (Prometheus' shards) are delivered one at a
    time and in order. ``dropped_samples`` counts the out-of-order and repeated samples dropped;
    ``delivered_samples`` the others. It remembers one timestamp per series it has seen.
    """

    def __init__(
        self, deliver: Callable[[list[Series]], None], *, max_decoded_bytes: int = MAX_DECODED_BYTES
    ) -> None:
        self._deliver = deliver
        self._max_decoded_bytes = max_decoded_bytes
        self._last: dict[tuple[tuple[str, str], ...], float] = {}
        self._lock = threading.Lock()
        self.delivered_samples = 0
        self.dropped_samples = 0

    def receive(self, body: bytes) -> int:
        """Decode ``body``, deliver its new samples, and return how many were delivered."""
        batch = decode_write_request(body, max_decoded_bytes=self._max_decoded_bytes)
        with self._lock:
            fresh: list[Series] = []
            newest: dict[tuple[tuple[str, str], ...], float] = {}
            late: list[Series] = []  # series with samples not after their last delivered one
            for s in batch:
                key = tuple(sorted(s.labels.items()))
                first_new = int(np.searchsorted(s.timestamps, self._last.get(key, -math.inf), side="right"))
                if first_new > 0:
                    late.append(s)
                if first_new < len(s):
                    fresh.append(
                        s
                        if first_new == 0
                        else Series(s.labels, s.timestamps[first_new:], s.values[first_new:])
                    )
                    newest[key] = float(s.timestamps[-1])
            if fresh:
                self._deliver(fresh)
            self._last.update(newest)
            delivered = sum(len(s) for s in fresh)
            dropped = sum(len(s) for s in batch) - delivered
            self.delivered_samples += delivered
            self.dropped_samples += dropped
        if late:
            _log.warning(
                "remote write: dropped %d sample(s) of %d series not after what was delivered (first: %s)",
                dropped,
                len(late),
                dict(late[0].labels),
            )
        return delivered


def remote_write_router(receiver: RemoteWriteReceiver, path: str = "/api/v1/write") -> APIRouter:
    """A FastAPI router that accepts Prometheus remote write 1.0 at ``path`` (POST)."""
    router = APIRouter()

    @router.post(path, status_code=204, response_class=Response)
    async def write(request: Request) -> Response:
        content_type = request.headers.get("content-type", "application/x-protobuf")
        if "proto=io.prometheus.write.v2" in content_type:
            return PlainTextResponse(
                "remote write 2.0 is not supported; send remote write 1.0", status_code=415
            )
        encoding = request.headers.get("content-encoding", "snappy")
        if encoding != "snappy":
            return PlainTextResponse(
                f"Content-Encoding {encoding!r} is not supported; use snappy", status_code=400
            )
        body = await request.body()
        try:
            await run_in_threadpool(receiver.receive, body)
        except InputError as exc:
            return PlainTextResponse(str(exc), status_code=400)
        except Backpressure as exc:  # nothing was taken: the sender retries after Retry-After
            return PlainTextResponse(str(exc), status_code=429,
                                     headers={"Retry-After": str(max(1, math.ceil(exc.retry_after_s)))})
        return Response(status_code=204)

    return router


def _decompress(body: bytes, max_decoded_bytes: int) -> memoryview:
    # The block format starts with the decompressed length: refuse a huge one before allocating it.
    try:
        declared, _ = _varint(body, 0)
    except _Malformed as exc:
        raise InputError(f"remote-write body: not snappy block format ({exc})") from exc
    if declared > max_decoded_bytes:
        raise InputError(
            f"remote-write body: declares {declared} decompressed bytes, more than {max_decoded_bytes}"
        )
    try:
        return memoryview(cramjam.snappy.decompress_raw(body))
    except cramjam.DecompressionError as exc:
        raise InputError(f"remote-write body: not snappy block format ({exc})") from exc


def _time_series(
    buf: memoryview, start: int, end: int, index: int
) -> tuple[dict[str, str], list[int], list[float]]:
    labels: dict[str, str] = {}
    timestamps: list[int] = []
    values: list[float] = []
    for field, wire, a, b in _fields(buf, start, end):
        if field == 1 and wire == _BYTES:
            name, label_value = _label(buf, a, b, index)
            if not name:
                raise _Malformed(f"timeseries[{index}] has a label without a name")
            if name in labels:
                raise _Malformed(f"timeseries[{index}] repeats label {name!r}")
            labels[name] = label_value
        elif field == 2 and wire == _BYTES:
            value, timestamp = _sample(buf, a, b)
            values.append(value)
            timestamps.append(timestamp - (1 << 64) if timestamp >= 1 << 63 else timestamp)
    return labels, timestamps, values


def _sample(buf: memoryview, start: int, end: int) -> tuple[float, int]:
    # Fast path for the usual layout, value (field 1, 64-bit) then timestamp (field 2, varint).
    if end - start >= 11 and buf[start] == 0x09 and buf[start + 9] == 0x10:
        timestamp, pos = _varint(buf, start + 10, end)
        if pos == end:
            return _DOUBLE.unpack_from(buf, start + 1)[0], timestamp
    value, timestamp = 0.0, 0  # proto3 leaves out a field that holds 0 (a sample of 0.0 has no value field)
    for field, wire, a, _ in _fields(buf, start, end):
        if field == 1 and wire == _FIXED64:
            value = _DOUBLE.unpack_from(buf, a)[0]
        elif field == 2 and wire == _VARINT:
            timestamp = a
    return value, timestamp


def _label(buf: memoryview, start: int, end: int, index: int) -> tuple[str, str]:
    try:
        # Fast path for the usual layout: name (field 1) then value (field 2), each < 128 bytes.
        if end - start >= 4 and buf[start] == 0x0A and buf[start + 1] < 0x80:
            mid = start + 2 + buf[start + 1]
            if mid + 2 <= end and buf[mid] == 0x12 and buf[mid + 1] < 0x80 and mid + 2 + buf[mid + 1] == end:
                return str(buf[start + 2 : mid], "utf-8"), str(buf[mid + 2 : end], "utf-8")
        parts = {1: "", 2: ""}
        for field, wire, a, b in _fields(buf, start, end):
            if field in parts and wire == _BYTES:
                parts[field] = str(buf[a:b], "utf-8")
    except UnicodeDecodeError as exc:
        raise _Malformed(f"timeseries[{index}] has a label that is not UTF-8") from exc
    return parts[1], parts[2]


def _fields(buf: memoryview | bytes, pos: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """Yield ``(field, wire_type, a, b)``: a varint's value in ``a``; else the payload is ``buf[a:b]``."""
    while pos < end:
        key, pos = _varint(buf, pos, end)
        field, wire = key >> 3, key & 7
        if wire == _VARINT:
            value, pos = _varint(buf, pos, end)
            yield field, wire, value, pos
            continue
        if wire == _BYTES:
            size, pos = _varint(buf, pos, end)
        elif wire in (_FIXED64, _FIXED32):
            size = 8 if wire == _FIXED64 else 4
        else:
            raise _Malformed(f"field {field} has unsupported wire type {wire} at byte {pos}")
        if pos + size > end:
            raise _Malformed(f"field {field} runs past the end of its message at byte {pos}")
        yield field, wire, pos, pos + size
        pos += size


def _varint(buf: memoryview | bytes, pos: int, end: int | None = None) -> tuple[int, int]:
    end = len(buf) if end is None else end
    if pos < end and buf[pos] < 0x80:  # most keys and lengths: one byte
        return buf[pos], pos + 1
    result = shift = 0
    while shift < 70:
        if pos >= end:
            raise _Malformed(f"truncated varint at byte {pos}")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
    raise _Malformed(f"varint longer than 10 bytes before byte {pos}")


def _sorted_series(labels: Mapping[str, str], timestamps_ms: list[int], values: list[float]) -> Series:
    if len(timestamps_ms) == 1:  # the usual case: one sample per series per request
        return Series(labels, [timestamps_ms[0] / 1000.0], values)
    ts = np.asarray(timestamps_ms, dtype=np.int64)
    vs = np.asarray(values, dtype=np.float64)
    order = np.argsort(ts, kind="stable")
    ts, vs = ts[order], vs[order]
    last_of_each = np.ones(ts.size, dtype=bool)
    last_of_each[:-1] = ts[1:] != ts[:-1]
    return Series(labels, ts[last_of_each] / 1000.0, vs[last_of_each])


def _put_varint(out: bytearray, value: int) -> None:
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def _put_bytes(out: bytearray, field: int, payload: bytes | bytearray) -> bytearray:
    _put_varint(out, field << 3 | _BYTES)
    _put_varint(out, len(payload))
    out += payload
    return out


def _put_str(out: bytearray, field: int, text: str) -> bytearray:
    return _put_bytes(out, field, text.encode("utf-8"))
