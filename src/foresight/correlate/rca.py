"""Root cause from metrics and topology: which service's anomaly no callee explains.

Each service brings series around a suspected fault: a fault-free *baseline* before and the
*window* under suspicion. A series' anomaly is a robust z-score of the window's median against the
baseline::

    z = direction * (median(window) - median(baseline)) / max(spread, 0.1 * |median(baseline)|, 1e-3)
    spread = 1.4826 * MAD(baseline), or 1.2533 * mean |baseline - median| where the MAD is 0

(the window's median, not its maximum: a fault holds for minutes, a one-sample spike does not. The
mean absolute deviation stands in only where more than half the baseline sits on one value, e.g.
errors that are nearly always 0: it is not robust to earlier faults inside the baseline, the MAD is.
The floors keep a flat baseline from turning noise into a huge z: a move under 10 % of the level is
not worth naming). A series is anomalous when ``z`` passes ``threshold``, the one knob. Views that
must agree (every caller's latency to one callee; a pod's P90, P95 and P99) count as their weakest:
one caller's own trouble, or one slow request, moves one view alone.

Anomalies *propagate* up the call graph: a slow callee makes its callers slow, a failing one makes
them fail, while resource use (CPU, memory) stays where it is. So a service is a *root* when it has
a local anomaly, or a propagating one that no callee shows too (the same signal: a slow callee does
not explain a caller's errors). Roots come first (by their strongest evidence), then services whose
anomaly a callee explains, then the rest. This is the anomaly traversal of the PetShop paper (walk
the reversed call graph, keep anomalous nodes without an anomalous parent), with resource evidence
kept local and signals kept apart. Nothing anomalous at all (or, when the alerting service is
known, that service not anomalous): no candidate, the honest "nothing wrong".

>>> import numpy as np
>>> from foresight.correlate.graph import ServiceGraph
>>> calm = np.array([1.0, 1.1, 0.9, 1.0, 1.05, 0.95])
>>> g = ServiceGraph.of([("web", "api"), ("api", "db")])
>>> series = [Series("web", "latency", calm, np.array([3.0, 3.1, 2.9])),
...           Series("api", "latency", calm, np.array([2.9, 3.0, 3.0])),
...           Series("db", "latency", calm, np.array([1.0, 1.1, 1.0])),
...           Series("db", "cpu", calm, calm, signal=None)]
>>> [c.service for c in rank_root_causes(series, g)]  # api is slow, its callee db is not: api is the root
['api', 'web', 'db']
>>> rank_root_causes(series, g)[1].evidence[1]
'its latency is explained by anomalous callee(s) api'

>>> rank_root_causes([Series("db", "latency", calm, calm)], g)
()
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from foresight.correlate.graph import ServiceGraph
from foresight.correlate.model import Candidate

__all__ = ["RcaSettings", "Series", "rank_root_causes", "robust_z"]

_MAD_TO_SD = 1.4826
_MEAN_AD_TO_SD = 1.2533
_RELATIVE_FLOOR = 0.1
_ABSOLUTE_FLOOR = 1e-3


@dataclass(frozen=True)
class Series:
    """One metric of one service (or of one of its pods) around a suspected fault."""

    service: str
    metric: str
    baseline: np.ndarray
    window: np.ndarray
    #: what reaches the callers when it moves (``latency``, ``errors``): a callee's anomaly of the same signal
    #: explains the caller's; None for what stays local (CPU and memory use)
    signal: str | None = "latency"
    #: +1: bad when it rises (latency, CPU); -1: bad when it falls (success rate)
    direction: int = 1
    #: the pod (or node) the series is about, when finer than the service
    component: str | None = None
    #: views that must all agree (every caller's latency to one callee): a service's series with the same
    #: key are one piece of evidence, as strong as the weakest of them
    agree: str | None = None


@dataclass(frozen=True)
class RcaSettings:
    #: robust z above which a series is anomalous; chosen (of 3, 5, 8, 10, 12, 15, 20) on Nezha 2022-08-22 and
    #: PetShop's train issues and normal period, for the best sum of top-1, top-3 and specificity on both
    threshold: float = 12.0


def robust_z(baseline: np.ndarray, window: np.ndarray, direction: int = 1) -> float:
    """How far the window's median moved from the baseline, in robust standard deviations (NaNs ignored; 0 if empty).

    >>> robust_z(np.array([10.0, 11.0, 9.0, 10.0]), np.array([20.0, 21.0]))
    10.5
    """
    base = np.asarray(baseline, dtype=float)
    base = base[np.isfinite(base)]
    win = np.asarray(window, dtype=float)
    win = win[np.isfinite(win)]
    if base.size == 0 or win.size == 0:
        return 0.0
    centre = float(np.median(base))
    deviation = np.abs(base - centre)
    mad = float(np.median(deviation))
    spread = _MAD_TO_SD * mad if mad > 0 else _MEAN_AD_TO_SD * float(np.mean(deviation))
    scale = max(spread, _RELATIVE_FLOOR * abs(centre), _ABSOLUTE_FLOOR)
    return direction * (float(np.median(win)) - centre) / scale


@dataclass
class _Evidence:
    """A service's strongest anomaly per propagating signal and its strongest local one, with the series behind each."""

    spread: dict[str, tuple[float, Series]] = field(default_factory=dict)
    local: tuple[float, Series | None] = (0.0, None)

    def add(self, series: Series, z: float) -> None:
        if series.signal is None:
            if z > self.local[0]:
                self.local = (z, series)
        elif z > self.of(series.signal):
            self.spread[series.signal] = (z, series)

    def of(self, signal: str) -> float:
        return self.spread[signal][0] if signal in self.spread else 0.0

    def strongest(self) -> tuple[float, Series | None]:
        return max([self.local, *self.spread.values()], key=lambda item: item[0])


