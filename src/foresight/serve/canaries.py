"""Live canaries: every ModelDeployment's canary analysed on Prometheus and routed through its Istio
VirtualService, by the same :class:`~foresight.control.canary.CanaryRun` the benchmark measures.

Each ``period_s`` the ModelDeployments are listed (level-based: the whole current set); each one with
``spec.canary`` is a :class:`CanaryTarget`, named exactly as ``foresight render`` names its objects
(read from :func:`~foresight.gitops.render.render` itself, so the two cannot drift apart): the
``<name>-stable`` and ``<name>-canary`` Deployments are the workloads of Istio's metrics, the
VirtualService ``<name>`` routes the two subsets of one host. Its release runs Foresight's canary
policy every ``interval_s`` on latency, slow requests and 5xx from Istio's standard metrics (label
feedback is not a mesh metric, so the accuracy test is off) and sets the route's weights, each
decision audited (``rollout/foresight``, the ModelDeployment as target).

A release is keyed on the canary's model version: one that ended (promoted, rolled back, undecided)
keeps its final weights and is not restarted until ``spec.canary.model.version`` changes; a
ModelDeployment whose canary is gone (promoted in Git, or deleted) is forgotten. Only the replica
that acts (:class:`~foresight.serve.leader.ActingGate`) runs releases; when it starts one it reads the
route first, so a verdict that an earlier leader (or this process before a restart) applied is
adopted, never undone: a route at canary 100% (0%) while Git says otherwise is a promotion
(rollback) already taken. Any other weight is analysed afresh from where it stands.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from foresight.clock import Clock
from foresight.control.audit import AuditRecord, AuditSink
from foresight.control.canary import (
    AWAITING,
    PROMOTED,
    ROLLED_BACK,
    CanaryController,
    CanaryRun,
)
from foresight.errors import ForesightError
from foresight.gitops.render import TRACK_LABEL, render
from foresight.ports import MetricsSource
from foresight.rollout import CanaryQueries, ForesightPolicy, ForesightSpec
from foresight.rollout.router import TrafficRouter
from foresight.serve.leader import ActingGate
from foresight.serve.rollouts import UnknownRelease
from foresight.specs import API_VERSION, ModelDeployment
from foresight.specs.resource import parse

if TYPE_CHECKING:
    from foresight.serve.live import PolicyLister

__all__ = ["LIVE_SPEC", "CanaryTarget", "LiveCanaries", "RouterFactory", "canary_target"]

_log = logging.getLogger(__name__)

#: Foresight's policy on what a mesh measures: latency, slow requests and 5xx (no label feedback).
LIVE_SPEC = ForesightSpec(misclassification_ratio=None)


@dataclass(frozen=True)
class CanaryTarget:
    """One ModelDeployment's canary, with the names ``foresight render`` gives its objects."""

    namespace: str
    name: str  # the ModelDeployment's, also its VirtualService's
    version: str  # the canary's model version: what a release is keyed on
    stable_workload: str
    canary_workload: str
    host: str
    route: str
    stable_subset: str
    canary_subset: str
    git_canary_weight: int  # spec.canary.traffic.canary, what Git (and render) route to the canary

    @property
    def release_id(self) -> str:
        """The id the API approves a release by (path-safe)."""
        return f"{self.namespace}.{self.name}.{self.version}"


#: Builds the router of one target (:class:`~foresight.adapters.istio.IstioRouter` on a cluster).
RouterFactory = Callable[[CanaryTarget], TrafficRouter]


def canary_target(md: ModelDeployment) -> CanaryTarget | None:
    """Where ``md``'s canary runs, read from the objects ``render`` makes of it; None without a canary."""
    canary = md.spec.canary
    if canary is None:
        return None
    docs = render(md)
    tracks = {d["metadata"]["labels"][TRACK_LABEL]: d["metadata"]["name"] for d in docs if d["kind"] == "Deployment"}
    [vs] = [d for d in docs if d["kind"] == "VirtualService"]
    [http] = vs["spec"]["http"]
    stable, canary_dest = (r["destination"] for r in http["route"])
    return CanaryTarget(md.metadata.namespace, vs["metadata"]["name"], canary.model.version, tracks["stable"],
                        tracks["canary"], stable["host"], http["name"], stable["subset"], canary_dest["subset"],
                        canary.traffic.canary)


@dataclass
class _Release:
    target: CanaryTarget
    run: CanaryRun


