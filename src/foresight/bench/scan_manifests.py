"""``foresight bench scan``, manifest half: each check caught or not, false positives, time; Checkov beside it.

A risky case (:mod:`foresight.bench.manifest_corpus`) is caught by Foresight when its rule fires on
its expected line; by Checkov when one of the case's Checkov check ids fails on its file (a case
whose check Checkov does not have is a miss). A hardened manifest is a false positive when a
warning or an error fires on it (any failed check for Checkov).

Time per manifest: Foresight reads and scans every file of the corpus from disk (best of five
rounds, divided by the number of files). Checkov 3.3 runs as its own command-line tool, once on
the whole corpus folder (``-d``; its per-file time is that run's wall time over the number of files,
start-up included once), once on an empty folder (its start-up alone, to give the per-file time
without it), and once on one hardened file (``-f``: what one CI call on one manifest costs).
``manifest_speedup_vs_checkov`` is the batch figure, start-up included; the others sit beside it.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from foresight.bench.manifest_corpus import ManifestCase, cases, safe_manifests
from foresight.errors import InputError
from foresight.security import Level, scan_manifests

__all__ = ["CHECKOV_VARIABLE", "DEFAULT_CHECKOV", "bench_manifests", "find_checkov"]

#: where this project's machines keep Checkov 3.3 (its own virtual environment)
DEFAULT_CHECKOV = Path("/tmp/checkov-venv/bin/checkov")
#: where CI says its Checkov is (``.ci/run`` installs one)
CHECKOV_VARIABLE = "FORESIGHT_CHECKOV_BIN"


def find_checkov() -> Path | None:
    """The Checkov executable to compare with: ``$FORESIGHT_CHECKOV_BIN``, else :data:`DEFAULT_CHECKOV`,
    whichever is a file first; None when neither is."""
    for candidate in (os.environ.get(CHECKOV_VARIABLE), DEFAULT_CHECKOV):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None
_CHECKOV_TIMEOUT_S = 600


def _write(folder: Path, risky: list[ManifestCase], safe: dict[str, str]) -> list[Path]:
    paths = []
    for case in risky:
        paths.append(folder / f"risky-{case.name}.yaml")
        paths[-1].write_text(case.text, encoding="utf-8")
    for name, text in safe.items():
        paths.append(folder / f"safe-{name}.yaml")
        paths[-1].write_text(text, encoding="utf-8")
    return paths


def _ours(paths: list[Path], risky: list[ManifestCase]) -> tuple[dict[str, Any], float]:
    def scan_all() -> dict[str, list[Any]]:
        return {path.name: scan_manifests(path.read_text(encoding="utf-8"), path.name) for path in paths}

    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        found = scan_all()
        best = min(best, time.perf_counter() - start)
    caught = {case.name: any(f.rule_id == case.rule_id and f.location.line == case.line
                             for f in found[f"risky-{case.name}.yaml"]) for case in risky}
    flagged = {name.removeprefix("safe-").removesuffix(".yaml"): sorted({f.rule_id for f in findings if f.level.rank >= Level.WARNING.rank})
               for name, findings in found.items() if name.startswith("safe-")}
    return {"caught": caught, "flagged": flagged}, best / len(paths)


def _checkov_run(checkov: Path, args: list[str]) -> tuple[dict[str, set[str]], float]:
    """Failed check ids by file name, and the run's wall time."""
    start = time.perf_counter()
    try:
        done = subprocess.run([str(checkov), *args, "--framework", "kubernetes", "-o", "json", "--quiet", "--skip-download"],
                              capture_output=True, text=True, timeout=_CHECKOV_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InputError(f"--checkov {checkov}: does not run ({exc})") from exc
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise InputError(f"--checkov {checkov}: exited {done.returncode}: {done.stderr.strip()[-300:]}")
    failed: dict[str, set[str]] = {}
    text = done.stdout.strip()
    try:
        reports = json.loads(text) if text.startswith(("{", "[")) else []
    except ValueError as exc:
        raise InputError(f"--checkov {checkov}: its JSON report does not parse ({exc})") from exc
    for report in reports if isinstance(reports, list) else [reports]:
        for check in report.get("results", {}).get("failed_checks", []):
            failed.setdefault(Path(check["file_path"]).name, set()).add(check["check_id"])
    return failed, seconds


def _checkov(checkov: Path, folder: Path, paths: list[Path], risky: list[ManifestCase]) -> dict[str, Any]:
    failed, batch_s = _checkov_run(checkov, ["-d", str(folder)])
    with tempfile.TemporaryDirectory(prefix="foresight-bench-empty-") as empty:
        _, startup_s = _checkov_run(checkov, ["-d", empty])
    _, single_s = _checkov_run(checkov, ["-f", str(folder / "safe-hardened-deployment.yaml")])
    caught = {case.name: bool(case.checkov_ids & failed.get(f"risky-{case.name}.yaml", set())) for case in risky}
    flagged = {path.name.removeprefix("safe-").removesuffix(".yaml"): sorted(failed.get(path.name, set()))
               for path in paths if path.name.startswith("safe-")}
    return {
        "caught": caught, "flagged": flagged,
        "failed_by_case": {case.name: sorted(failed.get(f"risky-{case.name}.yaml", set())) for case in risky},
        "batch_s": batch_s, "startup_s": startup_s, "single_file_s": single_s,
        "seconds_per_manifest": batch_s / len(paths),
        "seconds_per_manifest_without_startup": max(batch_s - startup_s, 0.0) / len(paths),
    }


def bench_manifests(checkov: Path | None) -> dict[str, Any]:
    """The manifest figures; Checkov's beside them when ``checkov`` (its executable) is given."""
    risky, safe = cases(), safe_manifests()
    with tempfile.TemporaryDirectory(prefix="foresight-bench-manifests-") as temp:
        folder = Path(temp)
        paths = _write(folder, risky, safe)
        ours, per_manifest_s = _ours(paths, risky)
        theirs = _checkov(checkov, folder, paths, risky) if checkov is not None else None
    checks = [{"case": case.name, "check": case.check, "rule_id": case.rule_id, "line": case.line,
               "foresight": ours["caught"][case.name],
               "checkov_ids": sorted(case.checkov_ids),
               "checkov": None if theirs is None else theirs["caught"][case.name],
               **({} if theirs is None else {"checkov_failed": theirs["failed_by_case"][case.name]})}
              for case in risky]
    figures: dict[str, Any] = {
        "manifest_checks_total": len(risky),
        "manifest_checks_caught": sum(ours["caught"].values()),
        "manifest_checks_missed": [name for name, hit in ours["caught"].items() if not hit],
        "manifest_safe_total": len(safe),
        "manifest_false_positives": sum(bool(rules) for rules in ours["flagged"].values()),
        "manifest_flagged_safe": {name: rules for name, rules in ours["flagged"].items() if rules},
        "manifest_seconds_per_manifest": per_manifest_s,
        "manifest_checks": checks,
    }
    if theirs is None:
        figures["manifest_speedup_vs_checkov"] = None
        figures["checkov"] = {"note": "Checkov not run (give --checkov PATH; it runs by default when installed at the default path)"}
        return figures
    figures["manifest_speedup_vs_checkov"] = theirs["seconds_per_manifest"] / per_manifest_s
    figures["checkov"] = {
        "checks_caught": sum(theirs["caught"].values()),
        "checks_missed": [name for name, hit in theirs["caught"].items() if not hit],
        "false_positives": sum(bool(ids) for ids in theirs["flagged"].values()),
        "flagged_safe": {name: ids for name, ids in theirs["flagged"].items() if ids},
        "seconds_per_manifest": theirs["seconds_per_manifest"],
        "startup_included": True,
        "seconds_per_manifest_without_startup": theirs["seconds_per_manifest_without_startup"],
        "startup_s": theirs["startup_s"],
        "single_file_s": theirs["single_file_s"],
        "files_in_batch": len(paths),
        "speedup_without_startup": theirs["seconds_per_manifest_without_startup"] / per_manifest_s,
        "speedup_single_file": theirs["single_file_s"] / per_manifest_s,
    }
    return figures
