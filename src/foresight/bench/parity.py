"""``foresight bench parity``: the controllers the benchmarks measure are the ones that run in a cluster.

One shared trace (the default cluster's traffic, or a trace file) runs through two paths side by
side, in lockstep, each on its own copy of the simulated cluster (same spec, seed and traffic) and
of one canary release (same scenario and seed):

* **in-process**, as the benchmarks and the demo run: the predictive policy's
  :class:`~foresight.control.loop.Reconciler` from :func:`foresight.runtime.autoscale.predictive_reconciler`
  on the simulator's own ports, and the release's :class:`~foresight.control.canary.CanaryRun` reading
  and routing the :class:`~foresight.sim.canary.CanarySimulator` directly;
* **live**, as ``foresight serve`` runs in a cluster: the process :func:`foresight.serve.service.build_service`
  builds from settings that point at a **real Prometheus** (the Debian binary) and a **Kubernetes API**
  (the kmock emulator, through a kubeconfig), holding one ScalingPolicy (``mode: direct``, the service's
  own capacity, start-up delay, bounds and SLO) per service and a ModelDeployment with ``spec.canary``
  beside the objects ``foresight render`` writes for it. The simulator sits behind those protocols
  (:mod:`foresight.bench.live_sim`): its samples are remote-written at its own timestamps, its
  Deployments' ``status`` follows its pods, it takes the replicas written through ``/scale``; the
  release's requests become Istio's counters and are routed as the VirtualService says.

Every 15 s step both clusters step, the live one's samples and status are published, the live
process' clock is set to the simulator's, and each path runs what is due at that same instant. After
each step the desired replicas of every service are compared (a step is identical when all are);
each difference is explained from the two audit records of that period (:mod:`foresight.bench.parity_diff`).

Why the inputs can be equal: remote write keeps each sample's timestamp (milliseconds; the
simulator's are multiples of 15 s) and float64 value exactly, Prometheus' JSON prints floats so that
they round-trip, and both sources answer a range query alike: at each point of the caller's grid (no
step alignment), the latest sample at or before it if at most 5 minutes old. The canary's
``increase(...[60s])`` over counters written at both ends of each interval is their exact difference
(Prometheus 2.x range selectors include both ends, so nothing is extrapolated).
"""

from __future__ import annotations

import importlib.util
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from foresight.adapters.kubernetes import KubernetesScaleTarget, api_client
from foresight.bench.live_sim import (
    CanaryCounters,
    EmulatedWorkloads,
    RemoteWrite,
    step_samples,
)
from foresight.bench.parity_diff import Kept, ParityResult, PathRecord, difference
from foresight.bench.prometheus_server import (
    PROMETHEUS_BIN,
    ServiceLauncher,
    missing_binary,
)
from foresight.clock import ManualClock
from foresight.config import load_settings
from foresight.control.canary import CanaryController, CanaryRun
from foresight.errors import ConfigError
from foresight.gitops.render import render
from foresight.rollout import CanaryQueries, ForesightPolicy
from foresight.runtime.autoscale import capacity_of, limits_of, predictive_reconciler
from foresight.serve.canaries import LIVE_SPEC, canary_target
from foresight.serve.service import build_service
from foresight.sim import ServiceSpec, Simulator, TraceTraffic, default_cluster
from foresight.sim.canary import (
    DEFAULT_BUCKETS_MS,
    CanaryScenario,
    CanarySimulator,
    VersionBehaviour,
)
from foresight.sim.trace import read_trace
from foresight.specs import ModelDeployment
from foresight.specs.resource import parse

__all__ = ["ParityOptions", "run_parity", "scaling_policy"]

#: Monday 2026-01-05 07:00 UTC: the run covers the morning rise of the built-in traffic (peak at 15:00).
PARITY_START = 1_767_596_400.0
STEP_S = 15.0
NAMESPACE = "parity"
LOAD_QUERY = 'foresight_offered_rps{service="$workload"}'
CPU_QUERY = 'foresight_cpu_utilisation{service="$workload"}'
#: The release's split in Git (``spec.canary.traffic``), where its analysis starts.
GIT_CANARY_WEIGHT = 10

Progress = Callable[[float, int, int], None]


