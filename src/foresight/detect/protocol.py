"""The streaming anomaly-detector protocol, its explicit state, and the batch path over whole series.

A detector is a pure algorithm over an explicit state, vectorised across series: every call takes
one sample per series (arrays of shape ``[n]``: values and their Unix-second timestamps).

* ``init(n)`` returns the state of ``n`` fresh series.
* ``score(state, x, t)`` returns the anomaly score in [0, 1] of each sample against the state,
  and never changes the state: re-scoring cannot move a baseline (STYLE rule 5).
* ``update(state, x, t)`` learns the samples into the state, in place, and returns the very
  scores ``score`` would have returned: one pass, same numbers.

A sample that is NaN or infinite is *missing*: it scores 0 and leaves its series' state unchanged.
Samples are taken in the order given; timestamps are only read by detectors that model the time
of day, and never need to be regular.

State is a dataclass of numpy arrays whose first axis is the series, so it can be saved
(:meth:`ArrayState.to_dict`), restored and sharded by series.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from typing import Any, Protocol, Self, TypeVar

import numpy as np

from foresight.errors import InputError

__all__ = ["ArrayState", "Detector", "run"]


@dataclasses.dataclass
class ArrayState:
    """Base of detector states: numpy arrays (series on axis 0) or nested states; JSON round trip."""

    def to_dict(self) -> dict[str, Any]:
        """Every array as ``{"dtype": ..., "data": nested lists}``, nested states as dicts."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = (
                value.to_dict() if isinstance(value, ArrayState) else {"dtype": str(value.dtype), "data": value.tolist()}
            )
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """The state :meth:`to_dict` saved (by this version of the detector: another's is refused)."""
        kinds = typing.get_type_hints(cls)
        unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise InputError(
                f"saved {cls.__name__} has {unknown[0]!r}, which this version does not keep: it was saved by"
                " another version of the detector; start from a fresh state (init) and let it learn again"
            )
        fields: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name not in data:
                raise InputError(
                    f"saved {cls.__name__} lacks {f.name!r}: it was saved by another version of the detector;"
                    " start from a fresh state (init) and let it learn again"
                )
            kind, item = kinds[f.name], data[f.name]
            if isinstance(kind, type) and issubclass(kind, ArrayState):
                fields[f.name] = kind.from_dict(item)
            else:
                fields[f.name] = np.array(item["data"], dtype=item["dtype"])
        return cls(**fields)

    def copy(self) -> Self:
        """A deep copy: learning into it leaves this state as it was."""
        return type(self)(**{f.name: getattr(self, f.name).copy() for f in dataclasses.fields(self)})

    def view(self, rows: slice) -> Self:
        """The same state restricted to a block of series, sharing memory (learning writes through)."""
        return type(self)(**{f.name: _rows(getattr(self, f.name), rows) for f in dataclasses.fields(self)})


def _rows(value: Any, rows: slice) -> Any:
    return value.view(rows) if isinstance(value, ArrayState) else value[rows]


@functools.lru_cache(maxsize=16)
def row_starts(n: int, stride: int) -> np.ndarray:
    """Where each of ``n`` series' rows starts in a flattened ``[n, stride, ...]`` state array.

    States are indexed by flat cells (``take``/``put``: no fancy-index temporaries); every block
    of a step asks for the same offsets, so they are made once (read-only).
    """
    starts = np.arange(n, dtype=np.intp) * stride
    starts.flags.writeable = False
    return starts


S = TypeVar("S", bound=ArrayState)


class Detector(Protocol[S]):
    """A streaming anomaly detector over ``n`` series at once (see the module docstring)."""

    name: str

    def init(self, n: int) -> S:
        """The state of ``n`` series that have seen nothing yet."""
        ...

    def score(self, state: S, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Anomaly scores in [0, 1] of one sample per series; the state is left untouched."""
        ...

    def update(self, state: S, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Learn one sample per series into ``state`` (in place); return the scores of ``score``."""
        ...


def run(detector: Detector[Any], values: np.ndarray, timestamps: np.ndarray) -> np.ndarray:
    """Score whole series: ``values``/``timestamps`` of shape ``[T]`` (one series) or ``[n, T]``.

    Feeds the samples in time order through :meth:`Detector.update`, all series in one step, so
    the batch path gives exactly the streaming numbers. Pad shorter series with NaN: missing
    samples leave the state unchanged and score 0.
    """
    x = np.asarray(values, dtype=np.float64)
    t = np.broadcast_to(np.asarray(timestamps, dtype=np.float64), x.shape)
    single = x.ndim == 1
    x2, t2 = (x[None, :], t[None, :]) if single else (x, t)
    state = detector.init(x2.shape[0])
    scores = np.empty_like(x2)
    for step in range(x2.shape[1]):
        scores[:, step] = detector.update(state, np.ascontiguousarray(x2[:, step]), np.ascontiguousarray(t2[:, step]))
    return scores[0] if single else scores
