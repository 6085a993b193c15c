"""Two-column CSV series (time, value), read strictly, and traces resampled to the simulator's step.

One reader for every command that reads a ``timestamp,value`` file (``demo --trace``, ``detect``,
the benchmarks), so that a file one accepts the others do not reject for another reason. A file
has a header of two names (``timestamp,requests``; the names are free, the first column holds the
time) and one row per sample: the time as Unix seconds or ISO-8601 (naive times are UTC, every row
like the first), strictly increasing. Anything else raises :class:`InputError` naming the file and
the line, because a silently skipped or reordered row would shift every later sample.

Values depend on what the series is (:data:`Kind`):

* ``rate``, a load trace: a finite number in ``[0, MAX_RATE]``, some of them above 0, at least two
  rows (one interval to resample);
* ``metric``, a series to score: any finite number, or empty / ``nan`` for a missing sample.

Resampling treats a trace as a piecewise-linear rate ``v(t)`` and averages it over each step:
``x_k = (C((k+1) dt) - C(k dt)) / dt`` with ``C`` the exact integral of ``v``. That conserves the
total (downsampling averages, upsampling interpolates) and, with one more segment from the last
sample back to the first (one median interval long), tiles the trace when a run is longer.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import numpy as np

from foresight.errors import InputError

__all__ = ["MAX_RATE", "Kind", "Samples", "read_samples", "read_trace", "resample"]

#: Largest value a load trace may hold. No service sees 10^15 requests a second, and the
#: resampler's float64 integral keeps about 16 digits: one such value leaves every other row 0
#: after the normalisation to the peak, and a larger one overflows it on a long run.
MAX_RATE = 1e15

#: What a file's values are: a load trace (``rate``) or a metric to score (``metric``).
Kind = Literal["rate", "metric"]


@dataclass(frozen=True)
class Samples:
    """A series as read: the timestamps as written (for output), in Unix seconds, and the values."""

    stamps: tuple[str, ...]
    times: np.ndarray
    values: np.ndarray


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


def _rows(path: Path) -> list[tuple[int, list[str]]]:
    """The non-blank rows with their line numbers; every way a file cannot be read is an InputError."""
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            try:
                rows = [(reader.line_num, row) for row in reader]
            except csv.Error as exc:
                raise InputError(f"{path}:{reader.line_num + 1}: not a CSV row ({exc})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read trace ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
                         "expected a CSV of 'timestamp,value' rows") from None
    return [(n, r) for n, r in rows if any(cell.strip() for cell in r)]


def _value(path: Path, line: int, text: str, kind: Kind) -> float:
    """One value, checked for ``kind``; a missing metric sample is NaN."""
    if kind == "metric" and text.strip().lower() in ("", "nan"):
        return math.nan
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{path}:{line}: value {text!r} is not a number") from None
    if kind == "metric":
        if not math.isfinite(value):
            raise InputError(f"{path}:{line}: value {text!r} is not finite (leave it empty for a missing sample)")
    elif not (math.isfinite(value) and value >= 0):
        raise InputError(f"{path}:{line}: value {text!r} must be a finite number >= 0")
    elif value > MAX_RATE:
        raise InputError(f"{path}:{line}: value {text!r} is above {MAX_RATE:g}, more than any request rate: "
                         "scaled to the peak, it would leave every other row at 0")
    return value


def read_samples(path: str | Path, kind: Kind = "rate") -> Samples:
    """Every row of a two-column CSV (module docstring), checked for ``kind``.

    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     f = os.path.join(d, "cpu.csv")
    ...     _ = open(f, "w").write("timestamp,cpu\\n2024-01-01 00:00:00,0.5\\n2024-01-01 00:05:00,\\n")
    ...     s = read_samples(f, "metric")
    >>> s.stamps, s.times.tolist(), s.values.tolist()
    (('2024-01-01 00:00:00', '2024-01-01 00:05:00'), [1704067200.0, 1704067500.0], [0.5, nan])
    """
    path = Path(path)
    rows = _rows(path)
    if not rows:
        raise InputError(f"{path}: empty file; expected a header such as 'timestamp,value' and rows")
    line, header = rows[0]
    if len(header) != 2 or not all(h.strip() for h in header) or _is_number(header[0]):
        raise InputError(f"{path}:{line}: expected a header of two names such as 'timestamp,value', got {header}")
    least = 2 if kind == "rate" else 1
    if len(rows) - 1 < least:
        raise InputError(f"{path}: needs at least {'two data rows' if least == 2 else 'one data row'}, "
                         f"found {len(rows) - 1}")
    numeric = _is_number(rows[1][1][0].strip()) if len(rows[1][1]) == 2 else True
    stamps: list[str] = []
    times = np.empty(len(rows) - 1)
    values = np.empty(len(rows) - 1)
    for i, (line, row) in enumerate(rows[1:]):
        if len(row) != 2:
            raise InputError(f"{path}:{line}: expected 2 columns (time, value), got {len(row)}")
        stamp = row[0].strip()
        try:
            times[i] = _parse_time(stamp, numeric)
        except (ValueError, OverflowError):
            what = "Unix seconds" if numeric else "an ISO-8601 time"
            raise InputError(f"{path}:{line}: timestamp {row[0]!r} is not {what} like the first row") from None
        if not math.isfinite(times[i]):
            raise InputError(f"{path}:{line}: timestamp {row[0]!r} is not finite")
        if i and times[i] <= times[i - 1]:
            raise InputError(f"{path}:{line}: timestamp {row[0]!r} is not after the previous row's "
                             "(rows must be in time order, each time once)")
        values[i] = _value(path, line, row[1], kind)
        stamps.append(stamp)
    if kind == "rate" and not values.max() > 0:
        raise InputError(f"{path}: every value is 0; a trace needs some load to scale")
    return Samples(tuple(stamps), times, values)


def read_trace(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Timestamps (Unix seconds, strictly increasing) and values of a load trace (``rate``)."""
    samples = read_samples(path, "rate")
    return samples.times, samples.values


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