@dataclass(frozen=True)
class ParityOptions:
    """What ``foresight bench parity`` runs: ``duration_s`` of ``services`` services (or a ``trace``), and
    one ``canary`` release (``good``: as the stable; ``bad``: failing 4x as often) from ``canary_at_s``."""

    duration_s: float = 3 * 3600.0
    services: int = 6
    seed: int = 0
    trace: Path | None = None
    canary: Literal["good", "bad"] = "good"
    canary_at_s: float = 3600.0

    def __post_init__(self) -> None:
        if not self.duration_s >= 4 * STEP_S:
            raise ConfigError(f"bench parity: the run must cover a few {STEP_S:g} s steps, got {self.duration_s} s")
        if not 0 < self.canary_at_s < self.duration_s or self.canary_at_s % STEP_S:
            raise ConfigError(f"bench parity: the canary must start within the run on a {STEP_S:g} s step, "
                              f"got {self.canary_at_s} s")


def run_parity(opts: ParityOptions, progress: Progress | None = None) -> ParityResult:
    """Run both paths over the shared trace and compare them (module docstring).

    Needs the ``prometheus`` binary on PATH and kmock (the ``dev`` extra); raises
    :class:`~foresight.errors.ConfigError` saying how to install whichever is missing.
    ``progress(simulated_s, steps, identical_steps)`` is called every simulated 10 minutes.
    """
    if importlib.util.find_spec("kmock") is None:
        raise ConfigError("foresight bench parity needs kmock (the Kubernetes emulator): pip install -e '.[dev]'")
    missing = missing_binary(PROMETHEUS_BIN)
    if missing:
        raise ConfigError(f"foresight bench parity needs a real Prometheus: {missing}")
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="foresight-parity-")))
        started = time.perf_counter()
        launcher = ServiceLauncher(workdir)
        stack.callback(launcher.close)
        run = _Run(opts, launcher.prometheus(out_of_order_window="30d").url, workdir, stack)
        return run.execute(progress, time.perf_counter() - started)


def simulator(opts: ParityOptions) -> Simulator:
    """One copy of the shared cluster: the default cluster's traffic, or ``opts.trace`` scaled to its peak."""
    spec = default_cluster(opts.services, seed=opts.seed, duration_s=opts.duration_s)
    traffic = None
    if opts.trace is not None:
        read_trace(opts.trace)  # fail early, naming the file and line
        traffic = TraceTraffic(path=opts.trace, peak_rps=spec.traffic.daily_peak_rps)  # type: ignore[union-attr]
    return Simulator(spec, traffic, step_s=STEP_S, duration_s=opts.duration_s, seed=opts.seed, start=PARITY_START)


def scaling_policy(service: ServiceSpec) -> dict[str, Any]:
    """The ScalingPolicy that puts ``service`` under the live predictive policy with the capacity the
    in-process loop sizes it by (:func:`~foresight.runtime.autoscale.capacity_of`: capacity, start-up
    delay, SLO) and the benchmark's bounds (:func:`~foresight.runtime.autoscale.limits_of`).

    ``maxStep`` (at least 1 in the spec) is ``maxReplicas`` and ``cooldownSeconds`` 0: the benchmark's
    bounds are min and max replicas only, so these bind nothing.
    """
    capacity, limits = capacity_of(service), limits_of(service)
    assert capacity.slo is not None  # a simulated service always has its SLO
    slo = capacity.slo
    return {
        "apiVersion": "foresight.ai/v1alpha1", "kind": "ScalingPolicy",
        "metadata": {"name": service.name, "namespace": NAMESPACE},
        "spec": {"targetRef": {"kind": "Deployment", "name": service.name}, "mode": "direct",
                 "capacityRps": capacity.capacity_rps, "startupDelaySeconds": capacity.startup_delay_s,
                 "targetUtilisationPercent": capacity.target_utilisation_percent,
                 "minReplicas": limits.min_replicas, "maxReplicas": limits.max_replicas,
                 "maxStep": limits.max_replicas, "cooldownSeconds": 0,
                 "slo": {"baseLatencySeconds": slo.base_latency_s, "latencyP95Seconds": slo.slo_latency_p95_s,
                         "errorRatio": slo.slo_error_ratio, "timeoutSeconds": slo.timeout_s}},
    }


def model_deployment(model: str) -> ModelDeployment:
    """The released model: ``v1`` stable, ``v2`` its canary at :data:`GIT_CANARY_WEIGHT` percent in Git."""
    return parse({  # type: ignore[return-value]
        "apiVersion": "foresight.ai/v1alpha1", "kind": "ModelDeployment",
        "metadata": {"name": model, "namespace": NAMESPACE},
        "spec": {"model": {"uri": f"s3://models/{model}/v1", "version": "v1"}, "framework": "sklearn",
                 "canary": {"model": {"uri": f"s3://models/{model}/v2", "version": "v2"},
                            "traffic": {"stable": 100 - GIT_CANARY_WEIGHT, "canary": GIT_CANARY_WEIGHT}}},
    })


