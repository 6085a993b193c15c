"""Request-level simulation of one model-serving workload: cold starts, queueing, spot interruptions.

Requests arrive at given times and each takes ``service_s`` of one of a replica's ``concurrency``
slots, first come first served. A replica holds its GPU from the moment it is asked for: it is
*starting* for one load time (image pull + a model-load draw) and then *ready*. Requests that find
no free ready slot wait in one queue; a request served by a replica that was not yet ready when it
arrived **hit a cold start**. Like Knative's activator (and KEDA's activation), a request that finds no
replica at all starts one at once, whatever the controller said last.

Every ``period_s`` the controller sees a :class:`WorkloadView` and answers a :class:`Desired`: the
replicas it wants, and how many of them may run on spot. Scale-down takes starting replicas first,
then idle ready ones, then lets busy ones drain (they take no new request and leave when empty).

Spot (with a :class:`~foresight.sim.spot.SpotProcess`): a spot replica is granted only while the
market has capacity (otherwise the replica starts on demand: the fallback); at its interruption's
notice it drains and a replacement starts on demand at once (``drain_on_notice``), or, without
draining, the requests it still holds at the interruption are started again elsewhere.

**Shared base model** (``models`` given: each request's model, e.g. a LoRA adapter, all on one base
model): a replica's cold start is the image pull and the base-model load only; a request whose
adapter is not on the replica that takes it first waits for an adapter-load draw, and the replica
keeps its ``adapter_slots`` most recently used adapters. A request that waited for an adapter on a
ready replica did not hit a cold start (no pod, image or base model was started for it); it is
counted apart (``adapter_loads``), and its wait counts in its latency.

Latency = wait (+ adapter load) + ``service_s``; a request slower than ``slo_s`` (or still waiting at
the end) is an SLO violation. GPU-seconds count every replica from the moment it is asked for until it leaves.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from foresight.errors import ConfigError, InputError
from foresight.sim.spot import SpotProcess

__all__ = ["Desired", "LoadTimeSamples", "RunResult", "ServingModel", "WorkloadView", "run_workload"]


@dataclass(frozen=True)
class ServingModel:
    """What one request costs a replica and what the user expects of its latency."""

    service_s: float
    concurrency: int
    slo_s: float
    image_pull_s: float

    def __post_init__(self) -> None:
        if not (self.service_s > 0 and self.concurrency >= 1 and self.slo_s > 0 and self.image_pull_s >= 0):
            raise ConfigError(f"serving model: service_s, slo_s > 0, concurrency >= 1, image_pull_s >= 0; got {self}")


@dataclass(frozen=True)
class LoadTimeSamples:
    """Measured model-load times (seconds) a cold start draws from: a base model, plus an adapter if given."""

    base_s: np.ndarray
    adapter_s: np.ndarray | None = None

    def __post_init__(self) -> None:
        for name, values in (("base_s", self.base_s), ("adapter_s", self.adapter_s)):
            if values is not None and (values.size == 0 or not np.all(np.isfinite(values)) or np.any(values < 0)):
                raise InputError(f"load times: {name} needs at least one finite, non-negative sample")

    def draw(self, rng: np.random.Generator) -> float:
        base = float(self.base_s[rng.integers(self.base_s.size)])
        return base + self.draw_adapter(rng)

    def draw_base(self, rng: np.random.Generator) -> float:
        return float(self.base_s[rng.integers(self.base_s.size)])

    def draw_adapter(self, rng: np.random.Generator) -> float:
        return float(self.adapter_s[rng.integers(self.adapter_s.size)]) if self.adapter_s is not None else 0.0


@dataclass(frozen=True)
class WorkloadView:
    """What a controller sees each period: the requests since its last look and the replicas now."""

    now: float
    arrivals: np.ndarray
    in_flight: int
    ready: int
    starting: int


@dataclass(frozen=True)
class Desired:
    """A controller's answer: replicas wanted, of which at most ``spot`` on spot capacity."""

    replicas: int
    spot: int = 0


