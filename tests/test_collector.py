"""The collector pause: nests, survives exceptions, and leaves a disabled collector disabled."""

from __future__ import annotations

import gc

import pytest

from foresight.collector import paused_collector


def test_pauses_nest_and_the_collector_runs_again_after_the_outer_one() -> None:
    with paused_collector():
        with paused_collector():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_an_exception_in_the_block_still_re_enables_the_collector() -> None:
    with pytest.raises(RuntimeError), paused_collector():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_program_that_disabled_the_collector_keeps_it_disabled() -> None:
    gc.disable()
    try:
        with paused_collector():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


class _Node:
    """A cycle's member that says when it is collected."""

    freed: list[str] = []

    def __init__(self, name: str) -> None:
        self.name, self.other = name, self

    def __del__(self) -> None:
        _Node.freed.append(self.name)


def test_promotion_skips_the_young_pass_and_a_full_collection_still_frees_cycles_made_in_the_block() -> None:
    _Node.freed.clear()
    with paused_collector(promote=True):
        _Node("cycle")  # garbage only the cyclic collector can free
        survivors = [[i] for i in range(5_000)]
    assert gc.get_count()[0] < 5_000  # the young generation no longer holds the block's survivors
    assert "cycle" not in _Node.freed
    gc.collect()
    assert _Node.freed == ["cycle"]
    assert len(survivors) == 5_000


def test_promotion_leaves_a_program_s_frozen_objects_frozen() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with paused_collector(promote=True):
            pass
        assert gc.get_freeze_count() == frozen
        assert gc.isenabled()
    finally:
        gc.unfreeze()
