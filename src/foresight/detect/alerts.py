"""When an anomaly score stream becomes an alert, and what Alertmanager is told about it.

Per series, :func:`advance` runs a two-state machine with hysteresis over the samples of a round
(one sample per series at most, vectorised across series):

* **idle -> firing** after ``fire_after`` consecutive samples with ``score >= fire_threshold``
  (never during the series' first ``warmup_samples``: the detector is still learning);
* **firing -> idle** after ``resolve_after`` consecutive *normal* samples: ``score <
  resolve_threshold`` *and* the value back inside the range that was expected when the alert's
  first high sample came. The second half is what "returns to normal" means for detectors that
  report only an event's onset (``surprise`` scores 0 right after a spike's first sample,
  whether or not the spike is over). The range is kept from before the anomaly, not re-read
  while it lasts: a baseline that learns the anomaly would soon call it normal. So a lasting
  change of level keeps its alert firing until the series comes back (or disappears): silence
  it in Alertmanager once the new level is accepted.

A missing sample is no evidence either way: it neither extends nor breaks a streak. Between the
two thresholds a firing alert holds. Severity is set when the alert fires (``critical`` when the
peak score of the streak reaches ``critical_threshold``, else ``warning``) and kept until it
resolves: Alertmanager identifies an alert by its labels, so a changing severity label would
be a second alert, not an escalation.

:func:`payload` writes an alert as Alertmanager's API v2 ``postableAlert``. A firing alert
carries ``endsAt = now + 4 x resend_interval_s`` and must be sent again within that time (the
controller re-sends every ``resend_interval_s``), as Prometheus does: if Foresight stops, its
alerts resolve by themselves instead of firing forever.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from foresight.detect.protocol import ArrayState
from foresight.errors import ConfigError

__all__ = ["AlertRule", "AlertState", "Transitions", "advance", "alert_labels", "payload", "rfc3339"]

SEVERITIES = ("none", "warning", "critical")
#: A firing alert stays valid for this many resend intervals (Prometheus uses 4 too).
VALID_FOR_RESENDS = 4


class AlertRule(BaseModel):
    """How scores open and close alerts, and how alerts are named and re-sent."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    alertname: str = Field(default="ForesightAnomaly", min_length=1, description="The alertname label.")
    fire_threshold: float = Field(default=0.8, gt=0, le=1, description="A score at or above this counts toward firing.")
    resolve_threshold: float = Field(
        default=0.5, ge=0, le=1, description="A score below this (with the value in range) counts toward resolving."
    )
    fire_after: int = Field(default=1, ge=1, description="Consecutive high samples that open an alert.")
    resolve_after: int = Field(default=3, ge=1, description="Consecutive normal samples that resolve it.")
    critical_threshold: float = Field(
        default=0.95, gt=0, le=1, description="Peak score at which an alert opens as critical rather than warning."
    )
    warmup_samples: int = Field(default=20, ge=0, description="A series' first samples that never open an alert.")
    resend_interval_s: float = Field(
        default=60.0, gt=0, description="Seconds between re-sends of a firing alert (Alertmanager expires silent ones)."
    )

    @model_validator(mode="after")
    def _ordered_thresholds(self) -> AlertRule:
        if not self.resolve_threshold <= self.fire_threshold <= self.critical_threshold:
            raise ConfigError(
                "alert rule: need resolve_threshold <= fire_threshold <= critical_threshold, got "
                f"{self.resolve_threshold} / {self.fire_threshold} / {self.critical_threshold}"
            )
        return self

    @property
    def valid_for_s(self) -> float:
        """How long Alertmanager keeps a firing alert that is not re-sent."""
        return VALID_FOR_RESENDS * self.resend_interval_s


@dataclass
class AlertState(ArrayState):
    """Per series: the alert machine, and the current episode (what payloads report).

    ``streak`` counts high samples while idle and normal samples while firing; ``starts_at`` and
    ``low``/``high`` are the time and the expected range at the first high sample of the streak
    that fired; ``score``/``value`` its peak; ``sent_at`` the clock time the alert was last
    handed out (-inf: never).
    """

    firing: np.ndarray
    streak: np.ndarray
    seen: np.ndarray
    starts_at: np.ndarray
    sent_at: np.ndarray
    severity: np.ndarray
    score: np.ndarray
    value: np.ndarray
    low: np.ndarray
    high: np.ndarray

    @classmethod
    def init(cls, n: int) -> AlertState:
        """``n`` idle series that have seen nothing."""
        nan = np.full(n, np.nan)
        return cls(
            firing=np.zeros(n, dtype=bool),
            streak=np.zeros(n, dtype=np.int64),
            seen=np.zeros(n, dtype=np.int64),
            starts_at=nan.copy(),
            sent_at=np.full(n, -np.inf),
            severity=np.zeros(n, dtype=np.int8),
            score=np.zeros(n),
            value=nan.copy(),
            low=nan.copy(),
            high=nan,
        )


@dataclass(frozen=True)
class Transitions:
    """Rows (series indices) whose alert opened, and rows whose alert resolved, in this round."""

    fired: np.ndarray
    resolved: np.ndarray


