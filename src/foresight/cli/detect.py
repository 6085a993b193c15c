"""``foresight detect``, ``foresight bench nab`` and ``foresight bench detect``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from foresight.bench.detect import bench_detect
from foresight.bench.nab import (
    PROFILES,
    SPLITS,
    benchmark,
    load_corpus,
    split_of,
    write_scores_csv,
)
from foresight.cli.app import app, bench_app
from foresight.cli.params import distinct_output
from foresight.cli.progress import progress_bar
from foresight.detect import BEST, DETECTORS, make_detector, run
from foresight.errors import InputError
from foresight.sim.trace import read_samples

NAB_BESIDE_CHECKOUT = Path("..") / "shared" / "data" / "nab"
PROTOCOLS = ("standard", "loco")
KNOWN = ", ".join(DETECTORS)


@app.command("detect")
def detect(
    input: Annotated[Path, typer.Option(
        "--input", help="CSV with a header of two names, e.g. 'timestamp,value' (ISO-8601 or Unix seconds, in "
        "time order).", dir_okay=False)],
    output: Annotated[Path, typer.Option(
        "--output", help="Where to write 'timestamp,value,anomaly_score' (not the input file).", dir_okay=False)],
    detector: Annotated[str, typer.Option("--detector", help=f"One of: {KNOWN}.")] = BEST,
) -> None:
    """Score one series: an anomaly score in [0, 1] per row, from the rows before it and itself.

    The input is read like ``demo --trace`` reads a trace (one reader for both): rows in time order,
    each time once. Empty or 'nan' values are missing samples: they score 0 and teach the detector
    nothing.
    """
    chosen = make_detector(detector)
    distinct_output(output, {"--input": input})
    series = read_samples(input, "metric")
    scores = run(chosen, series.values, series.times)
    write_scores_csv(output, series.stamps, series.values, scores)
    top = int(np.argmax(scores))
    typer.echo(f"{len(series.stamps)} rows scored with {detector} -> {output}; "
               f"highest {scores[top]:.3f} at {series.stamps[top]}")


@bench_app.command("nab")
def bench_nab(
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help=f"NAB folder (data/, labels/). Default: {NAB_BESIDE_CHECKOUT} relative to the current directory, if present.",
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Results folder: <detector>/<category>/<detector>_<file>.csv.")] = Path(
        "foresight-out"
    )
    / "nab",
    detectors: Annotated[
        list[str] | None, typer.Option("--detector", help=f"Repeat to pick several (default: all of {KNOWN}).")
    ] = None,
    categories: Annotated[
        list[str] | None, typer.Option("--category", help="Score only these categories (repeat), e.g. for a held-out split.")
    ] = None,
    split: Annotated[
        str | None,
        typer.Option("--split", help="Score only one fixed half of the series: tune or held (by a hash of the name)."),
    ] = None,
    protocol: Annotated[
        str,
        typer.Option("--protocol", help="standard (NAB's: one threshold chosen on the series scored) or loco "
                     "(each category scored at the threshold chosen on the others, beside the standard figures)."),
    ] = "standard",
    as_json: Annotated[
        bool, typer.Option("--json", help=f"Print only {{profile: score}} of one detector: --detector's, else {BEST}.")
    ] = False,
) -> None:
    """Run detectors on NAB, write NAB's results files and print the normalised NAB scores.

    Scores: 100 for a perfect detector, 0 for one that never fires; one threshold per detector and
    profile, chosen to maximise the corpus score (NAB's own rule). ``--split tune`` / ``--split
    held`` score one fixed half (choose a design on one, report the other). ``--protocol loco``
    also scores each category at the threshold chosen without it (leave-one-category-out); with
    ``--json`` the profiles' keys then hold the LOCO scores, ``all_series`` NAB's own.
    """
    if split is not None and split not in SPLITS:
        raise InputError(f"--split must be one of {', '.join(SPLITS)}, got {split!r}")
    if protocol not in PROTOCOLS:
        raise InputError(f"--protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    loco = protocol == "loco"
    root = data if data is not None else NAB_BESIDE_CHECKOUT
    if not (root / "labels").is_dir():
        where = "--data" if data is not None else f"the default {NAB_BESIDE_CHECKOUT} (from {Path.cwd()})"
        raise InputError(f"{root}: no NAB labels/ folder here; pass --data DIR ({where} was used)")
    corpus = load_corpus(root)
    if categories:
        corpus = [item for item in corpus if item.category in categories]
        if not corpus:
            raise InputError(f"no series in categories {categories}")
    if split is not None:
        corpus = [item for item in corpus if split_of(item.name) == split]
        if not corpus:
            raise InputError(f"no series in the {split} half")
    if as_json and detectors and len(detectors) > 1:
        raise InputError("--json prints one detector's scores: give at most one --detector")
    names = detectors or ([BEST] if as_json else list(DETECTORS))
    for name in names:
        make_detector(name)  # an unknown name fails before any work
    if loco and len({item.category for item in corpus}) < 2:
        raise InputError("--protocol loco needs series of at least two categories")
    with progress_bar(f"bench nab ({len(names)} detectors)") as progress:
        results = benchmark(names, corpus, out, progress, loco=loco)
    if as_json:
        first = results[names[0]]
        standard = {score.profile: round(score.normalised, 2) for score in first.profiles}
        if first.loco is None:
            typer.echo(json.dumps(standard))
            return
        typer.echo(json.dumps({**{s.profile: round(s.normalised, 2) for s in first.loco}, "protocol": "loco",
                               "all_series": standard,
                               "thresholds": {s.profile: s.thresholds for s in first.loco}}))
        return
    table = Table(
        title=f"NAB v1.1 on {len(corpus)} series{f' ({split} half)' if split else ''}, "
        f"{sum(len(s.windows) for s in corpus)} windows",
        caption=f"normalised score (raw score, threshold); results in {out}"
        + ("; loco: each category at the threshold chosen on the others" if loco else ""),
    )
    table.add_column("detector")
    for profile in PROFILES:
        table.add_column(profile.name, justify="right")
    for name, scores in results.items():
        table.add_row(name, *(f"{s.normalised:.1f} ({s.raw:.1f}, {s.threshold:.3f})" for s in scores.profiles))
        if scores.loco is not None:
            table.add_row(f"{name}, loco", *(f"{s.normalised:.1f} ({s.raw:.1f})" for s in scores.loco))
    Console(width=120).print(table)


@bench_app.command("detect")
def bench_detect_command(
    series: Annotated[int, typer.Option("--series", help="Series stepped together (one sample each per step).")] = 100_000,
    steps: Annotated[int, typer.Option("--steps", help="Timed steps per repeat.")] = 20,
    detectors: Annotated[
        list[str] | None, typer.Option("--detector", help=f"Repeat to pick several (default: all of {KNOWN}).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print {detector: samples per second}.")] = False,
) -> None:
    """Throughput of one streaming step vectorised across many series, per core."""
    if series < 1 or steps < 1:
        raise InputError("--series and --steps must be at least 1")
    results = bench_detect(detectors or list(DETECTORS), series=series, steps=steps)
    if as_json:
        typer.echo(json.dumps({r.detector: round(r.samples_per_s) for r in results}))
        return
    table = Table(title=f"Detector throughput: {series} series x {steps} steps, one core")
    for column in ("detector", "samples/s", "us per step"):
        table.add_column(column, justify="right")
    for r in results:
        table.add_row(r.detector, f"{r.samples_per_s / 1e6:.2f} M", f"{1e6 * r.seconds / r.steps:.0f}")
    Console().print(table)
