"""Counters: resets and gaps are not events; only intervals that keep shrinking predict a loop."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from foresight.heal.events import accelerating, increments, recent_count

T = np.arange(0.0, 7200.0, 30.0)


def counter(times: list[float], resets: tuple[float, ...] = ()) -> np.ndarray:
    """A cumulative counter of ``times`` that restarts from 0 at each of ``resets``."""
    values = []
    for s in T:
        since = max([r for r in resets if r <= s], default=-1.0)
        values.append(float(sum(since < e <= s for e in times)))
    return np.array([values])


@settings(max_examples=40, deadline=None)
@given(times=st.lists(st.floats(1.0, 7100.0), max_size=15), resets=st.lists(st.floats(1.0, 7100.0), max_size=3))
def test_increments_count_every_event_across_resets(times: list[float], resets: list[float]) -> None:
    resets_t = tuple(r for r in resets if not any(abs(r - e) < 60 for e in times))
    c = counter(times, resets_t)
    inc = increments(c)
    assert (inc >= 0).all()
    # an event in the same sample as a reset may be counted once more or less; elsewhere all are counted
    assert inc.sum() == len([e for e in times if e <= T[-1]])


def test_a_gap_in_the_counter_is_not_a_reset() -> None:
    c = counter([600.0, 1200.0])
    c[0, 50:60] = np.nan
    assert increments(c).sum() == 2


def test_shrinking_intervals_predict_a_crash_loop_and_a_restart_wave_does_not() -> None:
    loop = counter([1800.0, 3000.0, 3720.0, 4150.0, 4410.0])  # 1200, 720, 430, 260 s
    wave = counter([3600.0, 3660.0])
    flaky = counter([600.0, 2400.0, 3000.0, 5200.0, 5500.0, 6900.0])
    ttf, low, high, ratio = accelerating(T[:149], np.vstack([loop, wave, flaky])[:, :149])
    assert 0 <= ttf[0] < 1800 and low[0] <= ttf[0] <= high[0]
    assert abs(ratio[0] - 0.6) < 0.05
    assert ttf[1] == np.inf and ttf[2] == np.inf


def test_the_baseline_counts_events_in_its_window() -> None:
    c = counter([3000.0, 6600.0, 6800.0, 7000.0])
    assert recent_count(T, c, 900.0).tolist() == [3.0]


def test_three_shrinking_intervals_are_enough_only_once_the_loop_is_tight() -> None:
    tight = counter([5000.0, 5900.0, 6400.0, 6660.0])  # 900, 500, 260 s: the last under 5 min
    loose = counter([1000.0, 3400.0, 5200.0, 6500.0])  # 2400, 1800, 1300 s: random restarts can do this
    ttf, _, _, _ = accelerating(T[:224], np.vstack([tight, loose])[:, :224])
    assert np.isfinite(ttf[0]) and ttf[1] == np.inf