def _scenario(kind: str) -> CanaryScenario:
    """The release: a version that serves as the stable one, or one failing 4x as often."""
    return CanaryScenario(canary=VersionBehaviour(error_rate=0.016) if kind == "bad" else VersionBehaviour())


class _Run:
    """Both paths over one shared trace, built once and stepped in lockstep (module docstring)."""

    def __init__(self, opts: ParityOptions, prometheus_url: str, workdir: Path, stack: ExitStack) -> None:
        # kmock, checked by run_parity
        from foresight.bench.kube_emulator import Cluster

        self.opts = opts
        self.sim_in, self.sim_live = simulator(opts), simulator(opts)
        specs = {s.name: s for s in self.sim_in.spec.services}
        self.names = self.sim_in.service_names
        model = next((s.name for s in self.sim_in.spec.services if s.gpus > 0), self.names[-1])
        md = model_deployment(model)
        target = canary_target(md)
        assert target is not None  # the spec above has a canary
        self.canary_at = PARITY_START + opts.canary_at_s

        # in-process: the benchmark's loops on the simulator's own ports. The loop sets replicas service
        # by service and the simulator places each one's new pods at once, so the order decides which
        # node a pod lands on (and so which pods a node loss takes); the live side hands the simulator
        # the Deployments' replicas in the simulator's service order, so the loop goes in that order too.
        self.kept = Kept()
        self.reconciler = predictive_reconciler(
            {n: capacity_of(specs[n]) for n in self.names}, self.sim_in, self.sim_in,
            {n: limits_of(specs[n]) for n in self.names}, self.kept, self.sim_in.clock, period_s=STEP_S)
        self.canary_in = CanarySimulator(_scenario(opts.canary), seed=opts.seed, start_s=self.canary_at,
                                         bucket_bounds_ms=DEFAULT_BUCKETS_MS)
        self.canary_in.set_weights(100 - GIT_CANARY_WEIGHT, GIT_CANARY_WEIGHT)
        queries = CanaryQueries.simulator().model_copy(update={"labelled": None, "correct": None})
        self.release_in = CanaryRun(
            CanaryController(ForesightPolicy(LIVE_SPEC), self.canary_in, self.canary_in, queries,
                             self.canary_in.clock, interval_s=LIVE_SPEC.interval_s, audit=self.kept,
                             target=f"{target.namespace}/{target.name}"),
            started_s=self.canary_at, before_interval=self.canary_in.advance)

        # live: the emulated API and the real Prometheus, and `foresight serve` configured for them
        cluster = Cluster()
        stack.callback(cluster.close)
        self.target = target
        kubeconfig = cluster.write_kubeconfig(workdir / "kubeconfig")
        self.remote = RemoteWrite(prometheus_url)
        stack.callback(self.remote.close)
        self.workloads = EmulatedWorkloads(cluster, NAMESPACE, KubernetesScaleTarget(api_client(str(kubeconfig)),
                                                                                   NAMESPACE))
        self.workloads.create(self.sim_live, [scaling_policy(s) for s in specs.values()])
        self.release_objects = [md.model_dump(mode="json", by_alias=True, exclude_none=True), *render(md)]
        self.clock = ManualClock(self.sim_live.now)
        settings = load_settings(
            None, audit_url=str(workdir / "serve-audit.db"),
            controllers={"period_s": STEP_S, "anomaly": False},
            live={"prometheus_url": prometheus_url, "namespace": NAMESPACE, "load_query": LOAD_QUERY,
                  "cpu_query": CPU_QUERY},
            cluster={"kubeconfig": str(kubeconfig), "policies": True, "policy_namespace": NAMESPACE,
                     "policy_period_s": STEP_S})
        self.service = build_service(settings, simulate=False, clock=self.clock)
        stack.callback(self.service.audit.close)
        stack.callback(self.service.runtime.platform.close)
        self.canary_live = CanarySimulator(_scenario(opts.canary), seed=opts.seed, start_s=self.canary_at,
                                           bucket_bounds_ms=DEFAULT_BUCKETS_MS,
                                           workloads=(target.stable_workload, target.canary_workload))
        self.counters = CanaryCounters(NAMESPACE, target.stable_workload, target.canary_workload,
                                       np.asarray(DEFAULT_BUCKETS_MS))
        self.inprocess, self.live = PathRecord(), PathRecord()

    # -- one step of each path ----------------------------------------------------------------------

    def _interval_ends(self, now: float) -> bool:
        """Whether one of the release's analysis intervals ends at ``now``."""
        return now > self.canary_at and (now - self.canary_at) % LIVE_SPEC.interval_s == 0

    def _step_inprocess(self) -> None:
        """One step as the benchmark runs it: the simulator, the release's interval if one ended, the loop."""
        started = time.perf_counter()
        sim = self.sim_in
        sim.step()
        if sim.now >= self.canary_at:
            self.release_in.advance_to(sim.now)
        if self._interval_ends(sim.now):
            self.inprocess.weights.append(self.canary_in.get_weights().canary)
        for record in self.reconciler.reconcile_once():
            self.inprocess.records[(record.time, record.target)] = record
        self.inprocess.desired.append({n: sim.get_scale(n).desired for n in self.names})
        self.inprocess.wall_s += time.perf_counter() - started

    def _step_live(self) -> None:
        """One step as a cluster lives it: the simulator's samples and status published, then ``serve``'s
        controllers at the same instant, then the replicas they wrote taken by the simulator."""
        started = time.perf_counter()
        sim = self.sim_live
        sim.step()
        now = sim.now
        samples = step_samples(sim)
        if now == self.canary_at:  # the release is deployed: its objects, its pods' counters at 0
            for obj in self.release_objects:
                self.workloads.put(obj)
            samples += self.counters.zero(now)
        elif self._interval_ends(now):  # the interval was routed as the VirtualService said
            self.canary_live.set_weights(*self._route())
            samples += self.counters.add(self.canary_live.advance())
        self.remote.push(samples)
        self.workloads.publish_status(sim)
        self.clock.sleep_until(now)
        self.service.runtime.platform.step(frozenset())
        if self._interval_ends(now):
            self.live.weights.append(self._route()[1])
        self.live.desired.append(self.workloads.follow(sim))
        self.live.wall_s += time.perf_counter() - started

    def _route(self) -> tuple[int, int]:
        """The release's (stable, canary) weights in the emulated VirtualService now."""
        t = self.target
        return self.workloads.route_weights(t.name, t.route, t.stable_subset, t.canary_subset)

    # -- the run ------------------------------------------------------------------------------------

    def execute(self, progress: Progress | None, setup_s: float) -> ParityResult:
        identical = 0
        differences: list[dict[str, Any]] = []
        clusters_differ_from: float | None = None  # the first step the two clusters recorded different metrics
        while not self.sim_in.done:
            self._step_inprocess()
            self._step_live()
            if clusters_differ_from is None and not all(
                    np.array_equal(a[-1], self.sim_live.history[m][-1], equal_nan=True)
                    for m, a in self.sim_in.history.items()):
                clusters_differ_from = self.sim_in.now
            mine, theirs = self.inprocess.desired[-1], self.live.desired[-1]
            identical += mine == theirs
            differences += [{"time": self.sim_in.now, "service": n, "inprocess": mine[n], "live": theirs[n],
                             "same_cluster_state": clusters_differ_from is None}
                            for n in self.names if mine[n] != theirs[n]]
            if progress is not None and (self.sim_in.now - PARITY_START) % 600 == 0:
                progress(self.sim_in.now - PARITY_START, len(self.inprocess.desired), identical)
        self._collect_records()
        explained = tuple(difference(d, self.inprocess.records, self.live.records, PARITY_START) for d in differences)
        return ParityResult(len(self.inprocess.desired), self.names, identical, explained, self.inprocess, self.live,
                            self.sim_in.now - PARITY_START, self.remote.samples, setup_s, self.opts.canary,
                            None if clusters_differ_from is None else clusters_differ_from - PARITY_START)

    def _collect_records(self) -> None:
        """Both paths' release records and outcomes, and the live scaling records from serve's audit store."""
        audit = self.service.audit
        for record in audit.query(since=PARITY_START, controller=self.reconciler.policy.name):
            if record.target in self.names:
                self.live.records[(record.time, record.target)] = record
        release = f"rollout/{ForesightPolicy.name}"
        self.live.canary_records = audit.query(controller=release)
        self.inprocess.canary_records = [r for r in self.kept.records if r.controller == release]
        self.inprocess.verdict = self.release_in.outcome
        model = f"{self.target.namespace}/{self.target.name}"
        live = [v for v in self.service.runtime.platform.rollout_views() if v["model"] == model]
        self.live.verdict = live[0]["outcome"] if live else "not started"
        self.live.started_s = live[0]["started_at"] - PARITY_START if live else None
        self.inprocess.started_s = self.release_in.started_s - PARITY_START
