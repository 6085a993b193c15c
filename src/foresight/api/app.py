"""The HTTP face of ``foresight serve``: probes, ``/metrics``, read APIs, a person's actions, the dashboard.

Reads go through :meth:`Stepper.read`, between two controller steps. Writes exist only where a
person or a model server must act (pause/resume a controller, approve a gated promotion, push
model inputs) and need the bearer token of ``api.token`` (compared in constant time); without a
configured token every write is refused. The token is checked before a byte of the body is read,
and no body larger than ``api.max_body_bytes`` is read (:class:`_WriteGuard`).
The dashboard (``/``) is static package data and draws with plotly.js, served from the ``plotly``
Python package (no CDN); the page arrives with the current state inlined, so its charts are drawn
on first paint; ``/api/v1/events`` answers each step with a server-sent event so it redraws live.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import math
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    Response,
    StreamingResponse,
)
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from pydantic import SecretStr
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from foresight import __version__
from foresight.adapters.alertmanager_webhook import WebhookMessage, alerts_of, parse_message
from foresight.api import models as m
from foresight.api.heal import add_heal
from foresight.api.scheduler import SCHEDULER_PATHS, add_scheduler
from foresight.control.audit import AuditRecord
from foresight.errors import ConfigError, ForesightError, InputError, ServiceUnavailable
from foresight.runtime.alert_inbox import InboxFull
from foresight.serve.model_loop import NotAwaitingModelApproval, UnknownModel
from foresight.serve.rollouts import NotAwaitingApproval, UnknownRelease
from foresight.serve.service import Service
from foresight.serve.stepper import Stepper, UnknownController

__all__ = ["create_app"]

STATIC = Path(__file__).with_name("static")
_bearer = HTTPBearer(auto_error=False, description="api.token of the Foresight config")
_log = logging.getLogger(__name__)
T = TypeVar("T")
#: The window of the dashboard's charts, seconds (dashboard.js asks for the same).
DASHBOARD_WINDOW_S = 6 * 3600.0
#: Where index.html takes the state it draws on first paint.
_STATE_MARK = "<!--foresight-state-->"
#: An event response waits this long for a new step, then ends; the browser reconnects after _EVENT_RETRY_MS.
_EVENT_WAIT_S = 1.0
_EVENT_RETRY_MS = 500


def _plotly_js() -> Path:
    """plotly.min.js as shipped inside the ``plotly`` Python package."""
    path = Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))
    if not path.is_file():
        raise ServiceUnavailable(f"plotly.js not found at {path}; reinstall the plotly package")
    return path


def create_app(service: Service, *, manage_runtime: bool = True) -> FastAPI:
    """The FastAPI app over ``service``; with ``manage_runtime`` it starts the runtime on start-up and
    stops it (finishing the current step, flushing the audit log) on shutdown."""
    runtime = service.runtime

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        warming: threading.Thread | None = None
        if manage_runtime and service.warmup_until_s is not None:  # serve first, warm up beside it
            warming = threading.Thread(target=_warm_up_then_start, args=(service,), name="foresight-warmup",
                                       daemon=True)
            warming.start()
        elif manage_runtime:
            runtime.start()
        try:
            yield
        finally:
            if manage_runtime:
                await asyncio.to_thread(runtime.stop)  # a warm-up in progress ends after its slice
                if warming is not None:
                    await asyncio.to_thread(warming.join)

    app = FastAPI(
        title="Foresight",
        version=__version__,
        description="Foresight's controllers: what they observed, predicted and decided, and why.",
        lifespan=lifespan,
    )

    app.state.service = service
    app.state.closing = threading.Event()  # set when the server begins to shut down: event streams end
    app.add_middleware(_WriteGuard, token=service.settings.api.token, limit=service.settings.api.max_body_bytes,
                       open_paths=SCHEDULER_PATHS if service.settings.scheduler.enabled else ())
    process = CollectorRegistry()  # process_* (memory, CPU, open files), python_info, python_gc_*
    for collector in (ProcessCollector, PlatformCollector, GCCollector):
        collector(registry=process)
    # the controllers' series change only in a step: written once per step, whoever scrapes; the rest
    # (drift gauges fed by pushed inputs, sources, pauses, the Lease, the process) is read at each scrape
    per_step_metrics = _PerStep(runtime, lambda: generate_latest(_Scrape([service.metrics.registry,
                                                                          service.exporter.registry])))
    scrape = _Scrape([service.drift_registry, _RuntimeCollector(service), process])
    per_step_workloads = _PerStep(runtime, lambda: _workloads(service))

    @app.exception_handler(ServiceUnavailable)
    async def unavailable(request: Request, exc: ServiceUnavailable) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    # -- probes and metrics -------------------------------------------------------------------------

    @app.get("/healthz", response_model=m.Health, tags=["probes"])
    async def healthz() -> m.Health:
        """Liveness: the process answers. On the event loop, not in a worker thread: it needs nothing that
        blocks, and must answer even while every worker waits for the runtime's lock."""
        return m.Health(status="ok")

    @app.get("/readyz", response_model=m.Readiness, tags=["probes"],
             responses={503: {"model": m.Readiness, "description": "Not ready; the checks say why."}})
    def readyz() -> JSONResponse:
        """Readiness: the simulator's warm-up is done, the controllers' thread runs and the audit store answers.

        A standby (leader election) is ready too: it serves the API and the views; ``role`` says
        whether it acts."""
        target = service.warmup_until_s
        if target is not None:  # answered without the runtime's lock, which the warm-up holds slice by slice
            checks = {"warm_up": f"warming up: simulated {runtime.platform.now():.0f} of {target:.0f} s of history",
                      "controllers": "start once the warm-up is done"}
            return JSONResponse(m.Readiness(ready=False, role=runtime.gate.role, checks=checks).model_dump(),
                                status_code=503)
        checks = {"controllers": "ok" if runtime.started and runtime.error is None
                  else (runtime.error or "not started")}
        try:
            runtime.read(lambda: service.audit.query(limit=1))
            checks["audit_store"] = "ok"
        except ForesightError as exc:
            checks["audit_store"] = str(exc)
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse(m.Readiness(ready=ready, role=runtime.gate.role, checks=checks).model_dump(),
                            status_code=200 if ready else 503)

    @app.get("/metrics", tags=["probes"], response_class=Response,
             responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."}})
    def metrics() -> Response:
        """Foresight's own ``foresight_*`` series, the exporter's ``ai_predicted_load`` gauges, and the
        process' (``process_*``, ``python_*``)."""
        return Response(runtime.read(lambda: per_step_metrics() + generate_latest(scrape)),
                        media_type=CONTENT_TYPE_LATEST)

    # -- reads --------------------------------------------------------------------------------------

    @app.get("/api/v1/status", response_model=m.Status, tags=["read"])
    def status() -> m.Status:
        """Mode, time, controllers (enabled, paused) and the health of each data source."""
        return runtime.read(lambda: _status(service))

    @app.get("/api/v1/workloads", response_model=m.Workloads, tags=["read"])
    def workloads() -> m.Workloads:
        """Every workload with its latest load, capacity, replicas, forecast and anomaly score."""
        return per_step_workloads()

    @app.get("/api/v1/workloads/{name:path}", response_model=m.WorkloadDetail, tags=["read"],
             responses={404: {"description": "No such workload."}})
    def workload(name: str, window_s: Annotated[float, Query(gt=0, le=30 * 86400)] = 6 * 3600.0) -> m.WorkloadDetail:
        """One workload's series over the last ``window_s``: load, forecast, capacity, replicas, anomaly score."""
        detail = runtime.read(lambda: _workload(service, name, window_s))
        if detail is None:
            raise HTTPException(404, f"unknown workload {name!r}")
        return detail

    @app.get("/api/v1/decisions", response_model=m.DecisionPage, tags=["read"])
    def decisions(
        workload: str | None = None,
        controller: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
        offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
        changes_only: Annotated[bool, Query(description="Only decisions that changed something or failed: "
                                            "replicas applied != previous, an error, or any non-replica "
                                            "action (alerts, canary steps, a person's pause).")] = False,
    ) -> m.DecisionPage:
        """The audit log, newest first, filtered by workload, controller and ``since <= time < until``."""
        return runtime.read(lambda: _decision_page(service, workload, controller, since, until, limit, offset,
                                                   changes_only))

    @app.get("/api/v1/forecasts", response_model=m.Forecasts, tags=["read"])
    def forecasts() -> m.Forecasts:
        """The latest load forecast of every workload (quantiles over the horizon)."""
        return runtime.read(lambda: _forecasts(service))

    @app.get("/api/v1/anomalies", response_model=m.Anomalies, tags=["read"])
    def anomalies() -> m.Anomalies:
        """Each workload's latest anomaly score, and the alerts opened."""
        return m.Anomalies.model_validate(runtime.read(runtime.platform.anomaly_view))

    @app.get("/api/v1/rollouts", response_model=m.Rollouts, tags=["read"])
    def rollouts() -> m.Rollouts:
        """Canary releases: weights over time, verdicts and their reasons."""
        return runtime.read(lambda: _rollouts(service))

    @app.get("/api/v1/drift", response_model=m.Drift, tags=["read"])
    def drift() -> m.Drift:
        """Per model: drift statistic per feature over time vs its threshold, the verdict, and the feedback
        loop's retrains, registered versions (gates, aliases) and canary."""
        return runtime.read(lambda: _drift(service))

    @app.get("/api/v1/incidents", response_model=m.Incidents, tags=["read"])
    def incidents() -> m.Incidents:
        """Open and recent incidents: root-cause candidates with their evidence, every alert (the timeline),
        the suppressed ones, and the topology around them; and the webhook queue's state."""
        return runtime.read(lambda: _incidents(service))

    @app.get("/api/v1/incidents/{incident_id}", response_model=m.IncidentView, tags=["read"],
             responses={404: {"description": "No such incident (or resolved long ago and forgotten)."}})
    def incident(incident_id: str) -> m.IncidentView:
        """One incident, as listed by /api/v1/incidents."""
        controller = runtime.platform.incidents
        view = runtime.read(lambda: controller.view(incident_id)) if controller is not None else None
        if view is None:
            raise HTTPException(404, f"unknown incident {incident_id!r}")
        return m.IncidentView.model_validate(view)

    @app.get("/api/v1/events", tags=["read"], response_class=StreamingResponse,
             responses={200: {"content": {"text/event-stream": {}}, "description": "Server-sent events."}})
    async def events(request: Request) -> StreamingResponse:
        """The next ``tick`` event (platform time, sources' health) once a step has run, then the response ends.

        An ``EventSource`` reconnects ``retry`` ms later with the ``Last-Event-ID`` it saw, so it gets
        one tick per step it has not seen, without gaps or repeats. A response that ends, rather than
        one stream that never does: a fetch that never completes keeps clients that wait for the
        network to go idle (a headless browser's screenshot under a virtual-time budget) waiting for
        ever. Without a new step within a second the response ends with no event (the browser reconnects)."""
        last = request.headers.get("last-event-id", "")
        seen = int(last) if last.isdigit() else -1

        async def stream() -> AsyncIterator[str]:
            yield f"retry: {_EVENT_RETRY_MS}\n\n"
            deadline = asyncio.get_running_loop().time() + _EVENT_WAIT_S
            while not (runtime.stopping or app.state.closing.is_set() or await request.is_disconnected()):
                if runtime.version != seen:
                    payload = runtime.read(lambda: {
                        "now": runtime.platform.now(), "version": runtime.version,
                        "sources_ok": all(s.ok for s in runtime.platform.sources()),
                    })
                    yield f"id: {payload['version']}\nevent: tick\ndata: {json.dumps(payload)}\n\n"
                    return
                if asyncio.get_running_loop().time() >= deadline:
                    return
                await asyncio.sleep(0.1)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    # -- a person's actions -------------------------------------------------------------------------

    @app.post("/api/v1/controllers/{name}/pause", response_model=m.DecisionRow, tags=["act"],
              responses={401: {"description": "No valid bearer token."}, 404: {"description": "No such controller."}})
    def pause(name: str, who: Writer) -> m.DecisionRow:
        """Pause a controller (it skips its periods until resumed); audited."""
        return _act(lambda: runtime.set_paused(name, True, who))

    @app.post("/api/v1/controllers/{name}/resume", response_model=m.DecisionRow, tags=["act"],
              responses={401: {"description": "No valid bearer token."}, 404: {"description": "No such controller."}})
    def resume(name: str, who: Writer) -> m.DecisionRow:
        """Resume a paused controller; audited."""
        return _act(lambda: runtime.set_paused(name, False, who))

    @app.post("/api/v1/rollouts/{release_id}/approve", response_model=m.DecisionRow, tags=["act"],
              responses={401: {"description": "No valid bearer token."}, 404: {"description": "No such release."},
                         409: {"description": "The release is not awaiting approval."}})
    def approve(release_id: str, who: Writer) -> m.DecisionRow:
        """Approve a gated promotion: the canary takes all traffic; audited."""
        return _act(lambda: runtime.approve(release_id, who))

    @app.post("/api/v1/alerts/webhook", response_model=m.WebhookAccepted, tags=["act"],
              responses={401: {"description": "No valid bearer token."},
                         422: {"description": "Not Alertmanager's webhook JSON (version 4); the detail names each "
                               "problem and where."},
                         429: {"description": "The alert queue is full; nothing was taken. Retry after the "
                               "Retry-After header's seconds."},
                         503: {"description": "The incident controller does not run, or the process is stopping."}},
              # the body is read and parsed by the route (precise 422s); declared here for clients and fuzzers
              openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                  "schema": _inlined(WebhookMessage.model_json_schema())}}}})
    async def alert_webhook(request: Request, who: Writer) -> m.WebhookAccepted:
        """Alertmanager's webhook receiver: route any Alertmanager here (``webhook_configs``, with this API's
        bearer token) and its alerts join Foresight's own in incidents. The body is Alertmanager's
        notification (version 4: receiver, status, alerts[{status, labels, annotations, startsAt, endsAt,
        fingerprint, generatorURL}], groupLabels, commonLabels, ...). Accepted whole (every alert is correlated
        at the controller's next period, a graceful stop included) or refused whole (429 with Retry-After).
        Alertmanager (0.25, measured) does not retry a 429 within the notification: it sends the group again at
        its next ``group_interval``, so a refused notification is delayed by that much, not lost."""
        controller = runtime.platform.incidents
        if controller is None:
            raise HTTPException(503, f"incidents: {runtime.platform.controllers['incidents'].detail}")
        try:
            message = parse_message(await request.body())
        except InputError as exc:
            raise HTTPException(422, str(exc)) from None
        alerts = alerts_of(message)
        try:
            pending = controller.inbox.offer(alerts)
        except InboxFull as exc:
            wait = str(math.ceil(exc.retry_after_s or 1.0))
            raise HTTPException(429, str(exc), headers={"Retry-After": wait}) from None
        return m.WebhookAccepted(accepted=len(alerts), skipped=len(message.alerts) - len(alerts), pending=pending,
                                 truncated=message.truncatedAlerts)

    @app.post("/api/v1/models/{model}/inputs", response_model=m.InputAccepted, tags=["act"],
              responses={401: {"description": "No valid bearer token."},
                         422: {"description": "Rows that do not fit the features, or too many."}})
    def push_inputs(model: str, batch: m.InputBatch, who: Writer) -> m.InputAccepted:
        """A batch of the model's input rows (a model server's logger pushes them): compared with the
        model's reference by a streaming KS drift monitor; shown on /api/v1/drift and /metrics."""
        assert service.inputs is not None
        status = _inputs(lambda: runtime.read(lambda: service.inputs.push(  # type: ignore[union-attr]
            model, batch.features, batch.rows, runtime.platform.now())))
        return m.InputAccepted(model=model, rows=len(batch.rows), rows_seen=status.rows_seen, ready=status.ready,
                               drifted=status.drifted, reason=status.reason)

    @app.post("/api/v1/models/{model}/reference", response_model=m.InputAccepted, tags=["act"],
              responses={401: {"description": "No valid bearer token."},
                         422: {"description": "Rows that do not fit the features, or too many."}})
    def upload_reference(model: str, batch: m.InputBatch, who: Writer) -> m.InputAccepted:
        """Replace the model's reference (e.g. the new champion's training data); the window restarts."""
        assert service.inputs is not None
        rows = _inputs(lambda: runtime.read(lambda: service.inputs.set_reference(  # type: ignore[union-attr]
            model, batch.features, batch.rows, runtime.platform.now())))
        return m.InputAccepted(model=model, rows=rows, reason="reference replaced; the window restarts empty")

    @app.post("/api/v1/models/{model}/approve", response_model=m.DecisionRow, tags=["act"],
              responses={401: {"description": "No valid bearer token."}, 404: {"description": "No such model."},
                         409: {"description": "No promotion of the model is awaiting approval."}})
    def approve_model(model: str, who: Writer) -> m.DecisionRow:
        """Approve the model's gated promotion (controllers.require_approval): the challenger becomes the
        champion at the feedback loop's next tick; audited."""
        approve_fn = getattr(runtime.platform, "approve_model", None)
        if approve_fn is None:
            raise HTTPException(404, f"no feedback loop runs in {runtime.platform.mode} mode")
        return _act(lambda: runtime.act(lambda: approve_fn(model, who)))

    add_scheduler(app, service.settings)  # GET /api/v1/gpus; with scheduler.enabled, kube-scheduler's extender verbs
    add_heal(app, runtime.platform)  # GET /api/v1/heal: the heal controller's latest predictions and actions

    # -- the dashboard ------------------------------------------------------------------------------

    page = (STATIC / "index.html").read_text()

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> HTMLResponse:
        """The dashboard with the current state inlined: the charts are drawn before the page's load event,
        not a round trip (or an event) later."""
        state = runtime.read(lambda: _snapshot(service)).model_dump_json()
        return HTMLResponse(page.replace(_STATE_MARK, state.replace("</", "<\\/")))

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        """Where browsers look for the icon without being told (the page links the same SVG)."""
        return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml",
                            headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(_plotly_js(), media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=86400"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _token_problem(token: SecretStr | None, given: str) -> str | None:
    """Why ``given`` (the bearer credentials) may not write, or None when it matches ``token`` (constant time)."""
    if token is None:
        return "write APIs are disabled: no api.token is configured"
    if not hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
        return "missing or invalid bearer token"
    return None


def _authorised(request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> str:
    """The caller ("api"), when its bearer token matches ``api.token``; 401 otherwise.

    :class:`_WriteGuard` has already refused a bad token before the body was read; this dependency
    names the caller and puts the bearer scheme in the OpenAPI document."""
    problem = _token_problem(request.app.state.service.settings.api.token,
                             creds.credentials if creds is not None else "")
    if problem is not None:
        raise HTTPException(401, problem, headers={"WWW-Authenticate": "Bearer"})
    return "api"


Writer = Annotated[str, Depends(_authorised)]


def _act(fn: Any) -> m.DecisionRow:
    try:
        r = fn()
    except (UnknownController, UnknownRelease, UnknownModel) as exc:
        raise HTTPException(404, str(exc)) from None
    except (NotAwaitingApproval, NotAwaitingModelApproval) as exc:
        raise HTTPException(409, str(exc)) from None
    return m.DecisionRow(time=r.time, controller=r.controller, target=r.target, decision=dict(r.decision),
                         reason=r.reason, applied=r.applied, dry_run=r.dry_run, error=r.error, run_id=r.run_id)


#: Records scanned per round when ``changes_only`` filters the audit log (hold rows are most of it).
_SCAN = 2000


def is_change(r: AuditRecord) -> bool:
    """Whether a decision changed something or failed (what ``changes_only`` keeps).

    Replica decisions (``hpa``/``predictive``/``autoscale`` controllers) count when the applied replicas differ from
    the previous ones, or on an error; every other record (an alert, a canary step, a person's
    pause) is an action in itself.

    >>> hold = AuditRecord(0.0, "r", "hpa", "api", {}, {"applied": 3, "previous": 3}, "hold", False, False)
    >>> is_change(hold), is_change(AuditRecord(0.0, "r", "anomaly/surprise", "api", {}, {}, "alert", False, False))
    (False, True)
    """
    if r.error is not None:
        return True
    if not (r.controller in ("hpa", "predictive") or r.controller.startswith(("hpa/", "autoscale"))):
        return True
    return r.decision.get("applied") != r.decision.get("previous")


def _decisions(service: Service, workload: str | None, controller: str | None, since: float | None,
               until: float | None, want: int, changes_only: bool) -> list[AuditRecord]:
    """Up to ``want`` records, newest first; with ``changes_only``, scanning back in rounds of ``_SCAN``."""
    if not changes_only:
        rows = service.audit.query(target=workload, since=since, until=until, controller=controller, limit=want)
        return list(reversed(rows))
    found: list[AuditRecord] = []
    upper = until
    while len(found) < want:
        rows = service.audit.query(target=workload, since=since, until=upper, controller=controller, limit=_SCAN)
        if len(rows) < _SCAN:  # the rest of the log
            found += [r for r in reversed(rows) if is_change(r)]
            break
        oldest = rows[0].time  # records at this time may straddle the page: read them all at once
        found += [r for r in reversed(rows) if r.time > oldest and is_change(r)]
        tied = service.audit.query(target=workload, since=oldest, until=math.nextafter(oldest, math.inf),
                                   controller=controller)
        found += [r for r in reversed(tied) if is_change(r)]
        upper = oldest
    return found[:want]


def _decision_page(service: Service, workload: str | None, controller: str | None, since: float | None,
                   until: float | None, limit: int, offset: int, changes_only: bool) -> m.DecisionPage:
    newest = _decisions(service, workload, controller, since, until, offset + limit + 1, changes_only)
    items = [m.DecisionRow(time=r.time, controller=r.controller, target=r.target, decision=dict(r.decision),
                           reason=r.reason, applied=r.applied, dry_run=r.dry_run, error=r.error, run_id=r.run_id)
             for r in newest[offset: offset + limit]]
    more = len(newest) > offset + limit
    return m.DecisionPage(items=items, limit=limit, offset=offset, next_offset=offset + limit if more else None)


def _rollouts(service: Service) -> m.Rollouts:
    p = service.runtime.platform
    return m.Rollouts(enabled=p.controllers["rollout"].enabled,
                      rollouts=[m.Rollout.model_validate(v) for v in p.rollout_views()])


def _snapshot(service: Service) -> m.Snapshot:
    """What the dashboard shows first: the state its first refresh would fetch, for the first workload."""
    workloads = _workloads(service)
    first = workloads.workloads[0].name if workloads.workloads else None
    return m.Snapshot(
        status=_status(service), workloads=workloads,
        detail=_workload(service, first, DASHBOARD_WINDOW_S) if first is not None else None,
        rollouts=_rollouts(service), drift=_drift(service),
        decisions=_decision_page(service, first, None, None, None, 25, 0, True), incidents=_incidents(service))


def _status(service: Service) -> m.Status:
    rt, p = service.runtime, service.runtime.platform
    gate = rt.gate
    election = None
    if hasattr(gate, "lease"):
        election = m.LeaderElection(lease=gate.lease, identity=gate.identity, note=gate.note(), error=gate.error)
    policy_status = getattr(p, "policy_status", None)
    policies = policy_status() if callable(policy_status) else None
    return m.Status(
        role=gate.role, leader_election=election, policies=m.Policies(**policies) if policies else None,
        mode=p.mode, now=p.now(), running=rt.started and not rt.stopping and not rt.finished and rt.error is None,
        finished=rt.finished, error=rt.error,
        controllers=[m.ControllerStatus(name=c.name, enabled=c.enabled, paused=c.name in rt.paused, detail=c.detail)
                     for c in p.controllers.values()],
        sources=[m.SourceStatus(**s.__dict__) for s in p.sources()],
    )


def _latest(service: Service, name: str, workload: str, now: float) -> float | None:
    _, values = service.runtime.platform.query(name, workload, now - 300.0, now, 300.0)
    return values[-1] if values else None


def _workloads(service: Service) -> m.Workloads:
    p = service.runtime.platform
    now = p.now()
    watch = p.forecast_watch()
    anomaly: dict[str, dict[str, Any]] = {}
    for s in p.anomaly_view()["scores"]:  # live: several series per workload; show the worst
        seen = anomaly.setdefault(s["workload"], {"score": None, "alerting": False})
        if s["score"] is not None and (seen["score"] is None or s["score"] > seen["score"]):
            seen["score"] = s["score"]
        seen["alerting"] = seen["alerting"] or s["alerting"]
    error = None
    out = []
    scaling = getattr(p, "scaling_controllers", None)
    scaled_by: dict[str, str] = scaling() if callable(scaling) else {}
    for name in p.workloads():
        row: dict[str, Any] = {"name": name}
        if error is None:
            try:
                for series in p.view_queries():
                    if series != "latency_p95_s":
                        row[series] = _latest(service, series, name, now)
            except ServiceUnavailable as exc:
                error = str(exc)
        fc = watch.latest.get(name) if watch is not None else None
        row["forecast_rps"] = _finite(fc.at_lead) if fc is not None else None
        if name in anomaly:
            row["anomaly_score"], row["alerting"] = anomaly[name]["score"], anomaly[name]["alerting"]
        row["controller"] = scaled_by.get(name)
        out.append(m.WorkloadSummary(**{k: v for k, v in row.items() if k in m.WorkloadSummary.model_fields}))
    return m.Workloads(workloads=out, source_error=error)


def _workload(service: Service, name: str, window_s: float) -> m.WorkloadDetail | None:
    p = service.runtime.platform
    if name not in p.workloads():
        return None
    now = p.now()
    start = now - window_s
    step = max(15.0, window_s / 720.0)
    series: dict[str, m.SeriesData] = {}
    messages: dict[str, str] = {}
    for key in p.view_queries():
        try:
            t, v = p.query(key, name, start, now, step)
        except ServiceUnavailable as exc:
            messages[key] = f"data source down: {exc}"
            continue
        series[key] = m.SeriesData(t=t, v=v)
        if not t:
            messages[key] = "no samples in this window"
    watch = p.forecast_watch()
    if watch is None:
        messages["forecast"] = "forecast controller not running"
    else:
        lead = [(t, v) for t, v in watch.at_lead.get(name, ()) if t >= start]
        series["forecast_rps"] = m.SeriesData(t=[t for t, _ in lead], v=[_finite(v) for _, v in lead])
        fc = watch.latest.get(name)
        if fc is not None:
            for i, q in enumerate(("q10", "q50", "q90")):
                series[f"forecast_{q}"] = m.SeriesData(t=list(fc.times), v=[_finite(row[i]) for row in fc.quantiles])
        if fc is None or watch.note not in ("updated",) and not watch.note.startswith("refitted"):
            messages["forecast"] = watch.note
    peaks = getattr(p, "predicted_peaks", None)
    predicted = peaks(name, start) if callable(peaks) else None
    if predicted is not None:
        series["predicted_peak_rps"] = m.SeriesData(t=predicted[0], v=predicted[1])
    threshold = None
    if p.controllers["anomaly"].enabled:
        t, v = p.anomaly_scores(name, start)
        series["anomaly_score"] = m.SeriesData(t=t, v=v)
        view = p.anomaly_view()
        note, threshold = view["note"], view["threshold"]
        if note != "scoring":
            messages["anomaly_score"] = note
    else:
        messages["anomaly_score"] = p.controllers["anomaly"].detail
    return m.WorkloadDetail(name=name, now=now, window_s=window_s, series=series, messages=messages,
                            anomaly_threshold=threshold)


def _inputs(fn: Any) -> Any:
    """Bad rows or names are the caller's mistake: 422 with the reason."""
    try:
        return fn()
    except (InputError, ConfigError) as exc:
        raise HTTPException(422, str(exc)) from None


def _drift(service: Service) -> m.Drift:
    p = service.runtime.platform
    views = getattr(p, "drift_views", None)
    monitors = list(views()) if callable(views) else []
    monitors += service.inputs.views() if service.inputs is not None else []
    if not monitors:
        enabled = "feedback" in p.controllers and p.controllers["feedback"].enabled
        why = "no drift monitor configured" + ("" if enabled or p.mode != "simulate" else " (controllers.feedback is off)")
        why += "; a model server can push its inputs to POST /api/v1/models/{model}/inputs"
        return m.Drift(configured=False, status=why, monitors=[])
    drifting = [v["model"] for v in monitors if v["verdict"] == "drift"]
    status = f"drift on {', '.join(drifting)}" if drifting else f"{len(monitors)} model(s) watched, no drift now"
    return m.Drift(configured=True, status=status, monitors=monitors)


def _incidents(service: Service) -> m.Incidents:
    p = service.runtime.platform
    c = p.incidents
    if c is None:
        return m.Incidents(enabled=False, note=p.controllers["incidents"].detail, incidents=[])
    q = c.inbox
    return m.Incidents(enabled=True, note=c.note, incidents=[m.IncidentView.model_validate(v) for v in c.views()],
                       queue=m.AlertQueue(pending=q.pending, capacity=q.capacity, accepted=q.accepted,
                                          refused=q.refused))


def _forecasts(service: Service) -> m.Forecasts:
    watch = service.runtime.platform.forecast_watch()
    if watch is None:
        return m.Forecasts(enabled=False, note=service.runtime.platform.controllers["forecast"].detail, forecasts=[])
    out = [m.Forecast(workload=f.workload, made_at=f.made_at, times=list(f.times),
                      q10=[r[0] for r in f.quantiles], q50=[r[1] for r in f.quantiles],
                      q90=[r[2] for r in f.quantiles], at_lead=f.at_lead) for f in watch.latest.values()]
    return m.Forecasts(enabled=True, note=watch.note, forecasts=out)


class _PerStep(Generic[T]):
    """``fn``'s answer, computed once per step of the runtime and shared by every read until the next.

    Between two steps (``Stepper.version``: bumped by each step, warm-up slice and person's action)
    the state these reads depend on does not change, so twenty clients polling the same view cost
    one computation per step, not twenty. Computed under the runtime's lock, so an answer always
    belongs to the version it is stored under.
    """

    def __init__(self, runtime: Stepper, fn: Callable[[], T]) -> None:
        self.runtime, self.fn = runtime, fn
        self._cached: tuple[int, T] | None = None  # (version, answer)

    def __call__(self) -> T:
        with self.runtime.turn():
            if self._cached is None or self._cached[0] != self.runtime.version:
                self._cached = (self.runtime.version, self.fn())
            return self._cached[1]


class _RuntimeCollector:
    """``foresight_source_up``, ``foresight_controller_paused``, ``foresight_leader``, and the incidents open and
    the webhook's queue, read at scrape time."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def collect(self) -> Iterator[Metric]:
        rt, p = self.service.runtime, self.service.runtime.platform
        up = GaugeMetricFamily("foresight_source_up", "1 when the last read from the data source worked.",
                               labels=["source"])
        for s in p.sources():
            up.add_metric([s.name], int(s.ok))
        paused = GaugeMetricFamily("foresight_controller_paused", "1 while a person has paused the controller.",
                                   labels=["controller"])
        for c in p.controllers:
            paused.add_metric([c], int(c in rt.paused))
        yield up
        yield paused
        incidents = p.incidents
        if incidents is not None:
            yield GaugeMetricFamily("foresight_incidents_open", "Incidents firing now.",
                                    value=len(incidents.correlator.incidents))
            yield GaugeMetricFamily("foresight_webhook_alerts_pending", "Webhook alerts waiting for the next "
                                    "correlation.", value=incidents.inbox.pending)
            received = CounterMetricFamily("foresight_webhook_alerts", "Alerts posted to the webhook, by outcome "
                                           "(refused: queue full or stopping, answered 429/503).", labels=["outcome"])
            received.add_metric(["accepted"], incidents.inbox.accepted)
            received.add_metric(["refused"], incidents.inbox.refused)
            yield received
        yield GaugeMetricFamily("foresight_leader", "1 while this replica may act (holds the Lease, or runs "
                                "without leader election).", value=int(rt.gate.acting()))


class _Scrape:
    """Everything ``/metrics`` serves, as one collector, without the ``_created`` samples.

    prometheus_client gives every counter and histogram a ``_created`` sample (its creation time).
    OpenMetrics has a place for it; the Prometheus text format does not, so prometheus_client writes
    it there as a separate gauge (``foresight_decisions_created``): a series nobody asked for, typed
    as what it is not. Prometheus does not read it; it is left out here rather than by
    ``disable_created_metrics()``, which would switch it off for every registry in the process.
    """

    def __init__(self, collectors: Iterable[Collector]) -> None:
        self.collectors = list(collectors)

    def collect(self) -> Iterator[Metric]:
        for collector in self.collectors:
            for family in collector.collect():
                kept = Metric(family.name, family.documentation, family.type, family.unit)
                kept.samples = [s for s in family.samples if s.name != family.name + "_created"]
                yield kept


class _WriteGuard:
    """Every write request (POST, PUT, PATCH, DELETE) is judged before its body is read, in this order:

    1. the bearer token (401): an anonymous caller makes the process read nothing; except on
       ``open_paths`` (kube-scheduler's extender verbs: it sends no credentials, and those routes check
       the caller's address instead);
    2. the declared ``Content-Length`` (413 above ``limit``);
    3. the bytes as they arrive (413 as soon as they pass ``limit``): a chunked body cannot lie.

    What passes is buffered (never more than ``limit``) and handed on whole. Without this, the
    route's JSON body was read and parsed before its token was checked, and a 45 MB batch was
    parsed to ~850 MB of Python objects before the row limit refused it.
    """

    def __init__(self, app: ASGIApp, token: SecretStr | None, limit: int, open_paths: tuple[str, ...] = ()) -> None:
        self.app, self.token, self.limit, self.open_paths = app, token, limit, open_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH", "DELETE"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        scheme, _, credentials = headers.get("authorization", "").partition(" ")
        problem = _token_problem(self.token, credentials.strip() if scheme.lower() == "bearer" else "")
        if problem is not None and scope["path"] not in self.open_paths:
            await JSONResponse({"detail": problem}, 401, {"WWW-Authenticate": "Bearer"})(scope, receive, send)
            return
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(scope, receive, send, f"Content-Length {declared!r}")
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            if len(body) + len(chunk) > self.limit:
                await self._refuse(scope, receive, send, f"more than {self.limit} bytes sent")
                return
            body += chunk
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # after the body: the disconnect the app may wait for
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, what: str) -> None:
        detail = f"request body too large: {what}; at most {self.limit} bytes (api.max_body_bytes)"
        await JSONResponse({"detail": detail}, 413)(scope, receive, send)


def _warm_up_then_start(service: Service) -> None:
    """The deferred warm-up, then the controllers; a failure stops neither the API nor its reason's report."""
    try:
        service.warm_up()
    except Exception as exc:  # a bug: keep serving, and say why on /readyz and /api/v1/status
        _log.exception("warm-up failed; controllers not started")
        service.runtime.error = f"warm-up failed: {type(exc).__name__}: {exc}"
        service.warmup_until_s = None
        return
    if not service.runtime.stopping:
        service.runtime.start()


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON schema with its ``$defs`` written in place: inside an OpenAPI document ``#/$defs/...``
    would point at the document's root, not at the schema (the models inlined are not recursive)."""
    defs = schema.get("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return inline(defs[ref.removeprefix("#/$defs/")])
            return {k: inline(v) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    return inline(schema)  # type: ignore[no-any-return]


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None
