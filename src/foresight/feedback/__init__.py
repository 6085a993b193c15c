"""The model feedback loop: drift or decay -> retrain -> register -> gate -> canary -> promote or roll back.

:func:`decide` is the pure core (a state machine with cool-down and retries), :class:`FeedbackLoop`
the driver that performs its actions on a :class:`~foresight.registry.Registry`, a :class:`Retrainer`
and a :class:`Canary`, auditing each one. :class:`TrainingJobRetrainer` retrains in a cluster (a
TrainingJob rendered to a Job or a Kubeflow job); import it from :mod:`foresight.feedback.training_job`.
"""

from foresight.feedback.canary import Canary
from foresight.feedback.decide import (
    CanaryEnded,
    LoopAction,
    LoopPolicy,
    LoopState,
    Phase,
    Step,
    TrainingPending,
    decide,
)
from foresight.feedback.loop import FeedbackLoop, LoopStep
from foresight.feedback.retrainer import (
    Candidate,
    InlineRetrainer,
    Retrainer,
    TrainingFailed,
)
from foresight.feedback.signal import DecaySignal

__all__ = [
    "Canary",
    "CanaryEnded",
    "Candidate",
    "DecaySignal",
    "FeedbackLoop",
    "InlineRetrainer",
    "LoopAction",
    "LoopPolicy",
    "LoopState",
    "LoopStep",
    "Phase",
    "Retrainer",
    "Step",
    "TrainingFailed",
    "TrainingPending",
    "decide",
]
