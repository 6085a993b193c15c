"""Grouping: which alerts become one incident, merges, late and unknown alerts, bad input."""

from __future__ import annotations

import json
import math

import pytest

from foresight.correlate.engine import CorrelationSettings, Correlator, InvalidState
from foresight.correlate.graph import ServiceGraph
from foresight.correlate.model import Alert, IncidentStatus, InvalidAlert
from foresight.errors import ConfigError, InputError

#: frontend -> cart -> checkout -> payment, and a separate search -> index pair
SHOP = ServiceGraph.of(
    [("frontend", "cart"), ("cart", "checkout"), ("checkout", "payment"), ("search", "index")],
    placement={
        "cart-1": ("cart", "node-a"),
        "checkout-1": ("checkout", "node-b"),
        "search-1": ("search", "node-a"),
        "index-1": ("index", "node-c"),
    },
)


def alert(key: str, service: str | None, t: float, **kw: object) -> Alert:
    return Alert(key, kw.pop("name", "HighLatency"), service, t, **kw)  # type: ignore[arg-type]


def groups(c: Correlator) -> set[frozenset[str]]:
    return {frozenset(i.alerts) for i in c.incidents}


def test_a_cascade_along_calls_is_one_incident() -> None:
    c = Correlator()
    c.observe([alert("p", "payment", 100.0), alert("k", "checkout", 130.0), alert("f", "frontend", 190.0)], SHOP, 200.0)
    assert groups(c) == {frozenset({"p", "k", "f"})}


def test_far_apart_in_the_graph_or_in_time_stays_apart() -> None:
    c = Correlator()
    # frontend and payment are 3 calls apart: beyond max_hops 2
    c.observe([alert("f", "frontend", 100.0), alert("p", "payment", 100.0)], SHOP, 100.0)
    assert groups(c) == {frozenset({"f"}), frozenset({"p"})}
    c = Correlator()
    c.observe([alert("a", "cart", 100.0), alert("b", "checkout", 100.0 + 301.0)], SHOP, 401.0)
    assert groups(c) == {frozenset({"a"}), frozenset({"b"})}


def test_unrelated_components_stay_apart_and_max_hops_is_a_knob() -> None:
    c = Correlator(CorrelationSettings(max_hops=3))
    c.observe([alert("f", "frontend", 100.0), alert("p", "payment", 100.0), alert("s", "search", 100.0)], SHOP, 100.0)
    assert groups(c) == {frozenset({"f", "p"}), frozenset({"s"})}


def test_pods_on_one_node_group_even_without_calls() -> None:
    c = Correlator()
    c.observe([alert("c", "cart", 100.0, name="KubePodNotReady", component="cart-1"),
               alert("s", "search", 110.0, name="KubePodNotReady", component="search-1")], SHOP, 110.0)
    assert groups(c) == {frozenset({"c", "s"})}
    # latency computed per pod is about what the pod serves, not its node: like a service's alert
    c = Correlator()
    c.observe([alert("c", "cart", 100.0, component="cart-1"), alert("s", "search", 110.0, component="search-1")], SHOP, 110.0)
    assert groups(c) == {frozenset({"c"}), frozenset({"s"})}


def test_service_level_alerts_do_not_group_by_a_shared_node() -> None:
    c = Correlator()
    c.observe([alert("c", "cart", 100.0), alert("s", "search", 110.0)], SHOP, 110.0)
    assert groups(c) == {frozenset({"c"}), frozenset({"s"})}


def test_a_pod_alert_links_along_calls_unless_it_is_about_the_pod_itself() -> None:
    # Alertmanager alerts computed per pod keep the pod label: a caller's per-pod latency is a symptom
    c = Correlator()
    c.observe([alert("k", "checkout", 100.0), alert("c", "cart", 150.0, component="cart-1", metric="latency_p95")], SHOP, 150.0)
    assert groups(c) == {frozenset({"k", "c"})}
    assert c.incidents[0].suppressed == ("c",)
    # a restart, OOM or readiness alert says what went wrong in that one pod: no symptom of a callee
    for name in ("KubePodCrashLooping", "KubePodNotReady", "ContainerOOMKilled", "KubePodPending", "CPUThrottlingHigh"):
        c = Correlator()
        c.observe([alert("k", "checkout", 100.0), alert("c", "cart", 150.0, name=name, component="cart-1")], SHOP, 150.0)
        assert groups(c) == {frozenset({"k"}), frozenset({"c"})}, name
        c = Correlator()  # nor found as one when it came first
        c.observe([alert("c", "cart", 150.0, name=name, component="cart-1")], SHOP, 150.0)
        c.observe([alert("k", "checkout", 100.0)], SHOP, 160.0)
        assert groups(c) == {frozenset({"k"}), frozenset({"c"})}, name
    # the metric says it as well as the name
    c = Correlator()
    c.observe([alert("k", "checkout", 100.0), alert("c", "cart", 150.0, name="PodAlert", metric="restarts", component="cart-1")],
              SHOP, 150.0)
    assert groups(c) == {frozenset({"k"}), frozenset({"c"})}


