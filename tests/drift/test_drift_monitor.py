"""The streaming monitor: quiet on a stationary stream, fast on a shift, hysteresis, bad input."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from foresight.drift.monitor import DriftMonitor, MonitorSpec
from foresight.errors import ConfigError, InputError

FEATURES = ("a", "b", "c")


def _spec(**kw: object) -> MonitorSpec:
    return MonitorSpec(**{"features": FEATURES, "reference_rows": 500, "window_rows": 200, **kw})  # type: ignore[arg-type]


def test_warms_up_then_stays_quiet_on_a_stationary_stream() -> None:
    rng = np.random.default_rng(0)
    monitor = DriftMonitor(_spec())
    first = monitor.update(rng.normal(size=(100, 3)))
    assert not first.ready and first.per_feature == {} and "warming up" in first.reason
    statuses = [monitor.update(rng.normal(size=(50, 3))) for _ in range(200)]
    assert statuses[-1].ready and set(statuses[-1].per_feature) == set(FEATURES)
    assert not any(s.drifted for s in statuses)


def test_a_shift_in_one_feature_is_detected_and_named() -> None:
    rng = np.random.default_rng(1)
    monitor = DriftMonitor(_spec())
    monitor.update(rng.normal(size=(700, 3)))
    for step in range(1, 30):
        status = monitor.update(rng.normal([0.0, 1.0, 0.0], 1.0, size=(50, 3)))
        if status.drifted:
            break
    assert status.drifted and step <= 6
    assert status.flagged == ("b",)
    assert status.per_feature["b"].stat == "ks_p" and status.per_feature["b"].value < status.per_feature["b"].threshold
    assert status.reason.startswith("drift: b flagged")
    stat, value, threshold, flagged, statistic = status.per_feature["b"]
    assert (stat, flagged) == ("ks_p", True) and value < threshold and 0.2 < statistic <= 1.0


def test_hysteresis_needs_persistence_to_turn_on_and_clear_after_to_turn_off() -> None:
    rng = np.random.default_rng(2)
    monitor = DriftMonitor(_spec(persistence=3, clear_after=4))
    monitor.update(rng.normal(size=(700, 3)))
    shifted = [monitor.update(rng.normal(5.0, 1.0, size=(200, 3))) for _ in range(3)]
    assert [s.drifted for s in shifted] == [False, False, True]
    back = [monitor.update(rng.normal(size=(200, 3))) for _ in range(5)]
    assert [s.drifted for s in back] == [True, True, True, False, False]
    assert back[3].reason.startswith("drift cleared")


def test_reset_reference_accepts_the_new_normal() -> None:
    rng = np.random.default_rng(3)
    monitor = DriftMonitor(_spec(persistence=1), reference=rng.normal(size=(500, 3)))
    assert monitor.update(rng.normal(3.0, 1.0, size=(200, 3))).drifted
    monitor.reset_reference(rng.normal(3.0, 1.0, size=(500, 3)))
    status = monitor.update(rng.normal(3.0, 1.0, size=(200, 3)))
    assert status.ready and not status.flagged


def test_refreshed_reference_follows_slow_change() -> None:
    rng = np.random.default_rng(4)
    fixed, refreshed = DriftMonitor(_spec()), DriftMonitor(_spec(refresh_rows=200))
    for step in range(400):  # +3 sd over 20 000 rows: slow enough to be accepted
        x = rng.normal(size=(50, 3)) + 3.0 * step / 400
        a, b = fixed.update(x), refreshed.update(x)
    assert a.drifted and not b.drifted


def test_state_pickles_and_resumes() -> None:
    rng = np.random.default_rng(5)
    monitor = DriftMonitor(_spec())
    monitor.update(rng.normal(size=(800, 3)))
    clone = pickle.loads(pickle.dumps(monitor))
    x = rng.normal(size=(50, 3))
    assert clone.update(x) == monitor.update(x)


def test_nan_rows_are_tolerated() -> None:
    rng = np.random.default_rng(6)
    monitor = DriftMonitor(_spec())
    x = rng.normal(size=(900, 3))
    x[::7, 1] = np.nan
    status = monitor.update(x)
    assert status.ready and not status.drifted


@pytest.mark.parametrize("batch", [np.zeros((5, 2)), np.zeros(5), [["x", "y", "z"]]])
def test_bad_batches_are_input_errors(batch: object) -> None:
    with pytest.raises(InputError, match="batch"):
        DriftMonitor(_spec()).update(batch)  # type: ignore[arg-type]


@pytest.mark.parametrize("kw", [{"features": ()}, {"features": ("a", "a")}, {"window_rows": 0}, {"alpha": 1.5},
                                {"refresh_rows": 0}])
def test_impossible_specs_are_config_errors(kw: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        _spec(**kw)
