"""Batch encodings: round trips, little-endian columns, refusals of what is not a batch."""

from __future__ import annotations

import msgpack
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from foresight.errors import InputError
from foresight.scaleout.codec import (
    AlertRecord,
    SampleBatch,
    ScoreBatch,
    batch_id,
    decode_alerts,
    decode_samples,
    decode_scores,
    encode_alerts,
    encode_samples,
    encode_scores,
    series_table,
)

floats = st.floats(allow_nan=True, allow_infinity=True)


@given(st.lists(st.tuples(st.text(max_size=20), floats, floats), max_size=50), st.floats(0, 2e9))
def test_samples_round_trip_bit_for_bit(rows: list[tuple[str, float, float]], at: float) -> None:
    batch = SampleBatch.of([r[0] for r in rows], np.array([r[1] for r in rows]), np.array([r[2] for r in rows]), at)
    back = decode_samples(encode_samples(batch))
    assert back.ids == tuple(r[0] for r in rows) and back.ingested_at == at
    assert len(back.series) == len(set(back.ids))  # each series named once, however many samples it has
    assert back.t.tobytes() == batch.t.astype("<f8").tobytes() and back.x.tobytes() == batch.x.astype("<f8").tobytes()


@given(st.integers(0, 4095), st.integers(1, 2**62), st.lists(st.tuples(st.text(max_size=10), floats), max_size=20))
def test_scores_and_alerts_round_trip(partition: int, seq: int, rows: list[tuple[str, float]]) -> None:
    u = np.array([r[1] for r in rows])
    batch = ScoreBatch(partition, seq, "w1", u, 1.5, 2.5)
    back = decode_scores(encode_scores(batch))
    assert (back.partition, back.seq, back.worker, back.ingested_at, back.scored_at) == (partition, seq, "w1", 1.5, 2.5)
    assert back.scores.tobytes() == u.astype("<f8").tobytes()
    alerts = [AlertRecord(f"k{i}", sid, float(i), 0.9, partition, "w1") for i, (sid, _) in enumerate(rows)]
    assert decode_alerts(encode_alerts(alerts)) == alerts


def test_the_content_id_ignores_ingestion_time_only() -> None:
    b = SampleBatch.of(("a", "b"), np.array([1.0, 1.0]), np.array([2.0, 3.0]), 0.0)
    assert batch_id(0, b) == batch_id(0, SampleBatch.of(b.ids, b.t, b.x, 5.0))
    assert batch_id(0, b) != batch_id(0, SampleBatch.of(b.ids, b.t, np.array([2.0, 3.5]), 0.0))
    assert batch_id(0, b) != batch_id(0, SampleBatch.of(("b", "a"), b.t, b.x, 0.0))


_ONE = np.array([1.0]).tobytes()
_A = series_table(["a"])


@pytest.mark.parametrize("data", [
    b"", b"\xc1", msgpack.packb([1, 2]), msgpack.packb({"v": 2, "k": "samples"}),
    msgpack.packb({"v": 1, "k": "samples", "i": ["a"], "t": _ONE, "x": _ONE, "at": 0.0}),  # the old format
    msgpack.packb({"v": 2, "k": "samples", "s": ["a"], "r": np.int32([0]).tobytes(), "t": _ONE, "x": _ONE, "at": 0.0}),
    msgpack.packb({"v": 2, "k": "samples", "s": _A, "r": b"\0\0\0", "t": _ONE, "x": _ONE, "at": 0.0}),
    msgpack.packb({"v": 2, "k": "samples", "s": _A, "r": np.int32([-1]).tobytes(), "t": _ONE, "x": _ONE, "at": 0.0}),
    msgpack.packb({"v": 2, "k": "samples", "s": _A, "r": np.int32([0]).tobytes(), "t": b"1234", "x": _ONE, "at": 0.0}),
    msgpack.packb({"v": 2, "k": "samples", "s": _A, "r": np.int32([0]).tobytes(), "t": _ONE, "x": _ONE}),
])
def test_what_is_not_a_sample_batch_is_refused(data: bytes) -> None:
    with pytest.raises(InputError):
        decode_samples(data)


@pytest.mark.parametrize("table", [b"\xc1", msgpack.packb([1]), msgpack.packb("a")])
def test_a_series_list_that_is_not_one_is_refused_when_read(table: bytes) -> None:
    data = msgpack.packb({"v": 2, "k": "samples", "s": table, "r": np.int32([0]).tobytes(), "t": _ONE, "x": _ONE,
                          "at": 0.0})
    with pytest.raises(InputError, match="series list"):
        decode_samples(data).series  # noqa: B018 (decoding it is what is tested)


def test_a_sample_of_a_series_its_batch_does_not_list_is_refused() -> None:
    data = msgpack.packb({"v": 2, "k": "samples", "s": _A, "r": np.int32([1]).tobytes(), "t": _ONE, "x": _ONE,
                          "at": 0.0})
    with pytest.raises(InputError, match="does not list"):
        decode_samples(data).series  # noqa: B018


def test_a_score_batch_is_not_a_sample_batch() -> None:
    data = encode_scores(ScoreBatch(0, 1, "w", np.empty(0), 0.0, 0.0))
    with pytest.raises(InputError, match="not a version-2 samples batch"):
        decode_samples(data)
    with pytest.raises(InputError, match="not a version-2 alerts batch"):
        decode_alerts(data)
