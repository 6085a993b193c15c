"""decide / status / cleanup: the operator's whole judgement, table-tested without any server."""

from __future__ import annotations

import json
from typing import Any

import pytest

from foresight.operator.decide import Ref, anomaly_config_name, cleanup, decide, status
from foresight.specs.resource import parse
from foresight.errors import InputError

CR = "foresight.ai/v1alpha1"


def body(kind: str, spec: dict[str, Any], name: str = "web", *, uid: str | None = "uid-1", generation: int = 1,
         status_: dict[str, Any] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "shop", "generation": generation}
    if uid:
        meta["uid"] = uid
    out: dict[str, Any] = {"apiVersion": CR, "kind": kind, "metadata": meta, "spec": spec}
    if status_ is not None:
        out["status"] = status_
    return out


MD = {"model": {"uri": "s3://m/fraud/v1", "version": "v1"}, "framework": "sklearn",
      "canary": {"model": {"uri": "s3://m/fraud/v2", "version": "v2"}, "traffic": {"stable": 90, "canary": 10}}}
TJ = {"framework": "pytorch", "image": "ghcr.io/org/llm:1", "command": ["torchrun", "train.py"], "workers": 2}
SP = {"targetRef": {"name": "web"}, "capacityRps": 40}
AP = {"targetRef": {"name": "web"}, "signals": [{"name": "errors", "query": "rate(http_errors_total[1m])"}]}


@pytest.mark.parametrize(("kind", "spec", "expected"), [
    ("ModelDeployment", MD, {"Deployment/web-stable", "Deployment/web-canary", "Service/web", "VirtualService/web",
                             "DestinationRule/web", "NetworkPolicy/web"}),
    ("TrainingJob", TJ, {"TrainJob/web", "NetworkPolicy/web"}),
    ("ScalingPolicy", SP, {"ScaledObject/web"}),
    ("ScalingPolicy", {**SP, "mode": "hpa"}, {"HorizontalPodAutoscaler/web"}),
    ("ScalingPolicy", {**SP, "mode": "direct"}, set()),
    ("AnomalyPolicy", AP, {"ConfigMap/foresight-anomaly-web"}),
])
def test_each_kind_renders_its_owned_objects_in_the_resource_namespace(kind: str, spec: dict[str, Any], expected: set[str]) -> None:
    decision = decide(body(kind, spec))
    assert decision.error is None
    assert {str(r) for r in decision.owned} == expected
    for obj in decision.objects:
        assert obj["metadata"]["namespace"] == "shop"
        assert obj["metadata"]["ownerReferences"] == [{"apiVersion": CR, "kind": kind, "name": "web", "uid": "uid-1",
                                                       "controller": True, "blockOwnerDeletion": True}]


def test_without_a_uid_no_owner_reference_is_invented() -> None:
    decision = decide(body("ScalingPolicy", SP, uid=None))
    assert "ownerReferences" not in decision.objects[0]["metadata"]


def test_objects_no_longer_rendered_are_pruned_from_the_inventory() -> None:
    first = decide(body("ModelDeployment", MD))
    before = status(body("ModelDeployment", MD), first, "applied", None, 0.0)
    without_canary = {k: v for k, v in MD.items() if k != "canary"}
    second = decide(body("ModelDeployment", without_canary, generation=2, status_=before))
    assert [str(r) for r in second.prune] == ["Deployment/web-canary"]
    assert "Deployment/web-canary" not in {str(r) for r in second.owned}


def test_a_policy_switching_mode_prunes_the_old_autoscaler() -> None:
    keda = decide(body("ScalingPolicy", SP))
    st = status(body("ScalingPolicy", SP), keda, "applied", None, 0.0)
    hpa = decide(body("ScalingPolicy", {**SP, "mode": "hpa"}, generation=2, status_=st))
    assert [str(r) for r in hpa.prune] == ["ScaledObject/web"]


def test_mode_hpa_renders_the_benchmarks_headline_hpa_on_the_published_replicas() -> None:
    """The HPA follows foresight_desired_replicas at AverageValue 1, CPU at 90% beside it, no stabilisation
    or scale-up tolerance of its own: the path ``foresight bench autoscale`` measures (its Scenario defaults)."""
    decision = decide(body("ScalingPolicy", {**SP, "mode": "hpa", "targetRef": {"kind": "StatefulSet", "name": "db"},
                                             "workload": "db-reads", "minReplicas": 2, "maxReplicas": 12}))
    (obj,) = decision.objects
    spec = obj["spec"]
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db"}
    assert (spec["minReplicas"], spec["maxReplicas"]) == (2, 12)
    external, cpu = spec["metrics"]
    assert external["external"] == {
        "metric": {"name": "foresight_desired_replicas", "selector": {"matchLabels": {"namespace": "shop",
                                                                                      "workload": "db-reads"}}},
        "target": {"type": "AverageValue", "averageValue": "1"}}
    assert cpu["resource"] == {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 90}}
    assert spec["behavior"] == {"scaleDown": {"stabilizationWindowSeconds": 0}, "scaleUp": {"tolerance": "0"}}
    # the adapter rule that serves this metric is named in the status, since the operator does not own the adapter
    assert "foresight_desired_replicas" in decision.note and "--form desired" in decision.note


