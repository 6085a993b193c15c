"""Specs rendered to Kubernetes manifests (plain dicts), checked before anyone writes them.

:func:`render` is pure: a spec in, the objects that realise it out, in a fixed order with fixed
names, so the same spec always gives byte-identical files (what makes ``foresight deploy``
idempotent). A **ModelDeployment** becomes

* Deployments ``<name>-stable`` and, with a canary, ``<name>-canary`` (pods labelled
  ``foresight.ai/track``), each with KServe's storage initializer fetching the model; with
  ``placement.edge``, one Deployment on KubeEdge edge nodes reading the model already on the node
  (:mod:`foresight.gitops.edge`);
* a Service ``<name>`` over both tracks, a NetworkPolicy ``<name>`` admitting only the model's own
  pods and ``network.allowFrom`` on the serving port, and the autoscaler of the stable track: an HPA on CPU,
  or, predictive, the KEDA ScaledObject / External-metric HPA of :mod:`foresight.autoscale.manifests`
  (the stable Deployment then has no ``replicas``, so Git and the autoscaler do not fight);
  with ``autoscaling.via: knative``, instead of all that one Knative Service carrying the
  scale-to-zero policy's annotations (:mod:`foresight.gitops.knative`) and a NetworkPolicy that
  also admits Knative's activator and autoscaler;
* with a mesh, an Istio VirtualService (route 0 = stable, route 1 = canary: the order the
  weight controllers rely on; timeout, retries), a DestinationRule (subsets, connection pool and
  outlier detection as the circuit breaker, Istio mTLS) and, when mTLS is asked, a
  PeerAuthentication.

A **TrainingJob** becomes one Kubeflow Trainer v2 ``TrainJob``, Training Operator v1
``PyTorchJob``/``TFJob``, or ``batch/v1`` Job (see :mod:`foresight.specs.training_job`); those
are immutable once created, so they carry Argo CD's ``Replace=true`` sync option; a NetworkPolicy
admits only the job's own pods.

Every pod is hardened (:mod:`foresight.gitops.harden`): non-root UID, read-only root filesystem
with emptyDirs where the server writes, no capability, no privilege escalation, seccomp
RuntimeDefault, no API token, CPU and memory limits, probes on servers, pull policy by pinning.

:func:`check` validates the result (:mod:`foresight.gitops.validate`) plus what Istio's CRD
schemas leave to CEL or to the control plane: route weights summing to 100, durations >= 1 ms.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from foresight.autoscale.manifests import AutoscalingSpec, hpa, scaled_object
from foresight.autoscale.scale_to_zero import ScaleToZeroSpec
from foresight.errors import InputError
from foresight.gitops.edge import edge_model_env, edge_model_volume, edge_tolerations, model_accept_annotation
from foresight.gitops.knative import (
    ACTIVATOR_NAMESPACE,
    QUEUE_PROXY_METRICS_PORT,
    QUEUE_PROXY_PORT,
    knative_service,
)
from foresight.gitops.harden import (
    JOBSET_LABEL,
    container_security,
    network_policy,
    pod_security,
    pull_policy,
    scratch,
)
from foresight.gitops.validate import (
    CrdSchemas,
    Problem,
    Validation,
    validate_manifests,
)
from foresight.specs import ModelDeployment, Spec, TrainingJob
from foresight.specs.model_deployment import Autoscaling, Mesh, ModelDeploymentSpec
from foresight.specs.runtimes import MODEL_DIR, SERVING_RUNTIMES, STORAGE_INITIALIZER
from foresight.specs.training_job import TrainingJobSpec
from foresight.specs.edge import EdgePlacement
from foresight.specs.workload import (
    GPU_RESOURCE,
    Metadata,
    Placement,
    Resources,
)

__all__ = ["TRACK_LABEL", "check", "duration", "istio_problems", "manifest_files", "render", "to_yaml", "write_files"]

TRACK_LABEL = "foresight.ai/track"
_NAME = "app.kubernetes.io/name"
_ISTIO = "networking.istio.io/v1"
_REPLACE = {"argocd.argoproj.io/sync-options": "Replace=true"}
_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)(h|ms|us|µs|ns|m|s)")
_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_DURATION_FIELDS = {"timeout", "perTryTimeout", "interval", "baseEjectionTime", "idleTimeout", "backoff"}


def render(spec: Spec) -> list[dict[str, Any]]:
    """The Kubernetes objects that realise ``spec``, in apply order."""
    if isinstance(spec, ModelDeployment):
        return _model_deployment(spec)
    return _training_job(spec)


def duration(seconds: float) -> str:
    """An Istio (protobuf) duration at millisecond precision.

    >>> duration(30.0), duration(2.5), duration(0.001)
    ('30s', '2500ms', '1ms')
    """
    milli = round(seconds * 1000)
    return f"{milli // 1000}s" if milli % 1000 == 0 else f"{milli}ms"


def _labels(meta: Metadata, **extra: str) -> dict[str, str]:
    return {**meta.labels, _NAME: meta.name, "app.kubernetes.io/managed-by": "foresight", **extra}


def _meta(meta: Metadata, name: str | None = None, **labels: str) -> dict[str, Any]:
    return {"name": name or meta.name, "namespace": meta.namespace, "labels": _labels(meta, **labels)}


def _resources(resources: Resources) -> dict[str, Any]:
    limits: dict[str, Any] = {"cpu": resources.cpu_limit_or_request, "memory": resources.memory}
    if resources.gpus:
        limits[GPU_RESOURCE] = resources.gpus
    return {"requests": {"cpu": resources.cpu, "memory": resources.memory}, "limits": limits}


def _env(values: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"name": key, "value": value} for key, value in sorted(values.items())]


def _pod_identity(spec: ModelDeploymentSpec | TrainingJobSpec) -> dict[str, Any]:
    """Service account and token of a pod spec: no API token unless the spec asks for it."""
    out: dict[str, Any] = {}
    if spec.service_account.name:
        out["serviceAccountName"] = spec.service_account.name
    out["automountServiceAccountToken"] = spec.service_account.automount_token
    return out


def _tolerations(placement: Placement, gpus: int, edge: EdgePlacement | None) -> list[dict[str, Any]]:
    """The spec's tolerations, plus the taints GPU node pools and KubeEdge edge nodes carry."""
    found = [t.model_dump(exclude_none=True) for t in placement.tolerations]
    if gpus > 0 and not any(t["key"] == GPU_RESOURCE for t in found):
        found.append({"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"})
    return found if edge is None else edge_tolerations(edge, found)


