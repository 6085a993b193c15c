"""Canary releases under ``foresight serve --simulate``, and the approval gate a person acts on.

Releases come one every ``release_every_s``, alternately a good and a bad version of the model
(the bad one: more errors, lower accuracy, slower), each a :class:`~foresight.runtime.releases.ReleaseTrack`:
the real :class:`~foresight.control.canary.CanaryController` against a
:class:`~foresight.sim.canary.CanarySimulator`, one analysis interval per simulated minute.

With ``require_approval`` a promotion is gated by the controller: the canary stays at its last
weight when the policy asks for 100%, the release waits as "awaiting approval", and only
:meth:`ReleaseBook.approve` (``POST /api/v1/rollouts/{id}/approve``) routes all traffic to it.
Both the hold and the approval are audited (``rollout/gate``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from foresight.control.audit import AuditRecord, AuditSink
from foresight.control.canary import AWAITING, NotAwaitingApproval
from foresight.errors import InputError
from foresight.runtime.releases import Release, ReleaseTrack, release_track
from foresight.sim.canary import VersionBehaviour

__all__ = ["AWAITING", "NotAwaitingApproval", "ReleaseBook", "UnknownRelease"]

GOOD = VersionBehaviour(latency_median_ms=115.0)
BAD = VersionBehaviour(error_rate=0.02, accuracy=0.85, latency_median_ms=130.0)


class UnknownRelease(InputError):
    """No release has this id."""


@dataclass
class _Entry:
    id: str
    track: ReleaseTrack


class ReleaseBook:
    """Starts releases on schedule, advances them with the simulated time, gates promotions."""

    def __init__(self, model: str, every_s: float, first_at: float, seed: int, audit: AuditSink,
                 require_approval: bool) -> None:
        self.model, self.every_s, self.next_at, self.seed = model, every_s, first_at, seed
        self.audit, self.require_approval = audit, require_approval
        self.entries: list[_Entry] = []

    def advance_to(self, now_s: float) -> None:
        """Start the releases due by ``now_s`` and run every analysis interval that has ended."""
        while now_s >= self.next_at:
            self._start(self.next_at)
            self.next_at += self.every_s
        for entry in self.entries:
            entry.track.advance_to(now_s)

    def approve(self, release_id: str, now_s: float, who: str = "api") -> AuditRecord:
        """Route all traffic to a release that awaits approval; returns the audit record written.

        ``now_s`` is the simulated time, which the release's own clock has reached.
        """
        entry = next((e for e in self.entries if e.id == release_id), None)
        if entry is None:
            raise UnknownRelease(f"release {release_id!r} not found; known: {[e.id for e in self.entries]}")
        entry.track.run.controller.clock.sleep_until(now_s)
        return entry.track.run.approve(who)

    def views(self) -> list[dict[str, Any]]:
        """Each release as plain data (newest first) for the API."""
        out = []
        for e in reversed(self.entries):
            r, run = e.track.release, e.track.run
            out.append({
                "id": e.id, "model": r.model, "version": r.version, "started_at": r.start_s,
                "simulated_behaviour": "good" if r.good else "bad", "outcome": run.outcome,
                "weight": run.controller.router.get_weights().canary, "awaiting_approval": run.outcome == AWAITING,
                "steps": [{"time": s.time_s, "weight": s.weight, "action": s.action, "reason": s.reason}
                          for s in run.steps[-240:]],
            })
        return out

    def _start(self, at_s: float) -> None:
        index = len(self.entries)
        good = index % 2 == 0
        release = Release(self.model, f"v{index + 2}", at_s, good, GOOD if good else BAD)
        track = release_track(release, self.seed * 100 + index, self.audit, require_approval=self.require_approval)
        self.entries.append(_Entry(f"{self.model}-{release.version}", track))
