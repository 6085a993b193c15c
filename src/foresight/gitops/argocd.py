"""GitOps for Argo CD: rendered specs committed in a kustomize layout, with their Applications.

Layout of the repository (one folder per app and environment, so environments differ by folder,
never by branch)::

    apps/<name>/<environment>/kustomization.yaml, <kind>-<object>.yaml ...
    argocd/<name>-<environment>.yaml            the Argo CD Application of that folder

Each Application syncs automatically with ``prune`` (an object no longer rendered, such as the
canary Deployment after a promotion, is deleted) and ``selfHeal`` (a hand edit in the cluster is
undone). Self-heal would also undo every weight a canary controller sets on the VirtualService,
so the Application *ignores the route weights* in its diff (``ignoreDifferences``): between
commits the controller owns the weights and Argo CD stays Synced; each commit (a canary step,
a promotion) is applied whole and resets them to what Git says. ``RespectIgnoreDifferences`` is
deliberately not set, which would make committed steps never reach the cluster.

:func:`deploy` is idempotent: the same specs give the same files, hence no commit. Its commit
message says what changed (model version, canary step, dataset) and why, and, for a spec with a
``securityOverride``, its written reason and the scanner findings it lets through. Rendered objects
pass the manifest gate (:func:`foresight.gitops.admit.admit`) before Git is touched.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from foresight.clock import Clock, SystemClock
from foresight.gitops.admit import admit
from foresight.gitops.render import TRACK_LABEL, check, manifest_files, render, to_yaml
from foresight.gitops.repo import DEFAULT_AUTHOR, GitRemote, PushConflict
from foresight.gitops.validate import CrdSchemas
from foresight.specs import ModelDeployment, Spec

__all__ = ["WEIGHTS", "DeployResult", "Target", "app_folder", "application", "deploy", "describe_change"]

#: The VirtualService fields a canary controller moves (jq, as Argo CD's ignoreDifferences takes them).
WEIGHTS = ".spec.http[].route[].weight"


@dataclass(frozen=True)
class Target:
    """Where in Git and in which cluster the specs go."""

    repo_url: str
    environment: str = "production"
    branch: str = "main"
    argocd_namespace: str = "argocd"
    project: str = "default"
    cluster: str = "https://kubernetes.default.svc"


@dataclass(frozen=True)
class DeployResult:
    """What a deploy did: the commit (None when the repository already matched), its message, the paths
    written, the objects no schema could check (custom resources without a CRD schema directory), the
    security overrides the commit carries (one line each) and what the manifest gate reported."""

    commit: str | None
    message: str
    paths: tuple[str, ...]
    unchecked: tuple[str, ...] = ()
    overrides: Mapping[str, str] = field(default_factory=dict)  # "namespace/name": the override in words
    report: tuple[str, ...] = ()


def app_folder(spec: Spec, environment: str) -> str:
    """``apps/<name>/<environment>``: the kustomize folder of one spec."""
    return f"apps/{spec.metadata.name}/{environment}"


def application(spec: Spec, target: Target) -> dict[str, Any]:
    """The Argo CD Application that syncs :func:`app_folder` into the spec's namespace."""
    meta = spec.metadata
    body: dict[str, Any] = {
        "project": target.project,
        "source": {"repoURL": target.repo_url, "targetRevision": target.branch, "path": app_folder(spec, target.environment)},
        "destination": {"server": target.cluster, "namespace": meta.namespace},
        "syncPolicy": {"automated": {"prune": True, "selfHeal": True}, "syncOptions": ["CreateNamespace=true"]},
    }
    if isinstance(spec, ModelDeployment) and spec.spec.mesh is not None:
        body["ignoreDifferences"] = [{
            "group": "networking.istio.io",
            "kind": "VirtualService",
            "name": meta.name,
            "namespace": meta.namespace,
            "jqPathExpressions": [WEIGHTS],
        }]
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": f"{meta.name}-{target.environment}",
            "namespace": target.argocd_namespace,
            "labels": {"app.kubernetes.io/managed-by": "foresight", "foresight.ai/environment": target.environment},
        },
        "spec": body,
    }


def _summary(files: Mapping[str, bytes | str]) -> dict[str, Any]:
    """Versions, canary weight, image and dataset read back from rendered files (what a message talks about)."""
    found: dict[str, Any] = {}
    for text in files.values():
        for doc in yaml.safe_load_all(text):
            if not isinstance(doc, dict):
                continue
            labels = doc.get("metadata", {}).get("labels", {})
            if doc.get("kind") == "Deployment":
                found[labels.get(TRACK_LABEL, "stable")] = labels.get("app.kubernetes.io/version")
            elif doc.get("kind") == "VirtualService":
                routes = doc["spec"]["http"][0]["route"]
                found["weight"] = routes[1]["weight"] if len(routes) > 1 else None
            elif doc.get("kind") in ("TrainJob", "PyTorchJob", "TFJob", "Job"):
                found["dataset"] = labels.get("foresight.ai/dataset-version")
                found["image"] = _first_image(doc)
    return found


def _first_image(doc: Any) -> str | None:
    if isinstance(doc, dict):
        if isinstance(doc.get("image"), str):
            return doc["image"]
        children: Sequence[Any] = list(doc.values())
    elif isinstance(doc, list):
        children = doc
    else:
        return None
    return next((image for child in children if (image := _first_image(child))), None)


