"""Wiring of ``foresight serve``: settings in, a ready :class:`Service` (runtime + metrics) out."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from foresight.autoscale.exporter import PredictionExporter
from foresight.config import ForesightSettings
from foresight.control.audit import AuditLog
from foresight.control.metrics import ControlMetrics
from foresight.errors import ConfigError
from foresight.serve.runtime import Runtime

__all__ = ["Service", "build_service"]

_log = logging.getLogger(__name__)


@dataclass
class Service:
    """Everything one ``foresight serve`` process runs and serves."""

    settings: ForesightSettings
    runtime: Runtime
    metrics: ControlMetrics
    exporter: PredictionExporter
    audit: AuditLog


def build_service(settings: ForesightSettings, *, simulate: bool) -> Service:
    """Open the audit store, build the platform (simulated or live) and its runtime, not started.

    With ``simulate``, the simulator first runs ``simulate.warmup_s`` at full speed (controllers
    included), so the dashboard opens on hours of history rather than an empty chart.
    """
    if settings.audit_url.strip() in ("sqlite://", "sqlite:///:memory:", ":memory:"):
        raise ConfigError("audit_url: an in-memory SQLite database is private to one thread, and serve reads it "
                          "from the API's threads too; give a file path or a PostgreSQL URL")
    metrics = ControlMetrics()
    exporter = PredictionExporter()
    audit = AuditLog(settings.audit_url, max_delay_s=1.0)
    try:
        if simulate:
            from foresight.serve.simulated import SimulatedPlatform

            platform = SimulatedPlatform(settings, audit, metrics, exporter)
            platform.run_until(platform.now() + settings.simulate.warmup_s)
            _log.info("simulator warmed up to t=%.0f s", platform.now())
            runtime = Runtime(platform, audit, sim_speed=settings.simulate.speed, step_sim_s=settings.simulate.step_s)
        else:
            from foresight.serve.live import LivePlatform

            live = LivePlatform(settings, exporter, metrics=metrics)
            live.start_keda()
            runtime = Runtime(live, audit, sim_speed=None, idle_s=min(5.0, settings.controllers.forecast_step_s / 4))
        for info in runtime.platform.controllers.values():
            _log.info("controller %s: %s (%s)", info.name, "enabled" if info.enabled else "disabled", info.detail)
    except BaseException:
        audit.close()
        raise
    return Service(settings, runtime, metrics, exporter, audit)
