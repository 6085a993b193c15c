"""The incident controller: a cascade becomes one audited incident sent to Alertmanager as one alert,
updated and resolved; webhook alerts on the platform's clock; a restart resumes; bad alerts are audited."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from typing import Any

import pytest

from foresight.adapters.alertmanager import AlertmanagerClient
from foresight.adapters.audit_log import AuditLog
from foresight.clock import ManualClock
from foresight.config import IncidentSettings
from foresight.control.audit import AuditRecord
from foresight.correlate.graph import ServiceGraph
from foresight.correlate.model import Alert
from foresight.runtime.alert_inbox import AlertInbox, InboxClosed, InboxFull
from foresight.runtime.incidents import FixedGraph, IncidentController, OwnAlertTap, build_incidents, resumable_state

GRAPH = ServiceGraph.of([("web", "api"), ("api", "db"), ("web", "cart")], {"db-0": ("db", "n1"), "api-0": ("api", "n2")})


class FixedGraph:
    def __init__(self, graph: ServiceGraph = GRAPH) -> None:
        self.current = graph

    def graph(self, now: float) -> ServiceGraph:
        return self.current


class Records(list):
    """An audit sink that keeps the records in memory."""

    def record(self, entry: AuditRecord) -> None:
        self.append(entry)


class Outbox:
    """An alert sink that keeps every batch it was given."""

    def __init__(self) -> None:
        self.batches: list[list[dict[str, Any]]] = []

    def send(self, alerts):
        self.batches.append([dict(a) for a in alerts])

    def sent(self) -> list[dict[str, Any]]:
        return [a for batch in self.batches for a in batch]


def _alert(key: str, service: str | None, t: float, ends: float | None = None, **kw: Any) -> Alert:
    return Alert(key, kw.pop("name", "HighLatency"), service, t, ends, **kw)


def _controller(**kw: Any) -> tuple[IncidentController, Records, Outbox, AlertInbox]:
    audit, outbox = Records(), Outbox()
    inbox = kw.pop("inbox", None) or AlertInbox(100, wall=kw.get("wall", lambda: 0.0))
    c = IncidentController(kw.pop("graphs", FixedGraph()), audit, inbox, sink=outbox, period_s=15.0,
                           wall=kw.pop("wall", lambda: 0.0), **kw)
    return c, audit, outbox, inbox


def test_a_cascade_is_one_incident_audited_and_sent_as_one_alert_until_it_resolves():
    c, audit, outbox, _ = _controller()
    c.add([_alert("db", "db", 100.0, metric="latency_p95", labels={"severity": "critical"})])
    [opened] = c.step(105.0)
    c.add([_alert("api", "api", 130.0, metric="latency_p95"), _alert("web", "web", 150.0, metric="latency_p95")])
    [grown] = c.step(160.0)
    assert grown.id == opened.id and set(grown.suppressed) == {"api", "web"}

    # audited: opened then updated, naming the root cause and its evidence
    assert [r.controller for r in audit] == ["incidents", "incidents"]
    assert audit[0].reason.startswith(f"opened incident {opened.id}: root cause db (latency_p95)")
    assert audit[1].reason.startswith(f"updated incident {opened.id}: root cause db")
    assert "3 alert(s) on api, db, web, 2 suppressed" in audit[1].reason
    assert audit[1].inputs["candidates"][0]["service"] == "db" and audit[1].applied
    assert audit[1].inputs["suppressed"] == ["HighLatency on api", "HighLatency on web"]
    assert "HighLatency on db" in audit[1].inputs["alerts"]

    # one Alertmanager alert for the incident, whatever the number of alerts in it
    last = outbox.batches[-1]
    assert len(last) == 1 and last[0]["labels"] == {"alertname": "ForesightIncident", "incident": opened.id,
                                                     "root_cause_service": "db", "severity": "critical"}
    assert "HighLatency on api" in last[0]["annotations"]["suppressed_alerts"]
    assert "db latency_p95 alert" in last[0]["annotations"]["evidence"]
    assert last[0]["startsAt"] == "1970-01-01T00:01:40Z"

    # re-sent only when it changes or resend_s has passed (Alertmanager would time it out)
    c.step(175.0)
    assert outbox.batches[-1] == []
    c.step(225.0)
    assert [a["labels"]["incident"] for a in outbox.batches[-1]] == [opened.id]

    # every alert resolves; the incident resolves resolve_after_s later, sent with its end
    c.add([replace(a, ends_at=400.0) for a in (_alert("db", "db", 100.0, metric="latency_p95"),
                                               _alert("api", "api", 130.0, metric="latency_p95"),
                                               _alert("web", "web", 150.0, metric="latency_p95"))])
    c.step(405.0)
    [resolved] = c.step(720.0)
    assert resolved.status == "resolved" and audit[-1].reason.startswith(f"resolved incident {opened.id}")
    [end] = [a for a in outbox.batches[-1] if a["labels"]["incident"] == opened.id]
    assert end["endsAt"] == "1970-01-01T00:06:40Z"
    assert [v["status"] for v in c.views()] == ["resolved"]


def test_a_new_root_cause_ends_the_alert_under_the_old_labels():
    c, _, outbox, _ = _controller()
    c.add([_alert("api", "api", 100.0)])
    [first] = c.step(105.0)
    assert outbox.sent()[-1]["labels"]["root_cause_service"] == "api"
    c.add([_alert("db", "db", 90.0, score=1.0)])  # late: db alerted first
    c.step(120.0)
    ended, current = outbox.batches[-1]
    assert ended["labels"]["root_cause_service"] == "api" and ended["endsAt"] == "1970-01-01T00:02:00Z"
    assert current["labels"]["root_cause_service"] == "db" and current["labels"]["incident"] == first.id


def test_webhook_alerts_move_onto_the_platform_clock_and_never_into_the_future():
    wall = ManualClock(1_000_000.0)
    inbox = AlertInbox(10, wall=wall.now)
    c, _, _, _ = _controller(inbox=inbox, wall=wall.now)
    inbox.offer([_alert("db", "db", 1_000_000.0 - 60.0, source="alertmanager"),
                 _alert("api", "api", 1_000_000.0 + 3600.0, source="alertmanager")])  # a clock an hour ahead
    wall.advance(5.0)
    [incident] = c.step(500.0)  # a simulated platform: its clock is at 500 while the wall is at 1_000_005
    assert c.alerts["db"].starts_at == 500.0 - 65.0 and c.alerts["api"].starts_at == 495.0
    assert incident.root_cause.service == "db" and inbox.pending == 0


def test_an_alert_naming_only_a_pod_gets_its_service_from_the_placement():
    c, _, _, _ = _controller()
    c.add([_alert("oom", None, 100.0, component="db-0", name="KubePodCrashLooping")])
    [incident] = c.step(105.0)
    assert c.alerts["oom"].service == "db" and incident.services == ("db",)


def test_a_bad_alert_is_audited_and_the_others_are_correlated():
    c, audit, _, _ = _controller()
    c.add([_alert("bad", "db", math.nan), _alert("ok", "api", 100.0)])
    [incident] = c.step(105.0)
    assert incident.alerts == ("ok",) and c.failed == 1
    [error] = [r for r in audit if r.error is not None]
    assert error.target == "bad" and "not correlated" in error.reason


def test_a_controller_built_from_the_state_carries_on():
    c, _, _, _ = _controller()
    c.add([_alert("db", "db", 100.0), _alert("api", "api", 130.0)])
    [incident] = c.step(140.0)
    c.add([_alert("web", "web", 150.0)])  # arrived, not yet correlated
    saved = json.loads(json.dumps(c.state()))

    resumed, audit, outbox, _ = _controller(state=saved)
    [grown] = resumed.step(160.0)
    assert grown.id == incident.id and set(grown.alerts) == {"db", "api", "web"}
    assert audit[0].reason.startswith("updated") and outbox.sent()[0]["labels"]["incident"] == incident.id
    assert resumed.view(incident.id)["alerts"][0]["key"] == "db"


def test_the_view_has_candidates_alerts_in_time_order_and_the_topology_around_them():
    c, _, _, _ = _controller()
    c.add([_alert("web", "web", 150.0), _alert("db", "db", 100.0), _alert("api", "api", 130.0)])
    [incident] = c.step(160.0)
    view = c.view(incident.id)
    assert [a["key"] for a in view["alerts"]] == ["db", "api", "web"]
    assert [a["suppressed"] for a in view["alerts"]] == [False, True, True]
    assert view["root_cause"]["service"] == "db" and len(view["candidates"]) == 3
    assert view["topology"] == {"services": ["api", "db", "web"], "edges": [["api", "db"], ["web", "api"]]}
    assert c.view("nope") is None


def test_the_inbox_takes_a_batch_whole_or_refuses_it_whole():
    inbox = AlertInbox(3, retry_after_s=2.0)
    inbox.offer([_alert("a", "x", 0.0), _alert("b", "x", 0.0)])
    with pytest.raises(InboxFull, match="2 of 3 waiting, 2 offered") as full:
        inbox.offer([_alert("c", "x", 0.0), _alert("d", "x", 0.0)])
    assert full.value.retry_after_s == 2.0 and inbox.pending == 2 and inbox.refused == 2
    assert [a.key for _, a in inbox.drain()] == ["a", "b"]
    inbox.offer([_alert(k, "x", 0.0) for k in "cdef"])  # more than fits, but never accepted if refused now
    assert inbox.pending == 4
    inbox.drain()
    inbox.offer([_alert("c", "x", 0.0)])
    inbox.close()
    with pytest.raises(InboxClosed):
        inbox.offer([_alert("d", "x", 0.0)])
    assert [a.key for _, a in inbox.drain()] == ["c"]  # what was accepted stays for the last drain


def test_a_graceful_stop_correlates_what_was_accepted():
    c, audit, _, inbox = _controller()
    inbox.offer([_alert("db", "db", 0.0)])
    c.close(10.0)
    opened, checkpoint = audit
    assert opened.reason.startswith(f"opened incident {c.views()[0]['id']}")
    assert checkpoint.target == "checkpoint" and checkpoint.reason.startswith("correlator state at shutdown: 1 open")
    resumed, _, _, _ = _controller(state=resumable_state([checkpoint], IncidentSettings(), now=20.0))
    assert [i.id for i in resumed.correlator.incidents] == [c.views()[0]["id"]]
    assert resumable_state([checkpoint], IncidentSettings(), now=10.0 + 601.0) is None  # too old to trust
    with pytest.raises(InboxClosed):
        inbox.offer([_alert("api", "api", 0.0)])


@pytest.mark.integration
def test_incidents_reach_a_real_alertmanager_after_it_comes_back(alertmanager_factory):
    from foresight.bench.prometheus_server import free_port

    clock = ManualClock(1_800_000_000.0)
    port = free_port()
    with AlertmanagerClient(f"http://127.0.0.1:{port}", clock, timeout_s=1.0) as client:
        audit = Records()
        c = IncidentController(FixedGraph(), audit, AlertInbox(10), sink=client, wall=clock.now)
        c.add([_alert("db", "db", clock.now() - 30.0), _alert("api", "api", clock.now() - 10.0)])
        [incident] = c.step(clock.now())
        assert client.pending == 1 and audit[0].reason.startswith("opened")  # down: kept, audited

        am = alertmanager_factory(args=[f"--web.listen-address=127.0.0.1:{port}"])
        clock.advance(120.0)
        c.step(clock.now())
        assert client.pending == 0
        import httpx

        [stored] = httpx.get(f"{am.url}/api/v2/alerts", timeout=5).json()
        assert stored["labels"]["incident"] == incident.id and stored["labels"]["root_cause_service"] == "db"
        assert "HighLatency on api" in stored["annotations"]["suppressed_alerts"]


def test_own_alerts_sent_to_alertmanager_reach_the_controller_too():
    c, _, _, _ = _controller()
    anomalies = Outbox()
    tap = OwnAlertTap(anomalies, c, now=lambda: 1_800_000_100.0)
    labels = {"alertname": "ForesightAnomaly", "workload": "db", "signal": "p95", "severity": "warning"}
    tap.send([{"labels": labels, "annotations": {"score": "0.97"}, "startsAt": "2027-01-15T08:00:00Z"},
              {"labels": {}, "startsAt": "2027-01-15T08:00:00Z"}])  # a malformed one is logged, not raised
    assert len(anomalies.sent()) == 2
    [incident] = c.step(1_800_000_100.0)
    [alert] = [c.alerts[k] for k in incident.alerts]
    assert (alert.service, alert.metric, alert.score, alert.source) == ("db", "p95", 0.97, "foresight")


def test_under_a_flood_every_accepted_alert_is_correlated_and_the_rest_refused_whole():
    import threading

    c, _, _, inbox = _controller(inbox=AlertInbox(40))
    accepted: list[str] = []
    lock = threading.Lock()

    def sender(n: int) -> None:
        for k in range(30):
            batch = [_alert(f"s{n}-{k}-{j}", f"svc{j}", 100.0) for j in range(4)]
            try:
                inbox.offer(batch)
            except InboxFull:
                continue
            with lock:
                accepted.extend(a.key for a in batch)

    full = [_alert(f"first-{j}", "db", 100.0) for j in range(40)]
    inbox.offer(full)
    accepted.extend(a.key for a in full)
    with pytest.raises(InboxFull):  # full before the flood starts
        inbox.offer([_alert("late", "db", 100.0)])
    threads = [threading.Thread(target=sender, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    now = 105.0
    while any(t.is_alive() for t in threads):
        c.step(now)
        now += 15.0
    c.close(now)
    assert inbox.accepted == len(accepted) and inbox.accepted + inbox.refused == 40 + 1 + 6 * 30 * 4
    assert "late" not in c.alerts and set(accepted) <= set(c.alerts)  # refused whole, lost none it took


def test_every_correlation_setting_reaches_the_engine(tmp_path):
    settings = IncidentSettings(window_s=120, max_hops=1, resolve_after_s=30, skew_s=45, unknown_window_s=20)
    controller = build_incidents(settings, FixedGraph(), AuditLog(str(tmp_path / "audit.db")))
    engine = controller.settings
    assert (engine.window_s, engine.max_hops, engine.resolve_after_s, engine.skew_s, engine.unknown_window_s) == \
        (120, 1, 30, 45, 20)
