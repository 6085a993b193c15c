"""The LSTM forecaster as ONNX: the exported graph computes what the PyTorch network computes, the int8
copy is smaller and close, and the edge-model bench reports held-out figures and the registry's gate.

Needs the ``torch`` and ``onnx`` extras: skips without them, fails under ``FORESIGHT_REQUIRE_ONNX=1``
(.ci/run's torch step installs both and sets it)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

from foresight.forecast.lstm import TRAINED_LEVELS, LstmForecaster, LstmState


def _need_extras() -> None:
    missing = [m for m in ("torch", "onnx", "onnxruntime") if importlib.util.find_spec(m) is None]
    if not missing:
        return
    reason = f"needs {', '.join(missing)}: pip install 'foresight[torch,onnx]'"
    if os.environ.get("FORESIGHT_REQUIRE_ONNX", "") not in ("", "0"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def trained() -> tuple[LstmForecaster, LstmState, np.ndarray]:
    _need_extras()
    rng = np.random.default_rng(3)
    t = np.arange(6 * 288)
    load = 200 + 80 * np.sin(2 * np.pi * t / 288) + rng.normal(0, 10, t.size)
    load[rng.choice(t.size, 30, replace=False)] = np.nan  # gaps: the observed channel must matter
    history = np.vstack([load, 0.5 * load])
    forecaster = LstmForecaster(seasons_steps=(288,), max_horizon_steps=24, train_steps=40, min_history_steps=300)
    return forecaster, forecaster.fit(history[:, :5 * 288]), history


def _torch_quantiles(forecaster: LstmForecaster, state: LstmState, sequence: np.ndarray, lags: np.ndarray) -> np.ndarray:
    import torch

    from foresight.forecast import lstm

    net = lstm._network(torch, forecaster.hidden, forecaster.max_horizon_steps, len(state.seasons))
    net.load_state_dict({k: torch.tensor(v) for k, v in state.weights.items()})
    with torch.no_grad():
        return lstm._forward(torch, net, torch.as_tensor(sequence, dtype=torch.float32),
                             torch.as_tensor(lags, dtype=torch.float32)).numpy()


def test_the_onnx_graph_computes_what_the_network_computes(trained, tmp_path: Path) -> None:
    from foresight.adapters.onnx_model import OnnxModel, lstm_to_onnx

    forecaster, state, history = trained
    origins = np.arange(5 * 288 - 1, 6 * 288 - 25, 7)
    sequence, lags, _ = forecaster.network_inputs(state, history, origins)
    assert sequence.shape == (2 * origins.size, forecaster.window_steps, 2) and lags.shape == (2 * origins.size, 24)
    model = OnnxModel(lstm_to_onnx(state.weights, len(TRAINED_LEVELS), tmp_path / "m.onnx"))
    got = model.run(sequence, lags)
    want = _torch_quantiles(forecaster, state, sequence, lags)
    assert got.shape == want.shape == (2 * origins.size, 24, len(TRAINED_LEVELS))
    np.testing.assert_allclose(got, want, atol=2e-5, rtol=1e-4)
    assert (np.diff(got, axis=-1) >= 0).all(), "quantiles never cross"


def test_the_int8_copy_is_smaller_and_close(trained, tmp_path: Path) -> None:
    from foresight.adapters.onnx_model import OnnxModel, lstm_to_onnx, quantise

    forecaster, state, history = trained
    sequence, lags, _ = forecaster.network_inputs(state, history, np.arange(5 * 288 - 1, 6 * 288 - 25, 5))
    full = OnnxModel(lstm_to_onnx(state.weights, len(TRAINED_LEVELS), tmp_path / "m.onnx"))
    small = OnnxModel(quantise(full.path, tmp_path / "m.int8.onnx"))
    assert full.size_bytes / small.size_bytes > 2.0
    median = TRAINED_LEVELS.index(0.5)
    gap = np.abs(small.run(sequence, lags)[..., median] - full.run(sequence, lags)[..., median])
    assert 0 < gap.max() < 0.1, "int8 changes the numbers (it is quantised) but not the forecast (log scale)"
    assert len(small.latency_s(sequence, lags, 5)) == 5


def test_the_bench_reports_held_out_figures_and_the_gate_verdict(shared_data: Path) -> None:
    _need_extras()
    from foresight.bench.edge_model import bench_edge_model

    figures = bench_edge_model(shared_data, train_days=7, test_days=1, train_steps=60, latency_runs=10, every_min=60)
    assert figures["quantised_size_ratio"] == figures["model_float_bytes"] / figures["model_int8_bytes"] > 2.0
    assert figures["quantised_accuracy_delta"] == pytest.approx(
        figures["model_float_accuracy_pct"] - figures["model_int8_accuracy_pct"])
    assert figures["model_heldout_forecasts"] == 23 * 60
    passed = figures["quantised_accuracy_delta"] <= 1.0  # the gate: at most 1 point lost
    assert figures["quantised_gate"].startswith("passed" if passed else "blocked")
    assert figures["quantised_lineage"] == "edge-load-forecaster v2 (onnx-int8-dynamic) <- v1"
