"""Feature monitoring per view: is what the model is fed fresh, complete, and like what it was trained on?

Feast serves whatever Redis holds; nothing in it says that the stream stalled an hour ago, that a
producer started sending nulls, or that online values have moved away from the training set. A
:class:`ViewHealth` answers the three from one sample of online values (read for a set of
entities): freshness is the age of the newest value against the view's SLO
(``freshnessSloSeconds``), the missing rate per feature counts None and NaN (and entities with
no value at all: the model gets nothing for them either), and drift compares the sample with
the training reference through :func:`foresight.drift.drift_report`.

>>> from foresight.specs.features import FeatureView
>>> view = FeatureView.model_validate({"name": "v", "entities": ["card"], "source": "s",
...     "freshnessSloSeconds": 10, "features": [{"name": "x"}]})
>>> health = view_health(view, {"x": [1.0, None, float("nan"), 2.0]}, newest_ts=95.0, now=100.0)
>>> health.freshness_s, health.fresh, health.missing_rate
(5.0, True, {'x': 0.5})
>>> health.problems
('x: 50% of values missing (allowed 5%)',)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from foresight.drift import DriftReport, drift_report
from foresight.specs.features import FeatureView

__all__ = ["ViewHealth", "view_health"]


@dataclass(frozen=True)
class ViewHealth:
    """One view's state; ``problems`` are the alert lines (empty: healthy)."""

    view: str
    freshness_s: float | None
    slo_s: float
    missing_rate: dict[str, float]
    drift: DriftReport | None
    problems: tuple[str, ...]

    @property
    def fresh(self) -> bool:
        """Within the freshness SLO (a view with no value at all is not)."""
        return self.freshness_s is not None and self.freshness_s <= self.slo_s

    @property
    def drifted(self) -> tuple[str, ...]:
        """Features whose online values drifted from the training reference."""
        return self.drift.drifted_columns if self.drift is not None else ()


def view_health(
    view: FeatureView,
    values: Mapping[str, Sequence[object]],
    newest_ts: float | None,
    now: float,
    reference: Mapping[str, np.ndarray] | None = None,
    max_missing_rate: float = 0.05,
) -> ViewHealth:
    """Judge ``view`` from online ``values`` (feature -> one value per sampled entity) read at ``now``."""
    problems = []
    freshness = None if newest_ts is None else max(0.0, now - newest_ts)
    if freshness is None:
        problems.append(f"no value online (freshness SLO {view.freshness_slo_seconds:g} s)")
    elif freshness > view.freshness_slo_seconds:
        problems.append(f"newest value {freshness:.1f} s old, SLO {view.freshness_slo_seconds:g} s")
    missing = {}
    for feature in view.features:
        column = values.get(feature.name, ())
        rate = sum(1 for v in column if _missing(v)) / len(column) if column else 1.0
        missing[feature.name] = rate
        if rate > max_missing_rate:
            problems.append(f"{feature.name}: {rate:.0%} of values missing (allowed {max_missing_rate:.0%})")
    drift = None
    if reference is not None:
        numeric = [f.name for f in view.features if f.dtype in ("int64", "float64") and f.name in reference]
        current = {n: np.array([np.nan if _missing(v) else float(v) for v in values.get(n, ())]) for n in numeric}
        drift = drift_report({n: np.asarray(reference[n], dtype=float) for n in numeric}, current)
        if drift.drifted_columns:
            problems.append(f"drifted from the training reference: {', '.join(drift.drifted_columns)}")
    return ViewHealth(view.name, freshness, view.freshness_slo_seconds, missing, drift, tuple(problems))


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
