"""Failure predictors: the three baselines and Foresight's, one interface, verdicts for every target.

``predict(signals, horizon_s)`` reads a window of :class:`~foresight.heal.signals.Signals` and says,
per target, which failure is coming, in how long (with an interval), whether to act now (the
failure is expected within ``horizon_s``), and why. A target without a limit is told so: "no limit:
nothing to exhaust". Its event counter is still read.

* :class:`StaticThreshold`: the resource above 90% of its limit, or 3 events in 15 minutes.
* :class:`LinearExtrapolation`, :class:`HoltExtrapolation`: time to exhaustion on the last 30
  minutes; events as the threshold does.
* :class:`TrendGuard`: the guarded robust trend (:mod:`foresight.heal.trend_guard`) and accelerating
  events (:mod:`foresight.heal.events`); it acts on a resource only when the slow end of the
  interval also fails within ``CONFIDENT`` (3) horizons: a 15-minute rise of a fluctuating load
  has a wide interval and is left alone.

>>> import numpy as np
>>> from foresight.heal.signals import EventKind, Resource, Signals
>>> t = np.arange(0.0, 7200.0, 30.0)
>>> usage = np.vstack([0.3 + 0.6 * t / 7200, 0.3 + 0.6 * t / 7200])
>>> s = Signals(("web-1", "batch-1"), (Resource.MEMORY, Resource.MEMORY), (EventKind.RESTARTS,) * 2,
...             t, usage, np.array([1.0, np.nan]), np.zeros_like(usage))
>>> v = TrendGuard().predict(s, horizon_s=1800.0)
>>> v.alarm.tolist(), v.failure[0].value
([True, False], 'oom_kill')
>>> print(v.evidence[0])
memory at 90% of its limit, growing 5.0%/10min (robust trend): limit in 21 min (20-21 min)
>>> print(v.evidence[1])
memory: no limit: nothing to exhaust
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from foresight.heal.events import accelerating, recent_count
from foresight.heal.exhaustion import (
    THRESHOLD_FRACTION,
    exhaustion_point,
    holt_tte,
    last_finite,
    linear_tte,
    threshold_hit,
)
from foresight.heal.signals import FAILURE_OF, Failure, Resource, Signals, Verdicts
from foresight.heal.trend_guard import GUARDS, robust_tte

__all__ = ["PREDICTORS", "HoltExtrapolation", "LinearExtrapolation", "Predictor", "StaticThreshold", "TrendGuard"]

#: the baselines' event rule: this many events within this window
EVENT_COUNT, EVENT_WINDOW_S = 3, 900.0
#: Foresight acts on a resource only when even the slow end of its interval fails within this many horizons
CONFIDENT = 3.0


class Predictor(Protocol):
    """Reads every target's signals, says what fails when; ``name`` labels it in benches and logs."""

    name: str

    def predict(self, signals: Signals, horizon_s: float, explain: bool = True) -> Verdicts: ...


def _minutes(seconds: float) -> str:
    if not np.isfinite(seconds):
        return "not in sight"
    return "now" if seconds <= 0 else "under a minute" if seconds < 60 else f"{seconds / 60:.0f} min"


def _combine(signals: Signals, horizon_s: float, resource: tuple[np.ndarray, np.ndarray, np.ndarray],
             event: tuple[np.ndarray, np.ndarray, np.ndarray], resource_alarm: np.ndarray | None,
             event_alarm: np.ndarray | None) -> tuple[np.ndarray, tuple[Failure, ...], np.ndarray, np.ndarray,
                                                      np.ndarray, np.ndarray]:
    """The earlier of the resource's and the counter's failures per target, and the alarm."""
    r_ttf, e_ttf = np.nan_to_num(resource[0], nan=np.inf), event[0]
    r_alarm = r_ttf <= horizon_s if resource_alarm is None else resource_alarm
    e_alarm = e_ttf <= horizon_s if event_alarm is None else event_alarm
    use_event = (e_alarm & ~r_alarm) | (~r_alarm & ~e_alarm & (e_ttf < r_ttf))
    pick = [np.where(use_event, e, r) for r, e in zip(resource, event, strict=True)]
    failure = tuple(FAILURE_OF[k] if ev else FAILURE_OF[res]
                    for res, k, ev in zip(signals.resources, signals.event_kinds, use_event, strict=True))
    alarm = r_alarm | e_alarm
    failure = tuple(f if a or np.isfinite(ttf) else Failure.NONE for f, a, ttf in zip(failure, alarm, pick[0], strict=True))
    return alarm, failure, pick[0], pick[1], pick[2], use_event


def _ttf_text(ttf: float, low: float, high: float) -> str:
    if not np.isfinite(ttf) or ttf <= 0:
        return _minutes(ttf)
    return f"{_minutes(ttf)} ({low / 60:.0f}-{_minutes(high)})"


