"""Suppression and root cause within an incident: who explains whom, who is named, with what evidence."""

from __future__ import annotations

import json

from foresight.correlate.engine import Correlator
from foresight.correlate.graph import ServiceGraph
from foresight.correlate.model import Alert, Incident

CHAIN = ServiceGraph.of([("frontend", "cart"), ("cart", "checkout"), ("checkout", "payment")])


def incident(alerts: list[Alert], graph: ServiceGraph) -> Incident:
    c = Correlator()
    c.observe(alerts, graph, max(a.starts_at for a in alerts))
    [inc] = c.incidents
    return inc


def test_on_a_chain_the_deepest_alerting_service_wins_and_its_callers_are_suppressed() -> None:
    inc = incident(
        [
            Alert("f", "HighLatency", "frontend", 175.0, metric="latency_p95", score=0.7),
            Alert("c", "HighLatency", "cart", 140.0, metric="latency_p95", score=0.8),
            Alert("k", "HighLatency", "checkout", 100.0, metric="latency_p95", score=0.93, component="checkout-7f9"),
        ],
        CHAIN,
    )
    assert inc.suppressed == ("c", "f")
    assert [c.service for c in inc.candidates] == ["checkout", "cart", "frontend"]
    top = inc.candidates[0]
    assert (top.component, top.metric, top.kind) == ("checkout-7f9", "latency_p95", "service")
    assert top.evidence[0] == "checkout latency_p95 alert at t=100 s, score 0.93 on checkout-7f9"
    assert "explains alerting callers cart +40 s, frontend +75 s" in top.evidence
    assert "propagated along frontend -> cart -> checkout" in top.evidence
    assert any("explained by services it calls" in e for e in inc.candidates[1].evidence)


def test_a_dependency_that_alerted_later_is_neither_cause_nor_symptom() -> None:
    c = Correlator()
    c.observe([Alert("c", "Errors", "cart", 100.0), Alert("k", "Slow", "checkout", 160.0)], CHAIN, 160.0)
    assert [(i.alerts, i.suppressed, i.candidates[0].service) for i in c.incidents] == [
        (("c",), (), "cart"),
        (("k",), (), "checkout"),
    ]


def test_clock_skew_within_tolerance_still_explains() -> None:
    inc = incident([Alert("c", "Slow", "cart", 100.0), Alert("k", "Down", "checkout", 106.0)], CHAIN)
    assert inc.suppressed == ("c",)
    assert inc.root_cause is not None and inc.root_cause.service == "checkout"


def test_a_silent_service_in_between_does_not_break_the_explanation() -> None:
    inc = incident([Alert("f", "Slow", "frontend", 130.0), Alert("k", "Down", "checkout", 100.0)], CHAIN)
    assert inc.suppressed == ("f",)
    assert inc.root_cause is not None and inc.root_cause.service == "checkout"


def test_a_node_hosting_unrelated_alerting_services_is_named() -> None:
    graph = ServiceGraph.of(
        [("frontend", "cart"), ("frontend", "search"), ("search", "index"), ("cart", "redis")],
        placement={"cart-1": ("cart", "node-3"), "index-1": ("index", "node-3"), "redis-1": ("redis", "node-1")},
    )
    inc = incident(
        [
            Alert("c", "PodNotReady", "cart", 100.0, component="cart-1"),
            Alert("i", "PodNotReady", "index", 103.0, component="index-1"),
            Alert("f", "HighErrors", "frontend", 120.0),
        ],
        graph,
    )
    top = inc.root_cause
    assert top is not None
    assert (top.kind, top.component, top.service) == ("node", "node-3", "cart")
    assert top.evidence[0].startswith("node node-3 hosts 2 alerting services")
    assert "cart, index do not explain one another" in top.evidence[1]
    assert inc.suppressed == ("f",)


