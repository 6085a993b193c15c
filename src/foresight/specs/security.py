"""How a workload's pods may run: security contexts a spec may set, and the written reason that
any weakening needs.

Foresight renders hardened pods by default (see :mod:`foresight.gitops.harden`): a non-root UID,
no privilege escalation, a read-only root filesystem, every capability dropped, the runtime's
seccomp profile, no service-account token. A spec may change any of it through
``securityContext`` (the pod's) and ``containerSecurityContext`` (its main container's), and may
let the manifest scanner's error findings through with ``securityOverride.allow``; but anything
that *weakens* a pod (root, privileged, escalation, a writable root filesystem, added
capabilities, an unconfined seccomp profile, the API token) is refused unless
``securityOverride.reason`` says why, so the reason is in Git beside the weakening and lands in
the deploy's commit message and the audit log.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from foresight.specs.workload import SpecModel, checked_labels

__all__ = [
    "Capabilities",
    "ContainerSecurity",
    "HardenedWorkload",
    "Network",
    "NetworkPeer",
    "PodSecurity",
    "SeccompProfile",
    "SecurityOverride",
    "ServiceAccount",
    "require_reason",
    "weakenings",
]

_RULE_ID = r"^[A-Za-z][A-Za-z0-9_.-]{1,63}$"
_CAPABILITY = r"^[A-Z][A-Z_]{1,31}$"


class SeccompProfile(SpecModel):
    """Which seccomp filter the container runtime applies."""

    type: Literal["RuntimeDefault", "Localhost", "Unconfined"] = Field(
        "RuntimeDefault", description="RuntimeDefault (the runtime's filter), Localhost (a node file) or Unconfined."
    )
    localhost_profile: str | None = Field(
        None, pattern=r"^[^/]\S*$", description="Type Localhost: the profile's path relative to the kubelet's seccomp folder."
    )

    @model_validator(mode="after")
    def _profile_fits_type(self) -> SeccompProfile:
        if (self.type == "Localhost") != (self.localhost_profile is not None):
            raise ValueError("localhostProfile is required with type Localhost and allowed only with it")
        return self


class PodSecurity(SpecModel):
    """The pod's securityContext; unset fields keep Foresight's hardened defaults."""

    run_as_non_root: bool | None = Field(None, description="Refuse to start a container whose user is root (default true).")
    run_as_user: int | None = Field(None, ge=0, le=2**31 - 1, description="UID of every container (default 65532).")
    run_as_group: int | None = Field(None, ge=0, le=2**31 - 1, description="Primary GID of every container (default 65532).")
    fs_group: int | None = Field(None, ge=0, le=2**31 - 1, description="GID owning mounted volumes (default 65532).")
    supplemental_groups: list[int] = Field(default_factory=list, description="Extra GIDs of every container.")
    seccomp_profile: SeccompProfile | None = Field(None, description="Seccomp filter (default RuntimeDefault).")


class Capabilities(SpecModel):
    """Linux capabilities of the container; everything is dropped unless listed in ``add``."""

    add: list[str] = Field(default_factory=list, description="Capabilities given back, e.g. NET_BIND_SERVICE.")
    drop: list[str] = Field(default_factory=lambda: ["ALL"], description="Capabilities removed (default ALL).")

    @field_validator("add", "drop")
    @classmethod
    def _names(cls, names: list[str]) -> list[str]:
        for name in names:
            if not re.match(_CAPABILITY, name):
                raise ValueError(f"{name!r} is not a capability name (upper case, without CAP_, e.g. NET_BIND_SERVICE)")
        return names


class ContainerSecurity(SpecModel):
    """The main container's securityContext; unset fields keep Foresight's hardened defaults."""

    privileged: bool | None = Field(None, description="Run with the host's full device access (default false).")
    allow_privilege_escalation: bool | None = Field(None, description="Allow setuid binaries to gain privileges (default false).")
    read_only_root_filesystem: bool | None = Field(
        None, description="Mount the image read-only (default true; writable emptyDirs cover the server's scratch paths)."
    )
    run_as_non_root: bool | None = Field(None, description="Refuse to start as root (default true).")
    run_as_user: int | None = Field(None, ge=0, le=2**31 - 1, description="UID of this container (default: the pod's).")
    run_as_group: int | None = Field(None, ge=0, le=2**31 - 1, description="GID of this container (default: the pod's).")
    capabilities: Capabilities | None = Field(None, description="Capabilities (default: drop ALL).")


class ServiceAccount(SpecModel):
    """Which Kubernetes identity the pods run as, and whether they get its API token."""

    name: str | None = Field(
        None, pattern=r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", description="Service account (default: the namespace's default)."
    )
    automount_token: bool = Field(
        False,
        description="Mount the account's API token into the pods: only for workloads that call the Kubernetes API "
        "(needs securityOverride.reason).",
    )


class SecurityOverride(SpecModel):
    """Why this workload is allowed to be weaker than Foresight's defaults, and which scanner rules it may break."""

    reason: str = Field(
        min_length=10,
        max_length=1000,
        description="Why: recorded in the deploy's commit message and the audit log (at least 10 characters).",
    )
    allow: list[str] = Field(
        default_factory=list,
        description="Manifest scanner rule ids whose error findings are let through (each is still reported).",
    )

    @field_validator("reason")
    @classmethod
    def _written(cls, reason: str) -> str:
        if len(reason.strip()) < 10:
            raise ValueError("write the reason in words (at least 10 characters that are not blanks)")
        return reason.strip()

    @field_validator("allow")
    @classmethod
    def _rule_ids(cls, allow: list[str]) -> list[str]:
        for rule in allow:
            if not re.match(_RULE_ID, rule):
                raise ValueError(f"{rule!r} is not a scanner rule id")
        return allow


