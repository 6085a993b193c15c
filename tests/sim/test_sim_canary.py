"""The canary simulator: seeded, request-level counts that follow the weights and the versions' behaviour."""

from __future__ import annotations

import numpy as np
import pytest

from foresight.errors import InputError
from foresight.rollout.observation import histogram_quantile
from foresight.rollout.router import check_router
from foresight.sim.canary import (
    CanaryBatch,
    CanaryScenario,
    CanarySimulator,
    VersionBehaviour,
)


def test_the_same_seed_gives_the_same_release() -> None:
    runs = []
    for _ in range(2):
        batch = CanaryBatch([CanaryScenario()] * 3, seed=9)
        runs.append([batch.step(np.array([10, 50, 90])).latency for _ in range(3)])
    assert all(np.array_equal(a, b) for a, b in zip(*runs))


def test_requests_follow_the_weights_and_histograms_count_every_request() -> None:
    batch = CanaryBatch([CanaryScenario(rate_rps=100.0)] * 3, seed=1)
    sample = batch.step(np.array([0, 25, 100]))
    assert sample.requests[0, 1] == 0 and sample.requests[2, 0] == 0
    assert 0.2 < sample.requests[1, 1] / sample.requests[1].sum() < 0.3
    assert np.array_equal(sample.latency.sum(axis=2), sample.requests)


def test_versions_serve_as_specified() -> None:
    slow = VersionBehaviour(latency_median_ms=240.0, error_rate=0.05, accuracy=0.7)
    scenario = CanaryScenario(canary=slow, rate_rps=200.0, latency_noise_sd=0.0, error_burst_probability=0.0)
    batch = CanaryBatch([scenario], seed=2)
    totals = [batch.step(np.array([50])) for _ in range(10)]
    errors = sum(s.errors[0] for s in totals) / sum(s.requests[0] for s in totals)
    accuracy = sum(s.correct[0] for s in totals) / sum(s.labelled[0] for s in totals)
    assert errors[0] == pytest.approx(0.004, abs=0.002) and errors[1] == pytest.approx(0.05, abs=0.01)
    assert accuracy[1] == pytest.approx(0.7, abs=0.02)
    latency = sum(s.latency[0] for s in totals)
    medians = [histogram_quantile(0.5, batch.bounds, latency[v]) for v in (0, 1)]
    assert medians[0] == pytest.approx(120, rel=0.1) and medians[1] == pytest.approx(240, rel=0.1)


def test_a_slow_tail_moves_the_p99_more_than_the_median() -> None:
    scenario = CanaryScenario(canary=VersionBehaviour(slow_fraction=0.05), rate_rps=300.0, latency_noise_sd=0.0)
    batch = CanaryBatch([scenario], seed=3)
    latency = sum(batch.step(np.array([50])).latency[0] for _ in range(5))
    p50 = [histogram_quantile(0.5, batch.bounds, latency[v]) for v in (0, 1)]
    p99 = [histogram_quantile(0.99, batch.bounds, latency[v]) for v in (0, 1)]
    assert p50[1] / p50[0] < 1.15 and p99[1] / p99[0] > 1.5


def test_labels_arrive_after_their_delay() -> None:
    batch = CanaryBatch([CanaryScenario(label_delay_intervals=2), CanaryScenario()], seed=4)
    samples = [batch.step(np.array([50, 50])) for _ in range(3)]
    assert [int(s.labelled[0].sum()) for s in samples[:2]] == [0, 0] and samples[2].labelled[0].sum() > 0
    assert samples[0].labelled[1].sum() > 0


def test_a_trace_segment_sets_the_rate() -> None:
    rates = np.array([[10.0, 200.0]])
    batch = CanaryBatch([CanaryScenario(rate_noise_sd=0.0)], seed=5, rates_rps=rates)
    first, second = batch.step(np.array([10])), batch.step(np.array([10]))
    assert first.requests.sum() == pytest.approx(600, rel=0.15) and second.requests.sum() == pytest.approx(12000, rel=0.05)
    with pytest.raises(InputError, match="past its end"):
        batch.step(np.array([10]))
    with pytest.raises(InputError, match="shape"):
        CanaryBatch([CanaryScenario()] * 2, rates_rps=rates)


def test_bad_weights_are_refused() -> None:
    with pytest.raises(InputError):
        CanaryBatch([CanaryScenario()]).step(np.array([120]))


def test_the_simulator_is_a_conformant_router() -> None:
    check_router(CanarySimulator(CanaryScenario()))


def test_the_simulator_answers_its_selectors_and_only_them() -> None:
    sim = CanarySimulator(CanaryScenario(), seed=6)
    sim.set_weights(50, 50)
    observed = sim.advance()
    series = sim.query_range('foresight_canary_errors{workload="canary"}', 0.0, 60.0, 60.0)
    assert [s.values.tolist() for s in series] == [[observed.canary.errors]]
    buckets = sim.query_range('foresight_canary_latency_ms_bucket{workload="stable"}', 0.0, 60.0, 60.0)
    assert buckets[-1].labels["le"] == "+Inf" and buckets[-1].values[-1] == observed.stable.requests
    assert sim.query_range('foresight_canary_errors{workload="nobody"}', 0.0, 60.0, 60.0) == []
    with pytest.raises(InputError, match="does not understand"):
        sim.query_range("rate(http_requests_total[1m])", 0.0, 60.0, 60.0)
