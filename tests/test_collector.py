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
