"""Promotion gates: a version serves only if its metrics pass the policy, and the reason says why not.

A :class:`GatePolicy` is a list of :class:`Gate` rules, one per metric: an absolute bound
(``accuracy >= 0.9``, the seed's "deploy when metric > 0.9") and/or a bound relative to the
current champion (no worse than the champion's value by more than ``tolerance``). A metric the
candidate did not report blocks its gate: a missing number is never read as a pass.

>>> policy = GatePolicy.parse(["accuracy>=0.9", "latency_ms<=50"], tolerances={"accuracy": 0.01})
>>> result = evaluate_gates(policy, {"accuracy": 0.93, "latency_ms": 41.0}, {"accuracy": 0.95})
>>> result.passed, result.reasons[0]
(False, 'accuracy 0.93 is worse than the champion 0.95 by 0.02, more than the tolerance 0.01')
>>> evaluate_gates(policy, {"accuracy": 0.95, "latency_ms": 41.0}, None).passed
True
>>> evaluate_gates(policy, {"accuracy": 0.97, "latency_ms": 41.0}, {"accuracy": 0.95}).reason
'accuracy 0.97 >= threshold 0.9; accuracy 0.97 better than the champion 0.95; latency_ms 41 <= threshold 50'
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from foresight.errors import ConfigError

__all__ = ["Gate", "GateCheck", "GatePolicy", "GateResult", "evaluate_gates"]

_RULE = re.compile(r"^\s*(?P<metric>[A-Za-z_][\w.\-/]*)\s*(?P<op>>=|<=)\s*(?P<value>[-+0-9.eE]+)\s*$")


class Gate(BaseModel):
    """One metric's rule: ``op`` says which way is better (``>=``: higher is better)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    metric: str = Field(min_length=1, description="Metric name as registered (e.g. accuracy).")
    op: Literal[">=", "<="] = Field(">=", description="'>=': higher is better; '<=': lower is better.")
    threshold: float | None = Field(None, description="Absolute bound the candidate must meet (None: none).")
    tolerance: float | None = Field(
        None, ge=0, description="How much worse than the champion the candidate may be (None: not compared)."
    )

    @model_validator(mode="after")
    def _something_to_check(self) -> Gate:
        if self.threshold is None and self.tolerance is None:
            raise ConfigError(f"gate on {self.metric}: give a threshold, a tolerance, or both")
        if self.threshold is not None and not math.isfinite(self.threshold):
            raise ConfigError(f"gate on {self.metric}: threshold must be finite, got {self.threshold}")
        return self


class GatePolicy(BaseModel):
    """The rules a version must pass before it may become the champion (all of them)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    gates: tuple[Gate, ...] = Field((), description="Rules, all of which must pass.")

    @classmethod
    def parse(cls, rules: Iterable[str], tolerances: Mapping[str, float] | None = None) -> GatePolicy:
        """Rules such as ``accuracy>=0.9``; ``tolerances`` adds champion comparisons per metric."""
        tolerances = dict(tolerances or {})
        gates: list[Gate] = []
        try:
            for rule in rules:
                match = _RULE.match(rule)
                if match is None:
                    raise ConfigError(f"gate {rule!r}: write METRIC>=VALUE or METRIC<=VALUE, e.g. accuracy>=0.9")
                metric = match["metric"]
                try:
                    threshold = float(match["value"])
                except ValueError:
                    raise ConfigError(f"gate {rule!r}: {match['value']!r} is not a number") from None
                gates.append(Gate(metric=metric, op=match["op"], threshold=threshold,  # type: ignore[arg-type]
                                  tolerance=tolerances.pop(metric, None)))
            gates.extend(Gate(metric=m, tolerance=t) for m, t in tolerances.items())  # higher is better
        except ValidationError as exc:
            raise ConfigError(f"gate policy: {exc.errors()[0]['msg']}") from None
        return cls(gates=tuple(gates))


@dataclass(frozen=True)
class GateCheck:
    """One comparison and its outcome (for the audit log and the CLI)."""

    metric: str
    value: float | None
    bound: float
    kind: Literal["threshold", "champion"]
    passed: bool
    reason: str


@dataclass(frozen=True)
class GateResult:
    """All checks; ``reasons`` lists the failures (or one line saying everything passed)."""

    passed: bool
    checks: tuple[GateCheck, ...]

    @property
    def reasons(self) -> tuple[str, ...]:
        failed = tuple(c.reason for c in self.checks if not c.passed)
        if failed:
            return failed
        return ("; ".join(c.reason for c in self.checks) or "no gates configured",)

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _champion_reason(metric: str, value: float, champion: float, worse_by: float, tolerance: float) -> str:
    """Says how the candidate compares: better, equal, worse but tolerated, or worse past the tolerance.

    "within 0.01 of the champion" about a candidate far better than the champion reads as a
    near miss; the comparison is only worth its tolerance when the candidate is worse.
    """
    if worse_by < 0:
        return f"{metric} {_fmt(value)} better than the champion {_fmt(champion)}"
    if worse_by == 0:
        return f"{metric} {_fmt(value)} equal to the champion {_fmt(champion)}"
    verdict = "within" if worse_by <= tolerance + 1e-12 else "more than"
    return (f"{metric} {_fmt(value)} is worse than the champion {_fmt(champion)} by {_fmt(worse_by)}, "
            f"{verdict} the tolerance {_fmt(tolerance)}")


def evaluate_gates(
    policy: GatePolicy, candidate: Mapping[str, float], champion: Mapping[str, float] | None,
) -> GateResult:
    """Check ``candidate``'s metrics against ``policy`` and the ``champion``'s metrics (None: no champion).

    Pure: metrics in, verdict out. A champion comparison is skipped (and says so) when there is no
    champion or it lacks the metric: the first version of a model has nothing to be compared with.
    """
    checks: list[GateCheck] = []
    for gate in policy.gates:
        raw = candidate.get(gate.metric)
        value = None if raw is None or not math.isfinite(float(raw)) else float(raw)
        absent = (f"{gate.metric} missing from the candidate's metrics" if raw is None else
                  f"{gate.metric} is {float(raw)} in the candidate's metrics, not a finite number")
        higher = gate.op == ">="
        if gate.threshold is not None:
            t = gate.threshold
            if value is None:
                checks.append(GateCheck(gate.metric, None, t, "threshold", False, f"{absent} (needs {gate.op} {_fmt(t)})"))
            else:
                ok = value >= t if higher else value <= t
                word = gate.op if ok else ("<" if higher else ">")
                checks.append(GateCheck(gate.metric, value, t, "threshold", ok,
                                        f"{gate.metric} {_fmt(value)} {word} threshold {_fmt(t)}"))
        if gate.tolerance is not None:
            ref = None if champion is None else champion.get(gate.metric)
            if ref is None or not math.isfinite(float(ref)):
                checks.append(GateCheck(gate.metric, value, math.nan, "champion", True,
                                        f"{gate.metric}: no champion value to compare with"))
                continue
            ref = float(ref)
            if value is None:
                checks.append(GateCheck(gate.metric, None, ref, "champion", False, f"{absent} (champion has {_fmt(ref)})"))
                continue
            worse_by = (ref - value) if higher else (value - ref)
            ok = worse_by <= gate.tolerance + 1e-12
            checks.append(GateCheck(gate.metric, value, ref, "champion", ok,
                                    _champion_reason(gate.metric, value, ref, worse_by, gate.tolerance)))
    return GateResult(all(c.passed for c in checks), tuple(checks))
