"""ModelDeployment: a model served on Kubernetes, with its scaling, canary and mesh settings.

One spec says *what* should serve (model URI and version, framework or image, resources,
placement), *how many* (fixed replicas, or CPU / predictive autoscaling), *how a new version
is tried* (a canary with explicit traffic weights) and *how calls behave* (Istio timeout,
retries, circuit breaker, mTLS). :mod:`foresight.gitops.render` turns it into manifests.

Rules the Kubernetes and Istio schemas cannot express are checked here, each with the field
that breaks it: weights must sum to 100, a retry's per-try timeout must fit in the request
timeout, ``replicas`` and ``autoscaling`` exclude each other, a canary needs the mesh that
splits its traffic, and a model on edge nodes (``placement.edge``) has neither canary nor mesh.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from foresight.specs.edge import ModelPlacement
from foresight.specs.runtimes import SERVING_RUNTIMES, Framework
from foresight.specs.security import HardenedWorkload, Network
from foresight.specs.workload import (
    API_VERSION,
    IMAGE_PATTERN,
    LABEL_VALUE,
    Metadata,
    Resources,
    SpecModel,
)

__all__ = [
    "Autoscaling",
    "Canary",
    "CircuitBreaker",
    "Mesh",
    "ModelDeployment",
    "ModelDeploymentSpec",
    "ModelRef",
    "Retries",
    "Runtime",
    "Traffic",
]

#: Where the Helm chart's Service (release and namespace `foresight`) serves the KEDA scaler: the
#: default of every rendered ScaledObject, so the chart and what Foresight renders agree.
DEFAULT_SCALER_ADDRESS = "foresight.foresight.svc:9090"

_URI = r"^(s3|gs|https|hf)://\S+$"


class ModelRef(SpecModel):
    """Which model artefact is served."""

    uri: str = Field(pattern=_URI, description="Where the model is stored: s3://, gs://, https:// or hf:// URI.")
    version: str = Field(
        min_length=1,
        max_length=63,
        pattern=LABEL_VALUE,
        description="Model version, shown in labels, traffic routes and commit messages (a label value).",
    )


class Runtime(SpecModel):
    """The serving container; every field defaults to the framework's known server."""

    image: str | None = Field(None, pattern=IMAGE_PATTERN, description="Server image (required for framework 'custom').")
    command: list[str] | None = Field(None, description="Entrypoint override of the server image.")
    args: list[str] | None = Field(None, description="Arguments override; '{name}' and '{port}' are substituted.")
    port: int | None = Field(None, ge=1, le=65535, description="HTTP port of a custom server (known servers use 8080).")
    readiness_path: str | None = Field(
        None, pattern=r"^/\S*$", description="HTTP path that answers 200 when ready (custom servers; default: TCP check)."
    )
    env: dict[str, str] = Field(default_factory=dict, description="Extra environment variables of the server.")
    initializer_image: str | None = Field(
        None,
        pattern=IMAGE_PATTERN,
        description="Image of the storage initializer that downloads the model (default: KServe's, tag-pinned); "
        "e.g. the same image pinned by digest, or from a mirror.",
    )


class Autoscaling(SpecModel):
    """Replicas that follow load: CPU utilisation (an HPA) or Foresight's predicted load."""

    policy: Literal["cpu", "predictive"] = Field(
        "predictive",
        description="'predictive' scales on Foresight's forecast of the load, ahead of it; 'cpu' is the "
        "reactive HPA on CPU utilisation.",
    )
    via: Literal["keda", "hpa", "knative"] = Field(
        "keda",
        description="How predictive scaling reaches the cluster: Foresight's KEDA external scaler (can scale to "
        "zero), an HPA on the ai_predicted_load External metric through prometheus-adapter, or a Knative Service "
        "whose autoscaling.knative.dev annotations carry the scale-to-zero policy's learned keep-alive (can scale "
        "to zero; no scaling ahead of a forecast).",
    )
    min_replicas: int = Field(1, ge=0, le=1000, description="Fewest replicas (0 only with predictive via KEDA or Knative).")
    max_replicas: int = Field(10, ge=1, le=1000, description="Most replicas.")
    target_cpu_percent: int = Field(70, ge=1, le=100, description="Policy 'cpu': CPU utilisation each pod aims at.")
    capacity_rps: float | None = Field(
        None, gt=0, allow_inf_nan=False, description="Policy 'predictive' (required): requests/s one replica serves at 100%."
    )
    target_utilisation_percent: float = Field(
        70.0, gt=0, le=100, description="Policy 'predictive': percent of its capacity each replica should run at."
    )
    keep_alive_s: int | None = Field(
        None, ge=0, le=86400,
        description="via knative with minReplicas 0 (required there): seconds a pod stays after the last request "
        "before the revision scales to zero; the keep-alive the scale-to-zero policy learned for this model.",
    )
    concurrency: int = Field(
        1, ge=1, le=1000, description="via knative: requests one pod serves at once (containerConcurrency, the KPA's target)."
    )
    scaler_address: str = Field(
        DEFAULT_SCALER_ADDRESS,
        pattern=r"^[a-z0-9.-]+:[0-9]{1,5}$",
        description="host:port of Foresight's KEDA external scaler: the Helm chart's Service "
        "(<release>.<namespace>.svc:9090; release and namespace foresight by default).",
    )

    @model_validator(mode="after")
    def _coherent(self) -> Autoscaling:
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"minReplicas ({self.min_replicas}) is above maxReplicas ({self.max_replicas})")
        if self.policy == "predictive" and self.capacity_rps is None:
            raise ValueError("policy 'predictive' needs capacityRps (requests/s one replica serves)")
        if self.min_replicas == 0 and not (self.policy == "predictive" and self.via in ("keda", "knative")):
            raise ValueError("minReplicas 0 (scale to zero) needs policy 'predictive' via 'keda' or 'knative'; an HPA "
                             "keeps >= 1")
        if self.via == "knative" and self.policy != "predictive":
            raise ValueError("via 'knative' renders the predictive scale-to-zero policy: set policy 'predictive'")
        if self.via == "knative" and self.min_replicas == 0 and self.keep_alive_s is None:
            raise ValueError("via 'knative' with minReplicas 0 needs keepAliveSeconds (how long a pod stays after the "
                             "last request)")
        if self.via != "knative" and (self.keep_alive_s is not None or self.concurrency != 1):
            raise ValueError(f"keepAliveSeconds and concurrency apply to via 'knative' only, not {self.via!r}")
        return self


