"""The held-out code corpus: well-formed, balanced, and free of anything but the shared case type."""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

import pytest

from foresight.bench import code_corpus_heldout
from foresight.bench.code_cases import CATEGORIES, CodeCase
from foresight.bench.code_corpus_heldout import PROGRAMS

NAME = re.compile(r"(?P<category>[a-z]+)-(?P<label>vuln|safe)-(?P<n>\d{2})")


@pytest.mark.parametrize("case", PROGRAMS, ids=lambda case: case.name)
def test_every_program_is_python_311_of_a_realistic_size(case: CodeCase) -> None:
    tree = ast.parse(case.source, filename=case.name, feature_version=(3, 11))
    assert 15 <= len(case.source.splitlines()) <= 60
    assert any(isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) for node in ast.walk(tree))


def test_each_category_has_ten_vulnerable_programs_and_ten_safe_ones() -> None:
    counts = Counter((case.category, case.vulnerable) for case in PROGRAMS)
    assert counts == {(category, vulnerable): 10 for category in CATEGORIES for vulnerable in (True, False)}
    assert len(PROGRAMS) == 280


def test_names_are_unique_and_say_category_label_and_number() -> None:
    assert len({case.name for case in PROGRAMS}) == len(PROGRAMS)
    for case in PROGRAMS:
        match = NAME.fullmatch(case.name)
        assert match is not None, case.name
        assert match["category"] == case.category
        assert (match["label"] == "vuln") == case.vulnerable
    numbers = Counter((case.category, case.vulnerable, case.name[-2:]) for case in PROGRAMS)
    assert {n for (_c, _v, n) in numbers} == {f"{n:02d}" for n in range(1, 11)}


def test_programs_are_web_views_of_the_three_frameworks() -> None:
    def framework(source: str) -> str:
        frameworks = ("flask", "fastapi", "django")
        return next(name for name in frameworks if re.search(rf"^(from|import) {name}\b", source, re.M))

    frameworks = Counter(framework(case.source) for case in PROGRAMS)
    assert set(frameworks) == {"flask", "fastapi", "django"}
    assert min(frameworks.values()) >= 60


def test_safe_twins_are_not_copies_of_their_vulnerable_programs() -> None:
    by_name = {case.name: case.source for case in PROGRAMS}
    for case in PROGRAMS:
        if case.vulnerable:
            assert by_name[case.name.replace("-vuln-", "-safe-")] != case.source


def test_the_module_imports_nothing_but_the_case_type() -> None:
    tree = ast.parse(Path(code_corpus_heldout.__file__).read_text(encoding="utf-8"))
    assert not [node for node in tree.body if isinstance(node, ast.Import)]
    imports = [node for node in tree.body if isinstance(node, ast.ImportFrom)]
    imported = {(node.module, alias.name) for node in imports for alias in node.names}
    assert imported == {("__future__", "annotations"), ("foresight.bench.code_cases", "CodeCase")}
    assert all(type(case) is CodeCase for case in PROGRAMS)
