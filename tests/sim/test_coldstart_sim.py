"""The request-level cold-start simulator: cold hits, the activator, queueing, GPU-seconds, spot notices."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foresight.errors import ConfigError, InputError
from foresight.sim.coldstart import Desired, LoadTimeSamples, ServingModel, WorkloadView, run_workload
from foresight.sim.spot import SpotMarket, SpotProcess

MODEL = ServingModel(service_s=2.0, concurrency=1, slo_s=10.0, image_pull_s=5.0)
LOADS = LoadTimeSamples(np.array([20.0]))  # every cold start: 5 s pull + 20 s load


def test_a_replica_kept_warm_takes_one_cold_start_then_serves_every_request_at_once():
    arrivals = np.array([100.0, 200.0, 300.0])
    result = run_workload(arrivals, lambda v: Desired(1), MODEL, LOADS, start_s=0.0, end_s=1000.0, period_s=10.0,
                          seed=0)
    assert (result.requests, result.cold_hits, result.slo_violations, result.cold_starts) == (3, 0, 0, 1)
    assert result.latencies_s == [2.0, 2.0, 2.0]
    assert result.on_demand_gpu_s == pytest.approx(1000.0) and result.spot_gpu_s == 0.0


def test_at_zero_the_activator_starts_a_replica_and_the_first_request_waits_for_its_cold_start():
    result = run_workload(np.array([100.0]), lambda v: Desired(1 if v.in_flight else 0), MODEL, LOADS,
                          start_s=0.0, end_s=1000.0, period_s=10.0, seed=0)
    assert (result.cold_hits, result.slo_violations, result.cold_starts) == (1, 1, 1)
    assert result.latencies_s == [pytest.approx(27.0)]  # 25 s cold start + 2 s service
    # held from 100 s until the first tick at which nothing is in flight (130 s)
    assert result.on_demand_gpu_s == pytest.approx(30.0)


def test_requests_queue_first_come_first_served_behind_a_busy_slot():
    result = run_workload(np.array([100.0, 100.5, 101.0]), lambda v: Desired(1), MODEL, LOADS, start_s=0.0,
                          end_s=1000.0, period_s=10.0, seed=0)
    assert result.latencies_s == pytest.approx([2.0, 3.5, 5.0]) and result.cold_hits == 0


def test_the_controller_sees_each_arrival_once_and_the_replicas_it_has():
    seen: list[WorkloadView] = []

    def controller(view: WorkloadView) -> Desired:
        seen.append(view)
        return Desired(2)

    run_workload(np.array([5.0, 15.0, 16.0]), controller, MODEL, LOADS, start_s=0.0, end_s=60.0, period_s=10.0,
                 seed=0)
    assert np.concatenate([v.arrivals for v in seen]).tolist() == [5.0, 15.0, 16.0]
    assert (seen[0].ready, seen[0].starting) == (0, 0) and (seen[1].ready, seen[1].starting) == (0, 2)
    assert seen[-1].ready == 2


def test_a_spot_replica_drains_on_notice_and_its_replacement_is_ready_before_the_interruption():
    market = SpotMarket(1.0, 0.3, interruptions_per_hour=20.0, mean_available_s=1e9, notice_s=120.0)
    arrivals = np.sort(np.random.default_rng(1).uniform(0.0, 7200.0, 400))
    drained = run_workload(arrivals, lambda v: Desired(1, spot=1), MODEL, LOADS, start_s=0.0, end_s=7300.0,
                           period_s=10.0, seed=0, spot=SpotProcess(market, 7300.0, 0))
    assert drained.interruptions > 5 and drained.restarted_requests == 0
    assert drained.spot_gpu_s > 0.9 * drained.gpu_s
    naive = run_workload(arrivals, lambda v: Desired(1, spot=1), MODEL, LOADS, start_s=0.0, end_s=7300.0,
                         period_s=10.0, seed=0, spot=SpotProcess(market, 7300.0, 0), drain_on_notice=False)
    assert naive.cold_hits > drained.cold_hits


def test_without_spot_capacity_replicas_fall_back_to_on_demand():
    market = SpotMarket(1.0, 0.3, mean_available_s=1.0, mean_reclaimed_s=1e9)
    result = run_workload(np.array([50.0]), lambda v: Desired(1, spot=1), MODEL, LOADS, start_s=0.0, end_s=500.0,
                          period_s=10.0, seed=0, spot=SpotProcess(market, 500.0, 0))
    assert result.spot_gpu_s == 0.0 and result.on_demand_gpu_s == pytest.approx(500.0)
    assert market.cost_usd(3600.0, 3600.0) == pytest.approx(1.3)


def test_bad_input_is_refused():
    with pytest.raises(InputError, match="sorted"):
        run_workload(np.array([2.0, 1.0]), lambda v: Desired(1), MODEL, LOADS, start_s=0, end_s=10, period_s=1,
                     seed=0)
    with pytest.raises(InputError, match="within"):
        run_workload(np.array([20.0]), lambda v: Desired(1), MODEL, LOADS, start_s=0, end_s=10, period_s=1, seed=0)
    with pytest.raises(ConfigError):
        ServingModel(service_s=0.0, concurrency=1, slo_s=1.0, image_pull_s=0.0)
    with pytest.raises(InputError):
        LoadTimeSamples(np.array([]))
    with pytest.raises(ConfigError):
        SpotMarket(-1.0, 0.3)
    with pytest.raises(InputError, match=">= 0"):
        run_workload(np.array([1.0]), lambda v: Desired(-1), MODEL, LOADS, start_s=0, end_s=10, period_s=1, seed=0)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.0, 3000.0), max_size=60), st.integers(0, 3), st.integers(1, 3), st.integers(0, 5))
def test_every_request_is_counted_and_gpu_time_is_bounded(times, replicas, concurrency, seed):
    arrivals = np.sort(np.array(times))
    model = ServingModel(service_s=3.0, concurrency=concurrency, slo_s=10.0, image_pull_s=1.0)
    result = run_workload(arrivals, lambda v: Desired(replicas), model, LOADS, start_s=0.0, end_s=3100.0,
                          period_s=10.0, seed=seed)
    assert result.requests == len(times)
    assert len(result.latencies_s) <= len(times) and all(lat >= 0 for lat in result.latencies_s)
    assert result.cold_hits <= len(times) and result.slo_violations <= len(times)
    assert 0.0 <= result.gpu_s <= 3100.0 * max(replicas, 1) * 2 + 1e-6
    if replicas and times:
        assert all(lat >= 3.0 - 1e-9 for lat in result.latencies_s)


def test_the_spot_process_is_seeded_and_grants_nothing_while_reclaimed_or_under_notice():
    market = SpotMarket(1.0, 0.3, mean_available_s=3600.0, mean_reclaimed_s=600.0)
    a, b = SpotProcess(market, 86400.0, 3), SpotProcess(market, 86400.0, 3)
    assert a.reclaimed_from.tolist() == b.reclaimed_from.tolist() and len(a.reclaimed_from) > 5
    start = float(a.reclaimed_from[0])
    assert not a.available(start + 1.0) and not a.available(start - 60.0) and a.available(start - 500.0)
    assert a.interruption_after(start - 500.0) <= start


SHARED = LoadTimeSamples(np.array([20.0]), np.array([4.0]))  # base load 20 s, adapter load 4 s


def test_on_a_shared_base_a_new_adapter_loads_onto_the_warm_replica_instead_of_a_cold_start():
    # models 0, 1, 0, 2 on one warm replica with room for two adapters: 0 and 1 load, 0 is kept, 2 evicts 1
    arrivals, models = np.array([100.0, 200.0, 300.0, 400.0]), np.array([0, 1, 0, 2])
    result = run_workload(arrivals, lambda v: Desired(1), MODEL, SHARED, start_s=0.0, end_s=1000.0, period_s=10.0,
                          seed=0, models=models, adapter_slots=2)
    assert (result.cold_hits, result.adapter_loads, result.load_waits, result.cold_starts) == (0, 3, 3, 1)
    assert result.latencies_s == pytest.approx([6.0, 6.0, 2.0, 6.0])
    again = run_workload(np.array([100.0, 200.0, 300.0]), lambda v: Desired(1), MODEL, SHARED, start_s=0.0,
                         end_s=1000.0, period_s=10.0, seed=0, models=np.array([0, 1, 0]), adapter_slots=1)
    assert again.adapter_loads == 3  # one slot: 1 evicted 0


def test_on_a_shared_base_a_cold_start_is_pull_and_base_then_the_adapter():
    result = run_workload(np.array([100.0]), lambda v: Desired(1 if v.in_flight else 0), MODEL, SHARED,
                          start_s=0.0, end_s=1000.0, period_s=10.0, seed=0, models=np.array([3]))
    assert (result.cold_hits, result.adapter_loads, result.load_waits) == (1, 1, 1)
    assert result.latencies_s == [pytest.approx(5.0 + 20.0 + 4.0 + 2.0)]
    dedicated = run_workload(np.array([100.0]), lambda v: Desired(1 if v.in_flight else 0), MODEL, SHARED,
                             start_s=0.0, end_s=1000.0, period_s=10.0, seed=0)
    assert dedicated.latencies_s == result.latencies_s and dedicated.adapter_loads == 0


def test_a_free_replica_holding_the_adapter_takes_its_request():
    two = ServingModel(service_s=2.0, concurrency=1, slo_s=10.0, image_pull_s=5.0)
    arrivals, models = np.array([100.0, 100.1, 200.0, 300.0]), np.array([0, 1, 1, 0])
    result = run_workload(arrivals, lambda v: Desired(2), two, SHARED, start_s=0.0, end_s=1000.0, period_s=10.0,
                          seed=0, models=models)
    assert result.adapter_loads == 2  # 0 and 1 once each, on the replica that first took them
    with pytest.raises(InputError, match="one id per arrival"):
        run_workload(arrivals, lambda v: Desired(1), two, SHARED, start_s=0.0, end_s=1000.0, period_s=10.0, seed=0,
                     models=np.array([0]))
