"""The simulated cluster: one step of every service, node and pod at a time, deterministic per seed.

A step covers ``[now, now + step_s)`` and is recorded at its end. In order, it:

1. applies the faults due (:mod:`foresight.sim.faults`);
2. reconciles pods with the desired replicas (the Deployment controller): missing pods are placed
   and start (ready after the start-up delay), extra pods are deleted, starting ones first; pods
   that fit nowhere are Pending (:mod:`foresight.sim.pods`). This work runs only for services whose
   pod count differs from the desired one;
3. OOM-kills pods whose memory reached the limit (they restart in place, with the start-up delay);
4. propagates the load: entry services get the external traffic, every other service
   ``sum over callers of accepted x fan-out`` (:mod:`foresight.sim.topology`), each level through
   the queue model (:mod:`foresight.sim.queueing`). When every caller passes on all but 1e-12 of
   its load (the usual case) the levels collapse into one matrix product (up to 1,000 services;
   above, one sparse product per level);
5. records every metric (:mod:`foresight.sim.metrics`): per service, ``served + dropped = offered``;
   latency and error ratio are end to end (including downstream calls).

Memory of a ready pod, as a fraction of its limit: ``0.35 + 0.25 x CPU utilisation`` (of the previous
step) ``+ leaked / limit``; above 0.8 of the limit the service time grows by up to 2x at the limit
(memory pressure, from the mean over the service's ready pods), at the limit the pod is OOM-killed.
"""

from __future__ import annotations

import math
import operator
from typing import NamedTuple

import numpy as np

from foresight.capacity import queueing
from foresight.errors import ConfigError, ForesightError, InputError
from foresight.ports import Scale
from foresight.series import Series
from foresight.sim import metrics
from foresight.sim.faults import Change, timetable
from foresight.sim.pods import PodTable
from foresight.sim.spec import ClusterSpec, ServiceSpec
from foresight.sim.topology import Topology
from foresight.sim.traffic import SyntheticTraffic, TraceTraffic, entry_load

__all__ = ["Event", "SimClock", "SimulationOver", "Simulator"]

_MEMORY_IDLE, _MEMORY_PER_LOAD = 0.35, 0.25
_PRESSURE_FROM, _PRESSURE_MAX_SLOWDOWN = 0.8, 2.0
_LOSSLESS = 1e-12  # relative loss below which callers pass on all their load
_ROW = {name: i for i, name in enumerate(metrics.METRICS)}


class SimulationOver(ForesightError):
    """Asked to run past the end of the simulated period."""


class Event(NamedTuple):
    """Something that happened: ``(time_s, what)``, ``what`` starting with its kind (``oom-kill: ...``)."""

    time_s: float
    what: str

    @property
    def kind(self) -> str:
        return self.what.split(":", 1)[0]


class SimClock:
    """The simulator's time as a :class:`foresight.clock.Clock`: sleeping runs the simulation."""

    def __init__(self, sim: Simulator) -> None:
        self._sim = sim

    def now(self) -> float:
        return self._sim.now

    def sleep_until(self, t: float) -> None:
        self._sim.run_until(t)


