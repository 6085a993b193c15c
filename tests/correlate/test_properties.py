"""Properties over random graphs and alert streams: partition, order, idempotence, state round trip."""

from __future__ import annotations

import json
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from foresight.correlate.engine import CorrelationSettings, Correlator
from foresight.correlate.graph import ServiceGraph
from foresight.correlate.model import Alert, Incident, IncidentStatus

SERVICES = [f"s{i}" for i in range(7)]
PODS = [f"p{i}" for i in range(6)]


@st.composite
def graphs(draw: st.DrawFn) -> ServiceGraph:
    edges = draw(st.lists(st.tuples(st.sampled_from(SERVICES), st.sampled_from(SERVICES)), max_size=14))
    placement = {
        pod: (draw(st.sampled_from(SERVICES)), draw(st.sampled_from(["n0", "n1", "n2"]))) for pod in PODS
    }
    return ServiceGraph.of(edges, placement)


@st.composite
def alerts(draw: st.DrawFn, n_max: int = 14) -> list[Alert]:
    keys = draw(st.lists(st.text("abcdefgh", min_size=1, max_size=3), unique=True, max_size=n_max))
    out = []
    for key in keys:
        start = float(draw(st.integers(0, 1500)))
        ends = draw(st.none() | st.integers(0, 700).map(lambda d, s=start: s + d))  # type: ignore[misc]
        out.append(
            Alert(
                key,
                draw(st.sampled_from(["Slow", "Errors"])),
                draw(st.sampled_from([*SERVICES, "ghost", None])),
                start,
                ends_at=ends,
                component=draw(st.none() | st.sampled_from([*PODS, "n1", "stray"])),
                score=draw(st.floats(0.0, 1.0)),
            )
        )
    return out


CONFIGS = st.builds(
    CorrelationSettings,
    window_s=st.sampled_from([60.0, 300.0]),
    max_hops=st.integers(0, 3),
    resolve_after_s=st.sampled_from([0.0, 300.0]),
)


def partition(incidents: list[Incident] | tuple[Incident, ...]) -> set[frozenset[str]]:
    return {frozenset(i.alerts) for i in incidents}


def live(c: Correlator, returned: list[Incident]) -> list[Incident]:
    """Every incident now holding alerts: the open ones and those resolved (not merged) just now."""
    done = [i for i in returned if i.status == IncidentStatus.RESOLVED and i.merged_into is None]
    return [*c.incidents, *done]


@settings(max_examples=80, deadline=None)
@given(graphs(), alerts(), CONFIGS, st.integers(0, 3000))
def test_every_alert_is_in_exactly_one_incident(graph: ServiceGraph, batch: list[Alert], cfg: CorrelationSettings, now: int) -> None:
    c = Correlator(cfg)
    out = c.observe(batch, graph, float(max([now, *(a.starts_at for a in batch)])))
    holders = live(c, out)
    seen = [k for i in holders for k in i.alerts]
    assert sorted(seen) == sorted(a.key for a in batch)
    for i in holders:
        assert set(i.suppressed) <= set(i.alerts)
        assert len(i.suppressed) < len(i.alerts)  # someone is always left to notify
        assert all(c.incident_of(k) == i.id for k in i.alerts)


@settings(max_examples=80, deadline=None)
@given(graphs(), alerts(), CONFIGS, st.randoms(use_true_random=False))
def test_the_order_within_one_call_does_not_matter(graph: ServiceGraph, batch: list[Alert], cfg: CorrelationSettings, rnd: object) -> None:
    shuffled = list(batch)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    now = max([0.0, *(a.starts_at for a in batch)])
    a, b = Correlator(cfg), Correlator(cfg)
    assert a.observe(batch, graph, now) == b.observe(shuffled, graph, now)
    assert a.state() == b.state()


