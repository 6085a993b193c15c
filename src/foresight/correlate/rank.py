"""Within one incident: which alerts a failing dependency explains, and where the fault most likely is.

Every alert of a service that another alerting service explains (see :mod:`.explains`) is
suppressed. Each alerting service is a root-cause candidate, scored by the mean of four signals
in [0, 1], with equal weights because none was fitted to any data:

    coverage  (1 + alerting services it explains, transitively) / alerting services in the incident
    depth     1 when nothing it calls explains it (the deepest alerting service), else 0
    early     1 - (its first alert - the incident's first) / (the incident's last - its first)
    moved     the largest score of its alerts (how far its metric moved), clipped to [0, 1]

A node is a candidate too when it alerted itself (an alert about the node with no service, such
as ``KubeNodeNotReady``) or hosts pods of at least two alerting services; its depth is 1 when it
alerted itself or two of those services do not explain one another (neither explains the other,
or the alert that puts one on the node is about its pods' own condition, lost or not ready: no
caller's symptom), and its coverage counts every service on it and what they explain, so a node
failure outranks each of its services (ties go to the node). Its ``service`` is the first of them
to alert (the node's own name when none did). The best ``MAX_CANDIDATES`` are kept, each with its
evidence: a person on call reads no further, and it bounds the cost.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from foresight.correlate.explains import Relation, relate
from foresight.correlate.model import Alert, Candidate
from foresight.correlate.nearby import Nearby

__all__ = ["MAX_CANDIDATES", "Explanation", "explain"]

MAX_CANDIDATES = 10


@dataclass(frozen=True)
class Explanation:
    suppressed: tuple[str, ...]
    candidates: tuple[Candidate, ...]


def explain(alerts: Sequence[Alert], near: Nearby, skew_s: float) -> Explanation:
    """Suppressed alert keys and ranked candidates for the alerts of one incident.

    >>> from foresight.correlate.graph import ServiceGraph
    >>> near = Nearby(ServiceGraph.of([("frontend", "cart"), ("cart", "checkout")]), max_hops=2)
    >>> alerts = [Alert("a", "Slow", "checkout", 100.0, metric="latency_p95", score=0.93),
    ...           Alert("b", "Slow", "cart", 140.0), Alert("c", "Slow", "frontend", 175.0)]
    >>> found = explain(alerts, near, skew_s=5.0)
    >>> found.suppressed, found.candidates[0].service
    (('b', 'c'), 'checkout')
    >>> found.candidates[0].evidence
    ('checkout latency_p95 alert at t=100 s, score 0.93', 'explains alerting callers cart +40 s, frontend +75 s', 'propagated along frontend -> cart -> checkout')
    """
    mine: dict[str, list[Alert]] = {}
    own: dict[str, list[Alert]] = {}  # node -> the node's own alerts (about it, no service)
    for a in alerts:
        s = near.service(a)
        if s is not None:
            mine.setdefault(s, []).append(a)
        elif a.component is not None and a.component in near.nodes(a):
            own.setdefault(a.component, []).append(a)
    if not mine and not own:
        return Explanation((), ())
    rel = relate({s: min(a.starts_at for a in found) for s, found in mine.items()}, near, skew_s)
    n = len(rel.names)
    suppressed = tuple(sorted(a.key for i, s in enumerate(rel.names) if rel.below[i] for a in mine[s]))
    times = [*rel.onset, *(a.starts_at for found in own.values() for a in found)]
    first, last = min(times), max(times)

    def early(t: float) -> float:
        return 1.0 if last == first else 1.0 - (t - first) / (last - first)

    scored: list[tuple[float, float, str, str, int | str]] = []  # score, onset, kind, service, which
    for i, s in enumerate(rel.names):
        signals = ((1 + rel.up[i].bit_count()) / n, 0.0 if rel.below[i] else 1.0, early(rel.onset[i]), _moved(mine[s]))
        scored.append((sum(signals) / 4, rel.onset[i], "service", s, i))
    hosts = _hosts(mine, own, near)
    index = {s: i for i, s in enumerate(rel.names)}
    for node, hosted in hosts.items():
        covered = 0
        for s in hosted:
            covered |= (1 << index[s]) | rel.up[index[s]]
        apart = _apart(node, hosted, mine, rel, index, near)
        evidence = [*hosted.values(), *own.get(node, ())]
        t0 = min(a.starts_at for a in evidence)
        signals = (
            covered.bit_count() / n if n else 1.0,
            1.0 if node in own or apart else 0.0,
            early(t0),
            _moved(evidence),
        )
        lead = min(hosted, key=lambda s: (hosted[s].starts_at, s)) if hosted else node
        scored.append((sum(signals) / 4, t0, "node", lead, node))
    scored.sort(key=lambda r: (-r[0], r[1], r[2], r[3], str(r[4])))
    candidates = []
    for score, _, kind, s, which in scored[:MAX_CANDIDATES]:
        if isinstance(which, int):
            lead_alert = min(mine[s], key=lambda a: (a.starts_at, -a.score, a.key))
            evidence = _service_evidence(which, mine[s], lead_alert, rel, near)
            candidates.append(Candidate(s, score, lead_alert.component, lead_alert.metric or lead_alert.name, evidence))
        else:
            apart = _apart(which, hosts[which], mine, rel, index, near)
            evidence = _node_evidence(which, hosts[which], own.get(which, []), apart)
            candidates.append(Candidate(s, score, which, None, evidence, kind="node"))
    return Explanation(suppressed, tuple(candidates))


def _moved(alerts: Iterable[Alert]) -> float:
    return max(min(max(a.score, 0.0), 1.0) for a in alerts)


def _hosts(mine: Mapping[str, list[Alert]], own: Mapping[str, list[Alert]], near: Nearby) -> dict[str, dict[str, Alert]]:
    """Nodes that alerted themselves or are named by the alerts of at least two services -> each
    service's first alert there."""
    hosted: dict[str, dict[str, Alert]] = {node: {} for node in own}
    for s, found in mine.items():
        for a in sorted(found, key=lambda a: (a.starts_at, a.key)):
            for node in near.nodes(a):
                hosted.setdefault(node, {}).setdefault(s, a)
    return {node: on for node, on in hosted.items() if len(on) >= 2 or node in own}


