"""Alertmanager's webhook JSON read into the correlator's alerts: services, components, keys, ends, refusals."""

from __future__ import annotations

import json

import pytest

from foresight.adapters.alertmanager_webhook import (
    INCIDENT_ALERTNAME,
    alert_of_postable,
    alerts_of,
    label_fingerprint,
    parse_message,
)
from foresight.errors import InputError


def _message(*alerts: dict, **extra: object) -> str:
    return json.dumps({"version": "4", "status": "firing", "receiver": "foresight", "groupKey": "{}:{}",
                       "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am",
                       "alerts": list(alerts), **extra})


def _alert(labels: dict, status: str = "firing", ends: str = "0001-01-01T00:00:00Z", **extra: object) -> dict:
    return {"status": status, "labels": labels, "annotations": {"summary": "s"},
            "startsAt": "2026-12-07T10:00:00Z", "endsAt": ends, "generatorURL": "http://prom/graph", **extra}


def test_a_firing_and_a_resolved_alert_read_with_service_component_and_times():
    msg = parse_message(_message(
        _alert({"alertname": "HighLatency", "destination_workload": "cart", "pod": "cart-7d9f-x2", "signal": "p95"},
               fingerprint="00ab"),
        _alert({"alertname": "NodeDown", "node": "n1", "job": "node-exporter"}, status="resolved",
               ends="2026-12-07T10:05:00Z"),
    ))
    firing, resolved = alerts_of(msg)
    assert (firing.key, firing.name, firing.service, firing.component, firing.metric) == \
        ("00ab", "HighLatency", "cart", "cart-7d9f-x2", "p95")
    assert firing.ends_at is None and firing.starts_at == 1796637600.0 and firing.source == "alertmanager"
    assert resolved.service == "node-exporter" and resolved.component == "n1"
    assert resolved.ends_at == firing.starts_at + 300.0
    assert resolved.key == label_fingerprint({"alertname": "NodeDown", "node": "n1", "job": "node-exporter"})


@pytest.mark.parametrize(("labels", "service"), [
    ({"service": "a", "destination_workload": "b", "app": "c", "job": "d"}, "a"),
    ({"destination_workload": "b", "workload": "w", "app": "c"}, "b"),
    ({"workload": "w", "app_kubernetes_io_name": "k", "app": "c"}, "w"),
    ({"app_kubernetes_io_name": "k", "app": "c"}, "k"),
    ({"app": "c", "deployment": "d", "job": "j"}, "c"),
    ({"deployment": "d", "job": "j"}, "d"),
    ({"job": "j"}, "j"),
    ({"job": "kube-state-metrics", "pod": "cart-1"}, None),  # the pod's service comes from the topology
    ({"severity": "page"}, None),
])
def test_the_service_is_the_first_service_label_present(labels, service):
    [alert] = alerts_of(parse_message(_message(_alert({"alertname": "X", **labels}))))
    assert alert.service == service


def test_foresights_own_incidents_routed_back_are_skipped():
    msg = parse_message(_message(_alert({"alertname": INCIDENT_ALERTNAME, "incident": "i1"}),
                                 _alert({"alertname": "X", "app": "a"})))
    assert [a.name for a in alerts_of(msg)] == ["X"]


@pytest.mark.parametrize(("body", "problem"), [
    ("{not json", "body: Invalid JSON"),
    (_message(_alert({})), "alerts.0.labels: Dictionary should have at least 1 item"),
    (_message(_alert({"app": "a"})), "alerts.0.labels: Value error, an alert needs an 'alertname' label"),
    (_message({"status": "firing", "labels": {"alertname": "X"}}), "alerts.0.startsAt: Field required"),
    (_message(_alert({"alertname": "X"}, status="burning")), "alerts.0.status: Input should be 'firing' or 'resolved'"),
    (_message(_alert({"alertname": "X"}), version="3"), "version: Input should be '4'"),
    (json.dumps({"version": "4", "status": "firing"}), "alerts: Field required"),
])
def test_a_malformed_body_is_refused_naming_the_place(body, problem):
    with pytest.raises(InputError, match="Alertmanager webhook body rejected") as exc:
        parse_message(body)
    assert problem in str(exc.value)


def test_an_own_alert_is_keyed_like_alertmanager_and_resolves_by_its_past_end():
    labels = {"alertname": "ForesightAnomaly", "workload": "cart", "signal": "p95", "severity": "warning"}
    firing = alert_of_postable({"labels": labels, "annotations": {"score": "0.93"},
                                "startsAt": "2026-12-07T10:00:00Z", "endsAt": "2026-12-07T10:10:00Z"},
                               now=1796637660.0)
    assert firing.key == label_fingerprint(labels) and firing.ends_at is None  # endsAt ahead: still firing
    assert firing.service == "cart" and firing.score == 0.93 and firing.source == "foresight"
    resolved = alert_of_postable({"labels": labels, "endsAt": "2026-12-07T10:01:00Z"}, now=1796637700.0)
    assert resolved.ends_at == 1796637660.0 and resolved.starts_at == 1796637700.0
    with pytest.raises(InputError, match="without labels"):
        alert_of_postable({"labels": {}}, now=0.0)
    with pytest.raises(InputError, match="not an RFC 3339 time"):
        alert_of_postable({"labels": labels, "startsAt": "yesterday"}, now=0.0)


@pytest.mark.integration
def test_the_fingerprint_is_the_one_a_real_alertmanager_computes(alertmanager_factory):
    import httpx

    am = alertmanager_factory()
    labels = {"alertname": "HighLatency", "service": "cart", "pod": "cart-7d9f-x2", "severity": "warning"}
    assert httpx.post(f"{am.url}/api/v2/alerts", json=[{"labels": labels}], timeout=5).status_code == 200
    [stored] = httpx.get(f"{am.url}/api/v2/alerts", timeout=5).json()
    assert stored["fingerprint"] == label_fingerprint(labels)
