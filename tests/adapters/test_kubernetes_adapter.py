"""The Kubernetes adapter against the API emulator (kmock 0.8 + the fix layer in tests/operator):
apply is create-or-patch and idempotent, delete tolerates absence, status patches, errors carry
their recovery; the Lease is compare-and-swap and two electors never both lead."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import kubernetes
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "operator"))
from kube_emulator import Cluster  # noqa: E402

from foresight.adapters.kubernetes import Conflict, KubernetesLease, KubernetesObjects, LeaderElector  # noqa: E402
from foresight.clock import ManualClock  # noqa: E402
from foresight.errors import ConfigError, ServiceUnavailable  # noqa: E402
from foresight.control.lease import LeaseRecord  # noqa: E402


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    c = Cluster()
    yield c
    c.close()


def config_map(name: str, **data: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}, "data": data}


def test_apply_creates_then_patches_only_what_differs(cluster: Cluster) -> None:
    objects = KubernetesObjects(cluster.api_client())
    assert objects.apply(config_map("a", x="1")) == "created"
    assert objects.apply(config_map("a", x="1")) == "unchanged"
    version = cluster.get("v1/configmaps", "default", "a")["metadata"]["resourceVersion"]  # type: ignore[index]
    assert objects.apply(config_map("a", x="2")) == "updated"
    live = cluster.get("v1/configmaps", "default", "a")
    assert live is not None and live["data"] == {"x": "2"} and live["metadata"]["resourceVersion"] != version


def test_apply_keeps_fields_others_own(cluster: Cluster) -> None:
    objects = KubernetesObjects(cluster.api_client())
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
                  "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "app:1"}]}}}}
    objects.apply(deployment)
    objects.patch_status("apps/v1", "Deployment", "default", "web", {"readyReplicas": 2})
    assert objects.apply(deployment) == "unchanged"
    live = cluster.get("apps/v1/deployments", "default", "web")
    assert live is not None and live["status"] == {"readyReplicas": 2}


def test_delete_says_whether_anything_was_there(cluster: Cluster) -> None:
    objects = KubernetesObjects(cluster.api_client())
    objects.apply(config_map("gone"))
    assert objects.delete("v1", "ConfigMap", "default", "gone") is True
    assert objects.delete("v1", "ConfigMap", "default", "gone") is False
    assert objects.get("v1", "ConfigMap", "default", "gone") is None


def test_delete_with_a_propagation_policy_removes_the_job(cluster: Cluster) -> None:
    objects = KubernetesObjects(cluster.api_client())
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "train-1", "namespace": "default"},
           "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "t", "image": "t:1"}]}}}}
    objects.apply(job)
    assert objects.delete("batch/v1", "Job", "default", "train-1", propagation="Background") is True
    assert objects.get("batch/v1", "Job", "default", "train-1") is None
    assert objects.delete("batch/v1", "Job", "default", "train-1", propagation="Background") is False


def test_a_kind_the_server_does_not_serve_is_a_configuration_error(cluster: Cluster) -> None:
    objects = KubernetesObjects(cluster.api_client())
    with pytest.raises(ConfigError, match="not found"):
        objects.patch_status("example.com/v1", "Widget", "default", "w", {"a": 1})


def test_an_unreachable_api_server_is_worth_retrying() -> None:
    config = kubernetes.client.Configuration()
    config.host = "http://127.0.0.1:9"
    config.retries = 0
    with pytest.raises(ServiceUnavailable) as info:
        KubernetesObjects(kubernetes.client.ApiClient(config)).apply(config_map("x"))
    assert info.value.retry_after_s == 5.0


def test_lease_writes_are_compare_and_swap(cluster: Cluster) -> None:
    lease = KubernetesLease(cluster.api_client(), "default", "cas")
    assert lease.read() == (None, None)
    lease.write(LeaseRecord("a", 15, 0.0, 0.0), None)
    with pytest.raises(Conflict):  # a second create loses
        lease.write(LeaseRecord("b", 15, 0.0, 0.0), None)
    record, version = lease.read()
    assert record is not None and record.holder == "a" and version is not None
    lease.write(LeaseRecord("a", 15, 0.0, 5.0), version)
    with pytest.raises(Conflict):  # a write from a stale read loses
        lease.write(LeaseRecord("b", 15, 0.0, 6.0), version)
    record, _ = lease.read()
    assert record is not None and (record.holder, record.renew_time) == ("a", 5.0)


def test_two_electors_take_turns_and_never_lead_together(cluster: Cluster) -> None:
    clock = ManualClock(1_800_000_000.0)
    a = LeaderElector(KubernetesLease(cluster.api_client(), "default", "foresight"), "a", 15.0, 10.0, clock)
    b = LeaderElector(KubernetesLease(cluster.api_client(), "default", "foresight"), "b", 15.0, 10.0, clock)
    assert a.step() is True and b.step() is False
    assert (a.last and a.last.action, b.last and b.last.action) == ("acquire", "wait")
    for _ in range(5):  # a renews every 2 s; b keeps waiting
        clock.advance(2.0)
        assert a.step() is True and b.step() is False
        assert a.is_leader() and not b.is_leader()
    clock.advance(10.0)  # a stops renewing (crashed or partitioned): it stops acting first ...
    assert not a.is_leader()
    assert b.step() is False  # ... and b still waits out the lease
    clock.advance(5.0)
    assert b.step() is True and b.last is not None and b.last.action == "take-over"
    assert a.step() is False and not a.is_leader()
    lease = cluster.get("coordination.k8s.io/v1/leases", "default", "foresight")
    assert lease is not None and lease["spec"]["holderIdentity"] == "b" and lease["spec"]["leaseTransitions"] == 1

    b.release()  # shutdown: a takes over at once, without waiting for expiry
    assert not b.is_leader()
    clock.advance(0.5)
    assert a.step() is True and a.last is not None and a.last.action == "acquire"


def test_the_renew_deadline_must_be_shorter_than_the_lease(cluster: Cluster) -> None:
    with pytest.raises(ConfigError, match="shorter than the lease"):
        LeaderElector(KubernetesLease(cluster.api_client(), "default", "x"), "a", 10.0, 10.0)


def test_the_scale_target_reads_status_and_writes_through_scale(cluster: Cluster) -> None:
    from foresight.adapters.kubernetes import KubernetesScaleTarget
    from foresight.ports import Scale

    cluster.put("apps/v1/deployments", "default", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": "default"},
        "spec": {"replicas": 3}, "status": {"replicas": 3, "readyReplicas": 2}})
    target = KubernetesScaleTarget(cluster.api_client(), "default")
    assert target.get_scale("api") == Scale(3, 3, 2)
    target.set_replicas("api", 5)
    assert target.get_scale("api").desired == 5
    with pytest.raises(ConfigError, match="replicas must be >= 0"):
        target.set_replicas("api", -1)
    with pytest.raises(ConfigError, match="not found"):
        target.get_scale("absent")
