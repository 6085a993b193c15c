"""What the taint interpreter knows about outside code: sources, sanitisers, sinks, by qualified name.

Names are the dotted paths a call resolves to through the module's imports (``from flask import
request as r`` makes ``r.args`` the name ``flask.request.args``); a method called on a value whose
origin is unknown is known by its attribute name alone (``cursor.execute``).
"""

from __future__ import annotations

import re

__all__ = [
    "CLEAN_METHODS",
    "CLEAN_RESULT",
    "CMD_PROGRAM_ARG",
    "DESERIALISERS",
    "HASH_CALLS",
    "HTML_SINKS",
    "LDAP_SEARCH_METHODS",
    "LOCAL_ORIGINS",
    "PATH_METHODS",
    "PATH_SINKS",
    "REDIRECT_SINKS",
    "SANITISERS",
    "SHELLS",
    "SHELL_SINKS",
    "SOURCE_CALLS",
    "SOURCE_NAMES",
    "SQL_WORDS",
    "SUBPROCESS_CALLS",
    "WEAK_HASHES",
    "WEAK_RANDOM_MODULES",
    "matches",
    "security_name",
]


def matches(name: str | None, known: frozenset[str] | dict[str, object]) -> str | None:
    """The entry of ``known`` that ``name`` is, or ends with after a dot (``flask.redirect`` ~ ``redirect``)."""
    if name is None:
        return None
    if name in known:
        return name
    parts = name.split(".")
    for start in range(1, len(parts)):
        tail = ".".join(parts[start:])
        if tail in known:
            return tail
    return None


#: names whose value is untrusted, and what to call it in a message
SOURCE_NAMES: dict[str, str] = {
    "flask.request": "request data", "os.environ": "the environment", "sys.argv": "command-line arguments",
    "sys.stdin": "standard input", "bottle.request": "request data", "tornado.web.RequestHandler": "request data",
}
#: origins the person running the program controls (not a remote attacker): findings from them are warnings
LOCAL_ORIGINS = ("the environment", "command-line arguments", "standard input", "input()", "file contents")
#: calls whose result is untrusted
SOURCE_CALLS: dict[str, str] = {
    "input": "input()", "raw_input": "input()", "os.getenv": "the environment", "os.getenvb": "the environment",
    "flask.request.get_json": "request data",
}