def test_a_node_hosting_a_call_chain_names_the_deepest_service_instead() -> None:
    graph = ServiceGraph.of(
        [("cart", "redis")], placement={"cart-1": ("cart", "node-3"), "redis-1": ("redis", "node-3")}
    )
    inc = incident(
        [Alert("c", "Slow", "cart", 110.0, component="node-3"), Alert("r", "Down", "redis", 100.0, component="node-3")],
        graph,
    )
    assert inc.root_cause is not None and (inc.root_cause.kind, inc.root_cause.service) == ("service", "redis")
    assert [c.kind for c in inc.candidates].count("node") == 1
    # latency and errors computed per pod say nothing about the node the pods run on
    inc = incident(
        [Alert("c", "Slow", "cart", 110.0, component="cart-1"), Alert("r", "Down", "redis", 100.0, component="redis-1")],
        graph,
    )
    assert [(c.kind, c.service) for c in inc.candidates] == [("service", "redis"), ("service", "cart")]


def test_the_first_onset_counts_when_the_cause_alerts_again_later() -> None:
    graph = ServiceGraph.of([("cart", "checkout"), ("checkout", "payment")], placement={"pay-1": ("payment", "n1")})
    inc = incident(
        [
            Alert("k", "Down", "checkout", 100.0),
            Alert("c", "Slow", "cart", 130.0),
            Alert("p1", "Noise", "payment", 95.0, component="pay-1"),
            Alert("p2", "Noise", "payment", 200.0, component="pay-1"),
        ],
        graph,
    )
    assert inc.root_cause is not None and inc.root_cause.service == "payment"
    assert inc.suppressed == ("c", "k")
    assert "payment also alerted on Noise" not in inc.root_cause.evidence  # same name: said once


def test_an_unknown_service_is_ranked_and_says_so() -> None:
    inc = incident([Alert("x", "BatchLate", "legacy-batch", 100.0)], CHAIN)
    assert inc.root_cause is not None and inc.root_cause.service == "legacy-batch"
    assert any("not in the service graph" in e for e in inc.root_cause.evidence)


def test_on_a_call_cycle_the_first_to_alert_is_the_root() -> None:
    ring = ServiceGraph.of([("a", "b"), ("b", "c"), ("c", "a")])
    inc = incident([Alert("1", "X", "a", 100.0), Alert("2", "X", "b", 103.0), Alert("3", "X", "c", 101.0)], ring)
    assert inc.root_cause is not None and inc.root_cause.service == "a"
    assert inc.suppressed == ("2", "3")


def test_alerts_without_a_service_are_kept_but_never_named() -> None:
    c = Correlator()
    [inc] = c.observe([Alert("n", "Watchdog", None, 100.0)], CHAIN, 100.0)
    assert inc.alerts == ("n",) and inc.candidates == () and inc.suppressed == ()


def test_the_propagation_path_names_silent_services_in_brackets() -> None:
    inc = incident([Alert("f", "Slow", "frontend", 130.0), Alert("k", "Down", "checkout", 100.0)], CHAIN)
    assert inc.root_cause is not None
    assert "propagated along frontend -> (cart) -> checkout" in inc.root_cause.evidence


def test_a_node_that_alerts_itself_is_named_even_over_one_service() -> None:
    graph = ServiceGraph.of([("web", "cart")], placement={"cart-1": ("cart", "node-7"), "web-1": ("web", "node-2")})
    alone = incident([Alert("n", "KubeNodeNotReady", None, 100.0, component="node-7")], graph)
    assert [(c.kind, c.service, c.component) for c in alone.candidates] == [("node", "node-7", "node-7")]
    inc = incident(
        [
            Alert("n", "KubeNodeNotReady", None, 100.0, component="node-7", metric="node_ready"),
            Alert("p", "KubePodNotReady", "cart", 110.0, component="cart-1"),
            Alert("w", "ServiceErrorRateHigh", "web", 150.0),
        ],
        graph,
    )
    top = inc.root_cause
    assert top is not None and (top.kind, top.component, top.service) == ("node", "node-7", "cart")
    assert top.evidence[0] == "node-7 node_ready alert at t=100 s"
    assert inc.suppressed == ("w",)