class Traffic(SpecModel):
    """How requests are split between the stable and the canary version, in percent."""

    stable: int = Field(ge=0, le=100, description="Percent of requests to the stable version.")
    canary: int = Field(ge=0, le=100, description="Percent of requests to the canary version (the canary step).")

    @model_validator(mode="after")
    def _sum_to_100(self) -> Traffic:
        if self.stable + self.canary != 100:
            raise ValueError(
                f"weights must sum to 100, got stable {self.stable} + canary {self.canary} = {self.stable + self.canary}"
            )
        return self


class Canary(SpecModel):
    """A new model version that takes a share of the traffic beside the stable one."""

    model: ModelRef = Field(description="The canary's model (same framework as the stable one).")
    traffic: Traffic = Field(description="The traffic split; a controller may move it, Git keeps the last committed step.")
    replicas: int = Field(1, ge=1, le=1000, description="Replicas of the canary Deployment.")
    image: str | None = Field(None, pattern=IMAGE_PATTERN, description="Server image of the canary (default: the stable one's).")


class Retries(SpecModel):
    """Istio retries of a failed call."""

    attempts: int = Field(2, ge=0, le=10, description="Retries after the first attempt (0: none).")
    per_try_timeout_s: float = Field(
        5.0, ge=0.001, le=3600, description="Timeout of each attempt, in seconds (at least 1 ms)."
    )
    retry_on: str = Field(
        "5xx,reset,connect-failure,refused-stream",
        pattern=r"^[a-z0-9-]+(,[a-z0-9-]+)*$",
        description="Envoy retry conditions, comma-separated.",
    )


class CircuitBreaker(SpecModel):
    """Istio connection limits and outlier detection: failing pods are ejected before they fail users."""

    max_connections: int = Field(100, ge=1, description="Most TCP connections to the service per client proxy.")
    max_pending_requests: int = Field(100, ge=1, description="Most requests queued for a connection.")
    consecutive_5xx_errors: int = Field(5, ge=1, description="Consecutive 5xx answers that eject a pod.")
    interval_s: float = Field(10.0, ge=0.001, le=3600, description="Seconds between ejection sweeps.")
    base_ejection_s: float = Field(30.0, ge=0.001, le=3600, description="Minimum seconds a pod stays ejected.")
    max_ejection_percent: int = Field(50, ge=0, le=100, description="Most pods ejected at once, in percent.")


class Mesh(SpecModel):
    """Istio traffic settings of the model's Service."""

    timeout_s: float = Field(30.0, ge=0.001, le=3600, description="Timeout of a whole request incl. retries, in seconds.")
    retries: Retries = Field(default_factory=Retries, description="Retry policy.")
    circuit_breaker: CircuitBreaker = Field(default_factory=CircuitBreaker, description="Circuit breaker.")
    mtls: Literal["STRICT", "PERMISSIVE"] | None = Field(
        None,
        description="Mutual TLS of the model's pods (Istio PeerAuthentication mode): STRICT accepts only mTLS, "
        "PERMISSIVE also plain text; either also makes clients use Istio mTLS. Unset: the mesh-wide default.",
    )

    @field_validator("retries")
    @classmethod
    def _per_try_fits(cls, retries: Retries, info: ValidationInfo) -> Retries:
        timeout = info.data.get("timeout_s")
        if timeout is not None and retries.attempts and retries.per_try_timeout_s > timeout:
            raise ValueError(
                f"perTryTimeoutSeconds ({retries.per_try_timeout_s}) exceeds the mesh's timeoutSeconds ({timeout}): "
                "no retry could ever run"
            )
        return retries


