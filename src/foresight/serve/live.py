"""``foresight serve`` without ``--simulate``: the controllers this build runs against a cluster.

What is managed comes from the settings (``live.workloads``) and, with ``cluster.policies``, from
the ScalingPolicy and AnomalyPolicy resources listed every ``cluster.policy_period_s``
(:mod:`foresight.runtime.managed`; a malformed policy is reported in ``/api/v1/status``, the others
run). What runs, honestly:

- **forecast** (needs ``live.prometheus_url``): each workload's load is read from Prometheus
  through :class:`~foresight.forecast.history.IncrementalHistory` (the lookback once, in chunks
  within Prometheus' 11,000 points per query, then only the new points, refits included),
  forecast, and handed to the KEDA external scaler (``live.keda_port``; it answers KEDA's reads on
  every replica); ``ai_predicted_load`` and ``foresight_desired_replicas`` go on ``/metrics`` for
  an HPA External metric where a capacity is known (policy ``capacityRps``, else
  ``live.capacity_rps``) - on the leader only, so two replicas never export twice; where the
  autoscale loop publishes a workload's replicas (mode ``hpa``), the forecast writes its load only.
- **autoscale** (needs Kubernetes access): ScalingPolicies in mode ``direct`` are scaled by the
  predictive policy the benchmark measures (:func:`foresight.runtime.live.direct_reconciler`: its
  forecast quantile, SLO or target sizing, reactive floor and stabilisation) through the one
  reconcile loop, every ``controllers.period_s``, within the policy's min/max, ``maxStep`` and
  cool-down, through the workload's ``/scale``, each decision audited as ``predictive`` with its
  inputs. ScalingPolicies in mode ``hpa`` run the same policy
  (:func:`foresight.runtime.live.published_reconciler`), reading the HPA's ``/scale`` and publishing
  its replicas as ``foresight_desired_replicas`` every period (within min/max; the HPA the operator
  renders follows it: the benchmark's headline path), audited as ``predictive`` (applied: published).
  keda policies are scaled by KEDA on the published forecast; without Kubernetes access, hpa policies
  get ``ceil(forecast / (capacity x target))`` from the forecast instead.
- **anomaly** (needs ``live.alertmanager_url`` and AnomalyPolicies): each policy's signals are
  scored by :class:`~foresight.serve.anomaly.PolicyDetectors`; alerts go to Alertmanager from
  the leader only.
- **incidents**: the AnomalyPolicy alerts and every alert an Alertmanager routes to
  ``POST /api/v1/alerts/webhook`` are correlated every ``incidents.period_s`` over the service graph
  read from Prometheus (Istio / OpenTelemetry service-graph edges, kube-state-metrics placement,
  re-read every ``incidents.topology_period_s``; without ``live.prometheus_url``, by time alone); each
  incident goes to ``live.alertmanager_url`` as one alert, from the leader only.
- **heal** (needs ``cluster.policies``, ``live.prometheus_url`` and the audit log): every
  ``controllers.period_s`` the HealingPolicies' namespaces are healed by
  :class:`~foresight.runtime.heal.HealController`: containers' memory against their limits and their
  restarts read from Prometheus, failures predicted, the planner's actions (restart after a Ready
  replacement through the Eviction API, resize or scale out, drain) taken through
  :class:`~foresight.adapters.kube_heal.KubeRemediator` where the policy is not dry-run (the default
  is dry-run), each audited with its prediction and the incident of its workload; too many
  predictions at once pause it and alert (``ForesightHealingPaused`` to Alertmanager).
- **rollout** (needs Kubernetes access and ``live.prometheus_url``): every
  ModelDeployment with ``spec.canary`` runs Foresight's canary policy on Istio's metrics and moves the
  weights of the VirtualService ``foresight render`` wrote for it (:mod:`foresight.serve.canaries`).

Every action asks the :class:`~foresight.serve.leader.ActingGate` first: with leader election, a standby
reads, forecasts and scores (its views stay live, its baselines warm) but does not act.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
import uuid
from collections.abc import Collection
from typing import Any, Protocol

from foresight.adapters.exporter import PredictionExporter
from foresight.adapters.prometheus import PrometheusSource
from foresight.adapters.topology import PrometheusTopology
from foresight.autoscale.predictions import InMemoryPredictions, Prediction
from foresight.clock import Clock, SystemClock
from foresight.config import ForesightSettings
from foresight.control.audit import AuditRecord, AuditSink
from foresight.control.loop import Reconciler
from foresight.control.metrics import ControlMetrics
from foresight.detect.live import AlertSink
from foresight.errors import ConfigError, ForesightError, InputError, NotFound
from foresight.forecast.history import IncrementalHistory
from foresight.heal.plan import Remediator
from foresight.ports import MetricsSource
from foresight.runtime.heal import HealController
from foresight.runtime.incidents import (
    CHECKPOINT,
    FixedGraph,
    GraphSource,
    IncidentController,
    OwnAlertTap,
    build_incidents,
    resumable_state,
)
from foresight.runtime.live import ScaleTargets, direct_reconciler, published_reconciler
from foresight.runtime.managed import Managed, ScaledWorkload, desired_replicas, managed
from foresight.serve.anomaly import PolicyDetectors
from foresight.serve.canaries import LiveCanaries, RouterFactory
from foresight.serve.forecasts import ForecastWatch
from foresight.serve.leader import ALWAYS, ActingGate
from foresight.serve.platform import ControllerInfo, MeteredAudit
from foresight.serve.sources import MonitoredSource, SourceHealth
from foresight.specs.healing import HealingPolicy

__all__ = ["LivePlatform", "PolicyLister"]

_log = logging.getLogger(__name__)
POLICY_API = "foresight.ai/v1alpha1"


class PolicyLister(Protocol):
    """Lists custom resources (:class:`foresight.adapters.kubernetes.KubernetesObjects`)."""

    def list_objects(self, api_version: str, kind: str, namespace: str | None = None) -> list[dict[str, Any]]: ...


class LivePlatform:
    """Forecasts, direct scaling and anomaly alerts on a real platform (module docstring)."""

    mode = "live"

    def __init__(self, settings: ForesightSettings, exporter: PredictionExporter, *,
                 source: MetricsSource | None = None, clock: Clock | None = None,
                 metrics: ControlMetrics | None = None, gate: ActingGate = ALWAYS,
                 policies: PolicyLister | None = None, scale_targets: ScaleTargets | None = None,
                 alert_sink: AlertSink | None = None, audit: AuditSink | None = None,
                 routers: RouterFactory | None = None, remediator: Remediator | None = None) -> None:
        live = settings.live
        self.metrics, self.settings, self.exporter, self.gate = metrics, settings, exporter, gate
        self.clock = clock or SystemClock()
        self.predictions = InMemoryPredictions()
        self._keda: tuple[asyncio.AbstractEventLoop, threading.Thread, Any] | None = None
        inner = source
        if inner is None and live.prometheus_url:
            inner = PrometheusSource(live.prometheus_url)
        self.source = MonitoredSource("prometheus", inner, self.clock) if inner is not None else None
        # the forecasts' reads: a failure still reaches the watch (it keeps its forecast and re-reads
        # the missed steps later) and the monitored source (health); keep_s follows the watch's lookback
        self.history = IncrementalHistory(self.source, serve_stale=False) if self.source is not None else None
        self.policies = policies if settings.cluster.policies else None
        self.scale_targets = scale_targets
        self.audit = (MeteredAudit(audit, metrics) if audit is not None and metrics is not None else audit)
        self._audit_log = audit  # the reconcile loop counts its own records in the metrics
        self.autoscaler: Reconciler | None = None  # mode direct: writes /scale
        self.publisher: Reconciler | None = None  # mode hpa: publishes the replicas the HPA follows
        self._next_autoscale = -math.inf
        self.alert_sink = alert_sink
        self._run_id = uuid.uuid4().hex
        self.topology: PrometheusTopology | None = None
        self.incidents: IncidentController | None = None
        if settings.controllers.incidents and self.audit is not None:
            inc = settings.incidents
            graphs: GraphSource = FixedGraph()
            if live.prometheus_url:  # the graph is read from Prometheus (a test's injected source has none)
                self.topology = PrometheusTopology(PrometheusSource(live.prometheus_url), period_s=inc.topology_period_s,
                                                   window=inc.topology_window)
                graphs = self.topology
            query = getattr(audit, "query", None)  # the audit log: resume from the last graceful stop's state
            checkpoints = query(controller="incidents", target=CHECKPOINT, limit=1) if callable(query) else []
            self.incidents = build_incidents(inc, graphs, self.audit, sink=alert_sink, wall=self.clock.now,
                                             run_id=self._run_id,
                                             state=resumable_state(checkpoints, inc, self.clock.now()))
            if alert_sink is not None:  # the anomaly alerts feed the incidents too
                alert_sink = OwnAlertTap(alert_sink, self.incidents, self.clock.now)
        self.heal = (HealController(self.source, self.audit, remediator, period_s=settings.controllers.period_s,
                                    incident_of=self._incident_of, alert=self._heal_alert, run_id=self._run_id,
                                    background=True)
                     if self.source is not None and self.audit is not None and self.policies is not None else None)
        self.heal_problems: list[str] = []
        self.forecasts: ForecastWatch | None = None
        self.managed = managed(live)
        self.workload_specs: dict[str, ScaledWorkload] = {}
        self.anomalies = (PolicyDetectors(self.source, alert_sink, self.clock, gate,
                                          period_s=settings.controllers.period_s, prometheus_url=live.prometheus_url)
                          if self.source is not None and alert_sink is not None and settings.controllers.anomaly
                          else None)
        self._next_policy_read = -math.inf
        self._policy_health: dict[str, Any] = {"ok": True, "error": None, "last_ok_at": None, "failing_since": None}
        self._exported: set[tuple[str, str]] = set()
        self._was_acting = False
        self.canaries = (LiveCanaries(policies, self.source, routers, self.clock, gate,
                                      namespace=settings.cluster.policy_namespace,
                                      period_s=settings.cluster.policy_period_s, audit=self.audit,
                                      require_approval=settings.controllers.require_approval)
                         if routers is not None and policies is not None and self.source is not None
                         and settings.controllers.rollout else None)
        self._apply(self.managed)

    # -- the managed set ----------------------------------------------------------------------------

    def _apply(self, new: Managed) -> None:
        """Make the controllers follow ``new`` (rebuilding the forecast only when its workloads changed)."""
        c, live = self.settings.controllers, self.settings.live
        old = self.workload_specs
        old_queries = {w.key: w.query for w in old.values()}
        self.managed = new
        self.workload_specs = {w.key: w for w in new.workloads}
        queries = {w.key: w.query for w in new.workloads}
        for key in set(old_queries) - set(queries):
            self._unexport((old[key].namespace, old[key].workload))
        if self.source is not None and c.forecast and (queries != old_queries or self.forecasts is None):
            if queries:
                previous = self.forecasts
                self.forecasts = ForecastWatch(list(queries), live.load_query, step_s=c.forecast_step_s,
                                               horizon_s=c.forecast_horizon_s, lead_s=c.forecast_lead_s,
                                               queries=queries)
                if previous is not None:  # keep the drawn lead line of the workloads that stay
                    for key, line in previous.at_lead.items():
                        if key in self.forecasts.at_lead and old_queries.get(key) == queries.get(key):
                            self.forecasts.at_lead[key].extend(line)
            else:
                self.forecasts = None
            if self.forecasts is not None and self.history is not None:
                self.history.keep_s = self.forecasts.lookback_s
        direct = [w for w in new.workloads if w.mode == "direct"]
        if self.source is not None and self.scale_targets is not None and self._audit_log is not None \
                and direct != [w for w in old.values() if w.mode == "direct"]:  # else keep the loop and its history
            previous_loop = self.autoscaler
            self.autoscaler = direct_reconciler(
                direct, self.source, self.scale_targets, self._audit_log, self.clock, period_s=c.period_s,
                metrics=self.metrics, states=previous_loop.states if previous_loop is not None else None)
        hpa = [w for w in new.workloads if w.mode == "hpa"]
        if self.source is not None and self.scale_targets is not None and self._audit_log is not None \
                and hpa != [w for w in old.values() if w.mode == "hpa"]:  # else keep the loop and its history
            previous_loop = self.publisher
            self.publisher = published_reconciler(
                hpa, self.source, self.scale_targets, self._publish_replicas, self._audit_log, self.clock,
                period_s=c.period_s, metrics=self.metrics,
                states=previous_loop.states if previous_loop is not None else None)
        if self.anomalies is not None:
            self.anomalies.sync(new.anomaly)
        self.controllers = self._describe()

    def _describe(self) -> dict[str, ControllerInfo]:
        c, live = self.settings.controllers, self.settings.live
        n = len(self.workload_specs)
        direct = [w for w in self.workload_specs.values() if w.mode == "direct"]
        hpa = [w for w in self.workload_specs.values() if w.mode == "hpa"]
        if self.source is None or (not n and self.policies is None):
            forecast = ControllerInfo("forecast", False, "set live.prometheus_url and live.workloads (or "
                                      "cluster.policies)")
        elif not c.forecast:
            forecast = ControllerInfo("forecast", False, "disabled in config")
        else:
            published = ["predictions for KEDA's scaler" + (f" on :{live.keda_port}" if live.keda_port else
                                                           " (set live.keda_port to serve it)"),
                         "ai_predicted_load and foresight_desired_replicas on /metrics where a capacity is known"
                         + (" (leader only)" if self.gate.role != "single" else "")]
            forecast = ControllerInfo("forecast", True, f"Holt-Winters forecasts of {n} workloads from "
                                      f"{live.prometheus_url}: " + "; ".join(published))
        if not c.autoscale:
            autoscale = ControllerInfo("autoscale", False, "disabled in config")
        elif self.scale_targets is None:
            autoscale = ControllerInfo("autoscale", False, "no Kubernetes access: KEDA scales on the published "
                                       "forecast; hpa policies get foresight_desired_replicas = ceil(forecast / "
                                       "(capacity x target)) from the forecast, not the predictive policy")
        elif self.source is None:
            autoscale = ControllerInfo("autoscale", False, "reads the load from Prometheus: set live.prometheus_url")
        elif self._audit_log is None:
            autoscale = ControllerInfo("autoscale", False, "no audit log: no decision is taken unaudited")
        else:
            autoscale = ControllerInfo("autoscale", True,
                                       f"the predictive policy (forecast quantile, SLO or target sizing, reactive floor, "
                                       f"stabilisation) sets replicas through /scale for {len(direct)} ScalingPolicies "
                                       f"in mode direct, and publishes foresight_desired_replicas for the HPA of "
                                       f"{len(hpa)} ScalingPolicies in mode hpa, every {c.period_s:g} s; keda "
                                       "policies are scaled by KEDA on the published forecast")
        if not c.anomaly:
            anomaly = ControllerInfo("anomaly", False, "disabled in config")
        elif self.anomalies is None:
            anomaly = ControllerInfo("anomaly", False, "set live.prometheus_url and live.alertmanager_url to score "
                                     "AnomalyPolicy signals")
        else:
            anomaly = ControllerInfo("anomaly", True, f"live detectors of {len(self.anomalies.watches)} "
                                     f"AnomalyPolicies, alerts to {live.alertmanager_url}")
        if not c.incidents:
            incidents = ControllerInfo("incidents", False, "disabled in config")
        elif self.incidents is None:
            incidents = ControllerInfo("incidents", False, "no audit log: no incident is opened unaudited")
        else:
            graph = (f"the service graph from {live.prometheus_url} (Istio, OpenTelemetry service graph, "
                     "kube-state-metrics)" if self.topology is not None else "time alone (set live.prometheus_url "
                     "for the service graph)")
            incidents = ControllerInfo("incidents", True, "anomaly alerts and webhook alerts (POST /api/v1/alerts/"
                                       f"webhook) correlated by {graph}; incidents to "
                                       f"{live.alertmanager_url or 'the API and the audit log only'}")
        if self.heal is None:
            heal = ControllerInfo("heal", False, "needs cluster.policies (HealingPolicies), live.prometheus_url and "
                                  "the audit log")
        else:
            n_heal = len(self.heal.planner.policies)
            acts = sum(not r.dry_run for r in self.heal.planner.policies)
            heal = ControllerInfo("heal", True, f"memory exhaustion and crash loops predicted every {c.period_s:g} s "
                                  f"under {n_heal} HealingPolicies ({acts} acting, {n_heal - acts} dry-run)"
                                  + ("" if self.heal.remediator is not None else "; no Kubernetes access: dry-run only"))
        return {
            "forecast": forecast, "autoscale": autoscale, "anomaly": anomaly, "incidents": incidents, "heal": heal,
            "rollout": ControllerInfo("rollout", True, self.canaries.describe()) if self.canaries is not None else
            ControllerInfo("rollout", False, "disabled in config" if not c.rollout else "needs Kubernetes access "
                           "(cluster.policies or leader_election: ModelDeployments, VirtualServices) and "
                           "live.prometheus_url"),
        }

    def _read_policies(self, now: float) -> None:
        """List the policies (level-based) and apply the managed set; a failure keeps the last set."""
        assert self.policies is not None
        ns = self.settings.cluster.policy_namespace
        try:
            scaling = self.policies.list_objects(POLICY_API, "ScalingPolicy", ns)
            anomaly = self.policies.list_objects(POLICY_API, "AnomalyPolicy", ns)
        except ForesightError as exc:
            h = self._policy_health
            h.update(ok=False, error=f"policies not read: {exc}",
                     failing_since=h["failing_since"] if h["failing_since"] is not None else now)
            return
        self._policy_health.update(ok=True, error=None, last_ok_at=now, failing_since=None)
        if self.heal is not None:
            try:  # apart: a cluster without the HealingPolicy CRD (or the RBAC to list it) still scales
                self._read_healing(self.policies.list_objects(POLICY_API, "HealingPolicy", ns))
            except NotFound:  # no HealingPolicy CRD: healing is opt-in, so no policy applies (and nothing is wrong)
                self._read_healing([])
            except ForesightError as exc:
                self.heal_problems = [f"HealingPolicies not read (the last ones read still apply): {exc}"]
        new = managed(self.settings.live, scaling, anomaly)
        if new != self.managed:
            for problem in set(new.problems) - set(self.managed.problems):
                _log.warning("policy ignored: %s", problem)
            self._apply(new)

    def _read_healing(self, bodies: list[dict[str, Any]]) -> None:
        """The HealingPolicies now listed; a malformed one is a problem named with its field, the others apply."""
        assert self.heal is not None
        good, problems = [], []
        for body in bodies:
            meta = body.get("metadata") or {}
            try:
                good.append(HealingPolicy.model_validate({k: v for k, v in body.items() if k != "status"}
                                                         | {"metadata": {"name": meta.get("name"),
                                                                         "namespace": meta.get("namespace",
                                                                                               "default")}}))
            except ValueError as exc:
                problems.append(f"HealingPolicy {meta.get('namespace')}/{meta.get('name')}: "
                                + "; ".join(str(e.get("msg")) + " at " + ".".join(map(str, e.get("loc", ())))
                                            for e in getattr(exc, "errors", lambda: [{"msg": str(exc)}])()))
        for problem in set(problems) - set(self.heal_problems):
            _log.warning("policy ignored: %s", problem)
        self.heal_problems = problems
        before = [(r.name, r.dry_run) for r in self.heal.planner.policies]
        self.heal.set_policies(good)
        if before != [(r.name, r.dry_run) for r in self.heal.planner.policies]:
            self.controllers = self._describe()

    def _incident_of(self, namespace: str, workload: str) -> str | None:
        """The firing incident that names ``workload`` among its services, if any (a prediction's link)."""
        if self.incidents is None:
            return None
        names = {workload, f"{namespace}/{workload}"}
        return next((v["id"] for v in self.incidents.views() if v["status"] != "resolved" and names & set(v["services"])),
                    None)

    def _heal_alert(self, why: str) -> None:
        if self.alert_sink is not None:
            self.alert_sink.send([{"labels": {"alertname": "ForesightHealingPaused", "severity": "warning",
                                              "controller": "heal"},
                                   "annotations": {"summary": why}}])

    # -- stepping -----------------------------------------------------------------------------------

    def start_keda(self) -> int | None:
        """Serve the KEDA external scaler in its own event loop thread; returns its port."""
        port = self.settings.live.keda_port
        if port is None or self._keda is not None:
            return None
        from foresight.adapters.keda import serve

        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="foresight-keda", daemon=True)
        thread.start()
        address = f"{self.settings.api.host}:{port}"
        try:
            running = asyncio.run_coroutine_threadsafe(serve(address, self.predictions, clock=self.clock),
                                                       loop).result(timeout=10)
        except BaseException:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)
            raise
        self._keda = (loop, thread, running)
        return running.port

    def now(self) -> float:
        return self.clock.now()

    def step(self, paused: Collection[str]) -> bool:
        """Run what is due (policies, forecast + direct scaling, anomaly detectors); False when nothing was."""
        now = self.clock.now()
        did = False
        acting = self.gate.acting()
        if self._was_acting and not acting:  # lost the Lease: stop exporting at once
            for key in list(self._exported):
                self._unexport(key)
        self._was_acting = acting
        if self.policies is not None and now >= self._next_policy_read:
            self._next_policy_read = now + self.settings.cluster.policy_period_s
            self._read_policies(now)
            did = True
        if self.forecasts is not None and "forecast" not in paused and self.history is not None \
                and self.forecasts.due(now):
            started = time.perf_counter()
            self.forecasts.observe(self.history, now, self._publish)
            if self.metrics is not None:
                self.metrics.observe_reconcile(self.forecasts.name, time.perf_counter() - started, ())
            did = True
        loops = [loop for loop in (self.autoscaler, self.publisher) if loop is not None]
        if loops and now >= self._next_autoscale and self.controllers["autoscale"].enabled \
                and "autoscale" not in paused:
            period = self.settings.controllers.period_s  # on the period's grid: a late step never shifts the phase
            self._next_autoscale = (math.floor(now / period + 1e-9) + 1) * period
            if acting:  # a standby decides nothing it could not apply (nor publishes: see _publish_replicas)
                for loop in loops:
                    loop.reconcile_once()
            did = True
        if self.heal is not None and "heal" not in paused and self.heal.planner.policies and self.heal.due(now):
            started = time.perf_counter()
            self.heal.step(now, acting=acting)
            if self.metrics is not None:
                self.metrics.observe_reconcile(self.heal.name, time.perf_counter() - started, ())
            did = True
        if self.canaries is not None and "rollout" not in paused:
            did = self.canaries.step(now) or did
        if self.incidents is not None and "incidents" not in paused and self.incidents.due(now):
            started = time.perf_counter()
            self.incidents.step(now, acting=acting)
            if self.metrics is not None:
                self.metrics.observe_reconcile(self.incidents.name, time.perf_counter() - started, ())
            did = True
        if self.anomalies is not None and "anomaly" not in paused and self.anomalies.due(now):
            started = time.perf_counter()
            self.anomalies.step(now)
            if self.metrics is not None:
                self.metrics.observe_reconcile(self.anomalies.name, time.perf_counter() - started, ())
            did = True
        return did

    def _publish(self, key: str, load: float, made_at: float) -> None:
        w = self.workload_specs.get(key)
        if w is None:
            return
        load = max(load, 0.0)  # a trend can dip below zero; no load is the least there is
        self.predictions.put(w.namespace, w.workload, Prediction(load, made_at))  # KEDA reads it from any replica
        desired = desired_replicas(w, load)
        if desired is None or not self.gate.acting():
            return
        if self.publisher is not None and key in self.publisher.limits and self.controllers["autoscale"].enabled:
            self.exporter.publish_load(w.namespace, w.workload, load)  # the publisher owns the replicas' series
        else:
            self.exporter.publish(w.namespace, w.workload, load, desired)
        self._exported.add((w.namespace, w.workload))

    def _publish_replicas(self, namespace: str, workload: str, replicas: int) -> None:
        """The publisher's act: the replicas an hpa policy's HPA follows (its loop runs on the leader only)."""
        self.exporter.publish_replicas(namespace, workload, replicas)
        self._exported.add((namespace, workload))

    def _unexport(self, key: tuple[str, str]) -> None:
        if key in self._exported:
            self.exporter.forget(*key)
            self._exported.discard(key)

    # -- what the API reads -------------------------------------------------------------------------

    def workloads(self) -> tuple[str, ...]:
        return tuple(self.workload_specs)

    def view_queries(self) -> dict[str, str]:
        return {"load_rps": self.settings.live.load_query}

    def query(self, name: str, workload: str, start: float, end: float, step_s: float) -> tuple[list[float], list[float]]:
        if self.source is None:
            raise ConfigError("no metrics source configured (live.prometheus_url)")
        if name not in self.view_queries():
            raise InputError(f"series {name!r} is not configured in live mode")
        w = self.workload_specs.get(workload)
        if w is None:
            raise InputError(f"workload {workload!r} is not managed")
        found = self.source.query_range(w.query, start, end, step_s)
        if not found:
            return [], []
        return [float(t) for t in found[0].timestamps], [float(v) if math.isfinite(v) else None  # type: ignore[misc]
                                                        for v in found[0].values]

    def anomaly_scores(self, workload: str, start: float) -> tuple[list[float], list[float]]:
        return [], []  # live detectors keep the latest score per series, not its history (see anomaly_view)

    def anomaly_view(self) -> dict[str, Any]:
        if self.anomalies is None:
            return {"detector": None, "threshold": None, "note": self.controllers["anomaly"].detail,
                    "scores": [], "alerts": []}
        errors = self.anomalies.errors()
        home = self.settings.live.namespace + "/"
        scores = [{**s, "workload": s["workload"].removeprefix(home)} for s in self.anomalies.scores()]
        alerts = [{**a, "workload": a["workload"].removeprefix(home)} for a in self.anomalies.alerts()]
        return {"detector": "per AnomalyPolicy", "threshold": None,
                "note": "scoring" if not errors and self.anomalies.watches else "; ".join(errors) or self.anomalies.note,
                "scores": scores, "alerts": alerts}

    def rollout_views(self) -> list[dict[str, Any]]:
        return self.canaries.views() if self.canaries is not None else []

    def forecast_watch(self) -> ForecastWatch | None:
        return self.forecasts

    def policy_status(self) -> dict[str, Any] | None:
        """What the policies say (None without ``cluster.policies``): counts and the problems found."""
        if self.policies is None:
            return None
        return {"scaling": sum(1 for w in self.managed.workloads if w.mode != "export"),
                "anomaly": len(self.managed.anomaly),
                "healing": len(self.heal.planner.policies) if self.heal is not None else 0,
                "problems": list(self.managed.problems) + self.heal_problems,
                "error": self._policy_health["error"], "last_read_at": self._policy_health["last_ok_at"]}

    def approve(self, release_id: str, who: str) -> AuditRecord:
        if self.canaries is not None:
            return self.canaries.approve(release_id, who)
        from foresight.serve.rollouts import UnknownRelease

        raise UnknownRelease(f"release {release_id!r} not found: the rollout controller does not run "
                             f"({self.controllers['rollout'].detail})")

    def sources(self) -> list[SourceHealth]:
        out = [self.source.health()] if self.source is not None else []
        if self.policies is not None:
            h = self._policy_health
            out.append(SourceHealth("kubernetes", h["ok"], h["error"], h["last_ok_at"], h["failing_since"]))
        if self.topology is not None:
            t = self.topology.health()
            out.append(SourceHealth("topology", t.ok, t.error, t.last_ok_at, t.failing_since))
        return out

    def close(self) -> None:
        if self.heal is not None:  # a running action's waits end; what it did is audited
            self.heal.close(self.clock.now())
        if self.incidents is not None:  # the webhook alerts accepted so far, correlated and sent
            self.incidents.close(self.clock.now(), acting=self.gate.acting())
        if self.topology is not None:
            self.topology.source.close()
        if self._keda is not None:
            loop, thread, running = self._keda
            self._keda = None
            asyncio.run_coroutine_threadsafe(running.server.stop(1.0), loop).result(timeout=10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)
        close = getattr(getattr(self.source, "inner", None), "close", None)
        if callable(close):
            close()
        flush = getattr(self.alert_sink, "close", None)
        if callable(flush):
            flush()
