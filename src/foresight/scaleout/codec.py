"""The bytes on the sample and result subjects: msgpack maps whose number columns are raw arrays.

A batch names each of its series once (``series``, carried as one msgpack blob) and gives every
sample the position of its series in that list (``rows``, int32): a batch of k scrapes of 1,000
series carries 1,000 ids, not k x 1,000, and the reader turns ``rows`` into detector rows with one
numpy index instead of one dictionary look-up per sample. Times and values are float64 columns.

Why msgpack and not protobuf: msgpack packs the id list at C speed and carries each number column
as one ``bin`` blob that numpy reads back without a copy (``np.frombuffer``), and it needs no
schema compiler, generated module or runtime version kept in step with it (the KEDA proto's
generated files show that cost). A protobuf ``repeated double`` would encode the same 8 bytes per
number; its gain, a schema, is had here by the version field and the decoders refusing what they
do not know.

Columns are little-endian whatever the host, so a batch means the same on every machine.

>>> batch = SampleBatch.of(("a", "b", "a"), np.array([1.0, 1.0, 2.0]), np.array([0.5, 2.0, 0.7]), ingested_at=7.0)
>>> batch.series, batch.rows.tolist()
(('a', 'b'), [0, 1, 0])
>>> back = decode_samples(encode_samples(batch))
>>> back.ids, back.t.tolist(), back.x.tolist(), back.ingested_at
(('a', 'b', 'a'), [1.0, 1.0, 2.0], [0.5, 2.0, 0.7], 7.0)
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import msgpack
import numpy as np

from foresight.errors import InputError

__all__ = ["AlertRecord", "SampleBatch", "ScoreBatch", "batch_id", "decode_alerts", "decode_samples", "decode_scores",
           "encode_alerts", "encode_samples", "encode_scores", "series_table"]

VERSION = 2
_F8 = np.dtype("<f8")
_I4 = np.dtype("<i4")


def series_table(series: Sequence[str]) -> bytes:
    """A series list as a batch carries it (a sender that keeps its tables between scrapes packs each once)."""
    return msgpack.packb(list(series))


@dataclass(frozen=True)
class SampleBatch:
    """Samples of one partition: sample ``i`` is series ``series[rows[i]]`` at time ``t[i]`` (Unix s) with
    value ``x[i]``; a series' samples are in time order. ``ingested_at``: when the sender handed them over.

    The series list travels and is kept as ``table``, its msgpack bytes, and is decoded only when read:
    a worker compares a batch's table with the last one of its partition (one ``memcmp``) and, when
    they match, as they do scrape after scrape, never makes the id strings at all.
    """

    table: bytes
    rows: np.ndarray
    t: np.ndarray
    x: np.ndarray
    ingested_at: float

    @classmethod
    def named(cls, series: Sequence[str], rows: np.ndarray, t: np.ndarray, x: np.ndarray,
              ingested_at: float) -> SampleBatch:
        """The batch whose sample ``i`` is of series ``series[rows[i]]``."""
        return cls(series_table(series), np.asarray(rows, dtype=_I4), np.asarray(t, dtype=np.float64),
                   np.asarray(x, dtype=np.float64), ingested_at)

    @classmethod
    def of(cls, ids: Sequence[str], t: np.ndarray, x: np.ndarray, ingested_at: float) -> SampleBatch:
        """The batch of samples given one series id each (``ids[i]`` is sample ``i``'s)."""
        index: dict[str, int] = {}
        rows = np.fromiter((index.setdefault(sid, len(index)) for sid in ids), dtype=_I4, count=len(ids))
        return cls.named(tuple(index), rows, t, x, ingested_at)

    @cached_property
    def series(self) -> tuple[str, ...]:
        """The batch's series ids, each once (decoded from ``table`` on first use)."""
        try:
            series = msgpack.unpackb(self.table, raw=False)
        except (ValueError, msgpack.UnpackException) as exc:
            raise InputError(f"samples batch: unreadable series list ({exc})") from exc
        if not isinstance(series, list) or not all(isinstance(sid, str) for sid in series):
            raise InputError("samples batch: the series list is not a list of ids")
        if self.rows.size and int(self.rows.max()) >= len(series):
            raise InputError("samples batch: a sample names a series the batch does not list")
        return tuple(series)

    @property
    def ids(self) -> tuple[str, ...]:
        """Each sample's series id (one Python object per sample: for tests and reports, not hot paths)."""
        return tuple(self.series[r] for r in self.rows.tolist())

    def __len__(self) -> int:
        return int(self.rows.size)


@dataclass(frozen=True)
class ScoreBatch:
    """The scores of one sample batch, in its order: ``scores[i]`` is sample ``i``'s of the batch at stream
    sequence ``seq`` of partition ``partition``. The batch names its samples (a reader that wants the
    series and times gets that message by its sequence), so a score costs 8 bytes on the wire, not
    the ids and times again."""

    partition: int
    seq: int
    worker: str
    scores: np.ndarray
    ingested_at: float
    scored_at: float

    def __len__(self) -> int:
        return int(self.scores.size)


@dataclass(frozen=True)
class AlertRecord:
    """An anomaly onset at or above the alert threshold; ``key`` names it for ever (idempotent)."""

    key: str
    series: str
    t: float
    score: float
    partition: int
    worker: str


def _column(value: Any, name: str, n: int, dtype: np.dtype[Any] = _F8) -> np.ndarray:
    if not isinstance(value, bytes) or len(value) != dtype.itemsize * n:
        raise InputError(f"batch column {name!r}: expected {n} {dtype.name} values")
    return np.frombuffer(value, dtype=dtype)


def _unpack(data: bytes, kind: str) -> dict[str, Any]:
    try:
        body = msgpack.unpackb(data, raw=False)
    except (ValueError, msgpack.UnpackException) as exc:
        raise InputError(f"{kind} batch: not msgpack ({exc})") from exc
    if not isinstance(body, dict) or body.get("v") != VERSION or body.get("k") != kind:
        raise InputError(f"{kind} batch: not a version-{VERSION} {kind} batch")
    return body


def _rows(body: dict[str, Any]) -> np.ndarray:
    """A decoded batch's sample rows (checked against its series list when that is read)."""
    if not isinstance(body.get("s"), bytes):
        raise InputError("samples batch: no series list")
    raw = body.get("r")
    if not isinstance(raw, bytes) or len(raw) % _I4.itemsize:
        raise InputError("samples batch: column 'r' is not int32 rows")
    rows = np.frombuffer(raw, dtype=_I4)
    if rows.size and int(rows.min()) < 0:
        raise InputError("samples batch: a sample names a series the batch does not list")
    return rows


def _number(body: dict[str, Any], name: str, kind: str) -> float:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{kind} batch: field {name!r} is not a number")
    return float(value)


def _integer(body: dict[str, Any], name: str) -> int:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"scores batch: field {name!r} is not an integer")
    return value


