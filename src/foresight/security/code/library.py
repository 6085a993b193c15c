"""What a call to code outside the scanned tree returns: sources, sanitisers, containers, propagation.

Anything not known keeps the untrusted data of its arguments and receiver (``"-".join(parts)``,
``json.dumps(x)``, ``x.strip()``): missing a sanitiser costs a false positive, missing a propagator a
missed injection, and the second is worse for a security gate. Container methods update the
container in place (``items.append(x)``, ``d.pop("k")``), so an element overwritten or removed
stops counting.
"""

from __future__ import annotations

import ast
import posixpath
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from foresight.security.code import catalog as cat
from foresight.security.code.values import (
    CATEGORIES,
    CLEAN,
    UNKNOWN,
    WEAK_RANDOM,
    Label,
    Val,
    join,
    join_taint,
    sanitise,
    weak_part,
)

if TYPE_CHECKING:
    from foresight.security.code.interpreter import Project
    from foresight.security.code.modules import Env, Frame

__all__ = ["library_result"]

_TYPE_CONVERTERS = frozenset({"int", "float", "bool"})
#: calls that open a database connection (its cursor's execute runs SQL)
_DB_CONNECT = frozenset({"sqlite3.connect", "psycopg2.connect", "psycopg.connect", "pymysql.connect",
                         "MySQLdb.connect", "mysql.connector.connect", "sqlalchemy.create_engine", "cx_Oracle.connect",
                         "oracledb.connect", "pyodbc.connect", "duckdb.connect", "aiosqlite.connect", "asyncpg.connect"})
_NOT_DRAWS = frozenset({"SystemRandom", "seed", "default_rng", "Generator", "Random", "getstate", "setstate",
                        "RandomState"})
#: builtins folded when every argument is a constant (so ``if len("abc") > 5:`` is a dead branch)
_PURE_BUILTINS: dict[str, Callable[..., object]] = {
    "len": len, "str": str, "int": int, "float": float, "abs": abs, "min": min, "max": max, "bool": bool,
    "ord": ord, "chr": chr, "round": round, "repr": repr, "hex": hex, "oct": oct, "bin": bin, "sum": sum,
    "os.path.join": posixpath.join, "os.path.basename": posixpath.basename, "os.path.dirname": posixpath.dirname}
#: calls that build a response object (returning one from a view is not returning HTML text)
_RESPONSES = cat.REDIRECT_SINKS | cat.HTML_SINKS | frozenset({
    "flask.render_template", "render_template", "flask.send_file", "flask.send_from_directory",
    "django.shortcuts.render", "render", "django.http.JsonResponse", "JsonResponse", "fastapi.responses.JSONResponse",
    "JSONResponse", "flask.abort", "abort", "fastapi.responses.FileResponse", "FileResponse",
    "fastapi.responses.PlainTextResponse", "PlainTextResponse"})


def _propagate(receiver: Val | None, args: list[Val], kwargs: dict[str, Val]) -> Val:
    parts = [v.all_taint() for v in (*args, *kwargs.values())]
    if receiver is not None:
        parts.append(receiver.all_taint())
    return Val(join_taint(*parts)) if parts else CLEAN


