"""Parse Python source of any recent version with the running interpreter's ``ast`` (3.11), tolerantly.

Foresight runs on Python 3.11, whose parser rejects syntax added later. When ``ast.parse`` fails,
the source is repaired line by line, keeping every line number, and parsed again:

1. PEP 695 constructs are rewritten to their 3.11 equivalents on their own line: ``type X[T] = e``
   becomes ``X = e``; the type-parameter list of ``def f[T](...)`` and ``class C[T](...)`` is dropped
   (the scanner does not read type parameters).
2. PEP 701 f-strings on the failing line (quotes of the outer kind or backslashes inside a
   replacement field) are rewritten as a concatenation ``("text" + str(expr) + ...)``, which carries
   the same data flow; an f-string spanning lines is not rewritten (step 3 applies).
3. A line that still fails is replaced by ``pass`` (or ``if True:`` when it opens a block) at its
   indentation, and the statement is reported as not analysed (a note-level finding), so no file is
   dropped silently and no source raises.

Each repair is one line. After :data:`WHOLE_FILE_REPAIRS` repairs of the whole file, or when a failure
is not the line's own (an unclosed bracket above it), the file is parsed one top-level statement at a
time (a statement starts at column 0), each repaired the same way (at most :data:`MAX_REPAIRS`
lines); a statement that still fails is skipped with a note naming its lines.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

__all__ = ["MAX_REPAIRS", "WHOLE_FILE_REPAIRS", "Parsed", "parse_tolerant"]

MAX_REPAIRS = 200
#: repairs tried on the whole file (each re-parses all of it) before parsing statement by statement
WHOLE_FILE_REPAIRS = 20

_TYPE_ALIAS = re.compile(r"^(\s*)type\s+([A-Za-z_]\w*)\s*(\[)?")
_GENERIC_DEF = re.compile(r"^(\s*(?:async\s+)?(?:def|class)\s+[A-Za-z_]\w*)\s*\[")
_FSTRING_START = re.compile(r"(?<![\w])([rRbB]?[fF][rR]?)('''|\"\"\"|'|\")")


@dataclass(frozen=True)
class Parsed:
    """A module and the lines the parser had to give up on (line number, why)."""

    module: ast.Module
    skipped: tuple[tuple[int, str], ...]
    rewritten: tuple[int, ...]


def _matching(text: str, start: int, open_: str, close: str) -> int:
    """The index just past the bracket closing the one at ``start`` (strings inside are skipped); -1 if none."""
    depth, i, quote = 0, start, ""
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\":
                i += 1
            elif text.startswith(quote, i):
                i += len(quote) - 1
                quote = ""
        elif char in "'\"":
            quote = text[i:i + 3] if text[i:i + 3] in ("'''", '"""') else char
            i += len(quote) - 1
        elif char == open_:
            depth += 1
        elif char == close:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return -1


def _rewrite_pep695(line: str) -> str | None:
    alias = _TYPE_ALIAS.match(line)
    if alias and "=" in line:
        rest = line[alias.end():]
        if alias.group(3):
            end = _matching(line, alias.end() - 1, "[", "]")
            if end < 0:
                return None
            rest = line[end:]
        rest = rest.lstrip()
        if rest.startswith("="):
            return f"{alias.group(1)}{alias.group(2)} {rest}"
    generic = _GENERIC_DEF.match(line)
    if generic:
        end = _matching(line, generic.end() - 1, "[", "]")
        if end > 0:
            return generic.group(1) + line[end:]
    return None


def _fstring_end(line: str, start: int, quote: str) -> tuple[list[str], int] | None:
    """The parts of the f-string body starting at ``start`` as Python expressions, and the index past it."""
    parts: list[str] = []
    literal = []
    i = start
    while i < len(line):
        if line.startswith(quote, i):
            if literal:
                parts.append(repr("".join(literal)))
            return parts, i + len(quote)
        char = line[i]
        if char == "\\" and i + 1 < len(line):
            literal.append(line[i:i + 2].encode().decode("unicode_escape", errors="replace"))
            i += 2
            continue
        if line.startswith("{{", i) or line.startswith("}}", i):
            literal.append(char)
            i += 2
            continue
        if char == "{":
            if literal:
                parts.append(repr("".join(literal)))
                literal = []
            field = _field_end(line, i + 1)
            if field is None:
                return None
            expression, close = field
            parts.append(f"str({expression.rstrip().rstrip('=')})")
            i = close + 1
            continue
        literal.append(char)
        i += 1
    return None


