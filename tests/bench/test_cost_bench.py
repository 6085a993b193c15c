"""bench cost on the shared GenAI/spot/request traces (a small configuration), and its bad input."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from foresight.bench.cost import CostSettings, bench_cost
from foresight.bench.cost_traces import RateSeries, arrivals, genai_load_times, genai_workloads, spot_pool
from foresight.cli import cli
from foresight.errors import ConfigError, InputError

KEYS = ("gpu_hours_reduction_vs_warm", "cold_start_request_share", "spot_cost_reduction",
        "slo_violation_pp_vs_on_demand")


def test_a_small_run_compares_the_policies_on_the_same_requests(shared_data: Path):
    settings = CostSettings(genai_per_split=1, history_days=2.0, days=0.25, keep_probabilities=(0.03,),
                            knative_windows_s=(60.0, 900.0))
    figures = bench_cost(shared_data, settings)
    assert all(math.isfinite(figures[key]) for key in KEYS)
    assert figures["chosen"]["keep_probability"] == 0.03
    for part in ("declared", "held_out"):
        for group in figures[part].values():
            policies = group["policies"]
            requests = {f["requests"] for f in policies.values()}
            assert len(requests) == 1  # every policy saw the same requests
            warm, knative = policies["always-warm"], policies["knative"]
            assert warm["gpu_hours"] >= policies["foresight"]["gpu_hours"] - 1e-9
            assert warm["gpu_hours"] >= knative["gpu_hours"] - 1e-9
            assert knative["cold_start_request_share"] >= warm["cold_start_request_share"]
            assert policies["knative@60s"] == knative  # the defaults are the sweep's first point
            spot = policies["foresight+spot"]
            assert spot["usd"] < policies["foresight"]["usd"] and spot["spot_gpu_share"] > 0.5
            shared = policies["foresight-shared"]
            assert shared["gpu_hours"] <= warm["gpu_hours"] + 1e-9
            assert warm["adapter_load_request_share"] == 0.0 and 0.0 <= shared["adapter_load_request_share"] <= 1.0
            assert shared["cold_start_request_share"] <= shared["load_wait_request_share"] + 1e-12
            assert policies["foresight-shared+spot"]["usd"] < shared["usd"]
            summary = group["summary"]
            assert summary["gpu_hours_reduction_vs_warm"] == 1.0 - shared["gpu_hours"] / warm["gpu_hours"]
    assert figures["groups"]["held_out"]["requests"] == ["worldcup98/invocation_count", "crane-dsp-production/input1",
                                                         "crane-dsp-production/input10"]
    assert figures["spot_pool_gpus"]["A10"] == 2494
    assert figures["load_time_s"]["p99_total"] > figures["load_time_s"]["median_total"] > settings.image_pull_s


def test_the_genai_trace_gives_the_cold_start_distribution_and_per_container_qps(shared_data: Path):
    loads, median = genai_load_times(shared_data, image_pull_s=0.0)
    # SOURCE.md: base-model load p50 22.7 s, LoRA load p50 4.4 s
    assert np.median(loads.base_s) == pytest.approx(22.718, abs=0.01)
    assert loads.adapter_s is not None and np.median(loads.adapter_s) == pytest.approx(4.378, abs=0.01)
    assert median == pytest.approx(22.718 + 4.378, abs=0.02)
    series = genai_workloads(shared_data, min_steps=100)
    assert len(series) > 40 and all(s.step_s == 57.0 and s.rps.min() >= 0 for s in series)
    assert sum(spot_pool(shared_data).values()) == 10412  # SOURCE.md: 10,412 GPUs


def test_arrivals_are_a_seeded_poisson_draw_of_the_rate():
    series = RateSeries("flat", 60.0, np.full(1000, 0.5))
    times = arrivals(series, seed=1)
    assert np.all(np.diff(times) >= 0) and times.min() >= 0 and times.max() <= series.span_s
    assert abs(times.size - 30000) < 4 * math.sqrt(30000)
    assert np.array_equal(times, arrivals(series, seed=1))


def test_bad_input_is_a_one_line_error(tmp_path: Path):
    result = CliRunner().invoke(cli, ["bench", "cost", "--data", str(tmp_path)])
    assert result.exit_code == 2 and "is missing" in result.output and "Traceback" not in result.output
    with pytest.raises(InputError, match="is missing"):
        genai_load_times(tmp_path, 0.0)
    with pytest.raises(ConfigError):
        CostSettings(genai_per_split=0)
