"""Foresight's one settings object: read at start-up from a YAML file and ``FORESIGHT_*`` variables.

Every setting has one field, typed and documented here, so ``foresight serve --help``, the Helm
chart's values and this file say the same thing. Sources, highest priority first: values given in
code, environment variables (``FORESIGHT_`` + the field path joined by ``__``, e.g.
``FORESIGHT_API__TOKEN`` or ``FORESIGHT_SIMULATE__SPEED=600``), then the YAML file. Nothing is read
at import time: :func:`load_settings` is called by the command that starts.

An unknown key (a typo) or an impossible value is a :class:`~foresight.errors.ConfigError` that
names the field and where it came from.

>>> s = load_settings(None, api={"port": 9000})
>>> s.api.port, s.simulate.speed
(9000, 60.0)
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from foresight.errors import ConfigError

__all__ = [
    "ApiSettings",
    "ClusterSettings",
    "ControllerSettings",
    "ForesightSettings",
    "IncidentSettings",
    "LeaderElectionSettings",
    "LiveSettings",
    "ScaleoutSettings",
    "SchedulerSettings",
    "SimulateSettings",
    "load_settings",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class InputSettings(BaseModel):
    """Drift monitors over model inputs pushed to ``POST /api/v1/models/{model}/inputs`` (both modes)."""

    model_config = _FROZEN

    reference_rows: int = Field(3000, ge=1, description="Rows of a model's reference (its first rows, unless "
                                "one is uploaded to POST /api/v1/models/{model}/reference).")
    window_rows: int = Field(600, ge=1, description="Rows in the sliding window compared with the reference.")
    alpha: float = Field(1e-4, gt=0, lt=1, description="A feature is flagged when its adjusted KS p-value is below this.")
    max_models: int = Field(50, ge=1, description="Models watched at most (a typo in a pusher's model name "
                            "must not grow memory without bound).")
    max_batch_rows: int = Field(10_000, ge=1, description="Rows accepted in one POST.")


class ApiSettings(BaseModel):
    """Where the API listens and who may act through it."""

    model_config = _FROZEN

    host: str = Field("127.0.0.1", description="Address to listen on (0.0.0.0 inside a cluster).")
    port: int = Field(8080, ge=0, le=65535, description="HTTP port of the API, dashboard and /metrics (0: any free).")
    token: SecretStr | None = Field(
        None,
        description="Bearer token for the write APIs (pause/resume, approve). Unset: every write answers 401.",
    )
    max_body_bytes: int = Field(
        8 * 1024 * 1024, ge=1, description="Largest request body a write API reads, in bytes (413 beyond it, "
        "judged on Content-Length and on the bytes as they arrive; the token is checked before any is read). "
        "8 MiB holds inputs.max_batch_rows rows of about 40 features as JSON.",
    )


class ControllerSettings(BaseModel):
    """Which controllers run, and how often they reconcile."""

    model_config = _FROZEN

    autoscale: bool = Field(True, description="The replica controller (reactive HPA policy through the reconcile loop).")
    forecast: bool = Field(True, description="Load forecasts per workload (Holt-Winters), published as ai_predicted_load.")
    anomaly: bool = Field(True, description="Anomaly scores and alerts per workload (the surprise detector).")
    rollout: bool = Field(True, description="Canary releases under Foresight's canary policy.")
    feedback: bool = Field(
        True, description="The model feedback loop (simulate: input drift -> retrain -> gate -> canary -> promote)."
    )
    incidents: bool = Field(True, description="Alert correlation into incidents (anomaly and webhook alerts).")
    period_s: float = Field(15.0, gt=0, description="Reconcile period of the replica controller, seconds.")
    forecast_step_s: float = Field(60.0, gt=0, description="Grid step the load is forecast on, seconds.")
    forecast_horizon_s: float = Field(1800.0, gt=0, description="How far ahead forecasts reach, seconds.")
    forecast_lead_s: float = Field(
        300.0, gt=0, description="Lead of the forecast line drawn against the load (and published), seconds."
    )
    require_approval: bool = Field(
        False, description="A canary the policy would promote waits for a person (POST .../approve)."
    )

    @model_validator(mode="after")
    def _lead_within_horizon(self) -> ControllerSettings:
        if self.forecast_lead_s > self.forecast_horizon_s:
            raise ValueError(
                f"forecast_lead_s ({self.forecast_lead_s}) must not exceed forecast_horizon_s ({self.forecast_horizon_s})"
            )
        if self.forecast_horizon_s < self.forecast_step_s:
            raise ValueError("forecast_horizon_s must cover at least one forecast_step_s")
        return self


class SimulateSettings(BaseModel):
    """The embedded simulator, used with ``--simulate``."""

    model_config = _FROZEN

    services: int = Field(8, ge=4, description="Services in the simulated platform.")
    seed: int = Field(0, description="Seed of the simulation (same seed, same run).")
    duration_s: float = Field(7 * 86400.0, gt=0, description="Simulated time available; stepping stops at its end.")
    step_s: float = Field(15.0, gt=0, description="Simulator step, seconds.")
    speed: float = Field(60.0, gt=0, description="Simulated seconds per wall-clock second.")
    warmup_s: float = Field(
        4 * 3600.0, ge=0, description="Simulated time run at full speed before serving, so charts start with history."
    )
    release_every_s: float = Field(
        6 * 3600.0, gt=0, description="A canary release (alternately good and bad) starts this often."
    )
    policy: Literal["hpa", "predictive", "split"] = Field(
        "split", description="Who scales the services: the reactive HPA, the predictive policy, or split "
        "(every second service predictive, as in `foresight demo`)."
    )
    drift_after_s: float = Field(
        6 * 3600.0, ge=0, description="Simulated seconds after the start at which the served model's inputs drift."
    )
    registry_url: str | None = Field(
        None, description="Model registry of the simulated feedback loop (a file path or SQLAlchemy URL); "
        "unset: a temporary SQLite file, removed when serve stops."
    )


class LiveSettings(BaseModel):
    """The real platform, used without ``--simulate``: what Foresight reads and where it publishes."""

    model_config = _FROZEN

    prometheus_url: str | None = Field(None, description="Prometheus base URL (the load source); unset: nothing runs.")
    workloads: tuple[str, ...] = Field((), description="Workloads to forecast (names substituted for $workload).")
    namespace: str = Field("default", description="Namespace label of the published predictions.")
    load_query: str = Field(
        'sum(rate(http_requests_total{workload="$workload"}[1m]))',
        description="PromQL of a workload's load in requests per second ($workload is substituted).",
    )
    cpu_query: str = Field(
        "",
        description="PromQL of a workload's average CPU over its ready pods, as a fraction of the request "
        "($workload, $namespace substituted); the predictive policy's floor reads it beside the load. Empty: none.",
    )
    capacity_rps: float | None = Field(
        None, gt=0, description="Requests per second one replica serves at target: gives foresight_desired_replicas."
    )
    keda_port: int | None = Field(None, ge=0, le=65535, description="Serve the KEDA external scaler (gRPC) here.")
    alertmanager_url: str | None = Field(
        None, description="Alertmanager base URL: AnomalyPolicy signals are scored and their alerts sent here; "
        "unset: no anomaly detection in live mode."
    )


class IncidentSettings(BaseModel):
    """Alert correlation (both modes): Foresight's anomaly alerts and those routed to
    ``POST /api/v1/alerts/webhook`` grouped into incidents over the service graph."""

    model_config = _FROZEN

    window_s: float = Field(180.0, gt=0, description="Alerts further apart in time than this never join one incident.")
    max_hops: int = Field(2, ge=0, description="Calls apart two alerting services may be to join one incident.")
    resolve_after_s: float = Field(300.0, ge=0, description="An incident resolves this long after its last alert did.")
    skew_s: float = Field(10.0, ge=0, description="Clock skew between alert sources: a dependency that alerted up to "
                          "this much after its caller still explains it (at least the rules' evaluation interval).")
    unknown_window_s: float = Field(60.0, gt=0, description="Alerts on services the graph does not know join by time "
                                    "alone when they started at most this far apart.")
    period_s: float = Field(15.0, gt=0, description="Seconds between two correlations (the longest a webhook alert waits).")
    queue_alerts: int = Field(10_000, ge=1, description="Webhook alerts waiting at most; a POST that would exceed it "
                              "answers 429 with Retry-After, and nothing of it is taken.")
    resend_s: float = Field(60.0, gt=0, description="An open incident is re-sent to Alertmanager this often.")
    topology_period_s: float = Field(60.0, gt=0, description="Live: seconds between two reads of the service graph "
                                     "from Prometheus (Istio, OpenTelemetry service graph, kube-state-metrics).")
    topology_window: str = Field("5m", pattern=r"^\d+[smhd]$", description="Live: the rate window a call edge needs "
                                 "traffic in to count.")


class LeaderElectionSettings(BaseModel):
    """The ``coordination.k8s.io/v1`` Lease that lets one replica of ``foresight serve`` act at a time.

    While enabled, the controllers act (set replicas, send alerts, export desired replicas) only
    while this replica holds the Lease; the API and the read-only views run on every replica. It
    is a Lease of its own, not the operator's: the two containers of a pod elect independently, so
    neither's renewal can make the other lose its Lease.
    """

    model_config = _FROZEN

    enabled: bool = Field(False, description="Act only while holding the Lease (cluster mode; needs Kubernetes access).")
    lease_name: str = Field("foresight-serve-leader", min_length=1, description="Name of the Lease.")
    lease_namespace: str = Field("default", min_length=1, description="Namespace of the Lease (the release's).")
    identity: str | None = Field(None, description="This replica's name in the Lease; unset: $POD_NAME, else the host name.")
    lease_duration_s: float = Field(15.0, gt=0, description="How long a Lease holds without renewal, seconds.")
    renew_deadline_s: float = Field(
        10.0, gt=0, description="How long the leader acts without a successful renewal, seconds (< lease_duration_s)."
    )
    retry_period_s: float = Field(2.0, gt=0, description="Seconds between two reads/renewals of the Lease.")

    @model_validator(mode="after")
    def _ordered(self) -> LeaderElectionSettings:
        if not self.retry_period_s < self.renew_deadline_s < self.lease_duration_s:
            raise ValueError(
                f"need retry_period_s ({self.retry_period_s}) < renew_deadline_s ({self.renew_deadline_s}) < "
                f"lease_duration_s ({self.lease_duration_s})"
            )
        return self


class ClusterSettings(BaseModel):
    """The Kubernetes API, for live mode: credentials and the policies that say what is managed."""

    model_config = _FROZEN

    kubeconfig: str | None = Field(None, description="Path of a kubeconfig; unset: the pod's service account.")
    policies: bool = Field(
        False, description="Each period, take the managed workloads from ScalingPolicy and AnomalyPolicy resources."
    )
    policy_namespace: str | None = Field(None, description="Namespace the policies are read from; unset: all.")
    policy_period_s: float = Field(30.0, gt=0, description="Seconds between two reads of the policies.")


class SchedulerSettings(BaseModel):
    """GPU placement served to kube-scheduler as an extender (``foresight render scheduler`` writes its config).

    kube-scheduler sends an extender no credentials, so the extender's routes take no bearer token;
    only callers from ``clients`` are answered: run Foresight beside kube-scheduler (a sidecar on
    localhost) or list the scheduler's pod network.
    """

    model_config = _FROZEN

    enabled: bool = Field(False, description="Serve POST /scheduler/filter, /scheduler/prioritize and /scheduler/bind; "
                          "nodes and pods are read through cluster.kubeconfig or the pod's service account.")
    policy: Literal["foresight", "fgd"] = Field("foresight", description="Placement policy that ranks nodes and "
                                                "picks devices: Foresight's, or FGD (fragmentation gradient descent).")
    clients: tuple[str, ...] = Field(("127.0.0.1/32", "::1/128"), min_length=1, description="Networks (CIDR) "
                                     "kube-scheduler may call the extender from; others get 403.")
    gpu_usd_per_hour: dict[str, float] = Field(default_factory=dict, description="Hourly on-demand price of one "
                                               "GPU by type (nvidia.com/gpu.product), for the dashboard's cost per model.")
    default_gpu_usd_per_hour: float = Field(2.0, ge=0, description="Hourly price of a GPU of a type not in "
                                            "gpu_usd_per_hour.")
    spot_price_ratio: float = Field(0.3, gt=0, le=1, description="A spot node's GPU price as a share of on demand.")

    @model_validator(mode="after")
    def _networks(self) -> SchedulerSettings:
        for network in self.clients:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(f"clients: {network!r} is not a network (e.g. 10.0.0.0/8)") from None
        return self


class ScaleoutSettings(BaseModel):
    """Sharded scoring on NATS JetStream (``foresight worker``); unset ``nats_url``: one process scores
    everything in memory, as ``foresight serve`` does."""

    model_config = _FROZEN

    nats_url: str | None = Field(None, description="NATS server with JetStream (nats://host:4222); unset: "
                                 "embedded mode, no broker, no workers.")
    stream: str = Field("foresight-samples", min_length=1, description="JetStream stream of the samples; "
                        "its KV buckets and object store are named after it.")
    subject_prefix: str = Field("foresight", min_length=1, description="Subjects are <prefix>.samples.<partition>, "
                                "<prefix>.scores.<partition> and <prefix>.alerts.<partition>.")
    partitions: int = Field(16, ge=1, le=4096, description="Partitions of the sample stream, fixed when it is created.")
    detector: str = Field("surprise", description="Detector the workers run (foresight.detect registry).")
    alert_threshold: float = Field(0.8, gt=0, le=1, description="An onset score at or above this is an alert.")
    lease_ttl_s: float = Field(3.0, gt=0, description="A partition whose owner stops renewing is free after this.")
    checkpoint_every_s: float = Field(5.0, gt=0, description="Seconds between two checkpoints of a partition.")
    max_stream_bytes: int = Field(1 << 30, ge=1 << 20, description="Stream size limit: beyond it publishes are "
                                  "refused (HTTP 429 to remote-write senders), never dropped.")
    retention_s: float = Field(86400.0, gt=0, description="Samples and results older than this expire from the "
                               "streams (workers must never lag this far behind).")


class ForesightSettings(BaseSettings):
    """Everything ``foresight serve`` reads at start-up (module docstring: sources and priority)."""

    model_config = SettingsConfigDict(
        env_prefix="FORESIGHT_", env_nested_delimiter="__", frozen=True, extra="forbid", env_ignore_empty=True
    )

    api: ApiSettings = Field(default_factory=ApiSettings)  # type: ignore[arg-type]
    controllers: ControllerSettings = Field(default_factory=ControllerSettings)  # type: ignore[arg-type]
    simulate: SimulateSettings = Field(default_factory=SimulateSettings)  # type: ignore[arg-type]
    live: LiveSettings = Field(default_factory=LiveSettings)  # type: ignore[arg-type]
    cluster: ClusterSettings = Field(default_factory=ClusterSettings)  # type: ignore[arg-type]
    leader_election: LeaderElectionSettings = Field(default_factory=LeaderElectionSettings)  # type: ignore[arg-type]
    inputs: InputSettings = Field(default_factory=InputSettings)  # type: ignore[arg-type]
    incidents: IncidentSettings = Field(default_factory=IncidentSettings)  # type: ignore[arg-type]
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)  # type: ignore[arg-type]
    scaleout: ScaleoutSettings = Field(default_factory=ScaleoutSettings)  # type: ignore[arg-type]
    audit_url: str = Field(
        "foresight-out/serve/audit.db", description="Audit store: a SQLite file path or a SQLAlchemy URL."
    )
    audit_spill_path: str | None = Field(
        "foresight-audit-unwritten.jsonl", description="Where serve saves the audit records the store has not "
        "taken when it stops during an outage (JSON lines), written first at the next start; unset: they are lost.",
    )
    log_format: Literal["text", "json"] = Field("text", description="Log lines as text, or as JSON objects.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Lowest level logged.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Code (command-line options) first, then the environment, then the YAML file if any."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if settings_cls.model_config.get("yaml_file"):
            sources.append(YamlConfigSettingsSource(settings_cls))
        return tuple(sources)


def load_settings(path: Path | None = None, **overrides: Any) -> ForesightSettings:
    """The settings from ``overrides`` (command-line options), ``FORESIGHT_*`` variables and ``path`` (YAML).

    Raises :class:`~foresight.errors.ConfigError` naming the file or variable and the field.
    """
    settings_cls: type[ForesightSettings] = ForesightSettings
    if path is not None:
        _check_yaml(Path(path))
        config = SettingsConfigDict(**{**ForesightSettings.model_config, "yaml_file": Path(path)})  # type: ignore[typeddict-item]
        settings_cls = type("ForesightSettings", (ForesightSettings,), {"model_config": config, "__doc__": None})
    try:
        return settings_cls(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(top level)"
        env = "FORESIGHT_" + field.upper().replace(".", "__")
        where = f"config {path} or {env}" if path is not None else env
        raise ConfigError(f"{where}: {field}: {first['msg']}") from None


def _check_yaml(path: Path) -> None:
    """Fail with the file's name on an unreadable file, bad YAML or a top level that is not a mapping."""
    try:
        loaded = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"config {path}: cannot read it ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config {path}: not UTF-8 text (is it the YAML settings file?)") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config {path}: not valid YAML ({exc})") from None
    except RecursionError:
        raise ConfigError(f"config {path}: nested too deeply to be a settings file") from None
    if loaded is not None and not isinstance(loaded, dict):
        raise ConfigError(f"config {path}: expected a mapping of settings, got {type(loaded).__name__}")
