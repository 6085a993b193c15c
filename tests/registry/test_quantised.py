"""A quantised version is registered as the child of its parent, on every registry backend, and its gate
refuses an accuracy drop above 1 point (no edge alias then, and the tag says why)."""

from __future__ import annotations

from pathlib import Path

import pytest

from foresight.errors import InputError
from foresight.registry import GATE_TAG, PARENT_TAG, Registry, lineage
from foresight.registry.quantised import EDGE_ALIAS, QUANTISED_TAG, register_quantised


def _parent(registry: Registry, name: str, tmp_path: Path, metrics: dict[str, float]) -> int:
    model = tmp_path / "model.onnx"
    model.write_bytes(b"float weights")
    return registry.register(name, params={"hidden": "32"}, metrics=metrics, code_commit="unknown",
                             data_version="d" * 32, seed=7, model_file=model).version


def _int8(tmp_path: Path) -> Path:
    path = tmp_path / "model.int8.onnx"
    path.write_bytes(b"int8")
    return path


def test_a_close_copy_passes_gets_the_edge_alias_and_its_lineage_reaches_the_parent(
        registry: Registry, model_name: str, tmp_path: Path) -> None:
    parent = _parent(registry, model_name, tmp_path, {"accuracy": 70.0})
    child, verdict = register_quantised(registry, model_name, parent, accuracy=69.2, method="onnx-int8-dynamic",
                                        metrics={"size_bytes": 80_000.0}, code_commit="unknown", model_file=_int8(tmp_path))
    assert verdict.passed
    stored = registry.get(model_name, child.version)
    assert stored.tags[PARENT_TAG] == str(parent) and stored.tags[QUANTISED_TAG] == "onnx-int8-dynamic"
    assert stored.tags[GATE_TAG].startswith("passed: accuracy_drop_points 0.8 <= threshold 1")
    assert stored.metrics["accuracy_drop_points"] == pytest.approx(0.8) and stored.metrics["size_bytes"] == 80_000.0
    assert stored.data_version == "d" * 32 and stored.seed == 7 and stored.params["quantisation"] == "onnx-int8-dynamic"
    assert [v.version for v in lineage(registry, model_name, child.version)] == [child.version, parent]
    edge = registry.get_alias(model_name, EDGE_ALIAS)
    assert edge is not None and edge.version == child.version


def test_a_drop_above_one_point_is_refused_and_not_given_to_the_edge(
        registry: Registry, model_name: str, tmp_path: Path) -> None:
    parent = _parent(registry, model_name, tmp_path, {"accuracy": 70.0})
    child, verdict = register_quantised(registry, model_name, parent, accuracy=68.5, method="onnx-int8-dynamic",
                                        metrics={}, code_commit="unknown", model_file=_int8(tmp_path))
    assert not verdict.passed
    assert verdict.reason == "accuracy_drop_points 1.5 > threshold 1"
    assert registry.get(model_name, child.version).tags[GATE_TAG] == "blocked: " + verdict.reason
    assert registry.get_alias(model_name, EDGE_ALIAS) is None
    # a tighter threshold refuses what the default lets through
    _, strict = register_quantised(registry, model_name, parent, accuracy=69.8, method="onnx-int8-dynamic",
                                   metrics={}, code_commit="unknown", model_file=_int8(tmp_path), max_drop_points=0.1)
    assert not strict.passed


def test_a_parent_without_accuracy_cannot_be_gated(registry: Registry, model_name: str, tmp_path: Path) -> None:
    parent = _parent(registry, model_name, tmp_path, {"loss": 0.3})
    with pytest.raises(InputError, match="no accuracy metric"):
        register_quantised(registry, model_name, parent, accuracy=69.0, method="onnx-int8-dynamic", metrics={},
                           code_commit="unknown", model_file=_int8(tmp_path))
    assert len(registry.list_versions(model_name)) == 1, "nothing registered"
