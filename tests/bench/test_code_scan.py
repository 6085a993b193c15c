"""``foresight bench scan-code``: the scoring arithmetic, the corpora's shape, and the CLI's JSON keys."""

from __future__ import annotations

import json
from collections import Counter

from typer.testing import CliRunner

from foresight.bench.code_cases import CATEGORIES, CodeCase
from foresight.bench.code_corpus_dev import PROGRAMS
from foresight.bench.code_scan import score_cases
from foresight.cli import cli

VULNERABLE_SQL = ("import sqlite3\nfrom flask import request\n"
                  "sqlite3.connect('d').execute(\"SELECT * FROM t WHERE a = '%s'\" % request.args['a'])\n")
SAFE_SQL = "import sqlite3\nsqlite3.connect('d').execute('SELECT 1')\n"
WEAK_HASH = "import hashlib\nhashlib.md5(b'x')\n"


def test_score_is_tpr_minus_fpr_averaged() -> None:
    cases = [
        CodeCase("sql_hit", "sqli", True, VULNERABLE_SQL),
        CodeCase("sql_miss", "sqli", True, SAFE_SQL),  # labelled vulnerable, nothing found: a miss
        CodeCase("sql_clean", "sqli", False, SAFE_SQL),
        CodeCase("hash_hit", "hash", True, WEAK_HASH),
        CodeCase("hash_false_alarm", "hash", False, WEAK_HASH),
        CodeCase("hash_wrong_cwe", "hash", False, VULNERABLE_SQL),  # an SQL finding is no hash finding
    ]
    figures = score_cases(cases)
    sqli, hashes = figures["categories"]["sqli"], figures["categories"]["hash"]
    assert (sqli["tp"], sqli["fn"], sqli["fp"], sqli["tn"]) == (1, 1, 0, 1)
    assert (sqli["tpr"], sqli["fpr"], sqli["score"]) == (0.5, 0.0, 0.5)
    assert (hashes["tpr"], hashes["fpr"], hashes["score"]) == (1.0, 0.5, 0.5)
    assert figures["score"] == 50.0 and figures["categories_scored"] == 2 and figures["categories_above_zero"] == 2
    assert figures["missed"] == ["sql_miss"] and figures["false_positives"] == ["hash_false_alarm"]
    assert "missed" not in score_cases(cases, name_cases=False)


def test_dev_corpus_covers_every_category_with_both_labels() -> None:
    counts = Counter((case.category, case.vulnerable) for case in PROGRAMS)
    for category in CATEGORIES:
        assert counts[(category, True)] >= 8 and counts[(category, False)] >= 8, category
    assert len({case.name for case in PROGRAMS}) == len(PROGRAMS)


def test_bench_scan_code_json() -> None:
    result = CliRunner().invoke(cli, ["bench", "scan-code", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    dev = figures["dev"]
    assert dev["cases"] == len(PROGRAMS) and set(dev["categories"]) == set(CATEGORIES)
    assert dev["score"] >= 90 and dev["categories_above_zero"] == 14  # the corpus it was written with
    assert dev["ms_per_file_mean"] > 0
    if figures["heldout"] is not None:
        assert "missed" not in figures["heldout"] and "false_positives" not in figures["heldout"]
        assert set(figures["heldout"]["categories"]) <= set(CATEGORIES)
    else:
        assert "not present" in figures["note"]


def test_bench_scan_code_table() -> None:
    result = CliRunner().invoke(cli, ["bench", "scan-code"])
    assert result.exit_code == 0, result.output
    for category, cwe in CATEGORIES.items():
        assert f"{category} ({cwe})" in result.output
    assert "score (mean x 100)" in result.output and "ms per file" in result.output
