"""kube-scheduler's extender verbs over HTTP, and the GPU view they decide on (``GET /api/v1/gpus``).

``POST /scheduler/filter``, ``/scheduler/prioritize`` and ``/scheduler/bind`` take and answer the JSON
of ``k8s.io/kube-scheduler/extender/v1`` (see :mod:`foresight.placement.extender`). They run only with
``scheduler.enabled``; kube-scheduler sends no credentials, so instead of the API's bearer token they
answer only callers from ``scheduler.clients`` (403 otherwise). kube-scheduler drops the body of any
answer but 200, so filter and bind carry a failure in their ``Error`` field; prioritize, whose answer
has none, says 400 (bad input) or 503 (the cluster cannot be read) with the reason, and
kube-scheduler then ranks without it.

Each GPU pod's verb reads the cluster anew (nodes and bound pods), so filter, prioritize and bind
each decide on the state of their moment; the last view read is what ``GET /api/v1/gpus`` and the
dashboard show (read again when older than 30 s). Pods that ask for no GPU are answered without reading anything. kube-scheduler binds
in goroutines of their own, so two binds may arrive together: they are taken one at a time, each
reading the cluster after the previous one's Binding, so two fractional pods never share the last
room of one device (the loser's bind fails and kube-scheduler schedules it again). This holds within
one Foresight process: point kube-scheduler at one extender replica.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import logging
import threading
from typing import Any, Protocol

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from foresight.clock import Clock, SystemClock
from foresight.config import ForesightSettings, SchedulerSettings
from foresight.errors import ForesightError, InputError
from foresight.placement.usage import GpuPrices
from foresight.placement.extender import (
    GpuView,
    bind_devices,
    binding_args,
    filter_nodes,
    is_managed,
    model_cost_rows,
    node_rows,
    pod_task,
    pool_summary,
    prioritize,
)

__all__ = ["SCHEDULER_PATHS", "GpuPool", "GpuSource", "Gpus", "ModelGpuCost", "add_scheduler"]

_log = logging.getLogger(__name__)
SCHEDULER_PATHS = ("/scheduler/filter", "/scheduler/prioritize", "/scheduler/bind")
#: a view older than this (no GPU pod scheduled meanwhile) is read again when the dashboard asks
_STALE_S = 30.0


class GpuSource(Protocol):
    """Where the cluster's GPU state is read and a bind is written (the Kubernetes API, or a test's)."""

    def read(self) -> GpuView: ...

    def pod(self, namespace: str, name: str) -> dict[str, Any]: ...

    def bind(self, namespace: str, name: str, uid: str, node: str, devices: tuple[int, ...]) -> None: ...


class GpuPool(BaseModel):
    """One node pool (by its pool label, else its GPU type), one GPU type of it."""

    pool: str
    gpu_type: str
    nodes: int
    spot_nodes: int
    gpus: int
    allocated_milli: int
    free_milli: int
    allocation_ratio: float
    whole_free_gpus: int
    shared_gpus: int
    fragmented_milli: float | None
    fragmentation_ratio: float | None


class ModelGpuCost(BaseModel):
    """One model's GPUs now and their hourly price (scheduler.gpu_usd_per_hour, spot at spot_price_ratio)."""

    model: str
    pods: int
    gpus: float
    spot_gpus: float
    usd_per_hour: float


class GpuNode(BaseModel):
    node: str
    gpu_type: str
    free_milli: list[int]


class Gpus(BaseModel):
    """The extender's latest view of the cluster's GPUs."""

    enabled: bool
    note: str
    policy: str | None = None
    read_at: float | None = None
    pools: list[GpuPool] = []
    models: list[ModelGpuCost] = []
    nodes: list[GpuNode] = []
    unusable: dict[str, str] = {}
    notes: list[str] = []


class _Latest:
    """The last view read, shared by the verbs' threads and the dashboard's reads."""

    def __init__(self, source: GpuSource, clock: Clock) -> None:
        self.source, self.clock = source, clock
        self._lock = threading.Lock()
        #: one bind at a time: each reads the pods the previous one bound, so two never take the same room
        self.binding = threading.Lock()
        self.view: GpuView | None = None
        self.read_at: float | None = None
        self.error: str | None = None

    def read(self) -> GpuView:
        try:
            view = self.source.read()
        except ForesightError as exc:
            with self._lock:
                self.error = str(exc)
            raise
        with self._lock:
            self.view, self.read_at, self.error = view, self.clock.now(), None
        for note in view.notes:
            _log.debug("gpu view: %s", note)
        return view


