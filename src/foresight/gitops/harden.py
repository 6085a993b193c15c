"""Secure defaults of every pod Foresight renders, and what a render should warn about.

Pods run as UID/GID 65532 (non-root, above the 10 000 that keeps clear of host users; the
"nonroot" user of distroless images, the one Foresight's own chart uses), with the container
runtime's seccomp filter, no service-account token, and containers that cannot escalate
privileges, hold no capability and see a read-only root filesystem; the folders servers write
to are emptyDirs (``/tmp`` always, with ``HOME`` pointing at it so caches land there; a
framework's known scratch folders; ``runtime.writablePaths``). A spec's ``securityContext`` and
``containerSecurityContext`` are laid over these defaults field by field (a weakening was
already refused by the spec unless ``securityOverride.reason`` explains it).

Tag-pinned images are pulled ``Always`` (a tag can be moved to other content; pulling checks
the registry and the pull secret each time), digest-pinned ones ``IfNotPresent`` (the digest is
the content). ``:latest`` or no tag at all renders, with a warning.

A **NetworkPolicy per ModelDeployment** admits, on the serving port only, the model's own pods
(stable and canary: a server may call its peers, e.g. an ensemble) and the ``network.allowFrom``
peers, by default Istio's ingress gateway. Kubelet probes are not subject to NetworkPolicies.
Egress stays open: the storage initializer must reach the model store. A **NetworkPolicy per
TrainingJob** admits only the job's own pods, on every port (distributed training rendezvous
and collective ports vary by framework).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from foresight.specs import ModelDeployment, TrainingJob
from foresight.specs.runtimes import STORAGE_INITIALIZER
from foresight.specs.security import HardenedWorkload

__all__ = [
    "JOBSET_LABEL",
    "NONROOT_UID",
    "container_security",
    "image_warning",
    "network_policy",
    "pod_security",
    "pull_policy",
    "render_warnings",
    "scratch",
]

NONROOT_UID = 65532
#: The label JobSet puts on the pods of a Trainer v2 TrainJob (its JobSet has the TrainJob's name).
JOBSET_LABEL = "jobset.sigs.k8s.io/jobset-name"
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def pod_security(spec: HardenedWorkload) -> dict[str, Any]:
    """The pod's securityContext: the defaults with the spec's fields laid over them.

    >>> from foresight.specs.model_deployment import ModelDeploymentSpec
    >>> spec = ModelDeploymentSpec.model_validate({"model": {"uri": "s3://m/1", "version": "v1"}, "framework": "sklearn",
    ...     "securityContext": {"runAsUser": 10001}})
    >>> pod_security(spec)
    {'runAsNonRoot': True, 'runAsUser': 10001, 'runAsGroup': 65532, 'fsGroup': 65532, 'seccompProfile': {'type': 'RuntimeDefault'}}
    """
    out: dict[str, Any] = {
        "runAsNonRoot": True,
        "runAsUser": NONROOT_UID,
        "runAsGroup": NONROOT_UID,
        "fsGroup": NONROOT_UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    given = spec.security_context
    if given is not None:
        out |= given.model_dump(by_alias=True, exclude_none=True, exclude={"supplemental_groups"})
        if given.supplemental_groups:
            out["supplementalGroups"] = list(given.supplemental_groups)
        if given.run_as_user == 0 and given.run_as_non_root is None:
            out["runAsNonRoot"] = False  # else the kubelet refuses to start the root user it was told to run
    return out


def container_security(spec: HardenedWorkload, main: bool = True) -> dict[str, Any]:
    """A container's securityContext: the defaults, with the spec's ``containerSecurityContext`` over them
    when ``main`` (the spec's own container; not a helper such as the storage initializer).

    A pod told to run as root (``securityContext.runAsUser: 0``, explained by an override) gets
    ``runAsNonRoot: false`` on its main container, else the kubelet refuses to start it; a helper
    container stays non-root with a UID of its own.
    """
    out: dict[str, Any] = {
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }
    pod_root = spec.security_context is not None and spec.security_context.run_as_user == 0
    given = spec.container_security_context if main else None
    if not main:
        if pod_root:
            out["runAsUser"] = NONROOT_UID
        return out
    if pod_root and (given is None or (given.run_as_non_root is None and given.run_as_user in (None, 0))):
        out["runAsNonRoot"] = False
    if given is None:
        return out
    out |= given.model_dump(by_alias=True, exclude_none=True)
    if given.capabilities is not None:
        out["capabilities"] = given.capabilities.model_dump(by_alias=True, exclude_defaults=False)
        if not out["capabilities"]["add"]:
            del out["capabilities"]["add"]
    if given.allow_privilege_escalation is None and (
        given.privileged or (given.capabilities is not None and "SYS_ADMIN" in given.capabilities.add)
    ):
        out["allowPrivilegeEscalation"] = True  # the API server refuses false beside privileged or SYS_ADMIN
    if given.run_as_user == 0 and given.run_as_non_root is None:
        out["runAsNonRoot"] = False
    return out


def pull_policy(image: str) -> str:
    """``IfNotPresent`` for a digest (immutable content), ``Always`` for anything a tag names.

    >>> pull_policy("kserve/sklearnserver:v0.15.2"), pull_policy("ghcr.io/o/m@sha256:" + "a" * 64)
    ('Always', 'IfNotPresent')
    """
    return "IfNotPresent" if _DIGEST.search(image) else "Always"


def image_warning(image: str, where: str) -> str | None:
    """Why ``image`` does not say exactly what runs (no tag, or ``latest``), or None.

    >>> image_warning("ghcr.io/o/m:latest", "runtime.image")
    "runtime.image: image ghcr.io/o/m:latest uses the tag 'latest': what runs changes without a change in Git; pin a version tag or a digest (@sha256:...)"
    >>> image_warning("localhost:5000/m", "image")
    'image: image localhost:5000/m has no tag (Kubernetes pulls latest): pin a version tag or a digest (@sha256:...)'
    >>> image_warning("m:1.2", "image") is None
    True
    """
    if "@" in image:
        return None
    name = image.rsplit("/", 1)[-1]
    if ":" not in name:
        return f"{where}: image {image} has no tag (Kubernetes pulls latest): pin a version tag or a digest (@sha256:...)"
    if name.rsplit(":", 1)[1] == "latest":
        return (f"{where}: image {image} uses the tag 'latest': what runs changes without a change in Git; "
                "pin a version tag or a digest (@sha256:...)")
    return None


def scratch(paths: list[str] | tuple[str, ...]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Volumes and mounts making ``/tmp`` and ``paths`` writable emptyDirs on a read-only root filesystem."""
    folders = ["/tmp", *[p.rstrip("/") for p in paths if p.rstrip("/") != "/tmp"]]
    names = ["tmp", *[f"scratch-{i}" for i in range(1, len(folders))]]
    volumes = [{"name": name, "emptyDir": {}} for name in names]
    mounts = [{"name": name, "mountPath": folder} for name, folder in zip(names, folders, strict=True)]
    return volumes, mounts


def network_policy(spec: ModelDeployment | TrainingJob, metadata: Mapping[str, Any], selector: Mapping[str, str]) -> dict[str, Any]:
    """The NetworkPolicy of a workload's pods (see the module docstring for what it admits)."""
    own = {"podSelector": {"matchLabels": dict(selector)}}
    if isinstance(spec, TrainingJob):
        rules: list[dict[str, Any]] = [{"from": [own]}]
    else:
        peers: list[dict[str, Any]] = [own]
        for peer in spec.spec.network.allow_from:
            entry: dict[str, Any] = {"podSelector": {"matchLabels": dict(peer.pod_labels)}}
            if peer.namespace is not None and peer.namespace != spec.metadata.namespace:
                entry["namespaceSelector"] = {"matchLabels": {"kubernetes.io/metadata.name": peer.namespace}}
            peers.append(entry)
        rules = [{"from": peers, "ports": [{"protocol": "TCP", "port": spec.spec.port}]}]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": dict(metadata),
        "spec": {"podSelector": {"matchLabels": dict(selector)}, "policyTypes": ["Ingress"], "ingress": rules},
    }


