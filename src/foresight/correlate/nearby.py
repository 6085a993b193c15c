"""What is near an alert in one service graph: hop-limited neighbourhoods, computed once per graph.

Grouping asks, for every new alert, which alerting services its service calls (or is called by)
within ``max_hops`` calls. A breadth-first search over the whole graph per alert would cost
O(V + E) each time; a search cut at ``max_hops`` and cached per service while the graph stays the
same costs that once per alerting service. The cache lives as long as the :class:`Nearby` object, which the correlator
replaces when it is handed a different graph (a topology that changed is re-read, never stale).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from foresight.correlate.graph import ServiceGraph
from foresight.correlate.model import Alert

__all__ = ["POD_LOCAL", "Nearby"]

#: Words (matched in lower case in an alert's name and metric) of what goes wrong inside one pod:
#: kube-state-metrics' and kube-prometheus' pod alerts (KubePodCrashLooping, KubePodNotReady,
#: KubeContainerWaiting, OOMKilled, restarts, Pending, Evicted, ImagePullBackOff) and a container
#: hitting its own CPU limit (CPUThrottlingHigh, severity info: the pod's limit, not its load);
#: "ready" covers readiness (``kube_pod_status_ready``, ``*_replicas_ready``: pods lost or not ready).
#: One replica's restarts say nothing about what its service's callers see: a pod alert that links
#: along calls, were it noise on a callee, would take a caller's one-alert fault for its symptom.
#: An alert that names a pod but is about what the pod serves (latency, errors, saturation computed
#: per pod: most Alertmanager rules keep the ``pod`` label) links along calls like its service's.
POD_LOCAL = ("restart", "crash", "oom", "ready", "pending", "waiting", "evict", "backoff", "terminat", "throttl")


class Nearby:
    """Neighbourhoods of ``graph`` up to ``max_hops`` calls, and where an alert sits in it.

    >>> near = Nearby(ServiceGraph.of([("web", "api"), ("api", "db"), ("db", "disk")]), max_hops=2)
    >>> sorted(near.callees_within("api")), sorted(near.callers_within("db")), near.call_path("web", "db")
    (['db', 'disk'], ['api', 'web'], ('web', 'api', 'db'))
    """

    def __init__(
        self, graph: ServiceGraph, max_hops: int, pinned: Mapping[str, tuple[str | None, frozenset[str]]] | None = None
    ) -> None:
        self.graph = graph
        self.max_hops = max_hops
        #: alert key -> (its service, its nodes) by the placement when it started (see :meth:`pin`)
        self.pinned = pinned if pinned is not None else {}
        self._known = graph.services
        self._service_of = {pod: svc for pod, (svc, _) in graph.placement.items()}
        self._node_of = {pod: node for pod, (_, node) in graph.placement.items()}
        self._node_names = frozenset(self._node_of.values())
        self._below: dict[str, frozenset[str]] = {}
        self._above: dict[str, frozenset[str]] = {}
        self._paths: dict[tuple[str, str], tuple[str, ...]] = {}
        self._local: dict[tuple[str, str | None], bool] = {}

    def service(self, alert: Alert) -> str | None:
        """The alert's service, or the service of the pod it names when its labels name none."""
        if alert.service is not None:
            return alert.service
        if alert.key in self.pinned:
            return self.pinned[alert.key][0]
        return self._service_of.get(alert.component) if alert.component is not None else None

    def pin(self, alert: Alert) -> tuple[str | None, frozenset[str]] | None:
        """Where the placement puts ``alert`` now (its pod's service, its node), None when nowhere.

        The correlator keeps this for as long as the alert is open and reads it through
        :attr:`pinned`: the pods of a lost node leave the placement minutes after the node's
        alerts started, and the node must stay what those alerts are about.
        """
        c = alert.component
        service = self._service_of.get(c) if c is not None else None
        nodes = self._placed_nodes(c)
        return (service, nodes) if service is not None or nodes else None

    def known(self, service: str) -> bool:
        return service in self._known

    def callees_within(self, service: str) -> frozenset[str]:
        """Services ``service`` calls within ``max_hops`` hops (directly or through silent ones)."""
        if service not in self._below:
            self._below[service] = self._ball(service, self.graph.callees) - {service}
        return self._below[service]

    def call_path(self, caller: str, callee: str) -> tuple[str, ...]:
        """A shortest chain of calls ``caller -> ... -> callee`` (``callee`` within ``max_hops``)."""
        if (caller, callee) not in self._paths:
            parent: dict[str, str] = {}
            frontier = [caller]
            while callee not in parent and frontier:
                reached = []
                for s in frontier:
                    for n in sorted(self.graph.callees(s)):
                        if n not in parent and n != caller:
                            parent[n] = s
                            reached.append(n)
                frontier = reached
            path = [callee]
            while path[-1] != caller:
                path.append(parent[path[-1]])
            self._paths[caller, callee] = tuple(path[::-1])
        return self._paths[caller, callee]

    def callers_within(self, service: str) -> frozenset[str]:
        """Services that call ``service`` within ``max_hops`` hops: where its failure shows up."""
        if service not in self._above:
            self._above[service] = self._ball(service, self.graph.callers) - {service}
        return self._above[service]

    def nodes(self, alert: Alert) -> frozenset[str]:
        """The node the alert is about: the one its component is, or the one the pod it names runs
        on when the alert is about that pod's own condition (:meth:`pod_local`); by the placement
        when the alert started (when pinned: :meth:`pin`), else now; empty otherwise.

        Only what the alert itself says counts: in a small cluster nearly every two services share
        some node, so a service-level alert says nothing about a node, and neither does a latency
        or error alert computed per pod (it is about what the pod serves, like its service's).
        """
        found = self.pinned[alert.key][1] if alert.key in self.pinned else self._placed_nodes(alert.component)
        return found if not found or alert.component in found or self.pod_local(alert) else frozenset()

    def _placed_nodes(self, c: str | None) -> frozenset[str]:
        if c is None:
            return frozenset()
        if c in self._node_of:
            return frozenset({self._node_of[c]})
        return frozenset({c}) if c in self._node_names else frozenset()

    def pod_local(self, alert: Alert) -> bool:
        """Whether ``alert`` is about one pod's own condition (:data:`POD_LOCAL`) rather than a
        symptom it shares with its service: such an alert never links along calls."""
        if alert.component is None:
            return False
        said = (alert.name, alert.metric)
        if said not in self._local:
            self._local[said] = any(word in f"{alert.name} {alert.metric or ''}".lower() for word in POD_LOCAL)
        return self._local[said]

    def _ball(self, start: str, step: Callable[[str], frozenset[str]]) -> frozenset[str]:
        seen = {start}
        frontier = [start]
        for _ in range(self.max_hops):
            reached = []
            for s in frontier:
                for n in step(s):
                    if n not in seen:
                        seen.add(n)
                        reached.append(n)
            frontier = reached
        return frozenset(seen)