def test_a_service_alert_that_fired_before_its_pods_joins_the_node_they_tie_it_to() -> None:
    """A node fault: the service's latency rule fired before its pod's readiness rule (their ``for:``
    clocks keep no order), so the service's alert opened an incident the pod's alert then ties to the
    node's: a fragment, merged."""
    node = alert("n", None, 100.0, name="KubeNodeNotReady", component="node-a")
    pod = alert("r", "search", 170.0, name="KubePodNotReady", component="search-1")
    c = Correlator()
    c.observe([node], SHOP, 100.0)
    [fragment] = c.observe([alert("s", "search", 130.0)], SHOP, 130.0)
    out = {i.id: i for i in c.observe([pod], SHOP, 170.0)}
    assert groups(c) == {frozenset({"n", "s", "r"})}
    assert out[fragment.id].merged_into == c.incidents[0].id
    assert c.incidents[0].root_cause is not None and c.incidents[0].root_cause.component == "node-a"
    # one rule cycle or two apart, not more: a service alert 61 s before stays its own incident
    c = Correlator()
    c.observe([node, alert("s", "search", 109.0)], SHOP, 109.0)
    c.observe([pod], SHOP, 170.0)
    assert groups(c) == {frozenset({"n", "r"}), frozenset({"s"})}
    # an incident opened on another service is no fragment of this one
    c = Correlator()
    c.observe([node, alert("i", "index", 160.0)], SHOP, 160.0)
    c.observe([pod], SHOP, 170.0)
    assert groups(c) == {frozenset({"n", "r"}), frozenset({"i"})}


def test_a_bridging_alert_merges_into_the_older_incident() -> None:
    c = Correlator()
    [old] = c.observe([alert("p", "payment", 100.0)], SHOP, 100.0)
    [young] = c.observe([alert("f", "frontend", 150.0)], SHOP, 150.0)  # 3 calls from payment
    out = {i.id: i for i in c.observe([alert("k", "checkout", 130.0)], SHOP, 155.0)}
    assert out[young.id].status == IncidentStatus.RESOLVED
    assert out[young.id].merged_into == old.id
    assert out[young.id].revision == young.revision + 1
    assert out[old.id].status == IncidentStatus.FIRING
    assert set(out[old.id].alerts) == {"f", "p", "k"}
    assert [i.id for i in c.incidents] == [old.id]
    assert c.incident_of("p") == old.id


def test_merging_keeps_the_incident_that_started_first_even_when_it_arrived_last() -> None:
    c = Correlator()
    [late] = c.observe([alert("f", "frontend", 150.0)], SHOP, 150.0)
    [early] = c.observe([alert("p", "payment", 100.0)], SHOP, 151.0)
    out = {i.id: i for i in c.observe([alert("k", "checkout", 130.0)], SHOP, 155.0)}
    assert out[late.id].merged_into == early.id
    assert c.incidents[0].id == early.id and c.incidents[0].opened_at == 100.0


def test_out_of_order_alerts_group_as_in_order() -> None:
    stream = [alert("p", "payment", 100.0), alert("k", "checkout", 140.0), alert("c", "cart", 170.0), alert("f", "frontend", 200.0)]
    in_order, shuffled = Correlator(), Correlator()
    for a in stream:
        in_order.observe([a], SHOP, a.starts_at)
    for a in [stream[3], stream[0], stream[2], stream[1]]:
        shuffled.observe([a], SHOP, 205.0)
    assert groups(in_order) == groups(shuffled) == {frozenset("pkcf")}


def test_a_late_alert_from_a_skewed_clock_joins_and_is_still_explained() -> None:
    c = Correlator()
    c.observe([alert("k", "checkout", 100.0), alert("c", "cart", 120.0)], SHOP, 125.0)
    # payment's clock runs 4 s ahead: its alert says it started after checkout's, and arrives late
    [inc] = c.observe([alert("p", "payment", 104.0)], SHOP, 130.0)
    assert set(inc.alerts) == {"k", "c", "p"}
    assert set(inc.suppressed) == {"k", "c"}
    assert inc.root_cause is not None and inc.root_cause.service == "payment"


def test_unknown_services_join_by_time_alone_unlabelled_ones_by_pod_only() -> None:
    c = Correlator()
    c.observe(
        [
            alert("k", "checkout", 100.0),
            alert("x1", "legacy-batch", 130.0),  # not in the graph: joins what started within 60 s
            alert("x2", "legacy-batch", 290.0),  # its own service's alert, within window_s
            alert("y", "cron", 500.0),  # not in the graph, nothing near in time
            alert("n1", None, 102.0),  # names no service: never by time
            alert("n2", None, 103.0, component="checkout-1"),  # its pod names its service
            alert("n3", None, 104.0, component="mystery-pod"),
            alert("n4", None, 160.0, component="mystery-pod"),
        ],
        SHOP,
        500.0,
    )
    assert groups(c) == {
        frozenset({"k", "x1", "x2", "n2"}),
        frozenset({"y"}),
        frozenset({"n1"}),
        frozenset({"n3", "n4"}),
    }
    # two services the graph knows do not join by time alone
    c = Correlator()
    c.observe([alert("s", "search", 100.0), alert("p", "payment", 101.0)], SHOP, 101.0)
    assert groups(c) == {frozenset({"s"}), frozenset({"p"})}


