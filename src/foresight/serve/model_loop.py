"""The model feedback loop in ``foresight serve --simulate``: the demo's loop, stepped by the platform clock.

The loop itself is :class:`~foresight.runtime.model_loop.ModelLoopDemo` (a served model whose inputs
drift; the real :class:`~foresight.feedback.FeedbackLoop` retrains, registers, gates, canaries and
promotes). Serve adds what a person watching needs:

* every tick's PSI **per feature** (``ModelLoopDemo.feature_ticks``) for the Drift panel and the
  ``foresight_feature_drift_statistic{model, feature, stat="psi"}`` gauges;
* **manual approval**: with ``controllers.require_approval`` a canary the policy would promote
  waits (:class:`ApprovalCanary`) until a person approves it through the API; a rollback never waits.

A version the gate blocked is discarded by the loop and cannot be approved here: the demo keeps no
servable copy of it (see the closing note of the serve brief).
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from foresight.adapters.drift_gauges import DriftGauges
from foresight.control.audit import AuditRecord, AuditSink
from foresight.errors import InputError
from foresight.feedback import Canary, CanaryEnded
from foresight.registry import CHALLENGER, CHAMPION, SCAN_TAG
from foresight.runtime.model_loop import FEATURES, ModelLoopDemo

__all__ = ["ApprovalCanary", "ModelLoopWatch", "NotAwaitingModelApproval", "UnknownModel"]


class UnknownModel(InputError):
    """An approval named a model this process does not watch."""


class NotAwaitingModelApproval(InputError):
    """An approval for a model whose canary is not waiting for one (nothing to approve)."""


@dataclass
class ApprovalCanary:
    """The :class:`~foresight.feedback.Canary` port around ``inner``: a promotion waits for :meth:`approve`.

    The canary runs to its verdict as usual; a passing verdict is held (the loop keeps polling, the
    challenger keeps its share) until approved, then handed to the loop on its next tick. A failing
    verdict (roll back) is handed on at once: undoing a bad version never waits for a person.
    """

    inner: Canary
    required: bool = True
    waiting: CanaryEnded | None = None
    version: int | None = None
    approved_by: str | None = None

    def start(self, version: int, now_s: float) -> None:
        self.waiting, self.version, self.approved_by = None, version, None
        self.inner.start(version, now_s)

    def advance_to(self, now_s: float) -> CanaryEnded | None:
        if self.waiting is not None:
            if self.approved_by is None:
                return None
            done, self.waiting = self.waiting, None
            return CanaryEnded(True, f"{done.reason}; approved by {self.approved_by}")
        result = self.inner.advance_to(now_s)
        if result is not None and result.promoted and self.required:
            self.waiting = result
            return None
        return result

    @property
    def awaiting_approval(self) -> bool:
        return self.waiting is not None and self.approved_by is None

    def approve(self, who: str) -> None:
        if not self.awaiting_approval:
            raise NotAwaitingModelApproval("no canary of this model is waiting for approval")
        self.approved_by = who


class ModelLoopWatch:
    """One served model's loop, stepped with the platform clock, with its view, gauges and approvals."""

    name = "feedback"

    def __init__(self, *, model: str, start_s: float, duration_s: float, drift_after_s: float, seed: int,
                 audit: AuditSink, gauges: DriftGauges | None, require_approval: bool,
                 registry_url: str | None = None) -> None:
        # the API reads the registry from other threads: an in-memory SQLite database would be private
        # to the stepping thread, so the default is a temporary file
        self._tmp = tempfile.TemporaryDirectory(prefix="foresight-registry-") if registry_url is None else None
        url = registry_url if self._tmp is None else str(Path(self._tmp.name) / "registry.db")
        self.loop = ModelLoopDemo(model=model, duration_s=duration_s, drift_at_s=start_s + drift_after_s,
                                    seed=seed, start_s=start_s, audit=audit, registry_url=url)
        self.canary = ApprovalCanary(self.loop.canary, required=require_approval)
        self.loop.loop.canary = self.canary
        self.audit, self.gauges = audit, gauges
        self._published = 0

    @property
    def model(self) -> str:
        return self.loop.model

    def advance_to(self, now_s: float) -> None:
        """Serve the minutes up to ``now_s``; publish the newest per-feature PSI on the gauges."""
        self.loop.advance_to(now_s)
        ticks = self.loop.feature_ticks
        if self.gauges is not None and ticks and self._published != len(ticks):
            self._published = len(ticks)
            for name, value in zip(FEATURES, ticks[-1][1]):
                self.gauges.statistic.labels(self.model, name, "psi").set(value)
                self.gauges.drifted.labels(self.model, name).set(float(value > self.loop.threshold))

    def approve(self, who: str, now_s: float) -> AuditRecord:
        """A person approves the waiting promotion; it happens at the loop's next tick. Audited."""
        version = self.canary.version
        self.canary.approve(who)
        record = AuditRecord(now_s, "model-loop", "feedback/approval", self.model, {}, {"version": version},
                             f"promotion of v{version} approved by {who}; promoted at the loop's next tick",
                             True, False)
        self.audit.record(record)
        return record

    def close(self) -> None:
        """Remove the temporary registry (a configured one is kept)."""
        if self._tmp is not None:
            self.loop.registry.close()
            self._tmp.cleanup()
            self._tmp = None

    def view(self) -> dict[str, Any]:
        """What ``/api/v1/drift`` shows for this model (plain JSON-ready data)."""
        loop = self.loop
        ticks = loop.feature_ticks
        versions = []
        for v in loop.registry.list_versions(loop.model):
            versions.append({"version": v.version, "accuracy": _num(v.metrics.get("accuracy")),
                             "aliases": sorted(v.aliases), "gate": v.tags.get("foresight.gate"),
                             "canary": v.tags.get("foresight.canary"),
                             "trigger": v.tags.get("foresight.trigger"), "scan": v.tags.get(SCAN_TAG),
                             "data_version": v.data_version})
        champion = loop.registry.get_alias(loop.model, CHAMPION)
        challenger = loop.registry.get_alias(loop.model, CHALLENGER)
        latest = ticks[-1][1] if ticks else ()
        drifted = bool(latest) and max(latest) > loop.threshold
        return {
            "model": loop.model, "statistic": "psi", "threshold": loop.threshold,
            "window_s": loop.window_s, "tick_s": loop.tick_s, "drift_injected_at": loop.drift_at_s,
            "verdict": "drift" if drifted else ("no drift" if ticks else "no tick yet"),
            "drift_detected_at": loop.drift_detected_s, "phase": loop.loop.state.phase.value,
            "retrains": sum(1 for s in loop.steps if s.what == "retrain"),
            "features": [{"name": f, "t": [t for t, _ in ticks], "v": [_num(row[i]) for _, row in ticks],
                          "current": _num(latest[i]) if latest else None} for i, f in enumerate(FEATURES)],
            "accuracy": {"t": [row[0] for row in loop.ticks], "champion": [_num(row[3]) for row in loop.ticks],
                         "challenger": [_num(row[4]) for row in loop.ticks]},
            "events": [{"time": s.time_s, "what": s.what, "detail": s.detail} for s in loop.steps[-200:]],
            "versions": versions,
            "champion": champion.version if champion else None,
            "challenger": challenger.version if challenger else None,
            "canary": {"version": self.canary.version, "awaiting_approval": self.canary.awaiting_approval,
                       "approval_required": self.canary.required, "outcome": loop.outcome,
                       "steps": [{"time": s.time_s, "version": s.version, "weight": s.weight, "action": s.action,
                                  "reason": s.reason} for s in getattr(loop.canary, "steps", [])[-50:]]},
        }


def _num(value: Any) -> float | None:
    """A JSON-safe float (None for missing, NaN and infinities)."""
    if value is None:
        return None
    v = float(value)
    return v if math.isfinite(v) else None