def batch_id(partition: int, batch: SampleBatch) -> str:
    """A name for the batch's content (not its ingestion time): a sender that retries a batch after a
    failed publish sends the same id, and the stream stores it once (JetStream de-duplication).

    >>> b = SampleBatch.of(("a",), np.array([1.0]), np.array([2.0]), ingested_at=1.0)
    >>> batch_id(0, b) == batch_id(0, SampleBatch(b.table, b.rows, b.t, b.x, ingested_at=9.0)) != batch_id(1, b)
    True
    """
    digest = hashlib.blake2b(digest_size=16)
    digest.update(partition.to_bytes(4, "little"))
    digest.update(batch.table)
    digest.update(batch.rows.astype(_I4).tobytes())
    digest.update(batch.t.astype(_F8).tobytes())
    digest.update(batch.x.astype(_F8).tobytes())
    return digest.hexdigest()


def encode_samples(batch: SampleBatch) -> bytes:
    return msgpack.packb({"v": VERSION, "k": "samples", "s": batch.table, "r": batch.rows.astype(_I4).tobytes(),
                          "t": batch.t.astype(_F8).tobytes(), "x": batch.x.astype(_F8).tobytes(),
                          "at": float(batch.ingested_at)})


def decode_samples(data: bytes) -> SampleBatch:
    body = _unpack(data, "samples")
    rows = _rows(body)
    return SampleBatch(body["s"], rows, _column(body.get("t"), "t", rows.size), _column(body.get("x"), "x", rows.size),
                       _number(body, "at", "samples"))


def encode_scores(batch: ScoreBatch) -> bytes:
    return msgpack.packb({"v": VERSION, "k": "scores", "p": batch.partition, "q": batch.seq, "w": batch.worker,
                          "u": batch.scores.astype(_F8).tobytes(), "at": batch.ingested_at, "done": batch.scored_at})


def decode_scores(data: bytes) -> ScoreBatch:
    body = _unpack(data, "scores")
    raw = body.get("u")
    if not isinstance(raw, bytes) or len(raw) % _F8.itemsize:
        raise InputError("scores batch: column 'u' is not float64 scores")
    return ScoreBatch(_integer(body, "p"), _integer(body, "q"), str(body.get("w", "")),
                      np.frombuffer(raw, dtype=_F8), _number(body, "at", "scores"), _number(body, "done", "scores"))


def encode_alerts(alerts: Sequence[AlertRecord]) -> bytes:
    """The alerts of one sample batch as one message (one publish and one acknowledgement for all)."""
    return msgpack.packb({"v": VERSION, "k": "alerts",
                          "a": [[a.key, a.series, a.t, a.score, a.partition, a.worker] for a in alerts]})


def decode_alerts(data: bytes) -> list[AlertRecord]:
    body = _unpack(data, "alerts")
    try:
        return [AlertRecord(str(key), str(series), float(t), float(score), int(partition), str(worker))
                for key, series, t, score, partition, worker in body["a"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"alerts batch: malformed alert ({exc})") from exc
