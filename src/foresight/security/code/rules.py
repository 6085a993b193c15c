"""The rules of the Python code scanner (ids ``FSC0nn``: stable, CI suppressions key on them).

One rule per weakness, its CWE the first SARIF tag. Taint rules fire when data an attacker controls
(request data, the environment, command-line arguments, file contents) reaches the rule's sink
without the sanitiser that makes it safe there; API rules fire on a call whatever its arguments.
"""

from __future__ import annotations

from foresight.security.findings import RULES, Level, Rule

__all__ = ["BY_CATEGORY", "CMDI", "CODEINJ", "DESERIALIZATION", "HASH", "LDAPI", "PARSE", "PATHTRAVER", "REDIRECT",
           "SECURECOOKIE", "SQLI", "TRUSTBOUND", "WEAKRAND", "XPATHI", "XSS", "XXE"]

_TAINT = ("Data from a request (Flask, FastAPI, Django), the environment, the command line or a file reaches "
          "this call unchanged in a way that matters here.")

SQLI = RULES.add(Rule(
    "FSC001", "sql-injection", "Untrusted data is built into an SQL statement.",
    f"{_TAINT} Pass it as a parameter (cursor.execute('... WHERE id = ?', (value,)), SQLAlchemy bound "
    "parameters) instead of formatting it into the statement text.", 89, Level.ERROR))
CMDI = RULES.add(Rule(
    "FSC002", "command-injection", "Untrusted data reaches a shell command or the program a process runs.",
    f"{_TAINT} Run a fixed program with an argument list and shell=False, or quote with shlex.quote.",
    78, Level.ERROR))
CODEINJ = RULES.add(Rule(
    "FSC003", "code-injection", "Untrusted data is evaluated as Python code (eval, exec, compile).",
    f"{_TAINT} Never evaluate it; parse literals with ast.literal_eval or json.loads.", 94, Level.ERROR))
DESERIALIZATION = RULES.add(Rule(
    "FSC004", "unsafe-deserialization", "Untrusted data is deserialised by a loader that can run code.",
    f"{_TAINT} pickle, marshal, jsonpickle, dill and yaml.load without SafeLoader build arbitrary objects "
    "and call them. Use json, or yaml.safe_load.", 502, Level.ERROR))
PATHTRAVER = RULES.add(Rule(
    "FSC005", "path-traversal", "Untrusted data chooses a file path that is opened, written or removed.",
    f"{_TAINT} '..' or an absolute path leaves the intended folder. Keep os.path.basename of it, or resolve "
    "it and check it stays under the base folder, or use send_from_directory / safe_join.", 22, Level.ERROR))
XSS = RULES.add(Rule(
    "FSC006", "cross-site-scripting", "Untrusted data is written into an HTML response or template source.",
    f"{_TAINT} Escape it (markupsafe.escape, html.escape), or render it through an autoescaping template "
    "(render_template with a .html file) instead of building HTML or template text from it.", 79, Level.ERROR))
XPATHI = RULES.add(Rule(
    "FSC007", "xpath-injection", "Untrusted data is built into an XPath expression.",
    f"{_TAINT} Pass it as an XPath variable (tree.xpath('//u[@name=$n]', n=value)).", 643, Level.ERROR))
LDAPI = RULES.add(Rule(
    "FSC008", "ldap-injection", "Untrusted data is built into an LDAP search filter or base.",
    f"{_TAINT} Escape it with ldap.filter.escape_filter_chars / ldap3's escape_filter_chars.", 90, Level.ERROR))
REDIRECT = RULES.add(Rule(
    "FSC009", "open-redirect", "Untrusted data chooses where a response redirects to.",
    f"{_TAINT} Redirect to a fixed path, check the target with url_has_allowed_host_and_scheme, or against an "
    "allowlist.", 601, Level.ERROR))
TRUSTBOUND = RULES.add(Rule(
    "FSC010", "trust-boundary-violation", "Untrusted data is stored in the session beside trusted state.",
    f"{_TAINT} Later code trusts what the session holds. Validate it before storing it.", 501, Level.WARNING))
HASH = RULES.add(Rule(
    "FSC011", "weak-hash", "A broken hash (MD5, SHA-1) is used.",
    "MD5 and SHA-1 collide cheaply: they must not protect passwords, signatures or integrity. Use SHA-256 or "
    "better (hashlib.sha256, hashlib.scrypt for passwords); pass usedforsecurity=False where it is not "
    "security.", 328, Level.WARNING))
WEAKRAND = RULES.add(Rule(
    "FSC012", "weak-random", "The random module makes a value (tokens, passwords, ids need secrets).",
    "random is a Mersenne Twister: its outputs are predictable from earlier ones. Use secrets (token_hex, "
    "token_urlsafe, choice) or random.SystemRandom for anything an attacker must not guess.", 330,
    Level.WARNING))
SECURECOOKIE = RULES.add(Rule(
    "FSC013", "cookie-without-secure", "A cookie is set without the Secure flag.",
    "Without secure=True the browser also sends the cookie over plain HTTP, where it can be read. Pass "
    "secure=True (and httponly=True, samesite).", 614, Level.WARNING))
XXE = RULES.add(Rule(
    "FSC014", "xml-external-entities", "An XML parser resolves external entities.",
    "A parser that resolves external entities (lxml's XMLParser(resolve_entities=True) or its default parser "
    "on untrusted input, xml.sax with feature_external_ges) reads local files or URLs an attacker names. Use "
    "defusedxml, or XMLParser(resolve_entities=False, no_network=True).", 611, Level.ERROR))
PARSE = RULES.add(Rule(
    "FSC015", "python-unparsable", "Part of a Python file could not be parsed, so it was not analysed.",
    "The scanner parses Python 3.11 syntax and rewrites newer constructs it knows; statements it still "
    "cannot parse are skipped and reported here, so nothing is dropped silently.", 20, Level.NOTE))

#: benchmark category -> the rule whose findings carry its CWE
BY_CATEGORY: dict[str, Rule] = {
    "cmdi": CMDI, "codeinj": CODEINJ, "deserialization": DESERIALIZATION, "hash": HASH, "ldapi": LDAPI,
    "pathtraver": PATHTRAVER, "redirect": REDIRECT, "securecookie": SECURECOOKIE, "sqli": SQLI,
    "trustbound": TRUSTBOUND, "weakrand": WEAKRAND, "xpathi": XPATHI, "xss": XSS, "xxe": XXE,
}
