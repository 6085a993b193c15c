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
    decode_alert,
    decode_samples,
    decode_scores,
    encode_alert,
    encode_samples,
    encode_scores,
)

floats = st.floats(allow_nan=True, allow_infinity=True)


@given(st.lists(st.tuples(st.text(max_size=20), floats, floats), max_size=50), st.floats(0, 2e9))
def test_samples_round_trip_bit_for_bit(rows: list[tuple[str, float, float]], at: float) -> None:
    batch = SampleBatch(tuple(r[0] for r in rows), np.array([r[1] for r in rows]), np.array([r[2] for r in rows]), at)
    back = decode_samples(encode_samples(batch))
    assert back.ids == batch.ids and back.ingested_at == at
    assert back.t.tobytes() == batch.t.astype("<f8").tobytes() and back.x.tobytes() == batch.x.astype("<f8").tobytes()


@given(st.integers(0, 4095), st.integers(1, 2**62), st.lists(st.tuples(st.text(max_size=10), floats), max_size=20))
def test_scores_and_alerts_round_trip(partition: int, seq: int, rows: list[tuple[str, float]]) -> None:
    ids = tuple(r[0] for r in rows)
    u = np.array([r[1] for r in rows])
    batch = ScoreBatch(partition, seq, "w1", ids, np.arange(len(ids), dtype=float), u, 1.5, 2.5)
    back = decode_scores(encode_scores(batch))
    assert (back.partition, back.seq, back.worker, back.ids) == (partition, seq, "w1", ids)
    assert back.scores.tobytes() == u.astype("<f8").tobytes()
    alert = AlertRecord("k", "s", 1.0, 0.9, partition, "w1")
    assert decode_alert(encode_alert(alert)) == alert


def test_the_content_id_ignores_ingestion_time_only() -> None:
    b = SampleBatch(("a", "b"), np.array([1.0, 1.0]), np.array([2.0, 3.0]), 0.0)
    assert batch_id(0, b) == batch_id(0, SampleBatch(b.ids, b.t, b.x, 5.0))
    assert batch_id(0, b) != batch_id(0, SampleBatch(b.ids, b.t, np.array([2.0, 3.5]), 0.0))
    assert batch_id(0, b) != batch_id(0, SampleBatch(("b", "a"), b.t, b.x, 0.0))


@pytest.mark.parametrize("data", [b"", b"\xc1", msgpack.packb([1, 2]), msgpack.packb({"v": 2, "k": "samples"}),
                                  msgpack.packb({"v": 1, "k": "samples", "i": ["a"], "t": b"1234", "x": b"", "at": 0.0})])
def test_what_is_not_a_sample_batch_is_refused(data: bytes) -> None:
    with pytest.raises(InputError):
        decode_samples(data)


def test_a_score_batch_is_not_a_sample_batch() -> None:
    data = encode_scores(ScoreBatch(0, 1, "w", (), np.empty(0), np.empty(0), 0.0, 0.0))
    with pytest.raises(InputError, match="not a version-1 samples batch"):
        decode_samples(data)
