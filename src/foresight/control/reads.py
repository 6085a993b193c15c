"""One range query per metric for all the workloads of a round, instead of one per workload.

A policy asks for each workload's series with a selector naming the workload in one label, such as
``foresight_cpu_utilisation{service="api"}``. For thousands of workloads, one such query each is
thousands of round trips a period (to Prometheus, or through the simulator's index). The queries
that differ only in that label's value form a *group*: the same selector without that matcher
(``foresight_cpu_utilisation``) returns every member's series at once, and a member's series are
those whose label holds its name, exactly what its own equality matcher would have selected.

Only plain selectors are grouped (a metric name and label matchers, no function, no range): what
``rate(...)``, ``avg(...)`` or ``by`` return depends on which series they see, so those queries stay
one per workload. A group of fewer than :data:`MIN_GROUP` members is not worth it (the group query
reads every series of the metric, other workloads' included) and stays one query per workload.

A server may refuse a group query that a member's own query would pass: Prometheus refuses one
that would load more than its ``query.max-samples`` (50 million by default; 10,000 workloads over
15 days at one-minute steps is 216 million). The loop then reads that group's members one by one
(each :class:`Grouped` keeps its ``own`` query), as without grouping.

>>> plan = plan_reads({"api": {"cpu": 'cpu{service="api",env="prod"}'}, "web": {"cpu": 'cpu{env="prod",service="web"}'}},
...                   min_group=2)
>>> plan.groups
(('cpu{env="prod"}', 'service'),)
>>> plan.reads["web"]["cpu"].query, plan.reads["web"]["cpu"].value
('cpu{env="prod"}', 'web')
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from foresight.series import Series

__all__ = ["MIN_GROUP", "Grouped", "ReadPlan", "grouped", "plan_reads", "split_by_label"]

#: Fewer workloads than this sharing a group query are read one by one.
MIN_GROUP = 8

_SELECTOR = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{(.*)\}\s*$", re.DOTALL)
_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')


@dataclass(frozen=True)
class Grouped:
    """A workload's query (``own``) read through its group: ``query``, without the matcher ``label="value"``."""

    query: str
    label: str
    value: str
    own: str


@dataclass(frozen=True)
class ReadPlan:
    """Per workload, per series name: its own query (a string) or its place in a group; and the
    groups to read, each a group query and the label that names its members."""

    reads: Mapping[str, Mapping[str, str | Grouped]]
    groups: tuple[tuple[str, str], ...]


def grouped(query: str, workload: str) -> Grouped | None:
    """``query`` as a group member, when it is a plain selector with one equality matcher on
    ``workload`` (exactly); None otherwise.

    >>> grouped('foresight_offered_rps{service="api"}', "api")
    Grouped(query='foresight_offered_rps', label='service', value='api', own='foresight_offered_rps{service="api"}')
    >>> grouped('sum(rate(http_requests_total{service="api"}[1m]))', "api") is None
    True
    """
    match = _SELECTOR.match(query)
    if match is None:
        return None
    name, body = match.group(1), match.group(2).strip()
    matchers, pos = [], 0
    while pos < len(body):
        m = _MATCHER.match(body, pos)
        if m is None:
            return None
        matchers.append((m.group(1), m.group(2), m.group(3)))
        pos = m.end()
    own = [i for i, (_, op, value) in enumerate(matchers) if op == "=" and value.replace('\\"', '"') == workload]
    if len(own) != 1:
        return None
    label = matchers[own[0]][0]
    others = [m for i, m in enumerate(matchers) if i != own[0]]
    if any(lab == label for lab, _, _ in others):
        return None  # another matcher on the workload's label: the group would not select the same
    rest = [f'{lab}{op}"{value}"' for lab, op, value in others]
    return Grouped(name + (f"{{{','.join(rest)}}}" if rest else ""), label, workload, query)


def plan_reads(queries: Mapping[str, Mapping[str, str]], min_group: int = MIN_GROUP) -> ReadPlan:
    """How to read ``queries`` (per workload, per series name): groups of at least ``min_group``
    members by their group query, the rest one by one."""
    candidates = {w: {name: grouped(q, w) for name, q in qs.items()} for w, qs in queries.items()}
    sizes = Counter((g.query, g.label) for qs in candidates.values() for g in qs.values() if g is not None)
    kept = {key for key, n in sizes.items() if n >= min_group}
    reads: dict[str, dict[str, str | Grouped]] = {}
    for workload, qs in queries.items():
        reads[workload] = {}
        for name, query in qs.items():
            g = candidates[workload][name]
            reads[workload][name] = g if g is not None and (g.query, g.label) in kept else query
    return ReadPlan(reads, tuple(sorted(kept)))


def split_by_label(series: list[Series], label: str) -> dict[str, list[Series]]:
    """``series`` by the value of ``label`` (a series without it under ``""``, as PromQL reads it)."""
    out: dict[str, list[Series]] = {}
    for s in series:
        out.setdefault(s.labels.get(label, ""), []).append(s)
    return out
