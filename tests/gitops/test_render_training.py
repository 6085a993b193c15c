"""Rendering a TrainingJob: one spec, the right operator's object, valid against Kubernetes and the
Kubeflow CRD schemas, with workers, GPUs, dataset and placement where each operator expects them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from foresight.gitops.render import check, render
from foresight.gitops.validate import CrdSchemas
from foresight.specs import TrainingJob, load_specs, parse_specs

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def job(framework: str, extra: str = "") -> TrainingJob:
    parsed = parse_specs(f"""
apiVersion: foresight.ai/v1alpha1
kind: TrainingJob
metadata: {{name: exp, namespace: research}}
spec:
  framework: {framework}
  image: ghcr.io/org/exp:1
  command: [python, train.py]
  dataset: {{uri: s3://d/exp, version: v4}}
{extra}""")[0]
    assert isinstance(parsed, TrainingJob)
    return parsed


def env_of(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env", [])}


def test_examples_render_to_objects_kubernetes_and_kubeflow_accept(crds: CrdSchemas) -> None:
    jobs = load_specs(EXAMPLES / "training-jobs.yaml")
    rendered = [render(j) for j in jobs]
    assert [docs[0]["kind"] for docs in rendered] == ["TrainJob", "PyTorchJob", "TFJob", "Job"]
    for docs in rendered:
        validation = check(docs, crds)
        assert validation.problems == () and validation.unchecked == ()


@pytest.mark.parametrize(
    ("framework", "operator", "api_version", "kind"),
    [
        ("pytorch", "auto", "trainer.kubeflow.org/v1alpha1", "TrainJob"),
        ("pytorch", "pytorchjob", "kubeflow.org/v1", "PyTorchJob"),
        ("pytorch", "job", "batch/v1", "Job"),
        ("tensorflow", "auto", "kubeflow.org/v1", "TFJob"),
        ("xgboost", "auto", "batch/v1", "Job"),
        ("generic", "auto", "batch/v1", "Job"),
    ],
)
def test_the_operator_picks_the_object(framework: str, operator: str, api_version: str, kind: str, crds: CrdSchemas) -> None:
    docs = render(job(framework, f"  operator: {operator}\n  workers: 3\n  resources: {{gpus: 2}}\n"))
    assert [(d["apiVersion"], d["kind"]) for d in docs] == [(api_version, kind), ("networking.k8s.io/v1", "NetworkPolicy")]
    assert docs[0]["metadata"]["labels"]["foresight.ai/dataset-version"] == "v4"
    assert docs[0]["metadata"]["annotations"] == {"argocd.argoproj.io/sync-options": "Replace=true"}
    assert check(docs, crds).problems == ()


def test_trainjob_carries_nodes_gpus_dataset_and_node_selector() -> None:
    spec = render(job("pytorch", "  workers: 4\n  resources: {gpus: 8}\n  placement: {nodeSelector: {pool: h100}}\n"))[0]["spec"]
    assert spec["runtimeRef"]["name"] == "torch-distributed"
    assert spec["trainer"]["numNodes"] == 4
    assert spec["trainer"]["resourcesPerNode"]["limits"]["nvidia.com/gpu"] == 8
    assert env_of(spec["trainer"]) == {"DATASET_URI": "s3://d/exp", "DATASET_VERSION": "v4"}
    override = spec["podSpecOverrides"][0]
    assert override["targetJobs"] == [{"name": "node"}]
    assert override["nodeSelector"] == {"pool": "h100"}
    assert override["tolerations"][0]["key"] == "nvidia.com/gpu"


def test_pytorchjob_has_one_master_and_the_other_workers() -> None:
    replicas = render(job("pytorch", "  operator: pytorchjob\n  workers: 4\n  maxRestarts: 1\n"))[0]["spec"]
    specs = replicas["pytorchReplicaSpecs"]
    assert (specs["Master"]["replicas"], specs["Worker"]["replicas"]) == (1, 3)
    assert specs["Master"]["template"]["spec"]["containers"][0]["name"] == "pytorch"
    assert replicas["runPolicy"]["backoffLimit"] == 1
    single = render(job("pytorch", "  operator: pytorchjob\n"))[0]["spec"]["pytorchReplicaSpecs"]
    assert list(single) == ["Master"]


def test_several_plain_job_workers_are_an_indexed_job_that_knows_the_world_size() -> None:
    spec = render(job("xgboost", "  workers: 3\n"))[0]["spec"]
    assert (spec["completions"], spec["parallelism"], spec["completionMode"]) == (3, 3, "Indexed")
    container = spec["template"]["spec"]["containers"][0]
    assert env_of(container)["WORLD_SIZE"] == "3"
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    single = render(job("xgboost"))[0]["spec"]
    assert "completionMode" not in single
    assert "WORLD_SIZE" not in env_of(single["template"]["spec"]["containers"][0])


def test_affinity_reaches_operator_v1_pods() -> None:
    docs = render(load_specs(EXAMPLES / "training-jobs.yaml")[1])
    pod = docs[0]["spec"]["pytorchReplicaSpecs"]["Worker"]["template"]["spec"]
    term = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]
    assert term["matchExpressions"] == [{"key": "nvidia.com/gpu.memory", "operator": "Gt", "values": ["40000"]}]
