"""Spot placement: how many of a service's replicas may run on spot within an SLO risk budget.

A spot replica is taken back at some rate (``interruptions_per_hour``), announced ``notice_s``
ahead. On the notice the replica drains and a replacement starts (on spot while the market has
capacity, else on demand: the fallback); it serves after its load time ``L``. The replica is
missing for ``max(0, L + service_s - notice_s)`` seconds per interruption: none when the model loads
within the notice, which is what makes spot safe for a model server that loads in tens of seconds.

For ``n`` replicas of which ``k`` are on spot, the expected share of replica-time missing is

    risk(k) = k * interruptions_per_hour / 3600 * max(0, L + service_s - notice_s) / n

and the policy puts on spot the most replicas with ``risk(k) <= risk_budget``, keeping
``min_on_demand`` on demand (a floor that survives a market-wide reclaim). Interruptible work
(batch, training with checkpoints) goes on spot whole: its budget is the re-done work, not an SLO.

>>> spec = SpotSpec(interruptions_per_hour=0.1, risk_budget=0.01)
>>> place(spec, replicas=4, load_time_s=60.0, service_s=2.0).spot
4
>>> place(spec, replicas=4, load_time_s=600.0, service_s=2.0).spot
2
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from foresight.errors import InputError

__all__ = ["SpotPlacement", "SpotSpec", "place", "replacement_capacity"]


class SpotSpec(BaseModel):
    """Settings of the spot policy for one service."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    interruptions_per_hour: float = Field(0.05, ge=0, description="Expected reclaims per spot replica-hour.")
    notice_s: float = Field(120.0, ge=0, description="Warning before an interruption (2 minutes on the large clouds).")
    risk_budget: float = Field(
        0.001, ge=0, le=1, description="Most expected share of replica-time a service may lose to interruptions."
    )
    min_on_demand: int = Field(0, ge=0, description="Replicas always kept on demand.")


@dataclass(frozen=True)
class SpotPlacement:
    """Replicas on spot and on demand, and why (the audit record)."""

    spot: int
    on_demand: int
    risk: float
    reason: str


def place(
    spec: SpotSpec, *, replicas: int, load_time_s: float, service_s: float, interruptible: bool = False
) -> SpotPlacement:
    """Split ``replicas`` between spot and on demand; see the module docstring."""
    if replicas < 0 or load_time_s < 0 or service_s < 0:
        raise InputError(f"spot placement: replicas, load_time_s and service_s must be >= 0, got "
                         f"{replicas}, {load_time_s}, {service_s}")
    if replicas == 0:
        return SpotPlacement(0, 0, 0.0, "no replicas to place")
    if interruptible:
        return SpotPlacement(replicas, 0, 0.0, "interruptible work: all on spot (an interruption re-does work, "
                                               "it breaks no SLO)")
    gap_s = max(0.0, load_time_s + service_s - spec.notice_s)
    per_replica = spec.interruptions_per_hour / 3600.0 * gap_s / replicas
    allowed = replicas - min(replicas, spec.min_on_demand)
    k = allowed if per_replica * allowed <= spec.risk_budget else int(spec.risk_budget / per_replica)
    risk = k * per_replica
    if gap_s == 0:
        why = f"a replacement loads within the {spec.notice_s:.0f} s notice ({load_time_s:.0f} s + {service_s:.0f} s " \
              f"in flight): no capacity lost"
    else:
        why = f"each interruption leaves a replica missing {gap_s:.0f} s; risk {risk:.2e} within budget " \
              f"{spec.risk_budget:.2e}"
    floor = f", {spec.min_on_demand} kept on demand" if spec.min_on_demand else ""
    return SpotPlacement(k, replicas - k, risk, f"{k} of {replicas} on spot: {why}{floor}")


def replacement_capacity(spot_available: bool) -> str:
    """Where a noticed replica's replacement starts: spot while the market has capacity, else on demand."""
    return "spot" if spot_available else "on-demand"
