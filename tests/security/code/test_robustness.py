"""Whatever the input, the scanner returns findings: never a traceback, never a file silently dropped."""

from __future__ import annotations

import ast

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from foresight.security.code import scan_python_source
from foresight.security.findings import Finding

NAMES = st.sampled_from(["x", "y", "request", "os", "session", "d", "l", "self", "hashlib", "random", "subprocess"])
ATTRS = st.sampled_from(["args", "get", "system", "execute", "md5", "append", "pop", "format", "join", "xpath",
                         "set_cookie", "read", "run", "search_s", "loads"])
CONSTANTS = st.one_of(st.integers(-10**6, 10**6), st.text(max_size=8), st.none(), st.booleans(),
                      st.sampled_from([10**40, "md5", "..", "/", "sh", "-c"]))


def _expressions() -> st.SearchStrategy[ast.expr]:
    leaves = st.one_of(NAMES.map(lambda n: ast.Name(n, ast.Load())), CONSTANTS.map(ast.Constant))
    binops = st.sampled_from([ast.Add, ast.Sub, ast.Mult, ast.Mod, ast.Pow, ast.Div, ast.FloorDiv, ast.LShift])
    compares = st.sampled_from([ast.Eq, ast.Lt, ast.In, ast.NotIn, ast.Is, ast.Gt])

    def extend(inner: st.SearchStrategy[ast.expr]) -> st.SearchStrategy[ast.expr]:
        return st.one_of(
            st.builds(lambda a, op, b: ast.BinOp(a, op(), b), inner, binops, inner),
            st.builds(lambda a, op, b: ast.Compare(a, [op()], [b]), inner, compares, inner),
            st.builds(lambda f, args: ast.Call(f, args, []), inner, st.lists(inner, max_size=3)),
            st.builds(lambda v, a: ast.Attribute(v, a, ast.Load()), inner, ATTRS),
            st.builds(lambda v, k: ast.Subscript(v, k, ast.Load()), inner, inner),
            st.builds(lambda t, a, b: ast.IfExp(t, a, b), inner, inner, inner),
            st.builds(lambda e: ast.List(e, ast.Load()), st.lists(inner, max_size=3)),
            st.builds(lambda k, v: ast.Dict(k, v), st.lists(inner, min_size=1, max_size=2),
                      st.lists(inner, min_size=2, max_size=2)).map(
                lambda d: ast.Dict(d.keys, d.values[:len(d.keys)])),
            st.builds(lambda v: ast.JoinedStr([ast.Constant("a"), ast.FormattedValue(v, -1, None)]), inner),
            st.builds(lambda op, v: ast.UnaryOp(op(), v), st.sampled_from([ast.Not, ast.USub, ast.Invert]), inner),
            st.builds(lambda vs: ast.BoolOp(ast.And(), vs), st.lists(inner, min_size=2, max_size=3)),
        )

    return st.recursive(leaves, extend, max_leaves=8)


def _statements() -> st.SearchStrategy[list[ast.stmt]]:
    expressions = _expressions()
    simple = st.one_of(
        st.builds(lambda n, v: ast.Assign([ast.Name(n, ast.Store())], v), NAMES, expressions),
        st.builds(lambda t, k, v: ast.Assign([ast.Subscript(ast.Name(t, ast.Load()), k, ast.Store())], v),
                  NAMES, expressions, expressions),
        st.builds(lambda t, a, v: ast.Assign([ast.Attribute(ast.Name(t, ast.Load()), a, ast.Store())], v),
                  NAMES, ATTRS, expressions),
        st.builds(ast.Expr, expressions),
        st.builds(ast.Return, expressions),
        st.just(ast.Break()), st.just(ast.Pass()),
    )

    def extend(inner: st.SearchStrategy[list[ast.stmt]]) -> st.SearchStrategy[list[ast.stmt]]:
        body = inner.filter(bool)
        return st.one_of(
            st.builds(lambda t, b, o: [ast.If(t, b, o)], expressions, body, inner),
            st.builds(lambda n, i, b: [ast.For(ast.Name(n, ast.Store()), i, b, [])], NAMES, expressions, body),
            st.builds(lambda t, b: [ast.While(t, b, [])], expressions, body),
            st.builds(lambda b, h: [ast.Try(b, [ast.ExceptHandler(None, None, h)], [], [])], body, body),
            st.builds(lambda n, b: [ast.FunctionDef(n, ast.arguments([], [ast.arg("x")], None, [], [], None, []),
                                                    b, [], None)], NAMES, body),
            st.builds(lambda a, b: a + b, inner, inner),
        )

    return st.recursive(simple.map(lambda s: [s]), extend, max_leaves=6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_arbitrary_text_never_raises(text: str) -> None:
    findings = scan_python_source(text, "fuzz.py")
    assert all(isinstance(f, Finding) and f.location.path == "fuzz.py" for f in findings)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(_statements())
def test_random_programs_never_raise(body: list[ast.stmt]) -> None:
    module = ast.fix_missing_locations(ast.Module(body=body, type_ignores=[]))
    try:
        text = ast.unparse(module)
    except ValueError:  # a tree Python cannot write back (a backslash in an f-string expression)
        text = None
    assume(text is not None)
    source = "from flask import request, session\nimport os, hashlib, random, subprocess\n" + str(text)
    findings = scan_python_source(source, "random_program.py")
    assert all(f.location.line is not None and f.location.line >= 1 for f in findings)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["def f(:\n", "x = f'{a[\"k\"]}'\n", "type T = int\n", "if x:\n", "  y = (\n",
                                 "os.system(request.args['c'])\n", "class C[T]:\n    pass\n", "\t\n", "'''\n",
                                 "import os\n", "else:\n", "@dec\n"]), max_size=12))
def test_broken_fragments_never_raise_and_skips_are_reported(lines: list[str]) -> None:
    findings = scan_python_source("".join(lines), "broken.py")
    assert all(isinstance(f, Finding) for f in findings)


def test_very_deep_nesting_is_reported_not_raised() -> None:
    deep = "x = " + "(" * 150 + "1" + ")" * 150 + "\n" + "y = " + "[" * 2000 + "]" * 2000 + "\n"
    findings = scan_python_source(deep, "deep.py")
    assert findings and all(f.rule_id == "FSC015" for f in findings)
