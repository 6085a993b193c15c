"""Canary analysis and traffic policies: Foresight's sequential policy and the Flagger baseline.

Both are pure ``decide(state, observation, now) -> CanaryDecision`` cores over the same
:class:`CanaryObservation`. Nothing here does I/O, reads a clock or imports the simulator or the
audit store: :class:`foresight.control.canary.CanaryController` wires a policy to a metrics source and
a :class:`TrafficRouter` (Istio, or the simulator).
"""

from foresight.rollout.decision import CanaryAction, CanaryDecision, TrafficPolicy
from foresight.rollout.flagger import (
    FlaggerPolicy,
    FlaggerSpec,
    FlaggerState,
    flagger_decide,
)
from foresight.rollout.observation import (
    CanaryObservation,
    VersionSample,
    exponential_buckets,
    histogram_quantile,
)
from foresight.rollout.policy import (
    ForesightPolicy,
    ForesightSpec,
    ForesightState,
    Margins,
    foresight_decide,
)
from foresight.rollout.router import TrafficRouter, Weights, check_router
from foresight.rollout.source import CanaryQueries, read_observation

__all__ = [
    "CanaryAction",
    "CanaryDecision",
    "CanaryObservation",
    "CanaryQueries",
    "FlaggerPolicy",
    "FlaggerSpec",
    "FlaggerState",
    "ForesightPolicy",
    "ForesightSpec",
    "ForesightState",
    "Margins",
    "TrafficPolicy",
    "TrafficRouter",
    "VersionSample",
    "Weights",
    "check_router",
    "exponential_buckets",
    "flagger_decide",
    "foresight_decide",
    "histogram_quantile",
    "read_observation",
]
