"""Every registered detector keeps the protocol: this suite runs them all, no new test design needed.

Checks: scores in [0, 1] and never NaN on awkward input (gaps, constant, huge, irregular time);
streaming == batch == vectorised, exactly; scoring never changes state; a missing sample changes
nothing; a saved and restored state scores exactly like the one never saved.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from foresight.detect import DETECTORS, make_detector, run
from foresight.errors import InputError

NAMES = sorted(DETECTORS)
DAY = 288  # 5-minute samples
KINDS = ["noisy", "gaps", "constant", "huge", "irregular"]


def _series(kind: str, n: int = 3 * DAY + 50) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(KINDS.index(kind))
    t = 1.6e9 + 300.0 * np.arange(n)
    if kind == "noisy":
        x = 50.0 + 10.0 * np.sin(2 * np.pi * np.arange(n) / DAY) + rng.normal(0.0, 2.0, n)
        x[n // 2] += 80.0
    elif kind == "gaps":
        x = rng.normal(5.0, 1.0, n)
        x[rng.random(n) < 0.2] = np.nan
        x[100:130] = np.nan
        x[200] = np.inf
    elif kind == "constant":
        x = np.full(n, 7.0)
        x[-20:] = 9.0
    elif kind == "huge":
        x = rng.choice([1e300, -1e300, 0.0, 1e-300, 3.0], size=n)
    elif kind == "irregular":
        t = 1.6e9 + np.cumsum(rng.choice([1.0, 60.0, 300.0, 86400.0], size=n))
        x = rng.lognormal(0.0, 1.0, n)
    else:
        raise ValueError(kind)
    return x, t


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kind", KINDS)
def test_scores_lie_in_unit_interval_and_are_never_nan(name: str, kind: str) -> None:
    x, t = _series(kind)
    scores = run(make_detector(name), x, t)
    assert scores.shape == x.shape
    assert np.all(np.isfinite(scores))
    assert np.all((scores >= 0.0) & (scores <= 1.0))
    assert np.all(scores[~np.isfinite(x)] == 0.0), "a missing sample scores 0"


@pytest.mark.parametrize("name", NAMES)
def test_streaming_batch_and_vectorised_paths_give_identical_numbers(name: str) -> None:
    rows = [_series(kind, 400) for kind in ("noisy", "gaps", "irregular")]
    x = np.stack([r[0] for r in rows])
    t = np.stack([r[1] for r in rows])

    vectorised = run(make_detector(name), x, t)
    for i in range(3):
        batch = run(make_detector(name), x[i], t[i])
        detector = make_detector(name)
        state = detector.init(1)
        streaming = np.array([detector.update(state, x[i, k : k + 1], t[i, k : k + 1])[0] for k in range(x.shape[1])])
        np.testing.assert_array_equal(batch, vectorised[i])
        np.testing.assert_array_equal(streaming, batch)


@pytest.mark.parametrize("name", NAMES)
def test_scoring_does_not_change_state_and_matches_update(name: str) -> None:
    x, t = _series("noisy", 500)
    detector = make_detector(name)
    state = detector.init(1)
    for k in range(499):
        before = json.dumps(state.to_dict())
        scored = detector.score(state, x[k : k + 1], t[k : k + 1])
        assert json.dumps(state.to_dict()) == before
        learned = detector.update(state, x[k : k + 1], t[k : k + 1])
        np.testing.assert_array_equal(scored, learned)


@pytest.mark.parametrize("name", NAMES)
def test_a_missing_sample_leaves_the_state_unchanged(name: str) -> None:
    x, t = _series("noisy", 400)
    detector = make_detector(name)
    state = detector.init(2)
    for k in range(399):
        detector.update(state, np.array([x[k], x[k]]), np.array([t[k], t[k]]))
    before = json.dumps(state.to_dict())
    for gap in (np.nan, np.inf, -np.inf):
        assert detector.update(state, np.array([gap, gap]), np.array([t[-1], t[-1]])).tolist() == [0.0, 0.0]
    assert json.dumps(state.to_dict()) == before


@pytest.mark.parametrize("name", NAMES)
def test_saved_and_restored_state_scores_like_the_original(name: str) -> None:
    x, t = _series("noisy")
    detector = make_detector(name)
    whole = run(detector, x, t)
    half = x.size // 2
    state = detector.init(1)
    for k in range(half):
        detector.update(state, x[k : k + 1], t[k : k + 1])
    restored = type(state).from_dict(json.loads(json.dumps(state.to_dict())))
    rest = [detector.update(restored, x[k : k + 1], t[k : k + 1])[0] for k in range(half, x.size)]
    np.testing.assert_array_equal(rest, whole[half:])


@pytest.mark.parametrize("name", NAMES)
def test_a_state_saved_by_another_version_is_refused_with_its_reason(name: str) -> None:
    state = make_detector(name).init(1)
    saved = state.to_dict()
    missing = next(iter(saved))
    del saved[missing]
    with pytest.raises(InputError, match=f"lacks '{missing}'.*fresh state"):
        type(state).from_dict(saved)


@pytest.mark.parametrize("name", NAMES)
def test_a_state_with_a_field_this_version_does_not_keep_is_refused(name: str) -> None:
    saved = make_detector(name).init(1).to_dict()
    saved["retired"] = {"dtype": "float64", "data": [0.0]}
    with pytest.raises(InputError, match="has 'retired'.*fresh state"):
        type(make_detector(name).init(1)).from_dict(saved)


@pytest.mark.parametrize("name", NAMES)
def test_a_gross_spike_outscores_the_noise_around_it(name: str) -> None:
    x, t = _series("noisy")
    scores = run(make_detector(name), x, t)
    spike = x.size // 2
    assert scores[spike] >= np.quantile(scores[DAY:], 0.99)
