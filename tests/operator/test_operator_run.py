"""`run_operator`: two replicas against the emulator; only the Lease holder reconciles, both answer
/healthz, and a stopped leader releases the Lease so the standby takes over at once."""

from __future__ import annotations

import asyncio
import threading
import time
import urllib.request
from typing import Any

import kopf
import pytest
from kube_emulator import Cluster

from foresight.bench.prometheus_server import free_port
from foresight.adapters.kubernetes import _Api
from foresight.errors import ConfigError
from foresight.operator.run import OperatorOptions, run_operator

CR = "foresight.ai/v1alpha1"


class Replica:
    """One operator replica in its own thread and event loop."""

    def __init__(self, cluster: Cluster, name: str) -> None:
        self.port = free_port()
        self.stop = threading.Event()
        self.error: BaseException | None = None
        # A lease far longer than the test: the standby can only get it through a release.
        options = OperatorOptions("default", "foresight-leader", name, lease_duration_s=60.0, renew_deadline_s=40.0,
                                  retry_period_s=0.2, health_port=self.port)

        def login(**_: Any) -> kopf.ConnectionInfo:
            return kopf.ConnectionInfo(server=cluster.url, insecure=True)

        def main() -> None:
            try:
                asyncio.run(run_operator(options, cluster.api_client(), login=login, stop=self.stop))
            except BaseException as exc:  # reported by the test
                self.error = exc

        self.thread = threading.Thread(target=main, daemon=True)
        self.thread.start()

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def close(self) -> None:
        self.stop.set()
        self.thread.join(15)
        assert not self.thread.is_alive(), "the replica did not stop"
        assert self.error is None, self.error


def eventually(check: Any, timeout_s: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (value := check()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
    return value


def holder(cluster: Cluster) -> str | None:
    lease = cluster.get("coordination.k8s.io/v1/leases", "default", "foresight-leader")
    return lease["spec"]["holderIdentity"] if lease else None


def test_only_the_lease_holder_reconciles_and_a_standby_takes_over() -> None:
    cluster = Cluster()
    api = _Api(cluster.api_client())
    try:
        a = Replica(cluster, "replica-a")
        eventually(lambda: holder(cluster) == "replica-a")
        b = Replica(cluster, "replica-b")
        eventually(lambda: a.healthy() and b.healthy())

        api.call("POST", f"/apis/{CR}/namespaces/default/scalingpolicies", {
            "apiVersion": CR, "kind": "ScalingPolicy", "metadata": {"name": "one", "namespace": "default"},
            "spec": {"targetRef": {"name": "one"}, "capacityRps": 10}})
        eventually(lambda: cluster.get("keda.sh/v1alpha1/scaledobjects", "default", "one"))
        assert holder(cluster) == "replica-a"

        a.close()  # releases the Lease on the way out; b acquires it without waiting out the 60 s lease
        eventually(lambda: holder(cluster) == "replica-b")
        lease = cluster.get("coordination.k8s.io/v1/leases", "default", "foresight-leader")
        assert lease is not None and lease["spec"]["leaseTransitions"] == 0  # acquired after a release, not taken over
        api.call("POST", f"/apis/{CR}/namespaces/default/scalingpolicies", {
            "apiVersion": CR, "kind": "ScalingPolicy", "metadata": {"name": "two", "namespace": "default"},
            "spec": {"targetRef": {"name": "two"}, "capacityRps": 10, "mode": "hpa"}})
        eventually(lambda: cluster.get("autoscaling/v2/horizontalpodautoscalers", "default", "two"))
        b.close()
        assert holder(cluster) is None
    finally:
        cluster.close()


def test_a_renew_deadline_not_above_the_retry_period_is_refused() -> None:
    options = OperatorOptions("default", renew_deadline_s=2.0, retry_period_s=2.0, health_port=None)
    with pytest.raises(ConfigError, match="must exceed the retry period"):
        asyncio.run(run_operator(options, client=None))
