"""The Numenta Anomaly Benchmark (NAB v1.1): its files, its anomaly windows and its scorer.

Written from NAB's description (``SOURCE.md`` beside the data, the NAB paper and wiki), so that
``foresight bench nab`` needs nothing of NAB's own code. How NAB scores a detector:

* A detector emits a score in [0, 1] per row; a row is a *detection* when score >= threshold.
* The first ``min(floor(0.15 n), 750)`` rows of a series (its probationary period) are not scored.
* Around each labelled anomaly lies a window of ``int(0.1 n / k)`` rows (``k`` anomalies in the
  series), centred on it; overlapping windows merge.
* Only a window's earliest detection counts. At relative position ``x = -(end - i + 1) / width``
  (-1 at the window's first row) it earns ``tp * S(x) / S(-1)`` with the scaled sigmoid
  ``S(x) = 2 / (1 + e^(5x)) - 1`` (``S(x) = -1`` for ``x >= 3``); a window without one costs
  ``-fn``.
* A detection outside every window costs ``fp * S(x)``, ``x = (i - end) / (width - 1)`` past the
  previous window, and the full ``-fp`` before the first window: false alarms right after a
  window are nearly free, later ones cost the full weight.
* One threshold per detector and profile is chosen to maximise the sum over the corpus, then
  ``score = 100 (raw - null) / (perfect - null)`` with ``null = -fn * windows`` (never firing) and
  ``perfect = tp * windows``.

Honest evaluation: :func:`split_of` puts every series in a fixed half, ``tune`` or ``held``, by a
hash of its name (CRC-32, even or odd), so that a detector's design can be chosen on one half and
reported on the other; neither half depends on the other series present.
"""

from __future__ import annotations

import csv
import json
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from foresight.bench.progress import Progress, part, silent
from foresight.detect import Detector, make_detector, run
from foresight.errors import InputError

__all__ = [
    "PROFILES",
    "SPLITS",
    "LabelledSeries",
    "LocoScore",
    "NabScores",
    "Profile",
    "ProfileScore",
    "benchmark",
    "detect_corpus",
    "leave_one_category_out",
    "load_corpus",
    "normalised",
    "probation_rows",
    "read_value_csv",
    "row_weights",
    "score_at",
    "split_of",
    "sweep",
    "windows_from_labels",
    "write_scores_csv",
]

PROBATION_FRACTION = 0.15
PROBATION_CAP_ROWS = 750  # NAB: 15% of 5000 rows
WINDOW_FRACTION = 0.10
NEVER = 1.1  # a threshold above every score in [0, 1]: the detector never fires
SPLITS = ("tune", "held")


@dataclass(frozen=True)
class Profile:
    """An application profile: the weights of a true positive, a false positive and a miss."""

    name: str
    tp_weight: float
    fp_weight: float
    fn_weight: float


PROFILES: tuple[Profile, ...] = (
    Profile("standard", 1.0, 0.11, 1.0),
    Profile("reward_low_FP_rate", 1.0, 0.22, 1.0),
    Profile("reward_low_FN_rate", 1.0, 0.11, 2.0),
)


@dataclass(frozen=True)
class LabelledSeries:
    """One NAB series: ``name`` is ``<category>/<file>.csv``; windows are inclusive row ranges."""

    name: str
    stamps: tuple[str, ...]
    timestamps: np.ndarray
    values: np.ndarray
    windows: tuple[tuple[int, int], ...]

    @property
    def category(self) -> str:
        return self.name.split("/", 1)[0]


@dataclass(frozen=True)
class ProfileScore:
    """The best corpus score of one detector under one profile, and where it was reached."""

    profile: str
    threshold: float
    raw: float
    null: float
    perfect: float

    @property
    def normalised(self) -> float:
        """100 for a perfect detector, 0 for one that never fires."""
        return normalised(self.raw, self.null, self.perfect)


def normalised(raw: float, null: float, perfect: float) -> float:
    """NAB's normalised score: 100 for a perfect detector, 0 for one that never fires.

    >>> normalised(0.0, -2.0, 2.0)
    50.0
    """
    return 100.0 * (raw - null) / (perfect - null)