Controller = Callable[[WorkloadView], Desired]


@dataclass
class RunResult:
    """What one simulated run measured."""

    requests: int = 0
    cold_hits: int = 0
    slo_violations: int = 0
    on_demand_gpu_s: float = 0.0
    spot_gpu_s: float = 0.0
    interruptions: int = 0
    restarted_requests: int = 0
    cold_starts: int = 0
    adapter_loads: int = 0
    load_waits: int = 0  # requests that waited for any load: a cold start or an adapter
    latencies_s: list[float] = field(default_factory=list)

    @property
    def gpu_s(self) -> float:
        return self.on_demand_gpu_s + self.spot_gpu_s


@dataclass(eq=False)
class _Replica:
    spot: bool
    asked_at: float
    ready_at: float
    busy: dict[int, tuple[float, bool]] = field(default_factory=dict)  # request id -> (arrival, waited for an adapter)
    adapters: OrderedDict[int, None] = field(default_factory=OrderedDict)  # loaded adapters, least recently used first
    draining: bool = False
    gone: bool = False
    replaces: _Replica | None = None  # the replica this one takes over from once ready
    accepts_until: float = math.inf  # a noticed spot replica takes no request it could not finish


_ARRIVE, _READY, _FREE, _TICK, _NOTICE, _KILL = range(6)


