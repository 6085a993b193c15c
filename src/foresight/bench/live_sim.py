"""The simulator behind the real protocols, for ``foresight bench parity``.

A simulated cluster and a simulated canary release become, for a controller that knows only real
endpoints, a Prometheus and a Kubernetes API:

* **metrics** (:class:`RemoteWrite`): every recorded step of the simulator goes into a real
  Prometheus through its remote-write receiver, one sample per metric and service (label
  ``service``), stamped with the simulator's own time. Remote write, not scrape: a scrape stamps a
  sample with Prometheus' wall clock when it scrapes, so a simulation running faster than real time
  could not be scraped at all, and one in real time would land on the scrape phase's grid, not the
  simulator's, moving which sample a query's 5-minute lookback picks. A remote-written sample keeps
  its timestamp to the millisecond and is queryable as soon as the write returns 204;
* **the canary's metrics** (:class:`CanaryCounters`): each simulated interval of a release adds to
  Istio's standard counters (``istio_requests_total`` by ``response_code``,
  ``istio_request_duration_milliseconds_bucket`` by ``le``), so the live canary reads them with its
  default PromQL (``increase(...[60s])``) as it reads a mesh's;
* **workloads** (:class:`EmulatedWorkloads`): one Deployment per simulated service in the Kubernetes
  emulator, whose ``status`` is written from the simulator's pods before a controller looks (the
  part the Deployment controller and the kubelets play) and whose ``spec.replicas``, set by a
  controller through ``/scale``, the simulator then takes as its own desired replicas.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np

from foresight.adapters.kubernetes import KubernetesScaleTarget, plural_of
from foresight.adapters.remote_write import encode_write_request
from foresight.errors import ServiceUnavailable
from foresight.rollout.observation import CanaryObservation, VersionSample
from foresight.series import Series
from foresight.sim import Simulator

if TYPE_CHECKING:  # kmock (the dev extra) is needed only where an emulator runs
    from foresight.bench.kube_emulator import Cluster

__all__ = ["CanaryCounters", "EmulatedWorkloads", "RemoteWrite", "step_samples"]

DEPLOYMENTS = "apps/v1/deployments"
VIRTUAL_SERVICES = "networking.istio.io/v1/virtualservices"
_HEADERS = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
            "X-Prometheus-Remote-Write-Version": "0.1.0"}


class RemoteWrite:
    """Pushes samples into one Prometheus (``--web.enable-remote-write-receiver``) over a kept-alive connection."""

    def __init__(self, prometheus_url: str, timeout_s: float = 10.0) -> None:
        self.url = prometheus_url.rstrip("/") + "/api/v1/write"
        self._client = httpx.Client(timeout=timeout_s)
        self.samples = 0

    def push(self, series: Iterable[Series]) -> None:
        """Write ``series`` (each sample at its own timestamp); raises :class:`ServiceUnavailable` unless accepted."""
        batch = list(series)
        try:
            answer = self._client.post(self.url, content=encode_write_request(batch), headers=_HEADERS)
        except httpx.TransportError as exc:
            raise ServiceUnavailable(f"remote write to {self.url} failed: {exc}") from exc
        if answer.status_code >= 300:
            raise ServiceUnavailable(f"remote write to {self.url} answered {answer.status_code}: {answer.text[:300]}")
        self.samples += sum(len(s) for s in batch)

    def close(self) -> None:
        self._client.close()


def step_samples(sim: Simulator) -> list[Series]:
    """The simulator's last recorded step: one sample per metric and service, at the step's end (``sim.now``)."""
    now = [sim.now]
    return [Series({"__name__": metric, "service": service}, now, [float(values[-1, i])])
            for metric, values in sim.history.items() for i, service in enumerate(sim.service_names)]


class CanaryCounters:
    """The cumulative Istio counters of one release's two workloads (module docstring).

    ``zero(t)`` writes every counter at 0 when the release's pods start (as a fresh process exposes
    them), so the first interval's ``increase`` has a sample at each end; ``add(obs)`` adds one
    interval and returns every counter's new value at ``obs.end``.
    """

    def __init__(self, namespace: str, stable_workload: str, canary_workload: str, bucket_bounds_ms: np.ndarray) -> None:
        self.namespace = namespace
        self.workloads = {"stable": stable_workload, "canary": canary_workload}
        self.les = [repr(float(b)) for b in bucket_bounds_ms] + ["+Inf"]
        self._totals: dict[tuple[tuple[str, str], ...], float] = {}
        for workload in self.workloads.values():
            for labels in self._labels(workload):
                self._totals[tuple(sorted(labels.items()))] = 0.0

    def _labels(self, workload: str) -> list[dict[str, str]]:
        istio = {"reporter": "destination", "destination_workload_namespace": self.namespace,
                 "destination_workload": workload}
        return [
            *({"__name__": "istio_requests_total", **istio, "response_code": code} for code in ("200", "500")),
            *({"__name__": "istio_request_duration_milliseconds_bucket", **istio, "le": le} for le in self.les),
        ]

    def zero(self, t: float) -> list[Series]:
        """Every counter at its current value (0 before any interval) at ``t``."""
        return [Series(dict(key), [t], [value]) for key, value in self._totals.items()]

    def add(self, obs: CanaryObservation) -> list[Series]:
        """Count the interval ``obs`` covers; every counter at ``obs.end``."""
        for role, sample in (("stable", obs.stable), ("canary", obs.canary)):
            if sample is not None:
                self._count(self.workloads[role], sample)
        return self.zero(obs.end)

    def _count(self, workload: str, sample: VersionSample) -> None:
        cumulative = np.cumsum(sample.latency_counts)
        increments = [sample.requests - sample.errors, sample.errors, *cumulative.tolist()]
        for labels, increment in zip(self._labels(workload), increments, strict=True):
            self._totals[tuple(sorted(labels.items()))] += float(increment)


class EmulatedWorkloads:
    """The simulated services as Deployments of ``namespace`` in the emulator (module docstring)."""

    def __init__(self, cluster: Cluster, namespace: str, scale: KubernetesScaleTarget) -> None:
        self.cluster, self.namespace, self.scale = cluster, namespace, scale

    def create(self, sim: Simulator, objects: Iterable[Mapping[str, Any]] = ()) -> None:
        """One Deployment per service at the simulator's replicas, and ``objects`` (policies) beside them."""
        for name in sim.service_names:
            self.cluster.put(DEPLOYMENTS, self.namespace, {
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": name, "namespace": self.namespace},
                "spec": {"replicas": sim.get_scale(name).desired}, "status": {}})
        for obj in objects:
            self.put(obj)
        self.publish_status(sim)

    def put(self, obj: Mapping[str, Any]) -> None:
        """Store ``obj`` as someone else would have applied it (``kubectl apply``, Argo CD)."""
        resource = f"{obj['apiVersion']}/{plural_of(obj['kind'])}"
        self.cluster.put(resource, obj["metadata"].get("namespace", self.namespace), dict(obj))

    def route_weights(self, name: str, route: str, stable_subset: str, canary_subset: str) -> tuple[int, int]:
        """The (stable, canary) weights of ``route`` in the VirtualService ``name`` now, by subset."""
        vs = self.cluster.get(VIRTUAL_SERVICES, self.namespace, name)
        if vs is None:
            raise ServiceUnavailable(f"VirtualService {self.namespace}/{name} is not in the emulator")
        [http] = [h for h in vs["spec"]["http"] if h.get("name") == route]
        weight = {d["destination"].get("subset"): int(d.get("weight", 0)) for d in http["route"]}
        return weight[stable_subset], weight[canary_subset]

    def publish_status(self, sim: Simulator) -> None:
        """Each Deployment's ``status`` from the simulator's pods now (placed, ready)."""
        for name in sim.service_names:
            obj = self.cluster.get(DEPLOYMENTS, self.namespace, name)
            if obj is None:
                raise ServiceUnavailable(f"Deployment {self.namespace}/{name} vanished from the emulator")
            scale = sim.get_scale(name)
            self.cluster.put(DEPLOYMENTS, self.namespace,
                             {**obj, "status": {"replicas": scale.current, "readyReplicas": scale.ready}})

    def desired(self, names: Iterable[str]) -> dict[str, int]:
        """``spec.replicas`` of each Deployment, read through the API (what a controller set through ``/scale``)."""
        return {name: self.scale.get_scale(name).desired for name in names}

    def follow(self, sim: Simulator) -> dict[str, int]:
        """Make the simulator's desired replicas the Deployments' (the Deployment controller's part); returns them."""
        desired = self.desired(sim.service_names)
        for name, replicas in desired.items():
            if replicas != sim.get_scale(name).desired:
                sim.set_replicas(name, replicas)
        return desired
