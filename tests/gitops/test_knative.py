"""Knative annotations rendered from the scale-to-zero policy: names, values and a schema-valid Service."""

from __future__ import annotations

import math
from pathlib import Path

import jsonschema
import pytest
import yaml

from foresight.autoscale.scale_to_zero import GAP_EDGES_S, ScaleToZeroSpec, keep_alive_s
from foresight.errors import ConfigError
from foresight.gitops.knative import KNATIVE_PREFIX, knative_annotations

SPEC = ScaleToZeroSpec(capacity_rps=0.35, concurrency=2, max_replicas=4)


def test_a_learned_keep_alive_becomes_the_window_plus_the_retention_period():
    counts = [0] * len(GAP_EDGES_S)
    counts[15], counts[35] = 90, 10  # gaps of ~22 s and ~26 min
    keep = keep_alive_s(counts, 67.0, 0.05)
    annotations = knative_annotations(SPEC, keep_alive_s=keep, activation_replicas=2)
    assert annotations == {
        "autoscaling.knative.dev/class": "kpa.autoscaling.knative.dev",
        "autoscaling.knative.dev/metric": "concurrency",
        "autoscaling.knative.dev/target": "2",
        "autoscaling.knative.dev/target-utilization-percentage": "70",
        "autoscaling.knative.dev/window": "60s",
        "autoscaling.knative.dev/min-scale": "0",
        "autoscaling.knative.dev/max-scale": "4",
        "autoscaling.knative.dev/activation-scale": "2",
        "autoscaling.knative.dev/scale-to-zero-pod-retention-period": f"{math.ceil(keep - 60.0)}s",
    }


def test_never_to_zero_when_no_keep_alive_is_safe_and_the_floor_is_kept():
    never = knative_annotations(SPEC, keep_alive_s=math.inf)
    assert never[KNATIVE_PREFIX + "min-scale"] == "1"
    assert KNATIVE_PREFIX + "scale-to-zero-pod-retention-period" not in never
    floor = knative_annotations(SPEC.model_copy(update={"min_replicas": 2}), keep_alive_s=30.0)
    assert floor[KNATIVE_PREFIX + "min-scale"] == "2"
    short = knative_annotations(SPEC, keep_alive_s=30.0)
    assert short[KNATIVE_PREFIX + "scale-to-zero-pod-retention-period"] == "0s"


@pytest.mark.parametrize("kwargs, message", [
    ({"keep_alive_s": 10.0, "window_s": 3.0}, "6s..1h"),
    ({"keep_alive_s": -1.0}, "keep_alive_s"),
    ({"keep_alive_s": float("nan")}, "keep_alive_s"),
    ({"keep_alive_s": 10.0, "activation_replicas": 0}, "activation_replicas"),
])
def test_impossible_settings_are_refused(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        knative_annotations(SPEC, **kwargs)


def test_the_annotations_fit_a_knative_service_that_its_crd_schema_accepts(shared_data: Path):
    crd = yaml.load((shared_data / "schemas" / "knative-serving-service-crd.yaml").read_text(), Loader=yaml.CSafeLoader)
    documents = crd if isinstance(crd, list) else [crd]
    schema = next(v["schema"]["openAPIV3Schema"] for d in documents if d and d.get("kind") == "CustomResourceDefinition"
                  for v in d["spec"]["versions"] if v["name"] == "v1")
    service = {
        "apiVersion": "serving.knative.dev/v1", "kind": "Service", "metadata": {"name": "sdxl", "namespace": "ml"},
        "spec": {"template": {
            "metadata": {"annotations": knative_annotations(SPEC, keep_alive_s=900.0)},
            "spec": {"containerConcurrency": SPEC.concurrency,
                     "containers": [{"image": "registry.example/sdxl:1", "resources": {"limits": {"nvidia.com/gpu": "1"}}}]},
        }},
    }
    jsonschema.validate(service, schema)
    assert all(isinstance(v, str) for v in service["spec"]["template"]["metadata"]["annotations"].values())
