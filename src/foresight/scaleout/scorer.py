"""One partition's detection: the existing vectorised detector over the partition's series, batch by batch.

The same :class:`~foresight.detect.protocol.Detector` the single process runs, one state per
partition (row ``i`` is the ``i``-th series met): detector rows are independent, so scoring a
series in its partition gives the very numbers the single process gives it.

A batch may hold several samples of a series (in time order): it is scored in rounds, the k-th
sample of every series in round k, rows absent from a round given as missing (NaN: state left as
it was). Alerts are onsets at or above ``threshold``, keyed by :func:`alert_key`, so a replay after a
takeover re-emits the same keys and the broker and consumers drop them as duplicates.

>>> from foresight.detect import make_detector
>>> from foresight.scaleout.codec import SampleBatch
>>> s = PartitionScorer(make_detector("ewma"), partition=0, threshold=0.8)
>>> s.score(SampleBatch(("a", "b", "a"), np.array([0.0, 0.0, 1.0]), np.array([1.0, 2.0, 1.0]), 0.0), seq=1).shape
(3,)
>>> s.ids, s.seq
(('a', 'b'), 1)
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from foresight.detect.protocol import ArrayState, Detector
from foresight.scaleout.checkpoint import Checkpoint, concat_states
from foresight.scaleout.codec import AlertRecord, SampleBatch

__all__ = ["PartitionScorer", "alert_key"]


def alert_key(series: str, t: float, alertname: str = "ForesightAnomaly") -> str:
    """The name of the alert a sample opens: the same series, time and rule give the same key, whichever
    worker scores it and however often (a replay), so duplicates are recognised, never shown twice.

    >>> alert_key('job="api"', 60.0) == alert_key('job="api"', 60.0) != alert_key('job="api"', 75.0)
    True
    """
    digest = hashlib.blake2b(f"{alertname}\x00{series}\x00{float(t)!r}".encode(), digest_size=12).hexdigest()
    return f"{alertname}-{digest}"


class PartitionScorer:
    """The detector state of one partition, the sequence it has learned up to, and its series' rows."""

    def __init__(self, detector: Detector[Any], partition: int, threshold: float,
                 checkpoint: Checkpoint | None = None) -> None:
        self.detector, self.partition, self.threshold = detector, partition, threshold
        self.state: ArrayState = checkpoint.state if checkpoint else detector.init(0)
        self._ids: list[str] = list(checkpoint.ids) if checkpoint else []
        self._rows = {sid: row for row, sid in enumerate(self._ids)}
        self.seq = checkpoint.seq if checkpoint else 0
        self._last_ids: tuple[str, ...] = ()
        self._last_rows = np.empty(0, dtype=np.intp)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self._ids)

    def checkpoint(self) -> Checkpoint:
        """A copy of the state as of :attr:`seq` (the worker goes on learning into its own)."""
        return Checkpoint(self.partition, self.seq, tuple(self._ids), self.state.copy())

    def score(self, batch: SampleBatch, seq: int) -> np.ndarray:
        """Learn the batch (stream sequence ``seq``) and return its samples' scores, in batch order."""
        rows = self._locate(batch.ids)
        out = np.empty(len(batch))
        n = len(self._ids)
        if rows.size == n and np.array_equal(rows, np.arange(n)):  # one sample of every series, in row order
            out[:] = self.detector.update(self.state, np.ascontiguousarray(batch.x), np.ascontiguousarray(batch.t))
        else:
            for picks in _rounds(rows):
                x = np.full(n, np.nan)
                t = np.full(n, float(batch.t[picks[0]]))
                x[rows[picks]], t[rows[picks]] = batch.x[picks], batch.t[picks]
                out[picks] = self.detector.update(self.state, x, t)[rows[picks]]
        self.seq = seq
        return out

    def alerts(self, batch: SampleBatch, scores: np.ndarray, worker: str) -> list[AlertRecord]:
        """The batch's alerts: samples whose onset score reaches the threshold."""
        return [
            AlertRecord(alert_key(batch.ids[i], float(batch.t[i])), batch.ids[i], float(batch.t[i]), float(scores[i]),
                        self.partition, worker)
            for i in np.flatnonzero(scores >= self.threshold).tolist()
        ]

    def _locate(self, ids: tuple[str, ...]) -> np.ndarray:
        if ids == self._last_ids:  # a scrape's batch usually lists the same series as the one before
            return self._last_rows
        new = [sid for sid in dict.fromkeys(ids) if sid not in self._rows]
        if new:
            for sid in new:
                self._rows[sid] = len(self._ids)
                self._ids.append(sid)
            self.state = concat_states(self.state, self.detector.init(len(new)))
        rows = np.fromiter((self._rows[sid] for sid in ids), dtype=np.intp, count=len(ids))
        self._last_ids, self._last_rows = ids, rows
        return rows


def _rounds(rows: np.ndarray) -> list[np.ndarray]:
    """Batch positions split so that round ``k`` holds each row's ``k``-th sample (batch order kept)."""
    order = np.argsort(rows, kind="stable")
    sorted_rows = rows[order]
    first = np.searchsorted(sorted_rows, sorted_rows, side="left")
    occurrence = np.empty(rows.size, dtype=np.intp)
    occurrence[order] = np.arange(rows.size) - first
    return [np.flatnonzero(occurrence == k) for k in range(int(occurrence.max(initial=-1)) + 1)]
