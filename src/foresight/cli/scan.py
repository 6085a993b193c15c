"""``foresight scan PATH...``: scan model artifacts, Kubernetes manifests and Python source; a CI stage.

Every file under each PATH is scanned by its content, whatever its name (a pickle called
``weights.txt`` is still a pickle): the model-artifact scanner reads every file; text that reads as
Kubernetes YAML or JSON (it starts like a mapping or list and names an ``apiVersion`` and a
``kind``) also goes to the manifest scanner, all of them as one set (NetworkPolicies and
ServiceAccounts cover workloads across files); Python source (``.py``/``.pyw``, or a ``python``
shebang) goes to the code scanner, all files as one tree so calls are followed between modules.
Documentation (``.md``, ``.rst``, ``.txt`` ...) is not read as a manifest: its YAML examples are not
deployed. ``-`` reads standard input (``helm template CHART | foresight scan -``); folders named
``.git`` are skipped (git's own object store).
Exit status: 0 when no finding reaches ``--fail-on``, 1 when one does, 2 for a wrong option or a
PATH that does not exist, 74 when a file cannot be read. A manifest finding accepted with a reason
(the annotation ``scan.foresight.ai/accept-<RULE>``) is shown but does not count.
"""

from __future__ import annotations

import json
import mmap
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from foresight import __version__
from foresight.bench.scan_manifests import (
    CHECKOV_VARIABLE,
    DEFAULT_CHECKOV,
    find_checkov,
)
from foresight.cli.app import app, bench_app
from foresight.errors import InputError
from foresight.security import (
    RULES,
    Finding,
    Level,
    ScanLimits,
    scan_artifact,
    scan_manifest_files,
    to_sarif,
    worst,
)
from foresight.security.manifests import looks_like_manifest, read_manifest

__all__ = ["bench_scan_command", "scan", "scan_paths"]

_SKIPPED_DIRS = frozenset({".git"})
#: files at least this large are mapped, not read, so a 10 GB checkpoint costs no 10 GB of memory
_MAP_FROM = 1 << 20
#: text scanners (manifests, code) read files up to this size; larger ones are artifacts only
_TEXT_UP_TO = 64 << 20
_PYTHON_SUFFIXES = frozenset({".py", ".pyw"})
_DOCUMENT_SUFFIXES = frozenset({".md", ".markdown", ".rst", ".txt", ".adoc", ".html", ".htm"})
#: a file named so is a manifest for sure: if it does not parse, that is an error (FSM001); any other
#: text that looks like YAML but does not parse is not taken for one
_MANIFEST_SUFFIXES = frozenset({".yaml", ".yml", ".json"})
_STDIN = Path("-")


class Format(str, Enum):
    text = "text"
    json = "json"
    sarif = "sarif"


class FailOn(str, Enum):
    error = "error"
    warning = "warning"


@dataclass
class _Scanned:
    """What a scan found so far: findings of artifacts and of reading manifests, and what the
    scanners that check every file together (manifests, Python) are given at the end."""

    findings: list[Finding] = field(default_factory=list)
    manifests: dict[str, list[Any]] = field(default_factory=dict)
    python: dict[str, str] = field(default_factory=dict)
    files: int = 0


def _files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path == _STDIN:
            yield path
            continue
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


def _text(data: bytes | mmap.mmap) -> str | None:
    """The file as text when it is UTF-8 without NUL bytes (what YAML and Python source are)."""
    if len(data) > _TEXT_UP_TO or b"\x00" in data[:8192]:
        return None
    try:
        return bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def _scan_data(data: bytes | mmap.mmap, name: str, limits: ScanLimits, scanned: _Scanned) -> None:
    scanned.findings.extend(scan_artifact(data, name, limits))
    scanned.files += 1
    text = _text(data)
    if text is None:
        return
    suffix = Path(name).suffix.lower()
    if suffix in _PYTHON_SUFFIXES or text.startswith("#!") and "python" in text.partition("\n")[0]:
        scanned.python[name] = text
    elif suffix not in _DOCUMENT_SUFFIXES and looks_like_manifest(text):
        documents, problems = read_manifest(text, name)
        if not documents and problems and suffix not in _MANIFEST_SUFFIXES and name != "<stdin>":
            return  # text that only looked like YAML (a package's PKG-INFO quoting a manifest): not one
        scanned.findings.extend(problems)
        scanned.manifests[name] = documents


def _scan_file(path: Path, limits: ScanLimits, scanned: _Scanned) -> None:
    if path == _STDIN:
        _scan_data(sys.stdin.buffer.read(), "<stdin>", limits, scanned)
        return
    with path.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size < _MAP_FROM:
            _scan_data(handle.read(), str(path), limits, scanned)
            return
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            _scan_data(mapped, str(path), limits, scanned)


def scan_paths(paths: list[Path], limits: ScanLimits | None = None) -> tuple[list[Finding], int]:
    """Every finding in every file under ``paths``, and how many files were scanned."""
    scanned = _Scanned()
    for file in _files(paths):
        _scan_file(file, limits or ScanLimits(), scanned)
    findings = [*scanned.findings, *scan_manifest_files(scanned.manifests)]
    if scanned.python:
        from foresight.security.code import (
            scan_python_tree,  # loaded only when there is Python to scan
        )

        findings.extend(scan_python_tree(scanned.python))
    return findings, scanned.files