class Simulator:
    """A cluster of services, nodes and pods under traffic; implements MetricsSource and ScaleTarget.

    ``traffic`` is a traffic spec, an array of the external rate per step (shape [steps] for the
    total, split by ``traffic_share``, or [steps, entry services]) or None for ``spec.traffic``.
    Services are numbered in topological order (callers first): see :attr:`service_names`.
    """

    def __init__(
        self,
        spec: ClusterSpec,
        traffic: SyntheticTraffic | TraceTraffic | np.ndarray | None = None,
        step_s: float = 15.0,
        duration_s: float = 86400.0,
        seed: int = 0,
        start: float = 0.0,
    ) -> None:
        if not step_s > 0 or not duration_s >= step_s:
            raise ConfigError(f"need step_s > 0 and duration_s >= step_s, got step_s={step_s}, duration_s={duration_s}")
        self.spec, self.step_s, self.start = spec, float(step_s), float(start)
        self.n_steps = math.ceil(duration_s / step_s - 1e-9)
        self.topology = Topology.of(spec.services)
        by_name = {s.name: s for s in spec.services}
        svc = [by_name[n] for n in self.topology.names]
        self._index = {n: i for i, n in enumerate(self.topology.names)}
        self._series = metrics.ServiceIndex(self.topology.names)

        def column(field: str) -> np.ndarray:
            return np.array([getattr(s, field) for s in svc], dtype=float)

        self._capacity_rps, self._base_latency = column("capacity_rps"), column("base_latency_s")
        self._timeout, self._memory_mib = column("timeout_s"), column("memory_mib")
        self._slo_p95, self._slo_error = column("slo_latency_p95_s"), column("slo_error_ratio")
        self._startup_steps = np.array([math.ceil(s.startup_delay_s / step_s - 1e-9) for s in svc])
        self._entry = self._external(traffic, svc, seed)
        self._pods = PodTable(spec.node_pools, column("cpu_cores"), self._memory_mib, column("gpus"))
        self._node_index = {n: i for i, n in enumerate(self._pods.node_names)}
        self._changes: list[Change] = timetable(spec.faults, self.step_s)
        self._next_change = 0
        self._regression = np.ones(len(svc))
        self._leak_mib_s = np.zeros(len(svc))
        self._utilisation = np.zeros(len(svc))
        self._servers_for: tuple[int, bytes] | None = None
        self._servers: queueing.Servers
        self._levels: list[tuple[int, int, queueing.Servers]] = []
        self._accepted = np.zeros(len(svc))
        self._hist = np.empty((self.n_steps, len(metrics.METRICS), len(svc)))
        self.events: list[Event] = []
        self._k = 0
        self._desired = np.array([s.initial_replicas for s in svc], dtype=np.int64)
        self._pending = np.zeros(len(svc), dtype=np.int64)
        for i, n in enumerate(self._desired):  # the run starts with the initial replicas ready
            self._pods.place(i, int(n), ready_at=0)
        self._reconcile()
        self._refresh_servers(self._pods.counts(0)[1], self._regression)
        self.clock = SimClock(self)

    # -- time ---------------------------------------------------------------------------------------

    @property
    def now(self) -> float:
        """Simulated Unix seconds: ``start`` plus the steps run so far."""
        return self.start + self._k * self.step_s

    @property
    def end(self) -> float:
        return self.start + self.n_steps * self.step_s

    @property
    def done(self) -> bool:
        return self._k >= self.n_steps

    def run_until(self, t: float) -> None:
        """Step until ``now >= t``; past :attr:`end` raises :class:`SimulationOver` (at the end)."""
        while self.now < t - 1e-9 * self.step_s:
            self.step()

    # -- what others read ---------------------------------------------------------------------------

    @property
    def service_names(self) -> tuple[str, ...]:
        return self.topology.names

    @property
    def history(self) -> dict[str, np.ndarray]:
        """Each metric's recorded values, [steps so far, services] (read-only views)."""
        out = {}
        for name, row in _ROW.items():
            view = self._hist[: self._k, row, :]
            view.flags.writeable = False
            out[name] = view
        return out

    @property
    def timestamps(self) -> np.ndarray:
        """When each recorded step ended (Unix seconds)."""
        return self.start + self.step_s * np.arange(1, self._k + 1)

    @property
    def node_names(self) -> list[str]:
        return list(self._pods.node_names)

    def pod_nodes(self, workload: str) -> list[str]:
        """The node of each pod of ``workload`` (starting or ready)."""
        return [self._pods.node_names[n] for n in self._pods.pods_of(self._service(workload))]

    def query_range(self, query: str, start: float, end: float, step_s: float) -> list[Series]:
        """:class:`foresight.ports.MetricsSource` over the recorded history."""
        return metrics.query_range(
            self._hist[: self._k], self.start + self.step_s, self.step_s, self._series, query, start, end, step_s
        )

    def get_scale(self, workload: str) -> Scale:
        """:class:`foresight.ports.ScaleTarget`: desired, existing and ready pods now."""
        i = self._service(workload)
        current, ready = self._pods.counts(self._k)
        return Scale(desired=int(self._desired[i]), current=int(current[i]), ready=int(ready[i]))

    def set_replicas(self, workload: str, replicas: int) -> None:
        """Desired replicas of ``workload`` (any n >= 0: limits are the controller's job)."""
        i = self._service(workload)
        n = operator.index(replicas)
        if n < 0:
            raise ValueError(f"replicas for {workload!r} must be >= 0, got {n}")
        self._desired[i] = n
        self._reconcile(changed=i)

    def _service(self, workload: str) -> int:
        try:
            return self._index[workload]
        except KeyError:
            known = ", ".join(self.topology.names[:10]) + (", ..." if len(self._index) > 10 else "")
            raise InputError(f"unknown workload {workload!r}; the simulated services are {known}") from None

    # -- one step -----------------------------------------------------------------------------------

    def step(self) -> None:
        """Advance one step and record it."""
        if self.done:
            raise SimulationOver(f"the simulation ended at t={self.end:g} s; it cannot step further")
        k = self._k
        while self._next_change < len(self._changes) and self._changes[self._next_change].step <= k:
            self._apply(self._changes[self._next_change])
            self._next_change += 1
        self._reconcile()
        leaking = self._pods.leaked_mib.size > 0 and bool(self._pods.leaked_mib.max() > 0)
        memory = self._memory(k, leaking)
        current, ready = self._pods.counts(k)
        slowdown = self._regression
        if leaking:
            pressure = np.clip((memory - _PRESSURE_FROM) / (1.0 - _PRESSURE_FROM), 0.0, 1.0)
            slowdown = slowdown * (1.0 + (_PRESSURE_MAX_SLOWDOWN - 1.0) * pressure)
        self._refresh_servers(ready, slowdown)

        offered, q = self._propagate(self._entry[k])
        success = np.ones_like(offered)
        np.divide(q.served, offered, out=success, where=offered > 0)
        error = self.topology.end_to_end_error(success)
        latency = self.topology.end_to_end_latency(np.stack([q.latency_mean, q.latency_p95]))

        row = self._hist[k]
        row[_ROW["foresight_offered_rps"]] = offered
        row[_ROW["foresight_served_rps"]] = q.served
        row[_ROW["foresight_dropped_rps"]] = q.dropped
        row[_ROW["foresight_error_ratio"]] = error
        row[_ROW["foresight_latency_mean_seconds"]] = latency[0]
        row[_ROW["foresight_latency_p95_seconds"]] = latency[1]
        row[_ROW["foresight_cpu_utilisation"]] = q.utilisation
        row[_ROW["foresight_memory_utilisation"]] = memory
        row[_ROW["foresight_capacity_rps"]] = self._servers.capacity
        row[_ROW["foresight_replicas_desired"]] = self._desired
        row[_ROW["foresight_replicas_current"]] = current
        row[_ROW["foresight_replicas_ready"]] = ready
        row[_ROW["foresight_pods_pending"]] = self._pending
        row[_ROW["foresight_slo_violation"]] = (latency[1] > self._slo_p95) | (error > self._slo_error)
        self._utilisation = q.utilisation
        if self._leak_mib_s.any():
            pods = self._pods
            pods.leaked_mib += np.where(pods.alive, self._leak_mib_s[pods.service], 0.0) * self.step_s
        self._k += 1

    def _propagate(self, external: np.ndarray) -> tuple[np.ndarray, queueing.QueueState]:
        """Offered load and queue state of every service for the entries' ``external`` rates.

        First as if no caller lost requests (:meth:`Topology.lossless`); if some caller lost
        more than ``_LOSSLESS`` of its load, again level by level with what each caller accepted.
        """
        topo = self.topology
        offered = topo.lossless(external)
        q = queueing.queue(offered, self._servers)
        if not np.any((offered - q.served)[topo.callers] > _LOSSLESS * offered[topo.callers]):
            return offered, q
        accepted = self._accepted
        offered[: topo.n_entries] = external
        for level, (a, b, part) in enumerate(self._levels):
            if a:
                topo.inflow(level, accepted, offered)
            accepted[a:b] = queueing.accepted(offered[a:b], part)
        return offered, queueing.queue(offered, self._servers)

    def _memory(self, k: int, leaking: bool) -> np.ndarray:
        """Mean memory fraction of each service's ready pods; OOM-kills pods at the limit first."""
        base = _MEMORY_IDLE + _MEMORY_PER_LOAD * self._utilisation
        pods = self._pods
        if not leaking:
            return np.where(pods.counts(k)[1] > 0, base, 0.0)
        used = base[pods.service] + pods.leaked_mib / self._memory_mib[pods.service]
        oom = np.flatnonzero(pods.alive & (used >= 1.0))
        if oom.size:
            services = pods.service[oom]
            pods.restart(oom, k + self._startup_steps[services])
            for i, n in zip(*np.unique(services, return_counts=True)):
                name, limit = self.topology.names[i], self._memory_mib[i]
                self._event(f"oom-kill: {n} pod(s) of {name} reached the {limit:g} MiB memory limit and restart")
            used[oom] = base[pods.service[oom]]
        ready = pods.ready_mask(k)
        count = np.bincount(pods.service[ready], minlength=len(base))
        total = np.bincount(pods.service[ready], weights=used[ready], minlength=len(base))
        return np.divide(total, count, out=np.zeros(len(base)), where=count > 0)  # bincount of nothing is int

    def _refresh_servers(self, ready: np.ndarray, slowdown: np.ndarray) -> None:
        key = (self._pods.version, slowdown.tobytes())
        if key == self._servers_for:
            return
        self._servers_for = key
        self._servers = queueing.servers(ready.astype(float), self._capacity_rps, self._base_latency, slowdown, self._timeout)
        self._levels = [(a, b, self._servers.part(a, b)) for a, b in self.topology.bounds]

    def _reconcile(self, changed: int | None = None) -> None:
        """Create or delete pods so each service has its desired count (what fits).

        ``changed``: the one service whose desired count moved since the last reconcile. Every
        reconcile leaves each service with its desired count or the rest pending, so when nothing is
        pending only ``changed`` can differ and the others are not looked at (a scale change then
        costs no time in the number of services); otherwise all are, in order, as pods freed by one
        may let a pending one fit.
        """
        if changed is not None and not self._pending.any():
            gap = int(self._desired[changed] - self._pods.counts(self._k)[0][changed])
            if gap > 0:
                placed = self._pods.place(changed, gap, ready_at=self._k + int(self._startup_steps[changed]))
                if placed < gap:
                    self._pending[changed] = gap - placed
                    self._unschedulable(changed, gap - placed)
            elif gap < 0:
                self._pods.remove(changed, -gap)
            return
        current = self._pods.counts(self._k)[0]
        gaps = self._desired - current
        if not gaps.any():
            if self._pending.any():
                self._pending[:] = 0
            return
        for i in np.flatnonzero(gaps):
            if gaps[i] > 0:
                self._pods.place(int(i), int(gaps[i]), ready_at=self._k + int(self._startup_steps[i]))
            else:
                self._pods.remove(int(i), int(-gaps[i]))
        pending = np.maximum(self._desired - self._pods.counts(self._k)[0], 0)
        for i in np.flatnonzero((pending > 0) & (self._pending == 0)):
            self._unschedulable(int(i), pending[i])
        self._pending = pending

    def _unschedulable(self, i: int, pending: int) -> None:
        cpu, mem, gpu = self._pods.request[i]
        self._event(
            f"unschedulable: {pending} pod(s) of {self.topology.names[i]} fit on no node "
            f"(each needs {cpu:g} CPU, {mem:g} MiB, {gpu:g} GPU)"
        )

    def _apply(self, change: Change) -> None:
        if change.what in ("node-down", "node-up"):
            node = self._node_index[change.target]
            if change.what == "node-up":
                self._pods.node_up(node)
                self._event(f"{change.fault}: node {change.target} is back, empty")
            else:
                evicted = self._pods.node_down(node)
                self._event(f"{change.fault}: node {change.target} is gone with its {evicted} pod(s)")
            return
        i = self._index[change.target]
        if change.what == "leak":
            self._leak_mib_s[i] = max(0.0, self._leak_mib_s[i] + change.value)
            if change.value < 0:
                self._pods.free_leaks(i)
            self._event(f"{change.fault}: pods of {change.target} leak {self._leak_mib_s[i] * 3600:g} MiB/h")
        else:
            self._regression[i] *= change.value
            self._event(f"{change.fault}: service time of {change.target} is x{self._regression[i]:.3g}")

    def _event(self, what: str) -> None:
        self.events.append(Event(self.now, what))

    def _external(self, traffic: object, services: list[ServiceSpec], seed: int) -> np.ndarray:
        """External rate of each entry service per step: [n_steps, entries]."""
        shares = np.array([s.traffic_share for s in services[: self.topology.n_entries]])
        if traffic is None:
            traffic = self.spec.traffic
        if isinstance(traffic, (SyntheticTraffic, TraceTraffic)):
            return entry_load(traffic, shares, self.n_steps, self.step_s, self.start, seed)
        rate = np.asarray(traffic, dtype=float)
        given = rate.shape
        if rate.ndim == 1:
            rate = rate[:, None] * (shares / shares.sum())
        if rate.ndim != 2 or rate.shape[0] < self.n_steps or rate.shape[1] != shares.size:
            raise ConfigError(
                f"traffic array of shape {given} does not cover {self.n_steps} steps x "
                f"{shares.size} entry services"
            )
        if not np.all(np.isfinite(rate)) or (rate < 0).any():
            raise ConfigError("traffic array must hold finite rates >= 0")
        return rate[: self.n_steps]
