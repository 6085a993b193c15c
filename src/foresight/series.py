"""Time-series types shared by sources and cores.

A :class:`Series` is one labelled series at increasing timestamps (Unix seconds, float). It is
what every metrics source returns and what detectors and forecasters read, so its invariants
are checked once, here: equal lengths, strictly increasing time, finite timestamps. Values may
hold NaN where a source reports a gap; cores decide how to treat gaps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from foresight.errors import InputError

__all__ = ["Series"]


@dataclass(frozen=True)
class Series:
    """One labelled series: ``values[i]`` was observed at ``timestamps[i]`` (Unix seconds).

    >>> s = Series({"service": "api"}, [0.0, 15.0, 30.0], [1.0, 2.0, 4.0])
    >>> s.labels["service"], len(s), float(s.values[-1])
    ('api', 3, 4.0)
    """

    labels: Mapping[str, str]
    timestamps: np.ndarray = field(repr=False)
    values: np.ndarray = field(repr=False)

    def __init__(self, labels: Mapping[str, str], timestamps: object, values: object) -> None:
        ts = np.asarray(timestamps, dtype=np.float64)
        vs = np.asarray(values, dtype=np.float64)
        if ts.ndim != 1 or vs.ndim != 1 or ts.shape != vs.shape:
            raise InputError(
                f"series {dict(labels)}: timestamps {ts.shape} and values {vs.shape} "
                "must be 1-D and of equal length"
            )
        if not np.all(np.isfinite(ts)):
            raise InputError(f"series {dict(labels)}: timestamps must be finite numbers")
        if ts.size > 1 and not np.all(np.diff(ts) > 0):
            bad = int(np.argmax(np.diff(ts) <= 0)) + 1
            raise InputError(
                f"series {dict(labels)}: timestamps must increase strictly; "
                f"sample {bad} ({ts[bad]}) is not after sample {bad - 1} ({ts[bad - 1]})"
            )
        ts.flags.writeable = False
        vs.flags.writeable = False
        object.__setattr__(self, "labels", MappingProxyType(dict(labels)))
        object.__setattr__(self, "timestamps", ts)
        object.__setattr__(self, "values", vs)

    def __len__(self) -> int:
        return int(self.timestamps.size)

    @classmethod
    def of_checked(cls, labels: Mapping[str, str], timestamps: np.ndarray, values: np.ndarray) -> Series:
        """A series from arrays that already meet the invariants, without checking them again.

        For callers whose arrays cannot break them by construction: a source's regular grid of
        times checked once for all its series, or a join of checked series' points in time order.
        A reconcile round at 10,000 workloads builds 40,000 series; checking each again was a
        quarter of its time. ``timestamps`` and ``values`` must be 1-D float64 arrays of one length,
        the times finite and strictly increasing: nothing here says otherwise if they are not.

        >>> s = Series.of_checked({"service": "api"}, np.array([0.0, 15.0]), np.array([1.0, 2.0]))
        >>> s.labels["service"], len(s), s.values.flags.writeable
        ('api', 2, False)
        """
        series = object.__new__(cls)
        timestamps.setflags(write=False)  # one call each: ``flags.writeable =`` builds a flags object first
        values.setflags(write=False)
        # the frozen dataclass's fields set at once (its per-field object.__setattr__ was half of this call)
        series.__dict__.update(labels=labels if type(labels) is MappingProxyType else MappingProxyType(dict(labels)),
                               timestamps=timestamps, values=values)
        return series
