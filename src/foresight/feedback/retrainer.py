"""The retrain port: start a training run, then poll it until it yields a candidate or fails.

A retrain may take seconds (the demo fits a small model in-process) or hours (a TrainingJob in a
cluster). The loop must not block for the long kind, so it speaks to a :class:`Retrainer` in two
verbs: :meth:`~Retrainer.start` returns a handle (a string, so the loop's state stays plain data
and survives a restart), and :meth:`~Retrainer.poll` answers :class:`TrainingPending`, :class:`TrainingFailed`
or the :class:`Candidate`. :meth:`~Retrainer.cancel` stops a run the loop gave up on (timeout).

:class:`InlineRetrainer` adapts the old synchronous ``retrain(now_s) -> Candidate`` callable: it
trains inside :meth:`start`, and the first poll returns the result, so the loop's chain
(retrain -> register -> gate -> canary) still happens within one tick.

>>> r = InlineRetrainer(lambda now: Candidate(None, {}, {"accuracy": 0.9}, "abc", 1))
>>> run = r.start("PSI 0.3 > 0.2", 60.0)
>>> r.poll(run, 60.0).metrics["accuracy"], r.poll(run, 61.0)
(0.9, TrainingFailed(reason='no inline training run inline-1 (already collected, or never started)'))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from foresight.feedback.decide import TrainingPending

__all__ = ["Candidate", "InlineRetrainer", "Retrainer", "TrainingFailed", "as_retrainer"]


@dataclass(frozen=True)
class Candidate:
    """What a retrain produced. ``champion_metrics``: the champion re-evaluated on the candidate's
    hold-out data, used by the gate's champion comparison (None: the champion's registered metrics).

    ``version``: set when the training run registered the model itself (a TrainingJob's container
    does); the loop then gates that version instead of registering a new one.
    """

    model: Any
    params: Mapping[str, Any]
    metrics: Mapping[str, float]
    data_version: str
    seed: int | None
    champion_metrics: Mapping[str, float] | None = None
    model_file: Path | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    version: int | None = None


@dataclass(frozen=True)
class TrainingFailed:
    """The run ended without a usable candidate, and why (permanent: the attempt is abandoned)."""

    reason: str


@runtime_checkable
class Retrainer(Protocol):
    """Starts training runs and reports on them. Errors: :class:`~foresight.errors.ServiceUnavailable`
    when the backend cannot be reached (the loop retries), any other error abandons the attempt."""

    def start(self, reason: str, now_s: float) -> str:
        """Start a run that trains on the data up to ``now_s``; its handle. ``reason``: why (for the run's record)."""
        ...

    def poll(self, run: str, now_s: float) -> Candidate | TrainingPending | TrainingFailed:
        """Where run ``run`` stands."""
        ...

    def cancel(self, run: str) -> None:
        """Stop run ``run`` (no error if it already ended or is unknown)."""
        ...


class InlineRetrainer:
    """A :class:`Retrainer` over a synchronous ``retrain(now_s) -> Candidate``: trains inside :meth:`start`."""

    def __init__(self, retrain: Callable[[float], Candidate]) -> None:
        self.retrain = retrain
        self._done: dict[str, Candidate] = {}
        self._runs = 0

    def start(self, reason: str, now_s: float) -> str:
        candidate = self.retrain(now_s)  # errors go to the loop, which records and abandons (or retries) the attempt
        self._runs += 1
        run = f"inline-{self._runs}"
        self._done[run] = candidate
        return run

    def poll(self, run: str, now_s: float) -> Candidate | TrainingPending | TrainingFailed:
        if run not in self._done:
            return TrainingFailed(f"no inline training run {run} (already collected, or never started)")
        return self._done.pop(run)

    def cancel(self, run: str) -> None:
        self._done.pop(run, None)


def as_retrainer(retrain: Retrainer | Callable[[float], Candidate]) -> Retrainer:
    """``retrain`` itself when it is a :class:`Retrainer`, else the callable wrapped in an :class:`InlineRetrainer`."""
    if isinstance(retrain, Retrainer):
        return retrain
    if not callable(retrain):
        raise TypeError(f"retrain must be a Retrainer or a callable(now_s) -> Candidate, not {type(retrain).__name__}")
    return InlineRetrainer(retrain)
