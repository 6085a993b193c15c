"""The service call graph and pod placement from Prometheus: what real meshes and kube-state-metrics export.

Three instant queries through :class:`~foresight.adapters.prometheus.PrometheusSource`:

- **Istio**: ``sum by (source_workload, destination_workload) (rate(istio_requests_total[W])) > 0``:
  one edge ``source -> destination`` per pair with traffic in the last window ``W``; Istio writes
  ``unknown`` for a caller outside the mesh (an ingress without a sidecar), which is no service;
- **OpenTelemetry service graph** (the collector's ``servicegraph`` connector, Tempo's metrics
  generator): ``sum by (client, server) (rate(traces_service_graph_request_total[W])) > 0``;
- **kube-state-metrics**: ``max by (namespace, pod, node, created_by_kind, created_by_name) (kube_pod_info)``:
  pod -> (its workload, its node). A Deployment's pods are created by a ReplicaSet named
  ``<deployment>-<pod-template-hash>``; the hash is cut off, so the pod's service is the Deployment,
  the name Istio's ``*_workload`` labels use. Other owners (StatefulSet, DaemonSet, Job) are the workload.

Edges of both meshes are joined: a platform may run either, or both on different parts. A topology
changes (deployments come and go, a new caller appears), so :meth:`PrometheusTopology.graph` re-reads
it every ``period_s``, not once. When Prometheus is down, or a query is refused, the last graph read
is kept and :meth:`PrometheusTopology.health` says since when it is stale; before any read succeeded
the graph is empty, and the correlator groups by time alone.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from foresight.adapters.prometheus import PrometheusSource
from foresight.correlate.graph import ServiceGraph
from foresight.errors import ConfigError, ForesightError
from foresight.series import Series

__all__ = ["PrometheusTopology", "TopologyHealth", "TopologyQueries", "pod_service"]

_log = logging.getLogger(__name__)
#: A ReplicaSet's pod-template-hash suffix (Kubernetes writes 6 to 10 characters of [bcdfghjklmnpqrstvwxz2-9]).
_RS_HASH = re.compile(r"-[a-z0-9]{5,10}$")


@dataclass(frozen=True)
class TopologyQueries:
    """The PromQL the graph is read with; ``$window`` is the rate window. Override for relabelled metrics."""

    istio: str = ('sum by (source_workload, destination_workload) '
                  '(rate(istio_requests_total[$window])) > 0')
    service_graph: str = 'sum by (client, server) (rate(traces_service_graph_request_total[$window])) > 0'
    pods: str = 'max by (namespace, pod, node, created_by_kind, created_by_name) (kube_pod_info)'


@dataclass(frozen=True)
class TopologyHealth:
    """Whether the last read worked, its error, and when the graph was last read whole."""

    ok: bool
    error: str | None
    last_ok_at: float | None
    failing_since: float | None


def pod_service(labels: Mapping[str, str]) -> str | None:
    """The workload a ``kube_pod_info`` row's pod belongs to (module docstring).

    >>> pod_service({"pod": "cart-7d9f8b6c4-x2x9z", "created_by_kind": "ReplicaSet", "created_by_name": "cart-7d9f8b6c4"})
    'cart'
    >>> pod_service({"pod": "db-0", "created_by_kind": "StatefulSet", "created_by_name": "db"})
    'db'
    >>> pod_service({"pod": "static-web"}) is None
    True
    """
    owner, kind = labels.get("created_by_name") or "", labels.get("created_by_kind") or ""
    if not owner or owner == "<none>":
        return None
    return _RS_HASH.sub("", owner) if kind == "ReplicaSet" else owner


class PrometheusTopology:
    """The graph read from ``source`` every ``period_s`` (times on the caller's clock, Unix seconds)."""

    def __init__(self, source: PrometheusSource, *, period_s: float = 60.0, window: str = "5m",
                 queries: TopologyQueries = TopologyQueries()) -> None:
        if not (math.isfinite(period_s) and period_s > 0):
            raise ConfigError(f"topology: period_s must be a positive number of seconds, not {period_s}")
        if not re.fullmatch(r"\d+[smhd]", window):
            raise ConfigError(f"topology: window must be a PromQL duration such as 5m, not {window!r}")
        self.source, self.period_s, self.window, self.queries = source, float(period_s), window, queries
        self._graph = ServiceGraph.of(())
        self._next_read = -math.inf
        self._health = TopologyHealth(True, None, None, None)
        self.reads = 0

    def graph(self, now: float) -> ServiceGraph:
        """The service graph: re-read when ``period_s`` has passed since the last try, else the last one."""
        if now >= self._next_read:
            self._next_read = now + self.period_s
            self._read(now)
        return self._graph

    def health(self) -> TopologyHealth:
        return self._health

    def _read(self, now: float) -> None:
        q = self.queries
        try:
            edges = [*_edges(self._query(q.istio, now), "source_workload", "destination_workload"),
                     *_edges(self._query(q.service_graph, now), "client", "server")]
            placement = {}
            for s in self._query(q.pods, now):
                pod, node, service = s.labels.get("pod"), s.labels.get("node"), pod_service(s.labels)
                if pod and node and service:
                    placement[pod] = (service, node)
        except ForesightError as exc:  # down, or a query refused: keep what was read last
            h = self._health
            self._health = TopologyHealth(False, f"topology not re-read, keeping the graph of "
                                          f"{_when(h.last_ok_at)}: {exc}", h.last_ok_at,
                                          h.failing_since if h.failing_since is not None else now)
            _log.warning("%s", self._health.error)
            return
        self._graph = ServiceGraph.of(edges, placement)
        self._health = TopologyHealth(True, None, now, None)
        self.reads += 1

    def _query(self, template: str, now: float) -> list[Series]:
        return self.source.query(template.replace("$window", self.window), now)


def _edges(found: Iterable[Series], caller: str, callee: str) -> list[tuple[str, str]]:
    out = []
    for s in found:
        a, b = s.labels.get(caller), s.labels.get(callee)
        if a and b and a != "unknown" and b != "unknown" and len(s.values) and s.values[-1] > 0:
            out.append((a, b))
    return out


def _when(t: float | None) -> str:
    return "no successful read yet (empty)" if t is None else f"t={t:.0f}"
