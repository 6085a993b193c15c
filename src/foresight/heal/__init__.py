"""Failure prediction: which pod, node or GPU fails next, of what, in how long, and why (a pure core).

Remediation (restarts through the Eviction API, in-place resize, cordon and drain) acts on these
verdicts elsewhere; this package only decides.
"""

from foresight.heal.predict import (
           PREDICTORS,
           HoltExtrapolation,
           LinearExtrapolation,
           Predictor,
           StaticThreshold,
           TrendGuard,
)
from foresight.heal.signals import (
           FAILURE_OF,
           EventKind,
           Failure,
           Resource,
           Signals,
           Verdicts,
)

__all__ = ["FAILURE_OF", "PREDICTORS", "EventKind", "Failure", "HoltExtrapolation", "LinearExtrapolation", "Predictor",
           "Resource", "Signals", "StaticThreshold", "TrendGuard", "Verdicts"]
