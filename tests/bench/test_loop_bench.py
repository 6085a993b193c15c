"""``foresight bench loop``: the figures' shape, grouped reads, and no failed workload on a healthy cluster."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from foresight.bench.loop import bench_loop
from foresight.cli import cli


def test_one_small_size_through_both_policies():
    figures = bench_loop(workloads=(24,), rounds=2, warmup_s=2.5 * 3600.0)
    size = figures["sizes"]["24"]
    for policy in ("hpa", "predictive"):
        f = size[policy]
        assert f["failed_records"] == 0
        assert 0 < f["round_s_median"] <= f["round_s_p95"]
        assert f["us_per_workload"] > 0
    # one query per metric for all workloads: CPU for the HPA, load and CPU for the predictive policy
    assert figures["prometheus_queries_per_round"] == {"hpa": 1, "predictive": 2}
    assert figures["round_s_10000_hpa"] is None and figures["linearity_10k_over_1k"] is None
    assert size["build_s"] > 0 and size["rss_mb"] > 0


def test_the_command_prints_json_and_refuses_bad_sizes():
    runner = CliRunner()
    done = runner.invoke(cli, ["bench", "loop", "--workloads", "8", "--rounds", "1", "--warmup", "0.1", "--json"])
    assert done.exit_code == 0, done.output
    assert set(json.loads(done.stdout)) >= {"round_s_10000_hpa", "round_s_10000_predictive", "linearity_10k_over_1k",
                                            "build_s_10000", "prometheus_queries_per_round", "sizes"}
    bad = runner.invoke(cli, ["bench", "loop", "--workloads", "3,x"])
    assert bad.exit_code != 0 and "--workloads" in bad.output


@pytest.mark.integration
def test_against_a_real_prometheus_the_queries_do_not_grow_with_the_workloads(require_service):
    from foresight.bench.loop_prometheus import bench_loop_prometheus
    from foresight.bench.prometheus_server import PROMETHEUS_BIN, missing_binary

    missing = missing_binary(PROMETHEUS_BIN)
    require_service(missing is None, missing or "")
    small, large = (bench_loop_prometheus(n, rounds=1, warmup_s=2.2 * 3600.0, policies=("hpa", "predictive"))
                    for n in (10, 40))
    for policy, queries in (("hpa", 1), ("predictive", 2)):
        assert small[policy]["queries_per_round"] == large[policy]["queries_per_round"] == queries
        assert small[policy]["failed_records"] == large[policy]["failed_records"] == 0
        assert large[policy]["bytes_per_round"] > small[policy]["bytes_per_round"] > 0
