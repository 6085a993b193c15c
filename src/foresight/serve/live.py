"""``foresight serve`` without ``--simulate``: the controllers this build can run against a cluster.

What runs, honestly:

- **forecast** runs when ``live.prometheus_url`` and ``live.workloads`` are set: each workload's load
  (``live.load_query``) is read from Prometheus, forecast, and published as ``ai_predicted_load``
  and ``foresight_desired_replicas`` on ``/metrics`` when ``live.capacity_rps`` is set (for an
  HPA External metric), and to the KEDA external scaler (gRPC) when ``live.keda_port`` is set. The
  HPA or KEDA then act; Foresight itself sets no replicas.
- **autoscale** (setting replicas directly) is disabled: there is no Kubernetes ``/scale``
  adapter in this build.
- **anomaly** is disabled here (``foresight watch`` runs live detection with Alertmanager).
- **rollout** is disabled here (a canary needs an Istio route and a release spec; see
  ``foresight.adapters.istio``).
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Collection
from string import Template
from typing import Any

from foresight.adapters.prometheus import PrometheusSource
from foresight.autoscale.exporter import PredictionExporter
from foresight.autoscale.keda import InMemoryPredictions, Prediction
from foresight.clock import Clock, SystemClock
from foresight.config import ForesightSettings
from foresight.control.audit import AuditRecord
from foresight.control.metrics import ControlMetrics
from foresight.errors import ConfigError, InputError
from foresight.ports import MetricsSource
from foresight.serve.forecasts import ForecastWatch
from foresight.serve.platform import ControllerInfo
from foresight.serve.sources import MonitoredSource, SourceHealth

__all__ = ["LivePlatform"]


class LivePlatform:
    """Forecasts from a real metrics source, published to the exporter and the KEDA scaler."""

    mode = "live"

    def __init__(self, settings: ForesightSettings, exporter: PredictionExporter, *,
                 source: MetricsSource | None = None, clock: Clock | None = None,
                 metrics: ControlMetrics | None = None) -> None:
        live, c = settings.live, settings.controllers
        self.metrics = metrics
        self.settings, self.exporter = settings, exporter
        self.clock = clock or SystemClock()
        self.predictions = InMemoryPredictions()
        self._keda: tuple[asyncio.AbstractEventLoop, threading.Thread, Any] | None = None
        inner = source
        if inner is None and live.prometheus_url:
            inner = PrometheusSource(live.prometheus_url)
        self.source = MonitoredSource("prometheus", inner, self.clock) if inner is not None else None
        can_forecast = self.source is not None and bool(live.workloads)
        why_not = ("set live.prometheus_url and live.workloads" if not can_forecast else "disabled in config")
        self.forecasts = (ForecastWatch(live.workloads, live.load_query, step_s=c.forecast_step_s,
                                        horizon_s=c.forecast_horizon_s, lead_s=c.forecast_lead_s)
                          if can_forecast and c.forecast else None)
        published = (["ai_predicted_load and foresight_desired_replicas on /metrics"] if live.capacity_rps
                     else ["nothing on /metrics (set live.capacity_rps to export ai_predicted_load)"])
        if live.keda_port is not None:
            published.append(f"KEDA external scaler on :{live.keda_port}")
        self.controllers = {
            "forecast": ControllerInfo("forecast", self.forecasts is not None,
                                       f"Holt-Winters forecasts of {len(live.workloads)} workloads from "
                                       f"{live.prometheus_url}: " + "; ".join(published)
                                       if self.forecasts is not None else why_not),
            "autoscale": ControllerInfo("autoscale", False, "no Kubernetes /scale adapter in this build: the "
                                        "HPA or KEDA scale on the published ai_predicted_load"),
            "anomaly": ControllerInfo("anomaly", False, "not run by serve yet; use foresight watch"),
            "rollout": ControllerInfo("rollout", False, "not run by serve yet (needs an Istio route and a release)"),
        }

    def start_keda(self) -> int | None:
        """Serve the KEDA external scaler in its own event loop thread; returns its port."""
        port = self.settings.live.keda_port
        if port is None or self._keda is not None:
            return None
        from foresight.autoscale.keda import serve

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
        """Forecast when a forecast step has completed; False when nothing was due."""
        if self.forecasts is None or "forecast" in paused or self.source is None:
            return False
        now = self.clock.now()
        if not self.forecasts.due(now):
            return False
        started = time.perf_counter()
        self.forecasts.observe(self.source, now, self._publish)
        if self.metrics is not None:
            self.metrics.observe_reconcile(self.forecasts.name, time.perf_counter() - started, ())
        return True

    def _publish(self, workload: str, load: float, made_at: float) -> None:
        live = self.settings.live
        self.predictions.put(live.namespace, workload, Prediction(load, made_at))
        if live.capacity_rps is not None:  # the exporter serves both gauges together
            self.exporter.publish(live.namespace, workload, load, math.ceil(load / live.capacity_rps - 1e-9))

    def workloads(self) -> tuple[str, ...]:
        return tuple(self.settings.live.workloads)

    def view_queries(self) -> dict[str, str]:
        return {"load_rps": self.settings.live.load_query}

    def query(self, name: str, workload: str, start: float, end: float, step_s: float) -> tuple[list[float], list[float]]:
        if self.source is None:
            raise ConfigError("no metrics source configured (live.prometheus_url)")
        if name not in self.view_queries():
            raise InputError(f"series {name!r} is not configured in live mode")
        found = self.source.query_range(Template(self.view_queries()[name]).substitute(workload=workload),
                                        start, end, step_s)
        if not found:
            return [], []
        return [float(t) for t in found[0].timestamps], [float(v) if math.isfinite(v) else None  # type: ignore[misc]
                                                        for v in found[0].values]

    def anomaly_scores(self, workload: str, start: float) -> tuple[list[float], list[float]]:
        return [], []

    def anomaly_view(self) -> dict[str, Any]:
        return {"detector": None, "threshold": None, "note": self.controllers["anomaly"].detail,
                "scores": [], "alerts": []}

    def rollout_views(self) -> list[dict[str, Any]]:
        return []

    def forecast_watch(self) -> ForecastWatch | None:
        return self.forecasts

    def approve(self, release_id: str, who: str) -> AuditRecord:
        from foresight.serve.rollouts import UnknownRelease

        raise UnknownRelease(f"release {release_id!r} not found: no rollout controller runs in live mode")

    def sources(self) -> list[SourceHealth]:
        return [self.source.health()] if self.source is not None else []

    def close(self) -> None:
        if self._keda is not None:
            loop, thread, running = self._keda
            self._keda = None
            asyncio.run_coroutine_threadsafe(running.server.stop(1.0), loop).result(timeout=10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)
        close = getattr(getattr(self.source, "inner", None), "close", None)
        if callable(close):
            close()
