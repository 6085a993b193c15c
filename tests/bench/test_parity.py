"""The parity benchmark, short: the predictive policy and a canary release take the same decisions
in-process (the simulator's ports) and live (`foresight serve` on a real Prometheus and the emulated
Kubernetes API), on one shared trace."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable

import pytest
from typer.testing import CliRunner

import foresight.cli.bench  # noqa: F401  (registers the bench commands)
from foresight.bench.parity import ParityOptions, run_parity
from foresight.bench.prometheus_server import PROMETHEUS_BIN, missing_binary
from foresight.cli.app import app

pytestmark = pytest.mark.integration


@pytest.fixture
def real_services(require_service: Callable[[bool, str], None]) -> None:
    """A Prometheus binary and kmock, or skip (fail in CI)."""
    missing = missing_binary(PROMETHEUS_BIN)
    require_service(missing is None, missing or "")
    require_service(importlib.util.find_spec("kmock") is not None, "kmock not installed (pip install -e '.[dev]')")


def test_both_paths_scale_alike_and_roll_the_same_bad_canary_back(real_services: None) -> None:
    # seed 1: the simulator's service order is not the spec's; a node is lost at 10.5 min and a spot node
    # pre-empted at 16.5 min, so the replicas both paths read include pods that vanish and restart
    figures = run_parity(ParityOptions(duration_s=1800.0, services=6, seed=1, canary="bad",
                                       canary_at_s=300.0)).to_json()
    assert figures["steps"] == 120
    assert figures["identical_fraction"] >= 0.99, figures["differences"]
    assert all(not d["cause"].startswith("decision") for d in figures["differences"])  # every difference explained
    parted = figures["clusters_differ_from_s"]  # the clusters part only after a decision did
    assert parted is None or figures["differences"][0]["time_s"] < parted
    live, inprocess = figures["scaling"]["live"], figures["scaling"]["inprocess"]
    assert live["periods_with_a_change"] > 0 and live == inprocess  # the controllers acted, alike
    canary = figures["canary"]
    assert figures["same_canary_verdict"] and canary["verdict"]["live"] == "rolled back"
    assert canary["started_s"] == {"inprocess": 300.0, "live": 300.0}
    assert figures["canary_weight_changes_live"] == figures["canary_weight_changes_inprocess"] >= 1
    assert canary["weights_until_settled"]["live"] == canary["weights_until_settled"]["inprocess"]
    assert canary["decisions"]["identical"] == canary["decisions"]["live"] == canary["decisions"]["inprocess"] > 0


def test_bench_parity_prints_its_figures_as_json(real_services: None) -> None:
    done = CliRunner().invoke(app, ["bench", "parity", "--hours", "0.1", "--services", "4", "--canary-at", "1",
                                    "--json"])
    assert done.exit_code == 0, done.output
    figures = json.loads(done.output)
    assert {"steps", "identical_fraction", "canary_weight_changes_live", "canary_weight_changes_inprocess",
            "same_canary_verdict"} <= set(figures)
    assert figures["steps"] == 24 and figures["identical_fraction"] >= 0.99
