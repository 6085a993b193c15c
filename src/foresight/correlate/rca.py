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
not worth naming). A series is anomalous when ``z`` passes
``threshold`` - the one knob.

Anomalies *propagate* up the call graph: a slow or failing callee makes its callers slow or failing
too (latency, errors), while resource use (CPU, memory) stays where it is. So a service is a *root*
when it is anomalous and none of its callees shows a propagating anomaly that would explain its own;
roots come first (by their strongest evidence), then services whose anomaly a callee explains, then
the rest. This is the anomaly traversal of the PetShop paper (walk the reversed call graph, keep
anomalous nodes without an anomalous parent), with resource evidence kept local. Nothing anomalous
at all (or, when the alerting service is known, that service not anomalous): no candidate, the
honest "nothing wrong".

>>> import numpy as np
>>> from foresight.correlate.graph import ServiceGraph
>>> calm = np.array([1.0, 1.1, 0.9, 1.0, 1.05, 0.95])
>>> g = ServiceGraph.of([("web", "api"), ("api", "db")])
>>> series = [Series("web", "latency", calm, np.array([3.0, 3.1, 2.9])),
...           Series("api", "latency", calm, np.array([2.9, 3.0, 3.0])),
...           Series("db", "latency", calm, np.array([1.0, 1.1, 1.0])),
...           Series("db", "cpu", calm, calm, propagates=False)]
>>> [c.service for c in rank_root_causes(series, g)]  # api is slow, its callee db is not: api is the root
['api', 'web', 'db']
>>> rank_root_causes(series, g)[1].evidence[1]
'its latency is explained by anomalous callee(s) api'

>>> rank_root_causes([Series("db", "latency", calm, calm)], g)
()
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

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
    #: latency and errors reach the callers; CPU and memory use do not
    propagates: bool = True
    #: +1: bad when it rises (latency, CPU); -1: bad when it falls (success rate)
    direction: int = 1
    #: the pod (or node) the series is about, when finer than the service
    component: str | None = None


@dataclass(frozen=True)
class RcaSettings:
    #: robust z above which a series is anomalous; chosen (of 5, 8, 10, 12) on Nezha 2022-08-22 and PetShop's
    #: train issues and normal period, for the best sum of top-1, top-3 and specificity on both
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
    """A service's strongest propagating and local anomaly, and the series that showed each."""

    spread: float = 0.0
    spread_by: Series | None = None
    local: float = 0.0
    local_by: Series | None = None

    def add(self, series: Series, z: float) -> None:
        if series.propagates and z > self.spread:
            self.spread, self.spread_by = z, series
        elif not series.propagates and z > self.local:
            self.local, self.local_by = z, series

    @property
    def strongest(self) -> float:
        return max(self.spread, self.local)


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
) -> tuple[Candidate, ...]:
    """Services ranked as the fault's root cause, best first; empty when nothing is anomalous enough.

    ``alerting``: the service whose alert opened the incident, when known: it must itself be
    anomalous, and only it and what it calls (transitively) can be the cause.
    """
    threshold = settings.threshold
    evidence: dict[str, _Evidence] = {}
    for s in series:
        evidence.setdefault(s.service, _Evidence()).add(s, robust_z(s.baseline, s.window, s.direction))
    if alerting is not None:
        if alerting not in evidence or evidence[alerting].strongest <= threshold:
            return ()
        reach = graph.downstream(alerting) | {alerting}
        evidence = {name: e for name, e in evidence.items() if name in reach}
    if not any(e.strongest > threshold for e in evidence.values()):
        return ()
    ranked = []
    for name, e in evidence.items():
        explainers = sorted(c for c in graph.callees(name) if c in evidence and evidence[c].spread > threshold)
        root = max(e.local, 0.0 if explainers else e.spread)
        why = [_describe(e.spread_by, e.spread) if e.spread >= e.local else _describe(e.local_by, e.local)]
        if explainers and e.spread > threshold:
            why.append(f"its {e.spread_by.metric if e.spread_by else 'latency'} is explained by anomalous callee(s) "
                       f"{', '.join(explainers)}")
        tier = 2 if root > threshold else (1 if e.strongest > threshold else 0)
        best = e.local_by if root == e.local and e.local > 0 else e.spread_by
        candidate = Candidate(service=name, score=round(max(root, e.strongest), 3),
                              component=best.component if best else None,
                              metric=best.metric if best else None, evidence=tuple(why))
        ranked.append(((tier, root, e.strongest, name), candidate))
    ranked.sort(key=lambda item: (-item[0][0], -item[0][1], -item[0][2], item[0][3]))
    return tuple(candidate for _, candidate in ranked)
