"""Which calls are findings: taint sinks per category, and the API rules that need no taint.

Called by the interpreter on every reachable call with the abstract values of its receiver and
arguments, so dead code never reaches here and constants are already folded (``hashlib.new(alg)``
with ``alg`` a folded ``"md5"`` is judged like ``hashlib.md5()``).
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from foresight.security.code import catalog as cat
from foresight.security.code import rules
from foresight.security.code.values import Val

if TYPE_CHECKING:
    from foresight.security.code.interpreter import Project
    from foresight.security.code.modules import Frame

__all__ = ["check_call", "insecure_cookie_setting"]

_SAFE_YAML_LOADERS = ("SafeLoader", "CSafeLoader", "BaseLoader", "CBaseLoader")
_EXTERNAL_GES = "http://xml.org/sax/features/external-general-entities"


def _arg(args: list[Val], kwargs: dict[str, Val], index: int, *names: str) -> Val | None:
    if index < len(args):
        return args[index]
    return next((kwargs[n] for n in names if n in kwargs), None)


def _truthy(value: Val | None) -> bool | None:
    if value is None or not value.known:
        return None
    return bool(value.const)


def check_call(project: Project, node: ast.Call, name: str | None, method: str | None, receiver: Val | None,
               args: list[Val], kwargs: dict[str, Val], frame: Frame) -> None:
    """Report what this call does wrong, given what its inputs are."""
    _taint_sinks(project, node, name, method, receiver, args, kwargs, frame)
    _api_rules(project, node, name, method, receiver, args, kwargs, frame)


def _taint_sinks(project: Project, node: ast.Call, name: str | None, method: str | None, receiver: Val | None,
                 args: list[Val], kwargs: dict[str, Val], frame: Frame) -> None:
    sink = project._taint_sink
    first = _arg(args, kwargs, 0, "sql", "statement", "query", "operation")
    shown = name or method or "a call"
    # SQL
    if (method in _SQL_METHODS and first is not None and _looks_sql(node, receiver, first)) or (
            cat.matches(name, frozenset({"sqlalchemy.text", "sqlalchemy.sql.text", "pandas.read_sql",
                                         "pandas.read_sql_query", "sqlalchemy.sql.expression.text"})) and first):
        sink(rules.SQLI, "sqli", first, frame, node, f"SQL text in {shown}")
    if method == "extra" and kwargs:
        for key in ("where", "select", "tables"):
            if key in kwargs:
                sink(rules.SQLI, "sqli", kwargs[key], frame, node, "SQL text in QuerySet.extra")
    # commands
    matched = cat.matches(name, cat.SHELL_SINKS)
    if matched and first is not None:
        sink(rules.CMDI, "cmdi", first, frame, node, f"a shell command in {matched}")
    matched = cat.matches(name, cat.SUBPROCESS_CALLS)
    command = _arg(args, kwargs, 0, "args")
    if matched and command is not None:
        shell = _truthy(kwargs.get("shell"))
        if shell or (shell is None and "shell" in kwargs):
            sink(rules.CMDI, "cmdi", command, frame, node, f"a shell command in {matched}")
        elif command.elems is not None and command.elems:
            program = command.elems[0]
            if program.known and str(program.const).rsplit("/", 1)[-1] in {s.rsplit("/", 1)[-1] for s in cat.SHELLS} \
                    and any(e.known and e.const in ("-c", "/c", "/C", "-Command") for e in command.elems):
                sink(rules.CMDI, "cmdi", command, frame, node, f"a shell command in {matched}")
            else:
                sink(rules.CMDI, "cmdi", program, frame, node, f"the program {matched} runs")
        elif command.elems is None and command.kind != "argv-fixed-program":
            sink(rules.CMDI, "cmdi", command, frame, node, f"the program {matched} runs")
    matched = cat.matches(name, cat.CMD_PROGRAM_ARG)
    if matched:
        program = _arg(args, kwargs, cat.CMD_PROGRAM_ARG[matched], "path", "file")
        if program is not None:
            sink(rules.CMDI, "cmdi", program, frame, node, f"the program {matched} runs")
    # code
    if name in _CODE_SINKS and first is not None:
        sink(rules.CODEINJ, "codeinj", _arg(args, kwargs, 0, "source", "name") or first, frame, node, f"{name}()")
    # deserialisation
    matched = cat.matches(name, cat.DESERIALISERS)
    data = _arg(args, kwargs, 0, "data", "s", "stream", "file", "string")
    if matched and data is not None:
        if matched == "torch.load" and _truthy(kwargs.get("weights_only")) or matched == "numpy.load" and not _truthy(kwargs.get("allow_pickle")):
            pass
        else:
            sink(rules.DESERIALIZATION, "deserialization", data, frame, node, matched)
    if cat.matches(name, frozenset({"yaml.load", "yaml.load_all"})) and data is not None:
        loader_node = next((k.value for k in node.keywords if k.arg == "Loader"),
                           node.args[1] if len(node.args) > 1 else None)
        loader = ast.unparse(loader_node) if loader_node is not None else ""
        if not loader.endswith(_SAFE_YAML_LOADERS):
            sink(rules.DESERIALIZATION, "deserialization", data, frame, node, f"{name} with {loader or 'its default'} loader")
    # paths
    matched = cat.matches(name, cat.PATH_SINKS)
    if matched:
        for value in [*args[:2], *(kwargs[k] for k in ("file", "path", "filename", "path_or_buf", "name", "src", "dst")
                                   if k in kwargs)]:
            if value.kind != "file":
                sink(rules.PATHTRAVER, "pathtraver", value, frame, node, f"the path {matched} opens")
    if method == "save" and receiver is not None and receiver.all_taint() and first is not None:
        sink(rules.PATHTRAVER, "pathtraver", first, frame, node, "the path an upload is saved to")
    if method in cat.PATH_METHODS and receiver is not None and receiver.kind == "path":
        sink(rules.PATHTRAVER, "pathtraver", receiver, frame, node, f"the path Path.{method} opens")
    # HTML
    matched = cat.matches(name, cat.HTML_SINKS)
    if matched and name is not None:
        body = _arg(args, kwargs, 0, "source", "content", "response", "body", "html")
        media = kwargs.get("mimetype") or kwargs.get("content_type") or kwargs.get("media_type")
        plain = media is not None and media.known and "html" not in str(media.const)
        if body is not None and not plain:
            sink(rules.XSS, "xss", body, frame, node, f"HTML in {matched}")
            if matched.rsplit(".", 1)[-1] in ("render_template_string", "Template"):  # template injection runs code
                sink(rules.CODEINJ, "codeinj", body, frame, node, f"template source in {matched}")
    if method == "from_string" and first is not None and (
            (receiver is not None and receiver.kind in ("jinja-env", "jinja-env-raw")) or
            _owner_text(node).endswith(("env", "environment"))):
        sink(rules.XSS, "xss", first, frame, node, "template source in from_string")
        sink(rules.CODEINJ, "codeinj", first, frame, node, "template source in from_string")
    if method in ("render", "stream") and receiver is not None and receiver.kind == "template-raw":
        for value in [*args, *kwargs.values()]:
            sink(rules.XSS, "xss", value, frame, node, "a jinja2 Template without autoescape")
    if method == "write" and receiver is not None and receiver.kind == "response":
        if first is not None:
            sink(rules.XSS, "xss", first, frame, node, "the HTML response body")
    # XPath
    if method == "xpath" and first is not None:
        sink(rules.XPATHI, "xpathi", first, frame, node, "an XPath expression")
    if cat.matches(name, frozenset({"lxml.etree.XPath", "lxml.etree.ETXPath", "elementpath.select",
                                    "elementpath.iter_select"})):
        query = _arg(args, kwargs, 0 if "XPath" in (name or "") else 1, "path", "query")
        if query is not None:
            sink(rules.XPATHI, "xpathi", query, frame, node, "an XPath expression")
    if method in ("find", "findall", "findtext", "iterfind") and receiver is not None and first is not None and (
            receiver.kind == "xml" or (not receiver.known and first.prefix.startswith((".", "/")))):
        sink(rules.XPATHI, "xpathi", first, frame, node, f"an ElementPath expression in {method}")
    # LDAP
    if method in cat.LDAP_SEARCH_METHODS and receiver is not None and (
            method != "search" or receiver.kind == "ldap" or _looks_ldap(node)):
        for value in [*args[:3], *(kwargs[k] for k in ("base", "filterstr", "search_filter", "search_base", "filter")
                                   if k in kwargs)]:
            sink(rules.LDAPI, "ldapi", value, frame, node, f"an LDAP {method}")
    # redirects
    matched = cat.matches(name, cat.REDIRECT_SINKS)
    if matched:
        target = _arg(args, kwargs, 0, "location", "url", "to", "redirect_to")
        if target is not None and not project._safe_target(target):
            sink(rules.REDIRECT, "redirect", target, frame, node, f"the target of {matched}")
    # trust boundary
    if method in ("update", "setdefault", "__setitem__") and isinstance(node.func, ast.Attribute):
        owner = project._qualname(node.func.value, frame)
        if owner is not None and (cat.matches(owner, frozenset({"flask.session", "session"})) or
                                  owner.endswith(".session")):
            for value in [*args, *kwargs.values()]:
                sink(rules.TRUSTBOUND, "trustbound", value, frame, node, "the session")


#: calls that run or import the code their first argument names
_CODE_SINKS = frozenset({"eval", "exec", "compile", "builtins.eval", "builtins.exec", "execfile", "__import__",
                         "importlib.import_module", "runpy.run_path", "runpy.run_module", "code.interact"})
_SQL_METHODS = frozenset({"execute", "executemany", "executescript", "raw", "mogrify", "exec_driver_sql"})
_DB_OWNERS = ("cursor", "cur", "conn", "connection", "db", "database", "session", "engine", "sql", "sqlite", "pg",
              "c", "con", "dbconn", "objects", "manager")


def _owner_text(node: ast.Call) -> str:
    """The receiver of a method call as written, lower case (``self.conn`` -> ``self.conn``)."""
    return ast.unparse(node.func.value).lower() if isinstance(node.func, ast.Attribute) else ""


def _looks_sql(node: ast.Call, receiver: Val | None, text: Val) -> bool:
    """Whether ``x.execute(text)`` runs SQL: a database receiver, or a text that starts like SQL."""
    if receiver is not None and receiver.kind == "db":
        return True
    if text.prefix.lstrip().lower().startswith(cat.SQL_WORDS):
        return True
    owner = _owner_text(node)
    last = owner.rsplit(".", 1)[-1].rstrip("()")
    return last in _DB_OWNERS or any(word in last for word in ("cursor", "conn", "db", "sql", "session", "engine"))


#: framework settings that decide a cookie's Secure flag (Flask, Django, Flask-Login)
_COOKIE_SETTINGS = frozenset({"SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE",
                              "LANGUAGE_COOKIE_SECURE"})


def insecure_cookie_setting(name: str, value: Val) -> bool:
    """``SESSION_COOKIE_SECURE = False`` (a Django setting, or ``app.config[...]``)."""
    return name in _COOKIE_SETTINGS and _truthy(value) is False


def _looks_ldap(node: ast.Call) -> bool:
    text = ast.unparse(node.func).lower()
    return "ldap" in text or "conn" in text


def _api_rules(project: Project, node: ast.Call, name: str | None, method: str | None, receiver: Val | None,
               args: list[Val], kwargs: dict[str, Val], frame: Frame) -> None:
    report = project._report
    # weak hashes
    matched = cat.matches(name, cat.HASH_CALLS)
    security = _truthy(kwargs.get("usedforsecurity"))
    if matched and security is not False:
        report(rules.HASH, frame, node, f"{matched} is a broken hash")
    if cat.matches(name, frozenset({"hashlib.new", "hashlib.pbkdf2_hmac"})) and security is not False:
        algorithm = _arg(args, kwargs, 0, "name", "hash_name")
        if algorithm is not None and algorithm.known and str(algorithm.const).lower() in cat.WEAK_HASHES:
            report(rules.HASH, frame, node, f"{name}('{algorithm.const}') is a broken hash")
    if cat.matches(name, frozenset({"hmac.new", "hmac.digest"})):
        digest = _arg(args, kwargs, 2, "digestmod", "digest")
        digest_node = next((k.value for k in node.keywords if k.arg in ("digestmod", "digest")),
                           node.args[2] if len(node.args) > 2 else None)
        weak = digest is not None and digest.known and str(digest.const).lower() in cat.WEAK_HASHES
        if digest_node is not None and not weak:
            weak = (project._qualname(digest_node, frame) or "").lower().rsplit(".", 1)[-1] in cat.WEAK_HASHES
        if weak:
            report(rules.HASH, frame, node, "HMAC over a broken hash")
    # cookies
    if method in ("set_cookie", "set_signed_cookie") and (len(args) >= 2 or "value" in kwargs or "key" in kwargs):
        for value in [*args, *kwargs.values()]:
            project.weak_sink(value, "cookie", frame, node)
        secure_value = kwargs.get("secure")
        spread = kwargs.get("**")
        if secure_value is None and spread is not None:
            secure_value = spread.item("secure") if spread.items is not None else Val(const=None, taint=spread.taint)
            if secure_value is None and (spread.items is None or spread.taint):
                return  # options from elsewhere: unknown
        secure = _truthy(secure_value)
        if secure is not True and not (secure is None and secure_value is not None):
            report(rules.SECURECOOKIE, frame, node, f"{method} without secure=True")
    for key in _COOKIE_SETTINGS & kwargs.keys():
        if _truthy(kwargs[key]) is False:
            report(rules.SECURECOOKIE, frame, node, f"{key}=False sends the cookie over plain HTTP")
    # XML external entities
    if cat.matches(name, frozenset({"lxml.etree.XMLParser", "lxml.etree.XMLPullParser", "lxml.etree.iterparse"})):
        if _truthy(kwargs.get("resolve_entities")) is True or _truthy(kwargs.get("no_network")) is False:
            report(rules.XXE, frame, node, f"{name} resolves external entities")
    if method == "setFeature" and len(args) >= 2:
        feature_node = node.args[0] if node.args else None
        feature = args[0]
        named = (project._qualname(feature_node, frame) or "") if feature_node is not None else ""
        external = named.endswith(("feature_external_ges", "feature_external_pes")) or \
            (feature.known and str(feature.const).startswith("http://xml.org/sax/features/external-"))
        if external and _truthy(args[1]) is True:
            report(rules.XXE, frame, node, "an XML SAX parser resolves external entities")
    if method in ("fromstring", "parse", "XML", "iterparse", "XMLID") and name is not None and name.startswith("lxml"):
        parser = _arg(args, kwargs, 1, "parser")
        if parser is not None and parser.kind == "xml-parser-unsafe":
            report(rules.XXE, frame, node, "parsing with an lxml parser that resolves entities (lxml's default)")
        elif parser is None and args:
            project._taint_sink(rules.XXE, "xxe", args[0], frame, node,
                                f"{name} with lxml's default parser (resolves entities)")
    if cat.matches(name, frozenset({"xmltodict.parse"})) and _truthy(kwargs.get("disable_entities")) is False:
        report(rules.XXE, frame, node, "xmltodict.parse with entities enabled")
    if receiver is not None and receiver.kind == "sax-unsafe" and method == "parse":
        report(rules.XXE, frame, node, "parsing with a SAX parser that resolves external entities")
