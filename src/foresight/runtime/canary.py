"""The simulated platform's canary for the model feedback loop (the :class:`~foresight.feedback.canary.Canary` port).

A :class:`RolloutCanary` answers with a :class:`~foresight.control.canary.CanaryRun` of the real
:class:`~foresight.control.canary.CanaryController` and :class:`~foresight.rollout.ForesightPolicy`
against a :class:`~foresight.sim.canary.CanarySimulator` whose stable and canary versions behave as
the caller says (in the demo: each model's accuracy measured on the live stream), one analysis
interval per ``interval_s``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from foresight.control.audit import AuditSink
from foresight.control.canary import (
    MAX_ANALYSIS_S,
    PROMOTED,
    CanaryController,
    CanaryRun,
)
from foresight.feedback.decide import CanaryEnded
from foresight.rollout import CanaryQueries, ForesightPolicy, ForesightSpec
from foresight.sim.canary import CanaryScenario, CanarySimulator, VersionBehaviour

__all__ = ["ReleaseStep", "RolloutCanary"]


@dataclass(frozen=True)
class ReleaseStep:
    """One analysis interval: weight after it, the rollout action and its reason."""

    time_s: float
    version: int
    weight: int
    action: str
    reason: str


class RolloutCanary:
    """The :class:`Canary` port on the rollout controller and the canary simulator.

    ``behaviours(version)`` gives (stable, canary) :class:`VersionBehaviour` for the release, read
    when it starts. A release undecided after ``max_s`` is rolled back (never promoted on doubt).
    """

    def __init__(
        self, model: str, behaviours: Callable[[int], tuple[VersionBehaviour, VersionBehaviour]], *,
        rate_rps: float = 40.0, interval_s: float = 60.0, max_s: float = MAX_ANALYSIS_S, seed: int = 0,
        spec: ForesightSpec | None = None, audit: AuditSink | None = None,
    ) -> None:
        self.model, self.behaviours = model, behaviours
        self.rate_rps, self.interval_s, self.max_s, self.seed = rate_rps, interval_s, max_s, seed
        self.spec = spec or ForesightSpec()
        self.audit = audit
        self.steps: list[ReleaseStep] = []
        self._run: CanaryRun | None = None
        self._version = 0

    def start(self, version: int, now_s: float) -> None:
        stable, canary = self.behaviours(version)
        workloads = (f"{self.model}-stable", f"{self.model}-v{version}")
        sim = CanarySimulator(CanaryScenario(stable=stable, canary=canary, rate_rps=self.rate_rps),
                              seed=self.seed * 1000 + version, interval_s=self.interval_s, start_s=now_s,
                              workloads=workloads)
        controller = CanaryController(ForesightPolicy(self.spec), sim, sim, CanaryQueries.simulator(*workloads),
                                      sim.clock, interval_s=self.interval_s, audit=self.audit)
        self._run = CanaryRun(controller, started_s=now_s, max_s=self.max_s, before_interval=sim.advance)
        self._version = version

    def advance_to(self, now_s: float) -> CanaryEnded | None:
        run = self._run
        if run is None:
            return None
        for step in run.advance_to(now_s):
            self.steps.append(ReleaseStep(step.time_s, self._version, step.weight, step.action, step.reason))
        if not run.done:
            return None
        self._run = None
        last = run.steps[-1]
        return CanaryEnded(run.outcome == PROMOTED, f"canary {last.action}: {last.reason}")
