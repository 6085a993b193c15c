"""What a canary policy answers each interval, and the protocol every traffic policy implements.

A policy is pure (STYLE rule 1): ``decide(state, observation, now) -> CanaryDecision`` with the next
state, one action on the canary's traffic weight and the reasons, which become the audit record.
Foresight's policy and the Flagger baseline share this shape, so the benchmark runs both through
one harness and a controller can run either against Istio or the simulator.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from foresight.rollout.observation import CanaryObservation

__all__ = ["CanaryAction", "CanaryDecision", "TrafficPolicy"]


class CanaryAction(enum.Enum):
    """What happens to the canary's weight (the percent of requests routed to it)."""

    RAISE = "raise"  # more traffic to the canary
    LOWER = "lower"  # less traffic, while the evidence is worrying but not conclusive
    HOLD = "hold"  # keep the weight
    PROMOTE = "promote"  # the canary takes all traffic: the release is accepted
    ROLLBACK = "rollback"  # all traffic back to the stable version: the release is rejected

    @property
    def final(self) -> bool:
        """Whether the release ends with this action."""
        return self in (CanaryAction.PROMOTE, CanaryAction.ROLLBACK)


@dataclass(frozen=True)
class CanaryDecision:
    """One interval's verdict: ``weight`` is the canary weight after ``action`` (100 on promote, 0 on rollback).

    ``evidence`` holds the figures behind the reasons (estimates, e-values, posteriors) for the audit;
    ``next_check_at`` is when the policy wants to look again (None once the release has ended).
    """

    state: Any
    action: CanaryAction
    weight: int
    reasons: tuple[str, ...]
    next_check_at: float | None
    evidence: Mapping[str, float] = field(default_factory=dict)

    @property
    def reason(self) -> str:
        """The reasons as one line."""
        return "; ".join(self.reasons)


class TrafficPolicy(Protocol):
    """A pure canary policy (Foresight's, the Flagger baseline)."""

    name: str

    def start(self) -> Any:
        """The state before the first interval (canary deployed, weight 0)."""
        ...

    def decide(self, state: Any, obs: CanaryObservation, now: float) -> CanaryDecision:
        """The verdict for the interval that ``obs`` covers; must not mutate ``state``."""
        ...
