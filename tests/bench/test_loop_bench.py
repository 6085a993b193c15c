"""``foresight bench loop``: the figures' shape, grouped reads, and no failed workload on a healthy cluster."""

from __future__ import annotations

import json

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