def _pod_placement(placement: Placement, gpus: int, edge: EdgePlacement | None = None) -> dict[str, Any]:
    """nodeSelector, affinity and tolerations of a pod spec (only the non-empty ones); ``edge``: a model's
    edge placement (its labels are in ``placement.selector()`` already)."""
    out: dict[str, Any] = {}
    if placement.selector():
        out["nodeSelector"] = placement.selector()
    node_affinity: dict[str, Any] = {}
    if placement.required:
        terms = [r.model_dump(include={"key", "operator", "values"}, exclude_defaults=True) for r in placement.required]
        node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [{"matchExpressions": terms}]}
    if placement.preferred:
        node_affinity["preferredDuringSchedulingIgnoredDuringExecution"] = [
            {"weight": r.weight, "preference": {"matchExpressions": [r.model_dump(include={"key", "operator", "values"}, exclude_defaults=True)]}}
            for r in placement.preferred
        ]
    if node_affinity:
        out["affinity"] = {"nodeAffinity": node_affinity}
    tolerations = _tolerations(placement, gpus, edge)
    if tolerations:
        out["tolerations"] = tolerations
    return out


# --- ModelDeployment -------------------------------------------------------------------------


def _model_deployment(md: ModelDeployment) -> list[dict[str, Any]]:
    spec, meta = md.spec, md.metadata
    if spec.autoscaling is not None and spec.autoscaling.via == "knative":
        return _knative(md, spec.autoscaling)
    docs = [_server(md, "stable")]
    if spec.canary is not None:
        docs.append(_server(md, "canary"))
    docs.append({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(meta),
        "spec": {
            "selector": {_NAME: meta.name},
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "appProtocol": "http"}],
        },
    })
    docs.append(network_policy(md, _meta(meta), {_NAME: meta.name}))
    if spec.autoscaling is not None:
        docs.append(_autoscaler(meta, spec.autoscaling))
    if spec.mesh is not None:
        docs += _mesh(md, spec.mesh)
    return docs


