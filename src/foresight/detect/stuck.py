"""Stuck values: a run of repeated samples longer than any run the series has shown.

A sensor or an exporter that freezes keeps reporting its last value, or 0. If that value is a
usual one (NAB's disk-write series spend most samples at exactly 0), no view of the value, its
season or its sequence finds anything new: only the run's length is.

Per series: the previous value, the current run (how many samples in a row have repeated it), the
number ``k`` of runs completed, and the bar, one more than the longest run completed so far (at
least ``floor + 1``). The sample at which the current run reaches the bar scores

    u_stuck = log(k + 1)

nats, the surprise of a record: of ``k + 1`` runs drawn alike, the newest is the longest with
probability ``1 / (k + 1)``. Every other sample scores 0, so a frozen series is reported once,
when its run breaks the record, not at every sample after. A series that changes at nearly every
sample has many runs and a bar at the floor: its first long run is a strong surprise. A square
wave that sits flat for hours has few runs: its longest yet is no surprise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from foresight.detect.protocol import ArrayState

__all__ = ["StuckRun", "StuckState"]


@dataclass
class StuckState(ArrayState):
    """Per series: the previous value, the current run, the runs completed, the record's bar."""

    previous: np.ndarray
    run: np.ndarray
    runs: np.ndarray
    bar: np.ndarray


class StuckRun:
    """Surprise (nats) of a run of repeats that breaks the series' record; 0 at every other sample.

    >>> stuck = StuckRun(floor=5)
    >>> state = stuck.init(1)
    >>> x = [1.0, 2.0, 2.0, 3.0] * 50 + [4.0] * 12   # runs of at most 2 samples, then 4.0, frozen
    >>> records = []
    >>> for k, value in enumerate(x):
    ...     repeat = stuck.repeats(state, np.array([value]))
    ...     rows, nats = stuck.surprise(state, repeat, np.array([True]))
    ...     records += [(k, round(float(u), 2)) for u in nats]
    ...     stuck.learn(state, np.array([value]), repeat, np.array([True]))
    >>> records   # the sixth repeat of 4.0, after 150 runs: log(151) nats
    [(206, 5.02)]
    """

    def __init__(self, floor: int = 10) -> None:
        self.floor = floor

    def init(self, n: int) -> StuckState:
        # ``runs`` starts at -1: the first sample "ends" a run that never was.
        return StuckState(np.full(n, np.nan), np.zeros(n), np.full(n, -1.0), np.full(n, self.floor + 1.0))

    def repeats(self, state: StuckState, x: np.ndarray) -> np.ndarray:
        """The run each series would be in with ``x``: 0 for a new value (pass it on)."""
        return np.where(x == state.previous, state.run + 1.0, 0.0)

    def surprise(self, state: StuckState, run: np.ndarray, ready: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The series whose run reaches the bar (where ``ready``) and their ``u_stuck`` (0 for the rest).

        Sparse (rows, nats), because records are rare and the caller adds them to a total in place.
        """
        rows = np.flatnonzero(run == state.bar)  # a run grows by one: it meets the bar once
        rows = rows[ready[rows]]
        return rows, np.log1p(state.runs[rows])

    def learn(self, state: StuckState, x: np.ndarray, run: np.ndarray, mask: np.ndarray) -> None:
        """Take ``x`` (its run from :meth:`repeats`) where ``mask`` is true, in place."""
        ended = run == 0.0
        ended &= mask
        np.maximum(state.bar, state.run + 1.0, out=state.bar, where=ended)
        state.runs += ended
        np.copyto(state.run, run, where=mask)
        np.copyto(state.previous, x, where=mask)
