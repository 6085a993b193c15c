"""Refinement by conditions: what a branch learns from the test that chose it.

``if x in ALLOWED:``, ``if not x.isalnum(): abort(400)``, ``if '..' in p: return``, ``if
url_has_allowed_host_and_scheme(u, ...)``: inside the branch (or after an ``if`` whose other side
leaves) the checked variable is safe, for every category when the value itself is pinned (an
allowlist, an equality, a digit check), for paths and redirects when something derived from it was
checked (its resolved path, its host).
"""

from __future__ import annotations

import ast
import re
from dataclasses import replace
from typing import TYPE_CHECKING

from foresight.security.code import catalog as cat
from foresight.security.code.modules import Env, Frame
from foresight.security.code.values import Val, sanitise

__all__ = ["Guards"]

#: names of the scanned code's own predicates that validate their argument
VALIDATOR = re.compile(r"(?i)(safe|allow|valid|trusted|permitted|whitelist|is_local|sanit)")


class Guards:
    """The refinement half of the interpreter (mixed into :class:`~.interpreter.Project`)."""

    if TYPE_CHECKING:
        def _expr(self, node: ast.expr | None, env: Env, frame: Frame) -> Val: ...
        def _lookup(self, name: str, env: Env, frame: Frame) -> Val: ...
        def _qualname(self, node: ast.expr, frame: Frame) -> str | None: ...

    def _refine(self, test: ast.expr, env: Env, truth: bool, frame: Frame) -> Env:
        """``env`` where ``test`` is known to be ``truth``: checked values are safe there."""
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            return self._refine(test.operand, env, not truth, frame)
        if isinstance(test, ast.BoolOp):
            if isinstance(test.op, ast.And) == truth:  # every operand holds
                for operand in test.values:
                    env = self._refine(operand, env, truth, frame)
            return env
        checked = self._checked(test, env, truth, frame)
        if not checked and not self._prefixes(test, truth):
            return env
        refined = dict(env)
        for name, prefix in self._prefixes(test, truth):
            current = self._lookup(name, refined, frame)
            if len(prefix) > len(current.prefix):
                refined[name] = replace(current, prefix=prefix)
        for name, categories in checked:
            if name in refined or name in frame.module.env:
                current = self._lookup(name, refined, frame)
                refined[name] = sanitise(current, categories)
        return refined

    def _prefixes(self, test: ast.expr, truth: bool) -> list[tuple[str, str]]:
        """``x.startswith("/p")`` true: ``x`` starts with that constant (a redirect to it stays on the site)."""
        if truth and isinstance(test, ast.Call) and isinstance(test.func, ast.Attribute) and \
                test.func.attr == "startswith" and isinstance(test.func.value, ast.Name) and len(test.args) == 1 and \
                isinstance(test.args[0], ast.Constant) and isinstance(test.args[0].value, str):
            return [(test.func.value.id, test.args[0].value)]
        return []

    def _checked(self, test: ast.expr, env: Env, truth: bool, frame: Frame) -> list[tuple[str, frozenset[str] | None]]:
        """The variables ``test`` being ``truth`` validates, and for which categories (None: all)."""
        if isinstance(test, ast.Compare) and len(test.ops) == 1:
            op, right_node, left_node = test.ops[0], test.comparators[0], test.left
            right = self._expr(right_node, env, frame)
            if isinstance(op, (ast.In, ast.NotIn)) and truth == isinstance(op, ast.In):
                if self._is_allowlist(right, right_node):
                    return self._names_in(left_node, direct_all=True)
                if isinstance(left_node, ast.Constant) and isinstance(left_node.value, str) and not truth:
                    pass
            if isinstance(op, (ast.In, ast.NotIn)) and truth != isinstance(op, ast.In):
                # '..' not in x  /  if '..' in x: (else branch)
                if isinstance(left_node, ast.Constant) and left_node.value in ("..", "../", "/", "\\"):
                    return [(n, frozenset({"pathtraver"})) for n, _ in self._names_in(right_node)]
            if isinstance(op, (ast.Eq, ast.Is)) == truth and isinstance(op, (ast.Eq, ast.NotEq, ast.Is, ast.IsNot)):
                other = self._expr(left_node, env, frame)
                if right.known and right.const is not None:
                    return self._names_in(left_node, direct_all=True)
                if other.known and other.const is not None:
                    return self._names_in(right_node, direct_all=True)
            if isinstance(op, (ast.Lt, ast.LtE, ast.Gt, ast.GtE)):
                return []
        if isinstance(test, ast.Attribute) and test.attr in ("netloc", "hostname", "scheme") and not truth:
            return [(n, frozenset({"redirect"})) for n, _ in self._names_in(test.value)]
        if isinstance(test, ast.Call) and not truth and isinstance(test.func, ast.Attribute) and \
                test.func.attr == "startswith" and test.args and isinstance(test.args[0], ast.Constant) and \
                test.args[0].value in ("..", "../", "..\\"):
            return [(n, frozenset({"pathtraver"})) for n, _ in self._names_in(test.func.value)]
        if isinstance(test, ast.Call) and truth and cat.matches(self._qualname(test.func, frame),
                                                                 frozenset({"hmac.compare_digest",
                                                                            "secrets.compare_digest"})):
            # the request carries a valid MAC: its data was made by the key holder, not an attacker
            return [(n, frozenset({"deserialization"})) for n in env]
        if isinstance(test, ast.Call) and truth:
            name = self._qualname(test.func, frame) or ""
            method = test.func.attr if isinstance(test.func, ast.Attribute) else ""
            if self._is_validator(test, frame):
                return [(n, None) for node in test.args for n, _ in self._names_in(node)]
            if method in ("isdigit", "isnumeric", "isdecimal", "isalnum", "isalpha", "isidentifier"):
                return self._names_in(test.func.value, direct_all=True)  # type: ignore[union-attr]
            if cat.matches(name, frozenset({"url_has_allowed_host_and_scheme", "is_safe_url",
                                            "django.utils.http.url_has_allowed_host_and_scheme"})):
                return [(n, frozenset({"redirect"})) for node in test.args[:1] for n, _ in self._names_in(node)]
            if name in ("re.fullmatch", "re.match", "regex.fullmatch") or method in ("fullmatch", "match"):
                subject = test.args[1] if name.startswith(("re.", "regex.")) and len(test.args) > 1 else \
                    test.args[0] if test.args else None
                if subject is not None:
                    return self._names_in(subject, direct_all=True)
            if name == "isinstance" and len(test.args) == 2 and \
                    ast.unparse(test.args[1]) in ("int", "float", "bool", "(int, float)"):
                return self._names_in(test.args[0], direct_all=True)
            if method in ("startswith", "is_relative_to") and isinstance(test.func, ast.Attribute):
                inner = test.func.value
                if isinstance(inner, ast.Call) or method == "is_relative_to":
                    return [(n, frozenset({"pathtraver", "redirect"})) for n, _ in self._names_in(inner)]
        return []

    def _is_validator(self, test: ast.Call, frame: Frame) -> bool:
        """A call to a function of the scanned code whose name says it validates (``is_safe_path(p)``)."""
        func = test.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if not VALIDATOR.search(name):
            return False
        return (isinstance(func, ast.Name) and func.id in frame.module.functions) or (
            isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self")

    def _is_allowlist(self, value: Val, node: ast.expr) -> bool:
        if value.known and isinstance(value.const, (tuple, frozenset, str)) and not isinstance(value.const, str):
            return True
        if value.items is not None and not value.taint and all(not v.all_taint() for _, v in value.items):
            return True
        if value.elems is not None and not value.all_taint() and all(e.known for e in value.elems):
            return True
        return isinstance(node, ast.Name) and node.id.isupper() and not value.all_taint()

    def _names_in(self, node: ast.expr, direct_all: bool = False) -> list[tuple[str, frozenset[str] | None]]:
        """Variables ``node`` reads: checking a variable itself validates it for all categories."""
        if isinstance(node, ast.Name):
            return [(node.id, None if direct_all else frozenset({"pathtraver", "redirect"}))]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr in ("lower", "upper", "strip", "casefold"):
            return self._names_in(node.func.value, direct_all)
        names = [n.id for n in ast.walk(node) if isinstance(n, ast.Name)]
        return [(n, frozenset({"pathtraver", "redirect"})) for n in names]

    def _validated_in(self, body: list[ast.stmt], frame: Frame) -> list[str]:
        """Variables passed whole to a full sanitiser (``int(x)``, ``ipaddress.ip_address(x)``) in ``body``."""
        names = []
        for stmt in body:
            for node in ast.walk(stmt):
                if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Name):
                    sanitiser = cat.matches(self._qualname(node.func, frame), cat.SANITISERS)
                    if sanitiser is not None and cat.SANITISERS[sanitiser] is None:
                        names.append(node.args[0].id)
        return names
