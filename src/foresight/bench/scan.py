"""``foresight bench scan``: the artifact scanner on its labelled corpus, and its throughput; the
manifest scanner beside Checkov (:mod:`foresight.bench.scan_manifests`).

Detection: an attack counts as caught when the scan has an error-level finding; a benign file is a
false positive when it gets a warning or an error (the CLI's ``--fail-on warning``). The corpus
(:mod:`foresight.bench.scan_corpus`) was written alongside the scanner, so these are figures on
known classes of attack, not on unseen files: the allow- and denylists were shaped by them.

Throughput: a 200 MB single-array ``.npy``, the same array pickled (protocol 5) and stored in a
PyTorch-style zip, and a pickle of about one million opcodes, scanned from memory on one core (best
of three).

Baselines (picklescan, modelscan) run as their own command-line tools from a separate virtual
environment given with ``baselines_venv``, one process per corpus file written to a temporary
folder; a file counts as caught when the tool exits with its "issues found" status (1 for both); other
non-zero statuses (scan errors) are listed apart, not counted as detections.
"""

from __future__ import annotations

import io
import pickle
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from foresight.bench.scan_corpus import Artifact, corpus, torch_zip_with
from foresight.bench.scan_manifests import bench_manifests
from foresight.security import Level, scan_artifact
from foresight.security.pickle_walk import walk_pickle

__all__ = ["bench_scan"]

_KINDS = ("classic", "evasion", "format")


def _best(run: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def _throughput() -> dict[str, Any]:
    array = np.random.default_rng(0).random(25_000_000)  # 200 MB of float64
    buffer = io.BytesIO()
    np.save(buffer, array)
    npy = buffer.getvalue()
    pickled = pickle.dumps(array, protocol=5)
    checkpoint = torch_zip_with(array.tobytes())
    del array, buffer
    many = pickle.dumps([(f"k{i}", i * 0.5, i) for i in range(170_000)], protocol=4)
    opcodes = walk_pickle(many).opcodes
    figures = {
        "npy_200mb_s": _best(lambda: scan_artifact(npy, "a.npy")),
        "pickle_200mb_s": _best(lambda: scan_artifact(pickled, "a.pkl")),
        "torch_zip_200mb_s": _best(lambda: scan_artifact(checkpoint, "a.pt")),
        "pickle_opcodes": opcodes,
        "pickle_opcodes_s": _best(lambda: scan_artifact(many, "m.pkl")),
    }
    figures["pickle_1m_opcodes_s"] = figures["pickle_opcodes_s"] * 1_000_000 / opcodes
    # what this machine takes for a million turns of an empty Python loop: on a shared, loaded machine
    # every figure above slows down with it, so the ratio is the comparable number
    figures["empty_loop_1m_s"] = _best(lambda: sum(1 for _ in range(1_000_000)))
    figures["targets"] = {"npy_200mb_s": 0.3, "pickle_1m_opcodes_s": 1.1}
    return figures


def _ours(artifacts: list[Artifact]) -> tuple[dict[str, bool], float]:
    flagged: dict[str, bool] = {}
    start = time.perf_counter()
    for artifact in artifacts:
        findings = scan_artifact(artifact.data, artifact.name)
        threshold = Level.ERROR if artifact.kind != "benign" else Level.WARNING
        flagged[artifact.name] = any(f.level.rank >= threshold.rank for f in findings)
    return flagged, time.perf_counter() - start


def _tool(command: list[str], artifacts: list[Artifact], issues_status: int) -> tuple[dict[str, bool], float, dict[str, int]]:
    """Run a baseline's CLI on each artifact written to a temporary folder; also every other non-zero status."""
    flagged: dict[str, bool] = {}
    other: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="foresight-bench-scan-") as folder:
        elapsed = 0.0
        for artifact in artifacts:
            path = Path(folder) / artifact.name
            path.write_bytes(artifact.data)
            start = time.perf_counter()
            done = subprocess.run([*command, str(path)], capture_output=True, timeout=120, check=False)
            elapsed += time.perf_counter() - start
            flagged[artifact.name] = done.returncode == issues_status
            if done.returncode not in (0, issues_status):
                other[artifact.name] = done.returncode
    return flagged, elapsed, other


def _figures(flagged: dict[str, bool], seconds: float, artifacts: list[Artifact]) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for kind in _KINDS:
        names = [a.name for a in artifacts if a.kind == kind]
        figures[f"{kind}_caught"] = sum(flagged[n] for n in names)
        figures[f"{kind}_total"] = len(names)
        figures[f"{kind}_missed"] = [n for n in names if not flagged[n]]
    benign = [a.name for a in artifacts if a.kind == "benign"]
    figures["benign_total"] = len(benign)
    figures["benign_false_positives"] = sum(flagged[n] for n in benign)
    figures["benign_flagged"] = [n for n in benign if flagged[n]]
    figures["seconds"] = round(seconds, 4)
    return figures


def bench_scan(baselines_venv: Path | None = None, throughput: bool = True, checkov: Path | None = None,
               manifests: bool = True) -> dict[str, Any]:
    """Figures for Foresight's scanners (top level) and, with ``baselines_venv``, for picklescan and
    modelscan; the manifest figures (:mod:`foresight.bench.scan_manifests`) with Checkov's when
    ``checkov`` is given."""
    artifacts = corpus()
    figures = _figures(*_ours(artifacts), artifacts)
    if manifests:
        figures.update(bench_manifests(checkov))
    baselines: dict[str, Any] = {}
    if baselines_venv is not None:
        bin_dir = baselines_venv / "bin"
        for name, command in (("picklescan", ["picklescan", "--path"]), ("picklescan_strict", ["picklescan", "--strict", "--path"]),
                              ("modelscan", ["modelscan", "scan", "--path"])):
            program = bin_dir / command[0]
            if not program.exists():
                baselines[name] = {"note": f"{program} is not installed"}
                continue
            flagged, seconds, other = _tool([str(program), *command[1:]], artifacts, issues_status=1)
            baselines[name] = {**_figures(flagged, seconds, artifacts), "other_exit_status": other}
    else:
        baselines["note"] = "not run: give --baselines VENV (a virtual environment with picklescan and modelscan)"
    figures["baselines"] = baselines
    if throughput:
        figures["throughput"] = _throughput()
    return figures
