"""The canary controller (foresight.control.canary) end to end on the simulator's ports, and reading metrics
through CanaryQueries."""

from __future__ import annotations

from string import Template

import numpy as np
import pytest

from foresight.control.audit import AuditRecord
from foresight.control.canary import CanaryController
from foresight.errors import ServiceUnavailable
from foresight.rollout.decision import CanaryAction
from foresight.rollout.flagger import FlaggerPolicy, FlaggerSpec
from foresight.rollout.policy import ForesightPolicy, ForesightSpec
from foresight.rollout.router import Weights
from foresight.rollout.source import CanaryQueries, read_observation
from foresight.series import Series
from foresight.sim.canary import CanaryScenario, CanarySimulator, VersionBehaviour


class ListAudit:
    def __init__(self) -> None:
        self.records: list[AuditRecord] = []

    def record(self, entry: AuditRecord) -> None:
        self.records.append(entry)


def release(policy, canary: VersionBehaviour, *, dry_run: bool = False, intervals: int = 40):
    sim = CanarySimulator(CanaryScenario(canary=canary, rate_rps=50.0), seed=4)
    audit = ListAudit()
    controller = CanaryController(policy, sim, sim, CanaryQueries.simulator(), sim.clock, interval_s=60.0,
                                  audit=audit, dry_run=dry_run)
    decisions = []
    for _ in range(intervals):
        sim.advance()
        decisions.append(controller.reconcile())
        if decisions[-1].action.final:
            break
    return sim, decisions, audit.records


@pytest.mark.parametrize("policy", [ForesightPolicy(ForesightSpec()), FlaggerPolicy(FlaggerSpec())])
def test_a_clearly_bad_release_is_rolled_back_and_the_route_follows(policy) -> None:
    sim, decisions, records = release(policy, VersionBehaviour(error_rate=0.08))
    assert decisions[-1].action is CanaryAction.ROLLBACK
    assert sim.get_weights() == Weights(100, 0)
    assert [r.decision["recommended"] for r in records] == [d.weight for d in decisions]
    assert records[-1].controller == f"rollout/{policy.name}" and records[-1].reason.startswith("rollback")


@pytest.mark.parametrize("policy", [ForesightPolicy(ForesightSpec()), FlaggerPolicy(FlaggerSpec())])
def test_a_good_release_is_promoted_to_all_traffic(policy) -> None:
    sim, decisions, _ = release(policy, VersionBehaviour())
    assert decisions[-1].action is CanaryAction.PROMOTE
    assert sim.get_weights() == Weights(0, 100)


def test_a_dry_run_decides_but_never_routes() -> None:
    _, _, records = release(ForesightPolicy(ForesightSpec()), VersionBehaviour(), intervals=5)
    sim_dry, _, records_dry = release(ForesightPolicy(ForesightSpec()), VersionBehaviour(), dry_run=True, intervals=5)
    assert sim_dry.get_weights() == Weights(100, 0)
    assert not any(r.applied for r in records_dry) and any(r.applied for r in records)


def test_reading_through_the_queries_gives_what_the_simulator_served() -> None:
    sim = CanarySimulator(CanaryScenario(rate_rps=20.0), seed=1)
    sim.set_weights(70, 30)
    for _ in range(3):
        served = sim.advance()
        read = read_observation(sim, CanaryQueries.simulator(), 30, served.start, served.end)
        assert np.allclose(read.bucket_bounds_ms, served.bucket_bounds_ms)
        for a, b in ((read.stable, served.stable), (read.canary, served.canary)):
            assert (a.requests, a.errors, a.labelled, a.correct) == (b.requests, b.errors, b.labelled, b.correct)
            assert a.latency_counts.tolist() == b.latency_counts.tolist()


class Silent:
    """A metrics source that returns nothing."""

    def query_range(self, query: str, start: float, end: float, step_s: float) -> list[Series]:
        return []


class Down:
    def query_range(self, query: str, start: float, end: float, step_s: float) -> list[Series]:
        raise ServiceUnavailable("connection refused", retry_after_s=30.0)


@pytest.mark.parametrize("source, reason", [(Silent(), "returned no data for stable and canary"),
                                            (Down(), "metrics source unavailable")])
def test_a_source_with_nothing_to_say_holds_the_canary_and_says_so(source, reason) -> None:
    sim = CanarySimulator(CanaryScenario(), seed=0)
    sim.set_weights(80, 20)
    controller = CanaryController(ForesightPolicy(ForesightSpec()), source, sim, CanaryQueries.simulator(),
                                  sim.clock, interval_s=60.0)
    for _ in range(30):
        sim.advance()
        d = controller.reconcile()
        assert d.action is CanaryAction.HOLD and reason in d.reason
    assert sim.get_weights() == Weights(80, 20)


def test_the_default_queries_are_istio_promql() -> None:
    q = CanaryQueries(namespace="shop", stable_workload="reviews-primary", canary_workload="reviews")
    text = Template(q.errors).substitute(workload="reviews", namespace="shop", window="60s")
    assert text == ('sum(increase(istio_requests_total{reporter="destination",destination_workload_namespace="shop",'
                    'destination_workload="reviews",response_code=~"5.."}[60s]))')
    assert Template(q.latency_buckets).substitute(workload="w", namespace="n", window="1m").startswith(
        "sum by (le) (increase(istio_request_duration_milliseconds_bucket{")
