"""The figures of ``bench incidents`` on hand-made cases: pairwise grouping, recall, first notification, RCA rank."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from foresight.bench.incident_scoring import (
    Delivery,
    first_notifications,
    incident_recall,
    pairwise,
    rca_rank,
)
from foresight.correlate.model import Candidate

TRUTH = {"a1": "A", "a2": "A", "a3": "A", "b1": "B", "b2": "B", "n1": "N"}  # 3 + 1 true pairs


def _delivery(at: float, firing: set[str], resolved: set[str] = frozenset()) -> Delivery:
    return Delivery(at, frozenset(firing), frozenset(firing | resolved))


def test_the_true_partition_scores_one() -> None:
    s = pairwise(TRUTH, [{"a1", "a2", "a3"}, {"b1", "b2"}, {"n1"}])
    assert (s.precision, s.recall, s.f1, s.true_pairs, s.predicted_pairs) == (1.0, 1.0, 1.0, 4, 4)


def test_one_group_of_everything_has_full_recall_and_poor_precision() -> None:
    s = pairwise(TRUTH, [set(TRUTH)])
    assert s.recall == 1.0 and s.predicted_pairs == 15 and s.precision == pytest.approx(4 / 15)


def test_singletons_claim_nothing_and_find_nothing() -> None:
    s = pairwise(TRUTH, [{k} for k in TRUTH])
    assert (s.precision, s.recall, s.f1) == (1.0, 0.0, 0.0)


def test_a_pair_shown_together_twice_counts_once_and_unknown_alerts_are_ignored() -> None:
    s = pairwise(TRUTH, [{"a1", "a2"}, {"a1", "a2", "zz"}, {"b1", "n1"}])
    assert s.predicted_pairs == 2 and s.precision == 0.5 and s.recall == 0.25
    assert s.f1 == pytest.approx(2 * 0.5 * 0.25 / 0.75)


def test_overlapping_groups_count_every_pair_they_show() -> None:
    # Alertmanager's notifications of one group overlap in time: a1+a2, then a2+b1
    s = pairwise(TRUTH, [{"a1", "a2"}, {"a2", "b1"}])
    assert s.predicted_pairs == 2 and s.precision == 0.5


@given(st.dictionaries(st.text("abcdef", min_size=1, max_size=3), st.sampled_from("XYZ"), min_size=1),
       st.lists(st.sets(st.text("abcdef", min_size=1, max_size=3)), max_size=6))
def test_scores_are_ratios_and_the_truth_itself_is_perfect(truth: dict[str, str], groups: list[set[str]]) -> None:
    s = pairwise(truth, groups)
    assert 0.0 <= s.precision <= 1.0 and 0.0 <= s.recall <= 1.0 and 0.0 <= s.f1 <= 1.0
    assert s.f1 <= max(s.precision, s.recall) + 1e-12
    by_incident: dict[str, set[str]] = {}
    for alert, incident in truth.items():
        by_incident.setdefault(incident, set()).add(alert)
    assert pairwise(truth, by_incident.values()).f1 == 1.0


def test_the_first_notification_is_the_earliest_carrying_a_firing_alert() -> None:
    deliveries = [_delivery(90.0, {"a3"}), _delivery(30.0, {"b1"}), _delivery(20.0, set(), {"a1"}),
                  _delivery(60.0, {"a1", "a2"})]
    assert first_notifications(TRUTH, deliveries) == {"A": 60.0, "B": 30.0}  # a resolved-only sighting is not one


def test_recall_counts_incidents_with_a_firing_notification() -> None:
    assert incident_recall(TRUTH, [_delivery(1.0, {"a2"}), _delivery(2.0, set(), {"b1"})]) == pytest.approx(1 / 3)
    assert incident_recall(TRUTH, [_delivery(1.0, {"a2", "b2", "n1"})]) == 1.0
    assert incident_recall(TRUTH, []) == 0.0


def test_the_root_is_ranked_by_its_service_or_for_a_node_by_the_component() -> None:
    ranked = [Candidate("api", 0.9), Candidate("cart", 0.7, component="node-3", kind="node"), Candidate("db", 0.5)]
    assert rca_rank("api", ranked) == 1
    assert rca_rank("node-3", ranked) == 2
    assert rca_rank("db", ranked) == 3
    assert rca_rank("web", ranked) is None
