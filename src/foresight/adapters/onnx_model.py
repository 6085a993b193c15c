"""ONNX and onnxruntime (the ``onnx`` extra): the LSTM forecaster as an ONNX file, quantised to int8, run.

Edge nodes run models on small CPUs without PyTorch: :func:`lstm_to_onnx` writes the trained
:class:`~foresight.forecast.lstm.LstmForecaster`'s network (its weights, no torch needed) as a
standard ONNX graph, :func:`quantise` makes the int8 copy with onnxruntime's dynamic quantisation
(weights of the LSTM and the MatMuls stored as int8; activations quantised per call, so no
calibration data is needed) and :class:`OnnxModel` runs either with onnxruntime.

The graph is the network of :mod:`foresight.forecast.lstm` op for op: the ONNX ``LSTM`` (PyTorch's
gate order i, f, g, o reordered to ONNX's i, o, f, c; its two biases side by side), the last hidden
state concatenated with the seasonal lags through the head (MatMul, Relu, MatMul), plus the linear
skip path from the lags, reshaped to ``[B, H, K]``, then the lowest quantile and its softplus
increments summed (CumSum), so quantiles never cross here either.

This is the only module that imports onnx or onnxruntime.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

__all__ = ["IR_VERSION", "OPSET", "OnnxModel", "lstm_to_onnx", "quantise"]

OPSET = 17
#: The ONNX file format version written: the newest onnx writes one that onnxruntimes on devices may not read yet.
IR_VERSION = 10
#: ONNX's gate blocks (i, o, f, c) as indices of PyTorch's (i, f, g, o).
_GATES = (0, 3, 1, 2)


def _module(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(f"ONNX export needs {name}: pip install 'foresight[onnx]'") from exc


def _gates(weight: np.ndarray, hidden: int) -> np.ndarray:
    blocks = weight.reshape(4, hidden, *weight.shape[1:])
    return np.concatenate([blocks[g] for g in _GATES])


def lstm_to_onnx(weights: Mapping[str, np.ndarray], levels: int, path: Path) -> Path:
    """Write the forecaster's network with ``weights`` (:attr:`LstmState.weights`) to ``path``.

    Inputs ``sequence`` ``[B, L, 2]`` and ``lags`` ``[B, H x S]`` (float32, as
    :meth:`LstmForecaster.network_inputs` gives them); output ``quantiles`` ``[B, H, levels]``.
    """
    onnx = _module("onnx")
    helper, numpy_helper = onnx.helper, onnx.numpy_helper
    hidden = weights["lstm.weight_hh_l0"].shape[1]
    lag_width = weights["head.0.weight"].shape[1] - hidden
    outputs = weights["head.2.weight"].shape[0]
    f32 = {k: np.asarray(v, dtype=np.float32) for k, v in weights.items()}
    init = {
        "W": _gates(f32["lstm.weight_ih_l0"], hidden)[None],
        "R": _gates(f32["lstm.weight_hh_l0"], hidden)[None],
        "B": np.concatenate([_gates(f32["lstm.bias_ih_l0"], hidden), _gates(f32["lstm.bias_hh_l0"], hidden)])[None],
        "head0_w": f32["head.0.weight"].T.copy(), "head0_b": f32["head.0.bias"],
        "head2_w": f32["head.2.weight"].T.copy(), "head2_b": f32["head.2.bias"],
        "axis0": np.array([0], dtype=np.int64), "axis2": np.array(2, dtype=np.int64),
        "shape": np.array([0, -1, levels], dtype=np.int64),
        "zero": np.array([0], dtype=np.int64), "one": np.array([1], dtype=np.int64),
        "last": np.array([levels], dtype=np.int64), "slice_axis": np.array([2], dtype=np.int64),
    }
    node = helper.make_node
    nodes = [
        node("Transpose", ["sequence"], ["steps_first"], perm=[1, 0, 2]),
        node("LSTM", ["steps_first", "W", "R", "B"], ["", "h_last"], hidden_size=hidden),
        node("Squeeze", ["h_last", "axis0"], ["h"]),
        node("Concat", ["h", "lags"], ["features"], axis=1),
        node("MatMul", ["features", "head0_w"], ["head0_mm"]),
        node("Add", ["head0_mm", "head0_b"], ["head0"]),
        node("Relu", ["head0"], ["head1"]),
        node("MatMul", ["head1", "head2_w"], ["head2_mm"]),
        node("Add", ["head2_mm", "head2_b"], ["head_out"]),
    ]
    flat = "head_out"
    if "skip.weight" in f32:
        init |= {"skip_w": f32["skip.weight"].T.copy(), "skip_b": f32["skip.bias"]}
        nodes += [node("MatMul", ["lags", "skip_w"], ["skip_mm"]), node("Add", ["skip_mm", "skip_b"], ["skip"]),
                  node("Add", ["head_out", "skip"], ["flat"])]
        flat = "flat"
    nodes += [
        node("Reshape", [flat, "shape"], ["raw"]),
        node("Slice", ["raw", "zero", "one", "slice_axis"], ["lowest"]),
        node("Slice", ["raw", "one", "last", "slice_axis"], ["gaps"]),
        node("Softplus", ["gaps"], ["increments"]),
        node("CumSum", ["increments", "axis2"], ["above"]),
        node("Add", ["lowest", "above"], ["upper"]),
        node("Concat", ["lowest", "upper"], ["quantiles"], axis=2),
    ]
    graph = helper.make_graph(
        nodes, "foresight_lstm",
        [helper.make_tensor_value_info("sequence", onnx.TensorProto.FLOAT, ["batch", "steps", 2]),
         helper.make_tensor_value_info("lags", onnx.TensorProto.FLOAT, ["batch", lag_width])],
        [helper.make_tensor_value_info("quantiles", onnx.TensorProto.FLOAT, ["batch", outputs // levels, levels])],
        [numpy_helper.from_array(value, name) for name, value in init.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="foresight")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def quantise(source: Path, target: Path) -> Path:
    """The int8 copy of ``source`` at ``target``: onnxruntime's dynamic quantisation of the LSTM and MatMuls."""
    quantization = _module("onnxruntime.quantization")
    quantization.quantize_dynamic(str(source), str(target), op_types_to_quantize=["LSTM", "MatMul"],
                                  weight_type=quantization.QuantType.QInt8)
    return target


class OnnxModel:
    """An ONNX file in an onnxruntime session on the CPU, one thread (what an edge device gives a model)."""

    def __init__(self, path: Path) -> None:
        ort = _module("onnxruntime")
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.path = path
        self._session: Any = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    @property
    def size_bytes(self) -> int:
        return self.path.stat().st_size

    def run(self, sequence: np.ndarray, lags: np.ndarray) -> np.ndarray:
        """Quantiles ``[B, H, K]`` for the network inputs."""
        feeds = {"sequence": np.asarray(sequence, dtype=np.float32), "lags": np.asarray(lags, dtype=np.float32)}
        return np.asarray(self._session.run(["quantiles"], feeds)[0], dtype=np.float64)

    def latency_s(self, sequence: np.ndarray, lags: np.ndarray, repeat: int) -> list[float]:
        """Wall seconds of ``repeat`` calls, each on one row (one forecast, as a device makes them)."""
        times = []
        for i in range(repeat):
            row = i % len(sequence)
            one_seq, one_lags = sequence[row:row + 1].astype(np.float32), lags[row:row + 1].astype(np.float32)
            start = time.perf_counter()
            self._session.run(["quantiles"], {"sequence": one_seq, "lags": one_lags})
            times.append(time.perf_counter() - start)
        return times
