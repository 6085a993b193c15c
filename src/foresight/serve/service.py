"""Wiring of ``foresight serve``: settings in, a ready :class:`Service` (runtime + metrics) out."""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry

from foresight.adapters.audit_log import AuditLog
from foresight.adapters.control_metrics import PrometheusControlMetrics
from foresight.adapters.drift_gauges import DriftGauges
from foresight.adapters.exporter import PredictionExporter
from foresight.clock import Clock, SystemClock
from foresight.config import ForesightSettings
from foresight.errors import ConfigError
from foresight.serve.inputs import ModelInputs
from foresight.serve.stepper import Stepper

__all__ = ["Service", "build_service"]

_log = logging.getLogger(__name__)


@dataclass
class Service:
    """Everything one ``foresight serve`` process runs and serves."""

    settings: ForesightSettings
    runtime: Stepper
    metrics: PrometheusControlMetrics
    exporter: PredictionExporter
    audit: AuditLog
    #: the drift gauges (the model loop and the input monitors publish here), on their own registry
    drift_registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    drift_gauges: DriftGauges | None = None
    #: drift monitors over model inputs pushed through the API (POST /api/v1/models/{model}/inputs)
    inputs: ModelInputs | None = None
    #: simulated time a deferred warm-up still has to reach (:meth:`warm_up`); None once there is none left
    warmup_until_s: float | None = None

    def __post_init__(self) -> None:
        if self.drift_gauges is None:
            self.drift_gauges = DriftGauges(self.drift_registry)
        if self.inputs is None:
            i = self.settings.inputs
            self.inputs = ModelInputs(reference_rows=i.reference_rows, window_rows=i.window_rows, alpha=i.alpha,
                                      max_models=i.max_models, max_batch_rows=i.max_batch_rows,
                                      gauges=self.drift_gauges, audit=self.audit)

    def warm_up(self, slice_s: float = 60.0) -> None:
        """Run the deferred warm-up to :attr:`warmup_until_s`, ``slice_s`` simulated seconds at a time.

        Each slice holds the runtime's lock, so between slices the API answers (and shows the history
        so far: waiting readers go first, :meth:`Stepper.let_readers_in`), and a stopping runtime ends the warm-up after the slice in progress. Call it before
        :meth:`Stepper.start`: the runtime paces itself from the simulated time it starts at.
        """
        runtime = self.runtime
        platform: Any = runtime.platform  # only the simulated platform defers a warm-up
        while True:
            runtime.let_readers_in()
            with runtime.lock:
                target = self.warmup_until_s
                if target is None or runtime.stopping:
                    return
                before = platform.now()
                platform.run_until(min(target, before + slice_s))
                if platform.now() >= target or platform.now() == before:  # there, or the simulation ended
                    self.warmup_until_s = None
                    _log.info("simulator warmed up to t=%.0f s", platform.now())
                runtime.version += 1  # the dashboard's event stream redraws the growing history


