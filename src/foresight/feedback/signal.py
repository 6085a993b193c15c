"""The loop's input: is the model's world still the one it was trained on?

:class:`DecaySignal` is all the feedback loop needs from a drift monitor: a verdict, a score for
the audit and a reason. A monitor with a ``DriftStatus(drifted, per_feature, reason)`` plugs in
with :meth:`DecaySignal.from_drift_status` (one line at the call site).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["DecaySignal"]


@dataclass(frozen=True)
class DecaySignal:
    """One look at the model's inputs: ``drifted`` beyond the monitor's threshold, its ``score``, why.

    >>> DecaySignal(True, 0.31, "PSI of x2 is 0.31 > 0.2").drifted
    True
    """

    drifted: bool
    score: float
    reason: str

    @classmethod
    def from_drift_status(cls, status: Any) -> DecaySignal:
        """From a drift monitor's status (``drifted``, ``per_feature``, ``reason``), e.g.
        :class:`foresight.drift.DriftStatus`.

        The score is the strongest feature's effect: its ``statistic`` (the KS distance in
        :mod:`foresight.drift`) when it has one, else its ``value`` (a PSI, a distance) or, for a
        p-value (``stat`` ending in ``_p``), ``-log10(p)``; NaN before the monitor is ready.

        >>> from types import SimpleNamespace as S
        >>> per_feature = {"a": S(stat="ks_p", value=0.2, statistic=0.03), "b": S(stat="ks_p", value=1e-6, statistic=0.21)}
        >>> DecaySignal.from_drift_status(S(drifted=True, per_feature=per_feature, reason="b flagged"))
        DecaySignal(drifted=True, score=0.21, reason='b flagged')
        >>> DecaySignal.from_drift_status(S(drifted=False, per_feature={"a": S(stat="ks_p", value=1e-3)}, reason="")).score
        3.0
        """
        per_feature: Mapping[str, Any] = getattr(status, "per_feature", None) or {}
        scores = []
        for feature in per_feature.values():
            if getattr(feature, "statistic", None) is not None:
                value = float(feature.statistic)
            else:
                value = float(getattr(feature, "value", feature))
                if str(getattr(feature, "stat", "")).endswith("_p"):
                    value = -math.log10(max(value, 1e-300))
            if math.isfinite(value):
                scores.append(value)
        return cls(bool(status.drifted), round(max(scores, default=float("nan")), 12), str(getattr(status, "reason", "")))
