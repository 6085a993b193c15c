"""What ``foresight bench parity`` found: the two paths' records, and why any two decisions differ.

A difference in one service's desired replicas after one period gets its cause from the two audit
records the paths wrote for that period, checked in the order a difference would propagate:

1. ``carried``: the two clusters had already recorded different metrics before the period (an
   earlier difference left different replicas, hence different load, CPU and readiness, now or in
   the history a forecast is fitted on): nothing to explain here beyond the first difference, and
   ``clusters_differ_from_s`` says when the clusters parted (before any decision differed, it is
   the harness' simulated Deployment controller, not a controller under test);
2. ``phase``: only one path reconciled the workload in that period;
3. ``error``: a read or a write failed on one path (the record says which);
4. ``status sync``: the controllers read different replicas (desired, placed, ready) from the
   simulator and from the Deployment's status in the API;
5. ``samples``: they read different load or CPU series (a sample missing or moved: scrape
   alignment, lookback);
6. ``rounding``: the sized loads differ only by float noise and sit on a replica boundary;
7. ``forecast``: the same samples gave a different forecast (the forecaster's state);
8. ``decision``: same inputs, different replicas (a bug: nothing should reach this).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from foresight.control.audit import AuditRecord

__all__ = ["Kept", "ParityResult", "PathRecord", "difference"]


class Kept:
    """An audit sink that keeps the in-process records (the live ones go to ``serve``'s own audit store)."""

    def __init__(self) -> None:
        self.records: list[AuditRecord] = []

    def record(self, entry: AuditRecord) -> None:
        self.records.append(entry)


@dataclass
class PathRecord:
    """What one path did: desired replicas after each period, its scaling records by (time, workload),
    the route's canary weight at each interval's end, the release's records, start and outcome, its time."""

    desired: list[dict[str, int]] = field(default_factory=list)
    records: dict[tuple[float, str], AuditRecord] = field(default_factory=dict)
    weights: list[int] = field(default_factory=list)
    canary_records: list[AuditRecord] = field(default_factory=list)
    verdict: str = ""
    started_s: float | None = None
    wall_s: float = 0.0

    def weight_changes(self) -> int:
        """How often the route's canary weight moved between two interval ends."""
        return sum(1 for a, b in zip(self.weights, self.weights[1:]) if a != b)

    def settled_weights(self) -> list[int]:
        """The route's weight at each interval end until it last moved (then it stays), the last one included."""
        last = max((i for i, (a, b) in enumerate(zip(self.weights, self.weights[1:])) if a != b), default=-1)
        return self.weights[: last + 2]

    def scaling(self) -> dict[str, int]:
        """How many periods changed some replicas, and how many decisions sized a forecast (not the floor alone)."""
        changes = sum(1 for a, b in zip(self.desired, self.desired[1:]) if a != b)
        forecasts = sum(1 for r in self.records.values() if "peak_rps" in r.inputs.get("policy", {}))
        return {"periods_with_a_change": changes, "decisions_with_a_forecast": forecasts}


def difference(d: Mapping[str, Any], mine: Mapping[tuple[float, str], AuditRecord],
               theirs: Mapping[tuple[float, str], AuditRecord], start: float) -> dict[str, Any]:
    """The difference ``d`` (time, service, both desired replicas, whether the clusters were the same)
    with its cause, from the in-process (``mine``) and live (``theirs``) records of that period."""
    key = (d["time"], d["service"])
    a, b = mine.get(key), theirs.get(key)
    inputs = (_stored(a.inputs) if a else {}), (_stored(b.inputs) if b else {})
    if not d["same_cluster_state"]:
        cause = "carried: the clusters already differ (replicas, hence load and CPU) since an earlier difference"
    elif a is None or b is None:
        cause = f"phase: only the {'live' if a is None else 'in-process'} path reconciled in this period"
    elif a.error or b.error:
        cause = f"error: {b.error or a.error}"
    elif inputs[0].get("scale") != inputs[1].get("scale"):
        cause = f"status sync: scale read in-process {inputs[0].get('scale')}, live {inputs[1].get('scale')}"
    elif inputs[0].get("series") != inputs[1].get("series"):
        cause = f"samples: in-process read {inputs[0].get('series')}, live {inputs[1].get('series')}"
    elif _float_noise(inputs[0].get("policy", {}), inputs[1].get("policy", {})):
        cause = "rounding: the same loads within float noise, sized on a replica boundary"
    elif inputs[0].get("policy") != inputs[1].get("policy"):
        cause = f"forecast: the same samples, in-process {inputs[0].get('policy')}, live {inputs[1].get('policy')}"
    else:
        cause = f"decision: same inputs, in-process {a.reason!r}, live {b.reason!r}"
    return {"time_s": d["time"] - start, "service": d["service"], "inprocess": d["inprocess"], "live": d["live"],
            "cause": cause}


def _stored(value: Any) -> Any:
    """``value`` as the SQL audit store gives it back: NaN (no estimate yet) is JSON's null.

    >>> _stored({"slow.estimate": float("nan"), "series": {"load": {"last": 1.5}}})
    {'slow.estimate': None, 'series': {'load': {'last': 1.5}}}
    """
    if isinstance(value, Mapping):
        return {k: _stored(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_stored(v) for v in value]
    return None if isinstance(value, float) and math.isnan(value) else value


def _float_noise(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two policy inputs differ, and only by float noise in the loads they sized."""
    if a == b or set(a) != set(b):
        return False
    return all(math.isclose(float(a[k]), float(b[k]), rel_tol=1e-9) if isinstance(a[k], float) else a[k] == b[k]
               for k in a)


@dataclass(frozen=True)
class ParityResult:
    """The comparison; :meth:`to_json` gives the figures ``foresight bench parity --json`` prints."""

    steps: int
    services: tuple[str, ...]
    identical_steps: int
    differences: tuple[dict[str, Any], ...]
    inprocess: PathRecord
    live: PathRecord
    simulated_s: float
    samples_written: int
    setup_s: float
    canary: str
    clusters_differ_from_s: float | None = None

    def to_json(self) -> dict[str, Any]:
        causes: dict[str, int] = {}
        for d in self.differences:
            kind = d["cause"].split(":", 1)[0]
            causes[kind] = causes.get(kind, 0) + 1
        mine, theirs = self.inprocess.canary_records, self.live.canary_records
        same = sum(_stored(a.inputs) == _stored(b.inputs) and a.decision == b.decision and a.time == b.time
                   for a, b in zip(mine, theirs))
        decisions = self.steps * len(self.services)
        return {
            "steps": self.steps,
            "identical_fraction": round(self.identical_steps / self.steps, 6) if self.steps else None,
            "canary_weight_changes_live": self.live.weight_changes(),
            "canary_weight_changes_inprocess": self.inprocess.weight_changes(),
            "same_canary_verdict": self.live.verdict == self.inprocess.verdict,
            "canary": {
                "release": self.canary,
                "verdict": {"inprocess": self.inprocess.verdict, "live": self.live.verdict},
                "started_s": {"inprocess": self.inprocess.started_s, "live": self.live.started_s},
                "decisions": {"inprocess": len(mine), "live": len(theirs), "identical": same},
                "weights_until_settled": {"inprocess": self.inprocess.settled_weights(),
                                          "live": self.live.settled_weights()},
            },
            "services": list(self.services),
            "decisions": decisions,
            "identical_decisions": decisions - len(self.differences),
            "clusters_differ_from_s": self.clusters_differ_from_s,
            "scaling": {"inprocess": self.inprocess.scaling(), "live": self.live.scaling()},
            "differences_by_cause": causes,
            "differences": list(self.differences[:20]),
            "simulated_hours": round(self.simulated_s / 3600.0, 3),
            "samples_remote_written": self.samples_written,
            "timings_s": {"setup": round(self.setup_s, 2), "inprocess": round(self.inprocess.wall_s, 2),
                          "live": round(self.live.wall_s, 2)},
        }