def build_service(settings: ForesightSettings, *, simulate: bool, kube_client: Any = None,
                  clock: Clock | None = None, defer_warmup: bool = False) -> Service:
    """Open the audit store, build the platform (simulated or live) and its runtime, not started.

    With ``simulate``, the simulator first runs ``simulate.warmup_s`` at full speed (controllers
    included), so the dashboard opens on hours of history rather than an empty chart. That takes
    seconds; with ``defer_warmup`` it is left to :meth:`Service.warm_up`, which the API runs in the
    background once it listens (``/readyz`` answers 503 "warming up" meanwhile).

    Live, with ``leader_election.enabled`` or ``cluster.policies``, the Kubernetes API is reached
    through ``kube_client`` (tests: an emulator's), else ``cluster.kubeconfig`` or the pod's
    service account; leader election gates every action of the controllers.
    """
    if simulate and settings.leader_election.enabled:
        raise ConfigError("leader_election.enabled: the simulator acts on nothing shared; use it in live mode")
    if settings.audit_url.strip() in ("sqlite://", "sqlite:///:memory:", ":memory:"):
        raise ConfigError("audit_url: an in-memory SQLite database is private to one thread, and serve reads it "
                          "from the API's threads too; give a file path or a PostgreSQL URL")
    metrics = PrometheusControlMetrics()
    exporter = PredictionExporter()
    drift_registry = CollectorRegistry()
    drift_gauges = DriftGauges(drift_registry)
    audit = AuditLog(settings.audit_url, max_delay_s=1.0, spill_path=settings.audit_spill_path)
    warmup_until_s: float | None = None
    try:
        if simulate:
            from foresight.serve.simulated import SimulatedPlatform

            platform = SimulatedPlatform(settings, audit, metrics, exporter, drift_gauges)
            warmup_until_s = platform.now() + settings.simulate.warmup_s
            if not defer_warmup:
                platform.run_until(warmup_until_s)
                _log.info("simulator warmed up to t=%.0f s", platform.now())
                warmup_until_s = None
            runtime = Stepper(platform, audit, sim_speed=settings.simulate.speed, step_sim_s=settings.simulate.step_s)
        else:
            runtime = _live_runtime(settings, exporter, metrics, audit, kube_client, clock or SystemClock())
        for info in runtime.platform.controllers.values():
            _log.info("controller %s: %s (%s)", info.name, "enabled" if info.enabled else "disabled", info.detail)
    except BaseException:
        audit.close()
        raise
    return Service(settings, runtime, metrics, exporter, audit, drift_registry, drift_gauges,
                   warmup_until_s=warmup_until_s)


def _live_runtime(settings: ForesightSettings, exporter: PredictionExporter, metrics: PrometheusControlMetrics,
                  audit: AuditLog, kube_client: Any, clock: Clock) -> Stepper:
    """The live platform with what its settings ask for: Kubernetes access, the Lease, Alertmanager,
    the VirtualServices the canaries route through."""
    from foresight.serve.canaries import CanaryTarget, RouterFactory
    from foresight.serve.leader import ALWAYS, ActingGate
    from foresight.serve.live import LivePlatform

    le, cluster, live = settings.leader_election, settings.cluster, settings.live
    needs_kube = le.enabled or cluster.policies
    gate: ActingGate = ALWAYS
    policies = scale_targets = remediator = None
    routers: RouterFactory | None = None
    if needs_kube:
        import kubernetes

        from foresight.adapters.istio import Destination, IstioRouter
        from foresight.adapters.kube_heal import KubeRemediator
        from foresight.adapters.kubernetes import (
            KubernetesLease,
            KubernetesObjects,
            KubernetesScaleTarget,
            LeaderElector,
            api_client,
        )
        from foresight.serve.leader import LeaderGate

        client = kube_client if kube_client is not None else api_client(cluster.kubeconfig)
        if le.enabled:
            identity = le.identity or os.environ.get("POD_NAME") or socket.gethostname()
            elector = LeaderElector(KubernetesLease(client, le.lease_namespace, le.lease_name), identity,
                                    le.lease_duration_s, le.renew_deadline_s, clock)
            gate = LeaderGate(elector, f"{le.lease_namespace}/{le.lease_name}", le.retry_period_s)
        policies = KubernetesObjects(client)
        remediator = KubeRemediator(client)  # acts only where a HealingPolicy allows it and is not dry-run

        def scale_targets(namespace: str, kind: str) -> KubernetesScaleTarget:
            return KubernetesScaleTarget(client, namespace, kind)

        istio = kubernetes.client.CustomObjectsApi(client)

        def routers(target: CanaryTarget) -> IstioRouter:
            return IstioRouter(istio, target.namespace, target.name, Destination(target.host, target.stable_subset),
                               Destination(target.host, target.canary_subset), route=target.route)

    alert_sink = None
    if live.alertmanager_url:
        from foresight.adapters.alertmanager import AlertmanagerClient

        alert_sink = AlertmanagerClient(live.alertmanager_url, clock)
    platform = LivePlatform(settings, exporter, metrics=metrics, clock=clock, gate=gate, policies=policies,
                            scale_targets=scale_targets, alert_sink=alert_sink, audit=audit, routers=routers,
                            remediator=remediator)
    platform.start_keda()
    return Stepper(platform, audit, sim_speed=None, idle_s=min(1.0, settings.controllers.forecast_step_s / 4),
                   gate=gate)