def test_the_scaled_object_targets_the_policy_workload_and_the_operator_scaler() -> None:
    decision = decide(body("ScalingPolicy", {**SP, "targetRef": {"kind": "StatefulSet", "name": "db"}, "workload": "db-reads"}),
                      scaler_address="foresight.ops.svc:9090")
    (obj,) = decision.objects
    assert obj["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db"}
    trigger = obj["spec"]["triggers"][0]["metadata"]
    assert trigger["scalerAddress"] == "foresight.ops.svc:9090" and trigger["workload"] == "db-reads"


def test_the_anomaly_config_holds_the_whole_policy() -> None:
    (cm,) = decide(body("AnomalyPolicy", {**AP, "threshold": 0.97})).objects
    assert cm["metadata"]["name"] == anomaly_config_name("web")
    policy = json.loads(cm["data"]["policy.json"])
    assert policy["threshold"] == 0.97 and policy["signals"][0]["name"] == "errors" and policy["forSeconds"] == 60


@pytest.mark.parametrize(("kind", "spec", "message"), [
    ("ScalingPolicy", {"targetRef": {"name": "web"}}, "ScalingPolicy shop/web: spec.capacityRps: Field required"),
    ("ScalingPolicy", {**SP, "minReplicas": 0, "mode": "hpa"}, "minReplicas 0 needs mode keda"),
    ("ScalingPolicy", {**SP, "minReplicas": 9, "maxReplicas": 3}, "minReplicas 9 is above maxReplicas 3"),
    ("AnomalyPolicy", {**AP, "signals": []}, "spec.signals: List should have at least 1 item"),
    ("AnomalyPolicy", {**AP, "signals": AP["signals"] * 2}, "signal names must be unique; repeated: errors"),
    ("AnomalyPolicy", {**AP, "detektor": "x"}, "spec.detektor: Extra inputs are not permitted"),
    ("ModelDeployment", {**MD, "canary": {**MD["canary"], "traffic": {"stable": 90, "canary": 20}}}, "spec.canary.traffic"),
    ("TrainingJob", {**TJ, "workers": 0}, "spec.workers: Input should be greater than or equal to 1"),
])
def test_malformed_resources_get_the_precise_error(kind: str, spec: dict[str, Any], message: str) -> None:
    decision = decide(body(kind, spec))
    assert decision.error is not None and message in decision.error, decision.error
    assert decision.objects == ()
    st = status(body(kind, spec), decision, None, None, 0.0)
    ready, degraded = st["conditions"]
    assert (ready["status"], ready["reason"], degraded["status"]) == ("False", "InvalidSpec", "True")
    assert message in degraded["message"]


def test_a_name_kubernetes_accepts_but_the_spec_does_not_is_reported() -> None:
    with pytest.raises(InputError, match="metadata.name: String should match pattern"):
        parse(body("ScalingPolicy", SP, name="9-lives"))


def test_status_reports_generation_and_keeps_transition_times_until_a_flip() -> None:
    b = body("ScalingPolicy", SP, generation=3)
    decision = decide(b)
    first = status(b, decision, "1 object(s): ScaledObject/web created", None, 100.0)
    assert first["observedGeneration"] == 3
    ready = first["conditions"][0]
    assert (ready["status"], ready["reason"], ready["lastTransitionTime"]) == ("True", "Reconciled", "1970-01-01T00:01:40Z")
    again = status({**b, "status": first}, decision, "unchanged", None, 500.0)
    assert again["conditions"][0]["lastTransitionTime"] == "1970-01-01T00:01:40Z"
    failed = status({**b, "status": again}, decision, None, "Kubernetes API unreachable", 900.0)
    ready, degraded = failed["conditions"]
    assert (ready["status"], ready["reason"], ready["message"]) == ("False", "ReconcileFailed", "Kubernetes API unreachable")
    assert ready["lastTransitionTime"] == "1970-01-01T00:15:00Z" and degraded["status"] == "True"


def test_after_a_failed_act_the_inventory_keeps_what_may_still_exist() -> None:
    keda = decide(body("ScalingPolicy", SP))
    st = status(body("ScalingPolicy", SP), keda, "ok", None, 0.0)
    switched = decide(body("ScalingPolicy", {**SP, "mode": "hpa"}, status_=st))
    failed = status(body("ScalingPolicy", SP), switched, None, "503", 0.0)
    assert {o["kind"] for o in failed["owned"]} == {"ScaledObject", "HorizontalPodAutoscaler"}


def test_cleanup_covers_inventory_and_current_render_even_when_the_resource_is_now_malformed() -> None:
    st = {"owned": [Ref("keda.sh/v1alpha1", "ScaledObject", "shop", "old").to_dict()]}
    assert [str(r) for r in cleanup(body("ScalingPolicy", SP, status_=st))] == ["ScaledObject/old", "ScaledObject/web"]
    assert [str(r) for r in cleanup(body("ScalingPolicy", {"targetRef": {}}, status_=st))] == ["ScaledObject/old"]


def test_a_model_deployment_scaled_by_keda_points_at_the_operator_scaler() -> None:
    spec = {**MD, "autoscaling": {"policy": "predictive", "via": "keda", "capacityRps": 80}}
    decision = decide(body("ModelDeployment", spec), scaler_address="foresight.ops.svc:9090")
    (scaled,) = [o for o in decision.objects if o["kind"] == "ScaledObject"]
    assert scaled["spec"]["triggers"][0]["metadata"]["scalerAddress"] == "foresight.ops.svc:9090"
