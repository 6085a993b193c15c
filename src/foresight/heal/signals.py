"""What the failure predictors read and what they say: resource series against limits, event counters.

A *target* is one pod, node or GPU. Each carries one resource series (memory working set, CPU
usage, a node's memory/disk/PID use, a GPU's framebuffer) with the level at which it fails (the
container limit, the kubelet's eviction threshold, the GPU's memory), and one cumulative event
counter (container restarts, GPU XID errors) that may reset to zero when a container or a driver
starts again. All targets share one time grid so that every predictor is a handful of numpy
operations over the whole fleet; a gap or a pod that does not exist yet (or any more) is NaN.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np

from foresight.errors import InputError

__all__ = ["FAILURE_OF", "EventKind", "Failure", "Resource", "Signals", "Verdicts"]


class Resource(str, Enum):
    """Which resource a target's series measures; it decides the failure its exhaustion causes."""

    MEMORY = "memory"
    CPU = "cpu"
    NODE_MEMORY = "node_memory"
    NODE_DISK = "node_disk"
    NODE_PID = "node_pid"
    GPU_MEMORY = "gpu_memory"


class EventKind(str, Enum):
    """Which events a target's counter counts."""

    RESTARTS = "restarts"
    XID = "xid"


class Failure(str, Enum):
    """The failure a predictor announces."""

    NONE = "none"
    OOM_KILL = "oom_kill"
    SLO_BREACH = "slo_breach"
    EVICTION = "eviction"
    NOT_READY = "not_ready"
    GPU_OOM = "gpu_oom"
    CRASH_LOOP = "crash_loop"
    GPU_FAILURE = "gpu_failure"


#: What exhausting each resource, or an accelerating counter, leads to.
FAILURE_OF: dict[Resource | EventKind, Failure] = {
    Resource.MEMORY: Failure.OOM_KILL,
    Resource.CPU: Failure.SLO_BREACH,
    Resource.NODE_MEMORY: Failure.EVICTION,
    Resource.NODE_DISK: Failure.EVICTION,
    Resource.NODE_PID: Failure.NOT_READY,
    Resource.GPU_MEMORY: Failure.GPU_OOM,
    EventKind.RESTARTS: Failure.CRASH_LOOP,
    EventKind.XID: Failure.GPU_FAILURE,
}


@dataclass(frozen=True)
class Signals:
    """A window of every target's signals on one time grid (seconds, increasing).

    ``usage`` and ``events`` are (targets, samples); ``limit`` is (targets,), NaN where the target
    has no limit (nothing to exhaust: a predictor must say so, never guess one).
    """

    targets: tuple[str, ...]
    resources: tuple[Resource, ...]
    event_kinds: tuple[EventKind, ...]
    t_s: np.ndarray
    usage: np.ndarray
    limit: np.ndarray
    events: np.ndarray

    def __post_init__(self) -> None:
        n, m = len(self.targets), len(self.t_s)
        if len(self.resources) != n or len(self.event_kinds) != n:
            raise InputError(f"{n} targets but {len(self.resources)} resources and {len(self.event_kinds)} event kinds")
        if self.usage.shape != (n, m) or self.events.shape != (n, m) or self.limit.shape != (n,):
            raise InputError(f"signals of {n} targets x {m} samples expected; got usage {self.usage.shape}, "
                             f"events {self.events.shape}, limit {self.limit.shape}")
        if m < 2 or not np.all(np.diff(self.t_s) > 0):
            raise InputError("the time grid needs at least 2 strictly increasing sample times")
        if np.any(self.limit <= 0):
            raise InputError("a limit must be above 0 (NaN for a target without a limit)")

    def window(self, start: int, stop: int) -> Signals:
        """The same targets over samples ``start:stop`` (what a predictor sees at time ``stop - 1``)."""
        return Signals(self.targets, self.resources, self.event_kinds, self.t_s[start:stop],
                       self.usage[:, start:stop], self.limit, self.events[:, start:stop])


@dataclass(frozen=True)
class Verdicts:
    """One predictor's answer for every target, as arrays (targets,).

    ``ttf_s``: predicted time to failure from the window's last sample (inf: none in sight, NaN: it
    cannot say, e.g. no limit or no recent data), with the interval ``[ttf_low_s, ttf_high_s]``;
    ``alarm``: whether it asks for an action now; ``failure``: what it predicts; ``evidence``: one
    sentence per target with the numbers it used.
    """

    alarm: np.ndarray
    failure: tuple[Failure, ...]
    ttf_s: np.ndarray
    ttf_low_s: np.ndarray
    ttf_high_s: np.ndarray
    evidence: tuple[str, ...]
