"""The simulator benchmark's bookkeeping on a small run (the full figure is measured, not tested)."""

from __future__ import annotations

import pytest

from foresight.bench.sim import TARGET_SERVICE_STEPS_PER_S, bench_sim


def test_bench_counts_what_it_ran():
    result = bench_sim(days=0.05, services=6, step_s=15, seed=1)
    assert result["steps"] == 288 and result["services"] == 6
    assert result["service_steps_per_s"] == pytest.approx(288 * 6 / result["wall_s"], rel=0.01)
    assert result["meets_target"] == (result["service_steps_per_s"] >= TARGET_SERVICE_STEPS_PER_S)
    assert round(TARGET_SERVICE_STEPS_PER_S) == 201600