def _allowed(request: Request, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> None:
    host = request.client.host if request.client is not None else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise HTTPException(403, f"caller {host!r} is not an IP address in scheduler.clients") from None
    if not any(address in n for n in networks):
        raise HTTPException(403, f"caller {host} is not in scheduler.clients")


def _body(raw: bytes, what: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise InputError(f"{what}: the body is not JSON ({exc})") from None


def _filter_error(message: str) -> dict[str, Any]:
    return {"FailedNodes": {}, "FailedAndUnresolvableNodes": {}, "Error": message}


def scheduler_router(settings: SchedulerSettings, latest: _Latest) -> APIRouter:
    """The three verbs over ``latest``'s source."""
    router = APIRouter(tags=["scheduler"])
    networks = [ipaddress.ip_network(n, strict=False) for n in settings.clients]
    policy = settings.policy

    def do_filter(raw: bytes) -> dict[str, Any]:
        try:
            args = _body(raw, "ExtenderArgs")
            view = latest.read() if is_managed(args) else None
        except ForesightError as exc:
            _log.warning("scheduler filter: %s", exc)
            return _filter_error(str(exc))
        result = filter_nodes(args, view)
        if result["Error"]:
            _log.warning("scheduler filter: %s", result["Error"])
        return result

    def do_prioritize(raw: bytes) -> list[dict[str, Any]]:
        try:
            args = _body(raw, "ExtenderArgs")
            scores, notes = prioritize(args, latest.read() if is_managed(args) else None, policy)
        except InputError as exc:
            _log.warning("scheduler prioritize: %s", exc)
            raise HTTPException(400, str(exc)) from None
        except ForesightError as exc:
            _log.warning("scheduler prioritize: %s", exc)
            raise HTTPException(503, str(exc)) from None
        for note in notes:
            _log.info("scheduler prioritize: %s", note)
        return scores

    def do_bind(raw: bytes) -> dict[str, Any]:
        with latest.binding:
            return bind_one(raw)

    def bind_one(raw: bytes) -> dict[str, Any]:
        try:
            namespace, name, uid, node = binding_args(_body(raw, "ExtenderBindingArgs"))
            pod = latest.source.pod(namespace, name)
            live_uid = str(pod.get("metadata", {}).get("uid") or "")
            if uid and live_uid and uid != live_uid:
                raise InputError(f"pod {namespace}/{name} is now UID {live_uid}, not {uid}: it was re-created")
            devices = bind_devices(latest.read(), pod, node, policy) if pod_task(pod) is not None else ()
            latest.source.bind(namespace, name, uid, node, devices)
        except ForesightError as exc:
            _log.warning("scheduler bind: %s", exc)
            return {"Error": str(exc)}
        _log.info("scheduler bind: %s/%s to %s%s", namespace, name, node,
                  f" devices {','.join(map(str, devices))}" if devices else "")
        return {"Error": ""}

    @router.post("/scheduler/filter", summary="kube-scheduler extender: filter (ExtenderArgs -> ExtenderFilterResult)")
    async def filter_verb(request: Request) -> JSONResponse:
        """The nodes where the pod's GPUs fit now; the others with the reason (``FailedNodes``, or
        ``FailedAndUnresolvableNodes`` where preemption cannot help). Bad input: ``Error``."""
        _allowed(request, networks)
        return JSONResponse(await run_in_threadpool(do_filter, await request.body()))

    @router.post("/scheduler/prioritize", summary="kube-scheduler extender: prioritize (ExtenderArgs -> HostPriorityList)",
                 responses={400: {"description": "Malformed ExtenderArgs or an unknown GPU type."},
                            503: {"description": "The cluster's GPU state cannot be read now."}})
    async def prioritize_verb(request: Request) -> JSONResponse:
        """Scores 0..10: the policy's best node 10, its next choices 9, 8, ...; a node that no longer fits 0."""
        _allowed(request, networks)
        return JSONResponse(await run_in_threadpool(do_prioritize, await request.body()))

    @router.post("/scheduler/bind", summary="kube-scheduler extender: bind (ExtenderBindingArgs -> ExtenderBindingResult)")
    async def bind_verb(request: Request) -> JSONResponse:
        """Writes the pod's ``foresight.ai/gpu-devices`` (the devices the policy picks on the node), then its
        Binding. Failures are the ``Error`` field."""
        _allowed(request, networks)
        return JSONResponse(await run_in_threadpool(do_bind, await request.body()))

    return router


def _gpus(settings: SchedulerSettings, latest: _Latest | None) -> Gpus:
    prices = GpuPrices(settings.gpu_usd_per_hour, settings.default_gpu_usd_per_hour, settings.spot_price_ratio)
    if latest is None:
        return Gpus(enabled=False, note="the GPU scheduler extender is off (scheduler.enabled)")
    view, read_at, error = latest.view, latest.read_at, latest.error
    if view is None or read_at is None or latest.clock.now() - read_at > _STALE_S:
        try:
            view = latest.read()
            read_at, error = latest.read_at, None
        except ForesightError as exc:
            if view is None:
                return Gpus(enabled=True, policy=settings.policy, note=f"cannot read the cluster: {exc}")
            error = str(exc)
    note = f"last read failed ({error}); the view shown is older" if error else f"{len(view.holdings)} GPU pod(s) on {len(view.cluster)} node(s)"
    return Gpus(enabled=True, policy=settings.policy, read_at=read_at, note=note,
                pools=[GpuPool(**p) for p in pool_summary(view)], nodes=[GpuNode(**r) for r in node_rows(view)],
                models=[ModelGpuCost(**dataclasses.asdict(c)) for c in model_cost_rows(view, prices)],
                unusable=dict(view.unusable), notes=list(view.notes))


def add_scheduler(app: FastAPI, settings: ForesightSettings, source: GpuSource | None = None,
                  clock: Clock | None = None) -> None:
    """``GET /api/v1/gpus`` always; the extender's verbs with ``scheduler.enabled`` (over ``source``, by
    default the Kubernetes API of ``cluster.kubeconfig`` or the pod's service account)."""
    latest: _Latest | None = None
    if settings.scheduler.enabled:
        if source is None:
            from foresight.adapters.kube_gpu import KubeGpuState
            from foresight.adapters.kubernetes import api_client

            source = KubeGpuState(api_client(settings.cluster.kubeconfig))
        latest = _Latest(source, clock or SystemClock())
        app.include_router(scheduler_router(settings.scheduler, latest))

    @app.get("/api/v1/gpus", response_model=Gpus, tags=["read"])
    def gpus() -> Gpus:
        """GPU allocation and fragmentation per node pool, GPUs and $ per hour per model, and free milli-GPU
        per device of each node, from the scheduler extender's latest read of the cluster."""
        return _gpus(settings.scheduler, latest)
