"""Within one incident: which alerts a failing dependency explains, and where the fault most likely is.

A fault shows up first where it is and then in the services that call it, so an alerting service
``S`` is *explained* by an alerting service ``T`` when ``T`` is among the services ``S`` calls
(within ``max_hops``, so through at most ``max_hops - 1`` silent ones) and ``T``'s first alert came
no later than ``S``'s plus ``skew_s`` (clocks of different sources disagree by a few seconds).
On a call cycle two services can explain each other; there only the one that alerted strictly
first (then the smaller name) explains the other, so the relation has no cycle and every incident
keeps at least one unexplained service. Every alert of an explained service is suppressed.

Each alerting service is a root-cause candidate, scored by the mean of four signals in [0, 1], with
equal weights because none was fitted to any data:

    coverage  (1 + alerting services it explains, transitively) / alerting services in the incident
    depth     1 when nothing it calls explains it (the deepest alerting service), else 0
    early     1 - (its first alert - the incident's first) / (the incident's last - its first)
    moved     the largest score of its alerts (how far its metric moved), clipped to [0, 1]

A node that hosts at least two alerting services none of which explains the other (two
independent sinks of the relation) is a candidate too: coverage counts every service on it and
what they explain, so a node failure outranks each of its services.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from foresight.correlate.model import Alert, Candidate
from foresight.correlate.nearby import Nearby

__all__ = ["Explanation", "explain"]


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
    >>> found.candidates[0].evidence[:2]
    ('checkout latency_p95 alert at t=100 s, score 0.93', 'explains alerting callers cart +40 s, frontend +75 s')
    """
    mine: dict[str, list[Alert]] = {}
    for a in alerts:
        s = near.service(a)
        if s is not None:
            mine.setdefault(s, []).append(a)
    if not mine:
        return Explanation((), ())
    onset = {s: min(a.starts_at for a in found) for s, found in mine.items()}
    below = _explained_by(onset, near, skew_s)
    down = {s: _reach(s, below) for s in onset}
    up: dict[str, set[str]] = {s: set() for s in onset}
    for s, reached in down.items():
        for t in reached:
            up[t].add(s)
    suppressed = tuple(sorted(a.key for s, found in mine.items() if below[s] for a in found))
    first, last = min(onset.values()), max(onset.values())

    def early(t: float) -> float:
        return 1.0 if last == first else 1.0 - (t - first) / (last - first)

    ranked: list[tuple[float, float, Candidate]] = []
    for s, found in mine.items():
        lead = min(found, key=lambda a: (a.starts_at, -a.score, a.key))
        signals = ((1 + len(up[s])) / len(onset), 0.0 if below[s] else 1.0, early(onset[s]), _moved(found))
        score = sum(signals) / len(signals)
        evidence = _service_evidence(s, found, lead, onset, below, down, up, near)
        ranked.append((score, onset[s], Candidate(s, score, lead.component, lead.metric or lead.name, evidence)))
    for node, hosted in _nodes(mine, near).items():
        sinks = sorted(s for s in hosted if not below[s])
        covered = set(hosted).union(*(up[s] for s in hosted))
        t0 = min(a.starts_at for a in hosted.values())
        signals = (len(covered) / len(onset), 1.0 if len(sinks) >= 2 else 0.0, early(t0), _moved(hosted.values()))
        score = sum(signals) / len(signals)
        lead_service = min(hosted, key=lambda s: (hosted[s].starts_at, s))
        evidence = _node_evidence(node, hosted, sinks, t0)
        ranked.append((score, t0, Candidate(lead_service, score, node, None, evidence, kind="node")))
    ranked.sort(key=lambda r: (-r[0], r[1], r[2].kind, r[2].service))
    return Explanation(suppressed, tuple(c for _, _, c in ranked))


def _explained_by(onset: Mapping[str, float], near: Nearby, skew_s: float) -> dict[str, set[str]]:
    """For each alerting service, the alerting services it calls that explain it (acyclic)."""
    raw = {
        s: {t for t in near.callees_within(s) if t in onset and onset[t] <= onset[s] + skew_s}
        for s in onset
    }
    reach = {s: _reach(s, raw) for s in onset}
    return {
        s: {t for t in ts if s not in reach[t] or (onset[t], t) < (onset[s], s)}
        for s, ts in raw.items()
    }


