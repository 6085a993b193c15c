"""The simulated cluster's service graph, as the correlator reads a real one: call edges and pod placement.

The edges are the cluster spec's calls (what Istio's ``istio_requests_total`` would show, every
call path carrying traffic); the placement is where each pod runs now, pods named
``<service>-<n>`` as a Deployment's would be, so a node's loss shows as the pods it took.
"""

from __future__ import annotations

from foresight.correlate.graph import ServiceGraph
from foresight.sim.cluster import Simulator

__all__ = ["SimulatedTopology", "service_graph"]


def service_graph(sim: Simulator) -> ServiceGraph:
    """The call graph and the current pod placement of ``sim``.

    >>> from foresight.sim import default_cluster
    >>> sim = Simulator(default_cluster(6, seed=1), duration_s=60.0)
    >>> g = service_graph(sim)
    >>> sorted(g.callees("gateway")), len(g.placement) == sum(s.initial_replicas for s in sim.spec.services)
    (['llm-chat', 'search'], True)
    """
    edges = [(s.name, callee) for s in sim.spec.services for callee in s.calls]
    placement = {f"{name}-{i}": (name, node) for name in sim.service_names
                 for i, node in enumerate(sim.pod_nodes(name))}
    return ServiceGraph.of(edges, placement)


class SimulatedTopology:
    """The :class:`~foresight.runtime.incidents.GraphSource` of a simulator: its graph as of now."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def graph(self, now: float) -> ServiceGraph:
        return service_graph(self.sim)