@settings(max_examples=80, deadline=None)
@given(graphs(), alerts(), CONFIGS)
def test_firing_alerts_one_by_one_in_start_order_group_as_in_one_call(
    graph: ServiceGraph, batch: list[Alert], cfg: CorrelationSettings
) -> None:
    firing = [Alert(a.key, a.name, a.service, a.starts_at, None, component=a.component) for a in batch]
    now = 2000.0
    together, apart = Correlator(cfg), Correlator(cfg)
    together.observe(firing, graph, now)
    for a in sorted(firing, key=lambda a: (a.starts_at, a.key)):
        apart.observe([a], graph, now)
    assert partition(together.incidents) == partition(apart.incidents)
    assert [replace(i, revision=0) for i in together.incidents] == [replace(i, revision=0) for i in apart.incidents]


@settings(max_examples=80, deadline=None)
@given(graphs(), alerts(), CONFIGS, st.integers(0, 3000))
def test_feeding_the_same_alerts_twice_changes_nothing(graph: ServiceGraph, batch: list[Alert], cfg: CorrelationSettings, now: int) -> None:
    c = Correlator(cfg)
    c.observe(batch, graph, float(now))
    before = c.state()
    assert c.observe(batch, graph, float(now)) == []
    assert c.state() == before


@settings(max_examples=60, deadline=None)
@given(graphs(), alerts(n_max=24), CONFIGS, st.lists(st.integers(1, 5), min_size=1, max_size=6))
def test_saving_and_restoring_between_calls_changes_nothing(
    graph: ServiceGraph, stream: list[Alert], cfg: CorrelationSettings, cuts: list[int]
) -> None:
    stream = sorted(stream, key=lambda a: (a.starts_at, a.key))
    # the stream as it would arrive: each alert firing at its start, resolved (if ever) at its end
    events = sorted(
        [(a.starts_at, Alert(a.key, a.name, a.service, a.starts_at, None, component=a.component, score=a.score)) for a in stream]
        + [(a.ends_at, a) for a in stream if a.ends_at is not None],
        key=lambda e: e[0],
    )
    straight, restored = Correlator(cfg), Correlator(cfg)
    i, step = 0, 0
    while i < len(events):
        chunk = events[i : i + cuts[step % len(cuts)]]
        i, step = i + len(chunk), step + 1
        now = chunk[-1][0]
        restored = Correlator.from_state(json.loads(json.dumps(restored.state())), cfg)
        assert restored.observe([a for _, a in chunk], graph, now) == straight.observe([a for _, a in chunk], graph, now)
        assert restored.state() == straight.state()
    end = (events[-1][0] if events else 0.0) + 10_000.0
    assert Correlator.from_state(restored.state(), cfg).observe([], graph, end) == straight.observe([], graph, end)
    firing = {a.key for a in stream if a.ends_at is None}
    assert all(firing & set(i.alerts) for i in straight.incidents)  # only what still fires stays open
    assert firing <= {k for i in straight.incidents for k in i.alerts}


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_a_cascade_up_the_callers_in_any_arrival_order_is_one_incident_naming_its_origin(data: st.DataObject) -> None:
    n = data.draw(st.integers(2, 12))
    # a random DAG: service i may call any later service j
    edges = data.draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda e: e[0] < e[1]), max_size=30))
    graph = ServiceGraph.of([(f"s{a}", f"s{b}") for a, b in edges])
    origin = f"s{data.draw(st.integers(0, n - 1))}"
    onset = {origin: 1000.0}
    frontier = [origin]
    while frontier:  # every caller alerts some seconds after the service it calls (beyond any skew)
        s = frontier.pop()
        for caller in sorted(graph.callers(s)):
            if caller not in onset:
                onset[caller] = onset[s] + data.draw(st.integers(11, 120))
                frontier.append(caller)
    stream = [Alert(f"a-{s}", "Slow", s, t) for s, t in onset.items()]
    together, apart = Correlator(), Correlator()
    together.observe(stream, graph, max(onset.values()))
    for a in data.draw(st.permutations(stream)):  # arriving one by one in any order
        apart.observe([a], graph, max(onset.values()))
    for c in (together, apart):
        [inc] = c.incidents
        assert inc.root_cause is not None and inc.root_cause.service == origin
        assert set(inc.suppressed) == {f"a-{s}" for s in onset if s != origin}