def describe_change(app: str, old: Mapping[str, bytes | str], new: Mapping[str, bytes | str]) -> str:
    """One line saying what a change does to an app, from its old and new rendered files.

    >>> def files(stable, canary=None, weight=None):
    ...     docs = [{"kind": "Deployment", "metadata": {"labels": {TRACK_LABEL: "stable", "app.kubernetes.io/version": stable}}}]
    ...     if canary:
    ...         docs.append({"kind": "Deployment", "metadata": {"labels": {TRACK_LABEL: "canary", "app.kubernetes.io/version": canary}}})
    ...     docs.append({"kind": "VirtualService", "spec": {"http": [{"route": [{}] + ([{"weight": weight}] if canary else [])}]}})
    ...     return {"all.yaml": to_yaml(docs)}
    >>> describe_change("iris (prod)", files("v2"), files("v2", "v3", 10))
    'iris (prod): start canary v3 at 10% beside v2'
    >>> describe_change("iris (prod)", files("v2", "v3", 10), files("v2", "v3", 25))
    'iris (prod): canary v3 10% -> 25% (stable v2)'
    >>> describe_change("iris (prod)", files("v2", "v3", 50), files("v3"))
    'iris (prod): promote v3 (canary was at 50%)'
    """
    before, after = _summary(old), _summary(new)
    stable, canary, weight = after.get("stable"), after.get("canary"), after.get("weight")
    was_stable, was_canary, was_weight = before.get("stable"), before.get("canary"), before.get("weight")
    if "image" in after:
        if not old:
            return f"{app}: training job with {after['image']}" + (f", dataset {after['dataset']}" if after.get("dataset") else "")
        if before.get("dataset") != after.get("dataset"):
            return f"{app}: retrain on dataset {before.get('dataset')} -> {after.get('dataset')}"
        if before.get("image") != after["image"]:
            return f"{app}: retrain with {after['image']} (was {before.get('image')})"
    elif stable is not None:
        if was_stable is None:
            return f"{app}: deploy model {stable}" + (f" with canary {canary} at {weight}%" if canary else "")
        if canary is None and was_canary is not None:
            if stable == was_canary:
                return f"{app}: promote {stable} (canary was at {was_weight}%)"
            return f"{app}: roll back canary {was_canary}; {stable} takes all traffic"
        if canary is not None and was_canary is None:
            return f"{app}: start canary {canary} at {weight}% beside {stable}"
        if canary is not None and canary != was_canary:
            return f"{app}: canary {was_canary} -> {canary} at {weight}% (stable {stable})"
        if canary is not None and weight != was_weight:
            return f"{app}: canary {canary} {was_weight}% -> {weight}% (stable {stable})"
        if stable != was_stable:
            return f"{app}: model {was_stable} -> {stable}"
    changed = sorted(name for name in old.keys() | new.keys() if old.get(name) != new.get(name))
    return f"{app}: update " + (", ".join(changed) if changed else "Application")


def deploy(
    specs: Sequence[Spec],
    remote: GitRemote,
    target: Target,
    reason: str,
    crds: CrdSchemas | None = None,
    author: str = DEFAULT_AUTHOR,
    clock: Clock | None = None,
    attempts: int = 3,
) -> DeployResult:
    """Render, validate and commit ``specs`` with their Applications in one commit, or none when nothing changed.

    Invalid output, or output the manifest gate refuses, raises before Git is touched. A push conflict is retried from a fresh fetch
    (the change is recomputed on the new head) up to ``attempts`` times, then raised.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, not {attempts}")
    files: dict[str, bytes] = {}
    folders: dict[str, Spec] = {}
    unchecked: list[str] = []
    overrides: dict[str, str] = {}
    report: list[str] = []
    for spec in specs:
        folder = app_folder(spec, target.environment)
        if folder in folders:
            raise ValueError(f"two specs named {spec.metadata.name!r} would share {folder}")
        docs = render(spec)
        app = application(spec, target)
        validation = check([*docs, app], crds)
        validation.raise_for_problems(f"{spec.kind}/{spec.metadata.name}")
        admission = admit(spec, docs)
        admission.raise_if_blocked(f"{spec.kind}/{spec.metadata.name}")
        report += admission.report()
        if admission.override is not None:
            overrides[f"{spec.metadata.namespace}/{spec.metadata.name}"] = admission.override
        unchecked += validation.unchecked
        folders[folder] = spec
        files |= {posixpath.join(folder, name): text.encode() for name, text in manifest_files(spec, docs).items()}
        files[f"argocd/{app['metadata']['name']}.yaml"] = to_yaml([app]).encode()
    clock = clock or SystemClock()
    attempt = 0
    while True:
        attempt += 1
        snapshot = remote.fetch()
        lines = []
        for folder, spec in folders.items():
            new = {path[len(folder) + 1 :]: data for path, data in files.items() if path.startswith(folder + "/")}
            lines.append(describe_change(f"{spec.metadata.name} ({target.environment})", snapshot.files(folder), new))
        subject = lines[0] if len(lines) == 1 else f"deploy {len(lines)} specs ({target.environment})"
        body = "\n".join(f"- {line}" for line in lines) + "\n\n" if len(lines) > 1 else ""
        message = f"{subject}\n\n{body}Why: {reason}\n" + "".join(f"Security: {line}\n" for line in overrides.values())
        commit = snapshot.commit(files, folders, message, author, clock.now())
        if commit is None:
            return DeployResult(None, "no change: the repository already holds these manifests", tuple(sorted(files)),
                                tuple(unchecked), overrides, tuple(report))
        try:
            remote.push(snapshot, commit)
        except PushConflict:
            if attempt == attempts:
                raise
            continue
        return DeployResult(commit.decode(), message, tuple(sorted(files)), tuple(unchecked), overrides, tuple(report))
