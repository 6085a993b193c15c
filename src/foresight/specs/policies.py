"""ScalingPolicy and AnomalyPolicy: which workloads Foresight manages, and how.

A ModelDeployment says what to run; a policy says what Foresight may do to something that
already runs (a Deployment written by anyone). Both are namespaced custom resources
(``foresight.ai/v1alpha1``) reconciled by the operator (:mod:`foresight.operator`):

* a **ScalingPolicy** puts one Deployment under predictive scaling. ``mode`` picks the actuator:
  ``keda`` (a KEDA ``ScaledObject`` calling Foresight's gRPC scaler), ``hpa`` (an autoscaling/v2
  HPA following the External metric ``foresight_desired_replicas``, the replicas Foresight's predictive
  policy publishes, with CPU beside it), or ``direct`` (Foresight patches the
  Deployment's ``/scale`` itself, within ``maxStep`` and ``cooldownSeconds``; no object is rendered);
* an **AnomalyPolicy** says which series of a workload are scored (PromQL queries), by which
  detector, from which anomaly probability an alert fires and how long it must last; the operator
  renders it into a ConfigMap the detectors of ``foresight serve`` read.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from foresight.capacity import DEFAULT_TIMEOUT_S, SloModel
from foresight.specs.workload import API_VERSION, LABEL_VALUE, Metadata, SpecModel

__all__ = [
    "AnomalyPolicy",
    "AnomalyPolicySpec",
    "ScalingMode",
    "ScalingPolicy",
    "ScalingPolicySpec",
    "ServiceLevel",
    "Signal",
    "TargetRef",
]

ScalingMode = Literal["keda", "hpa", "direct"]
_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"


class TargetRef(SpecModel):
    """The workload a policy governs, in the policy's own namespace."""

    kind: Literal["Deployment", "StatefulSet"] = Field("Deployment", description="Kind of the workload (apps/v1).")
    name: str = Field(pattern=_DNS_LABEL, description="Name of the workload.")


class ServiceLevel(SpecModel):
    """The service-level objective a workload's replicas are sized for (the predictive policy's SLO model)."""

    base_latency_s: float = Field(gt=0, allow_inf_nan=False, description="Service time of one request at no load.")
    latency_p95_s: float = Field(gt=0, allow_inf_nan=False, description="The p95 latency the replicas must keep.")
    error_ratio: float = Field(0.01, gt=0, lt=1, description="The failed fraction they must keep below.")
    timeout_s: float = Field(
        DEFAULT_TIMEOUT_S, gt=0, allow_inf_nan=False, description="A request queued longer than this fails."
    )

    @model_validator(mode="after")
    def _attainable(self) -> ServiceLevel:
        if self.latency_p95_s <= self.base_latency_s:
            raise ValueError(f"latencyP95Seconds {self.latency_p95_s} cannot be met with a service time of "
                             f"{self.base_latency_s} s (baseLatencySeconds)")
        return self

    def model(self) -> SloModel:
        """The SLO in the model every policy sizes for."""
        return SloModel(base_latency_s=self.base_latency_s, slo_latency_p95_s=self.latency_p95_s,
                        slo_error_ratio=self.error_ratio, timeout_s=self.timeout_s)


