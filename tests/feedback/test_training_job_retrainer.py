"""The loop retrains in a cluster: a TrainingJob applied to the API emulator, its status polled across
ticks, the version the run registered gated and canaried; failures, silence and timeouts audited."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kube_emulator import Cluster

from foresight.adapters.kubernetes import KubernetesObjects
from foresight.clock import ManualClock
from foresight.adapters.audit_log import AuditLog
from foresight.errors import ConfigError, InputError, ServiceUnavailable
from foresight.feedback import CanaryEnded, Candidate, DecaySignal, FeedbackLoop, LoopPolicy, TrainingPending, Phase, TrainingFailed
from foresight.feedback.training_job import LOOP_LABEL, RUN_LABEL, RUN_TAG, TrainingJobRetrainer, run_status
from foresight.adapters.local_registry import LocalRegistry
from foresight.registry import CHALLENGER, CHAMPION
from foresight.specs import TrainingJob

DRIFT = DecaySignal(True, 0.4, "PSI 0.4 > 0.2")
CALM = DecaySignal(False, 0.01, "")
JOBS = "batch/v1/jobs"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    c = Cluster()
    yield c
    c.close()


class TwoLookCanary:
    """A canary that promotes on its second look (the Canary port)."""

    def __init__(self) -> None:
        self.started: list[int] = []
        self.looks = 0

    def start(self, version: int, now_s: float) -> None:
        self.started.append(version)
        self.looks = 0

    def advance_to(self, now_s: float) -> CanaryEnded | None:
        self.looks += 1
        return CanaryEnded(True, "promote: all metrics safe") if self.looks >= 2 else None


def template(name: str, **spec: Any) -> TrainingJob:
    return TrainingJob.model_validate({
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"framework": "generic", "image": "ghcr.io/acme/train:1", "command": ["python", "train.py"],
                 "dataset": {"uri": "s3://acme/churn", "version": "v0"}, **spec},
    })


def setup(tmp_path, cluster: Cluster, name: str, **policy: Any):
    clock = ManualClock(1_000.0)
    registry = LocalRegistry(tmp_path / "r.db", clock=clock)
    v1 = registry.register("churn", params={}, metrics={"accuracy": 0.90}, code_commit="c", data_version="v0", seed=0)
    registry.set_alias("churn", CHAMPION, v1.version)
    retrainer = TrainingJobRetrainer("churn", template(name), KubernetesObjects(cluster.api_client()), registry,
                                     window_s=3_600, seed=7, data_version=lambda a, b: f"w{int(a)}-{int(b)}")
    audit = AuditLog("sqlite://")
    canary = TwoLookCanary()
    loop = FeedbackLoop("churn", LoopPolicy(cooldown_s=3_600, training_timeout_s=1_800, **policy), registry,
                        retrainer, canary, clock, audit=audit)
    return loop, clock, registry, audit, canary


def set_status(cluster: Cluster, resource: str, name: str, status: dict[str, Any]) -> None:
    """What the Job controller would write (the emulator runs no controllers)."""
    live = cluster.get(resource, "default", name)
    assert live is not None
    cluster.put(resource, "default", {**live, "status": status})


def actions(steps) -> list[str]:
    return [s.action for s in steps]


def test_a_job_is_applied_polled_and_its_registered_version_gated_and_canaried(tmp_path, cluster: Cluster) -> None:
    loop, clock, registry, audit, canary = setup(tmp_path, cluster, "churn-train")
    assert actions(loop.tick(DRIFT, 0.7)) == ["retrain"]
    run = "churn-train-1000"
    assert loop.state.phase is Phase.TRAINING and loop.state.run == run
    job = cluster.get(JOBS, "default", run)
    assert job is not None and "ownerReferences" not in job["metadata"]
    assert job["metadata"]["labels"][LOOP_LABEL] == "churn" and job["metadata"]["labels"][RUN_LABEL] == run
    assert "PSI 0.4 > 0.2" in job["metadata"]["annotations"]["foresight.ai/retrain-reason"]
    env = {e["name"]: e["value"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["FORESIGHT_RUN"] == run and env["FORESIGHT_SEED"] == "7" and env["FORESIGHT_MODEL"] == "churn"
    assert (env["FORESIGHT_WINDOW_START_S"], env["FORESIGHT_WINDOW_END_S"]) == ("-2600", "1000")
    assert env["DATASET_VERSION"] == "w-2600-1000" and env["FORESIGHT_REGISTER_TAG"] == f"{RUN_TAG}={run}"

    clock.advance(60)
    steps = loop.tick(DRIFT, 0.7)
    assert actions(steps) == ["poll_training"] and loop.state.phase is Phase.TRAINING  # still running: no new run
    assert cluster.names(JOBS, "default").count(run) == 1

    # the Job finishes; its container registered the model with the run's tag (the contract)
    set_status(cluster, JOBS, run, {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]})
    registry.register("churn", params={"C": "1"}, metrics={"accuracy": 0.93}, code_commit="abc",
                      data_version="w-2600-1000", seed=7, tags={RUN_TAG: run})
    clock.advance(60)
    assert actions(loop.tick(CALM, 0.7)) == ["poll_training", "gate", "start_canary"]
    assert registry.get_alias("churn", CHALLENGER).version == 2 and canary.started == [2]
    assert registry.get("churn", 2).parent == 1  # lineage recorded for a version the loop did not register
    assert [v.version for v in registry.list_versions("churn")] == [1, 2]  # nothing registered twice
    for _ in range(2):
        clock.advance(60)
        steps = loop.tick(CALM, 0.7)
    assert actions(steps) == ["canary_step", "promote"] and registry.get_alias("churn", CHAMPION).version == 2
    reasons = [r.reason.split(":")[0] for r in audit.query(target="churn", controller="feedback")]
    assert reasons == ["retrain", "poll_training", "poll_training", "gate", "start_canary", "canary_step",
                       "canary_step", "promote"]


def test_a_failed_job_is_audited_and_the_loop_returns_to_watching(tmp_path, cluster: Cluster) -> None:
    loop, clock, registry, audit, canary = setup(tmp_path, cluster, "churn-fails")
    loop.tick(DRIFT, 0.7)
    set_status(cluster, JOBS, "churn-fails-1000", {"failed": 4, "conditions": [
        {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]})
    clock.advance(60)
    steps = loop.tick(DRIFT, 0.7)
    assert actions(steps) == ["poll_training", "discard"] and loop.state.phase is Phase.WATCHING
    assert "Job default/churn-fails-1000 failed: BackoffLimitExceeded" in steps[-1].reason
    assert registry.get_alias("churn", CHAMPION).version == 1 and canary.started == []
    records = audit.query(target="churn", controller="feedback")
    assert records[-2].error and "BackoffLimitExceeded" in records[-2].error
    clock.advance(60)
    assert actions(loop.tick(DRIFT, 0.7)) == ["suppress"]  # the cool-down still applies after a failed run


def test_a_job_that_succeeds_without_registering_fails_with_the_contract(tmp_path, cluster: Cluster) -> None:
    loop, clock, registry, *_ = setup(tmp_path, cluster, "churn-silent")
    loop.tick(DRIFT, 0.7)
    set_status(cluster, JOBS, "churn-silent-1000", {"succeeded": 1})
    clock.advance(60)
    steps = loop.tick(CALM, 0.7)
    assert actions(steps) == ["poll_training", "discard"]
    assert ("succeeded (active 0, succeeded 1 of 1, failed 0) but registered no version of model 'churn' tagged "
            "foresight.run=churn-silent-1000") in steps[-1].reason
    assert [v.version for v in registry.list_versions("churn")] == [1]


def test_a_job_past_its_timeout_is_deleted_and_audited(tmp_path, cluster: Cluster) -> None:
    loop, clock, _, audit, _ = setup(tmp_path, cluster, "churn-slow")
    loop.tick(DRIFT, 0.7)
    clock.advance(1_800)
    steps = loop.tick(DRIFT, 0.7)
    assert actions(steps) == ["stop_training"] and "timed out: running 1800 s, limit 1800 s" in steps[0].reason
    assert cluster.get(JOBS, "default", "churn-slow-1000") is None and loop.state.run is None
    assert audit.query(target="churn", controller="feedback")[-1].error
    assert actions(loop.tick(DRIFT, 0.7)) == ["suppress"]


def test_a_retried_start_reapplies_the_same_run_and_kubeflow_conditions_are_read(tmp_path, cluster: Cluster) -> None:
    registry = LocalRegistry(tmp_path / "r.db")
    objects = KubernetesObjects(cluster.api_client())
    retrainer = TrainingJobRetrainer("churn", template("churn-torch", framework="pytorch", operator="pytorchjob"),
                                     objects, registry)
    run = retrainer.start("drift", 5_000.0)
    assert retrainer.start("drift", 5_000.0) == run == "churn-torch-5000"
    resource = "kubeflow.org/v1/pytorchjobs"
    assert cluster.names(resource, "default").count(run) == 1
    assert isinstance(retrainer.poll(run, 5_060.0), TrainingPending)
    set_status(cluster, resource, run, {"conditions": [{"type": "Running", "status": "False"},
                                                       {"type": "Succeeded", "status": "True", "reason": "Done"}]})
    registry.register("churn", params={}, metrics={"accuracy": 0.9}, code_commit="c", data_version="v0", seed=0,
                      tags={RUN_TAG: run})
    found = retrainer.poll(run, 5_120.0)
    assert isinstance(found, Candidate) and found.version == 1 and found.metrics == {"accuracy": 0.9}
    retrainer.cancel(run)
    assert isinstance(retrainer.poll(run, 5_180.0), TrainingFailed)


def test_bad_configuration_is_refused_at_start_up(tmp_path, cluster: Cluster) -> None:
    registry, objects = LocalRegistry("sqlite://"), KubernetesObjects(cluster.api_client())
    with pytest.raises(ConfigError, match="label value"):
        TrainingJobRetrainer("churn model", template("t"), objects, registry)
    bare = TrainingJob.model_validate({"metadata": {"name": "t"}, "spec": {
        "framework": "generic", "image": "ghcr.io/acme/train:1", "command": ["train"]}})
    with pytest.raises(ConfigError, match="no dataset"):
        TrainingJobRetrainer("churn", bare, objects, registry, data_version=lambda a, b: "x")


def test_trainjob_conditions() -> None:
    assert run_status({"kind": "TrainJob", "status": {"conditions": [{"type": "Complete", "status": "True"}]}})[0] == "succeeded"
    assert run_status({"kind": "TrainJob", "status": {}}) == ("running", "no condition yet")
    assert run_status({"kind": "Job", "spec": {"backoffLimit": 1}, "status": {"failed": 2}})[0] == "failed"


class FlakyObjects(KubernetesObjects):
    """The adapter with an API outage on reads: the gets numbered in ``failing`` (from 1) raise ServiceUnavailable."""

    failing: set[int] = set()
    calls = 0

    def get(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        self.calls += 1
        if self.calls in self.failing:
            raise ServiceUnavailable("GET Job: Kubernetes API unreachable (connection refused)", retry_after_s=5.0)
        return super().get(*args, **kwargs)


def test_an_unreachable_api_while_training_holds_without_a_second_run(tmp_path, cluster: Cluster) -> None:
    loop, clock, *_ = setup(tmp_path, cluster, "churn-flaky")
    objects = FlakyObjects(cluster.api_client())
    loop.retrainer.objects = objects
    # gets 1 and 2 are apply's (the Job, its NetworkPolicy); then the status read right after the start, and the next poll
    objects.failing = {3, 4}
    assert actions(loop.tick(DRIFT, 0.7)) == ["retrain"] and loop.state.phase is Phase.TRAINING
    clock.advance(60)
    steps = loop.tick(DRIFT, 0.7)
    assert actions(steps) == ["poll_training", "hold"] and "connection refused" in (steps[0].error or "")
    assert loop.state.phase is Phase.TRAINING and loop.state.run == "churn-flaky-1000"
    clock.advance(60)
    assert actions(loop.tick(DRIFT, 0.7)) == ["poll_training"]
    assert cluster.names(JOBS, "default").count("churn-flaky-1000") == 1


def test_a_template_the_manifest_gate_refuses_is_refused_at_start_up(tmp_path, cluster: Cluster) -> None:
    registry, objects = LocalRegistry("sqlite://"), KubernetesObjects(cluster.api_client())
    root = {"containerSecurityContext": {"privileged": True}, "securityOverride": {"reason": "the trainer loads a kernel module"}}
    with pytest.raises(InputError, match="training run sample: refused by the manifest scan: error FSM002"):
        TrainingJobRetrainer("churn", template("t", **root), objects, registry)
    allowed = {**root, "securityOverride": {"reason": "the trainer loads a kernel module", "allow": ["FSM002", "FSM009"]}}
    docs = TrainingJobRetrainer("churn", template("t", **allowed), objects, registry).manifests("t-1", 60.0, "drift")
    assert docs[0]["spec"]["template"]["spec"]["containers"][0]["securityContext"]["privileged"] is True