def library_result(project: Project, node: ast.Call, name: str | None, method: str | None, receiver: Val | None,
                   args: list[Val], kwargs: dict[str, Val], env: Env, frame: Frame) -> Val:
    """The abstract value ``node`` evaluates to (and the container it mutates, updated in ``env``)."""
    if name in _PURE_BUILTINS and args and all(a.known for a in args) and not kwargs:
        folded = _fold_call(_PURE_BUILTINS[name], [a.const for a in args])
        if folded is not UNKNOWN:
            return Val(const=folded, prefix=folded if isinstance(folded, str) else "")
    weak = _weak_random(name, method, receiver)
    if weak is not None:
        return Val(frozenset({Label(f"{WEAK_RANDOM} from {weak} (line {node.lineno})", CATEGORIES)}))
    if name is not None:
        source = cat.matches(name, cat.SOURCE_CALLS)
        if source is not None:
            return Val(frozenset({Label(f"{cat.SOURCE_CALLS[source]} (line {node.lineno})")}))
        if cat.matches(name, cat.CLEAN_RESULT) is not None:
            return CLEAN
        sanitiser = cat.matches(name, cat.SANITISERS)
        if sanitiser is not None and (sanitiser != "escape" or name == "escape"):
            value = args[0] if args else CLEAN
            categories = cat.SANITISERS[sanitiser]
            if categories is None and all(a.known for a in args) and name in ("int", "float", "str", "bool"):
                try:
                    return Val(const={"int": int, "float": float, "bool": bool}[name](*(a.const for a in args)))
                except (TypeError, ValueError, OverflowError):
                    return CLEAN
            return sanitise(value, categories)
        if cat.matches(name, frozenset({"markupsafe.Markup", "flask.Markup", "Markup"})) is not None:
            return Val(args[0].all_taint() if args else frozenset(), kind="markup")
        if cat.matches(name, _RESPONSES) is not None:
            return Val(kind="response")
        if cat.matches(name, frozenset({"shlex.split"})) and args:
            first_word = args[0].prefix.split(" ")
            safe_program = len(first_word) > 1 and first_word[0] != ""
            return Val(args[0].all_taint(), kind="argv-fixed-program" if safe_program else None)
        folded = _fold_builtin(name, args)
        if folded is not None:
            return folded
        if name == "open" or name in ("io.open", "codecs.open", "builtins.open"):
            path = _arg0(args, kwargs, "file")
            if path is not None and path.known:  # a file the program names itself is as trusted as the program
                return Val(kind="file")
            return Val(join_taint(frozenset({Label(f"file contents (line {node.lineno})")}),
                                  path.all_taint() if path is not None else frozenset()), kind="file")
        if cat.matches(name, frozenset({"pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath", "os.path.join",
                                        "os.path.abspath", "os.path.realpath", "os.path.normpath"})):
            return Val(_propagate(None, args, kwargs).taint, kind="path" if "Path" in name else None,
                       prefix=args[0].prefix if args else "")
        if cat.matches(name, frozenset({"lxml.etree.XMLParser"})):
            unsafe = kwargs.get("resolve_entities")
            safe = unsafe is not None and unsafe.known and not unsafe.const
            return Val(kind="xml-parser" if safe else "xml-parser-unsafe")
        if cat.matches(name, frozenset({"jinja2.Environment", "jinja2.sandbox.SandboxedEnvironment"})):
            escaped = kwargs.get("autoescape")
            raw = escaped is None or (escaped.known and not escaped.const)
            return Val(kind="jinja-env-raw" if raw else "jinja-env")
        if cat.matches(name, _DB_CONNECT) is not None:
            return Val(kind="db")
        if cat.matches(name, frozenset({"xml.sax.make_parser"})):
            return Val(kind="sax")
        if cat.matches(name, frozenset({"jinja2.Template"})):
            escaped = kwargs.get("autoescape")
            return Val(_propagate(None, args, {}).taint,
                       kind="template" if escaped is not None and escaped.known and escaped.const else "template-raw")
        if name.startswith(("ldap.", "ldap3.")) and name.rsplit(".", 1)[-1] in ("initialize", "Connection",
                                                                                "ldapobject", "open"):
            return Val(kind="ldap")
        if name.startswith(("lxml.etree.", "xml.etree.", "defusedxml.")) and \
                name.rsplit(".", 1)[-1] in ("fromstring", "XML", "parse", "ElementTree", "getroot", "Element"):
            return Val(_propagate(None, args, kwargs).taint, kind="xml")
        if name == "random.Random":
            return Val(kind="weak-rng")
        if name in ("str", "repr", "format", "ascii") and args:
            value = args[0]
            if value.known:
                return Val(const=_safe_str(value.const), prefix=_safe_str(value.const) or "")
            return Val(value.all_taint(), prefix=value.prefix)
        if name in ("list", "tuple") and args and args[0].elems is not None:
            return replace(args[0], kind=name, const=UNKNOWN)
        if name == "dict" and not args:
            return Val(items=tuple(kwargs.items()))
        if name in ("list", "dict", "set", "tuple", "collections.deque", "collections.OrderedDict") and not args \
                and not kwargs:
            return Val(items=()) if name.endswith(("dict", "OrderedDict")) else Val(elems=(), kind="list")
        if name in ("reversed", "sorted") and args and args[0].elems is not None:
            return replace(args[0], elems=tuple(reversed(args[0].elems)) if name == "reversed" else None,
                           taint=args[0].all_taint() if name == "sorted" else args[0].taint)
        if cat.matches(name, frozenset({"re.sub", "re.subn"})) and len(args) >= 3:
            pattern, replacement = args[0], args[1]
            if pattern.known and isinstance(pattern.const, str) and pattern.const.startswith("[^") and \
                    replacement.known and replacement.const == "":
                return sanitise(args[2], None)
            return Val(args[2].all_taint())
    if method is not None and receiver is not None:
        return _method_result(project, node, method, receiver, args, kwargs, env, frame)
    return _propagate(receiver, args, kwargs)


