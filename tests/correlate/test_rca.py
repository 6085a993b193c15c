"""Root cause from metric windows and the call graph: propagation, local evidence, "nothing wrong"."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from foresight.correlate.graph import ServiceGraph
from foresight.correlate.rca import RcaSettings, Series, rank_root_causes, robust_z

CALM = np.array([1.0, 1.1, 0.9, 1.0, 1.05, 0.95, 1.0, 1.02])
GRAPH = ServiceGraph.of([("web", "api"), ("api", "db"), ("web", "cache")])


def slow(service: str, level: float = 5.0, metric: str = "latency") -> Series:
    return Series(service, metric, CALM, np.full(4, level))


def calm(service: str, metric: str = "latency") -> Series:
    return Series(service, metric, CALM, CALM[:4])


def test_robust_z_ignores_nans_and_is_zero_without_data() -> None:
    assert robust_z(np.array([np.nan, 1.0, 1.0, 1.0, 2.0]), np.array([np.nan, 11.0])) == robust_z(
        np.array([1.0, 1.0, 1.0, 2.0]), np.array([11.0]))
    assert robust_z(np.array([]), np.array([1.0])) == 0.0
    assert robust_z(np.array([1.0]), np.array([np.nan])) == 0.0


def test_robust_z_falls_back_to_mean_deviation_when_most_of_the_baseline_is_one_value() -> None:
    errors = np.array([0.0] * 9 + [1.0])  # MAD 0; mean |x - 0| = 0.1
    assert robust_z(errors, np.array([1.0, 1.0])) == 1.0 / (1.2533 * 0.1)


def test_robust_z_direction_turns_a_fall_into_a_positive_score() -> None:
    base = np.array([100.0, 99.0, 101.0, 100.0])
    assert robust_z(base, np.array([50.0]), direction=-1) > 0 > robust_z(base, np.array([50.0]))


def test_a_slow_callee_explains_its_slow_callers() -> None:
    ranked = rank_root_causes([slow("web"), slow("api"), slow("db"), calm("cache")], GRAPH)
    assert [c.service for c in ranked] == ["db", "api", "web", "cache"]
    web = next(c for c in ranked if c.service == "web")
    assert any("explained by anomalous callee(s) api" in line for line in web.evidence)


def test_resource_use_stays_local_a_hot_caller_is_a_root_even_over_a_slow_callee() -> None:
    series = [Series("api", "cpu", CALM, np.full(4, 9.0), signal=None), slow("db", 3.0), calm("web")]
    ranked = rank_root_causes(series, GRAPH)
    assert {c.service for c in ranked[:2]} == {"api", "db"}
    assert ranked[0].metric == "cpu" and ranked[0].service == "api"


def test_nothing_anomalous_names_no_cause() -> None:
    assert rank_root_causes([calm("web"), calm("api"), calm("db")], GRAPH) == ()


def test_the_alerting_service_must_be_anomalous_and_limits_the_suspects_to_what_it_calls() -> None:
    series = [calm("web"), slow("cache"), calm("api")]
    assert rank_root_causes(series, GRAPH, alerting="web") == ()
    assert rank_root_causes(series, GRAPH, alerting="cache")[0].service == "cache"
    outside = [slow("api"), slow("cache")]
    assert [c.service for c in rank_root_causes(outside, GRAPH, alerting="api")] == ["api"]


def test_a_service_the_graph_does_not_know_is_still_ranked() -> None:
    ranked = rank_root_causes([slow("ghost"), calm("web")], GRAPH)
    assert ranked[0].service == "ghost"


def test_the_threshold_decides_what_is_anomalous() -> None:
    series = [slow("db", 1.6), calm("api")]  # z = 0.6 / 0.1 (the 10 % floor) = 6
    assert rank_root_causes(series, GRAPH, RcaSettings(threshold=5.0))[0].service == "db"
    assert rank_root_causes(series, GRAPH, RcaSettings(threshold=7.0)) == ()


@given(st.lists(st.tuples(st.sampled_from(["web", "api", "db", "cache", "x"]), st.floats(0.0, 50.0)),
                min_size=1, max_size=12))
def test_ranking_names_only_observed_services_once_each_and_is_empty_or_led_by_an_anomaly(
        observed: list[tuple[str, float]]) -> None:
    series = [slow(service, level) for service, level in observed]
    ranked = rank_root_causes(series, GRAPH)
    names = [c.service for c in ranked]
    assert len(names) == len(set(names)) and set(names) <= {s for s, _ in observed}
    anomalous = any(robust_z(s.baseline, s.window) > RcaSettings().threshold for s in series)
    assert bool(ranked) == anomalous
    if ranked:
        assert ranked[0].score > RcaSettings().threshold


def test_a_declared_incident_is_ranked_even_when_nothing_passes_the_threshold() -> None:
    faint = [slow("db", 1.3), calm("api"), calm("web")]
    assert rank_root_causes(faint, GRAPH) == ()
    ranked = rank_root_causes(faint, GRAPH, certain=True)
    assert ranked[0].service == "db" and ranked[0].score < RcaSettings().threshold


def test_a_callee_explains_only_the_same_signal() -> None:
    series = [Series("api", "errors", np.zeros(8), np.full(4, 5.0), signal="errors"), slow("db"), calm("web")]
    ranked = rank_root_causes(series, GRAPH)
    assert {c.service for c in ranked[:2]} == {"api", "db"}  # db's latency does not explain api's errors
    assert not any("explained" in line for line in ranked[0].evidence + ranked[1].evidence)


def test_views_that_must_agree_count_as_their_weakest() -> None:
    one_caller = [Series("db", f"latency from {c}", CALM, np.full(4, level), agree="callers")
                  for c, level in (("api", 9.0), ("web", 1.0))]
    assert rank_root_causes(one_caller, GRAPH) == ()
    every_caller = [Series("db", f"latency from {c}", CALM, np.full(4, 9.0), agree="callers") for c in ("api", "web")]
    assert rank_root_causes(every_caller, GRAPH)[0].service == "db"