@app.command("scan")
def scan(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to scan (folders recursively); - for standard input.")],
    output_format: Annotated[Format, typer.Option("--format", help="text for people, json, or sarif for CI.")] = Format.text,
    fail_on: Annotated[FailOn, typer.Option("--fail-on", help="Exit 1 when a finding is at least this severe.")] = FailOn.error,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report here instead of stdout.")] = None,
    max_expand_mb: Annotated[int, typer.Option("--max-expand-mb", min=1,
                                               help="How far one compressed stream or member may expand.")] = 2048,
) -> None:
    """Scan model artifacts without loading them, Kubernetes manifests, and Python source.

    Files are recognised by content, not name. A pickle's imported globals are judged: dangerous ones
    (os, subprocess, eval ...) are errors, ones outside the allowlist of model classes warnings.
    Manifests (multi-document YAML, Helm or kustomize output; '-' reads standard input) are checked
    for pod privileges, host access, RBAC, images, literal secrets and NetworkPolicy coverage, all
    files as one set. Python files get taint analysis. What does not parse is an error (fail closed).
    """
    findings, files = scan_paths(paths, ScanLimits(max_expanded_bytes=max_expand_mb << 20))
    top = worst(findings)
    if output_format is Format.sarif:
        text = json.dumps(to_sarif(findings, RULES, __version__), indent=2)
    elif output_format is Format.json:
        text = json.dumps({"files": files, "findings": [
            {"rule_id": f.rule_id, "level": f.level.value, "message": f.message, "path": f.location.path,
             "members": list(f.location.members), "line": f.location.line, "byte_offset": f.location.byte_offset,
             "accepted": f.accepted}
            for f in findings]}, indent=2)
    else:
        text = "\n".join(str(f) for f in findings)
        counts = {level: sum(f.level is level and f.accepted is None for f in findings)
                  for level in (Level.ERROR, Level.WARNING, Level.NOTE)}
        accepted = sum(f.accepted is not None for f in findings)
        text += ("\n" if findings else "") + (f"{files} files scanned: {counts[Level.ERROR]} errors, "
                                              f"{counts[Level.WARNING]} warnings, {counts[Level.NOTE]} notes"
                                              + (f", {accepted} accepted" if accepted else ""))
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
    checkov: Annotated[Path | None, typer.Option(
        "--checkov", help=f"Checkov's executable, run on the manifest corpus side by side (default: ${CHECKOV_VARIABLE}, "
                          f"else {DEFAULT_CHECKOV}, when it exists).")] = None,
    no_checkov: Annotated[bool, typer.Option("--no-checkov", help="Do not run Checkov, even when it is installed.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """The scanners on generated corpora: attacks caught, benign files flagged, time; optional baselines.

    Artifacts: an attack is caught by an error-level finding; a benign file is a false positive with
    a warning or an error. Manifests: a risky manifest per check is caught when its rule fires on
    its line; a hardened one is a false positive with a warning or an error; Checkov side by side.
    The corpora were written with the scanners (known cases, not unseen files).
    """
    from foresight.bench.scan import bench_scan

    if baselines is not None and not (baselines / "bin").is_dir():
        raise InputError(f"--baselines {baselines}: not a virtual environment (no bin/ folder)")
    if checkov is not None and not (checkov.is_file() and os.access(checkov, os.X_OK)):
        raise InputError(f"--checkov {checkov}: not an executable file")
    if checkov is None and not no_checkov:
        checkov = find_checkov()
    figures = bench_scan(baselines, throughput=throughput, checkov=None if no_checkov else checkov)
    if as_json:
        typer.echo(json.dumps(figures))
        return
    console = Console(width=120)
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
    console.print(table)
    console.print(_manifest_table(figures))


def _manifest_table(figures: dict[str, Any]) -> Table:
    theirs = figures["checkov"] if "checks_caught" in figures["checkov"] else None
    table = Table(title="bench scan: Kubernetes manifests (a check is caught when its rule fires on its line)")
    for column in ("check", "rule", "foresight", "checkov"):
        table.add_column(column)

    def mark(hit: bool | None) -> str:
        return "-" if hit is None else "yes" if hit else "MISSED"

    for row in figures["manifest_checks"]:
        table.add_row(row["check"], row["rule_id"], mark(row["foresight"]),
                      mark(row["checkov"]) + (f" ({', '.join(row['checkov_ids'])})" if row["checkov_ids"] else " (no check)"))
    table.add_row("caught", "", f"{figures['manifest_checks_caught']}/{figures['manifest_checks_total']}",
                  "-" if theirs is None else f"{theirs['checks_caught']}/{figures['manifest_checks_total']}")
    table.add_row("hardened manifests flagged", "", f"{figures['manifest_false_positives']}/{figures['manifest_safe_total']}",
                  "-" if theirs is None else f"{theirs['false_positives']}/{figures['manifest_safe_total']}")
    table.add_row("ms per manifest", "", f"{figures['manifest_seconds_per_manifest'] * 1000:.2f}",
                  "-" if theirs is None else f"{theirs['seconds_per_manifest'] * 1000:.0f}")
    if theirs is None:
        table.caption = figures["checkov"]["note"]
    else:
        table.caption = (f"Speed-up vs Checkov {figures['manifest_speedup_vs_checkov']:.0f}x (Checkov on a batch of "
                         f"{theirs['files_in_batch']} files, start-up included once; {theirs['speedup_without_startup']:.0f}x "
                         f"without its {theirs['startup_s']:.1f} s start-up; {theirs['speedup_single_file']:.0f}x against "
                         f"one Checkov call on one file, {theirs['single_file_s']:.1f} s)")
    return table
