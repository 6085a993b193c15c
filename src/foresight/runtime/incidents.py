"""The incident controller: alerts in (Foresight's own and any Alertmanager's), incidents out, one per fault.

Every ``period_s`` (a step of the runtime) it tells the same story:

1. **observe**: the alerts that arrived since the last period: Foresight's own anomaly alerts
   (:meth:`IncidentController.add`; the simulator's through :class:`AnomalyWatchAlerts`, the live
   detectors' through :class:`OwnAlertTap`) and the webhook's (:class:`~foresight.runtime.alert_inbox.AlertInbox`,
   drained whole), and the service graph (:class:`GraphSource`: Prometheus' or the simulator's);
   a webhook alert's times move onto the platform's clock and never past its arrival (clock skew),
   and an alert that names a pod but no service gets the pod's service from the graph's placement;
2. **decide**: the pure :class:`~foresight.correlate.engine.Correlator` groups them and names the root
   cause; it returns the incidents this period opened, changed or resolved;
3. **act**: one audit record per such incident (controller ``incidents``, target the incident id; its
   reason names the root cause and its first evidence, its inputs hold every candidate, alert and
   suppressed alert), and, where a sink is given and this replica acts, one Alertmanager alert per
   incident (:func:`incident_alert`): re-sent every ``resend_s`` while it fires (Alertmanager ends an
   alert that is not re-sent), sent with ``endsAt`` when it resolves. When the root cause changes the
   labels change, so the alert under the old labels is resolved at once rather than left to time out.
   Alertmanager being down costs nothing here: the sink (:class:`~foresight.adapters.alertmanager.AlertmanagerClient`)
   keeps the latest state of every alert and retries.

The correlator's state and the controller's own (alerts, incidents, what was sent) are one JSON-safe
mapping (:meth:`IncidentController.state`): a controller built with it carries on where the other stopped.
A graceful stop writes it to the audit log as a ``checkpoint`` record (:meth:`IncidentController.checkpoint`);
the next process resumes from it (:func:`resumable_state`) when it is recent, younger than an incident's
window plus its resolution delay: an older one would hold alerts whose resolution was never seen.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from foresight.adapters.alertmanager_webhook import (
    INCIDENT_ALERTNAME,
    alert_of_postable,
)
from foresight.config import IncidentSettings
from foresight.control.audit import AuditRecord, AuditSink
from foresight.correlate.engine import CorrelationSettings, Correlator
from foresight.correlate.graph import ServiceGraph
from foresight.correlate.model import Alert, Candidate, Incident, IncidentStatus
from foresight.correlate.state import alert_from, alert_to, incident_from, incident_to
from foresight.detect.live import AlertSink
from foresight.errors import ForesightError
from foresight.runtime.alert_inbox import AlertInbox
from foresight.runtime.anomaly import REPLICAS, AnomalyWatch

__all__ = [
    "CHECKPOINT",
    "AnomalyWatchAlerts",
    "FixedGraph",
    "GraphSource",
    "IncidentController",
    "OwnAlertTap",
    "build_incidents",
    "incident_alert",
    "resumable_state",
]

_log = logging.getLogger(__name__)
_SEVERITY = {"info": 0, "warning": 1, "critical": 2, "page": 3}
#: The audit target of the controller's checkpoints.
CHECKPOINT = "checkpoint"
#: The anomaly watch's signal for pods lost (ready replicas fell below both what was ready and what is asked).
LOST_PODS = REPLICAS[0]


class GraphSource(Protocol):
    """The service graph as of ``now`` (the source decides when to re-read it)."""

    def graph(self, now: float) -> ServiceGraph: ...


class AnomalyWatchAlerts:
    """The simulator's anomaly watch as correlator alerts: one per alert it opens, resolved when it closes.

    Keys are per opening (``anomaly/<service>/<opened at>``): a service alerting again later is a new
    alert, not the old one reopened. With ``pods`` (the platform's pod -> (service, node) now), an alert
    opened by lost pods names the node they were lost on as its component, as a pod alert of
    kube-state-metrics would: what lets the correlator trace several services' losses to one node.
    """

    def __init__(self, watch: AnomalyWatch, pods: Callable[[], Mapping[str, tuple[str, str]]] | None = None) -> None:
        self.watch, self.pods = watch, pods
        self._open: dict[str, Alert] = {}
        self._nodes: dict[str, Counter[str]] = {}  # per service, its pods per node at the last poll

    def poll(self, now: float) -> list[Alert]:
        out = []
        nodes_before, self._nodes = self._nodes, self._nodes_now()
        current = {a.service: a for a in self.watch.ongoing() if a is not None}
        for service, a in current.items():
            key = f"anomaly/{service}/{a.time_s:.0f}"
            if service in self._open and self._open[service].key == key:
                continue
            if service in self._open:
                out.append(dataclasses.replace(self._open[service], ends_at=a.time_s))
            lost = nodes_before.get(service, Counter()) - self._nodes.get(service, Counter())
            component = lost.most_common(1)[0][0] if lost and a.signal == LOST_PODS else None
            self._open[service] = Alert(key, self.watch.rule.alertname, service, a.time_s, component=component,
                                        metric=a.signal, score=a.score, source="foresight",
                                        labels={"alertname": self.watch.rule.alertname, "service": service,
                                                "signal": a.signal})
            out.append(self._open[service])
        for service in [s for s in self._open if s not in current]:
            out.append(dataclasses.replace(self._open.pop(service), ends_at=now))
        return out

    def _nodes_now(self) -> dict[str, Counter[str]]:
        out: dict[str, Counter[str]] = {}
        for service, node in (self.pods() if self.pods is not None else {}).values():
            out.setdefault(service, Counter())[node] += 1
        return out


class OwnAlertTap:
    """An alert sink that forwards to ``inner`` and hands each alert to the incident controller too
    (live mode: the AnomalyPolicy detectors' alerts, keyed as Alertmanager keys them)."""

    def __init__(self, inner: AlertSink, incidents: IncidentController, now: Callable[[], float]) -> None:
        self.inner, self.incidents, self.now = inner, incidents, now

    def send(self, alerts: Sequence[Mapping[str, Any]]) -> None:
        self.inner.send(alerts)
        now = self.now()
        for alert in alerts:
            try:
                self.incidents.add([alert_of_postable(alert, now)])
            except ForesightError as exc:
                _log.warning("own alert not correlated: %s", exc)

    def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if callable(close):
            close()


def _rfc3339(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


def _severity(alerts: Iterable[Alert]) -> str:
    found = [a.labels.get("severity", "") for a in alerts]
    ranked = [s for s in found if s in _SEVERITY]
    return max(ranked, key=_SEVERITY.__getitem__) if ranked else "warning"


def _describe(alert: Alert) -> str:
    where = alert.service or "unknown service"
    return f"{alert.name} on {where}" + (f" ({alert.component})" if alert.component else "")


def incident_alert(incident: Incident, alerts: Mapping[str, Alert], now: float, resend_s: float) -> dict[str, Any]:
    """The Alertmanager API v2 alert of one incident (labels ``alertname``, ``incident``,
    ``root_cause_service``, ``severity``; annotations ``summary``, ``evidence``, ``suppressed_alerts``,
    ``candidates``). A firing one ends ``4 * resend_s`` ahead, as Prometheus does: re-sent before that,
    it stays open; if Foresight stops sending, Alertmanager resolves it by itself."""
    members = [alerts[k] for k in incident.alerts if k in alerts]
    root = incident.root_cause
    labels = {"alertname": INCIDENT_ALERTNAME, "incident": incident.id,
              "root_cause_service": root.service if root is not None else "unknown", "severity": _severity(members)}
    suppressed = [_describe(alerts[k]) if k in alerts else k for k in incident.suppressed]
    where = "root cause unknown" if root is None else f"root cause node {root.component}" if root.kind == "node" \
        else f"root cause {root.service}" + (f" ({root.component})" if root.component else "")
    annotations = {
        "summary": f"{len(incident.alerts)} alert(s) on {', '.join(incident.services) or 'unknown services'}; "
                   f"{where}; {len(incident.suppressed)} suppressed",
        "evidence": "\n".join(root.evidence) if root is not None else "",
        "suppressed_alerts": "\n".join(suppressed),
        "candidates": ", ".join(f"{c.service}{'/' + c.component if c.component else ''} {c.score:.2f}"
                                for c in incident.candidates[:5]),
    }
    ends = incident.resolved_at if incident.status == IncidentStatus.RESOLVED and incident.resolved_at is not None \
        else now + 4 * resend_s
    return {"labels": labels, "annotations": annotations, "startsAt": _rfc3339(incident.opened_at),
            "endsAt": _rfc3339(ends)}


class IncidentController:
    """Correlates alerts into incidents every ``period_s``; audits and sends each one (module docstring)."""

    name = "incidents"

    def __init__(self, graphs: GraphSource, audit: AuditSink, inbox: AlertInbox, *,
                 settings: CorrelationSettings | None = None, period_s: float = 15.0,
                 sink: AlertSink | None = None, resend_s: float = 60.0, run_id: str = "incidents",
                 wall: Callable[[], float] = time.time, state: Mapping[str, Any] | None = None,
                 keep_resolved: int = 100) -> None:
        self.graphs, self.audit, self.inbox, self.sink = graphs, audit, inbox, sink
        self.settings = settings if settings is not None else CorrelationSettings()
        self.period_s, self.resend_s = float(period_s), float(resend_s)
        self.run_id, self.wall, self.keep_resolved = run_id, wall, keep_resolved
        self.correlator = Correlator(self.settings)
        self.alerts: dict[str, Alert] = {}
        self.incidents: dict[str, Incident] = {}  # the firing ones and the latest resolved, by id
        self._sent: dict[str, tuple[dict[str, str], float]] = {}  # incident -> (labels, when) last sent
        self._own: list[Alert] = []
        self._next = -math.inf
        self.graph = ServiceGraph.of(())
        self.note = "no alert yet"
        self.failed = 0
        if state is not None:
            self._restore(state)

    # -- observe ------------------------------------------------------------------------------------

    def add(self, alerts: Iterable[Alert]) -> None:
        """Foresight's own alerts, on the platform's clock; correlated at the next step."""
        self._own.extend(alerts)

    def due(self, now: float) -> bool:
        return now >= self._next

    def _arrived(self, now: float) -> list[Alert]:
        """The webhook's alerts, moved onto the platform's clock, none later than its arrival."""
        offset = now - self.wall()
        out = []
        for arrived, a in self.inbox.drain():
            ends = None if a.ends_at is None else min(a.ends_at, arrived) + offset
            out.append(dataclasses.replace(a, starts_at=min(a.starts_at, arrived) + offset, ends_at=ends))
        return out

    @staticmethod
    def _placed(alert: Alert, graph: ServiceGraph) -> Alert:
        if alert.service is None and alert.component in graph.placement:
            return dataclasses.replace(alert, service=graph.placement[alert.component][0])
        return alert

    # -- one period ---------------------------------------------------------------------------------

    def step(self, now: float, *, acting: bool = True) -> list[Incident]:
        """Correlate what arrived; audit and send the incidents that changed; returns them."""
        self._next = now + self.period_s
        try:
            self.graph = self.graphs.graph(now)
        except ForesightError as exc:  # a source that raises rather than keeping its last graph
            self.note = f"topology not read, using the last one: {exc}"
        fresh = [self._placed(a, self.graph) for a in [*self._own, *self._arrived(now)]]
        self._own = []
        changed = self._observe(fresh, now)
        for incident in changed:
            self._record(incident, now, acting)
        self._notify(changed, now, acting)
        self._forget(now)
        if fresh or changed:
            self.note = f"{len(self.correlator.incidents)} open incident(s); {len(fresh)} alert(s) this period"
        return changed

    def _observe(self, fresh: list[Alert], now: float) -> list[Incident]:
        """The correlator's verdict; an alert it refuses is audited and left out, the others go on."""
        try:
            changed = self.correlator.observe(fresh, self.graph, now)
        except ForesightError:
            changed = []
            for alert in fresh:
                try:
                    changed += self.correlator.observe([alert], self.graph, now)
                except ForesightError as exc:
                    self.failed += 1
                    self.audit.record(AuditRecord(now, self.run_id, self.name, alert.key, {"alert": alert_to(alert)},
                                                  {}, f"alert not correlated: {exc}", False, False, str(exc)))
                    continue
                self.alerts[alert.key] = alert
            return list({i.id: i for i in changed}.values())
        for alert in fresh:
            self.alerts[alert.key] = alert
        return changed

    def _record(self, incident: Incident, now: float, acting: bool) -> None:
        verb = f"merged into {incident.merged_into}:" if incident.merged_into else \
            "resolved" if incident.status == IncidentStatus.RESOLVED else \
            "opened" if incident.id not in self.incidents else "updated"
        self.incidents[incident.id] = incident
        root = incident.root_cause
        cause = "root cause unknown" if root is None else (
            (f"root cause node {root.component} (first alerting: {root.service})" if root.kind == "node" else
             f"root cause {root.service}" + (f"/{root.component}" if root.component else ""))
            + (f" ({root.metric})" if root.metric else "") + f", score {root.score:.2f}"
            + (f": {root.evidence[0]}" if root.evidence else ""))
        reason = (f"{verb} incident {incident.id}: {cause}; {len(incident.alerts)} alert(s) on "
                  f"{', '.join(incident.services) or 'unknown services'}, {len(incident.suppressed)} suppressed")
        notified = acting and self.sink is not None
        self.audit.record(AuditRecord(
            now, self.run_id, self.name, incident.id,
            {"status": incident.status, "services": list(incident.services),
             "candidates": [_candidate_json(c) for c in incident.candidates],
             "alerts": [_describe(self.alerts[k]) if k in self.alerts else k for k in incident.alerts],
             "suppressed": [_describe(self.alerts[k]) if k in self.alerts else k for k in incident.suppressed]},
            {"revision": incident.revision, "alerts": len(incident.alerts), "suppressed": len(incident.suppressed)},
            reason, notified, False))

    def _notify(self, changed: list[Incident], now: float, acting: bool) -> None:
        if self.sink is None or not acting:
            return
        out: list[dict[str, Any]] = []
        changed_ids = {i.id for i in changed}
        for incident in self.incidents.values():
            last = self._sent.get(incident.id)
            resolved = incident.status == IncidentStatus.RESOLVED
            if incident.id not in changed_ids and (resolved or (last is not None and now - last[1] < self.resend_s)):
                continue
            alert = incident_alert(incident, self.alerts, now, self.resend_s)
            if last is not None and last[0] != alert["labels"]:  # new labels: end the old alert now
                out.append({"labels": last[0], "annotations": alert["annotations"], "startsAt": alert["startsAt"],
                            "endsAt": _rfc3339(now)})
            out.append(alert)
            self._sent[incident.id] = (alert["labels"], now)
        self.sink.send(out)  # also with none: the sink retries what it still holds

    def _forget(self, now: float) -> None:
        """Keep the firing incidents and the latest ``keep_resolved`` resolved ones, and their alerts."""
        resolved = sorted((i for i in self.incidents.values() if i.status == IncidentStatus.RESOLVED),
                          key=lambda i: i.resolved_at or 0.0)
        for old in resolved[: max(0, len(resolved) - self.keep_resolved)]:
            del self.incidents[old.id]
            self._sent.pop(old.id, None)
        kept = {k for i in self.incidents.values() for k in i.alerts}
        horizon = now - 2 * self.settings.window_s
        for key in [k for k, a in self.alerts.items()
                    if k not in kept and a.ends_at is not None and a.ends_at < horizon]:
            del self.alerts[key]

    # -- stopping and resuming ----------------------------------------------------------------------

    def close(self, now: float, *, acting: bool = True) -> list[Incident]:
        """The graceful stop: refuse new webhook alerts, correlate what was accepted, send, flush;
        returns the incidents this last period changed."""
        self.inbox.close()
        changed = self.step(now, acting=acting)
        self.checkpoint(now)
        flush = getattr(self.sink, "flush", None)
        if callable(flush) and acting:
            flush()
        return changed

    def checkpoint(self, now: float) -> AuditRecord:
        """The state as an audit record (target :data:`CHECKPOINT`), written by a graceful stop."""
        state = self.state()
        record = AuditRecord(now, self.run_id, self.name, CHECKPOINT, {"state": state}, {"open": len(
            self.correlator.incidents)}, f"correlator state at shutdown: {len(self.correlator.incidents)} open "
            f"incident(s), {len(state['alerts'])} alert(s)", False, False)
        self.audit.record(record)
        return record

    def state(self) -> dict[str, Any]:
        """Everything needed to carry on: the correlator's state, the alerts, incidents and what was sent."""
        return {"correlator": self.correlator.state(),
                "alerts": [alert_to(a) for a in self.alerts.values()],
                "incidents": [incident_to(i) for i in self.incidents.values()],
                "sent": {k: {"labels": labels, "at": at} for k, (labels, at) in self._sent.items()},
                "pending": [alert_to(a) for a in self._own]}

    def _restore(self, state: Mapping[str, Any]) -> None:
        self.correlator = Correlator.from_state(state["correlator"], self.settings)
        self.alerts = {a["key"]: alert_from(a) for a in state.get("alerts", ())}
        self.incidents = {i["id"]: incident_from(i) for i in state.get("incidents", ())}
        self._sent = {k: (dict(v["labels"]), float(v["at"])) for k, v in state.get("sent", {}).items()}
        self._own = [alert_from(a) for a in state.get("pending", ())]

    # -- what the API reads -------------------------------------------------------------------------

    def views(self) -> list[dict[str, Any]]:
        """Firing incidents first, then the resolved ones; newest first within each."""
        ranked = sorted(self.incidents.values(),
                        key=lambda i: (i.status == IncidentStatus.RESOLVED, -i.opened_at))
        return [self.view(i.id) for i in ranked]  # type: ignore[misc]

    def view(self, incident_id: str) -> dict[str, Any] | None:
        incident = self.incidents.get(incident_id)
        if incident is None:
            return None
        suppressed = set(incident.suppressed)
        alerts = sorted(({**alert_to(self.alerts[k]), "suppressed": k in suppressed}
                         for k in incident.alerts if k in self.alerts), key=lambda a: a["starts_at"])
        shown = set(incident.services) | ({incident.root_cause.service} if incident.root_cause else set())
        return {
            "id": incident.id, "status": incident.status, "opened_at": incident.opened_at,
            "resolved_at": incident.resolved_at, "revision": incident.revision, "services": list(incident.services),
            "merged_into": incident.merged_into,
            "root_cause": _candidate_json(incident.root_cause) if incident.root_cause else None,
            "candidates": [_candidate_json(c) for c in incident.candidates],
            "alerts": alerts, "suppressed": list(incident.suppressed),
            "topology": {"services": sorted(shown),
                         "edges": sorted([a, b] for a, b in self.graph.edges if a in shown and b in shown)},
            "notified": incident.id in self._sent,
        }


def _candidate_json(c: Candidate) -> dict[str, Any]:
    return {"service": c.service, "score": c.score, "component": c.component, "metric": c.metric,
            "evidence": list(c.evidence), "kind": c.kind}


class FixedGraph:
    """A :class:`GraphSource` that always gives the same graph: the one a platform without a topology
    source knows (empty: alerts are then grouped by time alone), or a test's."""

    def __init__(self, graph: ServiceGraph | None = None) -> None:
        self.current = graph if graph is not None else ServiceGraph.of(())

    def graph(self, now: float) -> ServiceGraph:
        return self.current


def resumable_state(checkpoints: Sequence[AuditRecord], settings: IncidentSettings, now: float) -> dict[str, Any] | None:
    """The state of the newest checkpoint when it is recent enough to resume from (module docstring)."""
    if not checkpoints:
        return None
    last = max(checkpoints, key=lambda r: r.time)
    age = now - last.time
    if not 0 <= age <= settings.window_s + settings.resolve_after_s:
        _log.info("incidents: checkpoint of t=%.0f is %.0f s old; starting afresh", last.time, age)
        return None
    return dict(last.inputs.get("state") or {}) or None


def build_incidents(settings: IncidentSettings, graphs: GraphSource, audit: AuditSink, *,
                    sink: AlertSink | None = None, wall: Callable[[], float] = time.time,
                    retry_after_s: float | None = None, run_id: str = "incidents",
                    state: Mapping[str, Any] | None = None) -> IncidentController:
    """The incident controller of a platform, from its settings; ``retry_after_s`` (default: one period)
    is what a refused webhook call is told to wait, in wall-clock seconds. A ``state`` that cannot be
    read is logged and left: the controller starts afresh rather than not at all."""
    inbox = AlertInbox(settings.queue_alerts, retry_after_s=retry_after_s or settings.period_s, wall=wall)
    correlation = CorrelationSettings(window_s=settings.window_s, max_hops=settings.max_hops,
                                      resolve_after_s=settings.resolve_after_s, skew_s=settings.skew_s,
                                      unknown_window_s=settings.unknown_window_s)
    try:
        return IncidentController(graphs, audit, inbox, settings=correlation, period_s=settings.period_s, sink=sink,
                                  resend_s=settings.resend_s, run_id=run_id, wall=wall, state=state)
    except (ForesightError, KeyError, TypeError, ValueError) as exc:
        _log.warning("incidents: the saved state cannot be resumed (%s); starting afresh", exc)
        return IncidentController(graphs, audit, inbox, settings=correlation, period_s=settings.period_s, sink=sink,
                                  resend_s=settings.resend_s, run_id=run_id, wall=wall)
