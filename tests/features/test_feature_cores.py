"""The pure cores of the feature pipeline: spec validation, the generated repository, event checks, window aggregates."""

from __future__ import annotations

import ast
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from foresight.errors import InputError
from foresight.features.events import Event, EventSchema, Rejection
from foresight.features.repo import RepoTarget, render_repo
from foresight.features.windows import WindowAggregator
from foresight.specs.features import FeatureSet, load_feature_set

BASE = {
    "name": "p",
    "project": "demo_p",
    "entities": [{"name": "card", "joinKey": "card_id"}],
    "sources": [{"name": "txn", "path": "txn.parquet"}],
    "views": [
        {
            "name": "card_activity",
            "entities": ["card"],
            "source": "txn",
            "windowSeconds": 10,
            "features": [
                {"name": "n", "dtype": "int64", "aggregate": "count"},
                {"name": "total", "aggregate": "sum", "of": "amount"},
                {"name": "avg", "aggregate": "mean", "of": "amount"},
                {"name": "top", "aggregate": "max", "of": "amount"},
                {"name": "merchant", "dtype": "int64", "aggregate": "last", "of": "merchant"},
            ],
        }
    ],
}


def variant(**changes: object) -> dict:
    document = {**BASE, "views": [dict(BASE["views"][0])]}
    for key, value in changes.items():
        if key.startswith("view_"):
            document["views"][0][key[5:]] = value
        else:
            document[key] = value
    return document


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (variant(view_entities=["driver"]), "unknown entities \\['driver'\\]"),
        (variant(view_source="nope"), "unknown source 'nope'"),
        (variant(view_features=[{"name": "card_id"}], view_windowSeconds=None), "have the name of a join key"),
        (variant(view_features=[{"name": "x", "aggregate": "sum"}]), "needs 'of'"),
        (variant(view_features=[{"name": "x", "dtype": "float64", "aggregate": "count"}]), "a count is int64"),
        (variant(view_windowSeconds=None), "no windowSeconds"),
        (variant(view_features=[{"name": "x"}]), "all need an aggregate"),
        (variant(view_ttlSeconds=0), "greater than 0"),
        (variant(sources=[{"name": "txn", "path": "../etc/passwd"}]), "inside the data directory"),
        (variant(view_name="card"), "share names"),
        (variant(view_name="x'); import os; ('"), "String should match pattern"),
    ],
)
def test_bad_specs_are_refused_with_the_reason(document: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        FeatureSet.model_validate(document)


def test_load_names_the_file_and_field(tmp_path) -> None:
    path = tmp_path / "fs.yaml"
    path.write_text("name: p\nproject: demo_p\nentities: []\nsources: []\nviews: []\n")
    with pytest.raises(InputError, match=r"fs.yaml: entities: List should have at least 1 item"):
        load_feature_set(path)


def test_generated_definitions_are_only_definitions() -> None:
    files = render_repo(FeatureSet.model_validate(BASE), RepoTarget("/data dir/'q", "/r/registry.db", key_ttl_s=600))
    tree = ast.parse(files["features_repo.py"])
    kinds = {type(node).__name__ for node in tree.body}
    assert kinds <= {"Expr", "ImportFrom", "Assign"}  # docstring, imports, one assignment per object
    assigned = [node.targets[0].id for node in tree.body if isinstance(node, ast.Assign)]
    assert assigned == ["card", "txn", "card_activity"]
    assert "path=\"/data dir/'q/txn.parquet\"" in files["features_repo.py"]  # quoted with repr, not pasted
    assert "key_ttl_seconds: 600" in files["feature_store.yaml"]


def test_event_checks() -> None:
    view = FeatureSet.model_validate(BASE).view("card_activity")
    schema = EventSchema.of(view, {"card_id": "int64"}, max_future_s=2.0)
    ok = {"card_id": 1, "ts": 100.0, "amount": 3, "merchant": 9, "new_field": "ignored"}
    assert schema.check(ok, now=100.0) == Event((1,), 100.0, {"amount": 3, "merchant": 9})
    for payload, reason in [
        ([1, 2], "malformed"),
        ({**ok, "card_id": True}, "entity"),
        ({**ok, "ts": "yesterday"}, "schema"),
        ({**ok, "amount": math.nan}, "schema"),
        ({k: v for k, v in ok.items() if k != "merchant"}, "schema"),
        ({**ok, "ts": 102.5}, "future"),
    ]:
        result = schema.check(payload, now=100.0)
        assert isinstance(result, Rejection) and result.reason == reason, (payload, result)
    assert isinstance(schema.check({**ok, "ts": 101.9}, now=100.0), Event)  # within the clock skew


def test_windows_count_each_event_once_and_roll_over() -> None:
    agg = WindowAggregator(FeatureSet.model_validate(BASE).view("card_activity"), lateness_s=5.0)
    stream = [("a", 1, 101.0, 4.0, 1), ("b", 1, 103.0, 2.0, 2), ("c", 2, 104.0, 10.0, 3), ("b", 1, 103.0, 2.0, 2)]
    reasons = [agg.add(i, Event((c,), t, {"amount": a, "merchant": m})) for i, c, t, a, m in stream]
    assert reasons == [None, None, None, "duplicate"]
    rows = {r.entity: r for r in agg.flush()}
    assert rows[(1,)].values == {"n": 2, "total": 6.0, "avg": 3.0, "top": 4.0, "merchant": 2}
    assert rows[(1,)].window_start == 100.0 and rows[(1,)].ts_us == 103_000_000
    # a late event for the current window: same newest time, but the row must still be rewritten newer
    assert agg.add("d", Event((1,), 100.5, {"amount": 1.0, "merchant": 4})) is None
    (late,) = agg.flush()
    assert late.values["n"] == 3 and late.values["merchant"] == 2 and late.ts_us == 103_000_001
    # the next window starts over; an event for the old one still counts there (within lateness) but is not served
    assert agg.add("e", Event((1,), 111.0, {"amount": 7.0, "merchant": 5})) is None
    assert agg.add("f", Event((1,), 109.0, {"amount": 1.0, "merchant": 6})) is None
    (fresh,) = agg.flush()
    assert fresh.window_start == 110.0 and fresh.values["n"] == 1
    # past the watermark by more than the lateness: too late
    assert agg.add("g", Event((2,), 150.0, {"amount": 1.0, "merchant": 1})) is None
    assert agg.add("h", Event((1,), 104.0, {"amount": 1.0, "merchant": 1})) == "late"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.floats(-4.0, 9.0), st.booleans()), min_size=1, max_size=120))
