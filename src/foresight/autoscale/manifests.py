"""The Kubernetes objects that let a cluster scale on Foresight's predicted load, as plain dicts.

Two standard routes, one per cluster set-up (apply one of them per workload, not both: two
autoscalers on one Deployment fight):

* **HPA** (autoscaling/v2) on the External metric ``ai_predicted_load``, which Foresight's
  Prometheus exporter publishes with the labels ``namespace`` and ``workload`` and which
  prometheus-adapter serves through the rule in :func:`adapter_rules` (merge its
  ``externalRules`` into the adapter's config);
* **KEDA** ``ScaledObject`` whose ``external`` trigger calls Foresight's gRPC scaler
  (:mod:`foresight.adapters.keda`) at ``scaler_address``; it can scale to zero, and its
  ``fallback`` holds the replicas when predictions go stale.

Both aim at the same arithmetic: ``replicas = ceil(predicted load / target per replica)`` with
``target per replica = capacity_rps x target_utilisation_percent / 100``.

A third form, :func:`desired_replicas_hpa`, is the one ``foresight bench autoscale`` measures as
its headline ``predictive``: the HPA follows ``foresight_desired_replicas`` (the replicas the
predictive policy already sized, stabilised and floored) at ``AverageValue`` 1, with CPU beside it
as the reactive safety net and no scale-down stabilisation of its own (the policy stabilises).
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from foresight.errors import ConfigError
from foresight.specs.model_deployment import DEFAULT_SCALER_ADDRESS

__all__ = [
    "DESIRED_REPLICAS",
    "NAMESPACE_LABEL",
    "WORKLOAD_LABEL",
    "AutoscalingSpec",
    "adapter_rules",
    "desired_replicas_hpa",
    "hpa",
    "quantity",
    "scaled_object",
]

#: The exporter's gauge of the replicas the predictive policy recommends (the bench's headline path).
DESIRED_REPLICAS = "foresight_desired_replicas"

#: The labels of the ``ai_predicted_load`` series that say whose prediction it is.
NAMESPACE_LABEL = "namespace"
WORKLOAD_LABEL = "workload"
_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_MANAGED = {"app.kubernetes.io/managed-by": "foresight"}


class AutoscalingSpec(BaseModel):
    """How one workload should be scaled on its predicted load."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    namespace: str = Field(pattern=_DNS_LABEL, max_length=63, description="The workload's namespace.")
    workload: str = Field(
        pattern=_DNS_LABEL, max_length=63, description="The workload's name in Foresight's predictions (a label value)."
    )
    deployment: str | None = Field(
        None, pattern=_DNS_LABEL, max_length=63, description="The Deployment to scale (default: the workload's name)."
    )
    min_replicas: int = Field(1, ge=0, description="Fewest replicas; 0 lets KEDA scale to zero (not the HPA).")
    max_replicas: int = Field(10, ge=1, description="Most replicas.")
    capacity_rps: float = Field(gt=0, allow_inf_nan=False, description="Requests/s one replica serves at 100%.")
    target_utilisation_percent: float = Field(
        70.0, gt=0, le=100, description="Percent of its capacity each replica should run at (the HPA's unit)."
    )
    metric: str = Field(
        "ai_predicted_load", pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$", description="Predicted-load metric name."
    )
    scaler_address: str = Field(
        DEFAULT_SCALER_ADDRESS, min_length=3, description="host:port of Foresight's KEDA scaler."
    )
    activation_rps: float = Field(
        0.0, ge=0, allow_inf_nan=False, description="KEDA: predicted req/s above which the workload runs at all."
    )
    polling_interval_s: int = Field(15, ge=1, description="KEDA `pollingInterval`: how often it asks the scaler.")
    cooldown_s: int = Field(300, ge=0, description="KEDA `cooldownPeriod`: inactive time before scaling to zero.")
    fallback_replicas: int | None = Field(
        None, ge=1, description="KEDA: floor of replicas while predictions are stale (default: max(1, min_replicas))."
    )
    fallback_failures: int = Field(3, ge=1, description="KEDA: failed scaler calls before the fallback applies.")
    adapter_namespace: str = Field(
        "monitoring", pattern=_DNS_LABEL, max_length=63, description="Namespace of prometheus-adapter's ConfigMap."
    )

    @model_validator(mode="after")
    def _coherent(self) -> AutoscalingSpec:
        if self.min_replicas > self.max_replicas:
            raise ConfigError(f"min_replicas ({self.min_replicas}) is above max_replicas ({self.max_replicas})")
        if self.fallback_replicas is not None and self.fallback_replicas > self.max_replicas:
            raise ConfigError(f"fallback_replicas ({self.fallback_replicas}) is above max_replicas ({self.max_replicas})")
        if round(self.target_per_replica * 1000) < 1:
            raise ConfigError(f"target per replica {self.target_per_replica!r} rounds to 0 at milli precision")
        return self

    @property
    def target_per_replica(self) -> float:
        """The load each replica should take: capacity x target utilisation (the HPA's ``averageValue``)."""
        return self.capacity_rps * self.target_utilisation_percent / 100.0


