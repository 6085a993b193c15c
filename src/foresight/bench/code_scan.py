"""``foresight bench scan-code``: the Python code scanner on labelled programs, per CWE category.

A case counts as detected when the scan of its program has a finding whose rule carries the case's
CWE (any line, any level). Per category: true-positive rate on its vulnerable programs, false-positive
rate on its safe ones, score = TPR - FPR; the overall score is the mean over categories x 100 (the
scoring of OWASP-style benchmarks). Two corpora are scored apart: the development corpus
(:mod:`foresight.bench.code_corpus_dev`, written with the scanner, so its figures are optimistic) and,
when it exists, the held-out corpus (``foresight.bench.code_corpus_heldout``, written by someone who
did not see the scanner, never used to tune it).
"""

from __future__ import annotations

import importlib
import statistics
import time
from collections.abc import Iterable
from typing import Any

from foresight.bench.code_cases import CATEGORIES, CodeCase
from foresight.security import RULES
from foresight.security.code import scan_python_source

__all__ = ["HELDOUT_MODULE", "bench_code_scan", "score_cases"]

HELDOUT_MODULE = "foresight.bench.code_corpus_heldout"


def _detected(case: CodeCase) -> tuple[bool, float]:
    start = time.perf_counter()
    findings = scan_python_source(case.source, f"{case.name}.py")
    seconds = time.perf_counter() - start
    cwes = {RULES[f.rule_id].cwe for f in findings if f.rule_id in RULES.rules}
    return case.cwe in cwes, seconds


def score_cases(cases: Iterable[CodeCase], *, name_cases: bool = True) -> dict[str, Any]:
    """Per-category confusion counts, rates and score, the mean score x 100, and scan time per file.

    ``name_cases``: list the names of missed and falsely flagged programs (off for the held-out corpus,
    whose programs the scanner's authors must not learn from).
    """
    counts = {c: {"tp": 0, "fn": 0, "fp": 0, "tn": 0} for c in CATEGORIES}
    missed: list[str] = []
    flagged: list[str] = []
    times: list[float] = []
    for case in cases:
        detected, seconds = _detected(case)
        times.append(seconds)
        row = counts[case.category]
        if case.vulnerable:
            row["tp" if detected else "fn"] += 1
            if not detected:
                missed.append(case.name)
        else:
            row["fp" if detected else "tn"] += 1
            if detected:
                flagged.append(case.name)
    categories: dict[str, dict[str, Any]] = {}
    for category, row in counts.items():
        positives, negatives = row["tp"] + row["fn"], row["fp"] + row["tn"]
        if positives == 0 and negatives == 0:
            continue
        tpr = row["tp"] / positives if positives else None
        fpr = row["fp"] / negatives if negatives else None
        score = (tpr or 0.0) - (fpr or 0.0) if positives and negatives else None
        categories[category] = {**row, "tpr": tpr, "fpr": fpr, "score": score, "cwe": CATEGORIES[category]}
    scored = [c["score"] for c in categories.values() if c["score"] is not None]
    return {
        "score": 100 * statistics.fmean(scored) if scored else None,
        "categories_above_zero": sum(s > 0 for s in scored),
        "categories_scored": len(scored),
        "cases": len(times),
        "categories": categories,
        **({"missed": missed, "false_positives": flagged} if name_cases else {}),
        "ms_per_file_mean": 1000 * statistics.fmean(times) if times else None,
        "ms_per_file_max": 1000 * max(times) if times else None,
    }


def bench_code_scan() -> dict[str, Any]:
    """The figures of both corpora; ``heldout`` is None with a note when its module is not there."""
    from foresight.bench.code_corpus_dev import PROGRAMS as DEV

    figures: dict[str, Any] = {"dev": score_cases(DEV), "heldout": None,
                               "note": "dev: written with the scanner (optimistic); heldout: written apart, "
                                       "never used for tuning"}
    try:
        heldout = importlib.import_module(HELDOUT_MODULE)
    except ModuleNotFoundError as error:
        if error.name != HELDOUT_MODULE:
            raise
        figures["note"] += f"; {HELDOUT_MODULE} not present, held-out figures not computed"
        return figures
    figures["heldout"] = score_cases(heldout.PROGRAMS, name_cases=False)
    return figures
