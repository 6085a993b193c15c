"""The lightweight edge model: the LSTM forecaster exported to ONNX, quantised to int8, judged on held-out data.

Protocol: the LSTM forecaster (:class:`~foresight.forecast.lstm.LstmForecaster`, defaults: 60-minute
horizon, daily season, hidden 32) is trained on the first ``train_days`` of the NASA-HTTP trace
(requests a minute), written to ONNX (:func:`~foresight.adapters.onnx_model.lstm_to_onnx`) and
quantised with onnxruntime's dynamic int8 quantisation. Both files then forecast the next
``test_days`` (held out: never seen in training, and nothing here was tuned on them) from an origin
every ``every_min`` minutes, 1 to 60 minutes ahead. Accuracy is the median forecast's
``100 x (1 - WAPE)`` in percent (WAPE: the sum of absolute errors over the sum of the actual
requests, every origin and horizon), so ``quantised_accuracy_delta`` is in points:
float accuracy minus int8 accuracy (positive: the int8 model is worse). Latency is one forecast
(batch 1) on one onnxruntime thread, p50 of ``latency_runs`` calls. Sizes are the files' bytes.

Both versions go into a registry (SQLite, in a temporary folder): the float model, then the int8
model as its child through :func:`~foresight.registry.quantised.register_quantised`, whose gate
refuses a drop of more than 1 point; ``quantised_gate`` is its verdict.

Needs the ``torch`` (training) and ``onnx`` extras.
"""

from __future__ import annotations

import hashlib
import importlib.util
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from foresight.adapters.local_registry import LocalRegistry
from foresight.adapters.onnx_model import OnnxModel, lstm_to_onnx, quantise
from foresight.bench.forecast import TraceWindow, load_trace
from foresight.bench.progress import Progress, silent
from foresight.errors import InputError
from foresight.forecast.logscale import from_log
from foresight.forecast.lstm import TRAINED_LEVELS, LstmForecaster
from foresight.registry import code_commit
from foresight.registry.quantised import MAX_DROP_POINTS, QUANTISED_TAG, register_quantised

__all__ = ["MODEL_NAME", "QUANTISED_KEYS", "TRACE", "bench_edge_model", "edge_model_figures", "wape_accuracy"]

TRACE = TraceWindow("nasa-http", "traces/nasa-http-1995/requests_per_minute.csv")
MODEL_NAME = "edge-load-forecaster"
METHOD = "onnx-int8-dynamic"
_MEDIAN = TRAINED_LEVELS.index(0.5)
#: The figures of :func:`bench_edge_model` that ``foresight bench edge`` always prints (null when not measured).
QUANTISED_KEYS = ("quantised_size_ratio", "quantised_accuracy_delta")


def wape_accuracy(predicted: np.ndarray, actual: np.ndarray) -> float:
    """``100 x (1 - WAPE)`` over the finite actual values (percent; 100 is a perfect forecast).

    >>> wape_accuracy(np.array([90.0, 110.0]), np.array([100.0, 100.0]))
    90.0
    """
    seen = np.isfinite(actual)
    if not seen.any() or np.abs(actual[seen]).sum() == 0:
        raise InputError("no actual load to score the forecasts against")
    return float(100.0 * (1.0 - np.abs(predicted[seen] - actual[seen]).sum() / np.abs(actual[seen]).sum()))