def quantity(value: float) -> str:
    """A Kubernetes quantity for ``value`` at milli precision, as the API server would print it.

    >>> quantity(56.0), quantity(35.5), quantity(0.25)
    ('56', '35500m', '250m')
    """
    milli = round(value * 1000)
    return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"


def _decimal(value: float) -> str:
    """``value`` at milli precision as a plain decimal (KEDA metadata are strings)."""
    return f"{round(value * 1000) / 1000:.3f}".rstrip("0").rstrip(".")


def _target_ref(spec: AutoscalingSpec) -> dict[str, str]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "name": spec.deployment or spec.workload}


def hpa(spec: AutoscalingSpec) -> dict[str, Any]:
    """An autoscaling/v2 HorizontalPodAutoscaler on the External predicted-load metric (``AverageValue``)."""
    return _hpa_document(spec, [_external(spec, spec.metric, quantity(spec.target_per_replica))])


def _external(spec: AutoscalingSpec, metric: str, average_value: str) -> dict[str, Any]:
    """An External metric of this workload (selected by Foresight's namespace/workload labels)."""
    selector = {NAMESPACE_LABEL: spec.namespace, WORKLOAD_LABEL: spec.workload}
    return {
        "type": "External",
        "external": {
            "metric": {"name": metric, "selector": {"matchLabels": selector}},
            "target": {"type": "AverageValue", "averageValue": average_value},
        },
    }


def _hpa_document(spec: AutoscalingSpec, metrics: list[dict[str, Any]],
                  behavior: dict[str, Any] | None = None) -> dict[str, Any]:
    if spec.min_replicas < 1:
        raise ConfigError("the HPA cannot scale to zero (min_replicas 0): use the KEDA ScaledObject, or min_replicas >= 1")
    body: dict[str, Any] = {
        "scaleTargetRef": _target_ref(spec),
        "minReplicas": spec.min_replicas,
        "maxReplicas": spec.max_replicas,
        "metrics": metrics,
    }
    if behavior is not None:
        body["behavior"] = behavior
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": spec.workload, "namespace": spec.namespace, "labels": dict(_MANAGED)},
        "spec": body,
    }


