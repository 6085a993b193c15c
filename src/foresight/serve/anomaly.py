"""Live anomaly detection for ``foresight serve``: one :class:`~foresight.detect.live.LiveDetector` per
AnomalyPolicy, alerts to Alertmanager, scores kept for the API.

The detection itself is :mod:`foresight.detect.live` (the machinery of ``foresight watch``); this
module only maps a policy onto it and keeps the set current:

* a policy's signals are its queries; its ``detector``, ``threshold`` (the firing score),
  ``forSeconds`` and ``resolveAfterSeconds`` (in samples of ``period_s``) make the
  :class:`~foresight.detect.alerts.AlertRule`; its alerts carry ``namespace``, ``workload``,
  ``policy`` and ``signal`` labels and the policy's ``severity``;
* :meth:`PolicyDetectors.sync` starts a detector for a new or changed policy and drops the one of a
  deleted policy (level-based: it is given the whole current set every period);
* alerts go out only while the gate acts (the replica holds the Lease); a standby scores too, so
  its baselines are warm when it takes over, and the firing alerts are re-sent within a
  ``resend_interval_s`` of the takeover.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from foresight.clock import Clock
from foresight.detect import make_detector
from foresight.detect.alerts import AlertRule
from foresight.detect.live import AlertSink, LiveConfig, LiveDetector
from foresight.detect.protocol import ArrayState, Detector
from foresight.ports import MetricsSource
from foresight.runtime.managed import AnomalyWatchSpec
from foresight.serve.leader import ActingGate

__all__ = ["PolicyDetectors", "ScoreTap"]


class ScoreTap:
    """A detector that remembers each series' latest score (scoring is unchanged: it delegates).

    ``LiveDetector`` keeps alert state, not the score of the last sample; the API shows that.
    """

    def __init__(self, inner: Detector[Any]) -> None:
        self.inner, self.name = inner, inner.name
        self.latest = np.empty(0)

    def init(self, n: int) -> ArrayState:
        return self.inner.init(n)  # type: ignore[no-any-return]

    def score(self, state: Any, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        return self.inner.score(state, x, t)

    def update(self, state: Any, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        scores = self.inner.update(state, x, t)
        if len(self.latest) < len(scores):
            self.latest = np.concatenate([self.latest, np.full(len(scores) - len(self.latest), np.nan)])
        self.latest[: len(scores)] = np.where(np.isfinite(x), scores, self.latest[: len(scores)])
        return scores


class _PolicySink:
    """Labels a policy's alerts and forwards them while the gate acts (drops them on a standby)."""

    def __init__(self, inner: AlertSink, gate: ActingGate, spec: AnomalyWatchSpec, signal_of: Mapping[str, str],
                 clock: Clock) -> None:
        self.inner, self.gate, self.spec, self.signal_of, self.clock = inner, gate, spec, signal_of, clock
        self.sent = 0
        self.history: deque[dict[str, Any]] = deque(maxlen=200)  # alerts opened or resolved, for the API

    def send(self, alerts: Sequence[Mapping[str, Any]]) -> None:
        s, now, acting = self.spec, self.clock.now(), self.gate.acting()
        out = []
        for alert in alerts:
            labels = dict(alert.get("labels") or {})
            labels.update(namespace=s.namespace, workload=s.workload, policy=s.key, severity=s.severity,
                          signal=self.signal_of.get(labels.get("query", ""), ""))
            out.append({**alert, "labels": labels})
            score = float((alert.get("annotations") or {}).get("score", "nan"))
            self.history.append({"time": now, "workload": f"{s.namespace}/{s.workload}", "signal": labels["signal"],
                                 "score": score, "sent": acting})
        if not acting:
            return
        self.sent += len(out)
        self.inner.send(out)


@dataclass
class _Watch:
    spec: AnomalyWatchSpec
    live: LiveDetector
    tap: ScoreTap
    sink: _PolicySink
    next_at: float
    errors: tuple[str, ...] = ()


