"""The kopf handlers: read the resource, ask :func:`~foresight.operator.decide.decide`, act, write status.

One reconcile function serves create, update, resume and a periodic resync (level-triggered: it
always starts from the whole resource as it is now, never from the event; the resync puts back
owned objects someone edited or deleted), for all four kinds. Acting is one of:

* **apply** (default): create / merge-patch the owned objects through
  :class:`~foresight.adapters.kubernetes.KubernetesObjects`, then delete the ones the inventory no
  longer needs;
* **GitOps**: ModelDeployments and TrainingJobs are committed with their Argo CD Application
  (:func:`foresight.gitops.argocd.deploy`); Argo CD applies them. Policies are Foresight's own
  configuration and are applied directly in both modes.

A malformed resource gets ``Ready=False``/``Degraded=True`` with the precise validation error and a
:class:`kopf.PermanentError` (no retries until the resource changes); an unreachable API server
or Git remote a :class:`kopf.TemporaryError` with the retry delay. Deletion goes through kopf's
finalizer: the owned objects are deleted (or uncommitted) before the resource disappears.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import kopf

from foresight.adapters.kubernetes import KubernetesObjects
from foresight.clock import Clock, SystemClock
from foresight.errors import ConfigError, ServiceUnavailable
from foresight.gitops.argocd import Target, app_folder, application, deploy
from foresight.gitops.repo import DEFAULT_AUTHOR, GitRemote
from foresight.operator.decide import DEFAULT_SCALER, Decision, cleanup, decide, status
from foresight.specs import ModelDeployment, TrainingJob
from foresight.specs.crd import PLURALS
from foresight.specs.resource import parse
from foresight.specs.workload import API_VERSION, GROUP

__all__ = ["FINALIZER", "GitOps", "HandlerContext", "finalize", "operator_settings", "reconcile", "registry"]

_VERSION = API_VERSION.rpartition("/")[2]
#: The finalizer that keeps a resource until its owned objects are gone.
FINALIZER = "foresight.ai/finalizer"
#: How long to wait before retrying a reconcile that failed on RBAC or a missing CRD (a person must act).
CONFIG_RETRY_S = 60.0


@dataclass(frozen=True)
class GitOps:
    """Where GitOps mode commits: a Git branch and the Argo CD target it feeds."""

    remote: GitRemote
    target: Target


@dataclass
class HandlerContext:
    """What the handlers act through: the API (always, for policies and cleanup), Git (GitOps mode)."""

    objects: KubernetesObjects
    gitops: GitOps | None = None
    scaler_address: str = DEFAULT_SCALER
    clock: Clock = field(default_factory=SystemClock)
    #: Seconds between level-based resyncs of every resource (heals owned objects someone changed
    #: or deleted; kopf only reacts to changes of the resource itself); None: no resync.
    resync_s: float | None = 300.0


def _act(runtime: HandlerContext, decision: Decision, body: Mapping[str, Any]) -> str:
    """Make the decision true; a one-line account of what changed."""
    spec = decision.spec
    if runtime.gitops is not None and _committed(runtime, body) and isinstance(spec, ModelDeployment | TrainingJob):
        generation = (body.get("metadata") or {}).get("generation")
        reason = f"{spec.kind} {spec.metadata.namespace}/{spec.metadata.name} generation {generation} (operator)"
        result = deploy([spec], runtime.gitops.remote, runtime.gitops.target, reason, clock=runtime.clock)
        return f"commit {result.commit[:12]}" if result.commit else "Git already holds these manifests"
    done = []
    for obj in decision.objects:
        what = runtime.objects.apply(obj)
        done.append(f"{obj['kind']}/{obj['metadata']['name']} {what}")
    for ref in decision.prune:
        if runtime.objects.delete(ref.api_version, ref.kind, ref.namespace or None, ref.name):
            done.append(f"{ref} pruned")
    return f"{len(decision.objects)} object(s): " + ", ".join(done) if done else "no owned objects"


def reconcile(runtime: HandlerContext, body: Mapping[str, Any], patch: kopf.Patch, logger: logging.Logger | Any) -> str:
    """Create / update / resume: the same level-based reconcile (see the module docstring)."""
    decision = decide(body, runtime.scaler_address)
    now = runtime.clock.now()
    if decision.error is not None:
        patch.status.update(status(body, decision, None, None, now))
        raise kopf.PermanentError(decision.error)
    try:
        outcome = _act(runtime, decision, body)
    except ServiceUnavailable as exc:
        patch.status.update(status(body, decision, None, str(exc), now))
        raise kopf.TemporaryError(str(exc), delay=exc.retry_after_s if exc.retry_after_s is not None else 10.0) from None
    except ConfigError as exc:
        patch.status.update(status(body, decision, None, str(exc), now))
        raise kopf.TemporaryError(str(exc), delay=CONFIG_RETRY_S) from None
    patch.status.update(status(body, decision, outcome, None, now))
    logger.info(f"reconciled: {outcome}")
    return outcome


def _uncommit(gitops: GitOps, body: Mapping[str, Any], clock: Clock) -> str:
    """Remove a deleted resource's folder and Argo CD Application from Git (Argo CD then prunes)."""
    try:
        spec = parse(body)
    except Exception:  # a resource that never validated was never committed
        return "nothing was committed"
    if not isinstance(spec, ModelDeployment | TrainingJob):
        return "policies are not committed"
    folder = app_folder(spec, gitops.target.environment)
    app_file = f"{application(spec, gitops.target)['metadata']['name']}.yaml"
    snapshot = gitops.remote.fetch()
    keep = {posixpath.join("argocd", n): d for n, d in snapshot.files("argocd").items() if n != app_file}
    message = f"{spec.metadata.name} ({gitops.target.environment}): remove\n\nWhy: {spec.kind} deleted (operator)\n"
    commit = snapshot.commit(keep, [folder, "argocd"], message, DEFAULT_AUTHOR, clock.now())
    if commit is None:
        return "Git held nothing for it"
    gitops.remote.push(snapshot, commit)
    return f"commit {commit.decode()[:12]}"