def advance(
    rule: AlertRule,
    state: AlertState,
    valid: np.ndarray,
    scores: np.ndarray,
    values: np.ndarray,
    times: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
) -> Transitions:
    """Feed one round of samples (rows where ``valid``) through the machine, in place.

    ``low``/``high`` is each sample's expected range before it was learned (NaN: unknown, which
    counts as inside); it is read only where a high sample starts a streak, and kept for the
    episode.

    >>> rule = AlertRule(fire_after=2, resolve_after=2, warmup_samples=0)
    >>> state = AlertState.init(1)
    >>> one = np.ones(1, dtype=bool)
    >>> for s, x in [(0.9, 50.0), (0.95, 60.0), (0.6, 55.0), (0.1, 10.0), (0.1, 11.0)]:
    ...     step = advance(rule, state, one, np.array([s]), np.array([x]), np.zeros(1),
    ...                    np.array([8.0]), np.array([12.0]))
    ...     print(bool(state.firing[0]), step.fired.tolist(), step.resolved.tolist())
    False [] []
    True [0] []
    True [] []
    True [] []
    False [] [0]
    """
    state.seen += valid
    firing = state.firing.copy()
    hot = valid & (scores >= rule.fire_threshold) & (state.seen > rule.warmup_samples)
    outside = (values < state.low) | (values > state.high)  # the range kept from the episode's start
    normal = valid & (scores < rule.resolve_threshold) & ~outside
    counted = np.where(firing, normal, hot)
    streak = np.where(valid, np.where(counted, state.streak + 1, 0), state.streak)

    # An idle streak's first sample sets the episode's start and range; its peak is then raised.
    starting = hot & ~firing & (state.streak == 0)
    for dst, src in ((state.starts_at, times), (state.low, low), (state.high, high)):
        np.copyto(dst, src, where=starting)
    peak = starting | (valid & (firing | hot) & (scores > state.score))
    np.copyto(state.score, scores, where=peak)
    np.copyto(state.value, values, where=peak)

    fired = ~firing & hot & (streak >= rule.fire_after)
    resolved = firing & normal & (streak >= rule.resolve_after)
    state.severity[fired] = np.where(state.score[fired] >= rule.critical_threshold, 2, 1)
    state.firing[:] = (firing | fired) & ~resolved
    state.streak[:] = np.where(fired | resolved, 0, streak)
    return Transitions(np.flatnonzero(fired), np.flatnonzero(resolved))


def alert_labels(series_labels: Mapping[str, str], query: str | None, alertname: str) -> dict[str, str]:
    """An alert's identifying labels, ``severity`` aside: the series' labels, the query, alertname.

    ``__name__`` becomes ``metric`` (Prometheus drops it from alerts; it is too useful to lose);
    ``query`` keeps two queries whose results share a label set (``rate(a[5m])`` and
    ``rate(b[5m])``) from being one alert. The rule's labels win over a series' own.

    >>> alert_labels({"__name__": "up", "job": "api"}, "up == 0", "ForesightAnomaly")
    {'job': 'api', 'metric': 'up', 'query': 'up == 0', 'alertname': 'ForesightAnomaly'}
    """
    labels = {k: v for k, v in series_labels.items() if k != "__name__" and v}
    if "__name__" in series_labels:
        labels.setdefault("metric", series_labels["__name__"])
    if query is not None:
        labels["query"] = query
    labels["alertname"] = alertname
    return labels


def payload(
    rule: AlertRule,
    state: AlertState,
    row: int,
    labels: Mapping[str, str],
    *,
    now: float,
    detector: str,
    generator_url: str | None = None,
) -> dict[str, Any]:
    """Alertmanager's ``postableAlert`` for ``row``: firing or resolved, as ``state`` says now.

    >>> state = AlertState.init(1)
    >>> state.starts_at[0], state.severity[0], state.score[0], state.value[0] = 0.0, 2, 0.987, 412.0
    >>> state.low[0], state.high[0] = 95.5, 130.25
    >>> p = payload(AlertRule(), state, 0, {"alertname": "ForesightAnomaly", "job": "api"},
    ...             now=30.0, detector="ewma")
    >>> p["labels"], p["startsAt"], p["endsAt"]
    ({'alertname': 'ForesightAnomaly', 'job': 'api', 'severity': 'critical'}, '1970-01-01T00:00:00.000Z', '1970-01-01T00:00:30.000Z')
    >>> p["annotations"]["summary"]
    'job="api": value 412 is outside its expected range 95.5 to 130.25 (anomaly score 0.987, ewma detector)'
    """
    starts_at = float(state.starts_at[row])
    ends_at = max(now, starts_at)
    if state.firing[row]:
        ends_at += rule.valid_for_s
    score, value = float(state.score[row]), float(state.value[row])
    low, high = float(state.low[row]), float(state.high[row])
    known = math.isfinite(low) and math.isfinite(high)
    expected = f"{low:.6g} to {high:.6g}" if known else "unknown"
    where = "outside" if known and not low <= value <= high else "within"
    name = ", ".join(f'{k}="{v}"' for k, v in labels.items() if k != "alertname") or "series"
    summary = (
        f"{name}: value {value:.6g} is {where} its expected range {expected} "
        f"(anomaly score {score:.3f}, {detector} detector)"
    )
    alert: dict[str, Any] = {
        "labels": {**labels, "severity": SEVERITIES[int(state.severity[row])]},
        "annotations": {
            "summary": summary,
            "score": f"{score:.3f}",
            "value": f"{value:.6g}",
            "expected_range": expected,
            "detector": detector,
        },
        "startsAt": rfc3339(starts_at),
        "endsAt": rfc3339(ends_at),
    }
    if generator_url:
        alert["generatorURL"] = generator_url
    return alert


def rfc3339(t: float) -> str:
    """Unix seconds as the UTC RFC 3339 time Alertmanager reads (millisecond precision).

    >>> rfc3339(1700000000.25)
    '2023-11-14T22:13:20.250Z'
    """
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
