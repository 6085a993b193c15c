"""The Alertmanager side of ``bench incidents``: the three configurations, the counting webhook, and one
short end-to-end replay against real Alertmanager processes."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from typer.testing import CliRunner

import foresight.cli.incidents  # noqa: F401  (registers bench incidents)
from foresight.bench.alertmanager_replay import (
    WebhookReceiver,
    alertmanager_args,
    foresight_config,
    hand_tuned,
    kube_prometheus_default,
    parse_time,
    postable,
    scaled,
    serve_webhooks,
)
from foresight.bench.prometheus_server import ALERTMANAGER_BIN, missing_binary
from foresight.cli.app import app
from foresight.correlate.graph import ServiceGraph

GRAPH = ServiceGraph.of([("web", "api"), ("api", "db"), ("web", "db")])


def test_the_default_is_kube_prometheus_stacks_route_with_every_timer_scaled() -> None:
    config = kube_prometheus_default("http://h/default", 100.0)
    route = config["route"]
    assert route["group_by"] == ["namespace"]
    assert (route["group_wait"], route["group_interval"], route["repeat_interval"]) == ("300ms", "3000ms", "432000ms")
    assert config["global"]["resolve_timeout"] == "3000ms"
    assert config["receivers"][0]["webhook_configs"] == [{"url": "http://h/default", "send_resolved": True}]
    critical = config["inhibit_rules"][0]
    assert critical["source_matchers"] == ['severity="critical"'] and critical["equal"] == ["namespace", "alertname"]
    assert any(r["source_matchers"] == ['alertname="InfoInhibitor"'] for r in config["inhibit_rules"])
    assert alertmanager_args(100.0) == ["--alerts.gc-interval=18000ms", "--data.maintenance-interval=9000ms"]


def test_the_hand_tuned_config_inhibits_a_callers_symptoms_for_each_call_edge() -> None:
    config = hand_tuned("http://h/tuned", GRAPH, 1.0)
    assert config["route"]["group_by"] == ["alertname", "service"]
    edges = [r for r in config["inhibit_rules"] if r["source_matchers"][0].startswith("service=")]
    assert len(edges) == len(GRAPH.edges)
    assert {(r["target_matchers"][0], r["source_matchers"][0]) for r in edges} == {
        ('service="web"', 'service="api"'), ('service="api"', 'service="db"'), ('service="web"', 'service="db"')}
    assert kube_prometheus_default("x", 1.0)["inhibit_rules"][0] in config["inhibit_rules"]


def test_foresight_incidents_are_grouped_one_per_incident_with_the_defaults_timers() -> None:
    ours, default = foresight_config("http://h/f", "http://h/r", 50.0), kube_prometheus_default("http://h/f", 50.0)
    assert ours["route"]["group_by"] == ["incident"]
    timers = ("group_wait", "group_interval", "repeat_interval")
    assert {k: ours["route"][k] for k in timers} == {k: default["route"][k] for k in timers}
    assert ours["global"] == default["global"]
    # notified once (no resolution sent) at one URL, and with resolutions at the other
    sends = {r["name"]: (r["webhook_configs"][0]["url"], r["webhook_configs"][0]["send_resolved"])
             for r in ours["receivers"]}
    assert sends == {"once": ("http://h/f", False), "with-resolutions": ("http://h/r", True)}
    assert [r["receiver"] for r in ours["route"]["routes"]] == ["once", "with-resolutions"]
    assert scaled(0.0001, 1.0) == "1ms"  # Alertmanager refuses a zero group_interval


def test_alert_times_round_trip_through_alertmanagers_format() -> None:
    alert = postable({"alertname": "A"}, 1_700_000_000.25, 1_700_000_060.5)
    assert parse_time(alert["startsAt"]) == 1_700_000_000.25 and parse_time(alert["endsAt"]) == 1_700_000_060.5
    assert parse_time("2023-11-14T22:13:20.250000001Z") == pytest.approx(1_700_000_000.25)


def test_the_webhook_records_every_notification_by_path() -> None:
    receiver = WebhookReceiver()
    with serve_webhooks(receiver) as url:
        assert httpx.post(f"{url}/tuned", json={"status": "firing", "alerts": []}).status_code == 200
        assert httpx.post(f"{url}/default", content=b"not json").status_code == 400
    assert [r.body["status"] for r in receiver.on("/tuned")] == ["firing"] and receiver.on("/default") == []


@pytest.mark.parametrize("args", [["--incidents", "0"], ["--time-scale", "0.5"], ["--time-scale", "nan"],
                                  ["--mean-gap", "0"]])
def test_impossible_options_are_refused_before_anything_starts(args: list[str]) -> None:
    result = CliRunner().invoke(app, ["bench", "incidents", *args])
    assert result.exit_code == 2, result.output


@pytest.mark.integration
def test_a_short_replay_reaches_three_real_alertmanagers_and_is_scored(
    require_service: Callable[[bool, str], None],
) -> None:
    missing = missing_binary(ALERTMANAGER_BIN)
    require_service(missing is None, missing or "")
    result = CliRunner().invoke(app, ["bench", "incidents", "--incidents", "4", "--seed", "2", "--time-scale", "600",
                                      "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    for key in ("notification_reduction_vs_default", "notification_reduction_vs_tuned", "incident_recall",
                "grouping_f1", "first_notification_delay_vs_default_s", "rca_top1", "rca_top3"):
        assert key in figures
    assert figures["faults"] == 4 and figures["incidents"] == figures["faults"] + figures["noise_incidents"]
    assert figures["unmatched_notified_alerts"] == 0  # every notified alert is one the stream sent
    systems = figures["systems"]
    for name in ("default", "tuned", "foresight_with_resolutions"):
        assert systems[name]["notifications"] > systems[name]["firing_notifications"] > 0, name  # fired and resolved
        assert 0.0 < systems[name]["incident_recall"] <= 1.0
    # notified once: the same firing notifications, and no resolution sent
    ours = systems["foresight"]
    assert ours["notifications"] == ours["firing_notifications"] == systems["foresight_with_resolutions"]["firing_notifications"]
    assert ours["incident_recall"] == systems["foresight_with_resolutions"]["incident_recall"] > 0.0
    assert figures["incident_recall_counting_later_joins"] >= figures["incident_recall"]
    assert figures["foresight_incidents"] >= 1 and 0.0 <= figures["rca_top3"] <= 1.0
