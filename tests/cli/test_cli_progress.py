"""Long benchmarks say what runs and how far they are: on stderr, only on a terminal, never on stdout."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

import foresight.cli.progress
from foresight.bench.autoscale import Scenario, bench_autoscale
from foresight.bench.drift import bench_monitor, bench_report
from foresight.bench.progress import silent
from foresight.cli import cli
from foresight.cli.progress import progress_bar


class Heard:
    """A Progress callback that keeps what it hears."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, float]] = []

    def __call__(self, what: str, done: float) -> None:
        self.calls.append((what, done))

    def check(self) -> None:
        """At least two reports, shares in [0, 1] and never going back."""
        shares = [done for _, done in self.calls]
        assert len(shares) >= 2 and shares == sorted(shares) and 0.0 <= shares[0] and shares[-1] <= 1.0, self.calls


@pytest.fixture
def nab_corpus(tmp_path: Path) -> Path:
    """Two synthetic series in NAB's layout, each with one labelled spike (no NAB data read)."""
    rng = np.random.default_rng(3)
    windows = {}
    for n in range(2):
        stamps = [datetime.fromtimestamp(1_700_000_000 + 300 * k, UTC).strftime("%Y-%m-%d %H:%M:%S") for k in range(1500)]
        values = 10 + rng.normal(0, 0.1, 1500)
        values[1200 + n] += 8
        folder = tmp_path / "data" / "synth"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"s{n}.csv").write_text("timestamp,value\n" + "".join(f"{s},{v:.3f}\n" for s, v in zip(stamps, values)))
        windows[f"synth/s{n}.csv"] = [[f"{stamps[1150]}.000000", f"{stamps[1250]}.000000"]]
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "combined_windows.json").write_text(json.dumps(windows))
    return tmp_path


def test_the_bar_says_what_runs_how_far_and_how_long_is_left() -> None:
    screen = io.StringIO()
    with progress_bar("bench x", Console(file=screen, force_terminal=True, width=150)) as report:
        report("trace a: 7 policies", 0.5)
    shown = screen.getvalue()
    assert "bench x: trace a: 7 policies" in shown and "50%" in shown and "ETA" in shown


def test_no_bar_when_stderr_is_not_a_terminal() -> None:
    screen = io.StringIO()
    with progress_bar("bench x", Console(file=screen)) as report:
        report("trace a", 0.5)
    assert report is silent and screen.getvalue() == ""


def test_bench_nab_json_stays_alone_on_stdout_while_stderr_shows_progress(
    nab_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(foresight.cli.progress, "Console", lambda stderr: Console(stderr=stderr, force_terminal=True))
    result = CliRunner().invoke(cli, ["bench", "nab", "--data", str(nab_corpus), "--out", str(tmp_path / "out"),
                                      "--detector", "ewma", "--json"])
    assert result.exit_code == 0, result.output
    assert set(json.loads(result.stdout)) == {"standard", "reward_low_FP_rate", "reward_low_FN_rate"}
    assert "bench nab (1 detectors): ewma" in result.stderr


def test_the_benchmarks_report_as_they_run(nab_corpus: Path, tmp_path: Path) -> None:
    from foresight.bench.nab import benchmark, load_corpus

    heard = Heard()
    benchmark(["ewma"], load_corpus(nab_corpus), None, heard)
    heard.check()
    assert heard.calls[0][0] == "ewma on 2 series" and "standard profile" in heard.calls[1][0]

    heard = Heard()
    bench_monitor(seeds=2, days=0.01, features=3, spec=None, horizon_s=600.0, progress=heard)
    heard.check()
    assert [what for what, _ in heard.calls][:2] == ["seed 1 of 2: stationary stream", "seed 1 of 2: shifted stream"]

    heard = Heard()
    bench_report(rows=200, cols=3, evidently=False, progress=heard)
    heard.check()
    assert [what for what, _ in heard.calls] == ["200 x 3 synthetic rows", "Foresight's drift report"]


def test_bench_autoscale_reports_each_trace_share(tmp_path: Path) -> None:
    minutes = np.arange(int(1.2 * 1440))
    rate = 100.0 + 80.0 * np.sin(2 * np.pi * minutes / 1440)
    path = tmp_path / "wave.csv"
    path.write_text("timestamp,requests\n" + "".join(f"{60 * m},{v:.3f}\n" for m, v in zip(minutes, rate)))
    heard = Heard()
    bench_autoscale([path], Scenario(days=0.05, replicas_at_peak=8), progress=heard)
    heard.check()
    assert len(heard.calls) >= 50 and heard.calls[-1][1] > 0.95
    assert heard.calls[0][0].startswith("wave: ") and " of 0.05 d" in heard.calls[0][0]