def _committed(runtime: HandlerContext, body: Mapping[str, Any]) -> bool:
    """Whether this resource's objects live in Git (GitOps mode) rather than being applied directly."""
    return runtime.gitops is not None and body.get("kind") in ("ModelDeployment", "TrainingJob")


def finalize(runtime: HandlerContext, body: Mapping[str, Any], logger: logging.Logger | Any) -> str:
    """Delete (or uncommit) everything the resource owns; kopf then releases its finalizer.

    In GitOps mode a ModelDeployment's or TrainingJob's objects are only uncommitted: Argo CD
    prunes them, and the operator holds no RBAC to delete them itself.
    """
    try:
        if runtime.gitops is not None and _committed(runtime, body):
            summary = _uncommit(runtime.gitops, body, runtime.clock)
        else:
            deleted = []
            for ref in cleanup(body, runtime.scaler_address):
                if runtime.objects.delete(ref.api_version, ref.kind, ref.namespace or None, ref.name):
                    deleted.append(str(ref))
            summary = ", ".join(deleted) or "nothing left to delete"
    except ServiceUnavailable as exc:
        raise kopf.TemporaryError(str(exc), delay=exc.retry_after_s if exc.retry_after_s is not None else 10.0) from None
    except ConfigError as exc:
        raise kopf.TemporaryError(str(exc), delay=CONFIG_RETRY_S) from None
    logger.info(f"finalized: {summary}")
    return summary


def operator_settings(standalone: bool = True) -> kopf.OperatorSettings:
    """kopf's settings for Foresight: its own finalizer, no kopf peering (the Lease gates replicas:
    :mod:`foresight.operator.run`), progress kept in annotations (``status`` is Foresight's)."""
    settings = kopf.OperatorSettings()
    settings.persistence.finalizer = FINALIZER
    settings.peering.standalone = standalone
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix=GROUP, key="last-handled-configuration")
    return settings


def registry(runtime: HandlerContext, kinds: tuple[str, ...] = tuple(PLURALS)) -> kopf.OperatorRegistry:
    """A kopf registry with the handlers of ``kinds`` bound to ``runtime`` (no module-level state)."""
    reg = kopf.OperatorRegistry()

    # The handlers return None: kopf would copy a returned value into status under the handler's id.
    def on_change(body: kopf.Body, patch: kopf.Patch, logger: logging.Logger, **_: Any) -> None:
        reconcile(runtime, body, patch, logger)

    def on_delete(body: kopf.Body, logger: logging.Logger, **_: Any) -> None:
        finalize(runtime, body, logger)

    def on_resync(body: kopf.Body, patch: kopf.Patch, logger: logging.Logger, **_: Any) -> None:
        if body.get("metadata", {}).get("deletionTimestamp"):
            return
        if decide(body, runtime.scaler_address).error is None:  # a malformed one already says why; no log storm
            reconcile(runtime, body, patch, logger)

    for kind in kinds:
        plural = PLURALS[kind]
        for cause, decorator in (("create", kopf.on.create), ("update", kopf.on.update), ("resume", kopf.on.resume)):
            decorator(GROUP, _VERSION, plural, registry=reg, id=f"{cause}-{plural}")(on_change)
        kopf.on.delete(GROUP, _VERSION, plural, registry=reg, id=f"finalize-{plural}")(on_delete)
        if runtime.resync_s is not None:
            kopf.timer(GROUP, _VERSION, plural, registry=reg, id=f"resync-{plural}", interval=runtime.resync_s,
                       initial_delay=runtime.resync_s)(on_resync)
    return reg
