"""Per-device ordering: duplicates dropped, out-of-order samples put back, gaps given up on after a wait, reboots."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from foresight.edge.order import SequenceOrder
from foresight.edge.schema import Sample


def _s(seq: int, boot: int = 0) -> Sample:
    return Sample(boot, seq, float(seq), {"x": float(seq)})


@settings(max_examples=300, deadline=None)
@given(st.permutations(range(40)), st.lists(st.integers(0, 39), max_size=30))
def test_any_arrival_order_with_redeliveries_releases_each_sample_once_in_order(order: list[int],
                                                                               again: list[int]) -> None:
    state = SequenceOrder()
    state.push(_s(0), now=0.0)  # the first sample sets where the sequence starts
    out = [s.seq for s in state.release(now=0.0, wait_s=10.0, max_pending=1000)[0]]
    for seq in [s for s in order if s != 0] + again:
        state.push(_s(seq), now=1.0)
        out += [s.seq for s in state.release(now=1.0, wait_s=10.0, max_pending=1000)[0]]
    assert out == list(range(40))
    assert state.stale == len(again) and state.skipped == 0 and state.waiting == 0


def test_a_gap_waits_then_is_skipped_and_counted() -> None:
    state = SequenceOrder()
    for seq in (0, 1, 4, 5):
        state.push(_s(seq), now=0.0)
    assert [s.seq for s in state.release(now=0.0, wait_s=5.0, max_pending=100)[0]] == [0, 1]
    assert state.waiting == 2
    ready, skipped = state.release(now=5.0, wait_s=5.0, max_pending=100)
    assert [s.seq for s in ready] == [4, 5] and skipped == 2
    state.push(_s(2), now=6.0)  # the lost sample comes after all: too late, counted as stale
    assert state.release(now=6.0, wait_s=5.0, max_pending=100)[0] == [] and state.stale == 1


def test_too_many_waiting_samples_give_up_the_gap_at_once() -> None:
    state = SequenceOrder()
    for seq in (0, *range(2, 10)):
        state.push(_s(seq), now=0.0)
    ready, skipped = state.release(now=0.0, wait_s=60.0, max_pending=5)
    assert [s.seq for s in ready] == [0, *range(2, 10)] and skipped == 1


def test_a_reboot_releases_the_old_boot_and_restarts_the_sequence() -> None:
    state = SequenceOrder()
    for seq in (10, 11, 13):
        state.push(_s(seq, boot=1), now=0.0)
    state.release(now=0.0, wait_s=60.0, max_pending=100)
    state.push(_s(0, boot=2), now=1.0)
    state.push(_s(12, boot=1), now=1.0)  # the old boot's gap, filled too late
    ready, _ = state.release(now=1.0, wait_s=60.0, max_pending=100)
    assert [(s.boot, s.seq) for s in ready] == [(1, 13), (2, 0)]
    assert state.skipped == 1 and state.stale == 1
