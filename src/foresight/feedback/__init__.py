"""The model feedback loop: drift or decay -> retrain -> register -> gate -> canary -> promote or roll back.

:func:`decide` is the pure core (a state machine with cool-down and retries), :class:`FeedbackLoop`
the driver that performs its actions on a :class:`~foresight.registry.Registry` and a
:class:`Canary`, auditing each one.
"""

from foresight.feedback.canary import Canary, CanaryResult, CanaryStep, RolloutCanary
from foresight.feedback.decide import Action, LoopPolicy, LoopState, Phase, Step, decide
from foresight.feedback.loop import Candidate, FeedbackLoop, LoopStep
from foresight.feedback.signal import DecaySignal

__all__ = [
    "Action", "Canary", "CanaryResult", "CanaryStep", "Candidate", "DecaySignal", "FeedbackLoop", "LoopPolicy",
    "LoopState", "LoopStep", "Phase", "RolloutCanary", "Step", "decide",
]
