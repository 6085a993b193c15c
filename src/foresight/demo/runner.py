"""One demo run: the simulated cluster, the HPA and the predictive controller attached through the
real reconcile loop, the audit log, and what the run produced.

``policy`` picks who scales: ``hpa`` (every service), ``predictive`` (every service), or ``split``
(the default: every second service predictive, the others under the HPA, side by side on the same
traffic). The predictive services are sized for their SLO by the queueing model
(:class:`~foresight.autoscale.predictive.SloModel`) and read their load history incrementally
(:class:`~foresight.forecast.history.IncrementalHistory`); each decision's forecast peak is kept
beside the load that then came (:class:`~foresight.demo.summary.ForecastTrace`) for the report.

The simulator is stepped here; the :class:`~foresight.control.loop.Reconciler` runs each
``period_s`` against the simulator's ports (``MetricsSource``, ``ScaleTarget``) and clock, exactly
as it would against a cluster. An interrupted run (Ctrl-C) stops between steps: the audit log is
flushed and the report is written for the part that ran.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from foresight.adapters.audit_log import AuditLog
from foresight.config import IncidentSettings
from foresight.control.loop import Reconciler
from foresight.correlate.model import Incident
from foresight.demo.incidents import FaultIncident, match_faults
from foresight.demo.report import write_report
from foresight.demo.summary import ForecastTrace, RunSummary, forecast_traces, summarise
from foresight.errors import ConfigError
from foresight.runtime.anomaly import (
    AnomalyWatch,
    FaultDetection,
    detection_delays,
    stray_alerts,
)
from foresight.runtime.autoscale import (
    POLICIES,
    Policy,
    assign_controllers,
    capacity_of,
    hpa_reconciler,
    limits_of,
    predictive_reconciler,
)
from foresight.runtime.incidents import AnomalyWatchAlerts, build_incidents
from foresight.runtime.model_loop import ModelLoopDemo, demo_model_loop
from foresight.runtime.releases import ReleaseTrack, demo_releases
from foresight.sim import Simulator, TraceTraffic, default_cluster
from foresight.sim.graph import SimulatedTopology, placement
from foresight.sim.trace import read_trace

__all__ = ["DemoOptions", "DemoResult", "run_demo"]


@dataclass(frozen=True)
class DemoOptions:
    """What ``foresight demo`` was asked to run."""

    duration_s: float = 86400.0
    services: int = 8
    seed: int = 0
    trace: Path | None = None
    trace_peak_rps: float | None = None
    out_dir: Path = Path("foresight-out/demo")
    audit_url: str | None = None
    step_s: float = 15.0
    period_s: float = 15.0
    policy: Policy = "split"

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ConfigError(f"demo: policy must be one of {', '.join(POLICIES)}, got {self.policy!r}")


@dataclass(frozen=True)
class DemoResult:
    """What a run produced: its summary and where its report and audit log are."""

    summary: RunSummary
    report: Path
    audit: str
    simulated_s: float
    interrupted: bool
    alerts: int
    faults: tuple[FaultDetection, ...]
    releases: tuple[ReleaseTrack, ...]
    controllers: dict[str, str]
    forecasts: tuple[ForecastTrace, ...]
    model_loop: ModelLoopDemo
    stray_alerts: int
    #: every incident the anomaly alerts made, at its last revision, by opening time
    incidents: tuple[Incident, ...] = ()
    #: each injected fault beside its incident and the root cause it named
    fault_incidents: tuple[FaultIncident, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "controllers": self.controllers,
            "forecasts": [f.to_json() for f in self.forecasts],
            "slo_violation_minutes": self.summary.slo_violation_minutes,
            "replica_minutes": self.summary.replica_minutes,
            "scaling_actions": self.summary.scaling_actions,
            "report": str(self.report),
            "audit": self.audit,
            "simulated_hours": round(self.simulated_s / 3600.0, 3),
            "interrupted": self.interrupted,
            "anomaly_alerts": self.alerts,
            "alerts_without_injected_fault": self.stray_alerts,
            "model_loop": self.model_loop.to_json(),
            "releases": [track.to_json() for track in self.releases],
            "faults": [
                {"time_s": f.time_s, "fault": f.fault, "detected": f.alert is not None,
                 "detection_delay_s": f.delay_s, "alert_service": f.alert.service if f.alert else None}
                for f in self.faults
            ],
            "services": [s.__dict__ for s in self.summary.services],
            "incidents": {
                "count": len(self.incidents),
                "alerts": sum(len(i.alerts) for i in self.incidents),
                "suppressed_alerts": sum(len(i.suppressed) for i in self.incidents),
                "faults": [f.to_json() for f in self.fault_incidents],
            },
        }


Progress = Callable[[Simulator, AnomalyWatch, list[str]], None]


def build_simulator(opts: DemoOptions) -> Simulator:
    """The default cluster of ``opts.services`` services, under the built-in traffic or a trace."""
    spec = default_cluster(opts.services, seed=opts.seed, duration_s=opts.duration_s)
    traffic = None
    if opts.trace is not None:
        read_trace(opts.trace)  # fail early, naming the file and line, before anything runs
        peak = opts.trace_peak_rps or spec.traffic.daily_peak_rps  # type: ignore[union-attr]
        traffic = TraceTraffic(path=opts.trace, peak_rps=peak)
    return Simulator(spec, traffic, step_s=opts.step_s, duration_s=opts.duration_s, seed=opts.seed)


def _change(record_decision: dict[str, int | None]) -> str:
    return f"{record_decision.get('previous')} -> {record_decision.get('applied')}"


def run_demo(opts: DemoOptions, progress: Progress | None = None, progress_every: int = 40) -> DemoResult:
    """Run the demo to the end (or to Ctrl-C) and write its report; returns the summary."""
    sim = build_simulator(opts)
    specs = {s.name: s for s in sim.spec.services}
    controllers = assign_controllers(list(specs), opts.policy)
    under = {kind: {n: specs[n] for n, c in controllers.items() if c == kind} for kind in ("hpa", "predictive")}
    forecast_points: dict[str, list[tuple[float, float, float]]] = {name: [] for name in under["predictive"]}
    opts.out_dir.mkdir(parents=True, exist_ok=True)
    audit_location = opts.audit_url or str(opts.out_dir / "audit.db")
    anomalies = AnomalyWatch(sim.service_names)
    own_alerts = AnomalyWatchAlerts(anomalies, pods=lambda: placement(sim))
    topology = SimulatedTopology(sim)
    incidents: dict[str, Incident] = {}
    recent: list[str] = []
    decisions: list[dict[str, object]] = []  # the ones that changed replicas or failed, for the report
    interrupted = False
    with AuditLog(audit_location) as audit:
        loops: list[Reconciler] = []
        if under["hpa"]:
            loops.append(hpa_reconciler(under["hpa"], sim, sim, audit, sim.clock, period_s=opts.period_s))
        if under["predictive"]:
            loops.append(predictive_reconciler(
                {n: capacity_of(s) for n, s in under["predictive"].items()}, sim, sim,
                {n: limits_of(s) for n, s in under["predictive"].items()}, audit, sim.clock, period_s=opts.period_s))
        model = next((s.name for s in sim.spec.services if s.gpus > 0), sim.service_names[-1])
        releases = demo_releases(opts.duration_s, model, opts.seed, audit)
        model_loop = demo_model_loop(opts.duration_s, opts.seed, audit, start_s=sim.start)
        correlator = build_incidents(IncidentSettings(), topology, audit)

        def keep(changed: list[Incident]) -> None:
            for inc in changed:
                incidents[inc.id] = inc
                root = inc.root_cause.service if inc.root_cause else "unknown"
                recent.append(f"{sim.now / 3600:6.2f} h  incident {inc.id} {inc.status}: root cause {root}, "
                              f"{len(inc.alerts)} alert(s), {len(inc.suppressed)} suppressed")

        next_reconcile = sim.now + opts.period_s
        steps = 0
        try:
            while not sim.done:
                sim.step()
                steps += 1
                anomalies.observe(sim.now, {name: values[-1] for name, values in sim.history.items()})
                if correlator.due(sim.now):
                    correlator.add(own_alerts.poll(sim.now))
                    keep(correlator.step(sim.now))
                if sim.now >= next_reconcile - 1e-9:
                    next_reconcile += opts.period_s
                    for record in (r for loop in loops for r in loop.reconcile_once()):
                        peak = record.inputs.get("policy", {}).get("peak_rps")
                        if record.controller == "predictive" and peak is not None:
                            lookahead = record.inputs["policy"]["lookahead_s"]
                            forecast_points[record.target].append((record.time, float(peak), float(lookahead)))
                        changed = record.decision.get("applied") != record.decision.get("previous")
                        if record.error or changed:
                            what = f"error {record.error}" if record.error else _change(dict(record.decision))
                            recent.append(f"{sim.now / 3600:6.2f} h  {record.target}: {what}")
                            decisions.append({"time": record.time, "target": record.target,
                                              "controller": record.controller, "decision": what,
                                              "reason": record.reason})
                    for track in releases:
                        for step in track.advance_to(sim.now):
                            recent.append(f"{step.time_s / 3600:6.2f} h  release {track.release.model} "
                                          f"{track.release.version}: {step.action}, canary weight {step.weight}%")
                    for loop_step in model_loop.advance_to(sim.now):
                        recent.append(f"{loop_step.time_s / 3600:6.2f} h  model {loop_step.what}: {loop_step.detail[:120]}")
                    del recent[:-50]
                if progress is not None and (steps % progress_every == 0 or sim.done):
                    progress(sim, anomalies, recent)
        except KeyboardInterrupt:
            interrupted = True
        correlator.add(own_alerts.poll(sim.now))
        keep(correlator.close(sim.now))
        audit_url = audit.url
    history = sim.history
    summary = summarise(history, sim.service_names, sim.step_s)
    events = [(e.time_s, e.what) for e in sim.events]
    faults = tuple(detection_delays(events, anomalies.alerts))
    forecasts = forecast_traces(forecast_points, history, sim.service_names, sim.start, sim.step_s)
    opened = tuple(sorted(incidents.values(), key=lambda i: (i.opened_at, i.id)))
    fault_incidents = tuple(match_faults([f for f in sim.spec.faults if sim.start + f.at_s <= sim.now], sim.start,
                                         opened))
    report = write_report(
        opts.out_dir / "report.html",
        title=f"Foresight demo: {len(specs)} services, {sim.now / 3600:.1f} simulated hours, seed {opts.seed}"
        + (" (interrupted)" if interrupted else ""),
        summary=summary,
        history=history,
        services=sim.service_names,
        step_s=sim.step_s,
        slo_p95_s={name: s.slo_latency_p95_s for name, s in specs.items()},
        events=events,
        decisions=decisions[-500:],
        anomaly_scores=anomalies.scores,
        anomaly_alerting=anomalies.alerting,
        faults=faults,
        releases=releases,
        controllers=controllers,
        forecasts=forecasts,
        model_loop=model_loop,
        incidents=fault_incidents,
        incident_count=len(opened),
    )
    return DemoResult(summary, report.resolve(), audit_url, sim.now - sim.start, interrupted,
                      len(anomalies.alerts), faults, tuple(releases), controllers, forecasts, model_loop,
                      len(stray_alerts(events, anomalies.alerts)), opened, fault_incidents)
