"""Every forecaster keeps the protocol's promises (shapes, order, gaps, purity, determinism).

A new forecaster joins by adding one factory to FORECASTERS; no new test design is needed.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from foresight.errors import InputError
from foresight.forecast import Forecaster, HistoryTooShort, HoltWinters, SeasonalNaive
from foresight.forecast.ensemble import Ensemble

PERIOD = 24
HORIZON = 12


def _lstm() -> Forecaster:
    pytest.importorskip("torch")
    from foresight.forecast.lstm import LstmForecaster

    return LstmForecaster(seasons_steps=(PERIOD,), max_horizon_steps=HORIZON, window_steps=16, hidden=8,
                          train_steps=30, min_history_steps=48)


FORECASTERS = {
    "naive": lambda: SeasonalNaive(1, HORIZON, error_window_steps=200),
    "seasonal-naive": lambda: SeasonalNaive(PERIOD, HORIZON, error_window_steps=200),
    "holt-winters": lambda: HoltWinters((PERIOD, 4 * PERIOD), HORIZON, error_window_steps=200, min_history_steps=48),
    "ensemble": lambda: Ensemble(
        [SeasonalNaive(PERIOD, HORIZON), HoltWinters((PERIOD,), HORIZON, min_history_steps=48)]
    ),
    "lstm": _lstm,
}


@pytest.fixture(params=list(FORECASTERS), name="model")
def model_fixture(request: pytest.FixtureRequest) -> Forecaster:
    return FORECASTERS[request.param]()


def _load(n: int = 3, steps: int = 12 * PERIOD, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(steps)
    scale = np.array([1.0, 50.0, 2000.0])[:n, None]
    cycle = 1.0 + 0.6 * np.sin(2 * np.pi * t / PERIOD)
    return scale * cycle * rng.gamma(20.0, 1 / 20.0, size=(n, steps))


def _arrays(state: object) -> list[np.ndarray]:
    found: list[np.ndarray] = []

    def walk(x: object) -> None:
        if isinstance(x, np.ndarray):
            found.append(x)
        elif isinstance(x, (tuple, list)):
            for item in x:
                walk(item)
        elif isinstance(x, dict):
            for item in x.values():
                walk(item)
        elif hasattr(x, "__dataclass_fields__"):
            for name in x.__dataclass_fields__:
                walk(getattr(x, name))

    walk(state)
    return found


def test_predict_shape_order_and_sign(model: Forecaster) -> None:
    state = model.fit(_load())
    out = model.predict(state, HORIZON, [0.9, 0.1, 0.5])
    assert out.shape == (3, HORIZON, 3)
    assert np.all(np.isfinite(out)) and np.all(out >= 0)
    ordered = model.predict(state, HORIZON, [0.05, 0.1, 0.5, 0.9, 0.95])
    assert np.all(np.diff(ordered, axis=-1) >= -1e-9)
    assert np.array_equal(out[..., 1], ordered[..., 1])


def test_shorter_horizon_is_a_prefix(model: Forecaster) -> None:
    state = model.fit(_load())
    full = model.predict(state, HORIZON, [0.5])
    assert np.allclose(model.predict(state, 3, [0.5]), full[:, :3])


def test_gaps_and_nan_in_never_give_nan_out(model: Forecaster) -> None:
    y = _load()
    y[0, 10:40] = np.nan  # an outage
    y[1, ::7] = np.nan  # scattered missed scrapes
    y[2, 100] = np.inf  # a broken sample
    state = model.fit(y)
    assert np.all(np.isfinite(model.predict(state, HORIZON, [0.1, 0.5, 0.9])))
    new = _load(steps=30, seed=1)
    new[:, -5:] = np.nan  # the newest points are missing too
    assert np.all(np.isfinite(model.predict(model.update(state, new), HORIZON, [0.1, 0.5, 0.9])))


def test_predict_and_update_leave_the_state_alone(model: Forecaster) -> None:
    state = model.fit(_load())
    before = pickle.dumps(state)
    first = model.predict(state, HORIZON, [0.5, 0.9])
    updated = model.update(state, _load(steps=PERIOD, seed=2))
    assert pickle.dumps(state) == before
    assert np.array_equal(model.predict(state, HORIZON, [0.5, 0.9]), first)
    assert updated is not state
    for array in _arrays(state):
        assert not array.flags.writeable


def test_deterministic(model: Forecaster) -> None:
    y = _load()
    a = model.predict(model.fit(y), HORIZON, [0.1, 0.5, 0.9])
    b = model.predict(model.fit(y.copy()), HORIZON, [0.1, 0.5, 0.9])
    assert np.array_equal(a, b)


def test_update_in_pieces_equals_update_at_once(model: Forecaster) -> None:
    state = model.fit(_load())
    new = _load(steps=40, seed=3)
    at_once = model.predict(model.update(state, new), HORIZON, [0.5, 0.9])
    in_pieces = model.update(model.update(state, new[:, :17]), new[:, 17:])
    assert np.allclose(model.predict(in_pieces, HORIZON, [0.5, 0.9]), at_once)


def test_update_uses_the_new_points(model: Forecaster) -> None:
    state = model.fit(_load())
    surge = 20.0 * _load(steps=6, seed=4)  # load jumps twentyfold and stays
    moved = model.predict(model.update(state, surge), 1, [0.5])
    assert np.all(np.abs(moved - model.predict(state, 1, [0.5])) > 1e-6)


def test_too_short_history_says_so(model: Forecaster) -> None:
    with pytest.raises(HistoryTooShort) as raised:
        model.fit(_load(steps=6))
    assert raised.value.need > raised.value.have
    assert "history" in str(raised.value)


def test_bad_requests_are_refused(model: Forecaster) -> None:
    state = model.fit(_load())
    with pytest.raises(ValueError):
        model.predict(state, model.max_horizon_steps + 1, [0.5])
    with pytest.raises(ValueError):
        model.predict(state, 1, [1.0])
    with pytest.raises(InputError, match="history"):
        model.fit(_load()[0])