def _field_end(line: str, start: int) -> tuple[str, int] | None:
    """The expression of a replacement field starting at ``start`` and the index of its closing brace."""
    depth, i, quote, expr_stop = 0, start, "", -1
    while i < len(line):
        char = line[i]
        if quote:
            if char == "\\":
                i += 1
            elif line.startswith(quote, i):
                i += len(quote) - 1
                quote = ""
        elif char in "'\"":
            quote = line[i:i + 3] if line[i:i + 3] in ("'''", '"""') else char
            i += len(quote) - 1
        elif char in "([{":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "}":
            if depth == 0:
                return line[start:expr_stop if expr_stop >= 0 else i], i
            depth -= 1
        elif depth == 0 and expr_stop < 0 and (char == ":" or (char == "!" and line[i + 1:i + 2] != "=")):
            expr_stop = i
        i += 1
    return None


def _rewrite_fstrings(line: str) -> str | None:
    """``line`` with each f-string made a concatenation; None when there is none or one is not on this line."""
    out, i, changed = [], 0, False
    while True:
        found = _FSTRING_START.search(line, i)
        if not found:
            break
        body = _fstring_end(line, found.end(), found.group(2))
        if body is None:
            return None
        parts, end = body
        out.append(line[i:found.start()])
        out.append("(" + (" + ".join(parts) if parts else "''") + ")")
        i, changed = end, True
    if not changed:
        return None
    out.append(line[i:])
    return "".join(out)


def _placeholder(line: str) -> str:
    """A statement that parses wherever ``line`` stood, so the lines below keep their block."""
    indent = line[:len(line) - len(line.lstrip())]
    return indent + ("if True:" if line.rstrip().endswith(":") else "pass")


_CONTINUATION = re.compile(r"^(else|elif|except|finally|case)\b|^[)\]}]")


def _chunks(lines: list[str]) -> list[tuple[int, int]]:
    """Top-level statements as (first, past-last) line indexes: a statement starts at column 0."""
    starts = [0]
    for index, line in enumerate(lines):
        if index == 0 or not line or line[0] in " \t#" or _CONTINUATION.match(line):
            continue
        if lines[starts[-1]].startswith("@") and all(
                not text or text[0] in " \t#" or text.startswith("@") for text in lines[starts[-1]:index]):
            continue  # the decorated definition belongs to its decorators
        starts.append(index)
    return list(zip(starts, [*starts[1:], len(lines)], strict=True))


def _repair(lines: list[str], offset: int, budget: int) -> tuple[ast.Module, list[tuple[int, str]], list[int]] | None:
    """Parse ``lines`` (line ``offset + 1`` onwards), repairing at most ``budget`` lines; None when that fails."""
    skipped: list[tuple[int, str]] = []
    rewritten: list[int] = []
    tried: set[tuple[int, str]] = set()
    for _ in range(budget):
        try:
            return ast.parse("\n" * offset + "\n".join(lines)), skipped, rewritten
        except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
            number = getattr(error, "lineno", None)
            if not isinstance(number, int) or not offset < number <= offset + len(lines):
                return None
            index = number - 1 - offset
            line = lines[index]
            candidates = (_rewrite_pep695(line), _rewrite_fstrings(line), _placeholder(line))
            repair = next((c for c in candidates if c is not None and c != line and (index, c) not in tried), None)
            if repair is None:
                return None  # the failure is not this line's own (an unclosed bracket above)
            tried.add((index, repair))
            if repair == candidates[2]:
                skipped.append((number, getattr(error, "msg", None) or str(error)))
            else:
                rewritten.append(number)
            lines[index] = repair
    return None


def parse_tolerant(source: str) -> Parsed:
    """The module of ``source``, with the lines that had to be rewritten or skipped to get it."""
    lines = source.removeprefix("\ufeff").split("\n")  # a UTF-8 byte-order mark is no syntax error
    whole = _repair(list(lines), 0, WHOLE_FILE_REPAIRS)
    if whole is not None:
        module, skipped, rewritten = whole
        return Parsed(module, tuple(skipped), tuple(rewritten))
    body: list[ast.stmt] = []
    all_skipped: list[tuple[int, str]] = []
    all_rewritten: list[int] = []
    for first, last in _chunks(lines):
        part = _repair(lines[first:last], first, MAX_REPAIRS)
        if part is None:
            if any(line.strip() and not line.lstrip().startswith("#") for line in lines[first:last]):
                all_skipped.append((first + 1, f"statement of lines {first + 1}-{last} does not parse"))
            continue
        module, skipped, rewritten = part
        body.extend(module.body)
        all_skipped.extend(skipped)
        all_rewritten.extend(rewritten)
    return Parsed(ast.Module(body=body, type_ignores=[]), tuple(all_skipped), tuple(all_rewritten))