class ModelDeploymentSpec(HardenedWorkload):
    """The desired state of a served model."""

    model: ModelRef = Field(description="The stable model.")
    framework: Framework = Field(description="Model format; picks the server unless runtime.image is set.")
    runtime: Runtime = Field(default_factory=Runtime, description="Server container overrides.")
    resources: Resources = Field(default_factory=Resources, description="Resources of each server pod.")
    placement: ModelPlacement = Field(
        default_factory=ModelPlacement, description="Which nodes the pods may run on; edge nodes with placement.edge."
    )
    replicas: int | None = Field(None, ge=0, le=1000, description="Fixed replicas (default 1); excludes autoscaling.")
    autoscaling: Autoscaling | None = Field(None, description="Replicas that follow load; excludes replicas.")
    mesh: Mesh | None = Field(
        default_factory=Mesh, description="Istio settings; null renders no Istio objects (and allows no canary)."
    )
    canary: Canary | None = Field(None, description="A new version taking part of the traffic.")
    network: Network = Field(
        default_factory=Network, description="Who may call the model's pods (rendered as a NetworkPolicy)."
    )

    # Field validators (not one model validator) so that each error names the field to fix;
    # ``info.data`` holds the fields declared above the one being checked.

    @field_validator("runtime")
    @classmethod
    def _runtime_fits_framework(cls, runtime: Runtime, info: ValidationInfo) -> Runtime:
        framework = info.data.get("framework")
        if framework == "custom" and runtime.image is None:
            raise ValueError("framework 'custom' needs runtime.image")
        if framework not in (None, "custom") and (runtime.port is not None or runtime.readiness_path is not None):
            raise ValueError(f"port and readinessPath apply to framework 'custom' only, not {framework!r}")
        return runtime

    @field_validator("autoscaling")
    @classmethod
    def _one_way_to_size(cls, autoscaling: Autoscaling | None, info: ValidationInfo) -> Autoscaling | None:
        if autoscaling is not None and info.data.get("replicas") is not None:
            raise ValueError("set replicas or autoscaling, not both")
        return autoscaling

    @field_validator("canary")
    @classmethod
    def _canary_is_new_and_routed(cls, canary: Canary | None, info: ValidationInfo) -> Canary | None:
        if canary is None:
            return None
        placement = info.data.get("placement")
        if placement is not None and placement.edge is not None:
            raise ValueError("a canary cannot run on the edge: an edge model is the one file at placement.edge.modelPath")
        if "mesh" in info.data and info.data["mesh"] is None:
            raise ValueError("a canary needs mesh settings (not null): Istio splits its traffic")
        model = info.data.get("model")
        if model is not None and canary.model.version == model.version:
            raise ValueError(f"canary model.version equals the stable one ({model.version}): nothing to compare")
        return canary

    @model_validator(mode="after")
    def _knative_serves_alone(self) -> ModelDeploymentSpec:
        # after the fields: mesh's default is never seen by a field validator
        if self.autoscaling is None or self.autoscaling.via != "knative":
            return self
        if self.canary is not None:
            raise ValueError("autoscaling.via 'knative': Knative splits traffic between its own revisions; remove canary")
        if self.mesh is not None:
            raise ValueError("autoscaling.via 'knative': Knative's ingress routes the traffic; set mesh: null")
        if self.placement.edge is not None:
            raise ValueError("autoscaling.via 'knative': edge nodes run no Knative activator; remove placement.edge")
        return self

    @model_validator(mode="after")
    def _edge_has_no_mesh(self) -> ModelDeploymentSpec:
        # after the fields (not a field validator): mesh has a default, which field validators never see
        if self.placement.edge is not None and self.mesh is not None:
            raise ValueError("placement.edge: edge nodes run no Istio sidecar (KubeEdge routes their traffic with "
                             "EdgeMesh), so set mesh: null")
        return self

    @property
    def port(self) -> int:
        """The server's HTTP port."""
        return self.runtime.port or 8080

    @property
    def server_image(self) -> str:
        """The stable server's image: the override, else the framework's (CUDA build with GPUs)."""
        if self.runtime.image is not None:
            return self.runtime.image
        return SERVING_RUNTIMES[self.framework].image_for(self.resources.gpus)


class ModelDeployment(SpecModel):
    """A model served on Kubernetes (apiVersion foresight.ai/v1alpha1)."""

    api_version: Literal["foresight.ai/v1alpha1"] = Field(
        API_VERSION, description="Version of this spec's schema."
    )
    kind: Literal["ModelDeployment"] = Field("ModelDeployment", description="Always ModelDeployment.")
    metadata: Metadata = Field(description="Name, namespace and labels.")
    spec: ModelDeploymentSpec = Field(description="Desired state.")
