"""``bench placement`` on real openb data: the loaders, the 130% protocol, and the paper's figures for a subset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from foresight.bench.placement import (bench_placement, load_nodes, load_tasks, paper_results, protocol_tasks,
                                       run_once)
from foresight.errors import InputError
from foresight.placement import Cluster

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "gpu-traces" / "alibaba-gpu-2023-openb"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"openb traces not at {DATA}")


def test_bad_files_name_the_problem(tmp_path: Path) -> None:
    (tmp_path / "nodes.csv").write_text("sn,cpu_milli\nn1,1000\n")
    with pytest.raises(InputError, match="missing column"):
        load_nodes(tmp_path / "nodes.csv")
    (tmp_path / "pods.csv").write_text("name,cpu_milli,memory_mib,num_gpu,gpu_milli\np,1000,10,2,500\n")
    with pytest.raises(InputError, match="pods.csv:2: .*fraction"):
        load_tasks(tmp_path / "pods.csv")
    with pytest.raises(InputError, match="cannot read"):
        load_tasks(tmp_path / "absent.csv")


@needs_data
def test_protocol_inflates_to_130_percent_and_thins_above_it() -> None:
    cluster = Cluster(load_nodes(DATA / "openb_node_list_gpu_node.csv"))
    assert len(cluster) == 1213 and cluster.total_gpu_milli == 6212 * 1000
    for trace in ("default", "multigpu50"):
        tasks = load_tasks(DATA / f"openb_pod_list_{trace}.csv")
        arrivals = protocol_tasks(tasks, cluster.total_gpu_milli, np.random.default_rng(1))
        demand = sum(t.total_gpu_milli for t in arrivals)
        assert 1.29 * cluster.total_gpu_milli < demand <= 1.31 * cluster.total_gpu_milli


@needs_data
def test_best_fit_and_fgd_reproduce_the_paper_on_the_default_trace() -> None:
    cluster = Cluster(load_nodes(DATA / "openb_node_list_gpu_node.csv"))
    tasks = load_tasks(DATA / "openb_pod_list_default.csv")
    paper = paper_results(DATA)
    for ours, theirs in (("best-fit", "05-BestFit"), ("fgd", "06-FGD")):
        run = run_once(cluster, tasks, ours, 42)
        assert run.violations == 0 and run.unplaced > 0
        for level in (100, 130):
            assert abs(run.alloc[level] - paper[("default", theirs)]["alloc"][level]) < 0.5, (ours, level, run.alloc)
        assert abs(run.frag[100] - paper[("default", theirs)]["frag"][100]) < 0.5


@needs_data
def test_bench_reports_the_issue_keys_for_a_subset() -> None:
    figures = bench_placement(DATA, ["gpushare40"], ["random", "gpu-packing"], seeds=1)
    assert {"max_abs_diff_pp", "policies", "foresight_default_130", "fgd_default_130", "constraint_violations",
            "seconds_per_run"} <= set(figures)
    assert figures["max_abs_diff_pp"] < 1.0 and figures["constraint_violations"] == 0
    assert figures["foresight_default_130"] is None
    with pytest.raises(InputError, match="unknown trace"):
        bench_placement(DATA, ["nope"], ["fgd"], seeds=1)