def _server(md: ModelDeployment, track: str) -> dict[str, Any]:
    """The Deployment of one track: the model server behind KServe's storage initializer."""
    spec, meta = md.spec, md.metadata
    canary = spec.canary if track == "canary" else None
    model = canary.model if canary is not None else spec.model
    runtime = SERVING_RUNTIMES.get(spec.framework)
    image = (canary.image if canary is not None else None) or spec.server_image
    command = spec.runtime.command if spec.runtime.command is not None else list(runtime.command if runtime else [])
    args = spec.runtime.args if spec.runtime.args is not None else list(runtime.args if runtime else [])
    server: dict[str, Any] = {"name": "server", "image": image, "imagePullPolicy": pull_policy(image)}
    if command:
        server["command"] = command
    if args:
        server["args"] = [arg.replace("{name}", meta.name).replace("{port}", str(spec.port)) for arg in args]
    server["ports"] = [{"name": "http", "containerPort": spec.port}]
    server["env"] = _env({"HOME": "/tmp", **spec.runtime.env})
    server["resources"] = _resources(spec.resources)
    ready_path = spec.runtime.readiness_path or (runtime.readiness_path if runtime else None)
    server["readinessProbe"] = (
        {"httpGet": {"path": ready_path.replace("{name}", meta.name), "port": "http"}, "periodSeconds": 5}
        if ready_path else {"tcpSocket": {"port": "http"}, "periodSeconds": 5}
    )
    # liveness only asks whether the server still listens (a model still loading is not dead); the
    # startup probe gives loading up to 15 minutes before liveness starts counting
    server["livenessProbe"] = {"tcpSocket": {"port": "http"}, "periodSeconds": 10, "failureThreshold": 3}
    server["startupProbe"] = {"tcpSocket": {"port": "http"}, "periodSeconds": 10, "failureThreshold": 90}
    server["securityContext"] = container_security(spec)
    volumes, mounts = scratch([*(runtime.writable if runtime else ()), *spec.writable_paths])
    server["volumeMounts"] = [{"name": "model-store", "mountPath": MODEL_DIR, "readOnly": True}, *mounts]
    edge = spec.placement.edge
    if edge is not None:  # the model lies on the edge node: mounted from there, nothing to fetch
        server["env"] = _env({"HOME": "/tmp", **spec.runtime.env, **edge_model_env(edge, MODEL_DIR)})
    fetcher = spec.runtime.initializer_image or STORAGE_INITIALIZER
    initializer = {
        "name": "storage-initializer",
        "image": fetcher,
        "imagePullPolicy": pull_policy(fetcher),
        "args": [model.uri, MODEL_DIR],
        "env": _env({"HOME": "/tmp"}),
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        "securityContext": container_security(spec, main=False),
        "volumeMounts": [{"name": "model-store", "mountPath": MODEL_DIR}, mounts[0]],
    }
    selector = {_NAME: meta.name, TRACK_LABEL: track}
    pod_labels = _labels(meta, **{TRACK_LABEL: track, "app.kubernetes.io/version": model.version, "app": meta.name, "version": model.version})
    deployment_spec: dict[str, Any] = {}
    if canary is not None:
        deployment_spec["replicas"] = canary.replicas
    elif spec.autoscaling is None:
        deployment_spec["replicas"] = 1 if spec.replicas is None else spec.replicas
    pod: dict[str, Any] = {**_pod_identity(spec), "securityContext": pod_security(spec)}
    if edge is None:
        pod |= {"initContainers": [initializer], "containers": [server],
                "volumes": [{"name": "model-store", "emptyDir": {}}, *volumes]}
    else:
        pod |= {"containers": [server], "volumes": [edge_model_volume(edge, "model-store"), *volumes]}
    deployment_spec |= {
        "selector": {"matchLabels": selector},
        "template": {
            "metadata": {"labels": pod_labels, "annotations": {"foresight.ai/model-uri": model.uri}},
            "spec": {**pod, **_pod_placement(spec.placement, spec.resources.gpus, edge)},
        },
    }
    metadata = _meta(meta, f"{meta.name}-{track}", **{TRACK_LABEL: track, "app.kubernetes.io/version": model.version})
    if edge is not None:
        metadata["annotations"] = model_accept_annotation()
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata, "spec": deployment_spec}


