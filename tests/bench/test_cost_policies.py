"""The controllers bench cost compares: the HPA's scale-down stabilisation, always-warm's floor."""

from __future__ import annotations

import numpy as np

from foresight.bench.cost_policies import SCALE_DOWN_WINDOW_S, AlwaysWarm, _Stabilised
from foresight.sim.coldstart import WorkloadView


def test_stabilisation_keeps_the_highest_recommendation_of_the_window_then_follows_it_down():
    stable = _Stabilised(window_s=300.0)
    assert [stable(t, r) for t, r in ((0.0, 1), (10.0, 4), (20.0, 2), (200.0, 1))] == [1, 4, 4, 4]
    assert stable(311.0, 1) == 2  # the 4 of t=10 has left the window; the 2 of t=20 has not
    assert stable(321.0, 1) == 1
    assert stable(330.0, 3) == 3  # scaling up is never held back


def test_always_warm_never_goes_below_one_and_scales_down_only_after_the_window():
    warm = AlwaysWarm(capacity_rps=0.35, concurrency=2)
    burst = WorkloadView(0.0, np.linspace(-59.0, 0.0, 60), in_flight=8, ready=1, starting=0)
    assert warm(burst).replicas == 4  # 8 in flight at 2 per replica (the rate alone asks for 3)
    quiet = [warm(WorkloadView(t, np.empty(0), 0, 4, 0)).replicas for t in (60.0, SCALE_DOWN_WINDOW_S + 1.0)]
    assert quiet == [4, 1]