def _parse_stamp(text: str) -> float:
    """Unix seconds from ISO-8601 (naive means UTC) or from a plain number of seconds."""
    try:
        return float(text)
    except ValueError:
        pass
    when = datetime.fromisoformat(text)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def read_value_csv(path: Path) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """Read a ``timestamp,value`` file: the timestamps as written, in Unix seconds, and the values.

    An empty value or ``nan`` is a missing sample (NaN). Rows are samples in file order: their
    timestamps are carried, never reordered or required to increase (NAB's own files repeat an
    hour at a daylight-saving change). Anything malformed raises :class:`InputError` naming the
    file and the line.
    """
    stamps: list[str] = []
    seconds: list[float] = []
    values: list[float] = []
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from exc
    with handle:
        rows = csv.reader(handle)
        header = next(rows, None)
        if header is None:
            raise InputError(f"{path}: empty file; expected a 'timestamp,value' header")
        if [h.strip().lower() for h in header] != ["timestamp", "value"]:
            raise InputError(f"{path}:1: header {header!r} must be 'timestamp,value'")
        for row in rows:
            line = rows.line_num
            if not row:
                continue
            if len(row) != 2:
                raise InputError(f"{path}:{line}: expected 2 fields (timestamp,value), got {len(row)}")
            stamp, text = row[0].strip(), row[1].strip()
            try:
                second = _parse_stamp(stamp)
            except ValueError:
                raise InputError(f"{path}:{line}: timestamp {stamp!r} is neither ISO-8601 nor a number") from None
            if not math.isfinite(second):
                raise InputError(f"{path}:{line}: timestamp {stamp!r} is not finite")
            try:
                value = float(text) if text else math.nan
            except ValueError:
                raise InputError(f"{path}:{line}: value {text!r} is not a number") from None
            stamps.append(stamp)
            seconds.append(second)
            values.append(value)
    if not values:
        raise InputError(f"{path}: no data rows after the header")
    return tuple(stamps), np.array(seconds), np.array(values)