def weakenings(pod: PodSecurity | None, container: ContainerSecurity | None, account: ServiceAccount | None) -> list[str]:
    """What in these settings is weaker than Foresight's defaults, in words (empty: nothing).

    >>> weakenings(PodSecurity(run_as_user=0), ContainerSecurity(privileged=True), None)
    ['securityContext.runAsUser 0 (root)', 'containerSecurityContext.privileged true']
    >>> weakenings(None, ContainerSecurity(capabilities=Capabilities(add=["NET_ADMIN"])), ServiceAccount(automount_token=True))
    ['containerSecurityContext.capabilities.add [NET_ADMIN]', 'serviceAccount.automountToken true']
    """
    found: list[str] = []
    if pod is not None:
        if pod.run_as_non_root is False:
            found.append("securityContext.runAsNonRoot false")
        if pod.run_as_user == 0:
            found.append("securityContext.runAsUser 0 (root)")
        if pod.run_as_group == 0:
            found.append("securityContext.runAsGroup 0 (root)")
        if pod.seccomp_profile is not None and pod.seccomp_profile.type == "Unconfined":
            found.append("securityContext.seccompProfile Unconfined")
    if container is not None:
        for name, value, weak in (
            ("privileged", container.privileged, True),
            ("allowPrivilegeEscalation", container.allow_privilege_escalation, True),
            ("readOnlyRootFilesystem", container.read_only_root_filesystem, False),
            ("runAsNonRoot", container.run_as_non_root, False),
        ):
            if value is weak:
                found.append(f"containerSecurityContext.{name} {str(weak).lower()}")
        if container.run_as_user == 0:
            found.append("containerSecurityContext.runAsUser 0 (root)")
        if container.run_as_group == 0:
            found.append("containerSecurityContext.runAsGroup 0 (root)")
        if container.capabilities is not None:
            if container.capabilities.add:
                found.append(f"containerSecurityContext.capabilities.add [{', '.join(container.capabilities.add)}]")
            if "ALL" not in container.capabilities.drop:
                found.append("containerSecurityContext.capabilities.drop without ALL")
    if account is not None and account.automount_token:
        found.append("serviceAccount.automountToken true")
    return found


def require_reason(
    pod: PodSecurity | None, container: ContainerSecurity | None, account: ServiceAccount | None,
    override: SecurityOverride | None,
) -> None:
    """Refuse weakenings that no ``securityOverride.reason`` explains (a ValueError naming each)."""
    weak = weakenings(pod, container, account)
    if weak and override is None:
        raise ValueError(
            f"{'; '.join(weak)}: weaker than Foresight's hardened defaults; say why in securityOverride.reason"
        )


class NetworkPeer(SpecModel):
    """Pods allowed to call the model: those matching ``podLabels`` in ``namespace``."""

    namespace: str | None = Field(
        None, pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", description="Their namespace (default: the model's own)."
    )
    pod_labels: dict[str, str] = Field(default_factory=dict, description="Labels they carry (empty: every pod there).")

    @field_validator("pod_labels")
    @classmethod
    def _labels(cls, labels: dict[str, str]) -> dict[str, str]:
        return checked_labels(labels, "pod label")


def _gateway() -> list[NetworkPeer]:
    return [NetworkPeer(namespace="istio-system", pod_labels={"istio": "ingressgateway"})]


class Network(SpecModel):
    """Who may reach the model's pods (a NetworkPolicy on the serving port): the model's own pods
    always, plus ``allowFrom``; everything else is refused once a NetworkPolicy selects the pods."""

    allow_from: list[NetworkPeer] = Field(
        default_factory=_gateway,
        description="Callers allowed on the serving port, beside the model's own pods (default: Istio's ingress "
        "gateway, pods labelled istio=ingressgateway in istio-system). List your in-cluster clients and your "
        "metrics scraper here.",
    )


class HardenedWorkload(SpecModel):
    """The security fields every workload spec has (ModelDeployment's and TrainingJob's ``spec``)."""

    security_context: PodSecurity | None = Field(
        None, description="Pod securityContext over Foresight's defaults (non-root UID 65532, seccomp RuntimeDefault)."
    )
    container_security_context: ContainerSecurity | None = Field(
        None,
        description="Main container's securityContext over Foresight's defaults (no privilege escalation, read-only "
        "root filesystem, drop ALL capabilities).",
    )
    service_account: ServiceAccount = Field(
        default_factory=ServiceAccount, description="Service account of the pods; no API token unless asked for."
    )
    writable_paths: list[str] = Field(
        default_factory=list,
        description="Extra folders the main container writes to, each mounted as an emptyDir (the root filesystem "
        "is read-only; /tmp and a server's known scratch folders are mounted already).",
    )
    security_override: SecurityOverride | None = Field(
        None,
        description="Why this workload may be weaker than the defaults, and which manifest scanner rules it may "
        "break (recorded in the deploy's commit and the audit log).",
    )

    @field_validator("writable_paths")
    @classmethod
    def _absolute(cls, paths: list[str]) -> list[str]:
        for path in paths:
            if not path.startswith("/") or path.rstrip("/") == "" or ".." in path.split("/"):
                raise ValueError(f"{path!r}: give an absolute folder other than '/' (no '..')")
        if len({p.rstrip("/") for p in paths}) != len(paths):
            raise ValueError("a writable path is listed twice")
        return paths

    @model_validator(mode="after")
    def _weakening_explained(self) -> HardenedWorkload:
        require_reason(self.security_context, self.container_security_context, self.service_account,
                       self.security_override)
        return self
