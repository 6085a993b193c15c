"""An incident's life: revisions, resolution after the quiet time, a flap reopening it, forgetting."""

from __future__ import annotations

import pytest

from foresight.correlate.engine import CorrelationSettings, Correlator
from foresight.correlate.graph import ServiceGraph
from foresight.correlate.model import Alert, IncidentStatus
from foresight.errors import ConfigError

CHAIN = ServiceGraph.of([("web", "api"), ("api", "db")])


def test_resolves_resolve_after_s_after_the_last_alert_ended() -> None:
    c = Correlator(CorrelationSettings(resolve_after_s=300.0))
    [opened] = c.observe([Alert("d", "Down", "db", 100.0), Alert("w", "Slow", "web", 130.0)], CHAIN, 130.0)
    assert opened.revision == 1 and opened.status == IncidentStatus.FIRING
    # one alert ending changes nothing an actuator shows: no new revision
    assert c.observe([Alert("d", "Down", "db", 100.0, ends_at=200.0)], CHAIN, 200.0) == []
    assert c.observe([Alert("w", "Slow", "web", 130.0, ends_at=250.0)], CHAIN, 250.0) == []
    assert c.incidents == (opened,)
    assert c.observe([], CHAIN, 549.0) == []
    [done] = c.observe([], CHAIN, 550.0)
    assert done.id == opened.id and done.status == IncidentStatus.RESOLVED
    assert done.resolved_at == 250.0 and done.revision == 2
    assert c.incidents == ()
    assert c.incident_of("d") == opened.id


def test_a_flap_within_the_quiet_time_reopens_the_same_incident() -> None:
    c = Correlator()
    [opened] = c.observe([Alert("d", "Down", "db", 100.0)], CHAIN, 100.0)
    c.observe([Alert("d", "Down", "db", 100.0, ends_at=150.0)], CHAIN, 150.0)
    [again] = c.observe([Alert("d", "Down", "db", 400.0)], CHAIN, 400.0)  # 250 s later: not yet resolved
    assert again.id == opened.id and again.status == IncidentStatus.FIRING
    assert c.observe([], CHAIN, 800.0) == []  # firing again: nothing resolves


def test_after_resolution_a_new_episode_opens_a_new_incident_and_repeats_do_not() -> None:
    c = Correlator()
    [first] = c.observe([Alert("d", "Down", "db", 100.0, ends_at=150.0)], CHAIN, 150.0)
    [closed] = c.observe([], CHAIN, 451.0)
    assert closed.id == first.id and closed.status == IncidentStatus.RESOLVED
    assert c.observe([Alert("d", "Down", "db", 100.0, ends_at=150.0)], CHAIN, 460.0) == []
    assert c.observe([Alert("d", "Down", "db", 100.0)], CHAIN, 460.0) == []
    [second] = c.observe([Alert("d", "Down", "db", 900.0)], CHAIN, 900.0)
    assert second.id != first.id and c.incident_of("d") == second.id


def test_an_alert_that_ended_long_ago_opens_and_resolves_at_once() -> None:
    c = Correlator()
    [inc] = c.observe([Alert("d", "Down", "db", 100.0, ends_at=150.0)], CHAIN, 5000.0)
    assert inc.status == IncidentStatus.RESOLVED and inc.revision == 1
    assert c.observe([Alert("d", "Down", "db", 100.0, ends_at=150.0)], CHAIN, 5001.0) == []


def test_resolved_incidents_are_forgotten_after_keep_resolved_s() -> None:
    c = Correlator(CorrelationSettings(keep_resolved_s=1000.0))
    [inc] = c.observe([Alert("d", "Down", "db", 100.0, ends_at=150.0)], CHAIN, 500.0)
    c.observe([], CHAIN, 1500.0)
    assert c.incident_of("d") == inc.id
    c.observe([], CHAIN, 1501.0)
    assert c.incident_of("d") is None
    assert c.state()["closed"] == [] and c.state()["ended"] == []


def test_ids_are_reproducible() -> None:
    def run() -> list[str]:
        c = Correlator()
        return [i.id for i in c.observe([Alert("d", "Down", "db", 100.0), Alert("x", "Other", "elsewhere", 200.0)], CHAIN, 200.0)]

    assert run() == run()
    assert len(set(run())) == 2


def test_a_new_graph_is_used_for_the_next_alerts() -> None:
    old, moved = Correlator(), Correlator()
    for c in (old, moved):
        c.observe([Alert("d", "Down", "db", 100.0)], CHAIN, 100.0)
    old.observe([Alert("q", "Slow", "queue", 200.0)], CHAIN, 200.0)
    assert len(old.incidents) == 2  # the old graph does not know the queue: by time alone it is too late
    calls_db = ServiceGraph.of([("web", "api"), ("api", "db"), ("queue", "db")])
    [inc] = moved.observe([Alert("q", "Slow", "queue", 200.0)], calls_db, 200.0)
    assert set(inc.alerts) == {"d", "q"} and inc.suppressed == ("q",)


def test_impossible_settings_are_refused() -> None:
    for bad in ({"window_s": -1.0}, {"max_hops": -1}, {"skew_s": float("nan")}, {"resolve_after_s": float("inf")}):
        with pytest.raises(ConfigError):
            CorrelationSettings(**bad)  # type: ignore[arg-type]
