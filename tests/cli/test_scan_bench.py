"""``foresight bench scan --json``: the figure keys CI dashboards read, and the scanner's own results."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from foresight.cli import cli

runner = CliRunner()


def test_bench_scan_figures() -> None:
    result = runner.invoke(cli, ["bench", "scan", "--json", "--no-throughput", "--no-checkov"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert (figures["classic_caught"], figures["classic_total"]) == (10, 10)
    assert (figures["evasion_caught"], figures["evasion_total"]) == (14, 14)
    assert figures["benign_false_positives"] == 0 and figures["benign_total"] > 20
    assert figures["manifest_checks_caught"] == figures["manifest_checks_total"] and figures["manifest_false_positives"] == 0
    assert figures["manifest_speedup_vs_checkov"] is None  # Checkov not run
    assert "not run" in figures["baselines"]["note"]


def test_bench_scan_table_without_checkov() -> None:
    result = runner.invoke(cli, ["bench", "scan", "--no-throughput", "--no-checkov"])
    assert result.exit_code == 0, result.output
    assert "Kubernetes manifests" in result.output and "Checkov not run" in result.output


def test_bench_scan_refuses_a_checkov_that_is_no_program(tmp_path: Path) -> None:
    result = runner.invoke(cli, ["bench", "scan", "--checkov", str(tmp_path), "--no-throughput"])
    assert result.exit_code == 2 and "not an executable file" in result.output


def test_bench_scan_refuses_a_folder_that_is_no_venv(tmp_path: Path) -> None:
    result = runner.invoke(cli, ["bench", "scan", "--baselines", str(tmp_path), "--no-throughput"])
    assert result.exit_code == 2 and "not a virtual environment" in result.output
