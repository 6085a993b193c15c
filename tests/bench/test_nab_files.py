"""NAB's files: reading series (and refusing malformed ones), writing results in NAB's layout."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from foresight.bench.nab import benchmark, load_corpus, read_value_csv
from foresight.errors import InputError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_iso_and_unix_timestamps_and_missing_values(tmp_path: Path) -> None:
    path = write(tmp_path / "s.csv", "timestamp,value\n2014-02-14 14:30:00,1.5\n1392388500,\n2014-02-14T14:40:00Z,nan\n")
    stamps, seconds, values = read_value_csv(path)
    assert stamps == ("2014-02-14 14:30:00", "1392388500", "2014-02-14T14:40:00Z")
    assert seconds.tolist() == [1392388200.0, 1392388500.0, 1392388800.0]
    assert values[0] == 1.5 and np.isnan(values[1]) and np.isnan(values[2])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"empty file"),
        ("time,val\n1,2\n", r":1: header"),
        ("timestamp,value\n", r"no data rows"),
        ("timestamp,value\n1,2\n2,abc\n", r":3: value 'abc' is not a number"),
        ("timestamp,value\n1,2\nyesterday,3\n", r":3: timestamp 'yesterday'"),
        ("timestamp,value\n1,2,3\n", r":2: expected 2 fields"),
    ],
)
def test_malformed_files_name_the_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path / "bad.csv", text)
    with pytest.raises(InputError, match=message) as caught:
        read_value_csv(path)
    assert str(path) in str(caught.value)


def test_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        read_value_csv(tmp_path / "absent.csv")


def test_benchmark_writes_nabs_results_layout(shared_data: Path, tmp_path: Path) -> None:
    corpus = [s for s in load_corpus(shared_data / "nab") if s.name == "realTraffic/speed_7578.csv"]
    results = benchmark(["ewma"], corpus, tmp_path)
    written = tmp_path / "ewma" / "realTraffic" / "ewma_speed_7578.csv"
    with written.open() as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["timestamp", "value", "anomaly_score"]
    assert len(rows) == 1 + corpus[0].values.size
    assert rows[1][0] == corpus[0].stamps[0]
    assert [score.profile for score in results["ewma"].profiles] == ["standard", "reward_low_FP_rate", "reward_low_FN_rate"]
    assert all(-100.0 <= score.normalised <= 100.0 for score in results["ewma"].profiles)
