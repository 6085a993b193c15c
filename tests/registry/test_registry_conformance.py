"""The Registry port's behaviour, run on every backend (local twin and MLflow)."""

from __future__ import annotations

import math
import time

import pytest

from foresight.errors import InputError
from foresight.registry import CHAMPION, CHALLENGER, PARENT_TAG, Registry, lineage


def _register(reg: Registry, name: str, model, accuracy: float = 0.9, parent: int | None = None, seed: int = 7):
    tags = {"team": "fraud"} | ({PARENT_TAG: str(parent)} if parent else {})
    return reg.register(name, params={"C": 1.0, "solver": "lbfgs"}, metrics={"accuracy": accuracy},
                        code_commit="a" * 40, data_version="8a063524c2d96725734e5e416d4c92c4", seed=seed,
                        tags=tags, model=model)


def test_versions_count_from_one_and_keep_their_provenance(registry, model_name, fitted_model) -> None:
    first = _register(registry, model_name, fitted_model, 0.91)
    second = _register(registry, model_name, fitted_model, 0.93, parent=1, seed=8)
    assert (first.version, second.version) == (1, 2)
    got = registry.get(model_name, 2)
    assert got.params == {"C": "1.0", "solver": "lbfgs"}
    assert got.metrics == {"accuracy": 0.93}
    assert (got.code_commit, got.data_version, got.seed) == ("a" * 40, "8a063524c2d96725734e5e416d4c92c4", 8)
    assert got.tags["team"] == "fraud" and got.parent == 1
    assert [v.version for v in registry.list_versions(model_name)] == [1, 2]
    assert {model_name} <= {v.name for v in registry.list_versions()}


def test_unknown_versions_are_input_errors(registry, model_name, fitted_model) -> None:
    _register(registry, model_name, fitted_model)
    with pytest.raises(InputError):
        registry.get(model_name, 5)
    with pytest.raises(InputError):
        registry.set_alias(model_name, CHAMPION, 5)
    assert registry.get_alias(model_name, CHAMPION) is None


def test_aliases_move_and_disappear(registry, model_name, fitted_model) -> None:
    for acc in (0.9, 0.92):
        _register(registry, model_name, fitted_model, acc)
    registry.set_alias(model_name, CHAMPION, 1)
    registry.set_alias(model_name, CHALLENGER, 2)
    assert registry.get_alias(model_name, CHAMPION).version == 1
    assert registry.get(model_name, 2).aliases == (CHALLENGER,)
    registry.set_alias(model_name, CHAMPION, 2)
    registry.delete_alias(model_name, CHALLENGER)
    registry.delete_alias(model_name, CHALLENGER)  # twice: no error
    assert registry.get_alias(model_name, CHAMPION).version == 2
    assert registry.get_alias(model_name, CHALLENGER) is None
    assert registry.get(model_name, 1).aliases == ()
    assert [v.aliases for v in registry.list_versions(model_name)] == [(), (CHAMPION,)]


def test_tags_and_lineage(registry, model_name, fitted_model) -> None:
    _register(registry, model_name, fitted_model)
    _register(registry, model_name, fitted_model, parent=1)
    _register(registry, model_name, fitted_model, parent=2)
    registry.set_tag(model_name, 3, "foresight.gate", "passed")
    assert registry.get(model_name, 3).tags["foresight.gate"] == "passed"
    assert [v.version for v in lineage(registry, model_name, 3)] == [3, 2, 1]
    assert [v.version for v in lineage(registry, model_name, 1)] == [1]


def test_calls_are_fast_enough_for_a_control_loop(registry, model_name, fitted_model) -> None:
    _register(registry, model_name, fitted_model)
    start = time.perf_counter()
    for _ in range(5):
        registry.set_alias(model_name, CHAMPION, 1)
        registry.get_alias(model_name, CHAMPION)
    assert (time.perf_counter() - start) / 10 < 0.2


def test_non_finite_metrics_are_refused_before_anything_is_written(registry, model_name, fitted_model) -> None:
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(InputError, match=rf"metric accuracy is {bad}: metrics must be finite"):
            _register(registry, model_name, fitted_model, bad)
    assert registry.list_versions(model_name) == []


def test_a_parent_that_does_not_exist_is_refused(registry, model_name, fitted_model) -> None:
    with pytest.raises(InputError, match="parent version 99 does not exist"):
        _register(registry, model_name, fitted_model, parent=99)
    _register(registry, model_name, fitted_model)
    with pytest.raises(InputError, match="parent version 5 does not exist"):
        _register(registry, model_name, fitted_model, parent=5)
    assert _register(registry, model_name, fitted_model, parent=1).parent == 1
    assert [v.version for v in registry.list_versions(model_name)] == [1, 2]