def write_scores_csv(path: Path, stamps: Sequence[str], values: np.ndarray, scores: np.ndarray) -> None:
    """Write NAB's results format, ``timestamp,value,anomaly_score`` (missing values stay empty)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["timestamp", "value", "anomaly_score"])
        for stamp, value, score in zip(stamps, values.tolist(), scores.tolist(), strict=True):
            out.writerow([stamp, "" if math.isnan(value) else repr(value), repr(score)])


def windows_from_labels(n_rows: int, label_rows: Sequence[int]) -> tuple[tuple[int, int], ...]:
    """NAB's windows: ``int(0.1 n / k)`` rows centred on each of the ``k`` labels, merged on overlap.

    >>> windows_from_labels(4032, [2880])
    ((2679, 3081),)
    >>> windows_from_labels(100, [10, 12, 80])
    ((9, 13), (79, 81))
    """
    if not label_rows:
        return ()
    half = int(WINDOW_FRACTION * n_rows / len(label_rows)) // 2
    merged: list[list[int]] = []
    for row in sorted(label_rows):
        start, end = max(row - half, 0), min(row + half, n_rows - 1)
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((a, b) for a, b in merged)


def load_corpus(root: Path) -> list[LabelledSeries]:
    """Every series of ``root/data`` with its windows from ``root/labels/combined_windows.json``."""
    labels_path = root / "labels" / "combined_windows.json"
    try:
        windows = json.loads(labels_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{labels_path}: cannot read NAB's windows ({exc.strerror})") from exc
    corpus = []
    for name in sorted(windows):
        stamps, seconds, values = read_value_csv(root / "data" / name)
        rows = []
        for start, end in windows[name]:
            first, last = (np.flatnonzero(seconds == _parse_stamp(stamp)) for stamp in (start, end))
            if first.size == 0 or last.size == 0:
                raise InputError(f"{labels_path}: window {start}..{end} of {name} is not on a row")
            rows.append((int(first[0]), int(last[0])))
        corpus.append(LabelledSeries(name, stamps, seconds, values, tuple(rows)))
    if not corpus:
        raise InputError(f"{labels_path}: names no series")
    return corpus


def split_of(name: str) -> str:
    """The fixed half of the corpus a series belongs to: ``tune`` (CRC-32 of its name even) or ``held``.

    >>> split_of("realTraffic/speed_7578.csv"), split_of("realTraffic/speed_t4013.csv")
    ('tune', 'held')
    """
    return SPLITS[zlib.crc32(name.encode("utf-8")) % 2]


def probation_rows(n_rows: int) -> int:
    """How many leading rows NAB leaves unscored: 15% of the series, at most 750."""
    return min(math.floor(PROBATION_FRACTION * n_rows), PROBATION_CAP_ROWS)


def _scaled_sigmoid(x: np.ndarray) -> np.ndarray:
    return np.where(x >= 3.0, -1.0, 2.0 / (1.0 + np.exp(5.0 * np.minimum(x, 3.0))) - 1.0)


def row_weights(n_rows: int, windows: Sequence[tuple[int, int]], profile: Profile) -> tuple[np.ndarray, np.ndarray]:
    """What a detection at each row is worth, and the window it falls in (-1: none).

    Probationary rows get window -2 and weight 0: they are never scored.

    >>> w, k = row_weights(10, [(4, 7)], Profile("p", 1.0, 0.5, 1.0))
    >>> [round(float(v), 3) for v in w]
    [0.0, -0.5, -0.5, -0.5, 1.0, 0.967, 0.86, 0.562, -0.341, -0.466]
    >>> k.tolist()
    [-2, -1, -1, -1, 0, 0, 0, 0, -1, -1]
    """
    rows = np.arange(n_rows, dtype=np.float64)
    weight = np.full(n_rows, -profile.fp_weight)
    window = np.full(n_rows, -1, dtype=np.int64)
    max_tp = float(_scaled_sigmoid(np.array(-1.0)))
    for k, (start, end) in enumerate(windows):
        width = end - start + 1
        inside = slice(start, end + 1)
        weight[inside] = profile.tp_weight * _scaled_sigmoid(-(end - rows[inside] + 1) / width) / max_tp
        window[inside] = k
        following = windows[k + 1][0] if k + 1 < len(windows) else n_rows
        after = slice(end + 1, following)
        weight[after] = profile.fp_weight * _scaled_sigmoid((rows[after] - end) / max(width - 1, 1))
    probation = probation_rows(n_rows)
    weight[:probation] = 0.0
    window[:probation] = -2
    return weight, window


def sweep(series: Sequence[LabelledSeries], scores: Sequence[np.ndarray], profile: Profile) -> ProfileScore:
    """Score a detector on a corpus at the threshold that maximises its raw NAB score.

    Every distinct score is a candidate threshold (plus "never fire"). Rows are taken from the
    highest score down; each adds its false-positive cost, or raises its window's value to the
    best (earliest) detection so far. Ties enter together, as one threshold.
    """
    ranked = _Ranked.of(series, scores, profile)
    if ranked.windows == 0:
        raise InputError("the corpus has no anomaly window after the probationary periods: nothing to score")
    last_of_tie = np.flatnonzero(np.append(ranked.value[1:] != ranked.value[:-1], True))
    candidates = np.concatenate(([ranked.null], ranked.total[last_of_tie]))
    thresholds = np.concatenate(([NEVER], ranked.value[last_of_tie]))
    best = int(np.argmax(candidates))
    return ProfileScore(profile.name, float(thresholds[best]), float(candidates[best]), ranked.null, ranked.perfect)


def score_at(series: Sequence[LabelledSeries], scores: Sequence[np.ndarray], profile: Profile,
             threshold: float) -> ProfileScore:
    """The corpus' NAB score with a threshold chosen elsewhere (rows scoring at least ``threshold``
    are detections); a corpus without windows scores its false positives alone."""
    ranked = _Ranked.of(series, scores, profile)
    fired = int(np.count_nonzero(ranked.value >= threshold))
    raw = ranked.null if fired == 0 else float(ranked.total[fired - 1])
    return ProfileScore(profile.name, threshold, raw, ranked.null, ranked.perfect)


@dataclass(frozen=True)
class LocoScore:
    """A profile's score when each category is scored at the threshold chosen on the others."""

    profile: str
    thresholds: dict[str, float]  # category -> the threshold chosen without it
    raw: float
    null: float
    perfect: float

    @property
    def normalised(self) -> float:
        return normalised(self.raw, self.null, self.perfect)


def leave_one_category_out(series: Sequence[LabelledSeries], scores: Sequence[np.ndarray],
                           profile: Profile) -> LocoScore:
    """NAB's score when no category chooses its own threshold: each is scored at the threshold
    that maximises the score of the other categories (leave-one-category-out), and the raw
    scores of all categories are normalised together, as NAB normalises the whole corpus.

    NAB's own rule chooses one threshold on the very series it reports; this says how much of a
    score comes from that choice (a detector whose best threshold differs between kinds of
    series loses here).
    """
    categories = sorted({item.category for item in series})
    if len(categories) < 2:
        raise InputError("leave-one-category-out needs series of at least two categories")
    thresholds, raw, null, perfect = {}, 0.0, 0.0, 0.0
    for category in categories:
        inside = [i for i, item in enumerate(series) if item.category == category]
        outside = [i for i, item in enumerate(series) if item.category != category]
        chosen = sweep([series[i] for i in outside], [scores[i] for i in outside], profile).threshold
        held = score_at([series[i] for i in inside], [scores[i] for i in inside], profile, chosen)
        thresholds[category] = chosen
        raw, null, perfect = raw + held.raw, null + held.null, perfect + held.perfect
    return LocoScore(profile.name, thresholds, raw, null, perfect)