def test_with_an_empty_graph_alerts_join_by_time_within_the_shorter_window() -> None:
    empty = ServiceGraph.of([])
    for order in ([0, 1, 2, 3], [3, 2, 1, 0]):  # the same whichever comes first
        given = [alert("a", "cart", 100.0), alert("b", "checkout", 150.0), alert("c", "payment", 205.0),
                 alert("d", "search", 400.0)]
        c = Correlator()
        for i in order:
            c.observe([given[i]], empty, 400.0)
        assert groups(c) == {frozenset({"a", "b", "c"}), frozenset({"d"})}
    c = Correlator(CorrelationSettings(unknown_window_s=0.0))
    c.observe([alert("a", "cart", 100.0), alert("b", "checkout", 150.0)], empty, 150.0)
    assert groups(c) == {frozenset({"a"}), frozenset({"b"})}
    with pytest.raises(ConfigError, match="unknown_window_s"):
        CorrelationSettings(unknown_window_s=-1.0)


def test_repeats_and_stale_versions_change_nothing() -> None:
    c = Correlator()
    a = alert("k", "checkout", 100.0, score=0.9)
    [first] = c.observe([a], SHOP, 100.0)
    assert c.observe([a], SHOP, 100.0) == []
    resolved = alert("k", "checkout", 100.0, ends_at=150.0, score=0.9)
    assert c.observe([resolved], SHOP, 160.0) == []  # the incident as published did not change
    resolved = alert("k", "checkout", 100.0, ends_at=150.0, score=0.9, metric="latency_p95")
    [changed] = c.observe([resolved], SHOP, 160.0)  # an update of the same version is a change
    assert changed.revision == first.revision + 1
    assert changed.root_cause is not None and changed.root_cause.metric == "latency_p95"
    assert c.observe([a], SHOP, 170.0) == []  # the firing version is older than the resolved one
    assert c.observe([resolved, a], SHOP, 170.0) == []  # nor is one given with it


def test_a_graph_with_cycles_groups_and_keeps_a_root_cause() -> None:
    ring = ServiceGraph.of([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")])
    c = Correlator()
    [inc] = c.observe([alert("1", "a", 100.0), alert("2", "b", 100.0), alert("3", "c", 100.0)], ring, 100.0)
    assert set(inc.alerts) == {"1", "2", "3"}
    assert len(inc.suppressed) < 3  # someone is always left to notify
    assert inc.root_cause is not None


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (alert("b", "cart", math.nan), "starts_at"),
        (alert("b", "cart", math.inf), "starts_at"),
        (alert("b", "cart", 100.0, ends_at=math.nan), "ends_at"),
        (alert("b", "cart", 100.0, ends_at=99.0), "before starts_at"),
        (alert("b", "cart", 100.0, score=math.nan), "score"),
        (alert("", "cart", 100.0), "key"),
    ],
)
def test_bad_alerts_are_refused_before_anything_changes(bad: Alert, field: str) -> None:
    c = Correlator()
    c.observe([alert("k", "checkout", 90.0)], SHOP, 90.0)
    before = json.dumps(c.state(), sort_keys=True)
    with pytest.raises(InvalidAlert, match=field) as info:
        c.observe([alert("c", "cart", 95.0), bad], SHOP, 100.0)
    assert isinstance(info.value, InputError)
    assert json.dumps(c.state(), sort_keys=True) == before


def test_a_state_from_elsewhere_is_refused_precisely() -> None:
    with pytest.raises(InvalidState):
        Correlator.from_state({"version": 99})
    with pytest.raises(InvalidState):
        Correlator.from_state({"version": 1, "alerts": [{"key": "x"}], "open": [], "closed": [], "ended": []})


def test_state_round_trips_through_json() -> None:
    c = Correlator()
    c.observe([alert("p", "payment", 100.0, component="pod-p", labels={"team": "pay"}), alert("f", "frontend", 100.0)], SHOP, 100.0)
    c.observe([alert("k", "checkout", 120.0)], SHOP, 120.0)
    c.observe([alert("p", "payment", 100.0, ends_at=200.0, component="pod-p", labels={"team": "pay"})], SHOP, 200.0)
    data = json.loads(json.dumps(c.state()))
    back = Correlator.from_state(data)
    assert back.state() == c.state()
    assert back.incidents == c.incidents
    follow = [alert("c", "cart", 210.0)]
    assert back.observe(follow, SHOP, 220.0) == c.observe(follow, SHOP, 220.0)