def test_windows_held_are_exactly_those_still_needed(steps: list[tuple[int, float, bool]]) -> None:
    """After every flush the aggregator holds exactly the windows a full scan at that flush would keep.

    Kept: an entity whose newest window may still take events or be served (newest + W + L >
    watermark - W), and of its windows the newest and those not yet past the horizon
    (watermark - W - L). Eviction runs only when those lines cross a window boundary, and a window
    superseded by a newer one is dropped on the spot; this checks that nothing is kept longer or
    dropped sooner than that rule says, whatever the order of events.
    """
    width, lateness = 10.0, 5.0
    agg = WindowAggregator(FeatureSet.model_validate(BASE).view("card_activity"), lateness_s=lateness)
    accepted: dict[int, set[float]] = {}
    ts, watermark = 100.0, -math.inf
    for i, (card, step, flush) in enumerate(steps):
        ts = max(ts + step, 0.0)
        if agg.add(str(i), Event((card,), ts, {"amount": 1.0, "merchant": 1})) is None:
            accepted.setdefault(card, set()).add(math.floor(ts / width) * width)
            watermark = max(watermark, ts)
        if flush:
            agg.flush()
            horizon = watermark - width - lateness
            held = {c: starts for c, starts in accepted.items() if max(starts) + width + lateness > watermark - width}
            kept = [s for starts in held.values() for s in starts if s == max(starts) or s >= horizon]
            assert agg.entities == len(held)
            assert agg.open_since() == (min(kept) if kept else None)
