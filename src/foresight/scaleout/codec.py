"""The bytes on the sample and result subjects: msgpack maps whose number columns are raw float64.

Why msgpack and not protobuf: a batch is three columns (series ids, times, values); msgpack packs
the id list at C speed and carries each number column as one ``bin`` blob that numpy reads back
without a copy (``np.frombuffer``), and it needs no schema compiler, generated module or runtime
version kept in step with it (the KEDA proto's generated files show that cost). A protobuf
``repeated double`` would encode the same 8 bytes per number; its gain, a schema, is had here by
the version field and :func:`decode_samples` refusing what it does not know.

Columns are little-endian whatever the host, so a batch means the same on every machine.

>>> batch = SampleBatch(("a", "b"), np.array([1.0, 1.0]), np.array([0.5, 2.0]), ingested_at=7.0)
>>> back = decode_samples(encode_samples(batch))
>>> back.ids, back.t.tolist(), back.x.tolist(), back.ingested_at
(('a', 'b'), [1.0, 1.0], [0.5, 2.0], 7.0)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import msgpack
import numpy as np

from foresight.errors import InputError

__all__ = ["AlertRecord", "SampleBatch", "ScoreBatch", "batch_id", "decode_alert", "decode_samples", "decode_scores",
           "encode_alert", "encode_samples", "encode_scores"]

VERSION = 1
_F8 = np.dtype("<f8")


@dataclass(frozen=True)
class SampleBatch:
    """Samples of one partition: ``ids[i]`` at time ``t[i]`` (Unix s) has value ``x[i]``; a series
    may repeat (its samples in time order). ``ingested_at``: when the sender handed them over."""

    ids: tuple[str, ...]
    t: np.ndarray
    x: np.ndarray
    ingested_at: float

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class ScoreBatch:
    """The scores of one sample batch (stream sequence ``seq`` of partition ``partition``), in its order."""

    partition: int
    seq: int
    worker: str
    ids: tuple[str, ...]
    t: np.ndarray
    scores: np.ndarray
    ingested_at: float
    scored_at: float


@dataclass(frozen=True)
class AlertRecord:
    """An anomaly onset at or above the alert threshold; ``key`` names it for ever (idempotent)."""

    key: str
    series: str
    t: float
    score: float
    partition: int
    worker: str


def _column(value: Any, name: str, n: int) -> np.ndarray:
    if not isinstance(value, bytes) or len(value) != 8 * n:
        raise InputError(f"batch column {name!r}: expected {n} float64 values")
    return np.frombuffer(value, dtype=_F8)


def _unpack(data: bytes, kind: str) -> dict[str, Any]:
    try:
        body = msgpack.unpackb(data, raw=False)
    except (ValueError, msgpack.UnpackException) as exc:
        raise InputError(f"{kind} batch: not msgpack ({exc})") from exc
    if not isinstance(body, dict) or body.get("v") != VERSION or body.get("k") != kind:
        raise InputError(f"{kind} batch: not a version-{VERSION} {kind} batch")
    return body


def batch_id(partition: int, batch: SampleBatch) -> str:
    """A name for the batch's content (not its ingestion time): a sender that retries a batch after a
    failed publish sends the same id, and the stream stores it once (JetStream de-duplication).

    >>> b = SampleBatch(("a",), np.array([1.0]), np.array([2.0]), ingested_at=1.0)
    >>> batch_id(0, b) == batch_id(0, SampleBatch(b.ids, b.t, b.x, ingested_at=9.0)) != batch_id(1, b)
    True
    """
    digest = hashlib.blake2b(digest_size=16)
    digest.update(msgpack.packb([partition, list(batch.ids)]))
    digest.update(batch.t.astype(_F8).tobytes())
    digest.update(batch.x.astype(_F8).tobytes())
    return digest.hexdigest()


def encode_samples(batch: SampleBatch) -> bytes:
    return msgpack.packb({"v": VERSION, "k": "samples", "i": list(batch.ids), "t": batch.t.astype(_F8).tobytes(),
                          "x": batch.x.astype(_F8).tobytes(), "at": float(batch.ingested_at)})


def decode_samples(data: bytes) -> SampleBatch:
    body = _unpack(data, "samples")
    ids = tuple(body["i"])
    return SampleBatch(ids, _column(body["t"], "t", len(ids)), _column(body["x"], "x", len(ids)), float(body["at"]))


def encode_scores(batch: ScoreBatch) -> bytes:
    return msgpack.packb({"v": VERSION, "k": "scores", "p": batch.partition, "s": batch.seq, "w": batch.worker,
                          "i": list(batch.ids), "t": batch.t.astype(_F8).tobytes(),
                          "u": batch.scores.astype(_F8).tobytes(), "at": batch.ingested_at, "done": batch.scored_at})


def decode_scores(data: bytes) -> ScoreBatch:
    body = _unpack(data, "scores")
    ids = tuple(body["i"])
    return ScoreBatch(int(body["p"]), int(body["s"]), str(body["w"]), ids, _column(body["t"], "t", len(ids)),
                      _column(body["u"], "u", len(ids)), float(body["at"]), float(body["done"]))


def encode_alert(alert: AlertRecord) -> bytes:
    return msgpack.packb({"v": VERSION, "k": "alert", "key": alert.key, "series": alert.series, "t": alert.t,
                          "u": alert.score, "p": alert.partition, "w": alert.worker})


def decode_alert(data: bytes) -> AlertRecord:
    body = _unpack(data, "alert")
    return AlertRecord(str(body["key"]), str(body["series"]), float(body["t"]), float(body["u"]), int(body["p"]),
                       str(body["w"]))