class ScalingPolicySpec(SpecModel):
    """How one workload is scaled on its predicted load."""

    target_ref: TargetRef = Field(description="The Deployment or StatefulSet to scale.")
    workload: str | None = Field(
        None,
        pattern=LABEL_VALUE,
        max_length=63,
        description="Name of the workload in Foresight's predictions (the `workload` label of ai_predicted_load); "
        "default: targetRef.name.",
    )
    mode: ScalingMode = Field(
        "keda",
        description="keda: render a KEDA ScaledObject on Foresight's gRPC scaler; hpa: an autoscaling/v2 HPA "
        "following the External metric foresight_desired_replicas (the replicas Foresight's predictive policy "
        "publishes; CPU at 90% beside it); direct: Foresight patches the workload's /scale itself.",
    )
    min_replicas: int = Field(1, ge=0, description="Fewest replicas (0 only with mode keda, which can scale to zero).")
    max_replicas: int = Field(10, ge=1, description="Most replicas.")
    capacity_rps: float = Field(gt=0, allow_inf_nan=False, description="Requests/s one replica serves at 100% load.")
    target_utilisation_percent: float = Field(
        70.0, gt=0, le=100, description="Percent of its capacity each replica should run at (the HPA's unit)."
    )
    startup_delay_s: int = Field(
        60, ge=0, le=3600, description="Seconds from asking for a pod until it serves: how far ahead replicas are sized."
    )
    slo: ServiceLevel | None = Field(
        None, description="Size replicas for this SLO by the queueing model instead of targetUtilisationPercent."
    )
    load_query: str | None = Field(
        None, min_length=1, max_length=4096,
        description="PromQL of this workload's offered load in req/s (default: serve's live.loadQuery template).",
    )
    max_step: int = Field(4, ge=1, description="mode direct: most replicas added or removed in one decision.")
    cooldown_s: int = Field(
        60, ge=0, description="mode direct: seconds after a scaling action before the next one (KEDA: cooldownPeriod)."
    )
    dry_run: bool = Field(False, description="Decide and audit, but never change the workload (mode direct).")

    @model_validator(mode="after")
    def _coherent(self) -> ScalingPolicySpec:
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"minReplicas {self.min_replicas} is above maxReplicas {self.max_replicas}")
        if self.min_replicas == 0 and self.mode != "keda":
            raise ValueError(f"minReplicas 0 needs mode keda (mode {self.mode} cannot scale to zero)")
        return self

    @property
    def workload_name(self) -> str:
        """The workload's name in predictions."""
        return self.workload or self.target_ref.name


class ScalingPolicy(SpecModel):
    """Puts a workload under Foresight's predictive scaling (apiVersion foresight.ai/v1alpha1)."""

    api_version: Literal["foresight.ai/v1alpha1"] = Field(API_VERSION, description="Version of this spec's schema.")
    kind: Literal["ScalingPolicy"] = Field("ScalingPolicy", description="Always ScalingPolicy.")
    metadata: Metadata = Field(description="Name and namespace (the workload's namespace).")
    spec: ScalingPolicySpec = Field(description="Desired state.")


class Signal(SpecModel):
    """One series family to score: a name for alerts and the PromQL query that yields it."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$", description="Signal name, used in alert labels ('p95_latency').")
    query: str = Field(min_length=1, max_length=4096, description="PromQL query; every series it returns is scored.")


class AnomalyPolicySpec(SpecModel):
    """Which series of a workload are scored for anomalies, and when an alert fires."""

    target_ref: TargetRef = Field(description="The workload the signals describe (named in alerts).")
    signals: list[Signal] = Field(min_length=1, max_length=50, description="The series to score (at least one).")
    detector: Literal["surprise", "ewma", "ewma-two-sided"] = Field(
        "surprise", description="Streaming detector (see `foresight detect --detector`)."
    )
    threshold: float = Field(
        0.99, gt=0, lt=1, description="Anomaly probability above which a series counts as anomalous."
    )
    for_s: int = Field(60, ge=0, description="Seconds a series must stay anomalous before the alert fires.")
    resolve_after_s: int = Field(300, ge=0, description="Seconds below the threshold before the alert resolves.")
    severity: Literal["info", "warning", "critical"] = Field("warning", description="Alert `severity` label.")

    @model_validator(mode="after")
    def _unique_signals(self) -> AnomalyPolicySpec:
        names = [s.name for s in self.signals]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"signal names must be unique; repeated: {', '.join(repeated)}")
        return self


class AnomalyPolicy(SpecModel):
    """Puts a workload's series under Foresight's anomaly detection (apiVersion foresight.ai/v1alpha1)."""

    api_version: Literal["foresight.ai/v1alpha1"] = Field(API_VERSION, description="Version of this spec's schema.")
    kind: Literal["AnomalyPolicy"] = Field("AnomalyPolicy", description="Always AnomalyPolicy.")
    metadata: Metadata = Field(description="Name and namespace (the workload's namespace).")
    spec: AnomalyPolicySpec = Field(description="Desired state.")
