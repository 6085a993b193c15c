"""bench heal: the event-level scoring and the outcome accounting, checked on alarms placed by hand;
bench heal-data: Nezha's layout read onto one minute grid, PetShop's metric kinds, bad folders refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from foresight.bench.heal import MAX_LEAD_S, Alarms, bench_heal, check_nezha, check_petshop, load_nezha_day, score
from foresight.cli import cli
from foresight.errors import InputError
from foresight.heal.signals import Failure
from foresight.sim.failures import simulate_failures

KEYS = ("precision", "recall", "lead_time_median_s", "lead_time_p10_s", "false_alarms_per_100_pod_hours",
        "slo_violation_reduction", "oomkill_reduction", "unnecessary_actions_per_100_pod_hours", "pdb_violations")


@pytest.fixture(scope="module")
def run():  # type: ignore[no-untyped-def]
    return simulate_failures(seed=5, failures=18, normals=18)


def placed(run, lead_s: float | None, on_normals: bool = False) -> Alarms:  # type: ignore[no-untyped-def]
    """An alarm ``lead_s`` before every failure (none if None), and at 90 min on look-alikes if asked."""
    times = np.array([e.failure_s - lead_s if e.failure is not Failure.NONE and lead_s is not None
                      else 5400.0 if e.failure is Failure.NONE and on_normals else np.nan for e in run.episodes])
    return Alarms(times, tuple(e.failure if e.failure is not Failure.NONE else Failure.OOM_KILL
                               for e in run.episodes), np.full(times.size, lead_s or np.nan))


def test_timely_alarms_avert_every_failure(run) -> None:  # type: ignore[no-untyped-def]
    f = score([run], [placed(run, 600.0)])
    assert f["precision"] == f["recall"] == 1.0
    assert f["lead_time_median_s"] == f["lead_time_p10_s"] == 600.0
    assert f["slo_violation_reduction"] == 1.0 and f["oomkills"] == 0 and f["reactive_oomkills"] > 0
    assert f["unnecessary_actions_per_100_pod_hours"] == 0.0 and f["pdb_violations"] == 0


def test_alarms_too_late_to_act_change_no_outcome(run) -> None:  # type: ignore[no-untyped-def]
    f = score([run], [placed(run, 5.0)])
    assert f["recall"] == 1.0
    assert f["slo_violation_reduction"] == 0.0 and f["oomkill_reduction"] == 0.0


def test_alarms_on_look_alikes_and_too_early_ones_are_false(run) -> None:  # type: ignore[no-untyped-def]
    normals = sum(e.failure is Failure.NONE for e in run.episodes)
    f = score([run], [placed(run, None, on_normals=True)])
    assert f["false_alarms"] == normals and f["recall"] == 0.0 and f["precision"] == 0.0
    assert f["unnecessary_actions_per_100_pod_hours"] == pytest.approx(100 * normals / f["pod_hours"])
    early = score([run], [placed(run, MAX_LEAD_S + 60)])
    assert early["true_alarms"] == 0 and early["false_alarms"] == early["failures"]


def test_no_alarm_is_reactive_kubernetes(run) -> None:  # type: ignore[no-untyped-def]
    f = score([run], [placed(run, None)])
    assert f["slo_violation_minutes"] == f["reactive_slo_violation_minutes"] > 0
    assert f["precision"] is None and f["actions"] == 0


def test_the_command_reports_the_issue_keys_for_held_out_seeds() -> None:
    result = CliRunner().invoke(cli, ["bench", "heal", "--seeds", "2", "--failures", "3", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert all(k in figures for k in KEYS)
    assert figures["held_out_seeds"] == [1] and figures["held_out_clean"] is False
    assert set(figures["by_predictor"]) == {"threshold", "linear", "holt", "foresight"}
    assert figures["winner"] in figures["by_predictor"]


def test_fewer_than_two_seeds_is_refused() -> None:
    with pytest.raises(ValueError):
        bench_heal(seeds=1)


POD_HEADER = "Time,TimeStamp,PodName,CpuUsage(m),CpuUsageRate(%),MemoryUsage(Mi),MemoryUsageRate(%)\n"


def _day(root: Path, cpu: list[float], latency: list[float]) -> Path:
    """A Nezha day of one pod at 60 s steps from 12:00:28, one CPU fault at 12:05."""
    metric = root / "rca_data" / "2022-08-23" / "metric"
    metric.mkdir(parents=True)
    stamp = "2022-08-23 12:{:02d}:28.41 +0000 UTC m=+0.3"
    (metric / "shop-1a-2b_metric.csv").write_text(POD_HEADER + "".join(
        f"{stamp.format(k)},0,shop-1a-2b,1,{c},10,5\n" for k, c in enumerate(cpu)))
    (metric / "front_service.csv").write_text("Time,TimeStamp,ServiceName,SuccessRate(%),LatencyP90(s)\n" + "".join(
        f"{stamp.format(k)},0,Frontend,100,{lat}\n" for k, lat in enumerate(latency)))
    faults = {"12": [{"inject_time": "2022-08-23 12:05:02", "inject_timestamp": "0", "inject_pod": "shop-1a-2b",
                      "inject_type": "cpu_consumed"}]}
    (metric.parent / "2022-08-23-fault_list.json").write_text(json.dumps(faults))
    return metric.parent


def test_a_nezha_day_is_a_minute_grid_of_cpu_over_its_limit_and_slo_breaches(tmp_path: Path) -> None:
    cpu = [20.0] * 5 + [100.0] * 4 + [20.0] * 3
    latency = [0.5] * 6 + [3.0] * 3 + [0.5] * 3
    signals, breach, faults = load_nezha_day(_day(tmp_path, cpu, latency))
    assert signals.targets == ("shop-1a-2b",) and np.all(np.diff(signals.t_s) == 60.0)
    assert signals.usage[0].tolist() == [c / 100 for c in cpu] and signals.limit.tolist() == [1.0]
    assert breach.tolist() == [lat > 1.0 for lat in latency]
    assert faults == [(signals.t_s[5], "shop-1a-2b", "cpu_consumed")]


def test_a_fault_without_history_is_counted_and_never_fired_on(tmp_path: Path) -> None:
    _day(tmp_path, [20.0] * 12, [0.5] * 12)
    figures = check_nezha(tmp_path)
    for f in figures["by_predictor"].values():
        assert f["by_fault_type"]["cpu_consumed"]["faults"] == 1
        assert f["by_fault_type"]["cpu_consumed"]["fired"] == 0


def test_folders_of_another_layout_are_precise_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="rca_data"):
        check_nezha(tmp_path)
    with pytest.raises(InputError, match="PetShop"):
        check_petshop(tmp_path)
    result = CliRunner().invoke(cli, ["bench", "heal-data", "--data", str(tmp_path / "none")])
    assert result.exit_code != 0 and "error:" in result.output


def test_the_published_data(shared_data: Path) -> None:
    petshop = check_petshop(shared_data / "rca" / "petshop")
    assert petshop["resource_metrics"] == [] and "latency" in petshop["metric_kinds"]
    nezha = check_nezha(shared_data / "rca" / "nezha-onlineboutique", predictors=("threshold", "foresight"))
    for f in nezha["by_predictor"].values():
        assert sum(k["faults"] for k in f["by_fault_type"].values()) == 42
        assert f["fault_free_pod_hours"] > 100
