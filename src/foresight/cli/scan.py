"""``foresight scan PATH...``: scan model artifacts for code they would run when loaded; a CI stage.

Every file under each PATH is scanned by its content, whatever its name (a pickle called
``weights.txt`` is still a pickle); folders named ``.git`` are skipped (git's own object store).
Exit status: 0 when no finding reaches ``--fail-on``, 1 when one does, 2 for a wrong option or a
PATH that does not exist, 74 when a file cannot be read.
"""

from __future__ import annotations

import json
import mmap
import os
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from foresight import __version__
from foresight.cli.app import app, bench_app
from foresight.errors import InputError
from foresight.security import (
    RULES,
    Finding,
    Level,
    ScanLimits,
    scan_artifact,
    to_sarif,
    worst,
)

__all__ = ["bench_scan_command", "scan", "scan_paths"]

_SKIPPED_DIRS = frozenset({".git"})
#: files at least this large are mapped, not read, so a 10 GB checkpoint costs no 10 GB of memory
_MAP_FROM = 1 << 20


class Format(str, Enum):
    text = "text"
    json = "json"
    sarif = "sarif"


class FailOn(str, Enum):
    error = "error"
    warning = "warning"


def _files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if not path.exists():
            raise InputError(f"{path}: no such file or folder to scan")
        if path.is_file():
            yield path
            continue
        for folder, dirs, names in os.walk(path):
            dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS)
            for name in sorted(names):
                file = Path(folder) / name
                if file.is_file():
                    yield file


def _scan_file(path: Path, limits: ScanLimits) -> list[Finding]:
    with path.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size < _MAP_FROM:
            return scan_artifact(handle.read(), str(path), limits)
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            return scan_artifact(mapped, str(path), limits)


def scan_paths(paths: list[Path], limits: ScanLimits | None = None) -> tuple[list[Finding], int]:
    """Every finding in every file under ``paths``, and how many files were scanned."""
    findings: list[Finding] = []
    count = 0
    for file in _files(paths):
        findings.extend(_scan_file(file, limits or ScanLimits()))
        count += 1
    return findings, count


@app.command("scan")
def scan(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to scan (folders recursively).")],
    output_format: Annotated[Format, typer.Option("--format", help="text for people, json, or sarif for CI.")] = Format.text,
    fail_on: Annotated[FailOn, typer.Option("--fail-on", help="Exit 1 when a finding is at least this severe.")] = FailOn.error,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report here instead of stdout.")] = None,
    max_expand_mb: Annotated[int, typer.Option("--max-expand-mb", min=1,
                                               help="How far one compressed stream or member may expand.")] = 2048,
) -> None:
    """Scan model artifacts (pickle, PyTorch, joblib, NumPy, Keras, ONNX, safetensors) without loading them.

    Files are recognised by content, not name. A pickle's imported globals are judged: dangerous ones
    (os, subprocess, eval ...) are errors, ones outside the allowlist of model classes warnings; a
    file that does not parse is an error (fail closed).
    """
    findings, files = scan_paths(paths, ScanLimits(max_expanded_bytes=max_expand_mb << 20))
    top = worst(findings)
    if output_format is Format.sarif:
        text = json.dumps(to_sarif(findings, RULES, __version__), indent=2)
    elif output_format is Format.json:
        text = json.dumps({"files": files, "findings": [
            {"rule_id": f.rule_id, "level": f.level.value, "message": f.message, "path": f.location.path,
             "members": list(f.location.members), "line": f.location.line, "byte_offset": f.location.byte_offset}
            for f in findings]}, indent=2)
    else:
        text = "\n".join(str(f) for f in findings)
        counts = {level: sum(f.level is level for f in findings) for level in (Level.ERROR, Level.WARNING, Level.NOTE)}
        text += ("\n" if findings else "") + (f"{files} files scanned: {counts[Level.ERROR]} errors, "
                                              f"{counts[Level.WARNING]} warnings, {counts[Level.NOTE]} notes")
    if output is not None:
        output.write_text(text + "\n", encoding="utf-8")
    elif output_format is Format.text:
        Console(highlight=False, soft_wrap=True).print(escape(text))
    else:
        typer.echo(text)
    if top is not None and top.rank >= Level(fail_on.value).rank:
        raise typer.Exit(1)


@bench_app.command("scan")
def bench_scan_command(
    baselines: Annotated[Path | None, typer.Option(
        "--baselines", help="A virtual environment with picklescan and modelscan installed, to run them side by side.")] = None,
    throughput: Annotated[bool, typer.Option(help="Also time 200 MB arrays and a 1M-opcode pickle.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """The artifact scanner on a generated corpus: attacks caught, benign files flagged, time; optional baselines.

    An attack is caught by an error-level finding; a benign file is a false positive with a warning
    or an error. The corpus was written with the scanner (known attack classes, not unseen files).
    """
    from foresight.bench.scan import bench_scan

    if baselines is not None and not (baselines / "bin").is_dir():
        raise InputError(f"--baselines {baselines}: not a virtual environment (no bin/ folder)")
    figures = bench_scan(baselines, throughput=throughput)
    if as_json:
        typer.echo(json.dumps(figures))
        return
    table = Table(title="bench scan: model artifacts")
    tools = {"foresight": figures, **{k: v for k, v in figures["baselines"].items() if isinstance(v, dict) and "seconds" in v}}
    table.add_column("corpus")
    for tool in tools:
        table.add_column(tool, justify="right")
    for kind in ("classic", "evasion", "format"):
        table.add_row(kind, *(f"{f[kind + '_caught']}/{f[kind + '_total']}" for f in tools.values()))
    table.add_row("benign false positives", *(f"{f['benign_false_positives']}/{f['benign_total']}" for f in tools.values()))
    table.add_row("seconds (whole corpus)", *(f"{f['seconds']:.3f}" for f in tools.values()))
    speed = figures.get("throughput")
    if speed:
        table.caption = (f"200 MB .npy {speed['npy_200mb_s']:.3f} s (target 0.3), 200 MB pickled array "
                         f"{speed['pickle_200mb_s']:.3f} s, in a torch zip {speed['torch_zip_200mb_s']:.3f} s, 1M opcodes {speed['pickle_1m_opcodes_s']:.3f} s (target 1.1; an empty "
                         f"1M-turn Python loop takes {speed['empty_loop_1m_s']:.3f} s here)")
    Console(width=120).print(table)