def _arg0(args: list[Val], kwargs: dict[str, Val], name: str) -> Val | None:
    return args[0] if args else kwargs.get(name)


def _weak_random(name: str | None, method: str | None, receiver: Val | None) -> str | None:
    """The generator call this is when it draws from a predictable generator (module random, numpy.random)."""
    if receiver is not None and receiver.kind == "weak-rng" and method not in ("seed", "getstate", "setstate"):
        return f"random.Random().{method}"
    if name is not None and "." in name:
        module, function = name.rsplit(".", 1)
        if module in cat.WEAK_RANDOM_MODULES and function not in _NOT_DRAWS:
            return name
    return None


def _fold_call(fn: Callable[..., object], args: list[object]) -> object:
    try:
        result = fn(*args)
    except (TypeError, ValueError, OverflowError, KeyError, IndexError):
        return UNKNOWN
    return result if isinstance(result, (str, int, float, bool, bytes, type(None))) and \
        len(str(result)) <= 10_000 else UNKNOWN


def _safe_str(value: object) -> str | None:
    try:
        return str(value)
    except (ValueError, TypeError):  # an int too large to print
        return None


def _fold_builtin(name: str, args: list[Val]) -> Val | None:
    if name == "len" and args and args[0].elems is not None:
        return Val(const=len(args[0].elems))
    return None


def _method_result(project: Project, node: ast.Call, method: str, receiver: Val, args: list[Val],
                   kwargs: dict[str, Val], env: Env, frame: Frame) -> Val:
    owner = node.func.value if isinstance(node.func, ast.Attribute) else None
    owner_name = owner.id if isinstance(owner, ast.Name) else None

    def store(value: Val) -> None:
        if owner_name is not None:
            env[owner_name] = value

    if method in ("format", "join") and receiver.kind == "markup":
        return Val(receiver.all_taint(), kind="markup")  # Markup.format escapes its arguments
    if method in cat.CLEAN_METHODS:
        return Val(weak_part(_propagate(receiver, args, kwargs).taint))
    if receiver.known and isinstance(receiver.const, str) and all(a.known for a in args) and not kwargs and \
            method in ("upper", "lower", "strip", "replace", "format", "join", "lstrip", "rstrip", "title", "split"):
        try:
            return Val(const=getattr(receiver.const, method)(*(a.const for a in args)))
        except (TypeError, ValueError, AttributeError):
            return CLEAN
    if method == "format" and receiver.known and isinstance(receiver.const, str):
        return Val(_propagate(None, args, kwargs).taint, prefix=receiver.const.split("{")[0])
    if method == "join" and receiver.known:
        return Val(args[0].all_taint() if args else frozenset())
    if method == "get" and kwargs.get("type") is not None and isinstance(node.func, ast.Attribute):
        converter = next((ast.unparse(k.value) for k in node.keywords if k.arg == "type"), "")
        if converter in _TYPE_CONVERTERS:
            return CLEAN
    if receiver.items is not None:
        result = _dict_method(method, receiver, args, store)
        if result is not None:
            return result
    if receiver.elems is not None:
        result = _list_method(method, receiver, args, store)
        if result is not None:
            return result
    if method == "setFeature" and receiver.kind == "sax" and len(args) >= 2 and args[1].known and args[1].const:
        store(replace(receiver, kind="sax-unsafe"))
        return CLEAN
    if method in ("append", "add", "extend", "insert", "update", "appendleft", "setdefault") and owner_name:
        added = join_taint(*(a.all_taint() for a in args), *(v.all_taint() for v in kwargs.values()))
        store(replace(receiver, taint=join_taint(receiver.taint, added), const=UNKNOWN))
        return CLEAN if method != "setdefault" else Val(join_taint(receiver.all_taint(), added))
    if method in ("getroot", "find", "findall", "iterfind") and receiver.kind == "xml":
        return Val(receiver.all_taint(), kind="xml")
    if method in ("read", "readline", "readlines", "read_text", "read_bytes") and receiver.kind in ("file", "path"):
        if receiver.kind == "path":
            if receiver.known or (receiver.prefix and not receiver.all_taint()):
                return CLEAN
            return Val(join_taint(frozenset({Label(f"file contents (line {node.lineno})")}), receiver.all_taint()))
        return Val(receiver.all_taint())
    if method in ("cursor", "connect", "begin", "raw_connection") and receiver.kind == "db":
        return Val(kind="db")
    if method in ("cursor", "connect") or receiver.kind == "ldap":
        return Val(kind=receiver.kind)
    if method in ("resolve", "absolute", "joinpath", "with_name", "with_suffix", "expanduser") and receiver.kind == "path":
        return Val(_propagate(receiver, args, kwargs).taint, kind="path")
    if method in ("get", "getlist", "get_json", "getvalue", "pop", "values", "items", "keys", "lists", "dict",
                  "to_dict", "json", "form", "query_params", "path_params", "cookies", "body"):
        return _propagate(receiver, args, kwargs)
    if method in ("from_string", "get_template") and receiver.kind in ("jinja-env", "jinja-env-raw"):
        return Val(_propagate(None, args, kwargs).taint,
                   kind="template-raw" if receiver.kind == "jinja-env-raw" else "template")
    if method in ("render", "stream") and receiver.kind in ("template", "template-raw"):
        return Val(join_taint(receiver.all_taint(), *(a.all_taint() for a in (*args, *kwargs.values())))
                   if receiver.kind == "template-raw" else receiver.all_taint(), kind="html")
    if not receiver.all_taint() and project.is_object_method(node, frame):
        # a method of a local object (a database query, a client) given untrusted arguments: its result is
        # not the attacker's data itself (so it may cross into the session), but may still carry it
        return sanitise(_propagate(None, args, kwargs), {"trustbound"})
    return _propagate(receiver, args, kwargs)