def _apart(
    node: str, hosted: Mapping[str, Alert], mine: Mapping[str, list[Alert]], rel: Relation, index: Mapping[str, int],
    near: Nearby,
) -> list[str]:
    """The services on ``node`` with another there that neither explains them nor is explained by
    them: a cause they share, not one another. An alert about a pod's own condition on the node
    (:meth:`Nearby.pod_local`: pods lost, not ready, restarting) is nobody's symptom through calls,
    so its service counts as explained by none of the others."""
    local = {s for s in hosted if any(near.pod_local(a) and node in near.nodes(a) for a in mine[s])}

    def explains(b: str, a: str) -> bool:
        return a not in local and bool(rel.down[index[a]] >> index[b] & 1)

    names = sorted(hosted)
    return sorted({s for i, a in enumerate(names) for b in names[i + 1 :] if not explains(a, b) and not explains(b, a) for s in (a, b)})


def _delay(t: float, t0: float) -> str:
    return f"{t - t0:+.0f} s"


def _chain(source: int, target: int, rel: Relation, near: Nearby) -> str:
    """The longest chain of explanations ``source -> ... -> target``, each step spelled out in
    calls, silent services in brackets: the way the fault most plausibly travelled."""
    on_way = {i for i in rel.members(rel.down[source]) if i == target or rel.down[i] >> target & 1}
    hops = {target: 0}
    step: dict[int, int] = {}
    for i in rel.order:  # everything below i comes first
        if i in on_way and i != target or i == source:
            j = max((j for j in rel.below[i] if j in hops), key=lambda j: (hops[j], -j))
            hops[i], step[i] = hops[j] + 1, j
    names = [rel.names[source]]
    i = source
    while i != target:
        a, b = rel.names[i], rel.names[step[i]]
        names += [f"({s})" for s in near.call_path(a, b)[1:-1]] + [b]
        i = step[i]
    return " -> ".join(names)


def _service_evidence(i: int, found: Sequence[Alert], lead: Alert, rel: Relation, near: Nearby) -> tuple[str, ...]:
    s, t0 = rel.names[i], rel.onset[i]
    where = f" on {lead.component}" if lead.component else ""
    lines = [f"{s} {lead.metric or lead.name} alert at t={lead.starts_at:.0f} s, score {lead.score:.2f}{where}"]
    others = sorted({a.metric or a.name for a in found} - {lead.metric or lead.name})
    if others:
        lines.append(f"{s} also alerted on {', '.join(others[:5])}")
    callers = rel.members(rel.up[i])  # by first alert
    if callers:
        shown = ", ".join(f"{rel.names[u]} {_delay(rel.onset[u], t0)}" for u in callers[:6])
        more = f" and {len(callers) - 6} more" if len(callers) > 6 else ""
        lines.append(f"explains alerting callers {shown}{more}")
        lines.append(f"propagated along {_chain(callers[-1], i, rel, near)}")
    if rel.below[i]:
        deeper = ", ".join(f"{rel.names[j]} {_delay(rel.onset[j], t0)}" for j in rel.below[i])
        lines.append(f"explained by services it calls that alerted first: {deeper}")
    if not near.known(s):
        lines.append(f"{s} is not in the service graph: grouped by its pod and node, and by time alone")
    return tuple(lines)


def _node_evidence(node: str, hosted: Mapping[str, Alert], own: Sequence[Alert], apart: Sequence[str]) -> tuple[str, ...]:
    lines = [f"{node} {a.metric or a.name} alert at t={a.starts_at:.0f} s" for a in sorted(own, key=lambda a: a.starts_at)[:3]]
    if hosted:
        on = sorted(hosted.items(), key=lambda kv: (kv[1].starts_at, kv[0]))
        t0 = on[0][1].starts_at
        shown = ", ".join(f"{s} ({a.component}, {_delay(a.starts_at, t0)})" for s, a in on)
        lines.append(f"node {node} hosts {len(hosted)} alerting services, first at t={t0:.0f} s: {shown}")
    if apart:
        lines.append(f"{', '.join(apart)} do not explain one another through calls: a cause they share")
    return tuple(lines)
