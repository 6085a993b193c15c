"""The command line: ``foresight detect``, ``foresight bench nab`` and ``foresight bench detect``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import foresight.cli.detect  # noqa: F401  (registers the commands)
from foresight.cli.app import app

runner = CliRunner()


def test_detect_scores_a_file(tmp_path: Path) -> None:
    rows = "\n".join(f"{1600000000 + 300 * k},{10.0 + (50.0 if k == 300 else 0.0) + (k % 7) * 0.1}" for k in range(400))
    source = tmp_path / "in.csv"
    source.write_text("timestamp,value\n" + rows + "\n")
    result = runner.invoke(app, ["detect", "--input", str(source), "--output", str(tmp_path / "out.csv")])
    assert result.exit_code == 0, result.output
    with (tmp_path / "out.csv").open() as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == 400
    scores = [float(r["anomaly_score"]) for r in table]
    assert max(range(400), key=scores.__getitem__) == 300
    assert "highest" in result.output


def test_detect_reports_a_malformed_file_by_line(tmp_path: Path) -> None:
    source = tmp_path / "bad.csv"
    source.write_text("timestamp,value\n1,2\n2,oops\n")
    result = runner.invoke(app, ["detect", "--input", str(source), "--output", str(tmp_path / "o.csv")])
    assert result.exit_code != 0
    assert f"{source}:3" in str(result.exception)


def test_detect_refuses_an_unknown_detector(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("timestamp,value\n1,2\n")
    result = runner.invoke(app, ["detect", "--input", str(source), "--output", str(tmp_path / "o.csv"), "--detector", "nope"])
    assert "unknown detector" in str(result.exception)


def test_bench_nab_json_prints_the_three_profiles(shared_data: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "bench",
            "nab",
            "--data",
            str(shared_data / "nab"),
            "--out",
            str(tmp_path),
            "--category",
            "realAdExchange",
            "--detector",
            "ewma",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output)
    assert set(scores) == {"standard", "reward_low_FP_rate", "reward_low_FN_rate"}
    assert (tmp_path / "ewma" / "realAdExchange" / "ewma_exchange-2_cpc_results.csv").is_file()


def test_bench_nab_without_data_says_where_it_looked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["bench", "nab"])
    assert "pass --data" in str(result.exception)


def test_bench_detect_measures_every_detector() -> None:
    result = runner.invoke(app, ["bench", "detect", "--series", "500", "--steps", "2", "--json"])
    assert result.exit_code == 0, result.output
    speeds = json.loads(result.output)
    assert set(speeds) == {"ewma", "ewma-two-sided", "surprise"}
    assert all(v > 0 for v in speeds.values())


def test_bench_nab_split_scores_one_fixed_half(shared_data: Path, tmp_path: Path) -> None:
    args = ["bench", "nab", "--data", str(shared_data / "nab"), "--out", str(tmp_path), "--category", "realAdExchange",
            "--detector", "ewma", "--split"]
    result = runner.invoke(app, [*args, "held"])
    assert result.exit_code == 0, result.output
    written = {p.name for p in (tmp_path / "ewma" / "realAdExchange").iterdir()}
    assert written == {"ewma_exchange-2_cpc_results.csv", "ewma_exchange-2_cpm_results.csv",
                       "ewma_exchange-4_cpc_results.csv", "ewma_exchange-4_cpm_results.csv"}
    assert "held half" in result.output
    assert "--split must be one of tune, held" in str(runner.invoke(app, [*args, "both"]).exception)
