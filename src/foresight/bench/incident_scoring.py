"""How ``foresight bench incidents`` scores a system's notifications against the simulated ground truth.

Every system (Alertmanager with a configuration, or Foresight through Alertmanager) is reduced to
what its receiver saw: a list of :class:`Delivery` records, one per webhook notification, each
naming the alerts of the ground truth it carried while they fired (for Foresight: every alert of
the notified incident) and every alert it carried at all. From them:

- **pairwise grouping** precision and recall: a pair of alerts is grouped by a system when both
  appear in one notification, and truly grouped when both belong to one incident;
- **incident recall**: the share of true incidents with at least one notification carrying one of
  their alerts as firing;
- **first notification** of each true incident: when the first such notification arrived.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

from foresight.correlate.model import Candidate

__all__ = ["Delivery", "PairScores", "first_notifications", "incident_recall", "pairwise", "rca_rank"]


@dataclass(frozen=True)
class Delivery:
    """One notification as received: when (seconds of simulated time), the alerts it carried while
    firing, and every alert it carried (firing or resolved)."""

    at_s: float
    firing: frozenset[str]
    alerts: frozenset[str]


@dataclass(frozen=True)
class PairScores:
    precision: float
    recall: float
    f1: float
    true_pairs: int
    predicted_pairs: int


def pairwise(truth: Mapping[str, str], groups: Iterable[Iterable[str]]) -> PairScores:
    """Pairwise precision, recall and F1 of ``groups`` (alerts shown together) against ``truth``
    (alert -> incident). A pair counts once however many groups hold it; alerts outside ``truth`` are
    ignored. With no pair on one side, its ratio is 1 (nothing claimed, nothing wrong).

    >>> truth = {"a": "1", "b": "1", "c": "1", "d": "2"}
    >>> s = pairwise(truth, [{"a", "b"}, {"c", "d"}])
    >>> (round(s.precision, 3), round(s.recall, 3), round(s.f1, 3))
    (0.5, 0.333, 0.4)
    """
    predicted: set[tuple[str, str]] = set()
    for group in groups:
        members = sorted(a for a in set(group) if a in truth)
        predicted.update(combinations(members, 2))
    sizes: dict[str, int] = defaultdict(int)
    for incident in truth.values():
        sizes[incident] += 1
    true_pairs = sum(n * (n - 1) // 2 for n in sizes.values())
    hits = sum(truth[a] == truth[b] for a, b in predicted)
    precision = hits / len(predicted) if predicted else 1.0
    recall = hits / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PairScores(precision, recall, f1, true_pairs, len(predicted))


def first_notifications(truth: Mapping[str, str], deliveries: Sequence[Delivery]) -> dict[str, float]:
    """Incident -> time of its first notification carrying one of its alerts as firing.

    >>> first_notifications({"a": "1", "b": "2"}, [Delivery(5.0, frozenset({"a"}), frozenset({"a", "b"}))])
    {'1': 5.0}
    """
    first: dict[str, float] = {}
    for delivery in sorted(deliveries, key=lambda d: d.at_s):
        for alert in delivery.firing:
            incident = truth.get(alert)
            if incident is not None and incident not in first:
                first[incident] = delivery.at_s
    return first


def incident_recall(truth: Mapping[str, str], deliveries: Sequence[Delivery]) -> float:
    """Share of true incidents that got at least one notification carrying one of their alerts as firing.

    >>> incident_recall({"a": "1", "b": "2"}, [Delivery(5.0, frozenset({"a"}), frozenset({"a"}))])
    0.5
    """
    incidents = set(truth.values())
    return len(first_notifications(truth, deliveries)) / len(incidents) if incidents else 1.0


def rca_rank(root: str, candidates: Sequence[Candidate]) -> int | None:
    """Rank (1 = first) of the first candidate naming the true root: its service, or for a node fault
    the node as the candidate's component; None when no candidate names it.

    >>> rca_rank("db", [Candidate("api", 0.9), Candidate("db", 0.5)])
    2
    >>> rca_rank("node-03", [Candidate("api", 0.9, component="node-03")]), rca_rank("db", [])
    (1, None)
    """
    for rank, candidate in enumerate(candidates, start=1):
        if root in (candidate.service, candidate.component):
            return rank
    return None
