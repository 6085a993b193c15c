"""Edge placement: the ``edge`` section's pod fields (KubeEdge labels, node group, affinity, edge and
offline tolerations, the model from the node), refused contradictions, and a Deployment wired as the
renderer will wire it that passes the Kubernetes schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from foresight.gitops.edge import edge_pod_fields
from foresight.gitops.render import render
from foresight.gitops.validate import validate_manifests
from foresight.specs.edge import NODE_GROUP_LABEL, EdgePlacement
from foresight.specs.load import load_specs
from foresight.specs.runtimes import MODEL_DIR

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _edge(**fields: Any) -> EdgePlacement:
    return EdgePlacement.model_validate({"modelPath": "/var/lib/models/det/model.onnx", **fields})


def test_the_aideployment_fields_render_to_kubeedge_pod_fields() -> None:
    edge = _edge(replicas=3, nodeGroup="shop-7", nodeSelector={"kubernetes.io/arch": "arm64"},
                 nodeAffinity=[{"key": "accelerator", "operator": "In", "values": ["npu", "tpu"]}],
                 preferred=[{"key": "zone", "operator": "In", "values": ["a"], "weight": 30}],
                 offlineToleranceSeconds=86400)
    f = edge_pod_fields(edge)
    assert f.replicas == 3
    assert f.pod["nodeSelector"] == {"kubernetes.io/arch": "arm64", NODE_GROUP_LABEL: "shop-7",
                                     "node-role.kubernetes.io/edge": ""}
    affinity = f.pod["affinity"]["nodeAffinity"]
    assert affinity["requiredDuringSchedulingIgnoredDuringExecution"] == {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "accelerator", "operator": "In", "values": ["npu", "tpu"]}]}]}
    assert affinity["preferredDuringSchedulingIgnoredDuringExecution"] == [
        {"weight": 30, "preference": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}}]
    assert f.pod["tolerations"] == [
        {"key": "node-role.kubernetes.io/edge", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 86400},
        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 86400},
    ]
    assert f.model_volume == {"name": "model-store", "hostPath": {"path": "/var/lib/models/det", "type": "Directory"}}
    assert f.env == {"MODEL_PATH": "/mnt/models/model.onnx"}


def test_a_model_directory_is_mounted_whole_and_own_tolerations_are_kept() -> None:
    f = edge_pod_fields(_edge(modelPath="/opt/models/resnet/", tolerations=[
        {"key": "node-role.kubernetes.io/edge", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}]))
    assert f.model_volume["hostPath"]["path"] == "/opt/models/resnet" and f.env == {"MODEL_PATH": "/mnt/models"}
    assert [t.get("value") for t in f.pod["tolerations"]] == ["gpu", None, None]
    assert "affinity" not in f.pod and "tolerationSeconds" not in f.pod["tolerations"][1]


@pytest.mark.parametrize(("fields", "message"), [
    ({"modelPath": "models/m.onnx"}, "modelPath"),
    ({"modelPath": "/models/../etc/passwd"}, "'..'"),
    ({"modelPath": "/"}, "modelPath"),
    ({"replicas": -1}, "replicas"),
    ({"nodeGroup": "bad group"}, "nodeGroup"),
    ({"nodeAffinity": [{"key": "node-role.kubernetes.io/edge", "operator": "DoesNotExist"}]}, "no node can satisfy"),
    ({"nodeGroup": "a", "nodeAffinity": [{"key": NODE_GROUP_LABEL, "operator": "NotIn", "values": ["a"]}]},
     "no node can satisfy"),
    ({"offlineToleranceSeconds": -5}, "offlineToleranceSeconds"),
    ({"modelpath": "/x"}, "modelpath"),
])
def test_impossible_or_malformed_sections_are_refused_with_the_field(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _edge(**fields)


def test_a_deployment_wired_with_the_edge_fields_passes_the_kubernetes_schema() -> None:
    spec = next(s for s in load_specs(EXAMPLES / "model-deployment-gpu.yaml") if s.spec.placement.edge)
    deployment = next(d for d in render(spec) if d["kind"] == "Deployment")
    fields = edge_pod_fields(_edge(replicas=2, nodeGroup="line-3"), MODEL_DIR)
    # the lines the renderer gets (see the final report): the model from the node, no initializer
    pod = deployment["spec"]["template"]["spec"]
    pod.pop("initContainers")
    pod["volumes"][0] = fields.model_volume
    pod.update(fields.pod)
    deployment["spec"]["replicas"] = fields.replicas
    pod["containers"][0]["env"] += [{"name": k, "value": v} for k, v in fields.env.items()]
    result = validate_manifests([deployment])
    assert not result.problems and result.checked, result.problems
    assert pod["nodeSelector"][NODE_GROUP_LABEL] == "line-3"
    assert {"name": "model-store", "mountPath": MODEL_DIR, "readOnly": True} in pod["containers"][0]["volumeMounts"]
