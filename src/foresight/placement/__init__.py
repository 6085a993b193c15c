"""GPU placement: nodes with shared GPUs, the FGD paper's policies, fragmentation, and Foresight's own.

Pure decision code: numpy arrays in, placements out; no I/O, no clock.
"""

from foresight.placement.foresight import Foresight
from foresight.placement.frag import frag_amount
from foresight.placement.mix import OnlineMix, TaskMix, shape_of, typical_mix
from foresight.placement.model import (
                                          MILLI,
                                          Cluster,
                                          ClusterState,
                                          Node,
                                          Placement,
                                          Task,
                                          Unplaced,
)
from foresight.placement.policies import (
                                          BASELINES,
                                          BestFit,
                                          DotProduct,
                                          Fgd,
                                          GpuClustering,
                                          GpuPacking,
                                          NodeFragCache,
                                          Policy,
                                          RandomFit,
                                          Ties,
)
from foresight.placement.scheduler import place, place_gang, why_unplaceable

__all__ = ["BASELINES", "MILLI", "BestFit", "Cluster", "ClusterState", "DotProduct", "Fgd", "Foresight",
           "GpuClustering", "GpuPacking", "Node", "NodeFragCache", "OnlineMix", "Placement", "Policy", "RandomFit",
           "Task", "TaskMix", "Ties", "Unplaced", "frag_amount", "place", "place_gang", "shape_of", "typical_mix",
           "why_unplaceable"]
