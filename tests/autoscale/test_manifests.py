"""Autoscaling manifests: the HPA and the adapter rule pass Kubernetes' own schemas, the ScaledObject
passes KEDA's CRD, and both carry the same per-replica target the KEDA scaler accepts."""

from __future__ import annotations

import math

import kubernetes_validate
import pytest
import yaml

from foresight.adapters.keda import parse_query
from foresight.autoscale.manifests import (
    AutoscalingSpec,
    adapter_rules,
    hpa,
    quantity,
    scaled_object,
)
from foresight.errors import ConfigError
from foresight.gitops.validate import CrdSchemas, validate_manifests

SPEC = AutoscalingSpec(namespace="shop", workload="api", deployment="api-v2", capacity_rps=50.7, max_replicas=20)


def milli(text: str) -> int:
    return int(text[:-1]) if text.endswith("m") else int(text) * 1000


def test_hpa_scales_the_deployment_on_the_external_predicted_load():
    doc = hpa(SPEC)
    assert kubernetes_validate.validate(doc, "1.37", strict=True)
    spec = doc["spec"]
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api-v2"}
    assert (spec["minReplicas"], spec["maxReplicas"]) == (1, 20)
    (metric,) = spec["metrics"]
    assert metric["type"] == "External"
    assert metric["external"]["metric"] == {
        "name": "ai_predicted_load",
        "selector": {"matchLabels": {"namespace": "shop", "workload": "api"}},
    }
    # 50.7 req/s x 0.7 = 35.49 req/s per replica
    assert metric["external"]["target"] == {"type": "AverageValue", "averageValue": "35490m"}


def test_scaled_object_passes_kedas_crd_and_its_trigger_is_what_the_scaler_reads(crds: CrdSchemas) -> None:
    doc = scaled_object(SPEC.model_copy(update={"min_replicas": 0, "activation_rps": 0.5}))
    validation = validate_manifests([doc], crds)
    assert validation.problems == () and len(validation.checked) == 1
    spec = doc["spec"]
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (0, 20)
    assert spec["fallback"] == {"failureThreshold": 3, "replicas": 1, "behavior": "currentReplicasIfHigher"}
    (trigger,) = spec["triggers"]
    assert (trigger["type"], trigger["metricType"]) == ("external", "AverageValue")
    assert trigger["metadata"]["scalerAddress"] == "foresight.foresight.svc:9090"
    query = parse_query(doc["metadata"]["name"], doc["metadata"]["namespace"], trigger["metadata"])
    assert (query.namespace, query.workload, query.metric) == ("shop", "api", "ai_predicted_load")
    assert (query.target_value, query.activation_threshold) == (35.49, 0.5)


def test_hpa_and_keda_want_the_same_replicas_for_any_load():
    target_hpa = milli(hpa(SPEC)["spec"]["metrics"][0]["external"]["target"]["averageValue"]) / 1000
    target_keda = float(scaled_object(SPEC)["spec"]["triggers"][0]["metadata"]["targetValue"])
    assert target_hpa == target_keda == pytest.approx(SPEC.capacity_rps * SPEC.target_utilisation_percent / 100)
    for load in (0.1, 35.49, 35.5, 709.8, 1000.0):
        assert math.ceil(load / target_hpa) == math.ceil(load / target_keda)


def test_adapter_rule_is_a_valid_config_map_serving_the_metric_by_namespace():
    doc = adapter_rules(SPEC)
    assert kubernetes_validate.validate(doc, "1.37", strict=True)
    (rule,) = yaml.safe_load(doc["data"]["config.yaml"])["externalRules"]
    assert rule["seriesQuery"] == 'ai_predicted_load{namespace!="",workload!=""}'
    assert rule["resources"] == {"overrides": {"namespace": {"resource": "namespace"}}}
    assert rule["name"] == {"matches": "^ai_predicted_load$", "as": "ai_predicted_load"}
    assert "<<.Series>>{<<.LabelMatchers>>}" in rule["metricsQuery"]


def test_quantity_and_targets_keep_milli_precision():
    assert [quantity(v) for v in (1.0, 0.001, 1234.5678, 35.49)] == ["1", "1m", "1234568m", "35490m"]
    tiny = AutoscalingSpec(namespace="a", workload="b", capacity_rps=0.01, target_utilisation_percent=50)
    assert scaled_object(tiny)["spec"]["triggers"][0]["metadata"]["targetValue"] == "0.005"


def test_impossible_specs_are_config_errors():
    with pytest.raises(ConfigError, match=r"min_replicas \(5\) is above max_replicas \(3\)"):
        AutoscalingSpec(namespace="a", workload="b", capacity_rps=1, min_replicas=5, max_replicas=3)
    with pytest.raises(ConfigError, match="fallback_replicas"):
        AutoscalingSpec(namespace="a", workload="b", capacity_rps=1, max_replicas=3, fallback_replicas=4)
    with pytest.raises(ConfigError, match="rounds to 0"):
        AutoscalingSpec(namespace="a", workload="b", capacity_rps=0.0001)
    with pytest.raises(ConfigError, match="HPA cannot scale to zero"):
        hpa(SPEC.model_copy(update={"min_replicas": 0}))


def test_desired_replicas_hpa_is_the_bench_headline_form_and_passes_kubernetes_schema():
    from foresight.autoscale.manifests import DESIRED_REPLICAS, desired_replicas_hpa
    from foresight.bench.autoscale import DESIRED_REPLICAS as BENCH_METRIC
    from foresight.bench.autoscale import Scenario

    bench = Scenario()
    doc = desired_replicas_hpa(SPEC, cpu_percent=bench.path_cpu_percent,
                               scale_down_window_s=bench.path_scale_down_window_s,
                               scale_up_tolerance=bench.path_scale_up_tolerance)
    assert kubernetes_validate.validate(doc, "1.37", strict=True)
    external, cpu = doc["spec"]["metrics"]
    assert external["external"]["metric"] == {
        "name": BENCH_METRIC, "selector": {"matchLabels": {"namespace": "shop", "workload": "api"}}}
    assert DESIRED_REPLICAS == BENCH_METRIC
    assert external["external"]["target"] == {"type": "AverageValue", "averageValue": "1"}
    assert cpu["resource"] == {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 90}}
    assert doc["spec"]["behavior"] == {"scaleDown": {"stabilizationWindowSeconds": 0}, "scaleUp": {"tolerance": "0"}}
    older_cluster = desired_replicas_hpa(SPEC, scale_up_tolerance=None)  # before 1.35: the cluster-wide 10%
    assert older_cluster["spec"]["behavior"] == {"scaleDown": {"stabilizationWindowSeconds": 0}}
    assert kubernetes_validate.validate(older_cluster, "1.37", strict=True)
    without_cpu = desired_replicas_hpa(SPEC, cpu_percent=None, scale_down_window_s=60)
    assert kubernetes_validate.validate(without_cpu, "1.37", strict=True)
    assert [m["type"] for m in without_cpu["spec"]["metrics"]] == ["External"]
    for bad in ({"cpu_percent": 0}, {"scale_down_window_s": 3601}, {"scale_up_tolerance": -0.1}):
        with pytest.raises(ConfigError):
            desired_replicas_hpa(SPEC, **bad)
    with pytest.raises(ConfigError, match="scale to zero"):
        desired_replicas_hpa(SPEC.model_copy(update={"min_replicas": 0}))
