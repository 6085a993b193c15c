"""The simulated cluster's service graph, as the correlator reads a real one: call edges and pod placement.

The edges are the cluster spec's calls (what Istio's ``istio_requests_total`` would show, every
call path carrying traffic); the placement is where each pod runs, pods named
``<service>-<node>-<n>`` (stable while they stay). A pod that vanishes with its node stays in the
placement for ``linger_s`` (5 min): Kubernetes keeps the pods of a NotReady node bound, and
kube-state-metrics reports them, until they are evicted after the default 300 s toleration, so the
alerts of a node loss can still be traced to the node.
"""

from __future__ import annotations

from collections import Counter

from foresight.correlate.graph import ServiceGraph
from foresight.sim.cluster import Simulator

__all__ = ["SimulatedTopology", "placement", "service_graph"]


def placement(sim: Simulator) -> dict[str, tuple[str, str]]:
    """Every pod of ``sim`` now -> (its service, its node).

    >>> from foresight.sim import default_cluster
    >>> sim = Simulator(default_cluster(6, seed=1), duration_s=60.0)
    >>> pods = placement(sim)
    >>> len(pods) == sum(s.initial_replicas for s in sim.spec.services), next(iter(pods))
    (True, 'gateway-cpu-ondemand-0-0')
    """
    out = {}
    for name in sim.service_names:
        seen: Counter[str] = Counter()
        for node in sim.pod_nodes(name):
            out[f"{name}-{node}-{seen[node]}"] = (name, node)
            seen[node] += 1
    return out


def service_graph(sim: Simulator) -> ServiceGraph:
    """The call graph and the current pod placement of ``sim``.

    >>> from foresight.sim import default_cluster
    >>> sorted(service_graph(Simulator(default_cluster(6, seed=1), duration_s=60.0)).callees("gateway"))
    ['llm-chat', 'search']
    """
    return ServiceGraph.of([(s.name, callee) for s in sim.spec.services for callee in s.calls], placement(sim))


class SimulatedTopology:
    """The :class:`~foresight.runtime.incidents.GraphSource` of a simulator: its graph as of now, with the
    pods lost ``linger_s`` ago or less still placed on their node (module docstring)."""

    def __init__(self, sim: Simulator, linger_s: float = 300.0) -> None:
        self.sim, self.linger_s = sim, linger_s
        self._last: dict[str, tuple[str, str]] = {}
        self._gone: dict[str, tuple[tuple[str, str], float]] = {}

    def graph(self, now: float) -> ServiceGraph:
        current = placement(self.sim)
        for pod, where in self._last.items():
            if pod not in current and pod not in self._gone:
                self._gone[pod] = (where, now)
        self._gone = {p: (w, t) for p, (w, t) in self._gone.items() if p not in current and now - t <= self.linger_s}
        self._last = current
        edges = [(s.name, callee) for s in self.sim.spec.services for callee in s.calls]
        return ServiceGraph.of(edges, {**{p: w for p, (w, _) in self._gone.items()}, **current})