_ALL = None
_QUOTED = frozenset({"xss", "sqli", "cmdi", "ldapi", "xpathi", "codeinj", "trustbound"})
#: sanitiser -> the categories its result is safe for (None: every category)
SANITISERS: dict[str, frozenset[str] | None] = {
    "int": _ALL, "float": _ALL, "bool": _ALL, "complex": _ALL, "len": _ALL, "abs": _ALL, "round": _ALL,
    "ord": _ALL, "hash": _ALL, "uuid.UUID": _ALL, "decimal.Decimal": _ALL, "id": _ALL, "isinstance": _ALL,
    "datetime.date.fromisoformat": _ALL, "datetime.datetime.fromisoformat": _ALL,
    "base64.b64encode": _ALL, "base64.urlsafe_b64encode": _ALL, "binascii.hexlify": _ALL,
    "base64.b32encode": _ALL, "base64.b16encode": _ALL,
    "shlex.quote": frozenset({"cmdi"}), "pipes.quote": frozenset({"cmdi"}),
    "html.escape": frozenset({"xss"}), "markupsafe.escape": frozenset({"xss"}), "flask.escape": frozenset({"xss"}),
    "cgi.escape": frozenset({"xss"}), "django.utils.html.escape": frozenset({"xss"}),
    "django.utils.html.conditional_escape": frozenset({"xss"}), "bleach.clean": frozenset({"xss"}),
    "xml.sax.saxutils.escape": frozenset({"xss"}), "jinja2.escape": frozenset({"xss"}),
    "markupsafe.Markup.escape": frozenset({"xss"}), "escape": frozenset({"xss"}),
    "django.utils.html.format_html": frozenset({"xss"}), "django.utils.html.strip_tags": frozenset({"xss"}),
    "django.utils.html.urlize": frozenset({"xss"}), "nh3.clean": frozenset({"xss"}),
    "os.path.basename": frozenset({"pathtraver"}), "werkzeug.utils.secure_filename": frozenset({"pathtraver"}),
    "werkzeug.security.safe_join": frozenset({"pathtraver"}), "werkzeug.utils.safe_join": frozenset({"pathtraver"}),
    "flask.safe_join": frozenset({"pathtraver"}), "posixpath.basename": frozenset({"pathtraver"}),
    "ntpath.basename": frozenset({"pathtraver"}),
    "ldap.filter.escape_filter_chars": frozenset({"ldapi"}), "ldap3.utils.conv.escape_filter_chars": frozenset({"ldapi"}),
    "ldap.dn.escape_dn_chars": frozenset({"ldapi"}), "ldap3.utils.dn.escape_rdn": frozenset({"ldapi"}),
    "escape_filter_chars": frozenset({"ldapi"}),
    "urllib.parse.quote": _QUOTED, "urllib.parse.quote_plus": _QUOTED, "urllib.parse.urlencode": _QUOTED,
    "json.loads": frozenset({"deserialization"}),
    "ipaddress.ip_address": _ALL, "ipaddress.ip_network": _ALL, "ipaddress.IPv4Address": _ALL,
    "ipaddress.IPv6Address": _ALL, "ipaddress.ip_interface": _ALL,
    "psycopg2.sql.Identifier": frozenset({"sqli"}), "psycopg2.sql.Literal": frozenset({"sqli"}),
    "psycopg.sql.Identifier": frozenset({"sqli"}), "psycopg.sql.Literal": frozenset({"sqli"}),
}
#: methods of any value whose result carries no untrusted data (booleans, counts, digests)
CLEAN_METHODS = frozenset({
    "isdigit", "isalnum", "isalpha", "isnumeric", "isdecimal", "isidentifier", "islower", "isupper", "isspace",
    "isascii", "startswith", "endswith", "count", "find", "rfind", "index", "rindex", "hexdigest", "digest", "hex",
    "is_relative_to", "exists", "is_file", "is_dir", "__len__", "bit_length", "total_seconds", "keys_count",
})
#: calls whose result never carries untrusted data whatever their arguments
CLEAN_RESULT = frozenset({
    "secrets.token_hex", "secrets.token_urlsafe", "secrets.token_bytes", "secrets.choice", "secrets.randbelow",
    "os.urandom", "uuid.uuid4", "uuid.uuid1", "time.time", "flask.url_for", "django.urls.reverse", "url_for",
    "reverse", "flask.jsonify", "jsonify", "os.path.exists", "os.path.isfile", "os.path.isdir",
    "django.utils.http.url_has_allowed_host_and_scheme", "django.utils.http.is_safe_url",
    "url_has_allowed_host_and_scheme", "is_safe_url", "type", "callable", "hasattr", "sorted_keys",
})

#: how an SQL statement starts (an ``execute`` whose text starts so is SQL whatever the receiver)
SQL_WORDS = ("select", "insert", "update", "delete", "create", "drop", "alter", "with", "pragma", "replace", "merge",
             "truncate", "grant", "exec", "call", "begin", "set ", "show", "describe", "explain", "upsert")
SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "/bin/sh", "/bin/bash", "/usr/bin/bash", "/bin/zsh",
                    "cmd", "cmd.exe", "powershell", "pwsh", "/bin/dash"})
#: calls that always hand their first argument to a shell
SHELL_SINKS = frozenset({"os.system", "os.popen", "os.popen2", "os.popen3", "os.popen4", "subprocess.getoutput",
                         "subprocess.getstatusoutput", "commands.getoutput", "commands.getstatusoutput",
                         "asyncio.create_subprocess_shell", "platform.popen"})
#: subprocess-style calls: a shell when shell=True, else the program is the argument list's first item
SUBPROCESS_CALLS = frozenset({"subprocess.run", "subprocess.call", "subprocess.check_call", "subprocess.check_output",
                              "subprocess.Popen", "asyncio.create_subprocess_exec"})
