"""Simulated fault cascades: reproducible by seed, as many faults as asked, and ground truth that the
topology explains (every alert of a fault sits on its root, on its node, or upstream of them)."""

from __future__ import annotations

from collections import Counter, defaultdict
from graphlib import TopologicalSorter
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foresight.errors import ConfigError
from foresight.sim.cascades import CascadeRun, CascadeSettings, generate


@pytest.fixture(scope="module")
def run() -> CascadeRun:
    return generate(CascadeSettings(incidents=120, seed=7))


def _stream(run: CascadeRun) -> list[tuple]:
    return [(a.alert.key, dict(a.alert.labels), a.alert.starts_at, a.alert.ends_at, a.incident) for a in run.alerts]


def test_a_seed_gives_the_same_run_and_another_seed_another() -> None:
    first, again = generate(CascadeSettings(incidents=30, seed=3)), generate(CascadeSettings(incidents=30, seed=3))
    assert _stream(first) == _stream(again)
    assert first.graph == again.graph and first.faults == again.faults
    assert _stream(generate(CascadeSettings(incidents=30, seed=4))) != _stream(first)


def test_the_default_run_has_at_least_500_faults_plus_noise_incidents() -> None:
    run = generate()
    kinds = Counter(f.kind for f in run.faults.values())
    assert sum(n for kind, n in kinds.items() if kind != "noise") == 500
    assert kinds["noise"] > 0 and {"latency", "errors", "saturation", "node"} <= set(kinds)
    assert len({a.incident for a in run.alerts}) == len(run.faults)  # every incident has alerts


def test_every_alert_is_explained_by_its_fault(run: CascadeRun) -> None:
    services_on: dict[str, set[str]] = defaultdict(set)
    for service, node in run.graph.placement.values():
        services_on[node].add(service)
    by_incident: dict[str, list] = defaultdict(list)
    for truth in run.alerts:
        by_incident[truth.incident].append(truth.alert)
    for fid, alerts in by_incident.items():
        fault = run.faults[fid]
        if fault.kind == "noise":
            assert len(alerts) == 1 and alerts[0].service == fault.root_service
            continue
        if fault.kind == "node":
            sources = services_on[fault.root_node]
        else:
            sources = {fault.root_service}
        explained = set(sources).union(*(run.graph.upstream(s) for s in sources))
        for alert in alerts:
            assert alert.starts_at >= fault.onset_s
            if alert.service is None:
                assert alert.labels["node"] == fault.root_node and alert.name == "KubeNodeNotReady"
            else:
                assert alert.service in explained, (fid, alert)


def test_alerts_resolve_and_a_label_set_fires_once_at_a_time(run: CascadeRun) -> None:
    spans: dict[tuple, list[tuple[float, float]]] = defaultdict(list)
    for truth in run.alerts:
        alert = truth.alert
        assert alert.ends_at is not None and alert.ends_at > alert.starts_at
        spans[tuple(sorted(alert.labels.items()))].append((alert.starts_at, alert.ends_at))
    for intervals in spans.values():
        intervals.sort()
        assert all(end <= nxt for (_, end), (nxt, _) in pairwise(intervals))
    assert len({a.alert.key for a in run.alerts}) == len(run.alerts)
    assert [a.alert.starts_at for a in run.alerts] == sorted(a.alert.starts_at for a in run.alerts)


def test_labels_are_kube_prometheus_style_and_match_the_placement(run: CascadeRun) -> None:
    for truth in run.alerts:
        labels = truth.alert.labels
        assert {"alertname", "namespace", "severity"} <= set(labels)
        assert labels["severity"] in ("critical", "warning", "info")
        if "pod" in labels:
            assert run.graph.placement[labels["pod"]] == (labels["service"], labels["node"])
            assert truth.alert.component == labels["pod"]
        if "service" in labels:
            assert run.namespaces[labels["service"]] == labels["namespace"]


def test_the_topology_is_layered_applications_with_shared_downstreams(run: CascadeRun) -> None:
    graph = TopologicalSorter({s: run.graph.callees(s) for s in run.graph.services})
    graph.prepare()  # raises CycleError on a cycle
    apps = Counter(s.split("-")[0] for s in run.graph.services)
    assert len(apps) == CascadeSettings().apps and all(8 <= n <= 40 for n in apps.values())
    assert any(len(run.graph.callers(s)) > 1 for s in run.graph.services)
    assert all(run.graph.nodes_of(s) for s in run.graph.services)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), incidents=st.integers(1, 12))
def test_any_seed_gives_the_faults_asked_for_each_with_alerts(seed: int, incidents: int) -> None:
    run = generate(CascadeSettings(incidents=incidents, seed=seed))
    held = {a.incident for a in run.alerts}
    assert sum(f.kind != "noise" for f in run.faults.values()) == incidents
    assert held == set(run.faults)
    assert run.duration_s >= max(a.alert.ends_at or 0.0 for a in run.alerts)


@pytest.mark.parametrize("field, value", [("incidents", 0), ("mean_gap_s", 0.0), ("propagation", 1.5),
                                          ("noise_per_incident", -1.0)])
def test_impossible_settings_are_refused_by_name(field: str, value: float) -> None:
    with pytest.raises(ConfigError, match=field):
        CascadeSettings(**{field: value})