def _autoscaler(meta: Metadata, scaling: Autoscaling) -> dict[str, Any]:
    """What sizes the stable track: an HPA on CPU, or predictive scaling via KEDA or an External-metric HPA."""
    target = f"{meta.name}-stable"
    if scaling.policy == "cpu":
        return {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": _meta(meta),
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
                "minReplicas": scaling.min_replicas,
                "maxReplicas": scaling.max_replicas,
                "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": scaling.target_cpu_percent}}}],
            },
        }
    predictive = AutoscalingSpec(
        namespace=meta.namespace,
        workload=meta.name,
        deployment=target,
        min_replicas=scaling.min_replicas,
        max_replicas=scaling.max_replicas,
        capacity_rps=scaling.capacity_rps,
        target_utilisation_percent=scaling.target_utilisation_percent,
        scaler_address=scaling.scaler_address,
    )
    doc = scaled_object(predictive) if scaling.via == "keda" else hpa(predictive)
    doc["metadata"]["labels"] = _labels(meta) | doc["metadata"]["labels"]
    return doc


def _knative(md: ModelDeployment, scaling: Autoscaling) -> list[dict[str, Any]]:
    """``via: knative``: the stable server as a Knative Service, and a NetworkPolicy admitting Knative's
    activator and autoscaler (requests and metrics on the queue-proxy)."""
    meta = md.metadata
    assert scaling.capacity_rps is not None  # the spec requires it of policy 'predictive', which knative needs
    policy = ScaleToZeroSpec(capacity_rps=scaling.capacity_rps, concurrency=scaling.concurrency,
                             min_replicas=scaling.min_replicas, max_replicas=scaling.max_replicas)
    keep_alive = math.inf if scaling.keep_alive_s is None else float(scaling.keep_alive_s)
    service = knative_service(_server(md, "stable"), _meta(meta), policy, keep_alive_s=keep_alive)
    netpol = network_policy(md, _meta(meta), {_NAME: meta.name})
    knative = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ACTIVATOR_NAMESPACE}}}
    netpol["spec"]["ingress"].append({"from": [knative], "ports": [{"protocol": "TCP", "port": port}
                                                                   for port in (QUEUE_PROXY_PORT, QUEUE_PROXY_METRICS_PORT)]})
    return [service, netpol]


def _mesh(md: ModelDeployment, mesh: Mesh) -> list[dict[str, Any]]:
    """VirtualService, DestinationRule and, with mTLS, PeerAuthentication of the model's Service."""
    spec, meta = md.spec, md.metadata
    host = f"{meta.name}.{meta.namespace}.svc.cluster.local"
    tracks = [("stable", 100 if spec.canary is None else spec.canary.traffic.stable)]
    if spec.canary is not None:
        tracks.append(("canary", spec.canary.traffic.canary))
    route = [{"destination": {"host": host, "subset": track, "port": {"number": 80}}, "weight": weight} for track, weight in tracks]
    http: dict[str, Any] = {"name": "model", "route": route, "timeout": duration(mesh.timeout_s)}
    http["retries"] = {"attempts": mesh.retries.attempts}
    if mesh.retries.attempts:
        http["retries"] |= {"perTryTimeout": duration(mesh.retries.per_try_timeout_s), "retryOn": mesh.retries.retry_on}
    breaker = mesh.circuit_breaker
    policy: dict[str, Any] = {
        "connectionPool": {"tcp": {"maxConnections": breaker.max_connections}, "http": {"http1MaxPendingRequests": breaker.max_pending_requests}},
        "outlierDetection": {
            "consecutive5xxErrors": breaker.consecutive_5xx_errors,
            "interval": duration(breaker.interval_s),
            "baseEjectionTime": duration(breaker.base_ejection_s),
            "maxEjectionPercent": breaker.max_ejection_percent,
        },
    }
    if mesh.mtls is not None:
        policy["tls"] = {"mode": "ISTIO_MUTUAL"}
    docs = [
        {"apiVersion": _ISTIO, "kind": "VirtualService", "metadata": _meta(meta), "spec": {"hosts": [host], "http": [http]}},
        {
            "apiVersion": _ISTIO,
            "kind": "DestinationRule",
            "metadata": _meta(meta),
            "spec": {"host": host, "trafficPolicy": policy, "subsets": [{"name": t, "labels": {TRACK_LABEL: t}} for t, _ in tracks]},
        },
    ]
    if mesh.mtls is not None:
        docs.append({
            "apiVersion": "security.istio.io/v1",
            "kind": "PeerAuthentication",
            "metadata": _meta(meta),
            "spec": {"selector": {"matchLabels": {_NAME: meta.name}}, "mtls": {"mode": mesh.mtls}},
        })
    return docs


