"""Model releases in the demo: a good and a bad version of a model, each released as a canary
whose traffic weight Foresight's canary policy moves, promotes or rolls back.

Each release runs the real :class:`~foresight.rollout.controller.CanaryController` against a
:class:`~foresight.sim.canary.CanarySimulator` (request-level latency, errors and label feedback
per version) on the demo's time line: one analysis interval per simulated minute.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from foresight.control.audit import AuditSink
from foresight.rollout import Action, CanaryController, CanaryQueries, ForesightPolicy, ForesightSpec
from foresight.sim.canary import CanaryScenario, CanarySimulator, VersionBehaviour

__all__ = ["Release", "ReleaseStep", "ReleaseTrack", "demo_releases"]

INTERVAL_S = 60.0
#: A release that neither promotes nor rolls back within this long is reported as undecided.
MAX_ANALYSIS_S = 3 * 3600.0


@dataclass(frozen=True)
class Release:
    """One planned release: which model version, when, and how it really behaves (known to the demo only)."""

    model: str
    version: str
    start_s: float
    good: bool
    canary: VersionBehaviour


@dataclass(frozen=True)
class ReleaseStep:
    """One analysis interval of a release: the canary weight after it, the action and why."""

    time_s: float
    weight: int
    action: str
    reason: str


@dataclass
class ReleaseTrack:
    """A running or finished release and the controller that drives it."""

    release: Release
    controller: CanaryController
    simulator: CanarySimulator
    steps: list[ReleaseStep] = field(default_factory=list)
    outcome: str = "in progress"

    @property
    def done(self) -> bool:
        return self.outcome != "in progress"

    def advance_to(self, now_s: float) -> list[ReleaseStep]:
        """Run every analysis interval that has ended by ``now_s``; returns the new steps."""
        new: list[ReleaseStep] = []
        while not self.done and self.simulator.clock.now() + INTERVAL_S <= now_s + 1e-9:
            self.simulator.advance()
            decision = self.controller.reconcile()
            step = ReleaseStep(self.simulator.clock.now(), decision.weight, decision.action.value, decision.reason)
            self.steps.append(step)
            new.append(step)
            if decision.action is Action.PROMOTE:
                self.outcome = "promoted"
            elif decision.action is Action.ROLLBACK:
                self.outcome = "rolled back"
            elif self.simulator.clock.now() - self.release.start_s >= MAX_ANALYSIS_S:
                self.outcome = "undecided"
        return new

    def to_json(self) -> dict[str, object]:
        ended = self.steps[-1].time_s if self.steps and self.done else None
        return {
            "model": self.release.model, "version": self.release.version, "good": self.release.good,
            "start_s": self.release.start_s, "outcome": self.outcome,
            "analysis_minutes": None if ended is None else round((ended - self.release.start_s) / 60.0, 1),
            "max_canary_weight": max((s.weight for s in self.steps if s.action != "promote"), default=0),
        }


def demo_releases(duration_s: float, model: str, seed: int, audit: AuditSink | None) -> list[ReleaseTrack]:
    """A good release a quarter into the run and a bad one (more errors, lower accuracy) at 60%."""
    plan = [
        Release(model, "v2", 0.25 * duration_s, True, VersionBehaviour(latency_median_ms=115.0)),
        Release(model, "v3", 0.60 * duration_s, False,
                VersionBehaviour(error_rate=0.02, accuracy=0.85, latency_median_ms=130.0)),
    ]
    tracks = []
    for i, release in enumerate(plan):
        scenario = CanaryScenario(canary=release.canary, rate_rps=40.0)
        sim = CanarySimulator(scenario, seed=seed * 100 + i, interval_s=INTERVAL_S, start_s=release.start_s,
                              workloads=(f"{model}-stable", f"{model}-{release.version}"))
        queries = CanaryQueries.simulator(f"{model}-stable", f"{model}-{release.version}")
        controller = CanaryController(ForesightPolicy(ForesightSpec()), sim, sim, queries, sim.clock,
                                      interval_s=INTERVAL_S, audit=audit)
        tracks.append(ReleaseTrack(release, controller, sim))
    return tracks
