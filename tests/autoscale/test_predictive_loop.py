"""The predictive policy in the reconcile loop against a Prometheus that goes down: the last forecast
holds for a bounded time, then the reactive floor decides, and every step is in the audit log."""

from __future__ import annotations

import numpy as np

from foresight.autoscale.predictive import PredictivePolicy, PredictiveSpec, ServiceCapacity
from foresight.clock import ManualClock
from foresight.control.audit import AuditRecord
from foresight.control.loop import Reconciler
from foresight.control.safety import SafetyLimits
from foresight.errors import ServiceUnavailable
from foresight.forecast.history import IncrementalHistory
from foresight.ports import Scale
from foresight.series import Series

HOUR = 3600.0


class Flaky:
    """An hourly load wave and a steady CPU, one sample per step, until ``down`` is set."""

    def __init__(self) -> None:
        self.down = False
        self.points: list[int] = []

    def query_range(self, query: str, start: float, end: float, step_s: float) -> list[Series]:
        if self.down:
            raise ServiceUnavailable("prometheus at 127.0.0.1:9090: connection refused")
        t = np.arange(np.ceil(start / step_s) * step_s, end + 1e-9, step_s)
        self.points.append(t.size)
        values = 100.0 + 80.0 * np.sin(2 * np.pi * t / HOUR) if query.startswith("load") else np.full(t.size, 0.5)
        return [Series({"service": "api"}, t, values)]


class Target:
    def __init__(self) -> None:
        self.replicas = 10

    def get_scale(self, workload: str) -> Scale:
        return Scale(self.replicas, self.replicas, self.replicas)

    def set_replicas(self, workload: str, replicas: int) -> None:
        self.replicas = replicas


class Records:
    def __init__(self) -> None:
        self.records: list[AuditRecord] = []

    def record(self, entry: AuditRecord) -> None:
        self.records.append(entry)


def test_prometheus_down_holds_the_forecast_then_falls_back_to_the_floor_audited() -> None:
    spec = PredictiveSpec(services={"api": ServiceCapacity(capacity_rps=10.0, startup_delay_s=120.0)},
                          seasons_s=(HOUR,), min_history_s=HOUR, lookback_s=6 * HOUR, load_hold_s=600.0,
                          load_query="load{service=\"$workload\"}", cpu_query="cpu{service=\"$workload\"}",
                          quantile=0.9)
    source, target, audit = Flaky(), Target(), Records()
    clock = ManualClock(5 * HOUR)
    loop = Reconciler(PredictivePolicy(spec), IncrementalHistory(source), target, {"api": SafetyLimits(max_replicas=50)},
                      audit, clock, period_s=15.0, query_step_s=60.0)
    loop.run(5 * HOUR + 600)
    assert all(r.reason.startswith("forecast q0.90") for r in audit.records)
    assert max(source.points[2:]) <= 4  # after the first read of each query, only the newest points
    source.down = True
    loop.run(5 * HOUR + 1800)
    during = audit.records[40:]
    assert all(r.error is None for r in during)  # served from what was read: the loop carries on
    held = [r for r in during if r.reason.startswith("forecast q0.90")]
    floor = [r for r in during if "forecast set aside" in r.reason]
    assert held and floor and held[-1].time < floor[0].time
    assert floor[0].time - 5 * HOUR - 600 <= 600 + 60 + 15  # the hold, the newest sample's age, one period
    assert all("no cpu sample" in r.reason or "reactive floor" in r.reason for r in floor)
    assert "keep" in floor[-1].reason  # the cpu sample is as old: nothing fresh to go on, replicas stay
