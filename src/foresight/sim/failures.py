"""Failure episodes with their precursors, look-alikes that must not trigger, and what Kubernetes does.

Each episode is one pod, node or GPU observed every ``STEP_S`` for ``DURATION_S``; a failure episode
fails at a known time (ground truth), a normal one never does. The precursors:

* ``leak``: memory from a base of 30-60% of the limit up to the limit along ``(t/D)^p`` (ramps of
  20-120 min, ``p`` 0.8-1.5), noisy; ``bursty_leak``: the same with bursts of 3-12% that kill the
  pod at a peak; ``sudden_oom``: one allocation past the limit with no precursor (no predictor can
  see it coming: it bounds recall honestly); ``cpu_saturation``: CPU load growing to 95% of the limit (the SLO breaks);
  ``crash_loop``: restarts whose intervals shrink by 0.45-0.75 each until the container no longer
  stays up 2 min; ``node_memory``/``node_disk``/``node_pid``: a node's use rising to the kubelet's
  hard eviction threshold (memory.available < 100Mi, nodefs.available < 10%) or to its PID limit
  (the kubelet cannot fork: NotReady); ``gpu_memory``: a GPU's framebuffer filling;
  ``gpu_xid``: XID errors coming ever faster (the counter resets once on a driver reload) until the
  GPU falls off the bus.
* Look-alikes: ``cache_warmup`` (a new pod filling a cache to a 60-93% plateau), ``sawtooth`` (a
  batch job's memory rising to 75-93% and released every 15-45 min), ``fluctuating_cpu`` (load that
wanders up and back for 10-20 min at a time, below 90%), ``restart_wave`` (a deploy:
  one or two restarts, some pods replaced and gone), ``flaky_restarts`` (random restarts every
  ~40 min), ``bursty`` memory, ``diurnal_cpu``, ``slow_growth`` (a limit hours away),
  ``no_limit`` (growth without a limit), ``steady``.

Every series has random gaps; pods come (NaN before they start) and go (NaN after).

**What the failure costs** (reactive Kubernetes, :func:`reactive_cost`): an OOMKill restarts the
container after 10 s of back-off and ``startup_s`` to Ready, after ``degraded_s`` of thrashing near
the limit; a node past a hard eviction threshold evicts its pods (ignoring PDBs) which come back
after ``startup_s``; a NotReady node's pods are evicted after node-monitor-grace-period (40 s) plus
the default not-ready toleration (300 s); CPU saturation, a crash loop and a failed GPU hurt for
``outage_s`` (until the load falls or a person acts). A proactive action (restart with the
replacement Ready first, resize, reschedule, cordon and drain) takes ``action_s`` and averts the
failure if it completes before it; the crash loop is modelled as node-local (a corrupted local
volume), so rescheduling averts it.

>>> run = simulate_failures(seed=0, failures=4, normals=4)
>>> len(run.episodes), run.signals.usage.shape
(8, (8, 360))
>>> sum(e.failure.value != "none" for e in run.episodes)
4
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from foresight.heal.signals import FAILURE_OF, EventKind, Failure, Resource, Signals

__all__ = ["DURATION_S", "EVAL_FROM_S", "FAILURES", "LOOK_ALIKES", "NO_PRECURSOR", "STEP_S", "Episode", "FailureRun", "reactive_cost",
           "simulate_failures"]

STEP_S = 30.0
DURATION_S = 3 * 3600.0
#: the first hour is history: failures happen after it, evaluation starts there
EVAL_FROM_S = 3600.0
MIB = 2.0**20

#: failure scenario -> (resource, event counter)
FAILURES: dict[str, tuple[Resource, EventKind]] = {
    "leak": (Resource.MEMORY, EventKind.RESTARTS),
    "sudden_oom": (Resource.MEMORY, EventKind.RESTARTS),
    "bursty_leak": (Resource.MEMORY, EventKind.RESTARTS),
    "cpu_saturation": (Resource.CPU, EventKind.RESTARTS),
    "crash_loop": (Resource.MEMORY, EventKind.RESTARTS),
    "node_memory": (Resource.NODE_MEMORY, EventKind.RESTARTS),
    "node_disk": (Resource.NODE_DISK, EventKind.RESTARTS),
    "node_pid": (Resource.NODE_PID, EventKind.RESTARTS),
    "gpu_memory": (Resource.GPU_MEMORY, EventKind.XID),
    "gpu_xid": (Resource.GPU_MEMORY, EventKind.XID),
}
#: failure scenarios whose signals give no warning before the failure: the ceiling of any predictor's recall
NO_PRECURSOR = ("sudden_oom",)
LOOK_ALIKES: dict[str, tuple[Resource, EventKind]] = {
    "cache_warmup": (Resource.MEMORY, EventKind.RESTARTS),
    "sawtooth": (Resource.MEMORY, EventKind.RESTARTS),
    "restart_wave": (Resource.MEMORY, EventKind.RESTARTS),
    "flaky_restarts": (Resource.MEMORY, EventKind.RESTARTS),
    "bursty": (Resource.MEMORY, EventKind.RESTARTS),
    "diurnal_cpu": (Resource.CPU, EventKind.RESTARTS),
    "fluctuating_cpu": (Resource.CPU, EventKind.RESTARTS),
    "slow_growth": (Resource.NODE_DISK, EventKind.RESTARTS),
    "no_limit": (Resource.MEMORY, EventKind.RESTARTS),
    "steady": (Resource.GPU_MEMORY, EventKind.XID),
}


@dataclass(frozen=True)
class Episode:
    """One target's story: its failure (NONE for a look-alike) at ``failure_s`` (NaN if none), the
    workload it belongs to, and the durations that price the failure and the action."""

    name: str
    scenario: str
    failure: Failure
    failure_s: float
    workload: str
    startup_s: float
    action_s: float
    degraded_s: float
    outage_s: float


@dataclass(frozen=True)
class FailureRun:
    """Episodes and their signals (one row per episode, as the predictors read them)."""

    seed: int
    episodes: tuple[Episode, ...]
    signals: Signals


def reactive_cost(episode: Episode) -> tuple[float, int]:
    """SLO-violation seconds and OOMKills when Kubernetes only reacts to the failure."""
    f = episode.failure
    if f is Failure.NONE:
        return 0.0, 0
    if f in (Failure.OOM_KILL, Failure.GPU_OOM):
        return episode.degraded_s + 10.0 + episode.startup_s, int(f is Failure.OOM_KILL)
    if f is Failure.EVICTION:
        return episode.startup_s + 10.0, 0
    if f is Failure.NOT_READY:
        return 40.0 + 300.0 + episode.startup_s, 0
    return episode.outage_s, 0


def _ramp(t: np.ndarray, fail_s: float, base: float, top: float, rng: np.random.Generator) -> np.ndarray:
    """A rise from ``base`` to ``top`` reached at ``fail_s`` over 20-120 min, of shape (t/D)^p."""
    d = rng.uniform(20, 120) * 60
    u = np.clip((t - (fail_s - d)) / d, 0, None)
    return base + (top - base) * u ** rng.uniform(0.8, 1.5)


def _bursts(n: int, rng: np.random.Generator, size: tuple[float, float]) -> np.ndarray:
    start = rng.random(n) < 0.04
    b = np.where(start, rng.uniform(*size, n), 0.0)
    return np.maximum.reduce([b, np.roll(b, 1) * (rng.random(n) < 0.5), np.roll(b, 2) * (rng.random(n) < 0.3)])


def _geometric_events(fail_s: float, rng: np.random.Generator) -> list[float]:
    """Event times with intervals shrinking by r until one is under 2 min, that one ending at ``fail_s``."""
    d, r, gaps = rng.uniform(10, 25) * 60, rng.uniform(0.45, 0.75), []
    while d >= 120:
        gaps.append(d)
        d *= r * rng.lognormal(0.0, 0.1)  # not exactly geometric
    gaps.append(d)
    return list(fail_s - np.cumsum(gaps[::-1])[::-1]) + [fail_s]


def _counter(t: np.ndarray, events: list[float], resets: tuple[float, ...] = ()) -> np.ndarray:
    ev = np.sort(np.asarray(events))
    total = np.searchsorted(ev, t, side="right").astype(float)
    for r in resets:  # a reset zeroes the counter: later values count only events since then
        total = np.where(t >= r, total - np.searchsorted(ev, r, side="right"), total)
    return total


def _episode(scenario: str, k: int, rng: np.random.Generator,
             t: np.ndarray) -> tuple[Episode, np.ndarray, float, np.ndarray]:
    n = t.size
    failing = scenario in FAILURES
    fail_s = float(rng.uniform(75, 170) * 60) if failing else np.nan
    noise = rng.normal(0, rng.uniform(0.003, 0.015), n)
    x, events, limit, resets = 0.5 + noise, [], 1.0, ()
    startup = float(rng.uniform(20, 90))
    if scenario in ("leak", "node_memory", "node_pid", "gpu_memory"):
        x = _ramp(t, fail_s, rng.uniform(0.3, 0.6), 1.0, rng) + noise
    elif scenario == "bursty_leak":
        bursts = np.where(t > EVAL_FROM_S + 300, _bursts(n, rng, (0.03, 0.12)), 0.0)
        x = _ramp(t, fail_s, rng.uniform(0.3, 0.55), 1.0, rng) + noise + bursts
    elif scenario == "sudden_oom":  # one request allocates past the limit: no precursor at all
        x = np.where(t < fail_s, rng.uniform(0.4, 0.7), 1.02) + noise
    elif scenario == "node_disk":
        x = _ramp(t, fail_s, rng.uniform(0.5, 0.75), 1.0, rng) + noise / 3
    elif scenario == "cpu_saturation":
        x = np.minimum(_ramp(t, fail_s, rng.uniform(0.3, 0.55), 1.0, rng) + 2 * noise, 1 / 0.95)  # throttled
    elif scenario in ("crash_loop", "gpu_xid", "flaky_restarts", "restart_wave"):
        if scenario in ("crash_loop", "gpu_xid"):
            events = _geometric_events(fail_s, rng)
        elif scenario == "flaky_restarts":
            events = list(np.cumsum(rng.exponential(2400, 12)))
        else:
            deploy = rng.uniform(60, 170) * 60
            events = [deploy, deploy + rng.uniform(30, 300)][: int(rng.integers(1, 3))]
        resets = (float(rng.uniform(0, fail_s)),) if scenario == "gpu_xid" else ()
        x = rng.uniform(0.3, 0.7) + noise
    elif scenario == "cache_warmup":
        born = rng.uniform(0, 120) * 60
        x = rng.uniform(0.6, 0.93) * (1 - np.exp(-(t - born) / (rng.uniform(5, 30) * 60))) + noise
        x[t < born] = np.nan
    elif scenario == "sawtooth":
        period, lo = rng.uniform(15, 45) * 60, rng.uniform(0.2, 0.4)
        x = lo + (rng.uniform(0.75, 0.93) - lo) * ((t + rng.uniform(0, period)) % period) / period + noise
    elif scenario == "bursty":
        x = rng.uniform(0.4, 0.65) + noise + _bursts(n, rng, (0.05, 0.28))
    elif scenario == "diurnal_cpu":
        x = rng.uniform(0.3, 0.5) + rng.uniform(0.1, 0.35) * np.sin(2 * np.pi * (t / rng.uniform(2, 5) / 3600
                                                                                  + rng.random())) + 2 * noise
    elif scenario == "fluctuating_cpu":  # load wandering for 10-20 min at a time, always coming back
        keep, level, sd = np.exp(-STEP_S / (rng.uniform(10, 20) * 60)), rng.uniform(0.45, 0.6), rng.uniform(0.06, 0.1)
        walk = np.zeros(n)
        for j in range(1, n):
            walk[j] = keep * walk[j - 1] + sd * np.sqrt(1 - keep**2) * rng.normal()
        x = np.minimum(level + walk + 2 * noise, 0.9)
    elif scenario == "slow_growth":
        x = rng.uniform(0.5, 0.8) + rng.uniform(0.005, 0.03) * t / 3600 + noise / 3
    elif scenario == "no_limit":
        x, limit = _ramp(t, 7200.0, 0.3, 1.0, rng) + noise, np.nan
    else:  # steady
        x = rng.uniform(0.2, 0.85) + noise
    if scenario in ("leak", "bursty_leak", "sudden_oom", "node_memory", "node_pid", "gpu_memory", "node_disk"):
        fail_s = float(t[np.flatnonzero(x >= 1.0)[0]])  # noise or a burst may get there before the ramp
    counter = _counter(t, events, resets)
    if failing and scenario not in ("crash_loop", "gpu_xid"):  # after the failure: restarted, back at the base
        after = t > fail_s
        x = np.where(after, x[0] + noise, x)
        counter = counter + after
    degraded = float(np.sum((x >= 0.95) & (t < fail_s)) * STEP_S) if failing else 0.0
    if scenario == "restart_wave" and rng.random() < 0.5:  # a pod the deploy replaced: gone after its restart
        x[t > events[-1] + 120] = np.nan
        counter[t > events[-1] + 120] = np.nan
    gaps = rng.random(n) < 0.01
    x, counter = np.where(gaps, np.nan, x), np.where(gaps, np.nan, counter)
    resource, counts = (FAILURES | LOOK_ALIKES)[scenario]
    # x is in units of the failure point; a CPU's is 95% of its limit, the others' the limit itself
    point = {Resource.CPU: 0.95 * float(rng.choice([0.5, 1, 2, 4])), Resource.NODE_PID: 32768.0}.get(
        resource, float(rng.choice([256, 512, 1024, 4096, 16384])) * MIB)
    limit_abs = limit * point / (0.95 if resource is Resource.CPU else 1.0)
    failure = FAILURE_OF[counts] if scenario in ("crash_loop", "gpu_xid") else FAILURE_OF[resource] if failing \
        else Failure.NONE
    node_wide = resource in (Resource.NODE_MEMORY, Resource.NODE_DISK, Resource.NODE_PID) or scenario == "gpu_xid"
    episode = Episode(f"{scenario}-{k}", scenario, failure, fail_s, f"workload-{k // 3}", startup,
                      startup * (2 if node_wide else 1), degraded, float(rng.uniform(10, 30) * 60))
    return episode, x * point, limit_abs, counter


def simulate_failures(seed: int, failures: int = 40, normals: int = 40) -> FailureRun:
    """``failures`` failure episodes and ``normals`` look-alikes, scenarios drawn evenly, seeded."""
    if failures < 0 or normals < 0 or failures + normals == 0:
        raise ValueError(f"need at least one episode, got {failures} failures and {normals} normals")
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, DURATION_S, STEP_S)
    names = [list(FAILURES)[i % len(FAILURES)] for i in range(failures)] + \
            [list(LOOK_ALIKES)[i % len(LOOK_ALIKES)] for i in range(normals)]
    rng.shuffle(names)
    made = [_episode(s, k, rng, t) for k, s in enumerate(names)]
    table = FAILURES | LOOK_ALIKES
    signals = Signals(tuple(e.name for e, *_ in made), tuple(table[e.scenario][0] for e, *_ in made),
                      tuple(table[e.scenario][1] for e, *_ in made), t,
                      np.vstack([x for _, x, _, _ in made]), np.array([lim for _, _, lim, _ in made]),
                      np.vstack([c for *_, c in made]))
    return FailureRun(seed, tuple(e for e, *_ in made), signals)
