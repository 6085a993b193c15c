"""Rendering a ModelDeployment: every object valid against Kubernetes and the real CRD schemas, and
carrying what the spec asks for (tracks, weights, autoscaler, circuit breaker, mTLS, placement)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from foresight.errors import InputError
from foresight.gitops.render import TRACK_LABEL, check, istio_problems, manifest_files, render
from foresight.gitops.validate import CrdSchemas
from foresight.specs import ModelDeployment, load_specs, parse_specs

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def by_kind(docs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for doc in docs:
        found.setdefault(doc["kind"], []).append(doc)
    return found


def spec(text: str) -> ModelDeployment:
    base = """
apiVersion: foresight.ai/v1alpha1
kind: ModelDeployment
metadata: {name: iris, namespace: ml}
spec:
  model: {uri: s3://m/iris/v2, version: v2}
  framework: sklearn
"""
    parsed = parse_specs(base + text)[0]
    assert isinstance(parsed, ModelDeployment)
    return parsed


@pytest.mark.parametrize("example", ["model-deployment-canary.yaml", "model-deployment-gpu.yaml"])
def test_examples_render_to_objects_kubernetes_and_the_crds_accept(example: str, crds: CrdSchemas) -> None:
    for md in load_specs(EXAMPLES / example):
        docs = render(md)
        validation = check(docs, crds)
        assert validation.problems == ()
        assert validation.unchecked == ()
        assert len(validation.checked) == len(docs)


def test_canary_gets_its_own_deployment_subset_and_weighted_route() -> None:
    md = load_specs(EXAMPLES / "model-deployment-canary.yaml")[0]
    kinds = by_kind(render(md))
    stable, canary = kinds["Deployment"]
    assert (stable["metadata"]["name"], canary["metadata"]["name"]) == ("fraud-scorer-stable", "fraud-scorer-canary")
    assert "replicas" not in stable["spec"], "the autoscaler owns the stable replicas"
    assert canary["spec"]["replicas"] == 2
    for doc, version, uri in ((stable, "v7", "s3://models/fraud-scorer/v7"), (canary, "v8", "s3://models/fraud-scorer/v8")):
        pod = doc["spec"]["template"]
        assert pod["metadata"]["labels"]["version"] == version
        assert pod["spec"]["initContainers"][0]["args"] == [uri, "/mnt/models"]
        assert doc["spec"]["selector"]["matchLabels"][TRACK_LABEL] == pod["metadata"]["labels"][TRACK_LABEL]
    http = kinds["VirtualService"][0]["spec"]["http"][0]
    assert [(r["destination"]["subset"], r["weight"]) for r in http["route"]] == [("stable", 90), ("canary", 10)]
    assert (http["timeout"], http["retries"]["perTryTimeout"], http["retries"]["attempts"]) == ("2s", "500ms", 2)
    rule = kinds["DestinationRule"][0]["spec"]
    assert [s["labels"][TRACK_LABEL] for s in rule["subsets"]] == ["stable", "canary"]
    assert rule["trafficPolicy"]["outlierDetection"] == {
        "consecutive5xxErrors": 5, "interval": "10s", "baseEjectionTime": "30s", "maxEjectionPercent": 50,
    }
    assert rule["trafficPolicy"]["tls"] == {"mode": "ISTIO_MUTUAL"}
    assert kinds["PeerAuthentication"][0]["spec"]["mtls"] == {"mode": "STRICT"}
    scaled = kinds["ScaledObject"][0]["spec"]
    assert scaled["scaleTargetRef"]["name"] == "fraud-scorer-stable"
    assert scaled["triggers"][0]["metadata"]["targetValue"] == "56"  # 80 rps x 0.7


def test_without_canary_all_traffic_goes_to_stable_and_no_mtls_object() -> None:
    kinds = by_kind(render(spec("  replicas: 3\n")))
    assert kinds["Deployment"][0]["spec"]["replicas"] == 3
    assert [r["weight"] for r in kinds["VirtualService"][0]["spec"]["http"][0]["route"]] == [100]
    assert "PeerAuthentication" not in kinds and "tls" not in kinds["DestinationRule"][0]["spec"]["trafficPolicy"]
    assert "HorizontalPodAutoscaler" not in kinds and "ScaledObject" not in kinds


@pytest.mark.parametrize(
    ("autoscaling", "kind", "metric_type"),
    [
        ("{policy: cpu, minReplicas: 2, maxReplicas: 6, targetCpuPercent: 55}", "HorizontalPodAutoscaler", "Resource"),
        ("{policy: predictive, via: hpa, capacityRps: 10}", "HorizontalPodAutoscaler", "External"),
        ("{policy: predictive, via: keda, capacityRps: 10, minReplicas: 0}", "ScaledObject", None),
    ],
)
def test_each_scaling_policy_renders_its_autoscaler_on_the_stable_deployment(autoscaling: str, kind: str, metric_type: str | None) -> None:
    docs = render(spec(f"  autoscaling: {autoscaling}\n"))
    scaler = by_kind(docs)[kind][0]
    assert scaler["spec"]["scaleTargetRef"]["name"] == "iris-stable"
    assert scaler["metadata"]["labels"]["app.kubernetes.io/name"] == "iris"
    if metric_type is not None:
        assert scaler["spec"]["metrics"][0]["type"] == metric_type
    assert check(docs).problems == ()


def test_the_default_scaler_address_is_the_charts_service() -> None:
    """A ScaledObject rendered with the defaults calls the Service the Helm chart creates with its defaults
    (release and namespace ``foresight``, gRPC port ``keda.port``), so GitOps output needs no rewrite."""
    from foresight.operator.chart import load_chart, render_chart
    from foresight.operator.decide import DEFAULT_SCALER

    chart = yaml.safe_load_all(render_chart(load_chart(Path(__file__).resolve().parents[2] / "deploy" / "helm"
                                                       / "foresight"))["templates/service.yaml"])
    [service] = [d for d in chart if d and d["kind"] == "Service"]
    [grpc] = [p for p in service["spec"]["ports"] if p["name"] == "grpc"]
    expected = f"{service['metadata']['name']}.{service['metadata']['namespace']}.svc:{grpc['port']}"
    scaled = by_kind(render(spec("  autoscaling: {policy: predictive, via: keda, capacityRps: 10}\n")))["ScaledObject"][0]
    assert scaled["spec"]["triggers"][0]["metadata"]["scalerAddress"] == expected == DEFAULT_SCALER


def test_gpu_and_affinity_reach_the_pod_spec() -> None:
    llm = load_specs(EXAMPLES / "model-deployment-gpu.yaml")[0]
    pod = by_kind(render(llm))["Deployment"][0]["spec"]["template"]["spec"]
    server = pod["containers"][0]
    assert server["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert server["image"].endswith("-gpu"), "GPU pods get the CUDA build of the server"
    required = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert required[0]["matchExpressions"][0]["key"] == "nvidia.com/gpu.product"
    assert pod["affinity"]["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]["weight"] == 20
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]


def test_edge_model_without_mesh_renders_no_istio_objects() -> None:
    edge = load_specs(EXAMPLES / "model-deployment-gpu.yaml")[1]
    docs = render(edge)
    assert [d["kind"] for d in docs] == ["Deployment", "Service", "NetworkPolicy"]
    pod = docs[0]["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"kubernetes.io/arch": "arm64", "node-role.kubernetes.io/edge": ""}
    assert [t["key"] for t in pod["tolerations"]] == [
        "node-role.kubernetes.io/edge", "node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready"]
    assert pod["volumes"][0]["hostPath"] == {"path": "/var/lib/models/shelf-detector", "type": "Directory"}
    assert pod["containers"][0]["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"


def test_custom_runtime_uses_the_given_image_port_and_probe() -> None:
    custom = parse_specs("""
apiVersion: foresight.ai/v1alpha1
kind: ModelDeployment
metadata: {name: ranker}
spec:
  model: {uri: gs://m/ranker, version: "3"}
  framework: custom
  runtime: {image: ghcr.io/org/srv:1, port: 9000, args: ['--name={name}', '--port={port}'], readinessPath: /healthz}
""")[0]
    docs = render(custom)
    server = docs[0]["spec"]["template"]["spec"]["containers"][0]
    assert server["image"] == "ghcr.io/org/srv:1"
    assert server["args"] == ["--name=ranker", "--port=9000"]
    assert server["ports"] == [{"name": "http", "containerPort": 9000}]
    assert server["readinessProbe"]["httpGet"]["path"] == "/healthz"


def test_rendering_is_deterministic_and_files_list_every_object() -> None:
    md = load_specs(EXAMPLES / "model-deployment-canary.yaml")[0]
    files = manifest_files(md, render(md))
    assert files == manifest_files(md, render(md))
    kustomization = yaml.safe_load(files["kustomization.yaml"])
    assert kustomization["resources"] == sorted(name for name in files if name != "kustomization.yaml")
    assert "virtualservice-fraud-scorer.yaml" in files and "deployment-fraud-scorer-canary.yaml" in files


def test_istio_rules_outside_the_schema_are_checked() -> None:
    md = load_specs(EXAMPLES / "model-deployment-canary.yaml")[0]
    docs = render(md)
    virtual_service = next(d for d in docs if d["kind"] == "VirtualService")
    virtual_service["spec"]["http"][0]["route"][1]["weight"] = 30
    virtual_service["spec"]["http"][0]["retries"]["perTryTimeout"] = "1.5 s"
    problems = [str(p) for p in istio_problems(docs)]
    assert problems == [
        "VirtualService/fraud-scorer: spec.http[0].route: weights sum to 120, Istio requires 100",
        "VirtualService/fraud-scorer: spec.http[0].retries.perTryTimeout: '1.5 s' is not a duration such as '1.5s' or '250ms'",
    ]
    with pytest.raises(InputError, match="2 problem"):
        check(docs).raise_for_problems()


def test_invalid_output_fails_with_the_validators_message(crds: CrdSchemas) -> None:
    docs = render(load_specs(EXAMPLES / "model-deployment-canary.yaml")[0])
    docs[0]["spec"]["template"]["spec"]["containers"][0]["imagePulPolicy"] = "Always"
    docs[-2]["spec"]["trafficPolicy"]["outlierDetection"]["consecutive5xxErrors"] = "five"
    with pytest.raises(InputError) as caught:
        check(docs, crds).raise_for_problems("rendered")
    assert "Deployment/fraud-scorer-stable" in str(caught.value) and "imagePulPolicy" in str(caught.value)
    assert "DestinationRule/fraud-scorer: spec.trafficPolicy.outlierDetection.consecutive5xxErrors" in str(caught.value)
