"""``foresight serve --simulate``: the real controllers against the embedded cluster simulator.

One :meth:`SimulatedPlatform.step` is one simulator step (``simulate.step_s`` of simulated time)
followed by every controller that is due and enabled, in the order a period reads best:

1. **anomaly** - each service's p95 latency, failed fraction and memory, read through the
   metrics port, scored by the surprise detector (:class:`~foresight.runtime.anomaly.AnomalyWatch`);
   an alert that opens is audited;
2. **autoscale** - the reactive HPA policy and/or the predictive policy (``simulate.policy``: ``split``
   puts every second service under the predictive one, as ``foresight demo`` does), each through a
   :class:`~foresight.control.loop.Reconciler` every ``controllers.period_s``; the predictive
   decisions' forecast peaks are kept for the dashboard's load chart;
3. **forecast** - the load forecasts (:class:`~foresight.serve.forecasts.ForecastWatch`), published
   on the exporter's ``ai_predicted_load`` / ``foresight_desired_replicas``;
4. **rollout** - canary releases of the model service (:mod:`foresight.serve.rollouts`);
5. **feedback** - the model feedback loop (:mod:`foresight.serve.model_loop`): the served model's
   inputs drift ``simulate.drift_after_s`` after the start; PSI per feature, retrain, gate, canary,
   promote, each step audited and the PSI published as ``foresight_feature_drift_statistic{stat="psi"}``;
6. **incidents** - the anomaly alerts and those posted to the webhook, correlated over the simulator's
   service graph every ``incidents.period_s`` (:class:`~foresight.runtime.incidents.IncidentController`):
   an injected fault and the alerts it causes upstream become one incident naming the root cause.

Everything a controller reads goes through :class:`~foresight.serve.sources.MonitoredSource`, so
breaking the source (``fail_with``) shows in the audit log, the API and the dashboard exactly as
a Prometheus outage would.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from string import Template
from typing import Any

import numpy as np

from foresight.adapters.audit_log import AuditLog
from foresight.adapters.drift_gauges import DriftGauges
from foresight.adapters.exporter import PredictionExporter
from foresight.capacity import utilisation_replicas
from foresight.config import ForesightSettings
from foresight.control.audit import AuditRecord
from foresight.control.loop import Reconciler
from foresight.control.metrics import ControlMetrics
from foresight.errors import ServiceUnavailable
from foresight.runtime.anomaly import SIGNALS, AnomalyWatch
from foresight.runtime.autoscale import (
    HPA_TARGET_PERCENT,
    assign_controllers,
    capacity_of,
    hpa_reconciler,
    limits_of,
    predictive_reconciler,
)
from foresight.runtime.incidents import (
    AnomalyWatchAlerts,
    IncidentController,
    build_incidents,
)
from foresight.runtime.heal import HealController
from foresight.serve.forecasts import ForecastWatch
from foresight.serve.model_loop import ModelLoopWatch, UnknownModel
from foresight.serve.platform import ControllerInfo, MeteredAudit
from foresight.serve.rollouts import ReleaseBook
from foresight.serve.sources import MonitoredSource, SourceHealth
from foresight.sim import Simulator, default_cluster
from foresight.sim.graph import SimulatedTopology, placement
from foresight.sim.healing import MIB, HealingCluster
from foresight.specs.healing import HealingPolicy

__all__ = ["VIEW_QUERIES", "SimulatedPlatform"]

#: The series the dashboard draws per workload, as simulator selectors.
VIEW_QUERIES = {
    "load_rps": 'foresight_offered_rps{service="$workload"}',
    "capacity_rps": 'foresight_capacity_rps{service="$workload"}',
    "replicas_desired": 'foresight_replicas_desired{service="$workload"}',
    "replicas_ready": 'foresight_replicas_ready{service="$workload"}',
    "latency_p95_s": 'foresight_latency_p95_seconds{service="$workload"}',
}
NAMESPACE = "simulated"


#: the heal twin's cart pods leak 0.8% and 0.3% of their limit a minute (at their limits in about 80 and 220 min)
HEAL_TWIN_LEAKS = (0.008, 0.003)


class SimulatedPlatform:
    """The simulated cluster and its controllers, stepped by :class:`~foresight.serve.stepper.Stepper`."""

    mode = "simulate"

    def __init__(self, settings: ForesightSettings, audit: AuditLog, metrics: ControlMetrics,
                 exporter: PredictionExporter, drift_gauges: DriftGauges | None = None) -> None:
        s, c = settings.simulate, settings.controllers
        self.settings = settings
        self.audit_log = audit
        self.audit = MeteredAudit(audit, metrics)
        self.metrics, self.exporter = metrics, exporter
        self.sim = Simulator(default_cluster(s.services, seed=s.seed, duration_s=s.duration_s),
                             step_s=s.step_s, duration_s=s.duration_s, seed=s.seed)
        self.source = MonitoredSource("cluster metrics", self.sim, self.sim.clock)
        specs = {x.name: x for x in self.sim.spec.services}
        self.specs = specs
        self.scaled_by = assign_controllers(list(self.sim.service_names), s.policy)
        under = {kind: [n for n, k in self.scaled_by.items() if k == kind] for kind in ("hpa", "predictive")}
        self.reconcilers: list[Reconciler] = []
        if under["hpa"]:
            self.reconcilers.append(hpa_reconciler({n: specs[n] for n in under["hpa"]}, self.source, self.sim, audit,
                                                   self.sim.clock, period_s=c.period_s, metrics=metrics))
        if under["predictive"]:
            self.reconcilers.append(predictive_reconciler(
                {n: capacity_of(specs[n]) for n in under["predictive"]}, self.source, self.sim,
                {n: limits_of(specs[n]) for n in under["predictive"]}, audit, self.sim.clock, period_s=c.period_s,
                metrics=metrics))
        self.reconciler = self.reconcilers[0]
        #: per predictive workload: (decision time, forecast peak req/s, look-ahead s) of its decisions
        self.predicted: dict[str, list[tuple[float, float, float]]] = {n: [] for n in under["predictive"]}
        self._next_reconcile = self.sim.now + c.period_s
        self.anomalies = AnomalyWatch(self.sim.service_names)
        self.anomaly_note = "not run yet"
        self._anomaly_run = uuid.uuid4().hex
        self._alerts_audited = 0
        self.forecasts = ForecastWatch(self.sim.service_names, VIEW_QUERIES["load_rps"], step_s=c.forecast_step_s,
                                       horizon_s=c.forecast_horizon_s, lead_s=c.forecast_lead_s)
        model = next((x.name for x in self.sim.spec.services if x.gpus > 0), self.sim.service_names[-1])
        self.model_loop = ModelLoopWatch(
            model="fraud-scorer", start_s=self.sim.now, duration_s=s.duration_s, drift_after_s=s.drift_after_s,
            seed=s.seed, audit=self.audit, gauges=drift_gauges, require_approval=c.require_approval,
            registry_url=s.registry_url,
        ) if c.feedback else None
        self.releases = ReleaseBook(model, s.release_every_s, first_at=min(3600.0, s.release_every_s),
                                    seed=s.seed, audit=self.audit, require_approval=c.require_approval)
        # a refused webhook call is told to come back after one period of simulated time, in wall seconds
        topology = SimulatedTopology(self.sim)
        self.incidents: IncidentController | None = build_incidents(
            settings.incidents, topology, self.audit,
            retry_after_s=max(1.0, math.ceil(settings.incidents.period_s / s.speed)),
            run_id=uuid.uuid4().hex) if c.incidents else None
        self._own_alerts = AnomalyWatchAlerts(self.anomalies, pods=lambda: placement(self.sim))
        # the simulated services have no memory limits to exhaust: healing runs on a twin cluster of its own
        self.heal_twin = HealingCluster(seed=s.seed, start_s=self.sim.now)
        self.heal_twin.add_workload("shop", "cart", replicas=3, node="node-a", limit=1024 * MIB, base=0.35,
                                    leak_per_min=HEAL_TWIN_LEAKS)
        self.heal = HealController(self.heal_twin, self.audit, self.heal_twin, run_id=uuid.uuid4().hex)
        self.heal.set_policies([HealingPolicy.model_validate(
            {"metadata": {"name": "heal", "namespace": "shop"}, "spec": {"dryRun": False}})])
        self.controllers = {
            "autoscale": ControllerInfo("autoscale", c.autoscale, _scaling_detail(under) if c.autoscale
                                        else "disabled in config"),
            "forecast": ControllerInfo("forecast", c.forecast, "Holt-Winters load forecasts, published as "
                                       "ai_predicted_load" if c.forecast else "disabled in config"),
            "anomaly": ControllerInfo("anomaly", c.anomaly, "surprise detector on p95 latency, errors, memory"
                                      if c.anomaly else "disabled in config"),
            "rollout": ControllerInfo("rollout", c.rollout, f"canary releases of {model} every "
                                      f"{s.release_every_s / 3600:g} h" if c.rollout else "disabled in config"),
            "feedback": ControllerInfo("feedback", c.feedback, "model feedback loop of fraud-scorer: PSI drift -> "
                                       f"retrain -> gate -> canary -> promote; inputs drift at "
                                       f"{s.drift_after_s / 3600:g} h" if c.feedback else "disabled in config"),
            "incidents": ControllerInfo("incidents", c.incidents, "anomaly alerts and webhook alerts "
                                        "(POST /api/v1/alerts/webhook) correlated over the simulator's call graph "
                                        f"every {settings.incidents.period_s:g} s: one incident per fault, its "
                                        "root cause named" if c.incidents else "disabled in config"),
            "heal": ControllerInfo("heal", True, "memory exhaustion predicted every minute on a twin cluster whose "
                                   "shop/cart pods leak, each pod replaced before its OOMKill under an acting "
                                   "HealingPolicy (live serve: your HealingPolicies)"),
        }

    # -- time ---------------------------------------------------------------------------------------

    def now(self) -> float:
        return self.sim.now

    @property
    def finished(self) -> bool:
        return self.sim.done

    def step(self, paused: Collection[str]) -> bool:
        """One simulator step and the controllers due; False once the simulated time is used up."""
        if self.sim.done:
            return False
        self.sim.step()
        now = self.sim.now
        run = {n for n, info in self.controllers.items() if info.enabled and n not in paused}
        if "anomaly" in run:
            with self._timed("anomaly/surprise"):
                self._score(now)
        if now >= self._next_reconcile - 1e-9:
            self._next_reconcile += self.reconciler.period_s
            if "autoscale" in run:
                for reconciler in self.reconcilers:  # each times and counts itself
                    self._keep_forecasts(reconciler.reconcile_once())
        if "forecast" in run and self.forecasts.due(now):
            with self._timed(self.forecasts.name):
                self.forecasts.observe(self.source, now, self._publish)
        if "rollout" in run:
            self.releases.advance_to(now)
        if "feedback" in run and self.model_loop is not None:
            with self._timed("feedback"):
                self.model_loop.advance_to(now)
        if "incidents" in run and self.incidents is not None and self.incidents.due(now):
            with self._timed(self.incidents.name):
                self.incidents.add(self._own_alerts.poll(now))  # level-based: what opened or closed since
                self.incidents.step(now)
        self.heal_twin.advance_to(now)  # its pods leak, paused or not
        if "heal" in run and self.heal.due(self.heal_twin.now):
            with self._timed(self.heal.name):
                self.heal.step(self.heal_twin.now)
        return True

    def _keep_forecasts(self, records: list[AuditRecord]) -> None:
        """The predictive decisions' forecast peaks, for the load chart (bounded per workload)."""
        for record in records:
            policy = record.inputs.get("policy", {}) if isinstance(record.inputs, dict) else {}
            peak = policy.get("peak_rps")
            if record.target in self.predicted and peak is not None:
                kept = self.predicted[record.target]
                kept.append((record.time, float(peak), float(policy.get("lookahead_s", 0.0))))
                del kept[:-5000]

    @contextmanager
    def _timed(self, controller: str) -> Iterator[None]:
        """Count one period of ``controller`` in the duration histogram (its decisions count via the audit)."""
        started = time.perf_counter()
        yield
        self.metrics.observe_reconcile(controller, time.perf_counter() - started, ())

    def run_until(self, t: float, paused: Collection[str] = ()) -> None:
        """Step (controllers included) until the simulated time reaches ``t`` or ends."""
        while self.sim.now < t and self.step(paused):
            pass

    # -- controllers --------------------------------------------------------------------------------

    def _score(self, now: float) -> None:
        names = self.sim.service_names
        latest: dict[str, np.ndarray] = {}
        try:
            for signal in SIGNALS:
                found = {s.labels.get("service"): s for s in self.source.query_range(signal, now, now, self.sim.step_s)}
                latest[signal] = np.array([found[n].values[-1] if n in found and len(found[n]) else np.nan
                                           for n in names])
        except ServiceUnavailable as exc:
            self.anomaly_note = f"signals not read: {exc}"
            return
        self.anomalies.observe(now, latest)
        self.anomaly_note = "scoring"
        for alert in self.anomalies.alerts[self._alerts_audited:]:
            self.audit.record(AuditRecord(
                alert.time_s, self._anomaly_run, "anomaly/surprise", alert.service,
                {"signal": alert.signal, "score": alert.score}, {}, f"alert: {alert.signal} anomaly score "
                f"{alert.score:.3f} >= {self.anomalies.threshold}", False, False))
        self._alerts_audited = len(self.anomalies.alerts)

    def _publish(self, workload: str, load: float, made_at: float) -> None:
        spec = self.specs[workload]
        replicas = max(spec.min_replicas, int(utilisation_replicas(load, spec.capacity_rps, HPA_TARGET_PERCENT)))
        self.exporter.publish(NAMESPACE, workload, load, min(replicas, spec.max_replicas))

    # -- what the API reads -------------------------------------------------------------------------

    def workloads(self) -> tuple[str, ...]:
        return self.sim.service_names

    def view_queries(self) -> dict[str, str]:
        return dict(VIEW_QUERIES)

    def query(self, name: str, workload: str, start: float, end: float, step_s: float) -> tuple[list[float], list[float]]:
        """One view series of ``workload`` (``VIEW_QUERIES`` name) over ``[start, end]``."""
        found = self.source.query_range(Template(VIEW_QUERIES[name]).substitute(workload=workload), start, end, step_s)
        if not found:
            return [], []
        return [float(t) for t in found[0].timestamps], [_num(v) for v in found[0].values]

    def anomaly_scores(self, workload: str, start: float) -> tuple[list[float], list[float]]:
        scores = self.anomalies.scores
        if not len(scores):
            return [], []
        i = self.sim.service_names.index(workload)
        times = self.sim.timestamps[-len(scores):]
        keep = times >= start
        return [float(t) for t in times[keep]], [_num(v) for v in scores[keep, i]]

    def anomaly_view(self) -> dict[str, Any]:
        scores = self.anomalies.scores
        last = scores[-1] if len(scores) else np.full(len(self.sim.service_names), np.nan)
        opened = self.anomalies.open_alerts
        return {
            "detector": "surprise", "threshold": self.anomalies.threshold, "note": self.anomaly_note,
            "scores": [{"workload": n, "score": _num(last[i]), "alerting": bool(opened[i])}
                       for i, n in enumerate(self.sim.service_names)],
            "alerts": [{"time": a.time_s, "workload": a.service, "signal": a.signal, "score": a.score}
                       for a in self.anomalies.alerts[-200:]],
        }

    def rollout_views(self) -> list[dict[str, Any]]:
        return self.releases.views()

    def forecast_watch(self) -> ForecastWatch | None:
        return self.forecasts

    def approve(self, release_id: str, who: str) -> AuditRecord:
        return self.releases.approve(release_id, self.sim.now, who)

    def scaling_controllers(self) -> dict[str, str]:
        """Which controller scales each workload (``hpa`` or ``predictive``)."""
        return dict(self.scaled_by)

    def predicted_peaks(self, workload: str, start: float) -> tuple[list[float], list[float]] | None:
        """The predictive controller's forecast peak per decision since ``start``; None: not predictive."""
        kept = self.predicted.get(workload)
        if kept is None:
            return None
        rows = [(t, p) for t, p, _ in kept if t >= start]
        return [t for t, _ in rows], [_num(p) for _, p in rows]

    def drift_views(self) -> list[dict[str, Any]]:
        return [] if self.model_loop is None else [self.model_loop.view()]

    def approve_model(self, model: str, who: str) -> AuditRecord:
        if self.model_loop is None or model != self.model_loop.model:
            raise UnknownModel(f"no feedback loop for model {model!r}; this process runs "
                               f"{[self.model_loop.model] if self.model_loop else []}")
        return self.model_loop.approve(who, self.sim.now)

    def sources(self) -> list[SourceHealth]:
        return [self.source.health()]

    def close(self) -> None:
        """Correlate the webhook alerts accepted so far, then the model loop's temporary registry; the
        audit log is closed by the runtime."""
        if self.incidents is not None:
            self.incidents.add(self._own_alerts.poll(self.sim.now))
            self.incidents.close(self.sim.now)
        if self.model_loop is not None:
            self.model_loop.close()


def _scaling_detail(under: dict[str, list[str]]) -> str:
    parts = []
    if under["hpa"]:
        parts.append(f"reactive HPA (70% CPU) on {len(under['hpa'])}")
    if under["predictive"]:
        parts.append(f"predictive policy (q0.95 forecast, SLO-sized) on {len(under['predictive'])}")
    return "; ".join(parts) + " services of the simulator"


def _num(value: Any) -> float | None:
    """A JSON-safe float (None for NaN and infinities)."""
    v = float(value)
    return v if math.isfinite(v) else None
