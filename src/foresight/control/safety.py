"""Safety limits: the bounds a policy's recommendation must pass before the loop acts on it.

A policy may be wrong (a bad forecast, a metric gap read as zero load); the limits are what an
operator trusts instead. They are applied in a fixed order, each adding the words that explain
it to the audit record:

1. **bounds**: the recommendation is clamped to ``[min_replicas, max_replicas]``;
2. **cool-down**: no change within ``cooldown_s`` of the workload's last change
   (``scale_down_cooldown_s``, when set, for scale-downs: shrinking too soon after a change is
   what makes a workload flap, so users usually want that wait longer);
3. **max step**: the change is cut to at most ``max_step`` replicas per period.

The bounds are hard: when the current replicas lie outside them (someone scaled by hand, or the
limits were tightened), the workload is brought straight back inside, cool-down and step waived,
since waiting would keep it in a state the operator has ruled out. ``dry_run`` changes nothing
here: the loop computes the same answer and does not apply it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator

from foresight.errors import ConfigError

__all__ = ["LimitedReplicas", "SafetyLimits", "apply_limits"]


class SafetyLimits(BaseModel):
    """Per-workload limits on what the reconcile loop may do."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_replicas: int = Field(1, ge=0, description="Fewest replicas the loop will ever set.")
    max_replicas: int = Field(ge=0, description="Most replicas the loop will ever set.")
    max_step: int | None = Field(
        None, ge=1, description="Largest change in replicas per period (absolute count); None: unlimited."
    )
    cooldown_s: float = Field(
        0.0, ge=0, description="No change within this many seconds after the workload's last change."
    )
    scale_down_cooldown_s: float | None = Field(
        None, ge=0, description="Cool-down before a scale-down, when it should differ; None: cooldown_s."
    )
    dry_run: bool = Field(False, description="Decide and audit, but never set replicas.")

    @model_validator(mode="after")
    def _min_not_above_max(self) -> SafetyLimits:
        if self.min_replicas > self.max_replicas:
            raise ConfigError(
                f"safety limits: min_replicas ({self.min_replicas}) is above max_replicas "
                f"({self.max_replicas})"
            )
        return self

    def cooldown_for(self, scale_up: bool) -> float:
        """The cool-down that holds a change in this direction, in seconds."""
        if scale_up or self.scale_down_cooldown_s is None:
            return self.cooldown_s
        return self.scale_down_cooldown_s


@dataclass(frozen=True)
class LimitedReplicas:
    """What the limits allow: the replicas to set (equal to the current ones when held) and why."""

    replicas: int
    reasons: tuple[str, ...]


def apply_limits(
    limits: SafetyLimits, recommended: int, current: int, now: float, last_change_at: float | None
) -> LimitedReplicas:
    """The replicas the loop may set for ``recommended``, given the current desired replicas.

    ``last_change_at`` is when the loop last changed this workload (Unix seconds; None: never).

    >>> lim = SafetyLimits(min_replicas=2, max_replicas=10, max_step=3, cooldown_s=60)
    >>> apply_limits(lim, 14, current=5, now=1000.0, last_change_at=None)
    LimitedReplicas(replicas=8, reasons=('clamped to max 10', 'step limited to +3'))
    >>> apply_limits(lim, 1, current=5, now=1000.0, last_change_at=970.0)
    LimitedReplicas(replicas=5, reasons=('clamped to min 2', 'cool-down until t=1030'))
    """
    target = recommended
    reasons: list[str] = []
    if target > limits.max_replicas:
        target = limits.max_replicas
        reasons.append(f"clamped to max {limits.max_replicas}")
    elif target < limits.min_replicas:
        target = limits.min_replicas
        reasons.append(f"clamped to min {limits.min_replicas}")
    if target == current:
        return LimitedReplicas(target, tuple(reasons))
    if not limits.min_replicas <= current <= limits.max_replicas:
        reasons.append(
            f"current {current} outside [{limits.min_replicas}, {limits.max_replicas}]: "
            "cool-down and max step waived"
        )
        return LimitedReplicas(target, tuple(reasons))

    scale_up = target > current
    if last_change_at is not None:
        until = last_change_at + limits.cooldown_for(scale_up)
        if now < until:
            reasons.append(f"cool-down until t={_format_time(until)}")
            return LimitedReplicas(current, tuple(reasons))
    if limits.max_step is not None and abs(target - current) > limits.max_step:
        target = current + limits.max_step if scale_up else current - limits.max_step
        reasons.append(f"step limited to {'+' if scale_up else '-'}{limits.max_step}")
    return LimitedReplicas(target, tuple(reasons))


def _format_time(t: float) -> str:
    """Unix seconds without exponent or trailing zeros (``1700000030`` or ``12.5``)."""
    return f"{t:.3f}".rstrip("0").rstrip(".")