class LiveCanaries:
    """The rollout controller of live ``foresight serve`` (module docstring)."""

    name = "rollout"

    def __init__(self, lister: PolicyLister, source: MetricsSource, routers: RouterFactory, clock: Clock,
                 gate: ActingGate, *, namespace: str | None, period_s: float, audit: AuditSink | None,
                 require_approval: bool, spec: ForesightSpec = LIVE_SPEC) -> None:
        self.lister, self.source, self.routers, self.clock, self.gate = lister, source, routers, clock, gate
        self.namespace, self.period_s, self.audit = namespace, period_s, audit
        self.require_approval, self.spec = require_approval, spec
        self.targets: dict[tuple[str, str], CanaryTarget] = {}
        self.problems: tuple[str, ...] = ()
        self.error: str | None = None  # the last failure to list the ModelDeployments
        self.releases: dict[tuple[str, str], _Release] = {}
        self.waiting: dict[tuple[str, str], str] = {}  # why a target's release has not started (route unread)
        self._retry_at: dict[tuple[str, str], float] = {}
        self._next_list = -math.inf

    def describe(self) -> str:
        """What runs, for the controllers' description."""
        where = f"namespace {self.namespace}" if self.namespace else "all namespaces"
        gate = "; a promotion waits for approval" if self.require_approval else ""
        return (f"Foresight's canary policy on every ModelDeployment with spec.canary ({where}, listed every "
                f"{self.period_s:g} s): latency, slow requests and 5xx from Istio's metrics in Prometheus every "
                f"{self.spec.interval_s:g} s, weights set on the VirtualService that foresight render writes{gate}")

    def sync(self, objects: list[Mapping[str, Any]]) -> None:
        """Take the ModelDeployments listed now as the whole set (a malformed one is a problem, not a stop)."""
        targets: dict[tuple[str, str], CanaryTarget] = {}
        problems = []
        for body in objects:
            try:
                md = parse(body)
            except ForesightError as exc:
                problems.append(str(exc))
                continue
            assert isinstance(md, ModelDeployment)
            target = canary_target(md)
            if target is not None:
                targets[(target.namespace, target.name)] = target
        self.targets, self.problems = targets, tuple(problems)
        for gone in set(self.waiting) - set(targets):
            del self.waiting[gone]
        for key, release in list(self.releases.items()):
            if key not in self.targets or self.targets[key].version != release.target.version:
                del self.releases[key]  # the canary is gone or a new version replaced it

    def step(self, now: float) -> bool:
        """List the ModelDeployments when due, then run every release whose interval has ended; False if idle."""
        did = False
        if now >= self._next_list:
            self._next_list = now + self.period_s
            try:
                self.sync(self.lister.list_objects(API_VERSION, "ModelDeployment", self.namespace))
                self.error = None
            except ForesightError as exc:  # keep the last set; the next period lists again
                self.error = f"ModelDeployments not listed: {exc}"
                _log.warning("rollout: %s", self.error)
            did = True
        if not self.gate.acting():
            self.releases.clear()  # the leader runs them; on taking over, each starts from its route
            return did
        for key, target in self.targets.items():
            release = self.releases.get(key)
            if release is None and now >= self._retry_at.get(key, -math.inf):
                release = self._start(target, now)
            if release is not None and release.run.advance_to(now):
                did = True
        return did

    def _start(self, target: CanaryTarget, now: float) -> _Release | None:
        """A release of ``target`` from the route's weights now (None while the route cannot be read)."""
        router = self.routers(target)
        queries = CanaryQueries(namespace=target.namespace, stable_workload=target.stable_workload,
                                canary_workload=target.canary_workload, labelled=None, correct=None)
        controller = CanaryController(ForesightPolicy(self.spec), self.source, router, queries, self.clock,
                                      interval_s=self.spec.interval_s, audit=self.audit,
                                      require_approval=self.require_approval,
                                      target=f"{target.namespace}/{target.name}")
        run = CanaryRun(controller, started_s=now)
        key = (target.namespace, target.name)
        try:
            weight = router.get_weights().canary
        except ForesightError as exc:  # tried again next period; said once
            if self.waiting.get(key) != str(exc):
                _log.warning("rollout: %s/%s: route not read, the release waits: %s", *key, exc)
            self.waiting[key], self._retry_at[key] = str(exc), now + self.period_s
            return None
        self.waiting.pop(key, None)
        controller.weight = weight
        if weight in (0, 100) and weight != target.git_canary_weight:
            run.adopt(PROMOTED if weight == 100 else ROLLED_BACK, weight,
                      f"the route sends {weight}% to {target.version} while Git says {target.git_canary_weight}%: "
                      "a verdict taken before this replica ran the release; kept")
        release = self.releases[key] = _Release(target, run)
        return release

    def views(self) -> list[dict[str, Any]]:
        """Each release this replica runs, as plain data for the API."""
        out = []
        for key, release in sorted(self.releases.items()):
            target, run = release.target, release.run
            out.append({
                "id": target.release_id, "model": f"{target.namespace}/{target.name}", "version": target.version,
                "started_at": run.started_s, "outcome": run.outcome, "weight": run.controller.weight,
                "awaiting_approval": run.outcome == AWAITING,
                "steps": [{"time": s.time_s, "weight": s.weight, "action": s.action, "reason": s.reason}
                          for s in run.steps[-240:]],
            })
        return out

    def approve(self, release_id: str, who: str) -> AuditRecord:
        """Route all traffic to a release awaiting approval (on the acting replica); the audit record."""
        release = next((r for r in self.releases.values() if r.target.release_id == release_id), None)
        if release is None:
            known = [t.release_id for t in self.targets.values()]
            raise UnknownRelease(f"release {release_id!r} not found on this replica; known: {known}")
        return release.run.approve(who)
