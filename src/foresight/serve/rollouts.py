"""Canary releases under ``foresight serve --simulate``, and the approval gate a person acts on.

Releases come one every ``release_every_s``, alternately a good and a bad version of the model
(the bad one: more errors, lower accuracy, slower), each run by the real
:class:`~foresight.rollout.controller.CanaryController` against a
:class:`~foresight.sim.canary.CanarySimulator`, one analysis interval per simulated minute.

With ``require_approval`` a promotion is gated: :class:`GatedRouter` holds the canary at its
last weight when the policy asks for 100%, the release waits as "awaiting approval", and only
:meth:`ReleaseBook.approve` (``POST /api/v1/rollouts/{id}/approve``) routes all traffic to it.
Both the hold and the approval are audited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from foresight.control.audit import AuditRecord, AuditSink
from foresight.demo.releases import Release, ReleaseTrack
from foresight.errors import InputError
from foresight.rollout import CanaryController, CanaryQueries, ForesightPolicy, ForesightSpec
from foresight.rollout.router import TrafficRouter, Weights
from foresight.sim.canary import CanaryScenario, CanarySimulator, VersionBehaviour

__all__ = ["GatedRouter", "NotAwaitingApproval", "ReleaseBook", "UnknownRelease"]

GOOD = VersionBehaviour(latency_median_ms=115.0)
BAD = VersionBehaviour(error_rate=0.02, accuracy=0.85, latency_median_ms=130.0)
AWAITING = "awaiting approval"


class UnknownRelease(InputError):
    """No release has this id."""


class NotAwaitingApproval(InputError):
    """The release exists but is not waiting for a person's approval."""


class GatedRouter:
    """A :class:`TrafficRouter` that holds a full promotion (canary 100%) until it is approved."""

    def __init__(self, inner: TrafficRouter, gated: bool) -> None:
        self.inner, self.gated = inner, gated
        self.held_at: int | None = None  # the canary weight kept while a promotion waits
        self.approved = False

    def get_weights(self) -> Weights:
        return self.inner.get_weights()

    def set_weights(self, stable: int, canary: int) -> None:
        if self.gated and canary == 100 and not self.approved:
            Weights(stable, canary)  # still reject a malformed split
            self.held_at = self.inner.get_weights().canary
            return
        self.inner.set_weights(stable, canary)


@dataclass
class _Entry:
    id: str
    track: ReleaseTrack
    router: GatedRouter


class ReleaseBook:
    """Starts releases on schedule, advances them with the simulated time, gates promotions."""

    def __init__(self, model: str, every_s: float, first_at: float, seed: int, audit: AuditSink,
                 require_approval: bool) -> None:
        self.model, self.every_s, self.next_at, self.seed = model, every_s, first_at, seed
        self.audit, self.require_approval = audit, require_approval
        self.entries: list[_Entry] = []
        self._run_id = uuid.uuid4().hex

    def advance_to(self, now_s: float) -> list[AuditRecord]:
        """Start the releases due by ``now_s`` and run every analysis interval that has ended."""
        records: list[AuditRecord] = []
        while now_s >= self.next_at:
            self._start(self.next_at)
            self.next_at += self.every_s
        for entry in self.entries:
            if entry.track.done:
                continue
            entry.track.advance_to(now_s)
            if entry.router.held_at is not None and entry.track.outcome == "promoted" and not entry.router.approved:
                entry.track.outcome = AWAITING
                records.append(self._record(entry, now_s, f"hold: promotion held for approval, canary stays at "
                                                          f"{entry.router.held_at}% until a person approves",
                                            applied=False))
        return records

    def approve(self, release_id: str, now_s: float, who: str = "api") -> AuditRecord:
        """Route all traffic to a release that awaits approval; returns the audit record written."""
        entry = next((e for e in self.entries if e.id == release_id), None)
        if entry is None:
            raise UnknownRelease(f"release {release_id!r} not found; known: {[e.id for e in self.entries]}")
        if entry.track.outcome != AWAITING:
            raise NotAwaitingApproval(f"release {release_id!r} is {entry.track.outcome!r}, not {AWAITING!r}")
        entry.router.approved = True
        entry.router.set_weights(0, 100)
        entry.track.outcome = "promoted"
        return self._record(entry, now_s, f"promote: approved by {who}, canary at 100%", applied=True)

    def views(self) -> list[dict[str, Any]]:
        """Each release as plain data (newest first) for the API."""
        out = []
        for e in reversed(self.entries):
            r = e.track.release
            out.append({
                "id": e.id, "model": r.model, "version": r.version, "started_at": r.start_s,
                "simulated_behaviour": "good" if r.good else "bad", "outcome": e.track.outcome,
                "weight": e.router.get_weights().canary, "awaiting_approval": e.track.outcome == AWAITING,
                "steps": [{"time": s.time_s, "weight": s.weight, "action": s.action, "reason": s.reason}
                          for s in e.track.steps[-240:]],
            })
        return out

    def _start(self, at_s: float) -> None:
        index = len(self.entries)
        good = index % 2 == 0
        version = f"v{index + 2}"
        release = Release(self.model, version, at_s, good, GOOD if good else BAD)
        stable, canary = f"{self.model}-stable", f"{self.model}-{version}"
        sim = CanarySimulator(CanaryScenario(canary=release.canary, rate_rps=40.0), seed=self.seed * 100 + index,
                              interval_s=60.0, start_s=at_s, workloads=(stable, canary))
        router = GatedRouter(sim, self.require_approval)
        controller = CanaryController(ForesightPolicy(ForesightSpec()), sim, router,
                                      CanaryQueries.simulator(stable, canary), sim.clock, interval_s=60.0,
                                      audit=self.audit)
        self.entries.append(_Entry(canary, ReleaseTrack(release, controller, sim), router))

    def _record(self, entry: _Entry, now_s: float, reason: str, *, applied: bool) -> AuditRecord:
        weight = entry.router.get_weights().canary
        record = AuditRecord(now_s, self._run_id, "rollout/gate", entry.id, {},
                             {"previous": entry.router.held_at, "recommended": 100, "applied": weight},
                             reason, applied, False)
        self.audit.record(record)
        return record
