"""What a user sees when something goes wrong: one ``error:`` line naming the input, an exit status by kind.

Each case below once ended in a traceback or was accepted silently; the commands run as the user
runs them (``foresight.cli.cli``, behind the error boundary).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from pydantic import BaseModel, Field
from typer.testing import CliRunner

from foresight.cli import cli
from foresight.cli.app import ForesightTyper
from foresight.cli.boundary import ErrorBoundary
from foresight.errors import InputError, ServiceUnavailable
from foresight.sim.trace import read_samples, read_trace

runner = CliRunner()

TRACE = "timestamp,value\n60,5\n120,7\n180,6\n"


def error_line(result) -> str:  # type: ignore[no-untyped-def]
    """The one ``error:`` line of a failed run (and no traceback anywhere)."""
    assert "Traceback" not in result.output, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.fixture
def trace(tmp_path: Path) -> Path:
    path = tmp_path / "t.csv"
    path.write_text(TRACE)
    return path


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--seed", "-1"], "--seed"),
        (["--trace", "{trace}", "--trace-peak", "-5"], "--trace-peak"),
        (["--trace", "{trace}", "--trace-peak", "nan"], "not a finite number"),
        (["--trace", "{trace}", "--trace-peak", "0"], "not above 0"),
        (["--trace", "{trace}", "--trace-peak", "1e400"], "not a finite number"),
        (["--trace-peak", "5"], "give --trace"),
        (["--out", "{trace}"], "--out"),
        (["--audit-url", "mysql://x@127.0.0.1/x"], "'mysql' databases are not supported"),
        (["--audit-url", "garbage"], "neither a database URL nor a SQLite file path"),
        (["--audit-url", "nosuch://x"], "--audit-url"),
        (["--audit-url", "postgresql://u@host:port/db"], "is not a database URL"),
        (["--audit-url", "postgresql+nosuch://u@host/db"], "cannot be loaded"),
    ],
)
def test_demo_refuses_bad_options_before_it_runs(tmp_path: Path, trace: Path, args: list[str], words: str) -> None:
    args = [a.replace("{trace}", str(trace)) for a in args]
    result = runner.invoke(cli, ["demo", "--no-live", "--duration", "1h", "--services", "4", *args],
                           catch_exceptions=False)
    assert result.exit_code == 2
    assert words in error_line(result)
    assert not (Path.cwd() / "garbage").exists()


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs a folder that cannot hold a new one")
def test_demo_out_that_cannot_be_created_names_the_option() -> None:
    result = runner.invoke(cli, ["demo", "--no-live", "--out", "/proc/no/such/folder"], catch_exceptions=False)
    assert result.exit_code == 2 and "--out /proc/no/such/folder: cannot create" in error_line(result)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("a: caf\xe9\n".encode("latin-1"), "spec.yaml:1: not UTF-8 text"),
        (bytes(range(256)), "not UTF-8 text"),
        (b"[" * 5000, "nested too deeply"),
    ],
)
def test_render_reports_unreadable_spec_files(tmp_path: Path, content: bytes, words: str) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_bytes(content)
    result = runner.invoke(cli, ["render", str(spec)], catch_exceptions=False)
    assert result.exit_code == 2 and words in error_line(result)


def test_detect_refuses_binary_input_a_folder_as_output_and_overwriting_its_input(tmp_path: Path, trace: Path) -> None:
    binary = tmp_path / "b.dat"
    binary.write_bytes(bytes(range(256)))
    result = runner.invoke(cli, ["detect", "--input", str(binary), "--output", str(tmp_path / "o.csv")])
    assert result.exit_code == 2 and "b.dat: not UTF-8 text" in error_line(result)
    result = runner.invoke(cli, ["detect", "--input", str(trace), "--output", str(tmp_path)])
    assert result.exit_code == 2 and "--output" in error_line(result) and "is a directory" in error_line(result)
    result = runner.invoke(cli, ["detect", "--input", str(trace), "--output", str(trace)])
    assert result.exit_code == 2 and "would overwrite the input" in error_line(result)
    assert trace.read_text() == TRACE


def test_demo_and_detect_read_traces_alike(tmp_path: Path) -> None:
    """One reader: the file ``detect`` refuses, ``demo --trace`` refuses with the same words."""
    unsorted = tmp_path / "unsorted.csv"
    unsorted.write_text("timestamp,value\n120,5\n60,7\n180,6\n")
    detect = runner.invoke(cli, ["detect", "--input", str(unsorted), "--output", str(tmp_path / "o.csv")])
    demo = runner.invoke(cli, ["demo", "--no-live", "--duration", "1h", "--services", "4", "--trace", str(unsorted),
                               "--out", str(tmp_path / "out")])
    assert detect.exit_code == demo.exit_code == 2
    assert f"{unsorted}:3: timestamp '60' is not after the previous row's" in error_line(detect)
    assert error_line(detect) == error_line(demo)


def test_a_trace_value_that_swamps_the_normalisation_is_refused_by_line(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    path.write_text("timestamp,value\n60,5\n120,1e300\n180,6\n")
    with pytest.raises(InputError, match=r"huge.csv:3: value '1e300' is above 1e\+15"):
        read_trace(path)


def test_detect_keeps_missing_samples_and_any_sign(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("timestamp,temperature\n60,-3.5\n120,\n180,nan\n240,2\n")
    series = read_samples(path, "metric")
    assert series.stamps == ("60", "120", "180", "240")
    assert series.values[0] == -3.5 and np.isnan(series.values[1:3]).all() and series.values[3] == 2.0


def _boundary_app() -> ForesightTyper:
    """Two commands behind the boundary: one with a bug, one that fails validation deep inside."""

    class Spec(BaseModel):
        replicas: int = Field(ge=1)

    app = ForesightTyper(cls=ErrorBoundary, name="t")

    @app.command()
    def bug() -> None:
        {}["missing"]

    @app.command()
    def invalid() -> None:
        Spec(replicas=0)

    @app.command()
    def unreachable() -> None:
        raise ServiceUnavailable("prometheus at http://p:9090 unreachable")

    @app.command()
    def unwritable() -> None:
        open("/proc/no/such/file", "w")  # noqa: SIM115

    return app


def test_a_bug_is_one_line_naming_the_file_that_holds_its_traceback() -> None:
    result = runner.invoke(_boundary_app(), ["bug"])
    assert result.exit_code == 70
    line = error_line(result)
    assert line.startswith("error: internal error KeyError: 'missing' (a bug in Foresight")
    saved = Path(line.split("the traceback is in ")[1].split(":")[0])
    text = saved.read_text()
    assert text.startswith("foresight bug") and "Traceback" in text and "KeyError" in text
    saved.unlink()


def test_known_errors_have_their_own_exit_status() -> None:
    app = _boundary_app()
    invalid = runner.invoke(app, ["invalid"])
    assert invalid.exit_code == 2
    assert error_line(invalid) == "error: Spec: replicas: Input should be greater than or equal to 1 (got 0)"
    unreachable = runner.invoke(app, ["unreachable"])
    assert unreachable.exit_code == 3 and "prometheus at http://p:9090 unreachable" in error_line(unreachable)
    if sys.platform.startswith("linux"):
        unwritable = runner.invoke(app, ["unwritable"])
        assert unwritable.exit_code == 74 and "/proc/no/such/file: No such file or directory" in error_line(unwritable)
    usage = runner.invoke(app, ["bug", "--nope"])
    assert usage.exit_code == 2 and "No such option: --nope (see 't bug --help')" in error_line(usage)
