"""``foresight demo`` as a user runs it: JSON output, plain output, and clear errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def foresight(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from foresight.cli import main; main()", *args],
        capture_output=True, text=True, cwd=cwd, timeout=300,
    )


def test_demo_json_summary(tmp_path: Path) -> None:
    run = foresight("demo", "--duration", "3h", "--services", "4", "--no-live", "--json", "--out", "out", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert {"slo_violation_minutes", "replica_minutes", "scaling_actions", "report"} <= summary.keys()
    assert Path(summary["report"]).is_file()


def test_demo_policy_option_puts_services_under_each_controller(tmp_path: Path) -> None:
    run = foresight("demo", "--duration", "3h", "--services", "4", "--policy", "predictive", "--no-live", "--json",
                    "--out", "out", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert set(summary["controllers"].values()) == {"predictive"}
    assert {f["service"] for f in summary["forecasts"]} == set(summary["controllers"])


def test_demo_plain_output_names_report(tmp_path: Path) -> None:
    run = foresight("demo", "--duration", "1h", "--services", "4", "--no-live", "--out", "out", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "demo summary" in run.stdout and "report:" in run.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty"),
        ("timestamp,value\n1,2\n2,abc\n", ":3"),
        ("timestamp,value\n5,2\n4,3\n", ":3"),
        ("timestamp,value\n1,2\n2,nan\n", ":3"),
    ],
)
def test_demo_rejects_malformed_trace_without_traceback(tmp_path: Path, content: str, message: str) -> None:
    trace = tmp_path / "trace.csv"
    trace.write_text(content)
    run = foresight("demo", "--trace", str(trace), "--no-live", "--out", "out", cwd=tmp_path)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert "trace.csv" in run.stderr and message in run.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--duration", "soon"], "invalid duration"),
        (["--services", "2"], "at least 4"),
        (["--policy", "magic"], "--policy must be one of hpa, predictive, split"),
        (["--audit-url", "postgresql+psycopg://nobody@127.0.0.1:1/none"], "unreachable"),
    ],
)
def test_demo_bad_options_give_clear_errors(tmp_path: Path, args: list[str], message: str) -> None:
    run = foresight("demo", "--no-live", "--duration", "1h", *args, cwd=tmp_path)
    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    assert message in run.stderr
