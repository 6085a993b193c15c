"""Drift benchmarks: the batch report against Evidently, and the streaming monitor's delay and quietness.

``bench_report`` makes a seeded synthetic table pair (numeric columns of four shapes, every
fifth column categorical) with known drift in three columns (a 0.5 sd mean shift, a 1.5x
scale change, a categorical mix change), times Foresight's report and Evidently's
``DataDriftPreset`` on the same in-memory data, side by side in one process, and compares the
drifted-column verdicts. Both timings start from the same numpy arrays: Foresight's includes
encoding the string columns (Arrow), Evidently's its ``Dataset`` construction from the
(untimed) pandas frames. Evidently is an optional, benchmark-only dependency.

``bench_monitor`` streams seeded data through :class:`~foresight.drift.monitor.DriftMonitor` at
a stated sample rate: stationary days count false alarms (verdict onsets), and a one-standard-
deviation step in one feature gives the detection delay.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from foresight.bench.progress import Progress, silent
from foresight.drift.columns import Column
from foresight.drift.monitor import DriftMonitor, MonitorSpec
from foresight.drift.report import drift_report
from foresight.drift.table import encode
from foresight.errors import ConfigError

__all__ = [
    "EVIDENTLY_INSTALL", "SyntheticDrift", "bench_monitor", "bench_report", "evidently_available",
    "evidently_drifted", "synthetic_tables",
]

EVIDENTLY_INSTALL = "pip install 'evidently==0.7.23' 'pandas<3'   (or: pip install -e '.[evidently]')"
_CATEGORIES = np.array([f"level_{i}" for i in range(8)], dtype=object)


@dataclass(frozen=True)
class SyntheticDrift:
    """A reference and a current table (numpy arrays by column name) and the columns that drift."""

    reference: dict[str, np.ndarray]
    current: dict[str, np.ndarray]
    drifted: tuple[str, ...]
    categorical: tuple[str, ...]


def _numeric(rng: np.random.Generator, shape: int, rows: int, loc: float = 0.0, scale: float = 1.0) -> np.ndarray:
    base = (rng.normal(size=rows), rng.lognormal(0.0, 0.5, size=rows), rng.uniform(-2.0, 2.0, size=rows),
            rng.exponential(1.0, size=rows))[shape % 4]
    return loc + scale * base


def synthetic_tables(rows: int, cols: int, seed: int = 0) -> SyntheticDrift:
    """``cols`` columns (``cat_*`` every fifth, else ``num_*``); drift in num_00, num_01 and cat_00."""
    if cols < 3:
        raise ConfigError(f"--cols must be at least 3 (three columns drift), got {cols}")
    if rows < 10:
        raise ConfigError(f"--rows must be at least 10, got {rows}")
    rng = np.random.default_rng(seed)
    kinds = ["cat" if i % 5 == 4 or (i == 2 and cols < 5) else "num" for i in range(cols)]
    reference: dict[str, np.ndarray] = {}
    current: dict[str, np.ndarray] = {}
    counts = {"num": 0, "cat": 0}
    uniform = np.full(len(_CATEGORIES), 1.0 / len(_CATEGORIES))
    shifted = np.r_[0.3, 0.2, np.full(len(_CATEGORIES) - 2, 0.5 / (len(_CATEGORIES) - 2))]
    for kind in kinds:
        i = counts[kind]
        counts[kind] += 1
        name = f"{kind}_{i:02d}"
        if kind == "num":
            std = float(np.std(_numeric(np.random.default_rng(0), i, 10_000)))
            reference[name] = _numeric(rng, i, rows)
            loc, scale = (0.5 * std, 1.0) if i == 0 else ((0.0, 1.5) if i == 1 else (0.0, 1.0))
            current[name] = _numeric(rng, i, rows, loc, scale)
        else:
            reference[name] = rng.choice(_CATEGORIES, size=rows, p=uniform)
            current[name] = rng.choice(_CATEGORIES, size=rows, p=shifted if i == 0 else uniform)
    categorical = tuple(n for n in reference if n.startswith("cat_"))
    return SyntheticDrift(reference, current, ("num_00", "num_01", "cat_00"), categorical)


def _foresight_columns(table: Mapping[str, np.ndarray], categorical: tuple[str, ...]) -> dict[str, Column]:
    return {name: encode(values) if name in categorical else values for name, values in table.items()}


def evidently_available() -> bool:
    return importlib.util.find_spec("evidently") is not None and importlib.util.find_spec("pandas") is not None


def evidently_drifted(data: SyntheticDrift) -> tuple[tuple[str, ...], float]:
    """Evidently's drifted columns (DataDriftPreset defaults) and the seconds it took."""
    import pandas as pd  # benchmark-only extra
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    ref_frame, cur_frame = pd.DataFrame(data.reference), pd.DataFrame(data.current)
    definition = DataDefinition(
        numerical_columns=[n for n in data.reference if n not in data.categorical],
        categorical_columns=list(data.categorical),
    )
    start = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(
        current_data=Dataset.from_pandas(cur_frame, data_definition=definition),
        reference_data=Dataset.from_pandas(ref_frame, data_definition=definition),
    )
    metrics = snapshot.dict()["metrics"]
    seconds = time.perf_counter() - start
    drifted = []
    for metric in metrics:
        config = metric["config"]
        if not config.get("type", "").endswith("ValueDrift"):
            continue
        value, threshold = float(metric["value"]), float(config["threshold"])
        p_value = "p_value" in config["method"]
        if (value < threshold) if p_value else (value >= threshold):
            drifted.append(config["column"])
    return tuple(drifted), seconds


