"""``foresight drift`` and the drift benchmarks through the command line."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from foresight.bench.drift import bench_report, evidently_available, synthetic_tables
from foresight.cli import drift  # noqa: F401  (registers `drift`, `bench drift`, `bench drift-monitor`)
from foresight.cli.app import app
from foresight.errors import ConfigError, InputError

runner = CliRunner()


@pytest.fixture
def tables(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    ref = pa.table({"a": rng.normal(size=3000), "b": rng.normal(size=3000), "kind": rng.choice(["x", "y"], 3000)})
    cur = pa.table({"a": rng.normal(size=3000), "b": rng.normal(1.0, 1.0, size=3000), "extra": np.ones(3000)})
    pq.write_table(ref, tmp_path / "ref.parquet")
    pa_csv.write_csv(cur, tmp_path / "cur.csv")
    return tmp_path / "ref.parquet", tmp_path / "cur.csv"


def test_drift_json_names_verdicts_and_schema_problems(tables: tuple[Path, Path]) -> None:
    result = runner.invoke(app, ["drift", str(tables[0]), str(tables[1]), "--format", "json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["drifted_columns"] == ["b"] and out["dataset_drifted"] is True
    status = {f["name"]: f["status"] for f in out["features"]}
    assert status == {"a": "compared", "b": "compared", "kind": "missing_in_current", "extra": "extra_in_current"}


def test_drift_html_writes_the_report(tables: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "r" / "report.html"
    result = runner.invoke(app, ["drift", str(tables[0]), str(tables[1]), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.is_file() and "b" in result.output and "DRIFTED" in result.output


def test_drift_on_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["drift", str(tmp_path / "nope.csv"), str(tmp_path / "nope.csv")])
    assert isinstance(result.exception, InputError)


def test_bench_drift_without_evidently_times_foresight_alone() -> None:
    result = runner.invoke(app, ["bench", "drift", "--rows", "3000", "--cols", "8", "--no-evidently", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["drifted_columns"] == ["num_00", "num_01", "cat_00"] and out["foresight_matches_truth"]
    assert out["evidently_s"] is None and out["foresight_s"] > 0


@pytest.mark.skipif(evidently_available(), reason="Evidently is installed here: the missing-extra message cannot show")
def test_bench_drift_says_how_to_install_evidently_when_absent() -> None:
    result = runner.invoke(app, ["bench", "drift", "--rows", "100", "--cols", "3", "--json"])
    assert isinstance(result.exception, ConfigError)  # the entry point prints it and exits 2
    assert "pip install 'evidently==0.7.23' 'pandas<3'" in str(result.exception)
    assert "--no-evidently" in str(result.exception)


@pytest.mark.parametrize("rows", [500, 5000])
def test_synthetic_drift_is_found_at_both_sizes(rows: int) -> None:
    data = synthetic_tables(rows, 10, seed=2)
    figures = bench_report(rows, 10, seed=2, evidently=False)
    assert figures["drifted_columns"] == list(data.drifted)


def test_bench_drift_monitor_reports_delay_and_false_alarms() -> None:
    result = runner.invoke(app, ["bench", "drift-monitor", "--seeds", "2", "--days", "0.05", "--features", "4",
                                 "--reference-rows", "600", "--window-rows", "200", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["detected"] == "2/2" and out["detection_delay_s_median"] > 0
    assert out["false_alarms_per_day"] >= 0 and out["sample_rate_hz"] == 1.0


def test_verdicts_agree_with_evidently_on_a_small_table() -> None:
    if not evidently_available():
        reason = "Evidently (the `evidently` extra) is not installed"
        if os.environ.get("FORESIGHT_REQUIRE_EVIDENTLY") == "1":
            pytest.fail(f"{reason}, and FORESIGHT_REQUIRE_EVIDENTLY=1 requires it")
        pytest.skip(reason)
    figures = bench_report(3000, 6, seed=1, evidently=True)
    assert figures["verdicts_agree"] is True
    assert figures["evidently_drifted_columns"] == ["num_00", "num_01", "cat_00"]


@pytest.fixture
def reference_csv(tmp_path: Path) -> Path:
    path = tmp_path / "ref.csv"
    path.write_text("a,b\n" + "".join(f"{i},{i % 7}\n" for i in range(50)))
    return path


def test_nothing_compared_is_an_error_naming_each_column_not_a_verdict(reference_csv: Path, tmp_path: Path) -> None:
    semicolons = tmp_path / "s.csv"
    semicolons.write_text("a;b\n1;2\n3;4\n")
    for fmt in ("json", "html"):
        result = runner.invoke(app, ["drift", str(reference_csv), str(semicolons), "--format", fmt,
                                     "--out", str(tmp_path / f"r.{fmt}")])
        assert isinstance(result.exception, InputError) and result.exception.exit_code != 0
        message = str(result.exception)
        assert "\n" not in message and "no feature could be compared" in message
        assert "a: not in the current table; b: not in the current table; a;b: not in the reference table" in message
        assert "comma-separated" in message
        assert not (tmp_path / f"r.{fmt}").exists()


def test_an_all_missing_current_table_is_an_error_not_no_drift(reference_csv: Path, tmp_path: Path) -> None:
    empty = tmp_path / "nan.csv"
    empty.write_text("a,b\nnan,\n,NaN\n")
    result = runner.invoke(app, ["drift", str(reference_csv), str(empty), "--format", "json"])
    assert isinstance(result.exception, InputError)
    assert "a: no valid value in the current; b: no valid value in the current" in str(result.exception)


def test_a_file_with_a_duplicate_column_name_is_refused_naming_it(reference_csv: Path, tmp_path: Path) -> None:
    twice = tmp_path / "dup.csv"
    twice.write_text("a,b,a\n1,2,3\n4,5,6\n")
    result = runner.invoke(app, ["drift", str(reference_csv), str(twice), "--format", "json"])
    assert isinstance(result.exception, InputError)
    assert "dup.csv: duplicate column names 'a' (2 times)" in str(result.exception)


def test_infinities_are_missing_values_reported_per_column_without_warnings(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    cur = rng.normal(size=2000)
    cur[:7] = np.inf
    cur[7:10] = -np.inf
    cur[10:12] = np.nan
    pa_csv.write_csv(pa.table({"x": rng.normal(size=2000)}), tmp_path / "ref.csv")
    pa_csv.write_csv(pa.table({"x": cur}), tmp_path / "cur.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning (inf - inf in Wasserstein, the plots) fails the test
        result = runner.invoke(app, ["drift", str(tmp_path / "ref.csv"), str(tmp_path / "cur.csv"), "--format", "json"])
        html = runner.invoke(app, ["drift", str(tmp_path / "ref.csv"), str(tmp_path / "cur.csv"),
                                   "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 0 and html.exit_code == 0, (result.output, html.output)
    x = json.loads(result.output)["features"][0]
    assert (x["missing_cur"], x["infinite_cur"], x["rows_cur"], x["infinite_ref"]) == (12, 10, 1988, 0)
    assert "infinite values counted as missing: 10 in the current" in x["note"]
    assert np.isfinite(x["stats"]["wasserstein"]) and x["drifted"] is False
