"""The periodic resync is level-based: an owned object deleted behind the operator's back comes back."""

from __future__ import annotations

import time
from typing import Any

import kopf
from kopf.testing import KopfRunner
from kube_emulator import Cluster

from foresight.adapters.kubernetes import KubernetesObjects, _Api
from foresight.clock import ManualClock
from foresight.operator.handlers import HandlerContext, operator_settings, registry

CR = "foresight.ai/v1alpha1"


def eventually(check: Any, timeout_s: float = 8.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (value := check()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
    return value


def test_a_deleted_owned_object_is_recreated_by_the_resync() -> None:
    cluster = Cluster()
    objects = KubernetesObjects(cluster.api_client())
    reg = registry(HandlerContext(objects, clock=ManualClock(0.0), resync_s=0.3), kinds=("AnomalyPolicy",))

    @kopf.on.login(registry=reg)
    def login(**_: Any) -> kopf.ConnectionInfo:
        return kopf.ConnectionInfo(server=cluster.url, insecure=True)

    settings = operator_settings()
    settings.posting.enabled = False
    try:
        with KopfRunner(["run", "--standalone", "--all-namespaces"], registry=reg, settings=settings, timeout=10):
            _Api(cluster.api_client()).call("POST", f"/apis/{CR}/namespaces/default/anomalypolicies", {
                "apiVersion": CR, "kind": "AnomalyPolicy", "metadata": {"name": "db", "namespace": "default"},
                "spec": {"targetRef": {"name": "db"}, "signals": [{"name": "errors", "query": "up == 0"}]}})
            eventually(lambda: cluster.get("v1/configmaps", "default", "foresight-anomaly-db"))
            assert objects.delete("v1", "ConfigMap", "default", "foresight-anomaly-db")
            eventually(lambda: cluster.get("v1/configmaps", "default", "foresight-anomaly-db"))
    finally:
        cluster.close()