def _describe(series: Series | None, z: float) -> str:
    if series is None:
        return "no series moved"
    where = f" ({series.component})" if series.component else ""
    way = "rose" if series.direction >= 0 else "fell"
    return f"{series.metric}{where} {way} {z:.1f} robust sd from its baseline"


def rank_root_causes(
    series: Iterable[Series],
    graph: ServiceGraph,
    settings: RcaSettings = RcaSettings(),
    alerting: str | None = None,
    certain: bool = False,
) -> tuple[Candidate, ...]:
    """Services ranked as the fault's root cause, best first; empty when nothing is anomalous enough.

    ``alerting``: the service whose alert opened the incident, when known: it must itself be
    anomalous, and only it and what it calls (transitively) can be the cause. ``certain``: the
    incident is known to be real (a person declared it), so rank even when nothing passes the
    threshold, never answer "nothing wrong".
    """
    threshold = settings.threshold
    evidence: dict[str, _Evidence] = {}
    weakest: dict[tuple[str, str], tuple[Series, float]] = {}
    for s in series:
        z = robust_z(s.baseline, s.window, s.direction)
        if s.agree is None:
            evidence.setdefault(s.service, _Evidence()).add(s, z)
        elif (s.service, s.agree) not in weakest or z < weakest[s.service, s.agree][1]:
            weakest[s.service, s.agree] = (s, z)
    for s, z in weakest.values():
        evidence.setdefault(s.service, _Evidence()).add(s, z)
    if alerting is not None:
        if not certain and (alerting not in evidence or evidence[alerting].strongest()[0] <= threshold):
            return ()
        reach = graph.downstream(alerting) | {alerting}
        evidence = {name: e for name, e in evidence.items() if name in reach}
    if not certain and not any(e.strongest()[0] > threshold for e in evidence.values()):
        return ()
    ranked = []
    for name, e in evidence.items():
        own: list[tuple[float, Series | None]] = [e.local]
        why = []
        for signal, (z, shown_by) in sorted(e.spread.items()):
            explainers = sorted(c for c in graph.callees(name) if c in evidence and evidence[c].of(signal) > threshold)
            if not explainers:
                own.append((z, shown_by))
            elif z > threshold:
                why.append(f"its {shown_by.metric} is explained by anomalous callee(s) {', '.join(explainers)}")
        root, root_by = max(own, key=lambda item: item[0])
        strongest, strongest_by = e.strongest()
        best, best_z = (root_by, root) if root > threshold else (strongest_by, strongest)
        tier = 2 if root > threshold else (1 if strongest > threshold else 0)
        candidate = Candidate(service=name, score=round(best_z, 3), component=best.component if best else None,
                              metric=best.metric if best else None, evidence=(_describe(best, best_z), *why))
        # below the threshold nothing is an anomaly to explain: rank by the strongest evidence alone
        ranked.append(((tier, root if tier else strongest, strongest, name), candidate))
    ranked.sort(key=lambda item: (-item[0][0], -item[0][1], -item[0][2], item[0][3]))
    return tuple(candidate for _, candidate in ranked)