def _reach(start: str, edges: Mapping[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    queue = deque([start])
    while queue:
        for t in edges[queue.popleft()]:
            if t not in seen:
                seen.add(t)
                queue.append(t)
    seen.discard(start)
    return seen


def _chain(
    source: str, target: str, below: Mapping[str, set[str]], down: Mapping[str, set[str]], near: Nearby
) -> str:
    """The longest chain of explanations ``source -> ... -> target``, each step spelled out in
    calls, silent services in brackets: the way the fault most plausibly travelled."""
    on_way = {x for x in down[source] if x == target or target in down[x]} | {source}
    pending = {x: sum(1 for y in on_way if x in below[y]) for x in on_way}
    ready, order = [source], []
    while ready:
        x = ready.pop()
        order.append(x)
        for t in sorted(below[x] & on_way):
            pending[t] -= 1
            if pending[t] == 0:
                ready.append(t)
    longest: dict[str, list[str]] = {source: [source]}
    for x in order:
        for t in below[x] & on_way:
            if x in longest and len(longest[x]) + 1 > len(longest.get(t, [])):
                longest[t] = [*longest[x], t]
    steps = [source]
    for a, b in zip(longest[target], longest[target][1:]):
        steps += [f"({s})" for s in near.call_path(a, b)[1:-1]] + [b]
    return " -> ".join(steps)


def _moved(alerts: Iterable[Alert]) -> float:
    return max(min(max(a.score, 0.0), 1.0) for a in alerts)


def _nodes(mine: Mapping[str, list[Alert]], near: Nearby) -> dict[str, dict[str, Alert]]:
    """Nodes named by the alerts of at least two services -> each service's first alert there."""
    hosted: dict[str, dict[str, Alert]] = {}
    for s, found in mine.items():
        for a in sorted(found, key=lambda a: (a.starts_at, a.key)):
            for node in near.nodes(a):
                hosted.setdefault(node, {}).setdefault(s, a)
    return {node: on for node, on in hosted.items() if len(on) >= 2}


def _delay(t: float, t0: float) -> str:
    return f"{t - t0:+.0f} s"


def _service_evidence(
    s: str,
    found: Sequence[Alert],
    lead: Alert,
    onset: Mapping[str, float],
    below: Mapping[str, set[str]],
    down: Mapping[str, set[str]],
    up: Mapping[str, set[str]],
    near: Nearby,
) -> tuple[str, ...]:
    where = f" on {lead.component}" if lead.component else ""
    lines = [f"{s} {lead.metric or lead.name} alert at t={lead.starts_at:.0f} s, score {lead.score:.2f}{where}"]
    others = sorted({a.metric or a.name for a in found if a is not lead})
    if others:
        lines.append(f"{s} also alerted on {', '.join(others[:5])}")
    if up[s]:
        callers = sorted(up[s], key=lambda u: (onset[u], u))
        shown = ", ".join(f"{u} {_delay(onset[u], onset[s])}" for u in callers[:6])
        more = f" and {len(callers) - 6} more" if len(callers) > 6 else ""
        lines.append(f"explains alerting callers {shown}{more}")
        lines.append(f"propagated along {_chain(callers[-1], s, below, down, near)}")
    if below[s]:
        deeper = ", ".join(f"{t} {_delay(onset[t], onset[s])}" for t in sorted(below[s], key=lambda t: (onset[t], t)))
        lines.append(f"explained by services it calls that alerted first: {deeper}")
    if not near.known(s):
        lines.append(f"{s} is not in the service graph: grouped with alerts on the same service or pod only")
    return tuple(lines)


def _node_evidence(node: str, hosted: Mapping[str, Alert], sinks: Sequence[str], t0: float) -> tuple[str, ...]:
    on = sorted(hosted.items(), key=lambda kv: (kv[1].starts_at, kv[0]))
    shown = ", ".join(f"{s} ({a.component}, {_delay(a.starts_at, t0)})" for s, a in on)
    lines = [f"node {node} hosts {len(hosted)} alerting services, first at t={t0:.0f} s: {shown}"]
    if len(sinks) >= 2:
        lines.append(f"{', '.join(sinks)} do not explain one another through calls: a cause they share")
    return tuple(lines)
