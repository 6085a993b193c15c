"""``foresight bench scan``, manifest half: every check caught on its line, hardened manifests clean, Checkov side by side."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from foresight.bench.manifest_corpus import cases, safe_manifests
from foresight.bench.scan_manifests import CHECKOV_VARIABLE, DEFAULT_CHECKOV, bench_manifests, find_checkov

CHECKOV = find_checkov()


def test_every_check_is_caught_and_no_hardened_manifest_is_flagged() -> None:
    figures = bench_manifests(None)
    assert figures["manifest_checks_total"] == len(cases()) and figures["manifest_checks_missed"] == []
    assert figures["manifest_checks_caught"] == figures["manifest_checks_total"]
    assert figures["manifest_safe_total"] == len(safe_manifests()) and figures["manifest_false_positives"] == 0
    assert figures["manifest_seconds_per_manifest"] > 0
    assert figures["manifest_speedup_vs_checkov"] is None and "not run" in figures["checkov"]["note"]
    assert all(row["checkov"] is None for row in figures["manifest_checks"])


def test_cases_are_distinct_and_cover_every_rule_but_the_template_note() -> None:
    names = [case.name for case in cases()]
    assert len(names) == len(set(names))
    assert len({case.rule_id for case in cases()}) == 32


@pytest.mark.integration
def test_side_by_side_with_checkov(require_service: Callable[[bool, str], None]) -> None:
    """Needs Checkov 3.3 (``$FORESIGHT_CHECKOV_BIN``, or the default path); skips without it (fails in CI)."""
    require_service(CHECKOV is not None, f"Checkov is not installed (${CHECKOV_VARIABLE}, {DEFAULT_CHECKOV})")
    assert CHECKOV is not None
    figures = bench_manifests(CHECKOV)
    theirs = figures["checkov"]
    rows = {row["case"]: row for row in figures["manifest_checks"]}
    assert rows["privileged"]["checkov"] is True  # Checkov's reading of the corpus works
    assert rows["host-path-root"]["checkov"] is False  # it has no check for a hostPath on /
    assert 0 < theirs["checks_caught"] < figures["manifest_checks_total"]
    assert theirs["startup_included"] and theirs["files_in_batch"] == len(cases()) + len(safe_manifests())
    assert figures["manifest_speedup_vs_checkov"] == pytest.approx(
        theirs["seconds_per_manifest"] / figures["manifest_seconds_per_manifest"])
