"""The taint interpreter: runs a module's AST over abstract values and reports what reaches a sink.

Statements are interpreted in order over an environment of :class:`~.values.Val`; conditions that fold
to a constant take only their live branch (dead code has no findings), other branches run apart and
their environments join. A call to a function of the scanned tree runs that function's body with the
abstract arguments (a context-sensitive summary, memoised per function and arguments, at most
:data:`MAX_DEPTH` calls deep), so what a function returns and which sinks its parameters reach follow
the caller's data. Every function is also run once as an entry point: a route's parameters (Flask,
FastAPI, Django views) are untrusted there, other functions' parameters are not.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from dataclasses import replace

from foresight.security.code import catalog as cat
from foresight.security.code import rules
from foresight.security.code.folding import BINOPS, CMPOPS, const, fold, small
from foresight.security.code.guards import Guards
from foresight.security.code.modules import Env, Frame, ModuleInfo
from foresight.security.code.sinks import check_call, insecure_cookie_setting
from foresight.security.code.values import (
    CLEAN,
    UNKNOWN,
    Label,
    Val,
    join,
    join_taint,
    sanitise,
    tainted_for,
)
from foresight.security.findings import Finding, Level, Location

__all__ = ["MAX_DEPTH", "MAX_RUNS", "Project"]

MAX_DEPTH = 8
#: at most this many function bodies are run for their callers per entry point (a module's top level, a
#: function); past it a call's result is the union of its arguments' taint (what an unknown function
#: gets), so a scan's time grows with the size of the tree, not with its call graph's paths
MAX_RUNS = 2_000
_ROUTE_DECORATORS = frozenset({"route", "get", "post", "put", "delete", "patch", "api_route", "head", "options",
                               "websocket", "view_config", "api_view", "require_http_methods", "require_POST",
                               "require_GET"})
_CLEAN_ANNOTATIONS = frozenset({"int", "float", "bool", "UUID", "uuid.UUID", "datetime", "date", "Decimal"})
_EXITS = frozenset({"abort", "flask.abort", "sys.exit", "exit", "quit", "os._exit", "fastapi.HTTPException"})

class Project(Guards):
    """The modules of one scan and the findings their interpretation produced."""

    def __init__(self, modules: list[ModuleInfo]) -> None:
        self.modules = {m.name: m for m in modules}
        self.findings: dict[tuple[str, str, int], Finding] = {}
        self._cache: dict[tuple[int, tuple[Val, ...]], Val] = {}
        self._stack: list[int] = []
        self._runs = 0  # function bodies run for callers from the current entry point (bounded by MAX_RUNS)
        self._last_self: dict[int, Val] = {}  # what __init__ left in self, per constructor

    # -- driving -------------------------------------------------------------------------------------
    def run(self) -> list[Finding]:
        """Interpret every module's top level, then every function as an entry point."""
        for module in self.modules.values():
            frame = Frame(module, None)
            env: Env = {}
            self._runs = 0
            self._block(module.tree.body, env, frame)
            module.env = env
        for module in self.modules.values():
            for func in module.functions.values():
                self._entry(module, func, None)
            for cls, methods in module.classes.items():
                for func in methods.values():
                    self._entry(module, func, cls)
        return sorted(self.findings.values(), key=lambda f: (f.location.path, f.location.line or 0, f.rule_id))

    def _entry(self, module: ModuleInfo, func: ast.FunctionDef | ast.AsyncFunctionDef, cls: str | None) -> None:
        self._runs = 0
        route = self._is_route(func, module, cls)
        env: Env = {}
        params = [*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs]
        for extra in (func.args.vararg, func.args.kwarg):
            if extra is not None:
                params.append(extra)
        for index, param in enumerate(params):
            if cls is not None and index == 0 and param.arg in ("self", "cls"):
                env[param.arg] = Val(kind=f"obj:{module.name}:{cls}")
                continue
            env[param.arg] = self._param_value(param, func, route, module)
        frame = Frame(module, func, route=route)
        self._block(func.body, env, frame)

    def _is_route(self, func: ast.FunctionDef | ast.AsyncFunctionDef, module: ModuleInfo, cls: str | None) -> bool:
        if not module.web:
            return False
        if cls is None and func.name in module.views:
            return True
        for decorator in func.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            name = target.attr if isinstance(target, ast.Attribute) else target.id if isinstance(target, ast.Name) else ""
            if name in _ROUTE_DECORATORS:
                return True
        params = [*func.args.posonlyargs, *func.args.args]
        first = params[1] if cls is not None and len(params) > 1 and params[0].arg == "self" else \
            params[0] if params else None
        if cls is not None and func.name in ("get", "post", "put", "patch", "delete", "dispatch"):
            # a class-based view: Django's (get(self, request)), Flask's MethodView (get(self), global request)
            return first is None or first.arg in ("request", "req") or module.flask
        return first is not None and first.arg in ("request", "req") and not module.fastapi

    def _param_value(self, param: ast.arg, func: ast.FunctionDef | ast.AsyncFunctionDef, route: bool,
                     module: ModuleInfo) -> Val:
        annotation = ast.unparse(param.annotation) if param.annotation is not None else ""
        origin = Label(f"parameter '{param.arg}' of route {func.name}")
        if (route or module.web) and (param.arg in ("request", "req") or
                                      annotation.split(".")[-1] in ("Request", "HttpRequest", "WSGIRequest")):
            return Val(frozenset({Label(f"request data ('{param.arg}' of {func.name})")}), kind="request")
        if not route:
            return CLEAN
        if annotation.split("[")[0].split(".")[-1] in _CLEAN_ANNOTATIONS:
            return CLEAN
        if "Depends" in annotation:
            return CLEAN
        defaults = dict(zip([a.arg for a in func.args.args[-len(func.args.defaults):]] if func.args.defaults else [],
                            func.args.defaults, strict=False))
        default = defaults.get(param.arg)
        if isinstance(default, ast.Call) and isinstance(default.func, (ast.Name, ast.Attribute)) and \
                ast.unparse(default.func).split(".")[-1] in ("Depends", "Security"):
            return CLEAN
        return Val(frozenset({origin}))

    def is_object_method(self, node: ast.Call, frame: Frame) -> bool:
        """Whether ``node`` calls a method of an object (``db.session.query(...)``), not a module's function."""
        root: ast.expr = node.func
        while isinstance(root, (ast.Attribute, ast.Call, ast.Subscript)):
            root = root.func if isinstance(root, ast.Call) else root.value
        return isinstance(node.func, ast.Attribute) and not (
            isinstance(root, ast.Name) and root.id in frame.module.module_aliases)

    def _report(self, rule: rules.Rule, frame: Frame, node: ast.AST, message: str,
                level: Level | None = None) -> None:
        line = getattr(node, "lineno", 1)
        key = (rule.id, frame.module.path, line)
        known = self.findings.get(key)
        level = level or rule.level
        if known is None or known.level.rank < level.rank:
            self.findings[key] = Finding(rule.id, level, message, Location(frame.module.path, line=line))

    def _taint_sink(self, rule: rules.Rule, category: str, value: Val, frame: Frame, node: ast.AST,
                    sink: str) -> None:
        """Report ``value`` reaching ``sink`` unsanitised; from a local source only (the environment, the
        command line, a file) it is a warning: whoever runs the program already controls those."""
        taint = value.all_taint()
        label = tainted_for(frozenset(x for x in taint if not x.origin.startswith(cat.LOCAL_ORIGINS)), category)
        if label is not None:
            self._report(rule, frame, node, f"{label.origin} reaches {sink}")
            return
        label = tainted_for(taint, category)
        if label is not None:
            level = Level.WARNING if rule.level is Level.ERROR else rule.level
            self._report(rule, frame, node, f"{label.origin} reaches {sink} (a local source)", level)

    # -- statements ----------------------------------------------------------------------------------
    def _block(self, body: list[ast.stmt], env: Env, frame: Frame) -> bool:
        """Run ``body`` on ``env`` in place; False when every path through it leaves (return, raise ...)."""
        for stmt in body:
            if not self._stmt(stmt, env, frame):
                return False
        return True

    def _branch(self, body: list[ast.stmt], env: Env, frame: Frame) -> Env | None:
        copy = dict(env)
        return copy if self._block(body, copy, frame) else None

    def _merge(self, env: Env, branches: list[Env | None]) -> bool:
        live = [b for b in branches if b is not None]
        if not live:
            return False
        keys = set().union(*live)
        env.clear()
        for key in keys:
            env[key] = join(*(b.get(key, CLEAN) for b in live))
        return True

    def _stmt(self, stmt: ast.stmt, env: Env, frame: Frame) -> bool:
        if isinstance(stmt, ast.Expr):
            self._expr(stmt.value, env, frame)
            return not self._exits(stmt.value, frame)
        if isinstance(stmt, ast.Assign):
            value = self._expr(stmt.value, env, frame)
            for target in stmt.targets:
                self._assign(target, value, env, frame)
            return True
        if isinstance(stmt, ast.AnnAssign):
            if stmt.value is not None:
                self._assign(stmt.target, self._expr(stmt.value, env, frame), env, frame)
            return True
        if isinstance(stmt, ast.AugAssign):
            current = self._expr(self._load_of(stmt.target), env, frame)
            value = self._binop(stmt.op, current, self._expr(stmt.value, env, frame))
            self._assign(stmt.target, value, env, frame)
            return True
        if isinstance(stmt, ast.Return):
            value = self._expr(stmt.value, env, frame) if stmt.value is not None else const(None)
            if frame.route and self._html_body(value, frame):
                body = value.elems[0] if value.elems else value
                self._taint_sink(rules.XSS, "xss", body, frame, stmt, f"the HTML response of route {frame.func.name}"
                                 if frame.func else "an HTML response")
            if frame.func is not None:
                self.weak_sink(value, frame.func.name, frame, stmt)
            frame.returns.append(value)
            return False
        if isinstance(stmt, ast.Raise):
            if stmt.exc is not None:
                self._expr(stmt.exc, env, frame)
            return False
        if isinstance(stmt, ast.If):
            return self._if(stmt, env, frame)
        if isinstance(stmt, (ast.For, ast.AsyncFor)):
            return self._for(stmt, env, frame)
        if isinstance(stmt, ast.While):
            return self._while(stmt, env, frame)
        if isinstance(stmt, (ast.Break, ast.Continue)):
            if frame.loop_exits:
                frame.loop_exits[-1].append(dict(env))
            return False
        if isinstance(stmt, (ast.With, ast.AsyncWith)):
            for item in stmt.items:
                value = self._expr(item.context_expr, env, frame)
                if item.optional_vars is not None:
                    self._assign(item.optional_vars, value, env, frame)
            return self._block(stmt.body, env, frame)
        if isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
            return self._try(stmt, env, frame)  # type: ignore[arg-type]
        if isinstance(stmt, ast.Match):
            return self._match(stmt, env, frame)
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if frame.func is not None:  # a nested function: run as its own entry, closing over this scope
                inner = dict(env)
                for arg in stmt.args.args:
                    inner[arg.arg] = CLEAN
                self._block(stmt.body, inner, Frame(frame.module, stmt, route=frame.route))
            env[stmt.name] = Val(kind="function")
            return True
        if isinstance(stmt, ast.ClassDef):
            env[stmt.name] = Val(kind=f"class:{frame.module.name}:{stmt.name}")
            for inner in stmt.body:
                if isinstance(inner, (ast.Assign, ast.AnnAssign, ast.Expr)):
                    self._stmt(inner, dict(env), frame)
            return True
        if isinstance(stmt, ast.Delete):
            for target in stmt.targets:
                self._delete(target, env, frame)
            return True
        if isinstance(stmt, (ast.Assert,)):
            self._expr(stmt.test, env, frame)
            refined = self._refine(stmt.test, env, True, frame)
            env.update(refined)
            return True
        return True  # import, global, nonlocal, pass: nothing flows

    def _exits(self, expr: ast.expr, frame: Frame) -> bool:
        return isinstance(expr, ast.Call) and cat.matches(self._qualname(expr.func, frame), _EXITS) is not None

    def _if(self, stmt: ast.If, env: Env, frame: Frame) -> bool:
        test = self._expr(stmt.test, env, frame)
        if test.known:
            truth = fold(bool, test.const)
            if truth is True:
                return self._block(stmt.body, env, frame)
            if truth is False:
                return self._block(stmt.orelse, env, frame)
        then = self._refine(stmt.test, env, True, frame)
        other = self._refine(stmt.test, env, False, frame)
        return self._merge(env, [self._branch(stmt.body, then, frame), self._branch(stmt.orelse, other, frame)])

    def _for(self, stmt: ast.For | ast.AsyncFor, env: Env, frame: Frame) -> bool:
        iterable = self._expr(stmt.iter, env, frame)
        element = self._element(iterable)
        before = dict(env)
        frame.loop_exits.append([])
        states = [before]
        current = dict(env)
        for _ in range(2):
            self._assign(stmt.target, element, current, frame)
            if self._block(stmt.body, current, frame):
                states.append(dict(current))
            current = dict(current)
            self._merge(current, [*states, *frame.loop_exits[-1]])
        exits = frame.loop_exits.pop()
        self._merge(env, [*states, *exits])
        if stmt.orelse:
            return self._block(stmt.orelse, env, frame)
        return True

    def _while(self, stmt: ast.While, env: Env, frame: Frame) -> bool:
        test = self._expr(stmt.test, env, frame)
        if test.known and fold(bool, test.const) is False:
            return self._block(stmt.orelse, env, frame)
        forever = test.known and fold(bool, test.const) is True
        frame.loop_exits.append([])
        states = [] if forever else [dict(env)]
        current = self._refine(stmt.test, env, True, frame)
        for _ in range(2):
            if self._block(stmt.body, current, frame):
                states.append(dict(current))
            current = dict(current)
        exits = frame.loop_exits.pop()
        return self._merge(env, [*states, *exits])

    def _try(self, stmt: ast.Try, env: Env, frame: Frame) -> bool:
        before = dict(env)
        body = self._branch(stmt.body, env, frame)
        if body is not None and stmt.orelse:
            body = body if self._block(stmt.orelse, body, frame) else None
        started = dict(before)
        self._merge(started, [before, body])
        branches = [body]
        for handler in stmt.handlers:
            state = dict(started)
            if handler.name:
                state[handler.name] = CLEAN
            branches.append(state if self._block(handler.body, state, frame) else None)
        live = self._merge(env, branches)
        if live and body is not None and len(branches) > 1 and all(b is None for b in branches[1:]):
            # every handler leaves: what the body converted without raising is validated after the try
            for name in self._validated_in(stmt.body, frame):
                if name in env:
                    env[name] = sanitise(env[name], None)
        if stmt.finalbody:
            if not live:
                env.update(before)
            return self._block(stmt.finalbody, env, frame) and live
        return live

    def _match(self, stmt: ast.Match, env: Env, frame: Frame) -> bool:
        subject = self._expr(stmt.subject, env, frame)
        branches: list[Env | None] = []
        for case in stmt.cases:
            pattern = case.pattern
            if subject.known and isinstance(pattern, ast.MatchValue) and case.guard is None:
                value = self._expr(pattern.value, env, frame)
                if value.known and fold(operator.eq, subject.const, value.const) is False:
                    continue
                if value.known and fold(operator.eq, subject.const, value.const) is True:
                    branches.append(self._branch(case.body, env, frame))
                    return self._merge(env, branches) if len(branches) > 1 else \
                        (self._merge(env, branches))
            state = dict(env)
            self._bind_pattern(pattern, subject, state)
            if case.guard is not None:
                self._expr(case.guard, state, frame)
            branches.append(state if self._block(case.body, state, frame) else None)
            if isinstance(pattern, ast.MatchAs) and pattern.pattern is None and case.guard is None:
                return self._merge(env, branches)
        branches.append(dict(env))
        return self._merge(env, branches)

    def _bind_pattern(self, pattern: ast.pattern, subject: Val, env: Env) -> None:
        for node in ast.walk(pattern):
            name = getattr(node, "name", None) or getattr(node, "rest", None)
            if isinstance(name, str):
                env[name] = subject.shallow()

    # -- assignment ----------------------------------------------------------------------------------
    def _load_of(self, target: ast.expr) -> ast.expr:
        copy = ast.fix_missing_locations(ast.copy_location(type(target)(**{
            f: getattr(target, f) for f in target._fields}), target))
        copy.ctx = ast.Load()  # type: ignore[attr-defined]
        return copy

    def _assign(self, target: ast.expr, value: Val, env: Env, frame: Frame) -> None:
        secret = target.id if isinstance(target, ast.Name) else target.attr if isinstance(target, ast.Attribute) \
            else None
        if secret is not None:
            self.weak_sink(value, secret, frame, target)
        setting = secret if secret is not None else target.slice.value if isinstance(target, ast.Subscript) and \
            isinstance(target.slice, ast.Constant) and isinstance(target.slice.value, str) else None
        if setting is not None and insecure_cookie_setting(setting, value):
            self._report(rules.SECURECOOKIE, frame, target, f"{setting}=False sends the cookie over plain HTTP")
        if isinstance(target, ast.Name):
            env[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            starred = any(isinstance(e, ast.Starred) for e in target.elts)
            for index, element in enumerate(target.elts):
                if isinstance(element, ast.Starred):
                    self._assign(element.value, Val(value.all_taint()), env, frame)
                elif value.elems is not None and not starred and len(value.elems) == len(target.elts):
                    self._assign(element, value.elems[index], env, frame)
                elif value.known and isinstance(value.const, (tuple, str)) and not starred and \
                        len(value.const) == len(target.elts):
                    self._assign(element, const(value.const[index]), env, frame)
                else:
                    self._assign(element, self._element(value), env, frame)
        elif isinstance(target, ast.Subscript):
            container_name = self._container_key(target.value)
            key = self._expr(target.slice, env, frame)
            if key.known and isinstance(key.const, str):
                self.weak_sink(value, key.const, frame, target)
            self._session_store(target.value, value, frame, target)
            self._header_store(target.value, key, value, frame, target)
            if container_name is not None:
                container = self._lookup(container_name, env, frame)
                if key.known and (container.items is not None or container.elems is None) and \
                        isinstance(key.const, (str, int, bytes, bool, type(None))):
                    if container.elems is not None and isinstance(key.const, int):
                        elems = list(container.elems)
                        if -len(elems) <= key.const < len(elems):
                            elems[key.const] = value
                            env[container_name] = replace(container, elems=tuple(elems), const=UNKNOWN)
                            return
                    env[container_name] = container.with_item(key.const, value) if container.items is not None \
                        or not container.all_taint() else replace(container, taint=join_taint(
                            container.taint, value.all_taint()))
                else:
                    env[container_name] = replace(container, taint=join_taint(container.taint, value.all_taint()),
                                                  const=UNKNOWN)
        elif isinstance(target, ast.Attribute):
            self._session_store(target, value, frame, target)
            owner = self._container_key(target.value)
            if owner is not None:
                container = self._lookup(owner, env, frame)
                env[owner] = container.with_item(("attr", target.attr), value)
        elif isinstance(target, ast.Starred):
            self._assign(target.value, value, env, frame)

    def _delete(self, target: ast.expr, env: Env, frame: Frame) -> None:
        if isinstance(target, ast.Name):
            env.pop(target.id, None)
        elif isinstance(target, ast.Subscript):
            name = self._container_key(target.value)
            key = self._expr(target.slice, env, frame)
            if name is not None and key.known:
                container = self._lookup(name, env, frame)
                if container.items is not None:
                    env[name] = replace(container, items=tuple((k, v) for k, v in container.items if k != key.const))
                elif container.elems is not None and isinstance(key.const, int):
                    elems = list(container.elems)
                    if -len(elems) <= key.const < len(elems):
                        del elems[key.const]
                        env[name] = replace(container, elems=tuple(elems))

    def _container_key(self, node: ast.expr) -> str | None:
        return node.id if isinstance(node, ast.Name) else None

    def _session_store(self, owner: ast.expr, value: Val, frame: Frame, node: ast.AST) -> None:
        name = self._qualname(owner, frame)
        if name is not None and (cat.matches(name, frozenset({"flask.session", "session"})) or
                                 name.endswith(".session")):
            self._taint_sink(rules.TRUSTBOUND, "trustbound", value, frame, node, "the session")
            self.weak_sink(value, "session", frame, node)

    def weak_sink(self, value: Val, name: str, frame: Frame, node: ast.AST) -> None:
        """A weak random value becoming something named like a secret (token, password, session id ...)."""
        if not value.all_taint() or not cat.security_name(name):
            return
        label = tainted_for(value.all_taint(), "weakrand")
        if label is not None:
            self._report(rules.WEAKRAND, frame, node, f"{label.origin} becomes {name}: use secrets")

    def _header_store(self, owner: ast.expr, key: Val, value: Val, frame: Frame, node: ast.AST) -> None:
        if isinstance(owner, ast.Attribute) and owner.attr == "headers" and key.known and \
                isinstance(key.const, str) and key.const.lower() == "location" and not self._safe_target(value):
            self._taint_sink(rules.REDIRECT, "redirect", value, frame, node, "a Location header")

    # -- expressions ---------------------------------------------------------------------------------
    def _lookup(self, name: str, env: Env, frame: Frame) -> Val:
        if name in env:
            return env[name]
        if name in frame.module.env:
            return frame.module.env[name]
        qualified = frame.module.imports.get(name, name)
        source = cat.matches(qualified, cat.SOURCE_NAMES)
        if source is not None:
            return Val(frozenset({Label(cat.SOURCE_NAMES[source])}), kind="request")
        if name == "request" and name not in frame.module.imports:
            return Val(frozenset({Label("request data")}), kind="request")
        return CLEAN

    def _qualname(self, node: ast.expr, frame: Frame) -> str | None:
        if isinstance(node, ast.Name):
            return frame.module.imports.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            base = self._qualname(node.value, frame)
            return f"{base}.{node.attr}" if base is not None else None
        return None

    def _expr(self, node: ast.expr | None, env: Env, frame: Frame) -> Val:
        if node is None:
            return CLEAN
        if isinstance(node, ast.Constant):
            return const(node.value) if small(node.value) else CLEAN
        if isinstance(node, ast.Name):
            value = self._lookup(node.id, env, frame)
            if value == CLEAN and node.id in frame.module.imports:
                return Val(kind=f"ref:{frame.module.imports[node.id]}")  # an imported callable, kept by name
            return value
        if isinstance(node, ast.JoinedStr):
            return self._joined(node, env, frame)
        if isinstance(node, ast.FormattedValue):
            return self._expr(node.value, env, frame).shallow()
        if isinstance(node, ast.BinOp):
            return self._binop(node.op, self._expr(node.left, env, frame), self._expr(node.right, env, frame))
        if isinstance(node, ast.UnaryOp):
            operand = self._expr(node.operand, env, frame)
            ops = {ast.Not: operator.not_, ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Invert: operator.invert}
            if operand.known:
                return const(fold(ops[type(node.op)], operand.const))
            return CLEAN if isinstance(node.op, ast.Not) else Val(operand.all_taint())
        if isinstance(node, ast.BoolOp):
            return self._boolop(node, env, frame)
        if isinstance(node, ast.Compare):
            return self._compare(node, env, frame)
        if isinstance(node, ast.IfExp):
            test = self._expr(node.test, env, frame)
            truth = fold(bool, test.const) if test.known else UNKNOWN
            if truth is True:
                return self._expr(node.body, env, frame)
            if truth is False:
                return self._expr(node.orelse, env, frame)
            return join(self._expr(node.body, self._refine(node.test, env, True, frame), frame),
                        self._expr(node.orelse, self._refine(node.test, env, False, frame), frame))
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return self._sequence(node, env, frame)
        if isinstance(node, ast.Dict):
            return self._dict(node, env, frame)
        if isinstance(node, ast.Subscript):
            return self._subscript(node, env, frame)
        if isinstance(node, ast.Attribute):
            return self._attribute(node, env, frame)
        if isinstance(node, ast.Call):
            return self._call(node, env, frame)
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            return self._comprehension(node, env, frame)
        if isinstance(node, ast.NamedExpr):
            value = self._expr(node.value, env, frame)
            self._assign(node.target, value, env, frame)
            return value
        if isinstance(node, (ast.Await, ast.Starred, ast.YieldFrom)):
            return self._expr(node.value, env, frame)
        if isinstance(node, ast.Yield):
            value = self._expr(node.value, env, frame)
            frame.returns.append(value)
            return CLEAN
        if isinstance(node, ast.Slice):
            parts = [self._expr(p, env, frame) for p in (node.lower, node.upper, node.step)]
            if all(p.known for p in parts):
                return const(fold(lambda a, b, c: (a, b, c), *(p.const for p in parts)))
            return CLEAN
        if isinstance(node, ast.Lambda):  # its body's sinks see the enclosing scope (closures), once
            scope = dict(env)
            for arg in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]:
                scope[arg.arg] = CLEAN
            self._expr(node.body, scope, frame)
            return Val(kind="function")
        return CLEAN

    def _joined(self, node: ast.JoinedStr, env: Env, frame: Frame) -> Val:
        values = [self._expr(v, env, frame) for v in node.values]
        if all(v.known for v in values) and all(
                isinstance(v, ast.Constant) or (isinstance(v, ast.FormattedValue) and v.conversion == -1
                                                and v.format_spec is None) for v in node.values):
            return const(fold(lambda *p: "".join(str(x) for x in p), *(v.const for v in values)))
        prefix = ""
        for part, value in zip(node.values, values, strict=True):
            if isinstance(part, ast.Constant) and isinstance(part.value, str):
                prefix += part.value
            else:
                break
        return Val(join_taint(*(v.all_taint() for v in values)), prefix=prefix)

    def _binop(self, op: ast.operator, left: Val, right: Val) -> Val:
        fn = BINOPS.get(type(op))
        if left.known and right.known and fn is not None:
            result = fold(fn, left.const, right.const)
            if result is not UNKNOWN:
                return const(result)
        if isinstance(op, ast.Mod) and left.known and isinstance(left.const, str):
            return Val(right.all_taint(), prefix=left.const.split("%")[0])
        if isinstance(op, ast.Add) and left.elems is not None and right.elems is not None:
            return Val(join_taint(left.taint, right.taint), elems=(*left.elems, *right.elems))
        if isinstance(op, ast.Div) and "path" in (left.kind, right.kind):
            return Val(join_taint(left.all_taint(), right.all_taint()), kind="path")
        prefix = left.prefix if isinstance(op, ast.Add) else ""
        if isinstance(op, ast.Add) and left.known and isinstance(left.const, str):
            prefix = left.const + right.prefix
        return Val(join_taint(left.all_taint(), right.all_taint()), prefix=prefix)

    def _boolop(self, node: ast.BoolOp, env: Env, frame: Frame) -> Val:
        values = []
        scope = env
        for operand in node.values:
            value = self._expr(operand, scope, frame)
            if value.known:
                truth = fold(bool, value.const)
                if truth is (isinstance(node.op, ast.Or)):
                    return value if not values else join(*values, value)
                if truth is (not isinstance(node.op, ast.Or)):
                    continue
            values.append(value)
            scope = self._refine(operand, scope, isinstance(node.op, ast.And), frame)
        if not values:
            return self._expr(node.values[-1], env, frame)
        return join(*values)

    def _compare(self, node: ast.Compare, env: Env, frame: Frame) -> Val:
        left = self._expr(node.left, env, frame)
        result: object = True
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = self._expr(right_node, env, frame)
            if not (left.known and right.known) or result is UNKNOWN:
                result = UNKNOWN
            else:
                step = fold(CMPOPS[type(op)], left.const, right.const)
                result = UNKNOWN if step is UNKNOWN else (result and bool(step))
            left = right
        return const(result) if result is not UNKNOWN else CLEAN

    def _sequence(self, node: ast.List | ast.Tuple | ast.Set, env: Env, frame: Frame) -> Val:
        if any(isinstance(e, ast.Starred) for e in node.elts):
            return Val(join_taint(*(self._expr(e, env, frame).all_taint() for e in node.elts)))
        elems = tuple(self._expr(e, env, frame) for e in node.elts)
        const: object = UNKNOWN
        if all(e.known for e in elems):
            values = tuple(e.const for e in elems)
            const = fold(frozenset, values) if isinstance(node, ast.Set) else values
        if isinstance(node, ast.Set):
            return Val(join_taint(*(e.all_taint() for e in elems)), const=const)
        return Val(elems=elems, const=const if isinstance(node, ast.Tuple) else UNKNOWN,
                   kind="list" if isinstance(node, ast.List) else "tuple")

    def _dict(self, node: ast.Dict, env: Env, frame: Frame) -> Val:
        value = Val(items=())
        for key_node, value_node in zip(node.keys, node.values, strict=True):
            item = self._expr(value_node, env, frame)
            if key_node is None:
                value = replace(value, taint=join_taint(value.taint, item.all_taint()))
                continue
            key = self._expr(key_node, env, frame)
            if key.known and isinstance(key.const, str):
                self.weak_sink(item, key.const, frame, key_node)
            if key.known and isinstance(key.const, (str, int, bytes, bool, type(None))):
                value = value.with_item(key.const, item)
            else:
                value = replace(value, taint=join_taint(value.taint, item.all_taint(), key.all_taint()))
        return value

    def _element(self, container: Val) -> Val:
        """Any one element of ``container`` (iteration)."""
        if container.elems is not None:
            return join(CLEAN, *container.elems) if container.elems else Val(container.taint)
        if container.items is not None:
            keys = [const(k) for k, _ in container.items]
            return join(Val(container.taint), *keys) if keys else Val(container.taint)
        if container.known and isinstance(container.const, (tuple, frozenset, str)) and container.const:
            return join(*(const(c) for c in container.const))  # type: ignore[union-attr]
        return Val(container.all_taint(), kind="file-line" if container.kind == "file" else None)

    def _subscript(self, node: ast.Subscript, env: Env, frame: Frame) -> Val:
        container = self._expr(node.value, env, frame)
        key = self._expr(node.slice, env, frame)
        if container.known and key.known:
            folded = fold(operator.getitem, container.const, key.const)
            if folded is not UNKNOWN:
                return const(folded)
        if key.known:
            if container.items is not None:
                found = container.item(key.const)
                if found is not None:
                    return found
                return Val(container.taint)
            if container.elems is not None and isinstance(key.const, int) and not isinstance(key.const, bool):
                if -len(container.elems) <= key.const < len(container.elems):
                    return container.elems[key.const]
                return Val(container.taint)
            if container.elems is not None and isinstance(key.const, tuple):  # a slice
                try:
                    return replace(container, elems=container.elems[slice(*key.const)])
                except (TypeError, ValueError):
                    return container.shallow()
        if isinstance(node.slice, ast.Slice) and container.prefix:
            return Val(container.all_taint())
        return Val(container.all_taint(), kind="request" if container.kind == "request" else None)

    def _attribute(self, node: ast.Attribute, env: Env, frame: Frame) -> Val:
        qualified = self._qualname(node, frame)
        if qualified is not None and isinstance(node.value, ast.Name) and node.value.id not in env:
            source = cat.matches(qualified, cat.SOURCE_NAMES)
            if source is not None:
                return Val(frozenset({Label(cat.SOURCE_NAMES[source])}), kind="request")
        owner = self._expr(node.value, env, frame)
        found = owner.item(("attr", node.attr))
        if found is not None:
            return found
        if (owner.kind or "").startswith("ref:"):
            return Val(kind=f"{owner.kind}.{node.attr}")
        if node.attr == "request" and isinstance(node.value, ast.Name) and node.value.id == "self":
            return Val(frozenset({Label("request data (self.request)")}), kind="request")
        if owner.kind == "path" and node.attr in ("name", "stem", "suffix"):
            return sanitise(Val(owner.all_taint()), {"pathtraver"})
        if owner.kind == "path" and node.attr == "parent":
            return owner
        if owner.kind and owner.kind.startswith("obj:"):
            return Val(owner.taint)
        return Val(owner.all_taint(), kind="request" if owner.kind == "request" else None)

    def _comprehension(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp, env: Env,
                       frame: Frame) -> Val:
        scope = dict(env)
        for generator in node.generators:
            self._assign(generator.target, self._element(self._expr(generator.iter, scope, frame)), scope, frame)
            for condition in generator.ifs:
                self._expr(condition, scope, frame)
                scope = self._refine(condition, scope, True, frame)
        if isinstance(node, ast.DictComp):
            taint = join_taint(self._expr(node.key, scope, frame).all_taint(),
                               self._expr(node.value, scope, frame).all_taint())
        else:
            taint = self._expr(node.elt, scope, frame).all_taint()
        return Val(taint)

    # -- calls -------------------------------------------------------------------------------------------
    def _call(self, node: ast.Call, env: Env, frame: Frame) -> Val:
        func = node.func
        receiver = self._expr(func.value, env, frame) if isinstance(func, ast.Attribute) else None
        args = [self._expr(a, env, frame) for a in node.args]
        kwargs = {k.arg: self._expr(k.value, env, frame) for k in node.keywords if k.arg is not None}
        for keyword in node.keywords:
            if keyword.arg is not None:
                self.weak_sink(kwargs[keyword.arg], keyword.arg, frame, node)
        for k in node.keywords:
            if k.arg is None:
                kwargs.setdefault("**", self._expr(k.value, env, frame))
        name = self._qualname(func, frame)
        local = env.get(func.id) if isinstance(func, ast.Name) else None
        if local is not None and (local.kind or "").startswith("ref:"):
            name = (local.kind or "")[4:]  # run = os.system; run(x)
        elif local is not None and local.kind not in (None, "function"):
            name = None if not (local.kind or "").startswith("class:") else name
        method = func.attr if isinstance(func, ast.Attribute) else None
        check_call(self, node, name, method, receiver, args, kwargs, frame)
        user = self._user_function(node, name, receiver, env, frame)
        if user is not None:
            return user(args, kwargs)
        return self._library_call(node, name, method, receiver, args, kwargs, env, frame)

    def _user_function(self, node: ast.Call, name: str | None, receiver: Val | None, env: Env,
                       frame: Frame) -> Callable[[list[Val], dict[str, Val]], Val] | None:
        func = node.func
        module = frame.module
        target: tuple[ModuleInfo, ast.FunctionDef | ast.AsyncFunctionDef, Val | None] | None = None
        local_kind = env[func.id].kind or "" if isinstance(func, ast.Name) and func.id in env else None
        if isinstance(func, ast.Name) and (local_kind is None or local_kind == "function" or
                                           local_kind.startswith("class:")):
            if func.id in module.functions:
                target = (module, module.functions[func.id], None)
            elif func.id in module.classes:
                return lambda args, kwargs: self._construct(module, func.id, args, kwargs)  # type: ignore[union-attr]
            elif name is not None:
                found = self._resolve(name)
                if found is not None:
                    target = (found[0], found[1], None)
                elif "." in name:  # module.Class() of another module of the tree
                    module_name, cls = name.rsplit(".", 1)
                    owner = self.modules.get(module_name)
                    if owner is not None and cls in owner.classes:
                        return lambda args, kwargs: self._construct(owner, cls, args, kwargs)
        elif isinstance(func, ast.Attribute) and receiver is not None:
            kind = receiver.kind or ""
            if kind.startswith("obj:"):
                _, module_name, cls = kind.split(":", 2)
                owner = self.modules.get(module_name)
                if owner is not None and func.attr in owner.classes.get(cls, {}):
                    target = (owner, owner.classes[cls][func.attr], receiver)
            elif isinstance(func.value, ast.Name) and func.value.id in module.classes and \
                    func.attr in module.classes[func.value.id]:
                target = (module, module.classes[func.value.id][func.attr], None)
            elif name is not None:
                found = self._resolve(name)
                if found is not None:
                    target = (found[0], found[1], None)
        if target is None:
            return None
        owner, definition, bound = target
        if bound is not None and isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            holder = func.value.id  # obj.method(...) may change obj's attributes: keep what it leaves in self

            def call_method(args: list[Val], kwargs: dict[str, Val]) -> Val:
                result = self._invoke(owner, definition, bound, args, kwargs, keep_self=True)
                after = self._last_self.get(id(definition))
                if after is not None and (after.kind or "").startswith("obj:") and holder in env:
                    env[holder] = after
                return result

            return call_method
        return lambda args, kwargs: self._invoke(owner, definition, bound, args, kwargs)

    def _resolve(self, name: str) -> tuple[ModuleInfo, ast.FunctionDef | ast.AsyncFunctionDef] | None:
        if "." not in name:
            return None
        module_name, function = name.rsplit(".", 1)
        module = self.modules.get(module_name)
        if module is not None and function in module.functions:
            return module, module.functions[function]
        return None

    def _construct(self, module: ModuleInfo, cls: str, args: list[Val], kwargs: dict[str, Val]) -> Val:
        instance = Val(kind=f"obj:{module.name}:{cls}", items=())
        init = module.classes.get(cls, {}).get("__init__")
        if init is None:
            return instance
        self._invoke(module, init, instance, args, kwargs, keep_self=True)
        return self._last_self.get(id(init), instance)

    def _invoke(self, module: ModuleInfo, func: ast.FunctionDef | ast.AsyncFunctionDef, bound: Val | None,
                args: list[Val], kwargs: dict[str, Val], keep_self: bool = False) -> Val:
        params = [*func.args.posonlyargs, *func.args.args]
        if keep_self:
            self._last_self.pop(id(func), None)  # a call cut short leaves no stale object behind
        env: Env = {}
        values = list(args)
        if bound is not None:
            values.insert(0, bound)
        spread = kwargs.get("**")
        if spread is not None and spread.items is not None:  # f(**{"cmd": x})
            kwargs = {**{str(k): v for k, v in spread.items}, **kwargs}
        defaults = [None] * (len(params) - len(func.args.defaults)) + list(func.args.defaults)
        for index, param in enumerate(params):
            if index < len(values):
                env[param.arg] = values[index]
            elif param.arg in kwargs:
                env[param.arg] = kwargs[param.arg]
            else:
                default = defaults[index]
                env[param.arg] = self._expr(default, {}, Frame(module, None)) if default is not None else CLEAN
        for param, default in zip(func.args.kwonlyargs, func.args.kw_defaults, strict=True):
            env[param.arg] = kwargs.get(param.arg, self._expr(default, {}, Frame(module, None))
                                        if default is not None else CLEAN)
        if func.args.vararg is not None:
            env[func.args.vararg.arg] = Val(elems=tuple(values[len(params):]))
        if func.args.kwarg is not None:
            env[func.args.kwarg.arg] = Val(items=tuple((k, v) for k, v in kwargs.items() if k != "**"))
        key = (id(func), tuple(env[k] for k in sorted(env)))
        if key in self._cache and not keep_self:
            return self._cache[key]
        if id(func) in self._stack or len(self._stack) >= MAX_DEPTH or self._runs >= MAX_RUNS:
            return Val(join_taint(*(v.all_taint() for v in env.values())))
        self._runs += 1
        self._stack.append(id(func))
        try:
            frame = Frame(module, func)
            self._block(func.body, env, frame)
        finally:
            self._stack.pop()
        result = join(*frame.returns) if frame.returns else const(None)
        if keep_self and params:
            self._last_self[id(func)] = env.get(params[0].arg, CLEAN)
        self._cache[key] = result
        return result

    def _library_call(self, node: ast.Call, name: str | None, method: str | None, receiver: Val | None,
                      args: list[Val], kwargs: dict[str, Val], env: Env, frame: Frame) -> Val:
        from foresight.security.code.library import library_result

        return library_result(self, node, name, method, receiver, args, kwargs, env, frame)

    def _html_body(self, value: Val, frame: Frame) -> bool:
        """Whether a route returning ``value`` sends it as HTML: a string returned by a Flask-style view is the
        body (text/html); Django, FastAPI and aiohttp views return response objects, judged where built."""
        if not frame.module.flask:
            return False
        body = value.elems[0] if value.elems else value
        for extra in (value.elems or ())[1:]:
            content_type = extra.item("Content-Type") or extra.item("content-type")
            if content_type is not None and content_type.known and "html" not in str(content_type.const):
                return False
        return body.kind in (None, "html") and body.items is None and body.elems is None

    def _safe_target(self, value: Val) -> bool:
        """A redirect target whose constant start pins the site: ``/path`` (not ``//``) or ``https://host/``."""
        prefix = value.prefix
        if len(prefix) >= 2 and prefix[0] == "/" and prefix[1] not in "/\\":
            return True
        if "://" in prefix:
            rest = prefix.split("://", 1)[1]
            return "/" in rest or "?" in rest or "#" in rest
        return False
