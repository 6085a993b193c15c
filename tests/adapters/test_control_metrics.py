"""Foresight's own metrics: the Reconciler counts its periods, decisions by kind and failures."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from prometheus_client import generate_latest

from foresight.clock import ManualClock
from foresight.control.audit import AuditRecord
from foresight.control.loop import Reconciler
from foresight.adapters.control_metrics import PrometheusControlMetrics
from foresight.control.metrics import decision_kind
from foresight.autoscale.policy import Observation, Recommendation
from foresight.control.safety import SafetyLimits
from foresight.ports import Scale
from foresight.series import Series


class Target:
    def __init__(self) -> None:
        self.replicas = {"api": 2, "web": 2}

    def get_scale(self, workload: str) -> Scale:
        n = self.replicas[workload]
        return Scale(n, n, n)

    def set_replicas(self, workload: str, replicas: int) -> None:
        self.replicas[workload] = replicas


class Source:
    def __init__(self) -> None:
        self.down = False

    def query_range(self, query: str, start: float, end: float, step_s: float) -> list[Series]:
        if self.down:
            raise TimeoutError("prometheus timed out")
        return [Series({}, [end], [4.0 if "api" in query else 2.0])]


class Policy:
    name = "fake"
    lookback_s = 60.0

    def queries(self, workload: str) -> Mapping[str, str]:
        return {"want": f'want{{w="{workload}"}}'}

    def decide(self, state: object, obs: Observation) -> tuple[Recommendation, None]:
        return Recommendation(int(obs.series["want"][0].values[-1]), "wanted"), None


def _sample(metrics: PrometheusControlMetrics, name: str, labels: dict[str, str]) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def test_reconciler_counts_periods_decisions_and_failures() -> None:
    metrics, source, clock = PrometheusControlMetrics(), Source(), ManualClock(0.0)
    records: list[AuditRecord] = []

    class Sink:
        def record(self, entry: AuditRecord) -> None:
            records.append(entry)

    limits = {w: SafetyLimits(min_replicas=1, max_replicas=10) for w in ("api", "web")}
    loop = Reconciler(Policy(), source, Target(), limits, Sink(), clock, period_s=15.0, metrics=metrics)
    loop.reconcile_once()  # api 2 -> 4, web holds
    source.down = True
    clock.advance(15.0)
    loop.reconcile_once()  # both fail reading metrics

    assert _sample(metrics, "foresight_decisions_total", {"controller": "fake", "kind": "scale_up"}) == 1
    assert _sample(metrics, "foresight_decisions_total", {"controller": "fake", "kind": "hold"}) == 1
    assert _sample(metrics, "foresight_decisions_total", {"controller": "fake", "kind": "failed"}) == 2
    assert _sample(metrics, "foresight_reconcile_errors_total", {"controller": "fake"}) == 2
    assert _sample(metrics, "foresight_reconcile_duration_seconds_count", {"controller": "fake"}) == 2
    assert len(records) == 4  # the hook changes nothing the loop writes
    text = generate_latest(metrics.registry).decode()
    assert 'foresight_reconcile_duration_seconds_bucket{controller="fake",le="0.001"}' in text


def test_reconciler_without_metrics_behaves_as_before() -> None:
    class Sink:
        def record(self, entry: AuditRecord) -> None:
            pass

    loop = Reconciler(Policy(), Source(), Target(), {"api": SafetyLimits(max_replicas=10)}, Sink(), ManualClock())
    assert [r.decision["applied"] for r in loop.reconcile_once()] == [4]


@pytest.mark.parametrize(
    ("controller", "decision", "reason", "error", "dry_run", "kind"),
    [
        ("hpa", {"previous": 3, "applied": 2}, "cpu low", None, False, "scale_down"),
        ("hpa", {"previous": 3, "applied": 3}, "keep", None, False, "hold"),
        ("hpa", {"previous": 3, "applied": 5}, "cpu high", None, True, "dry_run"),
        ("hpa", {"previous": None, "applied": None}, "failed reading scale", "ConnectionError: x", False, "failed"),
        ("rollout/foresight", {}, "rollback: errors e-value 41 >= 40", None, False, "rollback"),
        ("rollout/gate", {}, "hold: promotion held for approval", None, False, "hold"),
        ("anomaly/surprise", {}, "alert: p95 latency", None, False, "alert"),
    ],
)
def test_decision_kind(controller: str, decision: dict, reason: str, error: str | None, dry_run: bool,
                       kind: str) -> None:
    record = AuditRecord(0.0, "r", controller, "api", {}, decision, reason, not dry_run, dry_run, error)
    assert decision_kind(record) == kind
