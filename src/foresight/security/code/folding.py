"""Constant folding for the taint interpreter: Python's own operators on known constants, bounded.

Folding is what turns ``if (7 * 18) + 106 > 200:`` into a dead ``else``; it must never hang or eat
memory on hostile input (``9 ** 9 ** 9``, ``"a" * 10**9``), so sizes are capped and any failure of
an operation means "not known".
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable

from foresight.security.code.values import UNKNOWN, Val

__all__ = ["BINOPS", "CMPOPS", "const", "fold", "small"]

_MAX_CONST_LEN = 10_000
BINOPS: dict[type, Callable[[object, object], object]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.BitAnd: operator.and_, ast.BitOr: operator.or_,
    ast.BitXor: operator.xor, ast.LShift: operator.lshift, ast.RShift: operator.rshift,
    ast.Pow: lambda a, b: UNKNOWN if isinstance(b, int) and b > 256 else a ** b,  # type: ignore[operator]
}
CMPOPS: dict[type, Callable[[object, object], object]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt,
    ast.GtE: operator.ge, ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,  # type: ignore[operator]
    ast.Is: lambda a, b: a is b, ast.IsNot: lambda a, b: a is not b,
}
_CONST_TYPES = (str, int, float, bool, bytes, type(None), tuple, frozenset)


def small(value: object) -> bool:
    if isinstance(value, (str, bytes, tuple, frozenset)):
        return len(value) <= _MAX_CONST_LEN
    if isinstance(value, int) and not isinstance(value, bool):
        return value.bit_length() <= 256
    return isinstance(value, _CONST_TYPES)


def fold(fn: Callable[..., object], *args: object) -> object:
    """``fn(*args)`` on constants, or UNKNOWN when it fails or grows too large."""
    try:
        if any(isinstance(a, int) and not isinstance(a, bool) and a.bit_length() > 256 for a in args):
            return UNKNOWN
        if fn is operator.mul and any(isinstance(a, (str, bytes, tuple)) for a in args) and \
                any(isinstance(a, int) and a > _MAX_CONST_LEN for a in args):
            return UNKNOWN
        result = fn(*args)
    except Exception:  # noqa: BLE001 - any failure of a folded operation means "not known"
        return UNKNOWN
    return result if small(result) else UNKNOWN


def const(value: object) -> Val:
    return Val(const=value, prefix=value if isinstance(value, str) else "")