def _dict_method(method: str, receiver: Val, args: list[Val], store: object) -> Val | None:
    items = receiver.items or ()
    key = args[0] if args else None
    if method == "get" and key is not None and not key.known and not receiver.taint:
        return join(*(v for _, v in items), args[1] if len(args) > 1 else Val(const=None))
    if method in ("get", "pop") and key is not None and key.known:
        found = receiver.item(key.const)
        default = args[1] if len(args) > 1 else Val(const=None)
        if method == "pop":
            store(replace(receiver, items=tuple((k, v) for k, v in items if k != key.const)))  # type: ignore[operator]
        if found is not None:
            return found
        return join(default, Val(receiver.taint)) if receiver.taint else default
    if method == "setdefault" and key is not None and key.known:
        found = receiver.item(key.const)
        if found is not None:
            return found
        value = args[1] if len(args) > 1 else Val(const=None)
        store(receiver.with_item(key.const, value))  # type: ignore[operator]
        return value
    if method == "update" and args and args[0].items is not None:
        merged = receiver
        for k, v in args[0].items or ():
            merged = merged.with_item(k, v)
        store(replace(merged, taint=join_taint(merged.taint, args[0].taint)))  # type: ignore[operator]
        return CLEAN
    if method == "values":
        return Val(receiver.all_taint())
    if method == "keys":
        return Val(receiver.taint)
    if method == "items":
        return Val(receiver.all_taint())
    if method == "copy":
        return receiver
    if method == "clear":
        store(Val(items=()))  # type: ignore[operator]
        return CLEAN
    return None


def _list_method(method: str, receiver: Val, args: list[Val], store: object) -> Val | None:
    elems = list(receiver.elems or ())
    if method == "append" and args:
        store(replace(receiver, elems=(*elems, args[0]), const=UNKNOWN))  # type: ignore[operator]
        return CLEAN
    if method == "insert" and len(args) == 2 and args[0].known and isinstance(args[0].const, int):
        elems.insert(args[0].const, args[1])
        store(replace(receiver, elems=tuple(elems)))  # type: ignore[operator]
        return CLEAN
    if method == "extend" and args and args[0].elems is not None:
        store(replace(receiver, elems=(*elems, *(args[0].elems or ()))))  # type: ignore[operator]
        return CLEAN
    if method == "pop":
        index = args[0].const if args and args[0].known else (-1 if not args else None)
        if isinstance(index, int) and elems and -len(elems) <= index < len(elems):
            removed = elems.pop(index)
            store(replace(receiver, elems=tuple(elems)))  # type: ignore[operator]
            return removed
        return None
    if method == "remove" and args and args[0].known:
        for position, element in enumerate(elems):
            if element.known and element.const == args[0].const:
                del elems[position]
                store(replace(receiver, elems=tuple(elems)))  # type: ignore[operator]
                return CLEAN
        return CLEAN
    if method == "reverse":
        store(replace(receiver, elems=tuple(reversed(elems))))  # type: ignore[operator]
        return CLEAN
    if method == "clear":
        store(replace(receiver, elems=(), taint=frozenset()))  # type: ignore[operator]
        return CLEAN
    if method == "copy":
        return receiver
    return None