def bench_report(
    rows: int = 1_000_000, cols: int = 20, seed: int = 0, evidently: bool = True, progress: Progress = silent
) -> dict[str, object]:
    """Time both reports on the same data; ``evidently=False`` times Foresight alone. ``progress``
    hears each stage (the data, Foresight's report, Evidently's) as an equal part: their times are
    what the benchmark measures, so none is known before."""
    if evidently and not evidently_available():
        raise ConfigError(f"Evidently is not installed in this environment: {EVIDENTLY_INSTALL}; "
                          "or pass --no-evidently to time Foresight alone")
    stages = 3 if evidently else 2
    progress(f"{rows:,} x {cols} synthetic rows", 0.0)
    data = synthetic_tables(rows, cols, seed)
    progress("Foresight's drift report", 1 / stages)
    start = time.perf_counter()
    report = drift_report(_foresight_columns(data.reference, data.categorical),
                          _foresight_columns(data.current, data.categorical))
    foresight_s = time.perf_counter() - start
    ours = report.drifted_columns
    out: dict[str, object] = {
        "foresight_s": round(foresight_s, 3), "evidently_s": None, "ratio": None, "verdicts_agree": None,
        "drifted_columns": list(ours), "evidently_drifted_columns": None,
        "expected_drifted_columns": list(data.drifted), "foresight_matches_truth": set(ours) == set(data.drifted),
        "rows": rows, "cols": cols, "seed": seed,
    }
    if evidently:
        progress("Evidently's DataDriftPreset", 2 / stages)
        theirs, evidently_s = evidently_drifted(data)
        out |= {"evidently_s": round(evidently_s, 3), "ratio": round(evidently_s / foresight_s, 1),
                "verdicts_agree": set(ours) == set(theirs), "evidently_drifted_columns": list(theirs)}
    return out


def bench_monitor(
    seeds: int = 20, days: float = 1.0, features: int = 20, rate_hz: float = 1.0, step_s: float = 60.0,
    spec: MonitorSpec | None = None, horizon_s: float = 4 * 3600.0, progress: Progress = silent,
) -> dict[str, object]:
    """Detection delay of a 1 sd step in one feature (median over seeds) and false alarms per day.

    Rows arrive at ``rate_hz`` and reach the monitor every ``step_s`` seconds. Per seed: a
    stationary stream of ``days`` days (after the reference has filled) counts verdict onsets;
    then a fresh monitor sees the stationary stream until a shift at a random moment after the
    first full window, and the delay is the time from the shift to the first verdict onset after
    it (``None`` if none within ``horizon_s``). ``progress`` hears each seed's two streams.
    """
    names = tuple(f"f{i:02d}" for i in range(features))
    spec = spec or MonitorSpec(features=names)
    if spec.features != names:
        spec = MonitorSpec(**{**spec.__dict__, "features": names})
    batch = max(1, int(round(rate_hz * step_s)))
    stationary_steps = int(np.ceil(days * 86400.0 / step_s))
    warm_steps = int(np.ceil(spec.reference_rows / batch)) + 1
    alarms, delays, evaluations = 0, [], 0
    start = time.perf_counter()
    for seed in range(seeds):
        progress(f"seed {seed + 1} of {seeds}: stationary stream", seed / seeds)
        rng = np.random.default_rng(seed)
        monitor = DriftMonitor(spec)
        was = False
        for step in range(warm_steps + stationary_steps):
            status = monitor.update(rng.normal(size=(batch, features)))
            evaluations += status.ready
            alarms += status.drifted and not was
            was = status.drifted
        progress(f"seed {seed + 1} of {seeds}: shifted stream", (seed + 0.5) / seeds)
        monitor = DriftMonitor(spec)
        shift_row = spec.reference_rows + spec.window_rows + int(rng.integers(0, 10 * batch))
        rows, detected, was = 0, None, False
        while rows < shift_row + horizon_s * rate_hz:
            x = rng.normal(size=(batch, features))
            row_index = rows + np.arange(batch)
            x[row_index >= shift_row, 0] += 1.0
            rows += batch
            status = monitor.update(x)
            evaluations += status.ready
            if status.drifted and not was and rows > shift_row:  # an onset after the shift, not a false alarm that lasted
                detected = (rows - shift_row) / rate_hz
                break
            was = status.drifted
        delays.append(detected)
    wall_s = time.perf_counter() - start
    found = [d for d in delays if d is not None]
    total_days = seeds * stationary_steps * step_s / 86400.0
    return {
        "detection_delay_s_median": float(np.median(found)) if found else None,
        "detection_delay_s_p90": float(np.percentile(found, 90)) if found else None,
        "detected": f"{len(found)}/{seeds}",
        "false_alarms_per_day": alarms / total_days,
        "false_alarms": alarms, "stationary_days": round(total_days, 2),
        "sample_rate_hz": rate_hz, "step_s": step_s, "features": features, "seeds": seeds,
        "reference_rows": spec.reference_rows, "window_rows": spec.window_rows, "alpha": spec.alpha,
        "persistence": spec.persistence,
        # wall time per evaluated step, data generation included
        "ms_per_step": round(1e3 * wall_s / max(evaluations, 1), 2),
    }