def bench_edge_model(
    data_dir: Path = Path("..") / "shared" / "data",
    *,
    train_days: float = 14.0,
    test_days: float = 7.0,
    every_min: int = 15,
    latency_runs: int = 500,
    seed: int = 0,
    train_steps: int = 600,
    progress: Progress = silent,
) -> dict[str, Any]:
    """Run the protocol of the module docstring and return its figures."""
    grid, step = load_trace(TRACE, data_dir)
    per_day = round(86400 / step)
    train_end = round(train_days * per_day)
    test_end = train_end + round(test_days * per_day)
    if test_end > grid.size:
        raise InputError(f"{TRACE.path}: {grid.size / per_day:.1f} days, fewer than {train_days} + {test_days}")
    forecaster = LstmForecaster(seed=seed, train_steps=train_steps)
    history = grid[None, :test_end]
    progress("edge model: training the LSTM forecaster", 0.0)
    state = forecaster.fit(history[:, :train_end])
    horizon = forecaster.max_horizon_steps
    origins = np.arange(train_end - 1, test_end - 1 - horizon, every_min)
    sequence, lags, ref = forecaster.network_inputs(state, history, origins)
    actual = grid[origins[:, None] + np.arange(1, horizon + 1)]

    with tempfile.TemporaryDirectory(prefix="foresight-edge-model-") as folder:
        root = Path(folder)
        progress("edge model: export and quantisation", 0.6)
        full = OnnxModel(lstm_to_onnx(state.weights, len(TRAINED_LEVELS), root / "lstm.onnx"))
        small = OnnxModel(quantise(full.path, root / "lstm.int8.onnx"))
        scores = {}
        for label, model in (("float", full), ("int8", small)):
            median = model.run(sequence, lags)[:, :, _MEDIAN] + ref[:, None]
            scores[label] = wape_accuracy(from_log(median, state.offset), actual)
        progress("edge model: latency", 0.8)
        latency = {label: float(np.median(model.latency_s(sequence, lags, latency_runs)))
                   for label, model in (("float", full), ("int8", small))}
        registry = LocalRegistry(root / "registry.db", artifact_dir=root / "artifacts")
        commit = code_commit(__file__)
        parent = registry.register(
            MODEL_NAME, params={"estimator": "LstmForecaster", "hidden": forecaster.hidden, "train_days": train_days,
                                "format": "onnx-float32"},
            metrics={"accuracy": scores["float"], "size_bytes": float(full.size_bytes)}, code_commit=commit,
            data_version=hashlib.md5(grid[:train_end].tobytes()).hexdigest(), seed=seed, model_file=full.path)
        child, verdict = register_quantised(
            registry, MODEL_NAME, parent.version, accuracy=scores["int8"], method=METHOD,
            metrics={"size_bytes": float(small.size_bytes)}, code_commit=commit, model_file=small.path)
        progress("edge model: done", 1.0)
        return {
            "quantised_size_ratio": full.size_bytes / small.size_bytes,
            "quantised_accuracy_delta": scores["float"] - scores["int8"],
            "model_float_bytes": full.size_bytes,
            "model_int8_bytes": small.size_bytes,
            "model_float_accuracy_pct": scores["float"],
            "model_int8_accuracy_pct": scores["int8"],
            "model_float_latency_ms": 1000 * latency["float"],
            "model_int8_latency_ms": 1000 * latency["int8"],
            "model_heldout_forecasts": int(origins.size * horizon),
            "quantised_gate": ("passed: " if verdict.passed else "blocked: ") + verdict.reason,
            "quantised_lineage": f"{MODEL_NAME} v{child.version} ({child.tags[QUANTISED_TAG]}) <- v{parent.version}",
            "quantised_max_drop_points": MAX_DROP_POINTS,
        }


def edge_model_figures(data_dir: Path, progress: Progress = silent) -> dict[str, Any]:
    """:func:`bench_edge_model`'s figures, or, without the ``torch`` and ``onnx`` extras, the quantised keys
    as null and ``quantised_skipped`` saying what to install (the fleet half of the bench needs neither)."""
    missing = [m for m in ("torch", "onnx", "onnxruntime") if importlib.util.find_spec(m) is None]
    if missing:
        return {**dict.fromkeys(QUANTISED_KEYS), "quantised_skipped": f"needs {', '.join(missing)}: "
                "pip install 'foresight[torch,onnx]'"}
    return bench_edge_model(data_dir, progress=progress)