def render_warnings(spec: ModelDeployment | TrainingJob) -> list[str]:
    """What renders but deserves a look: unpinned images, pods holding an API token, TrainJob pods whose
    security only the ClusterTrainingRuntime decides."""
    images: list[tuple[str, str]] = []
    if isinstance(spec, ModelDeployment):
        images.append(("runtime.image" if spec.spec.runtime.image else "the framework's server", spec.spec.server_image))
        if spec.spec.canary is not None and spec.spec.canary.image:
            images.append(("canary.image", spec.spec.canary.image))
        images.append(("runtime.initializerImage", spec.spec.runtime.initializer_image or STORAGE_INITIALIZER))
    else:
        images.append(("image", spec.spec.image))
    name = f"{spec.kind}/{spec.metadata.name}"
    found = [f"{name}: {w}" for where, image in images if (w := image_warning(image, where))]
    if spec.spec.service_account.automount_token:
        found.append(f"{name}: the pods get a Kubernetes API token (serviceAccount.automountToken): grant its "
                     "service account only what the workload needs")
    if isinstance(spec, TrainingJob) and spec.spec.resolved_operator == "trainjob":
        found.append(f"{name}: a TrainJob's pod securityContext comes from ClusterTrainingRuntime "
                     f"{spec.spec.training_runtime} (TrainJob v1alpha1 cannot set it): make sure that runtime is "
                     "hardened, or use operator pytorchjob")
    return found
