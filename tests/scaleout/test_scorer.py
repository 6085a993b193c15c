"""The worker's scorer runs the very detector of the single process: same scores, whatever the partitioning,
the batching, or a takeover from a checkpoint in the middle (exactly once in effect)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foresight.detect import make_detector
from foresight.detect.protocol import run
from foresight.errors import InputError
from foresight.scaleout.checkpoint import Checkpoint, decode_checkpoint, encode_checkpoint
from foresight.scaleout.codec import SampleBatch
from foresight.scaleout.partition import partition_of
from foresight.scaleout.scorer import ShardScorer, alert_key


def _data(series: int, steps: int, seed: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = 1.7e9 + 300.0 * np.arange(steps)
    x = 10.0 + rng.normal(0, 1, (series, steps))
    x[rng.random((series, steps)) < 0.02] += 15.0
    return [f's="{i}"' for i in range(series)], t, x


def _stream(ids: list[str], t: np.ndarray, x: np.ndarray, partitions: int, per_batch: int):
    """(partition, seq, batch) in stream order: each partition's batches hold ``per_batch`` steps."""
    seq = 0
    for start in range(0, t.size, per_batch):
        for p in range(partitions):
            rows = [i for i, sid in enumerate(ids) if partition_of(sid, partitions) == p]
            if not rows:
                continue
            steps = range(start, min(start + per_batch, t.size))
            seq += 1
            yield p, seq, SampleBatch.of([ids[i] for k in steps for i in rows], np.array([t[k] for k in steps for _ in rows]),
                                         np.array([x[i, k] for k in steps for i in rows]), 0.0)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 30), st.integers(1, 8), st.integers(1, 4), st.integers(0, 10**6),
       st.sampled_from(["ewma", "surprise"]), st.sampled_from([0, 3, 1024]), st.booleans())
def test_sharded_scores_equal_the_single_process(series: int, partitions: int, per_batch: int, seed: int,
                                                  detector: str, span_gap_rows: int, together: bool) -> None:
    ids, t, x = _data(series, 40, seed)
    reference = run(make_detector(detector), x, t)
    scorer = ShardScorer(make_detector(detector), 0.8, span_gap_rows=span_gap_rows)
    for p in range(partitions):
        scorer.add_partition(p)
    got: dict[tuple[str, float], float] = {}
    stream = list(_stream(ids, t, x, partitions, per_batch))
    # one partition's batch at a time (rounds over some rows only), or each step's of all at once
    calls = [stream[i:i + 1] for i in range(len(stream))] if not together else [
        [item for item in stream if item[2].t[0] == first] for first in sorted({item[2].t[0] for item in stream})]
    for call in calls:
        scores = scorer.score({p: (seq, batch) for p, seq, batch in call})
        for p, _, batch in call:
            got.update(zip(zip(batch.ids, batch.t.tolist()), scores[p].tolist()))
    row = {sid: i for i, sid in enumerate(ids)}
    step = {v: k for k, v in enumerate(t.tolist())}
    assert len(got) == x.size
    assert all(reference[row[sid], step[tt]] == u for (sid, tt), u in got.items())


@settings(max_examples=15, deadline=None)
@given(st.integers(2, 20), st.integers(2, 6), st.integers(0, 10**6), st.data())
def test_a_takeover_from_a_checkpoint_replays_to_the_same_scores_and_alert_keys(
    series: int, partitions: int, seed: int, data: st.DataObject
) -> None:
    ids, t, x = _data(series, 60, seed)
    stream = list(_stream(ids, t, x, partitions, 1))
    first = ShardScorer(make_detector("surprise"), 0.5)
    for p in range(partitions):
        first.add_partition(p)
    checkpoint_at = data.draw(st.integers(0, len(stream)))
    crash_at = data.draw(st.integers(checkpoint_at, len(stream)))
    saved: dict[int, bytes] = {}
    scores_first: dict[int, np.ndarray] = {}
    for n, (p, seq, batch) in enumerate(stream[:crash_at]):
        if n == checkpoint_at:
            saved = {q: encode_checkpoint(first.checkpoint(q)) for q in range(partitions)}
        scores_first[seq] = first.score({p: (seq, batch)})[p]
    if crash_at == checkpoint_at:
        saved = {q: encode_checkpoint(first.checkpoint(q)) for q in range(partitions)}
    # the successor restores the checkpoints and replays every batch after their sequences
    second = ShardScorer(make_detector("surprise"), 0.5)
    for q in range(partitions):
        second.add_partition(q, decode_checkpoint(saved[q], make_detector("surprise")))
    keys_first, keys_second = set(), set()
    for p, seq, batch in stream:
        if seq <= second.seq[p]:
            continue
        u = second.score({p: (seq, batch)})[p]
        if seq in scores_first:
            assert np.array_equal(u, scores_first[seq])  # a replayed batch: the very same scores
            keys_first |= {a.key for a in second.alerts(p, batch, u, "b")}
        keys_second |= {a.key for a in second.alerts(p, batch, u, "b")}
    reference = run(make_detector("surprise"), x, t)
    expected = {alert_key(ids[i], float(t[k])) for i, k in zip(*np.nonzero(reference >= 0.5))}
    assert keys_second <= expected and keys_first <= keys_second


def test_a_partition_handed_back_leaves_the_others_untouched() -> None:
    ids, t, x = _data(12, 30, 1)
    a = ShardScorer(make_detector("surprise"), 0.8)
    for p in range(3):
        a.add_partition(p)
    stream = list(_stream(ids, t, x, 3, 1))
    for p, seq, batch in stream[:30]:
        a.score({p: (seq, batch)})
    before = {q: encode_checkpoint(a.checkpoint(q)) for q in (0, 2)}
    a.drop_partition(1)
    assert a.partitions == {0, 2}
    assert {q: encode_checkpoint(a.checkpoint(q)) for q in (0, 2)} == before


def test_a_sample_of_a_series_its_batch_does_not_list_is_refused() -> None:
    scorer = ShardScorer(make_detector("ewma"), 0.8)
    scorer.add_partition(0)
    good = SampleBatch.of(("a", "b"), np.zeros(2), np.ones(2), 0.0)
    scorer.score({0: (1, good)})
    bad = SampleBatch(good.table, np.array([0, 2], dtype=np.int32), np.ones(2), np.ones(2), 0.0)  # same table
    with pytest.raises(InputError, match="does not list"):
        scorer.score({0: (2, bad)})


def test_a_checkpoint_of_another_detector_is_refused() -> None:
    cp = Checkpoint(0, 5, ("a",), make_detector("ewma").init(1))
    with pytest.raises(InputError):
        decode_checkpoint(encode_checkpoint(cp), make_detector("surprise"))
    with pytest.raises(InputError):
        decode_checkpoint(b"not zstd", make_detector("ewma"))
