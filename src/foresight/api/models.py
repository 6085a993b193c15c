"""The API's response models: what each endpoint answers, documented in the OpenAPI schema."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "AlertQueue", "Anomalies", "ControllerStatus", "DecisionPage", "DecisionRow", "Drift", "Forecast", "Forecasts",
    "Health", "IncidentAlert", "IncidentCandidate", "IncidentTopology", "IncidentView", "Incidents", "InputAccepted",
    "InputBatch", "LeaderElection", "Policies", "Readiness", "Rollout", "Rollouts", "SeriesData", "Snapshot",
    "SourceStatus", "Status", "WebhookAccepted", "WorkloadDetail", "WorkloadSummary", "Workloads",
]


class Health(BaseModel):
    status: str = Field(description="'ok' while the process serves requests.")


class Readiness(BaseModel):
    ready: bool = Field(description="Controllers started and the audit store reachable.")
    role: str = Field("single", description="'leader' or 'standby' with leader election (a standby serves the "
                      "API and the views but does not act); 'single' without it.")
    checks: dict[str, str] = Field(description="Each check: 'ok' or why it fails.")


class SourceStatus(BaseModel):
    name: str
    ok: bool = Field(description="Whether the last read from this source worked.")
    error: str | None = Field(None, description="The last failure, while failing.")
    last_ok_at: float | None = Field(None, description="Platform time of the last successful read.")
    failing_since: float | None = Field(None, description="Platform time of the first failure in a row.")


class ControllerStatus(BaseModel):
    name: str
    enabled: bool = Field(description="Runs in this process (config and mode).")
    paused: bool = Field(description="Paused by a person through the API.")
    detail: str = Field(description="What it does, or why it is disabled.")


class Status(BaseModel):
    mode: str = Field(description="'simulate' or 'live'.")
    now: float = Field(description="Platform time: simulated seconds, or Unix seconds live.")
    running: bool = Field(description="The controllers' thread is stepping.")
    finished: bool = Field(description="A simulation reached its end.")
    error: str | None = Field(None, description="Why stepping stopped, if it failed.")
    controllers: list[ControllerStatus]
    sources: list[SourceStatus]
    role: str = Field("single", description="'leader' (acts), 'standby' (serves, does not act), or 'single' "
                      "(no leader election: always acts).")
    leader_election: LeaderElection | None = Field(None, description="The Lease, when leader election is on.")
    policies: Policies | None = Field(None, description="ScalingPolicy / AnomalyPolicy resources read from the "
                                      "cluster (live mode with cluster.policies).")


class LeaderElection(BaseModel):
    lease: str = Field(description="namespace/name of the Lease.")
    identity: str = Field(description="This replica's name in the Lease.")
    note: str | None = Field(None, description="Why it leads or waits, as of its last read of the Lease.")
    error: str | None = Field(None, description="The last failure to read or renew the Lease.")


class Policies(BaseModel):
    scaling: int = Field(description="Workloads under a valid ScalingPolicy.")
    anomaly: int = Field(description="Valid AnomalyPolicies.")
    healing: int = Field(0, description="Valid HealingPolicies.")
    problems: list[str] = Field(description="Policies ignored, each with the precise reason (malformed field, "
                                "workload already managed).")
    error: str | None = Field(None, description="Why the last listing failed (the last good set still runs).")
    last_read_at: float | None = None


class WorkloadSummary(BaseModel):
    name: str
    load_rps: float | None = Field(None, description="Latest load, requests per second.")
    capacity_rps: float | None = Field(None, description="Latest capacity of the ready replicas.")
    replicas_desired: float | None = None
    replicas_ready: float | None = None
    forecast_rps: float | None = Field(None, description="Latest forecast at the lead (controllers.forecast_lead_s).")
    anomaly_score: float | None = None
    alerting: bool = False
    controller: str | None = Field(None, description="Which controller scales it: 'hpa' or 'predictive' "
                                   "(simulate.policy); None where this process does not scale it.")


class Workloads(BaseModel):
    workloads: list[WorkloadSummary]
    source_error: str | None = Field(None, description="Why the latest values are missing, when the source is down.")


class SeriesData(BaseModel):
    t: list[float] = Field(description="Timestamps (platform seconds).")
    v: list[float | None] = Field(description="Values; null where there is no finite sample.")


class WorkloadDetail(BaseModel):
    name: str
    now: float
    window_s: float
    series: dict[str, SeriesData] = Field(description="load_rps, capacity_rps, replicas_*, latency, "
                                          "forecast_rps (the lead line), forecast_q10/q50/q90 (the horizon), "
                                          "anomaly_score, where available.")
    messages: dict[str, str] = Field(description="Per series or panel: why it is missing (source down, ...).")
    anomaly_threshold: float | None = Field(None, description="Score at which the anomaly detector alerts.")


class DecisionRow(BaseModel):
    time: float
    controller: str
    target: str
    decision: dict[str, Any]
    reason: str
    applied: bool
    dry_run: bool
    error: str | None = None
    run_id: str


class DecisionPage(BaseModel):
    items: list[DecisionRow] = Field(description="Newest first.")
    limit: int
    offset: int
    next_offset: int | None = Field(None, description="Offset of the next page; null on the last one.")


class Forecast(BaseModel):
    workload: str
    made_at: float
    times: list[float]
    q10: list[float]
    q50: list[float]
    q90: list[float]
    at_lead: float = Field(description="The median forecast at the lead, as published (ai_predicted_load).")


class Forecasts(BaseModel):
    enabled: bool
    note: str = Field(description="What the last forecast step did (refitted, history too short, source down...).")
    forecasts: list[Forecast]


class AnomalyScore(BaseModel):
    workload: str
    score: float | None
    alerting: bool
    policy: str | None = Field(None, description="Live: the AnomalyPolicy (namespace/name) scoring the series.")
    signal: str | None = Field(None, description="Live: the policy's signal the series belongs to.")
    labels: dict[str, str] = Field(default_factory=dict, description="Live: the series' labels.")


class AnomalyAlert(BaseModel):
    time: float
    workload: str
    signal: str
    score: float
    sent: bool = Field(True, description="Sent to Alertmanager (False: decided on a standby, not sent).")


class Anomalies(BaseModel):
    detector: str | None
    threshold: float | None
    note: str
    scores: list[AnomalyScore]
    alerts: list[AnomalyAlert] = Field(description="Alerts opened (the last 200), oldest first.")


class RolloutStep(BaseModel):
    time: float
    weight: int
    action: str
    reason: str


class Rollout(BaseModel):
    id: str
    model: str
    version: str
    started_at: float
    simulated_behaviour: str | None = Field(None, description="Simulator only: whether the version was made good or bad.")
    outcome: str = Field(description="in progress, promoted, rolled back, undecided or awaiting approval.")
    weight: int = Field(description="Canary traffic weight now, percent.")
    awaiting_approval: bool
    steps: list[RolloutStep]


class Rollouts(BaseModel):
    enabled: bool
    rollouts: list[Rollout] = Field(description="Newest first.")


class InputBatch(BaseModel):
    """Feature rows of one model, as its request logger saw them (one value per feature; null = missing)."""

    features: list[str] = Field(min_length=1, description="Feature names, the same ones in the same order each time.")
    rows: list[list[float | None]] = Field(min_length=1, description="Rows x features.")


class InputAccepted(BaseModel):
    model: str
    rows: int = Field(description="Rows taken from this request.")
    rows_seen: int = Field(0, description="Rows the monitor has seen in all (reference included).")
    ready: bool = Field(False, description="The reference and the first window are full: verdicts are given.")
    drifted: bool = False
    reason: str


class Drift(BaseModel):
    configured: bool
    status: str
    monitors: list[dict[str, Any]] = Field(
        description="Per model: statistic, threshold, per-feature statistic over time (features[].t/v), verdict, "
        "drift_detected_at, retrains, events of the loop, versions (gate result, canary outcome, aliases, the "
        "artifact scan's verdict), "
        "champion/challenger accuracy over time, the canary (awaiting_approval). Live models fed through "
        "POST /api/v1/models/{model}/inputs have source='inputs'.")


class IncidentCandidate(BaseModel):
    service: str = Field(description="Where the fault most likely is (for kind 'node': the first service on it "
                         "to alert).")
    score: float = Field(description="How strongly the evidence points here, in [0, 1]; candidates are ranked by it.")
    component: str | None = Field(None, description="The pod or node within it, when the alerts say.")
    metric: str | None = Field(None, description="The metric that moved first there.")
    kind: str = Field("service", description="'service' (the fault is in the service) or 'node' (in the node "
                      "named by component, which hosts several alerting services).")
    evidence: list[str] = Field(description="Why, in words: which metric moved, when, how far, along which path.")


class IncidentAlert(BaseModel):
    key: str = Field(description="Alertmanager's fingerprint, or Foresight's own alert key.")
    name: str = Field(description="The alertname.")
    service: str | None
    component: str | None = None
    metric: str | None = None
    score: float
    starts_at: float = Field(description="Platform time it started.")
    ends_at: float | None = Field(None, description="Platform time it ended; None while firing.")
    source: str = Field(description="'foresight' (own anomaly alerts) or 'alertmanager' (the webhook).")
    labels: dict[str, str]
    suppressed: bool = Field(description="Explained by a failing dependency: part of the incident, never "
                             "notified on its own.")


class IncidentTopology(BaseModel):
    services: list[str] = Field(description="The incident's services and its root cause.")
    edges: list[list[str]] = Field(description="Calls [caller, callee] between them, as the service graph knows.")


class IncidentView(BaseModel):
    id: str
    status: str = Field(description="'firing' or 'resolved'.")
    opened_at: float
    resolved_at: float | None = None
    revision: int = Field(description="Bumped on every change.")
    merged_into: str | None = Field(None, description="Set when a later alert joined this incident to an older "
                                    "one, which now holds its alerts.")
    services: list[str]
    root_cause: IncidentCandidate | None = Field(description="The best-ranked candidate.")
    candidates: list[IncidentCandidate] = Field(description="Root-cause candidates, best first.")
    alerts: list[IncidentAlert] = Field(description="Every alert of the incident, in the order they started (the "
                                        "timeline).")
    suppressed: list[str] = Field(description="Keys of the suppressed alerts.")
    topology: IncidentTopology
    notified: bool = Field(description="Sent to Alertmanager as one ForesightIncident alert.")


class AlertQueue(BaseModel):
    pending: int = Field(description="Webhook alerts waiting for the next correlation.")
    capacity: int = Field(description="Most that may wait (incidents.queue_alerts); beyond, 429.")
    accepted: int = Field(description="Accepted since start.")
    refused: int = Field(description="Refused since start (queue full, or stopping).")


class Incidents(BaseModel):
    enabled: bool
    note: str = Field(description="What the controller did last, or why it does not run.")
    incidents: list[IncidentView] = Field(description="Firing incidents first, then the recent resolved ones; "
                                          "newest first within each.")
    queue: AlertQueue | None = Field(None, description="The webhook's queue, when the controller runs.")


class WebhookAccepted(BaseModel):
    accepted: int = Field(description="Alerts queued for correlation.")
    skipped: int = Field(description="Alerts left out: Foresight's own incidents routed back to it.")
    pending: int = Field(description="Alerts waiting now, these included.")
    truncated: int = Field(0, description="Alerts Alertmanager left out of this notification (truncatedAlerts).")


class Snapshot(BaseModel):
    """The state the dashboard draws before its first refresh (inlined in ``/``), each part as its read API answers."""

    status: Status
    workloads: Workloads
    detail: WorkloadDetail | None = Field(description="The first workload's series, as /api/v1/workloads/{name} "
                                          "answers over the dashboard's window; None without workloads.")
    rollouts: Rollouts
    drift: Drift
    decisions: DecisionPage = Field(description="The first workload's last 25 decisions that changed something.")
    incidents: Incidents
