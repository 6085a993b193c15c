"""Knative annotations rendered from the scale-to-zero policy: names, values and a schema-valid Service."""

from __future__ import annotations

import math
from pathlib import Path

import jsonschema
import pytest
import yaml

from foresight.autoscale.scale_to_zero import GAP_EDGES_S, ScaleToZeroSpec, keep_alive_s
from pydantic import ValidationError

from foresight.errors import ConfigError
from foresight.gitops.admit import admit
from foresight.gitops.knative import (
    FEATURES_ANNOTATION,
    KNATIVE_PREFIX,
    QUEUE_PROXY_METRICS_PORT,
    QUEUE_PROXY_PORT,
    knative_annotations,
    knative_features,
)
from foresight.gitops.render import check, render
from foresight.gitops.validate import CrdSchemas
from foresight.security import Level
from foresight.specs import ModelDeployment, load_specs

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


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "model-deployment-knative.yaml"


def _knative_spec(**autoscaling: object) -> dict:
    return {"apiVersion": "foresight.ai/v1alpha1", "kind": "ModelDeployment", "metadata": {"name": "m", "namespace": "ml"},
            "spec": {"model": {"uri": "s3://m/1", "version": "v1"}, "framework": "sklearn", "mesh": None,
                     "autoscaling": {"policy": "predictive", "via": "knative", "capacityRps": 1.0, **autoscaling}}}


def test_via_knative_renders_a_knative_service_the_crd_and_the_scanner_accept(crds: CrdSchemas):
    md = load_specs(EXAMPLE)[0]
    docs = render(md)
    assert [d["kind"] for d in docs] == ["Service", "NetworkPolicy"]  # no Deployment, Service or autoscaler
    validation = check(docs, crds)
    assert validation.problems == () and validation.unchecked == () and len(validation.checked) == 2
    admission = admit(md, docs)
    assert admission.blocking == () and not [f for f in admission.findings if f.level is Level.ERROR]
    service, policy = docs
    assert service["apiVersion"] == "serving.knative.dev/v1" and service["metadata"]["name"] == "sketch-to-image"
    template = service["spec"]["template"]
    pod = template["spec"]
    server = pod["containers"][0]
    assert server["ports"] == [{"name": "http1", "containerPort": 8080}]
    assert all("port" not in handler for probe in ("readinessProbe", "livenessProbe", "startupProbe")
               for handler in server[probe].values() if isinstance(handler, dict))
    assert pod["containerConcurrency"] == 2 and "replicas" not in service["spec"]
    annotations = template["metadata"]["annotations"]
    assert annotations[KNATIVE_PREFIX + "min-scale"] == "0" and annotations[KNATIVE_PREFIX + "max-scale"] == "4"
    assert annotations[KNATIVE_PREFIX + "scale-to-zero-pod-retention-period"] == "840s"  # 900 s keep-alive - 60 s window
    assert annotations[KNATIVE_PREFIX + "target-burst-capacity"] == "-1"
    assert service["metadata"]["annotations"][FEATURES_ANNOTATION].split(",") == [
        "kubernetes.podspec-init-containers", "kubernetes.podspec-securitycontext", "kubernetes.podspec-tolerations",
        "kubernetes.podspec-volumes-emptydir"]
    knative = policy["spec"]["ingress"][-1]
    assert knative["ports"] == [{"protocol": "TCP", "port": QUEUE_PROXY_PORT},
                                {"protocol": "TCP", "port": QUEUE_PROXY_METRICS_PORT}]
    assert knative["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "knative-serving"}}}]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= template["metadata"]["labels"].items()


def test_a_knative_floor_without_keep_alive_never_goes_to_zero():
    md = ModelDeployment.model_validate(_knative_spec(minReplicas=1))
    annotations = render(md)[0]["spec"]["template"]["metadata"]["annotations"]
    assert annotations[KNATIVE_PREFIX + "min-scale"] == "1"
    assert KNATIVE_PREFIX + "scale-to-zero-pod-retention-period" not in annotations


@pytest.mark.parametrize("change, message", [
    ({"autoscaling": {"policy": "predictive", "via": "knative", "capacityRps": 1.0, "minReplicas": 0}},
     "needs keepAliveSeconds"),
    ({"autoscaling": {"policy": "cpu", "via": "knative"}}, "set policy 'predictive'"),
    ({"autoscaling": {"policy": "predictive", "via": "keda", "capacityRps": 1.0, "keepAliveSeconds": 60}},
     "via 'knative' only"),
    ({"mesh": {}}, "set mesh: null"),
    ({"mesh": {}, "canary": {"model": {"uri": "s3://m/2", "version": "v2"}, "traffic": {"stable": 90, "canary": 10}}},
     "remove canary"),
])
def test_knative_settings_that_cannot_work_are_refused_naming_the_field(change: dict, message: str):
    raw = _knative_spec()
    raw["spec"] |= change
    with pytest.raises(ValidationError, match=message):
        ModelDeployment.model_validate(raw)


def test_the_flagged_fields_are_the_ones_the_knative_crd_puts_behind_a_feature_flag(shared_data: Path):
    crd = yaml.load((shared_data / "schemas" / "knative-serving-service-crd.yaml").read_text(), Loader=yaml.CSafeLoader)
    pod = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["template"][
        "properties"]["spec"]["properties"]
    volume = pod["volumes"]["items"]["properties"]
    for field, value in (*pod.items(), *volume.items()):
        flagged = "feature flag - " in value.get("description", "")
        found = knative_features({"containers": [], field: {}} if field in pod else {"volumes": [{field: {}}]})
        if flagged and field in {"affinity", "initContainers", "nodeSelector", "securityContext", "tolerations",
                                 "emptyDir", "persistentVolumeClaim", "topologySpreadConstraints"}:
            assert found == [value["description"].split("feature flag - ")[1].split()[0]], field
        elif not flagged:
            assert found == [], field
