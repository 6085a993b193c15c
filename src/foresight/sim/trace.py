"""Request-rate traces from CSV files, read strictly and resampled to the simulator's step.

A trace file has a header of two names (``timestamp,requests``; the names are free, the first
column holds the time) and one row per sample: the time as Unix seconds or ISO-8601 (naive times
are UTC) and a finite, non-negative value. Anything else raises :class:`InputError` naming the file
and the line, because a silently skipped row would shift every later sample.

Resampling treats the trace as a piecewise-linear rate ``v(t)`` and averages it over each step:
``x_k = (C((k+1) dt) - C(k dt)) / dt`` with ``C`` the exact integral of ``v``. That conserves the
total (downsampling averages, upsampling interpolates) and, with one more segment from the last
sample back to the first (one median interval long), tiles the trace when a run is longer.
"""

from __future__ import annotations

import csv
import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from foresight.errors import InputError

__all__ = ["read_trace", "resample"]


def _parse_time(text: str, numeric: bool) -> float:
    if numeric:
        return float(text)
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_trace(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Timestamps (Unix seconds, strictly increasing) and values of a two-column CSV trace."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(enumerate(csv.reader(f), start=1))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read trace ({exc})") from exc
    rows = [(n, r) for n, r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise InputError(f"{path}: empty file; expected a header such as 'timestamp,value' and rows")
    line, header = rows[0]
    if len(header) != 2 or not all(h.strip() for h in header) or _is_number(header[0]):
        raise InputError(f"{path}:{line}: expected a header of two names such as 'timestamp,value', got {header}")
    if len(rows) < 3:
        raise InputError(f"{path}: needs at least two data rows, found {len(rows) - 1}")
    numeric = _is_number(rows[1][1][0].strip()) if len(rows[1][1]) == 2 else True
    times = np.empty(len(rows) - 1)
    values = np.empty(len(rows) - 1)
    for i, (line, row) in enumerate(rows[1:]):
        if len(row) != 2:
            raise InputError(f"{path}:{line}: expected 2 columns (time, value), got {len(row)}")
        try:
            times[i] = _parse_time(row[0].strip(), numeric)
        except ValueError:
            kind = "Unix seconds" if numeric else "an ISO-8601 time"
            raise InputError(f"{path}:{line}: timestamp {row[0]!r} is not {kind} like the first row") from None
        try:
            values[i] = float(row[1])
        except ValueError:
            raise InputError(f"{path}:{line}: value {row[1]!r} is not a number") from None
        if not math.isfinite(values[i]) or values[i] < 0:
            raise InputError(f"{path}:{line}: value {row[1]!r} must be a finite number >= 0")
        if not math.isfinite(times[i]):
            raise InputError(f"{path}:{line}: timestamp {row[0]!r} is not finite")
        if i and times[i] <= times[i - 1]:
            raise InputError(f"{path}:{line}: timestamp {row[0]!r} is not after the previous row's")
    if not values.max() > 0:
        raise InputError(f"{path}: every value is 0; a trace needs some load to scale")
    return times, values


def resample(times: np.ndarray, values: np.ndarray, n_steps: int, step_s: float) -> np.ndarray:
    """Mean rate over each of ``n_steps`` steps from the trace's first timestamp, tiling as needed.

    >>> resample(np.array([0.0, 60.0]), np.array([0.0, 60.0]), 4, 30.0).tolist()
    [15.0, 45.0, 45.0, 15.0]
    """
    t = times - times[0]
    period = t[-1] + float(np.median(np.diff(t)))
    t = np.append(t, period)
    v = np.append(values, values[0])
    slope = np.diff(v) / np.diff(t)
    area = np.concatenate(([0.0], np.cumsum(np.diff(t) * (v[:-1] + v[1:]) / 2.0)))
    edges = np.arange(n_steps + 1) * step_s
    laps, x = np.divmod(edges, period)
    i = np.clip(np.searchsorted(t, x, side="right") - 1, 0, t.size - 2)
    dx = x - t[i]
    integral = laps * area[-1] + area[i] + v[i] * dx + slope[i] * dx * dx / 2.0
    return np.diff(integral) / step_s
