"""``foresight bench sim`` prints the simulator's throughput against its target."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from foresight.cli import app


def test_bench_sim_json_reports_throughput() -> None:
    result = CliRunner().invoke(app, ["bench", "sim", "--days", "0.05", "--services", "6", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["services"] == 6
    assert figures["steps"] == round(0.05 * 86400 / 15)
    assert figures["service_steps_per_s"] > 0
    assert isinstance(figures["meets_target"], bool)
