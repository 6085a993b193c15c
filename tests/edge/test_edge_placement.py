"""Edge placement (``placement.edge``): a ModelDeployment rendered for KubeEdge (edge role and NodeGroup
labels, affinity among edge nodes, edge and offline tolerations, the model from the node), refused
contradictions, and the same validation and manifest gate as every other render."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from foresight.errors import InputError
from foresight.gitops.admit import ManifestRefused, admit
from foresight.gitops.render import check, render
from foresight.specs import ModelDeployment, load_specs, parse_specs
from foresight.specs.edge import NODE_GROUP_LABEL
from foresight.specs.runtimes import MODEL_DIR
from foresight.specs.workload import EDGE_LABEL

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _spec(spec: dict[str, Any]) -> ModelDeployment:
    body = {"model": {"uri": "s3://m/det/v1", "version": "v1"}, "framework": "onnx", "mesh": None, **spec}
    doc = {"apiVersion": "foresight.ai/v1alpha1", "kind": "ModelDeployment", "metadata": {"name": "det", "namespace": "edge"},
           "spec": body}
    return ModelDeployment.model_validate(doc)


def _edge(**edge: Any) -> dict[str, Any]:
    return {"placement": {"edge": {"modelPath": "/var/lib/models/det/model.onnx", **edge}}}


def _pod(md: ModelDeployment) -> dict[str, Any]:
    return next(d for d in render(md) if d["kind"] == "Deployment")["spec"]["template"]["spec"]


def test_the_example_renders_kubeedge_ready_manifests_that_validate_and_pass_the_gate() -> None:
    [md] = load_specs(EXAMPLES / "model-deployment-edge.yaml")
    assert isinstance(md, ModelDeployment)
    docs = render(md)
    assert [d["kind"] for d in docs] == ["Deployment", "Service", "NetworkPolicy"]
    validation = check(docs)
    assert validation.problems == () and validation.checked
    admission = admit(md, docs)
    assert admission.passed and [f.rule_id for f in admission.findings if f.accepted] == ["FSM005"]
    deployment = docs[0]
    assert deployment["spec"]["replicas"] == 3
    pod = deployment["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {EDGE_LABEL: "", NODE_GROUP_LABEL: "line-7"}
    affinity = pod["affinity"]["nodeAffinity"]
    assert affinity["requiredDuringSchedulingIgnoredDuringExecution"] == {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "kubernetes.io/arch", "operator": "In", "values": ["arm64"]}]}]}
    assert affinity["preferredDuringSchedulingIgnoredDuringExecution"] == [
        {"weight": 40, "preference": {"matchExpressions": [{"key": "accelerator", "operator": "In", "values": ["npu"]}]}}]
    assert pod["tolerations"] == [
        {"key": EDGE_LABEL, "operator": "Exists", "effect": "NoSchedule"},
        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 86400},
        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 86400},
    ]
    # the model comes from the node: no storage initializer, a read-only hostPath where the server reads
    assert "initContainers" not in pod
    assert pod["volumes"][0] == {"name": "model-store", "hostPath": {"path": "/var/lib/foresight/models/defect-detector",
                                                                     "type": "Directory"}}
    server = pod["containers"][0]
    assert {"name": "model-store", "mountPath": MODEL_DIR, "readOnly": True} in server["volumeMounts"]
    assert {"name": "MODEL_PATH", "value": MODEL_DIR} in server["env"]


def test_a_model_file_is_mounted_by_its_folder_and_own_tolerations_are_kept() -> None:
    pod = _pod(_spec({**_edge(), "placement": {
        "edge": {"modelPath": "/var/lib/models/det/model.onnx"},
        "tolerations": [{"key": EDGE_LABEL, "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}]}}))
    assert pod["volumes"][0]["hostPath"]["path"] == "/var/lib/models/det"
    assert {"name": "MODEL_PATH", "value": f"{MODEL_DIR}/model.onnx"} in pod["containers"][0]["env"]
    assert [t.get("value") for t in pod["tolerations"]] == ["gpu", None, None]
    assert "tolerationSeconds" not in pod["tolerations"][1], "unset: the pods outlive any outage"
    assert "affinity" not in pod


def test_without_edge_placement_the_model_is_fetched_and_no_edge_field_appears() -> None:
    pod = _pod(_spec({"replicas": 1}))
    assert pod["initContainers"][0]["name"] == "storage-initializer"
    assert pod["volumes"][0] == {"name": "model-store", "emptyDir": {}}
    assert "nodeSelector" not in pod and "tolerations" not in pod


def test_a_model_under_a_sensitive_node_folder_is_refused_by_the_gate() -> None:
    md = _spec(_edge(modelPath="/var/lib/kubelet/pods/x/model.onnx"))
    admission = admit(md, render(md))
    with pytest.raises(ManifestRefused, match="FSM004"):
        admission.raise_if_blocked("ModelDeployment/det")


@pytest.mark.parametrize(("spec", "message"), [
    (_edge(modelPath="models/m.onnx"), "modelPath"),
    (_edge(modelPath="/models/../etc/passwd"), "'..'"),
    (_edge(modelPath="/"), "modelPath"),
    (_edge(nodeGroup="bad group"), "nodeGroup"),
    (_edge(offlineToleranceSeconds=-5), "offlineToleranceSeconds"),
    (_edge(modelpath="/x"), "modelpath"),
    ({"placement": {"edge": {"modelPath": "/m/a.onnx"},
                    "required": [{"key": EDGE_LABEL, "operator": "DoesNotExist"}]}}, "must both exist and be absent"),
    ({"placement": {"edge": {"modelPath": "/m/a.onnx", "nodeGroup": "a"},
                    "required": [{"key": NODE_GROUP_LABEL, "operator": "NotIn", "values": ["a"]}]}},
     "placement.edge.nodeGroup sets"),
    ({"placement": {"edge": {"modelPath": "/m/a.onnx"}, "nodeSelector": {EDGE_LABEL: "no"}}}, "no value is left"),
    ({**_edge(), "mesh": {}}, "set mesh: null"),
    ({**_edge(), "replicas": -1}, "replicas"),
])
def test_impossible_or_malformed_edge_specs_are_refused_with_the_field(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _spec(spec)


def test_an_edge_model_has_no_canary() -> None:
    with pytest.raises(ValidationError, match="canary cannot run on the edge"):
        _spec({**_edge(), "canary": {"model": {"uri": "s3://m/det/v2", "version": "v2"}, "traffic": {"stable": 90, "canary": 10}}})


def test_edge_is_no_longer_a_switch_nor_a_training_job_field() -> None:
    with pytest.raises(ValidationError, match="edge"):
        _spec({"placement": {"edge": True}})
    job = ("apiVersion: foresight.ai/v1alpha1\nkind: TrainingJob\nmetadata: {name: t}\n"
           "spec: {framework: xgboost, image: 'ghcr.io/o/t:1', command: [python], placement: {edge: {modelPath: /m}}}\n")
    with pytest.raises(InputError, match="edge"):
        parse_specs(job)
