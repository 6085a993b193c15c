"""Faults injected on a schedule, and the timetable of state changes they cause.

Times are seconds from the start of the run. A fault fires at the first step that starts at or
after its ``at_s`` (and ends at the first step at or after ``until_s``), so its effect is exact to
the step. What each fault does (the simulator applies it):

- :class:`NodeLoss`: the node and its pods disappear for good; the workload controller recreates
  the missing pods on other nodes, each becoming ready after its start-up delay.
- :class:`SpotPreemption`: the same for a spot node, which is replaced by an empty node of the
  same shape ``replace_after_s`` later.
- :class:`MemoryLeak`: every pod of the service gains ``mib_per_hour`` of memory; above 80 % of
  the limit the pods slow down (memory pressure), at the limit they are OOM-killed and restart
  with the start-up delay (their leaked memory is freed). At ``until_s`` a fixed version is rolled
  out: the leak stops and the replaced pods start with clean memory (the rollout itself is seamless).
- :class:`LatencyRegression`: the service time is multiplied by ``factor``, which also divides
  the capacity of every replica by ``factor``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Change", "Fault", "LatencyRegression", "MemoryLeak", "NodeLoss", "SpotPreemption", "timetable"]


class NodeLoss(BaseModel):
    """A node fails for good at ``at_s`` with all its pods."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["node-loss"] = "node-loss"
    at_s: float = Field(ge=0, description="Seconds from the start of the run.")
    node: str = Field(description="Node name, <pool>-<index>.")


class SpotPreemption(BaseModel):
    """A spot node is reclaimed at ``at_s`` and an empty replacement joins ``replace_after_s`` later."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["spot-preemption"] = "spot-preemption"
    at_s: float = Field(ge=0, description="Seconds from the start of the run.")
    node: str = Field(description="Spot node name, <pool>-<index>.")
    replace_after_s: float = Field(120.0, gt=0, description="Delay before the replacement node is ready.")


class MemoryLeak(BaseModel):
    """Every pod of ``service`` leaks ``mib_per_hour`` from ``at_s`` until ``until_s`` (None: forever)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["memory-leak"] = "memory-leak"
    at_s: float = Field(ge=0, description="Seconds from the start of the run.")
    service: str
    mib_per_hour: float = Field(gt=0, description="Memory each pod gains per hour.")
    until_s: float | None = Field(None, description="When a fixed version is rolled out (None: never).")


class LatencyRegression(BaseModel):
    """``service``'s service time is ``factor`` times longer from ``at_s`` until ``until_s``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["latency-regression"] = "latency-regression"
    at_s: float = Field(ge=0, description="Seconds from the start of the run.")
    service: str
    factor: float = Field(gt=0, description="Multiplies the service time and divides the capacity.")
    until_s: float | None = Field(None, description="When it is rolled back (None: never).")


Fault = Annotated[NodeLoss | SpotPreemption | MemoryLeak | LatencyRegression, Field(discriminator="kind")]


@dataclass(frozen=True)
class Change:
    """One state change at ``step``: ``what`` is node-down, node-up, leak or slowdown.

    ``leak`` adds ``value`` MiB/s per pod (negative: the fix, which also frees leaked memory);
    ``slowdown`` multiplies the service
    time by ``value``; node changes carry no value. ``fault`` is what the event log calls it.
    """

    step: int
    what: Literal["node-down", "node-up", "leak", "slowdown"]
    target: str
    value: float
    fault: str


def _step(t_s: float, step_s: float) -> int:
    """The first step starting at or after ``t_s`` (steps start at multiples of ``step_s``)."""
    return max(0, math.ceil(t_s / step_s - 1e-9))


def timetable(faults: tuple[Fault, ...], step_s: float) -> list[Change]:
    """The faults as state changes sorted by step (stable for equal steps).

    >>> [(c.step, c.what, c.value) for c in timetable((SpotPreemption(at_s=20, node="s-0"),), 15.0)]
    [(2, 'node-down', 0.0), (10, 'node-up', 0.0)]
    """
    changes: list[Change] = []
    for f in faults:
        start = _step(f.at_s, step_s)
        if isinstance(f, NodeLoss):
            changes.append(Change(start, "node-down", f.node, 0.0, f.kind))
        elif isinstance(f, SpotPreemption):
            changes.append(Change(start, "node-down", f.node, 0.0, f.kind))
            changes.append(Change(_step(f.at_s + f.replace_after_s, step_s), "node-up", f.node, 0.0, "node-replaced"))
        elif isinstance(f, MemoryLeak):
            rate = f.mib_per_hour / 3600.0
            changes.append(Change(start, "leak", f.service, rate, f.kind))
            if f.until_s is not None:
                changes.append(Change(_step(f.until_s, step_s), "leak", f.service, -rate, "memory-leak-fixed"))
        else:
            changes.append(Change(start, "slowdown", f.service, f.factor, f.kind))
            if f.until_s is not None:
                changes.append(
                    Change(_step(f.until_s, step_s), "slowdown", f.service, 1.0 / f.factor, "latency-regression-end")
                )
    return sorted(changes, key=lambda c: c.step)