def rule_for(spec: AnomalyWatchSpec, period_s: float) -> AlertRule:
    """The alert rule of a policy: its threshold fires; its durations count samples of ``period_s``.

    >>> spec = AnomalyWatchSpec("shop/web", "shop", "web", (("p95", "q"),), "surprise", 0.99, 60.0, 300.0, "warning")
    >>> r = rule_for(spec, 15.0)
    >>> r.fire_threshold, r.fire_after, r.resolve_after, r.resend_interval_s
    (0.99, 4, 20, 60.0)
    """
    base = AlertRule()
    return AlertRule(
        fire_threshold=spec.threshold,
        resolve_threshold=min(base.resolve_threshold, spec.threshold),
        critical_threshold=max(base.critical_threshold, spec.threshold),
        fire_after=max(1, math.ceil(spec.for_s / period_s)),
        resolve_after=max(1, math.ceil(spec.resolve_after_s / period_s)),
        resend_interval_s=max(base.resend_interval_s, period_s),
    )


class PolicyDetectors:
    """The live detectors of the current AnomalyPolicies (module docstring)."""

    name = "anomaly/live"

    def __init__(self, source: MetricsSource, sink: AlertSink, clock: Clock, gate: ActingGate, *,
                 period_s: float = 15.0, backfill_s: float = 3600.0, prometheus_url: str | None = None) -> None:
        self.source, self.sink, self.clock, self.gate = source, sink, clock, gate
        self.period_s, self.backfill_s, self.prometheus_url = period_s, backfill_s, prometheus_url
        self.watches: dict[str, _Watch] = {}
        self.note = "no AnomalyPolicy yet"

    def sync(self, specs: Sequence[AnomalyWatchSpec]) -> None:
        """Make the detectors match ``specs``: start new or changed policies, drop deleted ones."""
        wanted = {s.key: s for s in specs}
        for key in [k for k, w in self.watches.items() if wanted.get(k) != w.spec]:
            del self.watches[key]  # deleted or changed: a changed policy starts a fresh baseline
        for key, spec in wanted.items():
            if key not in self.watches:
                self.watches[key] = self._start(spec)
        self.note = f"{len(self.watches)} AnomalyPolic{'y' if len(self.watches) == 1 else 'ies'}" if self.watches \
            else "no AnomalyPolicy yet"

    def _start(self, spec: AnomalyWatchSpec) -> _Watch:
        tap = ScoreTap(make_detector(spec.detector))
        config = LiveConfig(queries=tuple(q for _, q in spec.signals), period_s=self.period_s,
                            backfill_s=self.backfill_s, prometheus_url=self.prometheus_url,
                            rule=rule_for(spec, self.period_s))
        sink = _PolicySink(self.sink, self.gate, spec, {q: n for n, q in spec.signals}, self.clock)
        return _Watch(spec, LiveDetector(tap, sink, self.clock, config, source=self.source), tap, sink, -math.inf)

    def due(self, now: float) -> bool:
        return any(now >= w.next_at for w in self.watches.values())

    def step(self, now: float) -> int:
        """Run each detector whose period has come; returns how many ran."""
        ran = 0
        for w in self.watches.values():
            if now < w.next_at:
                continue
            w.next_at = now + self.period_s
            report = w.live.step()
            w.errors = report.errors
            ran += 1
        return ran

    def scores(self) -> list[dict[str, Any]]:
        """One row per scored series: policy, workload, signal, labels, latest score, firing."""
        out = []
        for w in self.watches.values():
            state = w.live.state
            signal_of = {q: n for n, q in w.spec.signals}
            for row, (query, labels) in enumerate(state.keys):
                score = float(w.tap.latest[row]) if row < len(w.tap.latest) else math.nan
                out.append({"workload": f"{w.spec.namespace}/{w.spec.workload}", "policy": w.spec.key,
                            "signal": signal_of.get(query or "", None), "labels": dict(labels),
                            "score": score if math.isfinite(score) else None,
                            "alerting": bool(state.alerts.firing[row])})
        return out

    def alerts(self) -> list[dict[str, Any]]:
        """Alerts sent (or, on a standby, decided) lately, oldest first."""
        return sorted((a for w in self.watches.values() for a in w.sink.history), key=lambda a: a["time"])[-200:]

    def errors(self) -> list[str]:
        return [f"{w.spec.key}: {e}" for w in self.watches.values() for e in w.errors]