class _Extrapolation:
    """Shared shape of the three baselines: a resource rule, the events threshold, the same evidence."""

    name = ""
    method = ""

    def _resource(self, signals: Signals, point: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _resource_alarm(self, signals: Signals, ttf: np.ndarray, horizon_s: float) -> np.ndarray | None:
        return None

    def predict(self, signals: Signals, horizon_s: float, explain: bool = True) -> Verdicts:
        point = exhaustion_point(signals.resources, signals.limit)
        res = self._resource(signals, point)
        count = recent_count(signals.t_s, signals.events, EVENT_WINDOW_S)
        e_alarm = count >= EVENT_COUNT
        n = len(signals.targets)
        events = (np.where(e_alarm, 0.0, np.inf), np.where(e_alarm, 0.0, np.inf), np.full(n, np.inf))
        alarm, failure, ttf, low, high, by_event = _combine(signals, horizon_s, res, events,
                                                            self._resource_alarm(signals, res[0], horizon_s), e_alarm)
        evidence: tuple[str, ...] = ()
        if explain:
            value, _ = last_finite(signals.usage)
            evidence = tuple(self._sentence(signals, i, float(value[i]), float(count[i]), bool(by_event[i]),
                                            ttf[i], low[i], high[i]) for i in range(n))
        return Verdicts(alarm, failure, ttf, low, high, evidence)


    def _sentence(self, signals: Signals, i: int, value: float, count: float, by_event: bool, ttf: float,
                  low: float, high: float) -> str:
        r, lim = signals.resources[i].value, float(signals.limit[i])
        if by_event:
            return (f"{signals.event_kinds[i].value}: {count:.0f} events in the last {EVENT_WINDOW_S / 60:.0f} min "
                    f"(rule: {EVENT_COUNT})")
        if not np.isfinite(lim):
            return f"{r}: no limit: nothing to exhaust"
        if np.isnan(ttf):  # the threshold knows no time to failure, only which side of 90% it is
            side = "above" if value > THRESHOLD_FRACTION * lim else "below"
            return f"{r} at {value / lim:.0%} of its limit ({self.method}): {side} it, no time to failure"
        return f"{r} at {value / lim:.0%} of its limit ({self.method}): limit in {_ttf_text(ttf, low, high)}"


class StaticThreshold(_Extrapolation):
    """The resource above 90% of its limit (a time to failure it cannot give: NaN), or 3 events in 15 min."""

    name = "threshold"
    method = f"static threshold {THRESHOLD_FRACTION:.0%}"

    def _resource(self, signals: Signals, point: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        nan = np.full(len(signals.targets), np.nan)
        return nan, nan, nan

    def _resource_alarm(self, signals: Signals, ttf: np.ndarray, horizon_s: float) -> np.ndarray:
        return threshold_hit(signals.usage, signals.limit)


class LinearExtrapolation(_Extrapolation):
    """Least squares over the last 30 minutes, extrapolated to the limit."""

    name = "linear"
    method = "linear fit, 30 min"

    def _resource(self, signals: Signals, point: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return linear_tte(signals.t_s, signals.usage, point)


class HoltExtrapolation(_Extrapolation):
    """Holt's level and trend over the window, extrapolated to the limit."""

    name = "holt"
    method = "Holt alpha 0.3 beta 0.05"

    def _resource(self, signals: Signals, point: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        use = signals.t_s >= signals.t_s[-1] - 1800.0
        return holt_tte(signals.t_s[use], signals.usage[:, use], point)


class TrendGuard:
    """Foresight's predictor: the guarded robust trend of each resource, accelerating events."""

    name = "foresight"

    def predict(self, signals: Signals, horizon_s: float, explain: bool = True) -> Verdicts:
        point = exhaustion_point(signals.resources, signals.limit)
        est = robust_tte(signals.t_s, signals.usage, point,
                         peak_kills=np.array([r is not Resource.CPU for r in signals.resources]))
        e_ttf, e_low, e_high, ratio = accelerating(signals.t_s, signals.events)
        sure = (est.ttf_s <= horizon_s) & (est.ttf_high_s <= CONFIDENT * horizon_s)
        alarm, failure, ttf, low, high, by_event = _combine(
            signals, horizon_s, (est.ttf_s, est.ttf_low_s, est.ttf_high_s), (e_ttf, e_low, e_high), sure, None)
        evidence: tuple[str, ...] = ()
        if explain:
            evidence = tuple(self._sentence(signals, est, ratio, i, bool(by_event[i]), ttf[i], low[i], high[i])
                             for i in range(len(signals.targets)))
        return Verdicts(alarm, failure, ttf, low, high, evidence)

    @staticmethod
    def _sentence(signals: Signals, est, ratio: np.ndarray, i: int, by_event: bool,  # type: ignore[no-untyped-def]
                  ttf: float, low: float, high: float) -> str:
        r, lim = signals.resources[i].value, float(signals.limit[i])
        if by_event:
            return (f"{signals.event_kinds[i].value}: intervals between events shrink by x{ratio[i]:.2f} each: "
                    f"failure in {_ttf_text(ttf, low, high)}")
        if not np.isfinite(lim):
            return f"{r}: no limit: nothing to exhaust"
        guard = GUARDS[int(est.guard[i])]
        at = f"{r} at {est.level[i] / lim:.0%} of its limit"
        if guard in ("no recent data", "too young"):
            return f"{r}: {guard}: no prediction"
        if guard == "levelling off":
            return f"{at}, levelling off toward {est.plateau[i] / lim:.0%} (as a cache warming up): nothing to exhaust"
        if guard == "sawtooth returns":
            return f"{at}: it came back down from {est.returned_from[i] / lim:.0%} before (sawtooth, burst): no alarm"
        burst = f", bursts of {est.burst[i] / lim:.0%}" if est.burst[i] > 0.01 * lim else ""
        trend = f"growing {est.slope[i] * 600 / lim:.1%}/10min" if est.slope[i] > 0 else "not growing"
        return f"{at}, {trend} (robust trend{burst}): limit in {_ttf_text(ttf, low, high)}"


#: every predictor by name, the baselines first
PREDICTORS: dict[str, Predictor] = {p.name: p for p in (StaticThreshold(), LinearExtrapolation(), HoltExtrapolation(),
                                                        TrendGuard())}