@dataclass(frozen=True)
class _Ranked:
    """A corpus' scored rows from the highest score down: per row its score and the raw corpus
    score (``total``) if it and every row above it were detections."""

    value: np.ndarray
    total: np.ndarray
    windows: int
    null: float
    perfect: float

    @classmethod
    def of(cls, series: Sequence[LabelledSeries], scores: Sequence[np.ndarray], profile: Profile) -> _Ranked:
        weights, windows, values = [], [], []
        n_windows = 0
        for item, score in zip(series, scores, strict=True):
            score = np.asarray(score, dtype=np.float64)
            if score.shape != item.values.shape:
                raise InputError(f"{item.name}: {score.size} scores for {item.values.size} rows")
            if not np.all((score >= 0.0) & (score <= 1.0)):
                raise InputError(f"{item.name}: anomaly scores must lie in [0, 1] (found NaN or out of range)")
            weight, window = row_weights(item.values.size, item.windows, profile)
            scored = window > -2
            in_window = window[scored]
            weights.append(weight[scored])
            windows.append(np.where(in_window >= 0, in_window + n_windows, -1))
            values.append(score[scored])
            n_windows += int(np.unique(in_window[in_window >= 0]).size)
        weight, window, value = np.concatenate(weights), np.concatenate(windows), np.concatenate(values)
        null, perfect = -profile.fn_weight * n_windows, profile.tp_weight * n_windows
        order = np.argsort(-value, kind="stable")
        weight, window, value = weight[order], window[order], value[order]
        gain = np.where(window < 0, weight, 0.0)
        # Per window, in order of falling score: the gain is how much the best detection so far improves.
        for k in range(n_windows):
            at = np.flatnonzero(window == k)
            reached = np.maximum.accumulate(np.concatenate(([-profile.fn_weight], weight[at])))
            gain[at] = np.diff(reached)
        return cls(value, null + np.cumsum(gain), n_windows, null, perfect)


def detect_corpus(detector: Detector[Any], corpus: Sequence[LabelledSeries]) -> list[np.ndarray]:
    """The detector's scores for every series, all series run side by side in one batch."""
    width = max(item.values.size for item in corpus)
    values = np.full((len(corpus), width), np.nan)
    stamps = np.zeros((len(corpus), width))
    for row, item in enumerate(corpus):
        values[row, : item.values.size] = item.values
        stamps[row, : item.values.size] = item.timestamps
    scores = run(detector, values, stamps)
    return [scores[row, : item.values.size] for row, item in enumerate(corpus)]


@dataclass(frozen=True)
class NabScores:
    """One detector's scores per profile: NAB's own rule, and leave-one-category-out when asked."""

    profiles: list[ProfileScore]
    loco: list[LocoScore] | None = None


def benchmark(
    names: Sequence[str], corpus: Sequence[LabelledSeries], out_dir: Path | None = None, progress: Progress = silent,
    loco: bool = False,
) -> dict[str, NabScores]:
    """Run each named detector on the corpus, write NAB's results files, score every profile (and,
    with ``loco``, every profile leave-one-category-out: :func:`leave_one_category_out`).

    Results go to ``out_dir/<detector>/<category>/<detector>_<file>.csv`` (NAB's layout). ``progress``
    hears each step: a detector's run over the corpus, then its threshold sweep per profile.
    """
    results = {}
    steps = 1 + len(PROFILES)
    for i, name in enumerate(names):
        report = part(progress, i, len(names))
        report(f"{name} on {len(corpus)} series", 0.0)
        scores = detect_corpus(make_detector(name), corpus)
        if out_dir is not None:
            for item, score in zip(corpus, scores, strict=True):
                category, file = item.name.split("/", 1)
                write_scores_csv(out_dir / name / category / f"{name}_{file}", item.stamps, item.values, score)
        profiles, held_out = [], []
        for k, profile in enumerate(PROFILES, start=1):
            report(f"{name}: threshold for the {profile.name} profile", k / steps)
            profiles.append(sweep(corpus, scores, profile))
            if loco:
                held_out.append(leave_one_category_out(corpus, scores, profile))
        results[name] = NabScores(profiles, held_out if loco else None)
    return results
