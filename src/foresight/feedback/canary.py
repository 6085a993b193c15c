"""The canary port of the feedback loop: "start a canary of this version" and "has it ended, and how?".

Its implementation on the simulated platform is :class:`foresight.runtime.canary.RolloutCanary`
(the real canary controller and policy over the canary simulator); against a cluster the same
port is the controller over Prometheus and Istio.
"""

from __future__ import annotations

from typing import Protocol

from foresight.feedback.decide import CanaryEnded

__all__ = ["Canary"]



class Canary(Protocol):
    """Releases one candidate version at a time."""

    def start(self, version: int, now_s: float) -> None: ...

    def advance_to(self, now_s: float) -> CanaryEnded | None:
        """Run the analysis up to ``now_s``; the result once the release has ended, else None."""
        ...
