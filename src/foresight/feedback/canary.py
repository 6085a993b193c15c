"""The canary port of the feedback loop, and its implementation on Foresight's rollout controller.

The loop only needs "start a canary of this version" and "has it ended, and how?". A
:class:`RolloutCanary` answers with the real :class:`~foresight.rollout.CanaryController` and
:class:`~foresight.rollout.ForesightPolicy` against a :class:`~foresight.sim.canary.CanarySimulator`
whose stable and canary versions behave as the caller says (in the demo: each model's accuracy
measured on the live stream), one analysis interval per ``interval_s``. Against a cluster the
same port is the controller over Prometheus and Istio.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from foresight.control.audit import AuditSink
from foresight.feedback.decide import CanaryEnded
from foresight.rollout import Action, CanaryController, CanaryQueries, ForesightPolicy, ForesightSpec
from foresight.sim.canary import CanaryScenario, CanarySimulator, VersionBehaviour

__all__ = ["Canary", "CanaryStep", "RolloutCanary"]


@dataclass(frozen=True)
class CanaryStep:
    """One analysis interval: weight after it, the rollout action and its reason."""

    time_s: float
    version: int
    weight: int
    action: str
    reason: str


class Canary(Protocol):
    """Releases one candidate version at a time."""

    def start(self, version: int, now_s: float) -> None: ...

    def advance_to(self, now_s: float) -> CanaryEnded | None:
        """Run the analysis up to ``now_s``; the result once the release has ended, else None."""
        ...


class RolloutCanary:
    """The :class:`Canary` port on the rollout controller and the canary simulator.

    ``behaviours(version)`` gives (stable, canary) :class:`VersionBehaviour` for the release, read
    when it starts. A release undecided after ``max_s`` is rolled back (never promoted on doubt).
    """

    def __init__(
        self, model: str, behaviours: Callable[[int], tuple[VersionBehaviour, VersionBehaviour]], *,
        rate_rps: float = 40.0, interval_s: float = 60.0, max_s: float = 3 * 3600.0, seed: int = 0,
        spec: ForesightSpec | None = None, audit: AuditSink | None = None,
    ) -> None:
        self.model, self.behaviours = model, behaviours
        self.rate_rps, self.interval_s, self.max_s, self.seed = rate_rps, interval_s, max_s, seed
        self.spec = spec or ForesightSpec()
        self.audit = audit
        self.steps: list[CanaryStep] = []
        self._sim: CanarySimulator | None = None
        self._controller: CanaryController | None = None
        self._version = 0
        self._started_s = 0.0

    def start(self, version: int, now_s: float) -> None:
        stable, canary = self.behaviours(version)
        workloads = (f"{self.model}-stable", f"{self.model}-v{version}")
        self._sim = CanarySimulator(CanaryScenario(stable=stable, canary=canary, rate_rps=self.rate_rps),
                                    seed=self.seed * 1000 + version, interval_s=self.interval_s, start_s=now_s,
                                    workloads=workloads)
        self._controller = CanaryController(ForesightPolicy(self.spec), self._sim, self._sim,
                                            CanaryQueries.simulator(*workloads), self._sim.clock,
                                            interval_s=self.interval_s, audit=self.audit)
        self._version, self._started_s = version, now_s

    def advance_to(self, now_s: float) -> CanaryEnded | None:
        sim, controller = self._sim, self._controller
        if sim is None or controller is None:
            return None
        while sim.clock.now() + self.interval_s <= now_s + 1e-9:
            sim.advance()
            d = controller.reconcile()
            self.steps.append(CanaryStep(sim.clock.now(), self._version, d.weight, d.action.value, d.reason))
            if d.action is Action.PROMOTE or d.action is Action.ROLLBACK:
                self._sim = self._controller = None
                return CanaryEnded(d.action is Action.PROMOTE, f"canary {d.action.value}: {d.reason}")
            if sim.clock.now() - self._started_s >= self.max_s:
                self._sim = self._controller = None
                return CanaryEnded(False, f"canary undecided after {self.max_s / 60:g} min: rolled back")
        return None
