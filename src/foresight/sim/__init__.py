"""The simulated cluster: Foresight's embedded default and its benchmark harness.

A fast, vectorised, seeded simulation of services with a call graph, pods with start-up delays on
CPU/GPU, on-demand/spot nodes, traffic from a generator or a trace, and scheduled faults. The
:class:`Simulator` implements the same ports as the real adapters (``MetricsSource``,
``ScaleTarget``, and a ``Clock`` through ``Simulator.clock``), so the real controllers run on it.

>>> sim = Simulator(default_cluster(8, seed=0), duration_s=3600.0, seed=0)
>>> sim.run_until(1800.0)
>>> scale = sim.get_scale("gateway")
>>> scale.current == scale.ready == scale.desired, sim.now
(True, 1800.0)
"""

from foresight.sim.cluster import Event, SimClock, SimulationOver, Simulator
from foresight.sim.default import default_cluster
from foresight.sim.faults import (
    Fault,
    LatencyRegression,
    MemoryLeak,
    NodeLoss,
    SpotPreemption,
)
from foresight.sim.metrics import METRICS
from foresight.sim.spec import ClusterSpec, NodePoolSpec, ServiceSpec
from foresight.sim.traffic import SyntheticTraffic, TraceTraffic, TrafficSpec

__all__ = [
    "METRICS",
    "ClusterSpec",
    "Event",
    "Fault",
    "LatencyRegression",
    "MemoryLeak",
    "NodeLoss",
    "NodePoolSpec",
    "ServiceSpec",
    "SimClock",
    "SimulationOver",
    "Simulator",
    "SpotPreemption",
    "SyntheticTraffic",
    "TraceTraffic",
    "TrafficSpec",
    "default_cluster",
]
