"""The failure simulator: seeded, its ground truth true to its own series, its look-alikes harmless."""

from __future__ import annotations

import numpy as np
import pytest

from foresight.heal.exhaustion import exhaustion_point
from foresight.heal.events import increments
from foresight.heal.signals import Failure
from foresight.sim.failures import EVAL_FROM_S, FAILURES, LOOK_ALIKES, reactive_cost, simulate_failures


@pytest.fixture(scope="module")
def run():  # type: ignore[no-untyped-def]
    return simulate_failures(seed=11, failures=90, normals=90)


def test_the_same_seed_gives_the_same_run() -> None:
    a, b = simulate_failures(3, 9, 9), simulate_failures(3, 9, 9)
    assert a.episodes == b.episodes
    assert np.array_equal(a.signals.usage, b.signals.usage, equal_nan=True)
    assert not np.array_equal(a.signals.usage, simulate_failures(4, 9, 9).signals.usage, equal_nan=True)


def test_every_scenario_appears_and_failures_come_after_the_history(run) -> None:  # type: ignore[no-untyped-def]
    assert {e.scenario for e in run.episodes} == set(FAILURES) | set(LOOK_ALIKES)
    for e in run.episodes:
        assert (e.failure is Failure.NONE) == (e.scenario in LOOK_ALIKES)
        if e.failure is not Failure.NONE:
            assert EVAL_FROM_S < e.failure_s < 3 * 3600


def test_a_resource_failure_happens_when_the_series_first_reaches_its_point(run) -> None:  # type: ignore[no-untyped-def]
    s = run.signals
    point = exhaustion_point(s.resources, s.limit)
    for i, e in enumerate(run.episodes):
        if e.scenario in ("leak", "bursty_leak", "sudden_oom", "node_memory", "node_disk", "node_pid", "gpu_memory"):
            before = s.usage[i, s.t_s < e.failure_s]
            assert np.nanmax(before) < point[i]
            at = s.usage[i, s.t_s == e.failure_s]
            assert np.isnan(at[0]) or at[0] >= point[i]


def test_look_alikes_never_reach_their_failure_point(run) -> None:  # type: ignore[no-untyped-def]
    s = run.signals
    point = exhaustion_point(s.resources, s.limit)
    for i, e in enumerate(run.episodes):
        if e.failure is Failure.NONE and np.isfinite(point[i]):
            assert np.nanmax(s.usage[i]) < point[i], e.scenario
        if e.scenario == "no_limit":
            assert np.isnan(s.limit[i])
        if e.scenario == "cache_warmup":
            assert np.isnan(s.usage[i, 0]) or np.isfinite(s.usage[i, -1])


def test_a_crash_loop_fails_when_restarts_come_within_two_minutes(run) -> None:  # type: ignore[no-untyped-def]
    s = run.signals
    for i, e in enumerate(run.episodes):
        if e.scenario in ("crash_loop", "gpu_xid"):
            inc = increments(s.events[i:i + 1])[0]
            times = np.repeat(s.t_s, inc.astype(int))
            times = times[times <= e.failure_s + 30]
            assert len(times) >= 4
            assert times[-1] - times[-2] <= 150  # sampled every 30 s


def test_reactive_costs_follow_the_kubernetes_defaults(run) -> None:  # type: ignore[no-untyped-def]
    for e in run.episodes:
        seconds, kills = reactive_cost(e)
        if e.failure is Failure.NONE:
            assert (seconds, kills) == (0.0, 0)
        elif e.failure is Failure.NOT_READY:
            assert seconds == 340.0 + e.startup_s
        elif e.failure is Failure.OOM_KILL:
            assert kills == 1 and seconds >= 10.0 + e.startup_s
