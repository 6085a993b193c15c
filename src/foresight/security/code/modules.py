"""What the interpreter knows about a module before running it, and the frame of one function run."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from foresight.security.code.values import Val

__all__ = ["Env", "Frame", "ModuleInfo"]

_WEB_FRAMEWORKS = frozenset({"flask", "django", "fastapi", "starlette", "bottle", "pyramid", "tornado", "aiohttp",
                             "sanic", "falcon", "quart", "werkzeug", "rest_framework", "litestar", "cherrypy"})


@dataclass
class ModuleInfo:
    """One parsed module of the scanned tree and what its top level defines."""

    name: str
    path: str
    tree: ast.Module
    imports: dict[str, str] = field(default_factory=dict)
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=dict)
    classes: dict[str, dict[str, ast.FunctionDef | ast.AsyncFunctionDef]] = field(default_factory=dict)
    env: dict[str, Val] = field(default_factory=dict)
    fastapi: bool = False
    #: whether the module uses a web framework (only then are ``request`` parameters and views untrusted)
    web: bool = False
    #: whether a view's returned string is the HTML body (Flask, Quart, Bottle)
    flask: bool = False
    #: functions registered as views without a decorator (``app.add_url_rule(..., view_func=f)``)
    views: set[str] = field(default_factory=set)
    #: names bound by ``import x`` (modules for sure; ``from x import y`` may bind any object)
    module_aliases: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        package = self.name.rsplit(".", 1)[0] if "." in self.name else ""
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    self.imports[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else \
                        alias.name.split(".")[0]
                    self.module_aliases.add(alias.asname or alias.name.split(".")[0])
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    node.func.attr in ("add_url_rule", "add_api_route", "add_route", "add_get", "add_post"):
                for view in [*node.args[1:], *(k.value for k in node.keywords if k.arg in ("view_func", "endpoint"))]:
                    if isinstance(view, ast.Name):
                        self.views.add(view.id)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = self.name.split(".")[:-node.level] if node.level <= self.name.count(".") + 1 else []
                    base = ".".join([*parts, base] if base else parts) or package
                for alias in node.names:
                    self.imports[alias.asname or alias.name] = f"{base}.{alias.name}" if base else alias.name
        self.fastapi = any(v.startswith(("fastapi", "starlette")) for v in self.imports.values())
        self.web = any(v.split(".")[0] in _WEB_FRAMEWORKS for v in self.imports.values())
        self.flask = any(v.split(".")[0] in ("flask", "quart", "bottle") for v in self.imports.values())
        for node in self.tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions[node.name] = node
            elif isinstance(node, ast.ClassDef):
                self.classes[node.name] = {n.name: n for n in node.body
                                           if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


@dataclass
class Frame:
    """One function being interpreted: its module, whether it is a view, what it returns, loop exits."""

    module: ModuleInfo
    func: ast.FunctionDef | ast.AsyncFunctionDef | None
    route: bool = False
    returns: list[Val] = field(default_factory=list)
    loop_exits: list[list[dict[str, Val]]] = field(default_factory=list)


Env = dict[str, Val]
