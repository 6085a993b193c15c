"""Python 3.12+ syntax on Python 3.11: rewritten with its line numbers kept, or skipped with a note."""

from __future__ import annotations

import ast
import textwrap

from foresight.security.code import scan_python_source
from foresight.security.code.parsing import parse_tolerant


def _scan(source: str) -> list[tuple[str, int | None]]:
    return [(f.rule_id, f.location.line) for f in scan_python_source(textwrap.dedent(source).lstrip("\n"), "new.py")]


def test_pep695_aliases_and_type_parameters_are_rewritten() -> None:
    source = """
    import os, sys
    type Pair[T] = tuple[T, T]
    type Command = str
    def first[T: (int, str)](items: list[T]) -> T:
        return items[0]
    class Box[T]:
        def __init__(self, value: T) -> None:
            self.value = value
    os.system(first([sys.argv[1]]))
    """
    assert _scan(source) == [("FSC002", 9)]
    parsed = parse_tolerant(textwrap.dedent(source).lstrip("\n"))
    assert parsed.skipped == () and parsed.rewritten == (2, 3, 4, 6)


def test_pep701_fstrings_keep_their_data_flow() -> None:
    source = """
    import os, sys
    args = {"cmd": sys.argv[1]}
    os.system(f"ls {args["cmd"]}")
    os.system(f"{'-'.join([f"{x!r}" for x in "ab"])}")
    """
    assert _scan(source) == [("FSC002", 3)]


def test_an_unparsable_statement_is_a_note_and_the_rest_is_analysed() -> None:
    source = """
    import os, sys
    x = (1,
         2 +* 3)
    os.system(sys.argv[1])
    def broken(:
        pass
    """
    assert _scan(source) == [("FSC015", 2), ("FSC015", 5), ("FSC002", 4)]


def test_a_line_that_cannot_be_fixed_is_replaced_and_reported() -> None:
    parsed = parse_tolerant("import os\nif x ==:\n    os.system('ls')\nprint(1 +)\ny = 2\n")
    assert [line for line, _ in parsed.skipped] == [2, 4]
    assert [type(node).__name__ for node in parsed.module.body] == ["Import", "If", "Pass", "Assign"]
    assert ast.unparse(parsed.module.body[1].test) == "True"


def test_line_numbers_survive_rewriting() -> None:
    parsed = parse_tolerant("type A = int\n\n\ndef f[T](x):\n    return x\n")
    assert [(type(n).__name__, n.lineno) for n in parsed.module.body] == [("Assign", 1), ("FunctionDef", 4)]


def test_empty_and_binary_looking_sources() -> None:
    assert scan_python_source("", "empty.py") == []
    assert all(f.rule_id == "FSC015" for f in scan_python_source("\x00\x01 not python", "bin.py"))
    assert scan_python_source("\ufeffimport os\n", "bom.py") == []
