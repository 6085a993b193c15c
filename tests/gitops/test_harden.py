"""Hardened rendering: every pod Foresight renders runs non-root, read-only, without capabilities or an
API token, with limits and probes; a spec can change that only with a written reason; unpinned images warn."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from foresight.errors import InputError
from foresight.gitops.harden import NONROOT_UID, image_warning, pull_policy, render_warnings
from foresight.gitops.render import check, render
from foresight.gitops.validate import CrdSchemas
from foresight.specs import ModelDeployment, TrainingJob, load_specs, parse_specs

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DIGEST = "@sha256:" + "0123456789abcdef" * 4


def model(extra: str = "", framework: str = "sklearn") -> ModelDeployment:
    parsed = parse_specs(f"""
apiVersion: foresight.ai/v1alpha1
kind: ModelDeployment
metadata: {{name: iris, namespace: ml}}
spec:
  model: {{uri: s3://m/iris/v2, version: v2}}
  framework: {framework}
{extra}""")[0]
    assert isinstance(parsed, ModelDeployment)
    return parsed


def job(extra: str = "", operator: str = "job") -> TrainingJob:
    parsed = parse_specs(f"""
apiVersion: foresight.ai/v1alpha1
kind: TrainingJob
metadata: {{name: churn, namespace: ml}}
spec:
  framework: pytorch
  operator: {operator}
  image: ghcr.io/o/train:1.0
  command: [python, train.py]
  workers: 2
{extra}""")[0]
    assert isinstance(parsed, TrainingJob)
    return parsed


def pod_specs(node: Any) -> Iterator[dict[str, Any]]:
    """Every pod spec inside a rendered object (Deployment, Job, PyTorchJob/TFJob replica templates)."""
    if isinstance(node, dict):
        if "containers" in node and isinstance(node["containers"], list):
            yield node
        for value in node.values():
            yield from pod_specs(value)
    elif isinstance(node, list):
        for item in node:
            yield from pod_specs(item)


def example_docs() -> list[dict[str, Any]]:
    return [doc for path in sorted(EXAMPLES.glob("*.yaml")) for spec in load_specs(path) for doc in render(spec)]


def test_every_rendered_example_pod_is_hardened() -> None:
    pods = [pod for doc in example_docs() for pod in pod_specs(doc)]
    assert len(pods) >= 7  # 4 server Deployments, the Job, the PyTorchJob's 2 and the TFJob's 1 replica templates
    for pod in pods:
        assert pod["automountServiceAccountToken"] is False
        assert pod["securityContext"] == {"runAsNonRoot": True, "runAsUser": NONROOT_UID, "runAsGroup": NONROOT_UID,
                                          "fsGroup": NONROOT_UID, "seccompProfile": {"type": "RuntimeDefault"}}
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False and context["privileged"] is False
            assert context["readOnlyRootFilesystem"] is True and context["runAsNonRoot"] is True
            assert context["capabilities"] == {"drop": ["ALL"]}
            assert {"cpu", "memory"} <= container["resources"]["limits"].keys()
            assert container["imagePullPolicy"] == "Always"  # every example image is pinned by tag, not digest
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert "/tmp" in mounts and {v["name"] for v in pod["volumes"]} >= set(mounts.values())


def test_servers_have_liveness_readiness_and_startup_probes() -> None:
    server = render(model())[0]["spec"]["template"]["spec"]["containers"][0]
    assert server["readinessProbe"]["httpGet"]["path"] == "/v1/models/iris"
    assert server["livenessProbe"] == {"tcpSocket": {"port": "http"}, "periodSeconds": 10, "failureThreshold": 3}
    assert server["startupProbe"]["failureThreshold"] * server["startupProbe"]["periodSeconds"] == 900
    assert {"name": "HOME", "value": "/tmp"} in server["env"]


def test_the_cpu_limit_defaults_to_the_request_and_may_be_raised() -> None:
    limits = render(model("  resources: {cpu: 500m, memory: 1Gi}\n"))[0]["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert limits == {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "500m", "memory": "1Gi"}}
    raised = render(model("  resources: {cpu: 500m, cpuLimit: '2'}\n"))[0]["spec"]["template"]["spec"]["containers"][0]
    assert raised["resources"]["limits"]["cpu"] == "2"
    with pytest.raises(InputError, match="cpuLimit 250m is below the cpu request 500m"):
        model("  resources: {cpu: 500m, cpuLimit: 250m}\n")


def test_torchserve_and_extra_writable_paths_are_emptydirs() -> None:
    pod = render(model("  writablePaths: [/var/cache/models]\n", framework="pytorch"))[0]["spec"]["template"]["spec"]
    mounts = [m["mountPath"] for m in pod["containers"][0]["volumeMounts"]]
    assert mounts == ["/mnt/models", "/tmp", "/home/model-server/logs", "/home/model-server/tmp", "/var/cache/models"]
    assert all("emptyDir" in v for v in pod["volumes"])
    with pytest.raises(InputError, match="absolute folder"):
        model("  writablePaths: [cache]\n")


def test_a_spec_may_harden_further_without_a_reason(crds: CrdSchemas) -> None:
    md = model("  securityContext: {runAsUser: 10001, runAsGroup: 10001}\n"
               "  containerSecurityContext: {capabilities: {drop: [ALL, NET_RAW]}}\n")
    docs = render(md)
    pod = docs[0]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == 10001 and pod["securityContext"]["fsGroup"] == NONROOT_UID
    assert pod["containers"][0]["securityContext"]["capabilities"] == {"drop": ["ALL", "NET_RAW"]}
    assert pod["initContainers"][0]["securityContext"]["capabilities"] == {"drop": ["ALL"]}  # not the spec's container
    assert check(docs, crds).problems == ()


@pytest.mark.parametrize(("extra", "named"), [
    ("  securityContext: {runAsUser: 0}\n", "securityContext.runAsUser 0 (root)"),
    ("  securityContext: {seccompProfile: {type: Unconfined}}\n", "seccompProfile Unconfined"),
    ("  containerSecurityContext: {privileged: true}\n", "containerSecurityContext.privileged true"),
    ("  containerSecurityContext: {readOnlyRootFilesystem: false}\n", "readOnlyRootFilesystem false"),
    ("  containerSecurityContext: {capabilities: {add: [NET_ADMIN]}}\n", "capabilities.add [NET_ADMIN]"),
    ("  containerSecurityContext: {capabilities: {drop: [NET_RAW]}}\n", "drop without ALL"),
    ("  serviceAccount: {automountToken: true}\n", "serviceAccount.automountToken true"),
])
def test_a_weakening_needs_a_written_reason(extra: str, named: str) -> None:
    with pytest.raises(InputError, match="say why in securityOverride.reason") as caught:
        model(extra)
    assert named in str(caught.value)
    with pytest.raises(InputError, match="at least 10 characters"):
        model(extra + "  securityOverride: {reason: because}\n")
    assert model(extra + "  securityOverride: {reason: the GPU driver probe needs it}\n").spec.security_override is not None


def test_an_explained_root_pod_renders_what_kubernetes_accepts(crds: CrdSchemas) -> None:
    md = model("  securityContext: {runAsUser: 0}\n  containerSecurityContext: {privileged: true}\n"
               "  securityOverride: {reason: legacy server image writes to /opt as root, allow: [K8S001]}\n")
    docs = render(md)
    pod = docs[0]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is False and pod["securityContext"]["runAsUser"] == 0
    server = pod["containers"][0]["securityContext"]
    assert server["runAsNonRoot"] is False  # else the kubelet refuses the root user the pod asks for
    # the storage initializer needs no root: it keeps a non-root UID of its own
    helper = pod["initContainers"][0]["securityContext"]
    assert helper["runAsNonRoot"] is True and helper["runAsUser"] == NONROOT_UID
    # the API server refuses allowPrivilegeEscalation false beside privileged true
    assert server["privileged"] is True and server["allowPrivilegeEscalation"] is True
    assert check(docs, crds).problems == ()


def test_the_api_token_is_mounted_only_when_asked_and_warned_about() -> None:
    md = model("  serviceAccount: {name: model-reader, automountToken: true}\n"
               "  securityOverride: {reason: the server lists ConfigMaps for its feature schema}\n")
    pod = render(md)[0]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "model-reader" and pod["automountServiceAccountToken"] is True
    assert any("Kubernetes API token" in w for w in render_warnings(md))


def test_unpinned_images_render_with_a_warning_and_digests_pull_if_not_present() -> None:
    latest = model("  runtime: {image: 'ghcr.io/o/server:latest'}\n", framework="custom")
    assert [w for w in render_warnings(latest) if "latest" in w] == [
        "ModelDeployment/iris: runtime.image: image ghcr.io/o/server:latest uses the tag 'latest': what runs changes "
        "without a change in Git; pin a version tag or a digest (@sha256:...)"]
    untagged = job().model_copy(update={"spec": job().spec.model_copy(update={"image": "localhost:5000/train"})})
    assert any("has no tag" in w for w in render_warnings(untagged))
    pinned = model(f"  runtime: {{image: 'ghcr.io/o/server{DIGEST}', initializerImage: 'kserve/storage-initializer{DIGEST}'}}\n",
                   framework="custom")
    assert render_warnings(pinned) == []
    pod = render(pinned)[0]["spec"]["template"]["spec"]
    assert {c["imagePullPolicy"] for c in [*pod["initContainers"], *pod["containers"]]} == {"IfNotPresent"}
    assert pull_policy("kserve/sklearnserver:v0.15.2") == "Always" and image_warning("m:1.2", "image") is None


def test_a_model_network_policy_admits_its_own_pods_and_the_gateway_on_the_serving_port() -> None:
    policy = next(d for d in render(model()) if d["kind"] == "NetworkPolicy")
    assert policy["spec"]["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "iris"}}
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    (rule,) = policy["spec"]["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8080}]
    assert rule["from"] == [
        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "iris"}}},
        {"podSelector": {"matchLabels": {"istio": "ingressgateway"}},
         "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "istio-system"}}},
    ]
    custom = next(d for d in render(model("  network: {allowFrom: [{podLabels: {app: web}}, {namespace: monitoring}]}\n"))
                  if d["kind"] == "NetworkPolicy")
    assert custom["spec"]["ingress"][0]["from"][1:] == [
        {"podSelector": {"matchLabels": {"app": "web"}}},
        {"podSelector": {"matchLabels": {}}, "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}},
    ]


@pytest.mark.parametrize(("operator", "selector"), [
    ("job", {"app.kubernetes.io/name": "churn"}),
    ("pytorchjob", {"app.kubernetes.io/name": "churn"}),
    ("trainjob", {"jobset.sigs.k8s.io/jobset-name": "churn"}),
])
def test_a_training_network_policy_admits_only_the_jobs_own_pods(operator: str, selector: dict[str, str], crds: CrdSchemas) -> None:
    docs = render(job(operator=operator))
    policy = docs[-1]
    assert policy["kind"] == "NetworkPolicy" and policy["spec"]["podSelector"] == {"matchLabels": selector}
    assert policy["spec"]["ingress"] == [{"from": [{"podSelector": {"matchLabels": selector}}]}]
    assert check(docs, crds).problems == ()


def test_a_trainjob_cannot_take_a_security_context_and_says_why() -> None:
    with pytest.raises(InputError, match="operator 'trainjob' cannot set securityContext"):
        job("  securityContext: {runAsUser: 10001}\n", operator="trainjob")
    assert any("ClusterTrainingRuntime torch-distributed" in w for w in render_warnings(job(operator="trainjob")))
    hardened = render(job("  securityContext: {runAsUser: 10001}\n", operator="pytorchjob"))[0]
    for replica in hardened["spec"]["pytorchReplicaSpecs"].values():
        assert replica["template"]["spec"]["securityContext"]["runAsUser"] == 10001