# --- TrainingJob -----------------------------------------------------------------------------


def _training_job(job: TrainingJob) -> list[dict[str, Any]]:
    spec, meta = job.spec, job.metadata
    env = dict(spec.env)
    labels: dict[str, str] = {}
    if spec.dataset is not None:
        env |= {"DATASET_URI": spec.dataset.uri, "DATASET_VERSION": spec.dataset.version}
        labels["foresight.ai/dataset-version"] = spec.dataset.version
    metadata = _meta(meta, **labels) | {"annotations": dict(_REPLACE)}
    operator = spec.resolved_operator
    if operator == "trainjob":
        trainer: dict[str, Any] = {"image": spec.image, "command": spec.command}
        if spec.args:
            trainer["args"] = spec.args
        if env:
            trainer["env"] = _env(env)
        trainer |= {"numNodes": spec.workers, "resourcesPerNode": _resources(spec.resources)}
        body: dict[str, Any] = {
            "runtimeRef": {"apiGroup": "trainer.kubeflow.org", "kind": "ClusterTrainingRuntime", "name": spec.training_runtime},
            "trainer": trainer,
            "labels": _labels(meta, **labels),
        }
        overrides = _pod_placement(spec.placement, spec.resources.gpus)
        if spec.service_account.name:
            overrides["serviceAccountName"] = spec.service_account.name
        if overrides:
            body["podSpecOverrides"] = [{"targetJobs": [{"name": "node"}], **overrides}]
        return [
            {"apiVersion": "trainer.kubeflow.org/v1alpha1", "kind": "TrainJob", "metadata": metadata, "spec": body},
            network_policy(job, _meta(meta), {JOBSET_LABEL: meta.name}),
        ]

    volumes, mounts = scratch(spec.writable_paths)

    def pod(container_name: str, restart: str) -> dict[str, Any]:
        container: dict[str, Any] = {
            "name": container_name, "image": spec.image, "imagePullPolicy": pull_policy(spec.image), "command": spec.command,
        }
        if spec.args:
            container["args"] = spec.args
        world = {"WORLD_SIZE": str(spec.workers)} if operator == "job" and spec.workers > 1 else {}
        container["env"] = _env({"HOME": "/tmp", **env, **world})
        container["resources"] = _resources(spec.resources)
        container["securityContext"] = container_security(spec)
        container["volumeMounts"] = mounts
        return {
            "metadata": {"labels": _labels(meta, **labels)},
            "spec": {
                "restartPolicy": restart,
                **_pod_identity(spec),
                "securityContext": pod_security(spec),
                "containers": [container],
                "volumes": volumes,
                **_pod_placement(spec.placement, spec.resources.gpus),
            },
        }

    policy = network_policy(job, _meta(meta), {_NAME: meta.name})

    run_policy = {"backoffLimit": spec.max_restarts, "cleanPodPolicy": "None"}
    if operator == "pytorchjob":
        replicas = {"Master": {"replicas": 1, "restartPolicy": "OnFailure", "template": pod("pytorch", "OnFailure")}}
        if spec.workers > 1:
            replicas["Worker"] = {"replicas": spec.workers - 1, "restartPolicy": "OnFailure", "template": pod("pytorch", "OnFailure")}
        body = {"runPolicy": run_policy, "pytorchReplicaSpecs": replicas}
        return [{"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "metadata": metadata, "spec": body}, policy]
    if operator == "tfjob":
        replicas = {"Worker": {"replicas": spec.workers, "restartPolicy": "OnFailure", "template": pod("tensorflow", "OnFailure")}}
        return [{"apiVersion": "kubeflow.org/v1", "kind": "TFJob", "metadata": metadata,
                 "spec": {"runPolicy": run_policy, "tfReplicaSpecs": replicas}}, policy]
    body = {"backoffLimit": spec.max_restarts}
    if spec.workers > 1:
        body |= {"completions": spec.workers, "parallelism": spec.workers, "completionMode": "Indexed"}
    body["template"] = pod("trainer", "Never")
    return [{"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata, "spec": body}, policy]


# --- checks and files ------------------------------------------------------------------------


def istio_problems(docs: Iterable[Mapping[str, Any]]) -> list[Problem]:
    """What Istio rejects beyond its CRD schema: HTTP route weights not summing to 100, durations < 1 ms.

    >>> vs = {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": "m"},
    ...       "spec": {"http": [{"route": [{"weight": 90}, {"weight": 20}], "timeout": "0.5ms"}]}}
    >>> [str(p) for p in istio_problems([vs])]
    ['VirtualService/m: spec.http[0].route: weights sum to 110, Istio requires 100', 'VirtualService/m: spec.http[0].timeout: 0.5ms is below 1ms']
    """
    problems: list[Problem] = []
    for doc in docs:
        if not str(doc.get("apiVersion", "")).startswith(("networking.istio.io/", "security.istio.io/")):
            continue
        kind, name = str(doc.get("kind")), str(doc.get("metadata", {}).get("name"))
        spec = doc.get("spec", {})
        for i, http in enumerate(spec.get("http", []) if kind == "VirtualService" else []):
            weights = [r.get("weight") for r in http.get("route", [])]
            if len(weights) > 1 or any(w is not None for w in weights):
                total = sum(w or 0 for w in weights)
                if total != 100:
                    problems.append(Problem(kind, name, f"spec.http[{i}].route", f"weights sum to {total}, Istio requires 100"))
        for path, value in _durations(spec, "spec"):
            seconds = _parse_duration(value)
            if seconds is None:
                problems.append(Problem(kind, name, path, f"{value!r} is not a duration such as '1.5s' or '250ms'"))
            elif seconds < 1e-3:
                problems.append(Problem(kind, name, path, f"{value} is below 1ms"))
    return problems


def _durations(node: Any, path: str) -> Iterable[tuple[str, Any]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key in _DURATION_FIELDS and not isinstance(value, Mapping | list):
                yield f"{path}.{key}", value
            else:
                yield from _durations(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _durations(item, f"{path}[{i}]")


def _parse_duration(text: Any) -> float | None:
    if not isinstance(text, str) or not text or _DURATION.sub("", text):
        return None
    return sum(float(number) * _SECONDS[unit] for number, unit in _DURATION.findall(text))


def check(docs: list[dict[str, Any]], crds: CrdSchemas | None = None, kubernetes_version: str | None = None) -> Validation:
    """Every problem Kubernetes, the CRDs or Istio would find in ``docs`` (none for a correct render)."""
    found = validate_manifests(docs, crds, kubernetes_version)
    return Validation(found.problems + tuple(istio_problems(docs)), found.checked, found.unchecked)


class _Dumper(yaml.SafeDumper):
    """Block style, keys in build order, no anchors (every object stands alone in review)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def to_yaml(docs: Iterable[Mapping[str, Any]]) -> str:
    """Documents as one YAML stream, keys in the order they were built."""
    return yaml.dump_all(list(docs), Dumper=_Dumper, sort_keys=False, explicit_start=True, width=120)


def manifest_files(spec: Spec, docs: list[dict[str, Any]]) -> dict[str, str]:
    """``{file name: YAML}``: one ``<kind>-<name>.yaml`` per object and a ``kustomization.yaml`` listing them."""
    header = f"# Rendered by Foresight from {spec.kind}/{spec.metadata.name}: change the spec, not this file.\n"
    files: dict[str, str] = {}
    for doc in docs:
        name = f"{doc['kind'].lower()}-{doc['metadata']['name']}.yaml"
        if name in files:
            raise ValueError(f"two rendered objects would share the file {name}")
        files[name] = header + to_yaml([doc])
    kustomization = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": sorted(files)}
    files["kustomization.yaml"] = header + yaml.safe_dump(kustomization, sort_keys=False)
    return files


def write_files(files: Mapping[str, str], folder: Path) -> list[Path]:
    """Write ``files`` into ``folder`` (created); returns the paths written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
            written.append(folder / name)
    except OSError as exc:
        raise InputError(f"{folder}: cannot write manifests ({exc.strerror or exc})") from None
    return written
