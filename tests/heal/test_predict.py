"""Every predictor: one verdict per target, said in words with its numbers; bad input refused."""

from __future__ import annotations

import numpy as np
import pytest

from foresight.errors import InputError
from foresight.heal import PREDICTORS, EventKind, Failure, Resource, Signals

T = np.arange(0.0, 7200.0, 30.0)


def fleet() -> Signals:
    leak = 0.3 + 0.65 * T / 7200
    steady = np.full(T.size, 0.5)
    usage = np.vstack([leak, leak, steady, steady])
    events = np.zeros_like(usage)
    loop = [4500.0, 5700.0, 6420.0, 6850.0, 7100.0]
    events[3] = [sum(e <= s for e in loop) for s in T]
    return Signals(("leaky", "unlimited", "steady", "looping"), (Resource.MEMORY,) * 4, (EventKind.RESTARTS,) * 4,
                   T, usage, np.array([1.0, np.nan, 1.0, 1.0]), events)


@pytest.mark.parametrize("name", sorted(PREDICTORS))
def test_every_predictor_answers_for_every_target(name: str) -> None:
    v = PREDICTORS[name].predict(fleet(), horizon_s=1200.0)
    assert len(v.evidence) == 4 and v.alarm.shape == (4,)
    assert v.alarm[0] and v.failure[0] is Failure.OOM_KILL
    assert not v.alarm[1] and "no limit: nothing to exhaust" in v.evidence[1]
    assert not v.alarm[2]
    assert v.alarm[3] and v.failure[3] is Failure.CRASH_LOOP


def test_foresight_says_why_in_numbers() -> None:
    v = PREDICTORS["foresight"].predict(fleet(), horizon_s=1200.0)
    assert "robust trend" in v.evidence[0] and "%" in v.evidence[0]
    assert "shrink" in v.evidence[3]
    assert v.ttf_low_s[0] <= v.ttf_s[0] <= v.ttf_high_s[0]


def test_signals_refuse_mismatched_shapes_and_bad_limits() -> None:
    s = fleet()
    with pytest.raises(InputError):
        Signals(s.targets, s.resources, s.event_kinds, s.t_s, s.usage[:, :-1], s.limit, s.events)
    with pytest.raises(InputError):
        Signals(s.targets, s.resources, s.event_kinds, s.t_s, s.usage, np.array([1.0, 0.0, 1.0, 1.0]), s.events)
    with pytest.raises(InputError):
        Signals(s.targets, s.resources, s.event_kinds, s.t_s[::-1], s.usage, s.limit, s.events)


def test_the_threshold_says_which_side_it_is_and_gives_no_time() -> None:
    v = PREDICTORS["threshold"].predict(fleet(), horizon_s=1200.0)
    assert "above it, no time to failure" in v.evidence[0] and np.isnan(v.ttf_s[0])
    assert "below it" in v.evidence[2]