#: calls whose argument at this index is the program that runs
CMD_PROGRAM_ARG: dict[str, int] = {
    "os.execl": 0, "os.execle": 0, "os.execlp": 0, "os.execlpe": 0, "os.execv": 0, "os.execve": 0, "os.execvp": 0,
    "os.execvpe": 0, "os.spawnl": 1, "os.spawnle": 1, "os.spawnlp": 1, "os.spawnlpe": 1, "os.spawnv": 1,
    "os.spawnve": 1, "os.spawnvp": 1, "os.spawnvpe": 1, "os.startfile": 0, "pty.spawn": 0, "os.posix_spawn": 0,
    "os.posix_spawnp": 0,
}
#: loaders that build arbitrary objects from their input (yaml.load is judged by its Loader apart)
DESERIALISERS = frozenset({
    "pickle.loads", "pickle.load", "pickle.Unpickler", "cPickle.loads", "cPickle.load", "_pickle.loads",
    "_pickle.load", "dill.loads", "dill.load", "marshal.loads", "marshal.load", "jsonpickle.decode",
    "jsonpickle.loads", "shelve.open", "pandas.read_pickle", "joblib.load", "cloudpickle.loads", "cloudpickle.load",
    "yaml.unsafe_load", "yaml.unsafe_load_all", "yaml.full_load", "yaml.full_load_all", "torch.load",
    "keras.models.load_model", "numpy.load",
})
#: calls that open, create, list or remove the files their path arguments name
PATH_SINKS = frozenset({
    "open", "io.open", "codecs.open", "os.open", "os.remove", "os.unlink", "os.rmdir", "os.removedirs",
    "os.makedirs", "os.mkdir", "os.listdir", "os.scandir", "os.rename", "os.renames", "os.replace", "os.chmod",
    "os.chown", "os.truncate", "os.walk", "shutil.copy", "shutil.copy2", "shutil.copyfile", "shutil.move",
    "shutil.rmtree", "shutil.copytree", "flask.send_file", "fastapi.responses.FileResponse",
    "starlette.responses.FileResponse", "tarfile.open", "zipfile.ZipFile", "fileinput.input", "aiofiles.open",
    "builtins.open", "io.FileIO", "glob.glob", "linecache.getline", "numpy.loadtxt", "pandas.read_csv",
})
#: methods of a path object that touch the file it names
PATH_METHODS = frozenset({"read_text", "read_bytes", "write_text", "write_bytes", "open", "unlink", "mkdir", "rmdir",
                          "touch", "rename", "replace", "iterdir", "chmod", "rglob", "glob", "symlink_to"})
#: calls whose first argument becomes HTML (or template source) as is
HTML_SINKS = frozenset({
    "flask.render_template_string", "jinja2.Template", "markupsafe.Markup", "flask.Markup", "flask.make_response",
    "flask.Response", "werkzeug.wrappers.Response", "django.http.HttpResponse", "django.utils.safestring.mark_safe",
    "fastapi.responses.HTMLResponse", "starlette.responses.HTMLResponse", "fastapi.responses.Response",
    "starlette.responses.Response", "django.http.response.HttpResponse", "jinja2.Environment.from_string",
    "Markup", "mark_safe", "render_template_string", "make_response",
    "HttpResponse", "HTMLResponse",
})
REDIRECT_SINKS = frozenset({
    "flask.redirect", "werkzeug.utils.redirect", "django.shortcuts.redirect", "django.http.HttpResponseRedirect",
    "django.http.HttpResponsePermanentRedirect", "fastapi.responses.RedirectResponse",
    "starlette.responses.RedirectResponse", "redirect", "HttpResponseRedirect", "RedirectResponse",
})
LDAP_SEARCH_METHODS = frozenset({"search_s", "search_st", "search_ext", "search_ext_s", "search"})
WEAK_HASHES = frozenset({"md5", "sha1", "md-5", "sha-1", "md4", "md2", "ripemd160"})
#: constructors of weak hashes (hashlib.new and hmac are judged by their algorithm argument)
HASH_CALLS = frozenset({
    "hashlib.md5", "hashlib.sha1", "Crypto.Hash.MD5.new", "Crypto.Hash.SHA1.new", "Cryptodome.Hash.MD5.new",
    "Cryptodome.Hash.SHA1.new", "cryptography.hazmat.primitives.hashes.MD5",
    "cryptography.hazmat.primitives.hashes.SHA1", "Crypto.Hash.MD5", "Crypto.Hash.SHA1",
})
WEAK_RANDOM_MODULES = frozenset({"random", "numpy.random"})

#: words that make a name a secret or an identifier (a weak random value must not become one)
_SECRET_WORDS = frozenset({
    "token", "tokens", "password", "passwd", "pwd", "pass", "passphrase", "secret", "key", "apikey", "salt", "nonce",
    "otp", "totp", "session", "sid", "csrf", "xsrf", "auth", "cookie", "code", "pin", "remember", "rememberme",
    "reset", "verification", "verify", "confirm", "confirmation", "invite", "invitation", "captcha", "challenge",
    "ticket", "credential", "credentials", "signature", "iv", "guid", "uuid", "id", "uid", "ids", "identifier",
    "activation", "unsubscribe", "magic", "login", "access", "bearer", "jwt", "hmac", "keys", "secrets",
})
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def security_name(name: str) -> bool:
    """Whether ``name`` (a variable, key, attribute, parameter or function) names a secret or an identifier."""
    words = [w.lower() for w in _WORD.findall(name)]
    return any(w in _SECRET_WORDS for w in words) or "password" in name.lower() or "token" in name.lower()
