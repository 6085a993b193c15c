"""bench heal: the event-level scoring and the outcome accounting, checked on alarms placed by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from foresight.bench.heal import MAX_LEAD_S, Alarms, bench_heal, score
from foresight.cli import cli
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
