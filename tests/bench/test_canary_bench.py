"""The canary benchmark: its invariants on a few releases, and the command's JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from foresight.bench.canary import (
    BENCH_FLAGGER,
    Release,
    bench_canary,
    detectability,
    release_mix,
    run_policy,
)
from foresight.cli import rollout  # noqa: F401  (registers `bench canary`)
from foresight.cli.app import app
from foresight.rollout.flagger import FlaggerPolicy
from foresight.rollout.policy import ForesightPolicy, ForesightSpec
from foresight.sim.canary import CanaryScenario, VersionBehaviour

KEYS = {"bad_caught", "bad_exposure", "false_rollback_rate", "time_to_promote_minutes"}
POLICIES = [FlaggerPolicy(BENCH_FLAGGER), ForesightPolicy(ForesightSpec())]


def _release(canary: VersionBehaviour, kind: str) -> Release:
    return Release(CanaryScenario(canary=canary, rate_rps=60.0), kind, "-")


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.name)
def test_both_policies_roll_back_a_clearly_bad_version_and_promote_a_good_one(policy) -> None:
    releases = [_release(VersionBehaviour(error_rate=0.05), "errors"), _release(VersionBehaviour(), "good")]
    out = run_policy(policy, releases, seed=3, horizon_min=30.0)
    assert out.verdict.tolist() == ["rollback", "promote"]
    assert out.exposure[1] == pytest.approx(30.0 - out.minutes[1] + out.analysed_exposure[1])
    assert out.exposure[0] == pytest.approx(out.analysed_exposure[0])


def test_the_bench_reports_sane_figures_for_both_policies() -> None:
    figures = bench_canary(trials=30, seed=1, horizon_min=30.0)
    assert set(figures) == {"flagger", "foresight"}
    for f in figures.values():
        assert KEYS <= set(f)
        assert f["bad_exposure"] >= 0 and f["bad_exposure_while_analysed"] <= f["bad_exposure"] + 1e-9
        for key in ("bad_caught", "false_rollback_rate", "good_promoted", "bad_promoted"):
            assert 0.0 <= f[key] <= 1.0
        assert sum(row["trials"] for row in f["caught_by_effect"].values()) == f["bad_trials"]
    assert figures["foresight"]["bad_exposure_vs_flagger"] == pytest.approx(
        figures["foresight"]["bad_exposure"] / figures["flagger"]["bad_exposure"], rel=1e-3)


def test_the_release_mix_is_seeded_and_detectability_grows_with_the_effect() -> None:
    assert [(r.kind, r.size) for r in release_mix(20, 7)] == [(r.kind, r.size) for r in release_mix(20, 7)]
    z = [detectability(_release(VersionBehaviour(error_rate=0.004 * f), "errors")) for f in (1.0, 2.5, 8.0)]
    assert abs(z[0]) < 1e-9 and 0 < z[1] < z[2]
    low = Release(CanaryScenario(canary=VersionBehaviour(accuracy=0.88), rate_rps=5.0), "accuracy", "-4pt")
    assert detectability(low) < 3.0  # at 5 requests/s a 4-point drop hides in the noise


def test_bench_canary_json_has_the_documented_shape() -> None:
    result = CliRunner().invoke(app, ["bench", "canary", "--trials", "12", "--horizon", "20", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert set(figures) == {"flagger", "foresight"} and all(KEYS <= set(f) for f in figures.values())
    assert np.isfinite(figures["foresight"]["bad_exposure"])


def test_bench_canary_prints_tables() -> None:
    result = CliRunner().invoke(app, ["bench", "canary", "--trials", "8", "--horizon", "15"])
    assert result.exit_code == 0, result.output
    assert "bad-version exposure" in result.output and "caught rate by effect" in result.output
