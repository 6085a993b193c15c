"""Model releases on the simulated platform (``foresight demo`` and ``serve --simulate``): a good and
a bad version of a model, each released as a canary whose traffic weight Foresight's canary policy
moves, promotes or rolls back.

Each release is a :class:`~foresight.control.canary.CanaryRun` of the real
:class:`~foresight.control.canary.CanaryController` against a
:class:`~foresight.sim.canary.CanarySimulator` (request-level latency, errors and label feedback
per version) on the demo's time line: one analysis interval per simulated minute.
"""

from __future__ import annotations

from dataclasses import dataclass

from foresight.control.audit import AuditSink
from foresight.control.canary import CanaryController, CanaryRun, CanaryStep
from foresight.rollout import CanaryQueries, ForesightPolicy, ForesightSpec
from foresight.sim.canary import CanaryScenario, CanarySimulator, VersionBehaviour

__all__ = ["Release", "ReleaseTrack", "demo_releases", "release_track"]

INTERVAL_S = 60.0


@dataclass(frozen=True)
class Release:
    """One planned release: which model version, when, and how it really behaves (known to the demo only)."""

    model: str
    version: str
    start_s: float
    good: bool
    canary: VersionBehaviour


@dataclass
class ReleaseTrack:
    """A running or finished release: the plan and the run that drives it."""

    release: Release
    run: CanaryRun

    @property
    def done(self) -> bool:
        return self.run.done

    @property
    def outcome(self) -> str:
        return self.run.outcome

    @property
    def steps(self) -> list[CanaryStep]:
        return self.run.steps

    def advance_to(self, now_s: float) -> list[CanaryStep]:
        """Run every analysis interval that has ended by ``now_s``; returns the new steps."""
        return self.run.advance_to(now_s)

    def to_json(self) -> dict[str, object]:
        ended = self.steps[-1].time_s if self.steps and self.done else None
        return {
            "model": self.release.model, "version": self.release.version, "good": self.release.good,
            "start_s": self.release.start_s, "outcome": self.outcome,
            "analysis_minutes": None if ended is None else round((ended - self.release.start_s) / 60.0, 1),
            "max_canary_weight": max((s.weight for s in self.steps if s.action != "promote"), default=0),
        }


def release_track(release: Release, seed: int, audit: AuditSink | None, *, require_approval: bool = False,
                  rate_rps: float = 40.0) -> ReleaseTrack:
    """``release`` under Foresight's policy against its own simulator (stable: the default behaviour)."""
    stable, canary = f"{release.model}-stable", f"{release.model}-{release.version}"
    sim = CanarySimulator(CanaryScenario(canary=release.canary, rate_rps=rate_rps), seed=seed,
                          interval_s=INTERVAL_S, start_s=release.start_s, workloads=(stable, canary))
    controller = CanaryController(ForesightPolicy(ForesightSpec()), sim, sim, CanaryQueries.simulator(stable, canary),
                                  sim.clock, interval_s=INTERVAL_S, audit=audit, require_approval=require_approval)
    return ReleaseTrack(release, CanaryRun(controller, started_s=release.start_s, before_interval=sim.advance))


def demo_releases(duration_s: float, model: str, seed: int, audit: AuditSink | None) -> list[ReleaseTrack]:
    """A good release a quarter into the run and a bad one (more errors, lower accuracy) at 60%."""
    plan = [
        Release(model, "v2", 0.25 * duration_s, True, VersionBehaviour(latency_median_ms=115.0)),
        Release(model, "v3", 0.60 * duration_s, False,
                VersionBehaviour(error_rate=0.02, accuracy=0.85, latency_median_ms=130.0)),
    ]
    return [release_track(release, seed * 100 + i, audit) for i, release in enumerate(plan)]
