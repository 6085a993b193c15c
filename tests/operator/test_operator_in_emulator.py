"""The kopf operator against a Kubernetes API emulator: create, update and delete each kind.

One emulator and one running operator (kopf's ``KopfRunner``, logged in to the emulator by an
``@kopf.on.login`` handler) serve the module; each test uses its own resource names. Assertions
read the emulator's stored objects: the owned objects with their ownerReferences, and the
resource's ``status`` (conditions, observedGeneration, inventory).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import kopf
import pytest
from kopf.testing import KopfRunner
from kube_emulator import Cluster

from foresight.adapters.kubernetes import KubernetesObjects, _Api
from foresight.clock import ManualClock
from foresight.operator.handlers import FINALIZER, HandlerContext, operator_settings, registry

NS = "default"
CR = "foresight.ai/v1alpha1"


def eventually(check: Callable[[], Any], timeout_s: float = 8.0) -> Any:
    """Poll until ``check`` returns a truthy value (the operator works asynchronously)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s}s; last value {value!r}")
        time.sleep(0.05)


class Operator:
    """The emulator, a running operator, and helpers to write resources and read the results."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.api = _Api(cluster.api_client())

    def create(self, kind: str, plural: str, name: str, spec: dict[str, Any]) -> None:
        body = {"apiVersion": CR, "kind": kind, "metadata": {"name": name, "namespace": NS}, "spec": spec}
        self.api.call("POST", f"/apis/{CR}/namespaces/{NS}/{plural}", body)

    def patch_spec(self, plural: str, name: str, spec: dict[str, Any]) -> None:
        self.api.call("PATCH", f"/apis/{CR}/namespaces/{NS}/{plural}/{name}", {"spec": spec}, "application/merge-patch+json")

    def delete(self, plural: str, name: str) -> None:
        self.api.call("DELETE", f"/apis/{CR}/namespaces/{NS}/{plural}/{name}")

    def resource(self, plural: str, name: str) -> dict[str, Any] | None:
        return self.cluster.get(f"{CR}/{plural}", NS, name)

    def condition(self, plural: str, name: str, kind: str = "Ready", generation: int = 1) -> dict[str, Any] | None:
        """The condition once it reflects ``generation`` (None until then)."""
        obj = self.resource(plural, name) or {}
        found = {c["type"]: c for c in (obj.get("status") or {}).get("conditions", [])}
        cond = found.get(kind)
        return cond if cond and cond.get("observedGeneration") == generation else None

    def names(self, resource: str) -> list[str]:
        return self.cluster.names(resource, NS)


@pytest.fixture(scope="module")
def op() -> Iterator[Operator]:
    cluster = Cluster()
    reg = registry(HandlerContext(KubernetesObjects(cluster.api_client()), clock=ManualClock(1_800_000_000.0)))

    @kopf.on.login(registry=reg)
    def login(**_: Any) -> kopf.ConnectionInfo:
        return kopf.ConnectionInfo(server=cluster.url, insecure=True)

    settings = operator_settings()
    settings.posting.enabled = False
    with KopfRunner(["run", "--standalone", "--all-namespaces"], registry=reg, settings=settings, timeout=10):
        yield Operator(cluster)
    cluster.close()


def owner_uid(obj: dict[str, Any]) -> str:
    (ref,) = obj["metadata"]["ownerReferences"]
    assert ref["controller"] is True
    return str(ref["uid"])


def test_model_deployment_create_update_delete(op: Operator) -> None:
    spec = {
        "model": {"uri": "s3://models/fraud/v1", "version": "v1"},
        "framework": "sklearn",
        "canary": {"model": {"uri": "s3://models/fraud/v2", "version": "v2"}, "traffic": {"stable": 90, "canary": 10}},
        "mesh": {"timeoutSeconds": 2},
    }
    op.create("ModelDeployment", "modeldeployments", "fraud", spec)
    ready = eventually(lambda: op.condition("modeldeployments", "fraud"))
    assert ready["status"] == "True", ready
    md = op.resource("modeldeployments", "fraud")
    assert md is not None and FINALIZER in md["metadata"]["finalizers"]
    assert op.names("apps/v1/deployments") >= ["fraud-canary", "fraud-stable"]
    stable = op.cluster.get("apps/v1/deployments", NS, "fraud-stable")
    assert stable is not None and owner_uid(stable) == md["metadata"]["uid"]
    assert "fraud" in op.names("networking.istio.io/v1/virtualservices")
    owned = {(o["kind"], o["name"]) for o in md["status"]["owned"]}
    assert ("Deployment", "fraud-canary") in owned and ("Service", "fraud") in owned

    # update: the canary is removed -> its Deployment is pruned, the stable one follows the new version
    op.patch_spec("modeldeployments", "fraud", {"canary": None})
    ready = eventually(lambda: op.condition("modeldeployments", "fraud", generation=2))
    assert ready["status"] == "True" and "fraud-canary pruned" in ready["message"], ready
    assert "fraud-canary" not in op.names("apps/v1/deployments")
    assert "fraud-stable" in op.names("apps/v1/deployments")

    op.delete("modeldeployments", "fraud")
    eventually(lambda: op.resource("modeldeployments", "fraud") is None)
    assert not {"fraud-stable", "fraud-canary"} & set(op.names("apps/v1/deployments"))
    assert "fraud" not in op.names("v1/services")
    assert "fraud" not in op.names("networking.istio.io/v1/virtualservices")


def test_training_job_create_update_delete(op: Operator) -> None:
    spec = {"framework": "xgboost", "image": "ghcr.io/org/churn:1", "command": ["python", "train.py"], "workers": 1}
    op.create("TrainingJob", "trainingjobs", "churn", spec)
    eventually(lambda: op.condition("trainingjobs", "churn"))
    job = eventually(lambda: op.cluster.get("batch/v1/jobs", NS, "churn"))
    assert job["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/org/churn:1"

    op.patch_spec("trainingjobs", "churn", {"image": "ghcr.io/org/churn:2"})
    eventually(lambda: op.condition("trainingjobs", "churn", generation=2))
    job = op.cluster.get("batch/v1/jobs", NS, "churn")
    assert job is not None and job["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/org/churn:2"

    op.delete("trainingjobs", "churn")
    eventually(lambda: op.resource("trainingjobs", "churn") is None)
    assert "churn" not in op.names("batch/v1/jobs")


def test_scaling_policy_create_switch_mode_delete(op: Operator) -> None:
    op.create("ScalingPolicy", "scalingpolicies", "web", {"targetRef": {"name": "web"}, "capacityRps": 50, "maxReplicas": 8})
    eventually(lambda: op.condition("scalingpolicies", "web"))
    scaled = op.cluster.get("keda.sh/v1alpha1/scaledobjects", NS, "web")
    assert scaled is not None and scaled["spec"]["maxReplicaCount"] == 8
    assert scaled["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}

    op.patch_spec("scalingpolicies", "web", {"mode": "hpa"})
    ready = eventually(lambda: op.condition("scalingpolicies", "web", generation=2))
    assert "ScaledObject/web pruned" in ready["message"], ready
    assert op.names("keda.sh/v1alpha1/scaledobjects") == []
    hpa = op.cluster.get("autoscaling/v2/horizontalpodautoscalers", NS, "web")
    assert hpa is not None and hpa["spec"]["metrics"][0]["external"]["metric"]["name"] == "foresight_desired_replicas"
    assert "HPA follows foresight_desired_replicas" in ready["message"], ready

    op.delete("scalingpolicies", "web")
    eventually(lambda: op.resource("scalingpolicies", "web") is None)
    assert op.names("autoscaling/v2/horizontalpodautoscalers") == []


def test_anomaly_policy_create_update_delete(op: Operator) -> None:
    spec = {"targetRef": {"name": "api"}, "signals": [{"name": "p95_latency", "query": "histogram_quantile(0.95, x)"}]}
    op.create("AnomalyPolicy", "anomalypolicies", "api", spec)
    eventually(lambda: op.condition("anomalypolicies", "api"))
    config = op.cluster.get("v1/configmaps", NS, "foresight-anomaly-api")
    assert config is not None and '"detector": "surprise"' in config["data"]["policy.json"]

    op.patch_spec("anomalypolicies", "api", {"detector": "ewma", "threshold": 0.95})
    eventually(lambda: op.condition("anomalypolicies", "api", generation=2))
    config = op.cluster.get("v1/configmaps", NS, "foresight-anomaly-api")
    assert config is not None and '"threshold": 0.95' in config["data"]["policy.json"]

    op.delete("anomalypolicies", "api")
    eventually(lambda: op.resource("anomalypolicies", "api") is None)
    assert "foresight-anomaly-api" not in op.names("v1/configmaps")


def test_a_malformed_resource_gets_the_precise_error_and_no_retry_storm(op: Operator) -> None:
    op.create("ScalingPolicy", "scalingpolicies", "broken", {"targetRef": {"name": "web"}, "minReplicas": 5, "maxReplicas": 2})
    degraded = eventually(lambda: op.condition("scalingpolicies", "broken", "Degraded"))
    assert degraded["status"] == "True" and degraded["reason"] == "InvalidSpec"
    assert "spec.capacityRps: Field required" in degraded["message"]
    # kopf recorded the change as handled (failed permanently): nothing is scheduled to retry it
    broken = eventually(lambda: (op.resource("scalingpolicies", "broken") or {}).get("metadata", {}).get("annotations", {})
                        .get("foresight.ai/last-handled-configuration"))
    assert '"minReplicas":5' in broken
    writes = len(op.cluster.emulator.objects["foresight.ai/v1alpha1/scalingpolicies", NS, "broken"].history)
    time.sleep(1.0)  # a retrying handler would patch its progress again within this time
    assert len(op.cluster.emulator.objects["foresight.ai/v1alpha1/scalingpolicies", NS, "broken"].history) == writes

    # fixing the resource heals it; deleting it is not blocked by the earlier failure
    op.patch_spec("scalingpolicies", "broken", {"capacityRps": 20, "minReplicas": 1})
    ready = eventually(lambda: op.condition("scalingpolicies", "broken", generation=2))
    assert ready["status"] == "True", ready
    op.delete("scalingpolicies", "broken")
    eventually(lambda: op.resource("scalingpolicies", "broken") is None)