class _Run:
    def __init__(self, arrivals: np.ndarray, controller: Controller, model: ServingModel, loads: LoadTimeSamples,
                 start_s: float, end_s: float, period_s: float, seed: int, spot: SpotProcess | None,
                 drain_on_notice: bool, models: np.ndarray | None, adapter_slots: int) -> None:
        self.arrivals, self.controller, self.model, self.loads = arrivals, controller, model, loads
        self.models, self.adapter_slots = models, adapter_slots
        self.end, self.period, self.spot, self.drain = end_s, period_s, spot, drain_on_notice
        self.rng = np.random.default_rng(seed)
        self.events: list[tuple[float, int, int, object]] = []
        self.seq = itertools.count()
        self.replicas: list[_Replica] = []
        self.queue: deque[tuple[int, float]] = deque()
        self.result = RunResult()
        self.spot_allowed = 0
        self.seen = 0  # arrivals handed to the controller so far
        self.arrived = 0
        for i, t in enumerate(arrivals):
            self._at(float(t), _ARRIVE, i)
        self._at(start_s, _TICK, None)

    def _at(self, t: float, kind: int, data: object) -> None:
        heapq.heappush(self.events, (t, next(self.seq), kind, data))

    def run(self) -> RunResult:
        while self.events and self.events[0][0] <= self.end:
            now, _, kind, data = heapq.heappop(self.events)
            if kind == _ARRIVE:
                self._arrive(now, int(data))  # type: ignore[call-overload]
            elif kind == _TICK:
                self._tick(now)
            elif kind == _FREE:
                self._freed(now, data)
            elif kind == _NOTICE:
                replica, kill_at = data  # type: ignore[misc]
                if not replica.gone:
                    self._notice(now, replica, kill_at)
            elif isinstance(data, _Replica) and not data.gone:
                if kind == _READY:
                    self._ready(now, data)
                elif kind == _KILL:
                    self._kill(now, data)
        for replica in self.replicas:
            self._leave(self.end, replica)
        for _, arrived in self.queue:
            self.result.slo_violations += 1
            self.result.latencies_s.append(self.end - arrived)
        return self.result

    # --- requests -------------------------------------------------------------------------------
    def _arrive(self, now: float, request: int) -> None:
        self.result.requests += 1
        self.arrived = request + 1
        self.queue.append((request, now))
        if not any(not r.draining for r in self.replicas):  # the activator: nothing to wait for
            self._start(now, spot=self.spot_allowed > 0)
        self._dispatch(now)

    def _dispatch(self, now: float) -> None:
        while self.queue:
            free = [r for r in self.replicas if not r.draining and r.ready_at <= now < r.accepts_until
                    and len(r.busy) < self.model.concurrency]
            if not free:
                return
            request, arrived = self.queue.popleft()
            # a replica that has the request's adapter already spares it the load
            replica = free[0] if self.models is None else next(
                (r for r in free if int(self.models[request]) in r.adapters), free[0])
            load_s = self._adapter(replica, request)
            replica.busy[request] = (arrived, load_s > 0)
            self._at(now + load_s + self.model.service_s, _FREE, (replica, request))

    def _adapter(self, replica: _Replica, request: int) -> float:
        """The adapter-load wait of ``request`` on ``replica`` (0 when loaded there, or without models)."""
        if self.models is None:
            return 0.0
        model = int(self.models[request])
        if model in replica.adapters:
            replica.adapters.move_to_end(model)
            return 0.0
        replica.adapters[model] = None
        if len(replica.adapters) > self.adapter_slots:
            replica.adapters.popitem(last=False)
        self.result.adapter_loads += 1
        return self.loads.draw_adapter(self.rng)

    def _freed(self, now: float, data: object) -> None:
        replica, request = data  # type: ignore[misc]
        if replica.gone or request not in replica.busy:
            return
        arrived, adapter = replica.busy.pop(request)
        latency = now - arrived
        self.result.latencies_s.append(latency)
        self.result.cold_hits += int(replica.ready_at > arrived)
        self.result.load_waits += int(replica.ready_at > arrived or adapter)
        self.result.slo_violations += int(latency > self.model.slo_s)
        if replica.draining and not replica.busy:
            self._leave(now, replica)
        self._dispatch(now)

    # --- replicas -------------------------------------------------------------------------------
    def _start(self, now: float, spot: bool) -> None:
        on_spot = spot and self.spot is not None and self.spot.available(now)
        load = self.loads.draw(self.rng) if self.models is None else self.loads.draw_base(self.rng)
        ready_at = now + self.model.image_pull_s + load
        replica = _Replica(on_spot, now, ready_at)
        self.replicas.append(replica)
        self.result.cold_starts += 1
        self._at(ready_at, _READY, replica)
        if on_spot:
            assert self.spot is not None
            kill = self.spot.interruption_after(now)
            if math.isfinite(kill):
                self._at(max(now, kill - self.spot.market.notice_s), _NOTICE, (replica, kill))
                self._at(kill, _KILL, replica)

    def _ready(self, now: float, replica: _Replica) -> None:
        old, replica.replaces = replica.replaces, None
        if old is not None and not old.gone:
            old.draining = True
            if not old.busy:
                self._leave(now, old)
        self._dispatch(now)

    def _leave(self, now: float, replica: _Replica) -> None:
        if replica.gone:
            return
        replica.gone = True
        for other in self.replicas:
            if other.replaces is replica:
                other.replaces = None
        held = max(0.0, min(now, self.end) - replica.asked_at)
        if replica.spot:
            self.result.spot_gpu_s += held
        else:
            self.result.on_demand_gpu_s += held
        self.replicas.remove(replica)

    def _notice(self, now: float, replica: _Replica, kill_at: float) -> None:
        self.result.interruptions += 1
        if not self.drain or replica.draining:
            return
        # make before break: it serves on until its replacement is ready (spot if the market still has
        # capacity, else on demand: the fallback), but takes no request it could not finish in time
        replica.accepts_until = kill_at - self.model.service_s
        self._start(now, spot=True)
        self.replicas[-1].replaces = replica

    def _kill(self, now: float, replica: _Replica) -> None:
        for request, (arrived, _) in sorted(replica.busy.items(), key=lambda kv: kv[1][0], reverse=True):
            self.queue.appendleft((request, arrived))
            self.result.restarted_requests += 1
        replica.busy.clear()
        self._leave(now, replica)
        if not any(not r.draining for r in self.replicas) and self.queue:
            self._start(now, spot=False)
        self._dispatch(now)

    # --- control --------------------------------------------------------------------------------
    def _tick(self, now: float) -> None:
        live = [r for r in self.replicas if not r.draining and r.replaces is None]
        waiting = len(self.queue) + sum(len(r.busy) for r in self.replicas)
        view = WorkloadView(now, self.arrivals[self.seen:self.arrived], waiting,
                            sum(r.ready_at <= now for r in live), sum(r.ready_at > now for r in live))
        self.seen = self.arrived
        desired = self.controller(view)
        if desired.replicas < 0 or not 0 <= desired.spot:
            raise InputError(f"controller asked for {desired}: replicas and spot must be >= 0")
        wanted = max(desired.replicas, 1 if waiting else 0)  # like the activator: never zero under requests
        self.spot_allowed = min(desired.spot, wanted)
        on_spot = sum(r.spot for r in live) + sum(r.replaces is not None for r in self.replicas)
        for _ in range(wanted - len(live)):
            want_spot = on_spot < self.spot_allowed
            self._start(now, spot=want_spot)
            on_spot += int(want_spot and self.replicas[-1].spot)
        surplus = len(live) - wanted
        order = sorted(live, key=lambda r: (r.ready_at <= now, len(r.busy) > 0, r.spot, -r.asked_at))
        for replica in order[:max(0, surplus)]:
            if replica.busy:
                replica.draining = True
            else:
                self._leave(now, replica)
        self._rebalance(now, [r for r in order[max(0, surplus):]], on_spot)
        self._dispatch(now)
        self._at(now + self.period, _TICK, None)


    def _rebalance(self, now: float, kept: list[_Replica], on_spot: int) -> None:
        """Move ready on-demand replicas back to spot while the market has capacity (make before break)."""
        if self.spot is None or on_spot >= self.spot_allowed or not self.spot.available(now):
            return
        taken = {id(r.replaces) for r in self.replicas if r.replaces is not None}
        for old in [r for r in kept if not r.spot and r.ready_at <= now and id(r) not in taken]:
            if on_spot >= self.spot_allowed:
                return
            self._start(now, spot=True)
            self.replicas[-1].replaces = old
            on_spot += 1