def desired_replicas_hpa(
    spec: AutoscalingSpec, cpu_percent: int | None = 90, scale_down_window_s: int = 0,
    scale_up_tolerance: float | None = 0.0,
) -> dict[str, Any]:
    """The bench's headline HPA: External ``foresight_desired_replicas`` at ``AverageValue`` 1 (so
    the HPA wants exactly the replicas Foresight published), CPU at ``cpu_percent`` beside it (the
    HPA takes the larger: should Foresight stop publishing, CPU still scales up), scale-down
    stabilisation ``scale_down_window_s`` (0: the policy's own window already held scale-downs)
    and scale-up tolerance ``scale_up_tolerance``: at the cluster-wide 10% an HPA at 10 replicas
    ignores Foresight asking for 11 (11 / 10 = 1.10 is within tolerance), so 0 lets every pod
    Foresight asks for start at once. The field needs Kubernetes 1.35+ (beta, on by default; 1.33-1.34
    behind the HPAConfigurableTolerance gate); None leaves it out for older clusters.

    Serve the metric through :func:`adapter_rules` with ``metric=DESIRED_REPLICAS``; the
    capacity and target utilisation of ``spec`` are unused (the policy sized the replicas).

    >>> doc = desired_replicas_hpa(AutoscalingSpec(namespace="shop", workload="api", capacity_rps=50))
    >>> [m["type"] for m in doc["spec"]["metrics"]], doc["spec"]["behavior"]
    (['External', 'Resource'], {'scaleDown': {'stabilizationWindowSeconds': 0}, 'scaleUp': {'tolerance': '0'}})
    """
    if cpu_percent is not None and not 1 <= cpu_percent <= 100:
        raise ConfigError(f"cpu_percent {cpu_percent} must be within 1..100 (or None for no CPU metric)")
    if not 0 <= scale_down_window_s <= 3600:
        raise ConfigError(f"scale_down_window_s {scale_down_window_s} must be within 0..3600 (the HPA's limit)")
    if scale_up_tolerance is not None and not 0 <= scale_up_tolerance < 1:
        raise ConfigError(f"scale_up_tolerance {scale_up_tolerance} must be within [0, 1) (or None to leave it out)")
    metrics = [_external(spec, DESIRED_REPLICAS, "1")]
    if cpu_percent is not None:
        metrics.append({
            "type": "Resource",
            "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": cpu_percent}},
        })
    behavior: dict[str, Any] = {"scaleDown": {"stabilizationWindowSeconds": scale_down_window_s}}
    if scale_up_tolerance is not None:
        behavior["scaleUp"] = {"tolerance": quantity(scale_up_tolerance)}
    return _hpa_document(spec, metrics, behavior)


def scaled_object(spec: AutoscalingSpec) -> dict[str, Any]:
    """A KEDA ScaledObject whose ``external`` trigger asks Foresight's scaler (``AverageValue``).

    The fallback (``currentReplicasIfHigher``) keeps at least ``fallback_replicas`` and never
    scales down while the scaler refuses stale predictions.
    """
    fallback = spec.fallback_replicas or max(1, spec.min_replicas)
    trigger_metadata = {
        "scalerAddress": spec.scaler_address,
        "workload": spec.workload,
        "namespace": spec.namespace,
        "metric": spec.metric,
        "targetValue": _decimal(spec.target_per_replica),
        "activationThreshold": _decimal(spec.activation_rps),
    }
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": spec.workload, "namespace": spec.namespace, "labels": dict(_MANAGED)},
        "spec": {
            "scaleTargetRef": _target_ref(spec),
            "minReplicaCount": spec.min_replicas,
            "maxReplicaCount": spec.max_replicas,
            "pollingInterval": spec.polling_interval_s,
            "cooldownPeriod": spec.cooldown_s,
            "fallback": {
                "failureThreshold": spec.fallback_failures,
                "replicas": fallback,
                "behavior": "currentReplicasIfHigher",
            },
            "triggers": [{"type": "external", "metricType": "AverageValue", "metadata": trigger_metadata}],
        },
    }


def adapter_rules(spec: AutoscalingSpec) -> dict[str, Any]:
    """A ConfigMap with the prometheus-adapter ``externalRules`` entry that serves ``spec.metric``.

    ``max by`` keeps one value per workload even when several exporter replicas publish it.
    """
    rule = {
        "seriesQuery": f'{spec.metric}{{{NAMESPACE_LABEL}!="",{WORKLOAD_LABEL}!=""}}',
        "resources": {"overrides": {NAMESPACE_LABEL: {"resource": "namespace"}}},
        "name": {"matches": f"^{spec.metric}$", "as": spec.metric},
        "metricsQuery": f"max by ({NAMESPACE_LABEL}, {WORKLOAD_LABEL}) (<<.Series>>{{<<.LabelMatchers>>}})",
    }
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "foresight-adapter-rules", "namespace": spec.adapter_namespace, "labels": dict(_MANAGED)},
        "data": {"config.yaml": yaml.safe_dump({"externalRules": [rule]}, sort_keys=False)},
    }
