"""The batch report: verdicts per feature, schema problems as statuses, reading CSV and Parquet."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from foresight.drift.columns import categorical
from foresight.drift.html import render_html
from foresight.drift.report import drift_report
from foresight.drift.table import from_arrow, read_table
from foresight.errors import InputError


def _tables(rows: int, seed: int = 0) -> tuple[dict[str, object], dict[str, object]]:
    rng = np.random.default_rng(seed)
    levels = np.array(["a", "b", "c", "d"], dtype=object)
    ref = {"same": rng.normal(size=rows), "shifted": rng.normal(size=rows),
           "colour": rng.choice(levels, rows), "mix": rng.choice(levels, rows)}
    cur = {"same": rng.normal(size=rows), "shifted": rng.normal(0.6, 1.0, size=rows),
           "colour": rng.choice(levels, rows), "mix": rng.choice(levels, rows, p=[0.55, 0.15, 0.15, 0.15])}
    return ref, cur


@pytest.mark.parametrize(("rows", "numeric_test", "categorical_test"), [(600, "ks", "chi2"), (5000, "wasserstein", "js")])
def test_default_test_by_size_and_kind_flags_exactly_the_drifted_columns(rows: int, numeric_test: str, categorical_test: str) -> None:
    ref, cur = _tables(rows)
    report = drift_report(ref, cur)
    tests = {f.name: f.test for f in report.features}
    assert tests == {"same": numeric_test, "shifted": numeric_test, "colour": categorical_test, "mix": categorical_test}
    assert set(report.drifted_columns) == {"shifted", "mix"}
    assert report.dataset_drifted and report.drifted_share == 0.5


def test_p_value_verdicts_are_benjamini_hochberg_adjusted() -> None:
    ref, cur = _tables(600)
    report = drift_report(ref, cur)
    same = next(f for f in report.features if f.name == "same")
    assert same.value >= same.stats["ks_p"]  # adjusted p is never below the raw one
    assert same.rule == "ks p < 0.05"


def test_schema_mismatch_empty_constant_and_nans_are_statuses_not_crashes() -> None:
    rng = np.random.default_rng(4)
    with_nans = rng.normal(size=2000)
    with_nans[:100] = np.nan
    ref = {"gone": rng.normal(size=2000), "retyped": rng.normal(size=2000), "empty": np.full(2000, np.nan),
           "constant": np.ones(2000), "nans": with_nans, "flag": rng.integers(0, 2, 2000).astype(float)}
    cur = {"retyped": np.array(["x"] * 2000, dtype=object), "empty": rng.normal(size=2000),
           "constant": np.ones(2000), "nans": rng.normal(size=2000), "flag": rng.integers(0, 2, 2000).astype(float),
           "new": rng.normal(size=2000)}
    report = drift_report(ref, cur, unsupported={"when": "unsupported type timestamp[s]"})
    by_name = {f.name: f for f in report.features}
    assert by_name["gone"].status == "missing_in_current"
    assert by_name["new"].status == "extra_in_current"
    assert by_name["retyped"].status == "type_changed"
    assert "numeric in the reference, categorical in the current" in by_name["retyped"].note
    assert by_name["empty"].status == "empty" and "reference" in by_name["empty"].note
    assert by_name["when"].status == "unsupported"
    assert by_name["constant"].status == "compared" and by_name["constant"].drifted is False
    assert (by_name["nans"].missing_ref, by_name["nans"].rows_ref, by_name["nans"].drifted) == (100, 1900, False)
    assert by_name["flag"].kind == "numeric-discrete" and by_name["flag"].test == "js"
    json.dumps(report.to_dict(), allow_nan=False)  # strict JSON


def test_a_constant_reference_that_moves_is_drift_and_serialises() -> None:
    report = drift_report({"c": np.zeros(3000)}, {"c": np.linspace(0.0, 1.0, 3000)})
    feature = report.features[0]
    assert feature.drifted and feature.value == np.inf
    assert report.to_dict()["features"][0]["value"] == "inf"


def test_categories_are_aligned_on_the_union_of_labels() -> None:
    ref = categorical(np.array(["a", "b"] * 1000, dtype=object))
    cur = categorical(np.array(["b", "c"] * 1000, dtype=object))
    feature = drift_report({"x": ref}, {"x": cur}).features[0]
    assert feature.drifted and feature.stats["js"] > 0.5


def test_csv_and_parquet_read_the_same_columns(tmp_path: Path) -> None:
    table = pa.table({"n": [1.0, None, 3.0], "i": [1, 2, 3], "s": ["x", None, "y"],
                      "t": pa.array([0, 1, 2], pa.timestamp("s"))})
    pq.write_table(table, tmp_path / "t.parquet")
    pa_csv.write_csv(table.drop_columns(["t"]), tmp_path / "t.csv")
    parquet, csv = read_table(tmp_path / "t.parquet"), read_table(tmp_path / "t.csv")
    assert list(parquet.unsupported) == ["t"] and parquet.unsupported["t"].startswith("unsupported type timestamp")
    for t in (parquet, csv):
        np.testing.assert_array_equal(t.columns["n"], [1.0, np.nan, 3.0])
        assert t.columns["s"].codes.tolist() == [0, -1, 1]


def test_unreadable_files_are_input_errors_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_table(tmp_path / "absent.csv")
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet")
    with pytest.raises(InputError, match="bad.parquet: cannot read as Parquet"):
        read_table(bad)


def test_html_report_is_self_contained_with_one_plot_per_compared_feature() -> None:
    ref, cur = _tables(2000)
    ref["gone"] = np.zeros(2000)
    report = drift_report(ref, cur)
    page = render_html(report, ref, cur)
    assert page.count('class="feature"') == 4
    assert "plotly" in page[:5_000_000] and "<script src=" not in page
    assert "missing_in_current" in page


def test_plot_titles_state_the_result_then_the_rule() -> None:
    ref, cur = _tables(600)
    report = drift_report(ref, cur)
    same = next(f for f in report.features if f.name == "same")
    assert same.summary == f"no drift (KS p = {same.value:.4g}, BH-adjusted; drift when p < 0.05)"
    page = render_html(report, ref, cur)
    assert f"same: no drift (KS p = {same.value:.4g}, BH-adjusted; drift when p \\u003c 0.05)" in page
    assert "ks p \\u003c 0.05, value" not in page
    large = drift_report(*_tables(5000)).features
    shifted = next(f for f in large if f.name == "shifted")
    assert shifted.summary == f"drifted (Wasserstein / std(ref) = {shifted.value:.4g}; drift when >= 0.1)"


def test_from_arrow_refuses_duplicate_column_names() -> None:
    table = pa.Table.from_arrays([pa.array([1.0]), pa.array(["x"]), pa.array([2.0])], names=["n", "s", "n"])
    with pytest.raises(InputError, match=r"t.parquet: duplicate column names 'n' \(2 times\)"):
        from_arrow(table, "t.parquet")