def run_workload(
    arrivals_s: np.ndarray,
    controller: Controller,
    model: ServingModel,
    loads: LoadTimeSamples,
    *,
    start_s: float,
    end_s: float,
    period_s: float,
    seed: int,
    spot: SpotProcess | None = None,
    drain_on_notice: bool = True,
    models: np.ndarray | None = None,
    adapter_slots: int = 8,
) -> RunResult:
    """Simulate ``[start_s, end_s]`` of one workload; ``arrivals_s`` sorted, within that span.

    ``models`` (one integer per arrival) runs it as several adapters on one shared base model.
    """
    arrivals = np.asarray(arrivals_s, dtype=np.float64)
    if models is not None and (np.shape(models) != arrivals.shape or adapter_slots < 1):
        raise InputError("cold-start sim: models needs one id per arrival, and adapter_slots >= 1")
    if arrivals.ndim != 1 or np.any(np.diff(arrivals) < 0) or not np.all(np.isfinite(arrivals)):
        raise InputError("cold-start sim: arrivals must be a sorted 1-D array of finite times")
    if arrivals.size and (arrivals[0] < start_s or arrivals[-1] > end_s):
        raise InputError(f"cold-start sim: arrivals must lie within [{start_s}, {end_s}]")
    if not (end_s > start_s and period_s > 0):
        raise ConfigError(f"cold-start sim: need end_s > start_s and period_s > 0, got {start_s}, {end_s}, {period_s}")
    return _Run(arrivals, controller, model, loads, start_s, end_s, period_s, seed, spot, drain_on_notice,
                None if models is None else np.asarray(models, dtype=np.int64), adapter_slots).run()
