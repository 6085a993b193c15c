"""Knative ``autoscaling.knative.dev`` annotations for a scale-to-zero model server (the option beside KEDA).

Knative's autoscaler (KPA) cannot call Foresight, so what can be rendered is the policy's *learned*
part: the keep-alive after the last request (:func:`foresight.autoscale.scale_to_zero.keep_alive_s`,
from the workload's idle gaps, its model's cold start and ``keep_probability``) becomes the
stable window plus ``scale-to-zero-pod-retention-period``; the warm pool's floor becomes
``min-scale``, the replicas started at once from zero ``activation-scale``, the batch slots
``target`` concurrency at the same 70% utilisation as the benchmark. Scaling *ahead* of a
forecast rise is what Knative cannot do alone: use the KEDA path (``scaleToZero`` trigger) for it.

>>> spec = ScaleToZeroSpec(capacity_rps=0.35, concurrency=2, max_replicas=4)
>>> knative_annotations(spec, keep_alive_s=900.0)["autoscaling.knative.dev/scale-to-zero-pod-retention-period"]
'840s'
>>> knative_annotations(spec, keep_alive_s=float("inf"))["autoscaling.knative.dev/min-scale"]
'1'
"""

from __future__ import annotations

import math

from foresight.autoscale.scale_to_zero import ScaleToZeroSpec
from foresight.errors import ConfigError

__all__ = ["KNATIVE_PREFIX", "knative_annotations"]

KNATIVE_PREFIX = "autoscaling.knative.dev/"
_UTILISATION_PERCENT = 70


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