#: web -> api -> db, and a batch job calling db too; a lost node hosted pods of api, db and batch
NODE_LOSS = ServiceGraph.of(
    [("web", "api"), ("api", "db"), ("batch", "db")],
    placement={"api-1": ("api", "node-9"), "db-1": ("db", "node-9"), "batch-1": ("batch", "node-9"), "web-1": ("web", "node-2")},
)


def lost(key: str, service: str, t: float) -> Alert:
    """A service's ready replicas fell, the alert naming the node they were lost on (as the demo's do)."""
    return Alert(key, "ReplicasLost", service, t, component="node-9", metric="replicas_ready")


def test_a_node_whose_services_do_not_explain_one_another_outranks_them() -> None:
    # api's and batch's errors are both explained by db, yet neither explains the other: a shared cause
    errors = [Alert(k, "Errors", s, 100.0, component="node-9", metric="error_rate") for k, s in (("a", "api"), ("b", "batch"))]
    graph = ServiceGraph.of([("api", "db"), ("batch", "db")], placement={"api-1": ("api", "node-9"), "batch-1": ("batch", "node-9")})
    inc = incident([*errors, Alert("d", "Errors", "db", 95.0, metric="error_rate")], graph)
    assert inc.root_cause is not None and inc.root_cause.service == "db"  # db alerted first and explains both
    node = next(c for c in inc.candidates if c.kind == "node")
    assert "api, batch do not explain one another through calls: a cause they share" in node.evidence
    # pods lost on the node are nobody's symptom: a caller losing pods beside its callee names the node
    inc = incident([lost("a", "api", 100.0), lost("d", "db", 100.0), Alert("w", "Errors", "web", 100.0)], NODE_LOSS)
    assert inc.root_cause is not None and (inc.root_cause.kind, inc.root_cause.component) == ("node", "node-9")
    assert inc.candidates[1].service == "db"
    # a caller's errors are its callee's symptom: with only those on the node, the callee stays first
    inc = incident([Alert("a", "Errors", "api", 100.0, component="api-1", metric="error_rate"), lost("d", "db", 100.0)],
                   NODE_LOSS)
    assert inc.root_cause is not None and (inc.root_cause.kind, inc.root_cause.service) == ("service", "db")


def test_alerts_that_start_together_join_whatever_order_their_keys_sort_in() -> None:
    # the caller's key sorts first, and the callee's alert also joins the node's incident: still one
    c = Correlator()
    c.observe([Alert("0-web", "Errors", "web", 100.0), Alert("1-api", "Errors", "api", 100.0),
               lost("2-batch", "batch", 100.0), lost("3-db", "db", 100.0)], NODE_LOSS, 100.0)
    assert [set(i.alerts) for i in c.incidents] == [{"0-web", "1-api", "2-batch", "3-db"}]


def test_a_node_stays_the_candidate_after_its_pods_leave_the_placement() -> None:
    c = Correlator()
    c.observe([lost("b", "batch", 100.0), lost("d", "db", 100.0), Alert("w", "Errors", "web", 110.0)], NODE_LOSS, 110.0)
    [inc] = c.incidents
    assert inc.root_cause is not None and inc.root_cause.component == "node-9"
    evicted = ServiceGraph.of(NODE_LOSS.edges, {"web-1": ("web", "node-2"), "db-2": ("db", "node-3")})
    saved = c.state()
    for now in (c, Correlator.from_state(json.loads(json.dumps(saved)))):
        [inc] = now.observe([Alert("a", "Errors", "api", 270.0)], evicted, 270.0)  # minutes on: pods rescheduled
        assert inc.root_cause is not None and inc.root_cause.component == "node-9"
        assert [c.component for c in inc.candidates if c.kind == "node"] == ["node-9"]
    # what was kept goes with the alerts: a new alert naming the node reads the placement as it is
    later = Correlator()
    later.observe([lost("b", "batch", 100.0)], evicted, 100.0)
    assert later.state()["placed"] == []
    # a state saved before placements were kept still loads
    del saved["placed"]
    assert Correlator.from_state(saved).state() == {**saved, "placed": []}
