"""Retrain in a cluster: a TrainingJob per run, rendered, applied, polled, and its model read back.

:class:`TrainingJobRetrainer` is the feedback loop's :class:`~foresight.feedback.retrainer.Retrainer`
for a real platform. Each :meth:`~TrainingJobRetrainer.start` copies the TrainingJob *template*
under a run name of its own (``<template name>-<trigger time, epoch s>``, so a retried start
re-applies the same object instead of starting a second run), renders it with
:func:`foresight.gitops.render.render` (a ``batch/v1`` Job or a Kubeflow ``TrainJob`` /
``PyTorchJob`` / ``TFJob``), checks it, and applies it with no owner (the run must outlive a
restart of Foresight) and the labels ``foresight.ai/feedback-loop=<model>`` and
``foresight.ai/run=<run>``. :meth:`~TrainingJobRetrainer.poll` reads the object's status
(:func:`run_status`); :meth:`~TrainingJobRetrainer.cancel` deletes it (a timed-out run).

**The contract with the training container.** Every worker gets these environment variables
(usable in ``args`` as ``$(NAME)``, which Kubernetes expands):

* ``FORESIGHT_MODEL``, ``FORESIGHT_RUN``: the registered model name and this run's name;
* ``FORESIGHT_WINDOW_START_S``, ``FORESIGHT_WINDOW_END_S``: the data window to train on (epoch s);
* ``FORESIGHT_SEED``: the seed to fix; ``DATASET_URI``/``DATASET_VERSION`` when the template has a dataset;
* ``FORESIGHT_REGISTER_TAG``: ``foresight.run=<run>``.

On success the container must have registered exactly one version of ``FORESIGHT_MODEL`` in the
loop's registry (MLflow) with the tag ``foresight.run=<run>`` (plus its metrics, data version and
seed, which the gate reads). A run that succeeds without it fails the attempt with that reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Literal, Protocol

from pydantic import ValidationError

from foresight.errors import ConfigError, InputError
from foresight.feedback.decide import TrainingPending
from foresight.feedback.retrainer import Candidate, TrainingFailed
from foresight.gitops.admit import admit
from foresight.gitops.render import check, render
from foresight.registry.protocol import Registry
from foresight.specs import TrainingJob
from foresight.specs.workload import LABEL_VALUE

__all__ = ["LOOP_LABEL", "RUN_LABEL", "RUN_TAG", "ClusterObjects", "TrainingJobRetrainer", "run_status"]

#: Registry tag the training container puts on the version it registers: ``foresight.run=<run name>``.
RUN_TAG = "foresight.run"
#: Label on every run's object and pods: which feedback loop (model) started it.
LOOP_LABEL = "foresight.ai/feedback-loop"
#: Label on every run's object and pods: the run's name.
RUN_LABEL = "foresight.ai/run"
REASON_ANNOTATION = "foresight.ai/retrain-reason"
_NAME_MAX = 50  # TrainingJob metadata.name (room for suffixes within Kubernetes' 63)
_DONE = {"Complete", "Succeeded", "SuccessCriteriaMet"}
_FAILED = {"Failed", "FailureTarget"}

RunState = Literal["running", "succeeded", "failed"]


class ClusterObjects(Protocol):
    """What the retrainer needs from the Kubernetes API (:class:`~foresight.adapters.kubernetes.KubernetesObjects`)."""

    def apply(self, obj: Mapping[str, Any]) -> str: ...

    def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None: ...

    def delete(
        self, api_version: str, kind: str, namespace: str | None, name: str,
        propagation: Literal["Background", "Foreground", "Orphan"] | None = None,
    ) -> bool: ...


def run_status(obj: Mapping[str, Any]) -> tuple[RunState, str]:
    """Whether a training object is running, succeeded or failed, and what its status says.

    Conditions decide first: ``Complete`` (batch/v1 Job, Trainer v2 TrainJob) or ``Succeeded``
    (Training Operator v1) true means success, ``Failed`` (or a Job's ``FailureTarget``) true means
    failure. A Job without conditions yet is judged by its counts: ``succeeded`` reaching
    ``completions`` (default 1), or ``failed`` beyond ``backoffLimit`` (default 6).

    >>> run_status({"kind": "Job", "status": {"conditions": [
    ...     {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "reached limit"}]}})
    ('failed', 'BackoffLimitExceeded: reached limit')
    >>> run_status({"kind": "PyTorchJob", "status": {"conditions": [{"type": "Running", "status": "True"},
    ...     {"type": "Succeeded", "status": "True", "reason": "PyTorchJobSucceeded"}]}})
    ('succeeded', 'PyTorchJobSucceeded')
    >>> run_status({"kind": "Job", "spec": {"completions": 2}, "status": {"active": 1, "succeeded": 1}})
    ('running', 'active 1, succeeded 1 of 2, failed 0')
    """
    status = obj.get("status") or {}
    conditions = [c for c in status.get("conditions") or [] if isinstance(c, Mapping) and c.get("status") == "True"]
    for wanted, state in ((_FAILED, "failed"), (_DONE, "succeeded")):
        for c in conditions:
            if c.get("type") in wanted:
                said = ": ".join(str(c[k]) for k in ("reason", "message") if c.get(k)) or str(c.get("type"))
                return state, said  # type: ignore[return-value]
    spec = obj.get("spec") or {}
    if obj.get("kind") == "Job":
        completions, backoff = int(spec.get("completions") or 1), int(spec.get("backoffLimit", 6))
        active, succeeded, failed = (int(status.get(k) or 0) for k in ("active", "succeeded", "failed"))
        counts = f"active {active}, succeeded {succeeded} of {completions}, failed {failed}"
        if succeeded >= completions:
            return "succeeded", counts
        if failed > backoff:
            return "failed", f"{counts}, beyond backoffLimit {backoff}"
        return "running", counts
    latest = conditions[-1].get("type") if conditions else None
    return "running", f"condition {latest}" if latest else "no condition yet"


class TrainingJobRetrainer:
    """A :class:`~foresight.feedback.retrainer.Retrainer` that runs each retrain as a TrainingJob.

    ``template``: the TrainingJob to copy (image, command, resources, operator, dataset);
    ``window_s``: how much data before the trigger a run trains on; ``seed``: the seed every run
    gets; ``data_version``: the version of the data in a window (``(start_s, end_s) -> str``), which
    replaces the template's ``dataset.version`` (None: the template's version is used as is).
    """

    def __init__(
        self, model: str, template: TrainingJob, objects: ClusterObjects, registry: Registry, *,
        window_s: float = 86_400.0, seed: int = 0, data_version: Callable[[float, float], str] | None = None,
    ) -> None:
        if not model or len(model) > 63 or not re.fullmatch(LABEL_VALUE, model):
            raise ConfigError(f"model name {model!r} cannot be the label value of {LOOP_LABEL} "
                              "(at most 63 letters, digits, '-', '_', '.'; alphanumeric at both ends)")
        if window_s <= 0:
            raise ConfigError(f"window_s must be > 0, not {window_s}")
        if data_version is not None and template.spec.dataset is None:
            raise ConfigError(f"TrainingJob template {template.metadata.name}: data_version is given but the "
                              "template has no dataset to version; add spec.dataset")
        self.model, self.template, self.objects, self.registry = model, template, objects, registry
        self.window_s, self.seed, self.data_version = window_s, seed, data_version
        sample = self.manifests("sample", 0.0, "")  # a template that cannot render fails here, at start-up
        self._target = (sample[0]["apiVersion"], sample[0]["kind"], template.metadata.namespace)
        self._extras = [(doc["apiVersion"], doc["kind"]) for doc in sample[1:]]

    def run_name(self, now_s: float) -> str:
        """The run started by a trigger at ``now_s`` (the same trigger always names the same run)."""
        suffix = f"-{int(now_s)}"
        return self.template.metadata.name[: _NAME_MAX - len(suffix)].rstrip("-") + suffix

    def manifests(self, run: str, now_s: float, reason: str) -> list[dict[str, Any]]:
        """The checked objects of run ``run`` (trained on the window ending at ``now_s``)."""
        start_s = now_s - self.window_s
        body = self.template.model_dump(mode="json")
        meta, spec = body["metadata"], body["spec"]
        meta["name"] = run
        meta["labels"] = {**meta.get("labels", {}), LOOP_LABEL: self.model, RUN_LABEL: run}
        spec["env"] = {
            **spec.get("env", {}), "FORESIGHT_MODEL": self.model, "FORESIGHT_RUN": run, "FORESIGHT_SEED": str(self.seed),
            "FORESIGHT_WINDOW_START_S": f"{start_s:.0f}", "FORESIGHT_WINDOW_END_S": f"{now_s:.0f}",
            "FORESIGHT_REGISTER_TAG": f"{RUN_TAG}={run}",
        }
        if self.data_version is not None:
            spec["dataset"]["version"] = self.data_version(start_s, now_s)
        try:
            job = TrainingJob.model_validate(body)
        except ValidationError as exc:
            raise ConfigError(f"TrainingJob template {self.template.metadata.name} for run {run}: {exc}") from None
        docs = render(job)
        check(docs).raise_for_problems(f"training run {run}")
        admit(job, docs).raise_if_blocked(f"training run {run}")  # the manifest gate, as for any rendered spec
        for doc in docs:
            doc["metadata"].pop("ownerReferences", None)  # ownerless: the run outlives the controller's pod
            if reason:
                doc["metadata"].setdefault("annotations", {})[REASON_ANNOTATION] = reason[:1000]
        return docs

    def start(self, reason: str, now_s: float) -> str:
        run = self.run_name(now_s)
        for doc in self.manifests(run, now_s, reason):
            self.objects.apply(doc)  # idempotent: a retried start finds its run and leaves it as it is
        return run

    def poll(self, run: str, now_s: float) -> Candidate | TrainingPending | TrainingFailed:
        api_version, kind, namespace = self._target
        what = f"{kind} {namespace}/{run}"
        obj = self.objects.get(api_version, kind, namespace, run)
        if obj is None:
            return TrainingFailed(f"{what} is gone (deleted before it finished)")
        state, said = run_status(obj)
        if state == "running":
            return TrainingPending(f"{what} running ({said})")
        if state == "failed":
            return TrainingFailed(f"{what} failed: {said}")
        try:
            found = [v for v in self.registry.list_versions(self.model) if v.tags.get(RUN_TAG) == run]
        except InputError:
            found = []
        if not found:
            return TrainingFailed(
                f"{what} succeeded ({said}) but registered no version of model {self.model!r} tagged "
                f"{RUN_TAG}={run}: the training container must register its model with that tag")
        v = max(found, key=lambda mv: mv.version)  # a container that retried registration: its last version
        return Candidate(model=None, params=v.params, metrics=v.metrics, data_version=v.data_version, seed=v.seed,
                         tags=dict(v.tags), version=v.version)

    def cancel(self, run: str) -> None:
        api_version, kind, namespace = self._target
        self.objects.delete(api_version, kind, namespace, run, propagation="Background")  # its pods go too
        for extra in self._extras:  # what was rendered beside the job (its NetworkPolicy) goes with it
            self.objects.delete(extra[0], extra[1], namespace, run)
