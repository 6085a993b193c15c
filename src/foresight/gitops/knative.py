"""Knative ``autoscaling.knative.dev`` annotations for a scale-to-zero model server (the option beside KEDA).

Knative's autoscaler (KPA) cannot call Foresight, so what can be rendered is the policy's *learned*
part: the keep-alive after the last request (:func:`foresight.autoscale.scale_to_zero.keep_alive_s`,
from the workload's idle gaps, its model's cold start and ``keep_probability``) becomes the
stable window plus ``scale-to-zero-pod-retention-period``; the warm pool's floor becomes
``min-scale``, the replicas started at once from zero ``activation-scale``, the batch slots
``target`` concurrency at the same 70% utilisation as the benchmark. Scaling *ahead* of a
forecast rise is what Knative cannot do alone: use the KEDA path (``scaleToZero`` trigger) for it.

:func:`knative_service` turns a rendered model-server Deployment into the ``serving.knative.dev/v1``
Service that ``autoscaling.via: knative`` renders: the same hardened pod, its port named ``http1``
(Knative's), probes without a port (Knative probes the serving port itself), ``containerConcurrency``
and the annotations above. The activator is kept in the request path (``target-burst-capacity:
-1``): it queues requests during a cold start anyway, and Knative's own namespace is then the one
peer the NetworkPolicy must admit: the activator on the queue-proxy's serving port, the
autoscaler on its metrics port. Pod fields that Knative accepts only behind a
``config-features`` flag are listed in the Service's ``foresight.ai/knative-features`` annotation.

>>> spec = ScaleToZeroSpec(capacity_rps=0.35, concurrency=2, max_replicas=4)
>>> knative_annotations(spec, keep_alive_s=900.0)["autoscaling.knative.dev/scale-to-zero-pod-retention-period"]
'840s'
>>> knative_annotations(spec, keep_alive_s=float("inf"))["autoscaling.knative.dev/min-scale"]
'1'
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any

from foresight.autoscale.scale_to_zero import ScaleToZeroSpec
from foresight.errors import ConfigError

__all__ = [
    "ACTIVATOR_NAMESPACE",
    "FEATURES_ANNOTATION",
    "KNATIVE_PREFIX",
    "QUEUE_PROXY_METRICS_PORT",
    "QUEUE_PROXY_PORT",
    "knative_annotations",
    "knative_features",
    "knative_service",
]

KNATIVE_PREFIX = "autoscaling.knative.dev/"
FEATURES_ANNOTATION = "foresight.ai/knative-features"
#: where Knative's activator and autoscaler run; the queue-proxy sidecar's ports for requests (from the
#: activator) and for the concurrency metrics the autoscaler scrapes
ACTIVATOR_NAMESPACE = "knative-serving"
QUEUE_PROXY_PORT = 8012
QUEUE_PROXY_METRICS_PORT = 9090
_UTILISATION_PERCENT = 70
#: pod-spec fields Knative Serving accepts only with a ``config-features`` flag (its CRD says which)
_FLAGGED_POD_FIELDS = {
    "affinity": "kubernetes.podspec-affinity",
    "initContainers": "kubernetes.podspec-init-containers",
    "nodeSelector": "kubernetes.podspec-nodeselector",
    "priorityClassName": "kubernetes.podspec-priorityclassname",
    "runtimeClassName": "kubernetes.podspec-runtimeclassname",
    "schedulerName": "kubernetes.podspec-schedulername",
    "securityContext": "kubernetes.podspec-securitycontext",
    "tolerations": "kubernetes.podspec-tolerations",
    "topologySpreadConstraints": "kubernetes.podspec-topologyspreadconstraints",
}
_FLAGGED_VOLUMES = {"emptyDir": "kubernetes.podspec-volumes-emptydir", "hostPath": "kubernetes.podspec-volumes-hostpath",
                    "csi": "kubernetes.podspec-volumes-csi", "ephemeral": "kubernetes.podspec-volumes-ephemeral",
                    "persistentVolumeClaim": "kubernetes.podspec-persistent-volume-claim"}


def knative_annotations(
    spec: ScaleToZeroSpec, *, keep_alive_s: float, activation_replicas: int = 1, window_s: float = 60.0
) -> dict[str, str]:
    """The revision template's annotations for ``spec`` and a learned ``keep_alive_s`` (inf: never to zero)."""
    if not 6.0 <= window_s <= 3600.0:
        raise ConfigError(f"Knative: the stable window must be within 6s..1h, got {window_s:g}s")
    if math.isnan(keep_alive_s) or keep_alive_s < 0:
        raise ConfigError(f"Knative: keep_alive_s must be >= 0 (or inf), got {keep_alive_s}")
    if activation_replicas < 1:
        raise ConfigError(f"Knative: activation_replicas must be >= 1, got {activation_replicas}")
    floor = spec.min_replicas if math.isfinite(keep_alive_s) else max(1, spec.min_replicas)
    annotations = {
        "class": "kpa.autoscaling.knative.dev",
        "metric": "concurrency",
        "target": str(spec.concurrency),
        "target-utilization-percentage": str(_UTILISATION_PERCENT),
        "window": f"{window_s:g}s",
        "min-scale": str(floor),
        "max-scale": str(spec.max_replicas),
        "activation-scale": str(min(activation_replicas, spec.max_replicas)),
    }
    if floor == 0:
        # KPA scales to zero after a window without requests; the retention keeps the last pod the rest
        annotations["scale-to-zero-pod-retention-period"] = f"{max(0, math.ceil(keep_alive_s - window_s))}s"
    return {KNATIVE_PREFIX + key: value for key, value in annotations.items()}


def knative_features(pod: Mapping[str, Any]) -> list[str]:
    """The ``config-features`` flags a pod spec needs on Knative Serving, sorted.

    >>> knative_features({"containers": [], "initContainers": [], "volumes": [{"name": "t", "emptyDir": {}}]})
    ['kubernetes.podspec-init-containers', 'kubernetes.podspec-volumes-emptydir']
    """
    flags = {flag for key, flag in _FLAGGED_POD_FIELDS.items() if key in pod}
    flags |= {flag for volume in pod.get("volumes", []) for key, flag in _FLAGGED_VOLUMES.items() if key in volume}
    return sorted(flags)


def knative_service(deployment: Mapping[str, Any], metadata: Mapping[str, Any], spec: ScaleToZeroSpec,
                    *, keep_alive_s: float) -> dict[str, Any]:
    """The Knative Service serving ``deployment``'s pod template under ``metadata`` (see the module docstring)."""
    template = copy.deepcopy(dict(deployment["spec"]["template"]))
    pod = template["spec"]
    for container in pod["containers"]:
        if "ports" in container:  # Knative routes to one port, which it knows by the name http1 (or h2c)
            container["ports"] = [{"name": "http1", "containerPort": container["ports"][0]["containerPort"]}]
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            for handler in ("tcpSocket", "httpGet"):
                if handler in container.get(probe, {}):
                    container[probe][handler].pop("port", None)
    pod["containerConcurrency"] = spec.concurrency
    template["metadata"]["annotations"] = {
        **template["metadata"].get("annotations", {}),
        **knative_annotations(spec, keep_alive_s=keep_alive_s),
        KNATIVE_PREFIX + "target-burst-capacity": "-1",
    }
    out_meta = copy.deepcopy(dict(metadata))
    flags = knative_features(pod)
    if flags:
        out_meta["annotations"] = {**out_meta.get("annotations", {}), FEATURES_ANNOTATION: ",".join(flags)}
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "metadata": out_meta,
            "spec": {"template": template}}
