"""Spot placement: within the SLO risk budget, on-demand floor kept, interruptible work whole on spot."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foresight.autoscale.spot import SpotSpec, place, replacement_capacity
from foresight.errors import InputError


def test_a_model_that_loads_within_the_notice_goes_all_on_spot_and_a_slow_one_only_within_budget():
    spec = SpotSpec(interruptions_per_hour=0.1, risk_budget=0.001)
    fast = place(spec, replicas=6, load_time_s=67.0, service_s=4.0)
    assert (fast.spot, fast.on_demand, fast.risk) == (6, 0, 0.0) and "within the 120 s notice" in fast.reason
    slow = place(spec, replicas=6, load_time_s=900.0, service_s=4.0)
    # each interruption leaves 784 s missing: 0.1/3600 * 784 / 6 = 3.6e-3 per spot replica > budget
    assert (slow.spot, slow.on_demand) == (0, 6)
    generous = place(spec.model_copy(update={"risk_budget": 0.01}), replicas=6, load_time_s=900.0, service_s=4.0)
    assert generous.spot == 2 and generous.risk <= 0.01


def test_floor_interruptible_work_zero_replicas_and_bad_input():
    spec = SpotSpec(min_on_demand=1)
    assert (place(spec, replicas=3, load_time_s=60.0, service_s=1.0).on_demand) == 1
    assert place(spec, replicas=3, load_time_s=1e5, service_s=1.0, interruptible=True).spot == 3
    assert place(spec, replicas=0, load_time_s=60.0, service_s=1.0).spot == 0
    with pytest.raises(InputError, match="must be >= 0"):
        place(spec, replicas=-1, load_time_s=60.0, service_s=1.0)
    assert (replacement_capacity(True), replacement_capacity(False)) == ("spot", "on-demand")


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 50), st.floats(0.0, 3600.0), st.floats(0.0, 60.0), st.floats(0.0, 2.0),
       st.floats(0.0, 0.05), st.integers(0, 5))
def test_placement_splits_all_replicas_and_keeps_the_risk_within_budget(replicas, load, service, rate, budget, floor):
    spec = SpotSpec(interruptions_per_hour=rate, risk_budget=budget, min_on_demand=floor)
    placement = place(spec, replicas=replicas, load_time_s=load, service_s=service)
    assert placement.spot + placement.on_demand == replicas and placement.spot >= 0
    assert placement.risk <= budget + 1e-12
    assert placement.on_demand >= min(floor, replicas)
    more = place(spec.model_copy(update={"risk_budget": budget * 2}), replicas=replicas, load_time_s=load,
                 service_s=service)
    assert more.spot >= placement.spot
