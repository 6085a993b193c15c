"""What a workload can serve: the queueing model and the one SLO definition every policy sizes for.

Pure numpy; the simulator's latency model, the predictive policy, the oracle and the live path all
size replicas here, so "meets the SLO" means one thing everywhere.
"""

from foresight.capacity.slo import (
    DEFAULT_TIMEOUT_S,
    SloModel,
    slo_replicas,
    slo_replicas_each,
    utilisation_replicas,
)

__all__ = ["DEFAULT_TIMEOUT_S", "SloModel", "slo_replicas", "slo_replicas_each", "utilisation_replicas"]
