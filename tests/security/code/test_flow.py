"""How data is followed: constant folding, overwrites, containers, sanitisers, calls, classes, modules."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from foresight.security.code import scan_python_source, scan_python_tree

Ids = Callable[..., set[str]]
Route = Callable[..., str]
OS = "import os\n"


@pytest.mark.parametrize(("condition", "live"), [
    ("7 * 3 > 20", False), ("7 * 3 > 22", True), ("len('abc') > 5", True), ("2 ** 3 == 8", False),
    ("'a' in 'abc'", False), ("not (1 < 2 < 3)", True), ("(106 + 7 * 18) > 200 and True", False),
])
def test_a_folded_condition_keeps_only_its_live_branch(condition: str, live: bool, rule_ids: Ids, route: Route) -> None:
    body = f"p = request.args['p']\nif {condition}:\n    cmd = 'ls'\nelse:\n    cmd = p\nos.system(cmd)\nreturn 'x'"
    assert ("FSC002" in rule_ids(route(body, OS))) is live


def test_conditional_expression_and_while_false_fold(rule_ids: Ids, route: Route) -> None:
    assert "FSC002" not in rule_ids(route("p = request.args['p']\nos.system('ls' if 3 > 2 else p)\nreturn 'x'", OS))
    assert "FSC002" in rule_ids(route("p = request.args['p']\nos.system('ls' if 3 < 2 else p)\nreturn 'x'", OS))
    assert "FSC002" not in rule_ids(route("p = request.args['p']\nwhile False:\n    os.system(p)\nreturn 'x'", OS))


def test_code_after_return_is_dead(rule_ids: Ids, route: Route) -> None:
    assert "FSC002" not in rule_ids(route("p = request.args['p']\nreturn 'x'\nos.system(p)", OS))


def test_an_unknown_condition_joins_both_branches(rule_ids: Ids, route: Route) -> None:
    body = "p = request.args['p']\ncmd = 'ls'\nif request.method == 'POST':\n    cmd = p\nos.system(cmd)\nreturn 'x'"
    assert "FSC002" in rule_ids(route(body, OS))


def test_overwrite_with_a_constant_cleans(rule_ids: Ids, route: Route) -> None:
    assert "FSC002" not in rule_ids(route("p = request.args['p']\np = 'ls'\nos.system(p)\nreturn 'x'", OS))
    assert "FSC002" in rule_ids(route("p = 'ls'\np = request.args['p']\nos.system(p)\nreturn 'x'", OS))


@pytest.mark.parametrize(("build", "use", "live"), [
    ("d = {'a': p, 'b': 'ok'}", "d['b']", False),
    ("d = {'a': p, 'b': 'ok'}", "d['a']", True),
    ("d = {}\nd['k'] = p\nd['k'] = 'ok'", "d['k']", False),
    ("d = {'k': p}\nd.pop('k')", "d.get('k', 'ok')", False),
    ("d = {'a': 'x'}\nd.update({'a': p})", "d['a']", True),
    ("l = ['ok', p, 'fine']\nl.pop(0)", "l[1]", False),
    ("l = ['ok', p, 'fine']\nl.pop(0)", "l[0]", True),
    ("l = []\nl.append('ok')\nl.append(p)", "l[-1]", True),
    ("l = ['ok', p]\nl.remove('ok')", "l[0]", True),
    ("a, b = 'ok', p", "a", False),
    ("a, b = 'ok', p", "b", True),
    ("t = (p, 'ok')", "' '.join(t)", True),
])
def test_containers_keep_their_items_apart(build: str, use: str, live: bool, rule_ids: Ids, route: Route) -> None:
    body = f"p = request.args['p']\n{build}\nos.system({use})\nreturn 'x'"
    assert ("FSC002" in rule_ids(route(body, OS))) is live


@pytest.mark.parametrize(("expression", "live"), [
    ("'ls ' + p", True), ("f'ls {p}'", True), ("'ls %s' % p", True), ("'ls {}'.format(p)", True),
    ("' '.join(['ls', p])", True), ("p.strip().lower()", True), ("'ls ' + str(int(p))", False),
    ("'ls ' + shlex.quote(p)", False), ("'ls ' + hashlib.sha256(p.encode()).hexdigest()", False),
    ("'ls ' + str(len(p))", False), ("'ls ' + html.escape(p)", True),
])
def test_strings_propagate_and_sanitisers_clean_for_their_category(expression: str, live: bool, rule_ids: Ids,
                                                                    route: Route) -> None:
    body = f"p = request.args['p']\nos.system({expression})\nreturn 'x'"
    assert ("FSC002" in rule_ids(route(body, "import os, shlex, hashlib, html\n"))) is live


@pytest.mark.parametrize(("guard", "live"), [
    ("if p not in ALLOWED:\n    abort(400)", False),
    ("if p in ALLOWED:\n    pass\nelse:\n    return 'no'", False),
    ("if not p.isalnum():\n    return 'no'", False),
    ("if not re.fullmatch('[a-z]+', p):\n    abort(400)", False),
    ("if len(p) > 10:\n    abort(400)", True),
    ("if p != 'ls':\n    abort(400)", False),
])
def test_guards_that_leave_validate_what_follows(guard: str, live: bool, rule_ids: Ids, route: Route) -> None:
    body = f"p = request.args['p']\n{guard}\nos.system(p)\nreturn 'x'"
    imports = "import os, re\nfrom flask import abort\nALLOWED = ('ls', 'df')\n"
    assert ("FSC002" in rule_ids(route(body, imports))) is live


def test_path_checks(rule_ids: Ids, route: Route) -> None:
    dotdot = "p = request.args['p']\nif '..' in p or p.startswith('/'):\n    abort(400)\nreturn open('/srv/' + p).read()"
    assert "FSC005" not in rule_ids(route(dotdot, "from flask import abort\n"))
    resolved = ("target = os.path.realpath(os.path.join(BASE, request.args['p']))\n"
                "if not target.startswith(BASE):\n    abort(403)\nreturn open(target).read()")
    imports = "import os\nfrom flask import abort\nBASE = '/srv'\n"
    assert "FSC005" in rule_ids(route(resolved.replace("if not target.startswith(BASE):\n    abort(403)\n", ""), imports))
    assert "FSC005" not in rule_ids(route(resolved.replace("target.startswith", "os.path.realpath(target).startswith"),
                                          imports))


def test_interprocedural_flow_through_parameters_and_returns(rule_ids: Ids) -> None:
    source = """
    import os
    from flask import Flask, request
    app = Flask(__name__)

    def wrap(value, prefix="ls "):
        return prefix + value

    def run(command):
        os.system(command)

    def constant(value):
        return "uptime"

    @app.route("/a")
    def a():
        run(wrap(request.args["p"]))
        run(constant(request.args["p"]))
        return "ok"
    """
    findings = scan_python_source(source.replace("\n    ", "\n"), "m.py")
    assert [(f.rule_id, f.location.line) for f in findings] == [("FSC002", 10)]  # the sink inside run(), line 10 of the source


def test_helpers_called_only_with_constants_are_clean(rule_ids: Ids) -> None:
    source = """
    import os
    def run(command):
        os.system(command)
    run("ls")
    """
    assert rule_ids(source) == set()


def test_recursion_terminates(rule_ids: Ids) -> None:
    source = """
    import os, sys
    def walk(value, depth):
        if depth > 0:
            return walk(value + "x", depth - 1)
        return value
    os.system(walk(sys.argv[1], 3))
    """
    assert "FSC002" in rule_ids(source)


def test_class_attributes_and_methods(rule_ids: Ids) -> None:
    source = """
    import subprocess
    from flask import Flask, request
    app = Flask(__name__)

    class Job:
        def __init__(self, script, label):
            self.script = script
            self.label = label

        def run(self):
            subprocess.run(self.label, shell=True)
            return self.script

    @app.route("/j")
    def j():
        job = Job(request.args["s"], "echo hi")
        job.run()
        return "ok"
    """
    assert "FSC002" not in rule_ids(source)
    assert "FSC002" in rule_ids(source.replace("self.label, shell", "self.script, shell"))


def test_sources_beyond_flask(rule_ids: Ids) -> None:
    django = "import os\nfrom django.http import HttpResponse\ndef view(request):\n    os.system(request.GET['c'])\n"
    fastapi = ("import os\nfrom fastapi import FastAPI\napp = FastAPI()\n@app.get('/r')\n"
               "def r(c: str, n: int):\n    os.system('ls ' + str(n))\n    os.system(c)\n")
    environment = "import os\nos.system(os.environ['CMD'])\nos.system(os.getenv('X'))\n"
    keyboard = "import os\nos.system(input())\n"
    file_contents = "import os\ndef run(path):\n    with open(path) as f:\n        os.system(f.read())\n"
    for source in (django, fastapi, environment, keyboard, file_contents):
        assert "FSC002" in rule_ids(source), source
    assert rule_ids("import os\nwith open('/etc/app/cmd.txt') as f:\n    os.system(f.read())\n") == set()
    findings = scan_python_source(fastapi, "f.py")
    assert [f.location.line for f in findings] == [7]  # the int parameter is no injection


def test_loops_and_exceptions(rule_ids: Ids, route: Route) -> None:
    loop = "cmd = 'ls'\nfor item in request.args.getlist('x'):\n    cmd = cmd + item\nos.system(cmd)\nreturn 'x'"
    assert "FSC002" in rule_ids(route(loop, OS))
    handled = "try:\n    n = int(request.args['n'])\nexcept ValueError:\n    n = 0\nos.system('ls ' + str(n))\nreturn 'x'"
    assert "FSC002" not in rule_ids(route(handled, OS))
    leaked = "try:\n    n = int(request.args['n'])\nexcept ValueError:\n    n = request.args['n']\nos.system(n)\nreturn 'x'"
    assert "FSC002" in rule_ids(route(leaked, OS))


def test_match_statement_folds_a_constant_subject(rule_ids: Ids, route: Route) -> None:
    body = ("p = request.args['p']\nmode = 'a'\nmatch mode:\n    case 'a':\n        c = 'ls'\n"
            "    case _:\n        c = p\nos.system(c)\nreturn 'x'")
    assert "FSC002" not in rule_ids(route(body, OS))
    assert "FSC002" in rule_ids(route(body.replace("mode = 'a'", "mode = 'b'"), OS))


def test_flow_across_modules_of_one_tree() -> None:
    helpers = "import os\n\ndef run(command):\n    os.system(command)\n\ndef quoted(value):\n    return 'x'\n"
    views = ("from flask import Flask, request\nfrom app.helpers import run\nfrom app import helpers\n"
             "app = Flask(__name__)\n\n@app.route('/r')\ndef r():\n    run(request.args['c'])\n"
             "    helpers.run(helpers.quoted(request.args['c']))\n    return 'ok'\n")
    findings = scan_python_tree({"app/helpers.py": helpers, "app/views.py": views})
    assert [(f.rule_id, f.location.path, f.location.line) for f in findings] == [("FSC002", "app/helpers.py", 4)]
    alone = scan_python_source(views, "app/views.py")
    assert alone == []  # the helper is not in the scanned tree: nothing is known about it


def test_request_parameters_are_untrusted_only_in_web_code(rule_ids: Ids) -> None:
    client = "import os\ndef send(request):\n    os.system(request.command)\n"  # an HTTP client's own request
    assert rule_ids(client) == set()
    assert "FSC002" in rule_ids("from aiohttp import web\n" + client)


def test_local_sources_are_warnings_remote_ones_errors() -> None:
    local = scan_python_source("import os, sys\nos.system(sys.argv[1])\n", "cli.py")
    remote = scan_python_source("import os\nfrom flask import request\nos.system(request.args['c'])\n", "web.py")
    assert [(f.rule_id, f.level.value) for f in local] == [("FSC002", "warning")]
    assert [(f.rule_id, f.level.value) for f in remote] == [("FSC002", "error")]


def test_generic_method_names_need_their_library(rule_ids: Ids, route: Route) -> None:
    assert rule_ids(route("Commit.from_string(request.data)\nreturn 'ok'")) == set()
    assert "FSC006" in rule_ids(route("return env.from_string(request.args['t']).render()",
                                      "from jinja2 import Environment\nenv = Environment()\n"))
    assert rule_ids(route("plan.execute(request.args['step'])\nreturn 'ok'")) == set()
    assert "FSC001" in rule_ids(route("return str(runner.execute('SELECT * FROM t WHERE a = ' + request.args['a']))"))
    assert "FSC001" in rule_ids(route("c = sqlite3.connect('d')\nq = request.args['q']\nreturn str(c.execute(q))",
                                      "import sqlite3\n"))


def test_call_chains_are_bounded() -> None:
    """Each function calls the next twice with new constants: 2**14 contexts, cut by the depth and run limits."""
    chain = ["import os, sys"]
    for i in range(14):
        chain.append(f"def f{i}(x):\n    os.system(x) if {i} == 3 else None\n"
                     f"    return f{i + 1}(x + 'a') + f{i + 1}(x + 'b')")
    chain.append("def f14(x):\n    return x\nf0(sys.argv[1])\n")
    findings = scan_python_source("\n".join(chain), "chain.py")
    assert [(f.rule_id, f.location.line) for f in findings] == [("FSC002", 12)]


def test_an_imported_callable_keeps_its_name_through_a_variable(rule_ids: Ids) -> None:
    source = "import os, subprocess, sys\nrun = os.system\nrun(sys.argv[1])\ncall = subprocess.check_output\ncall('ls')\n"
    assert rule_ids(source) == {"FSC002"}


def test_an_ambiguous_short_module_name_resolves_to_nothing() -> None:
    sink = "import os\n\ndef run(command):\n    os.system(command)\n"
    harmless = "def run(command):\n    return None\n"
    caller = "import sys\nfrom utils import run\nrun(sys.argv[1])\n"
    unique = scan_python_tree({"a/utils.py": sink, "main.py": caller})
    ambiguous = scan_python_tree({"a/utils.py": sink, "b/utils.py": harmless, "main.py": caller})
    assert [(f.rule_id, f.location.path) for f in unique] == [("FSC002", "a/utils.py")]
    assert ambiguous == []


def test_views_registered_without_a_decorator(rule_ids: Ids) -> None:
    source = ("from flask import Flask\napp = Flask(__name__)\n\ndef hello(name):\n    return '<b>' + name + '</b>'\n\n"
              "app.add_url_rule('/hello/<name>', view_func=hello)\n")
    assert rule_ids(source) == {"FSC006"}
    assert rule_ids(source.replace("app.add_url_rule('/hello/<name>', view_func=hello)\n", "")) == set()


def test_attributes_a_method_sets_are_seen_by_later_calls(rule_ids: Ids) -> None:
    source = """
    import os
    from flask import Flask, request
    app = Flask(__name__)

    class Task:
        def __init__(self):
            self.command = "uptime"

        def configure(self, command):
            self.command = command

        def run(self):
            os.system(self.command)

    @app.route("/t")
    def t():
        task = Task()
        task.run()
        task.configure(request.args["c"])
        task.run()
        task.configure("date")
        task.run()
        return "ok"
    """
    findings = scan_python_source(source.replace("\n    ", "\n"), "task.py")
    assert [(f.rule_id, f.location.line) for f in findings] == [("FSC002", 14)]
    assert "FSC002" not in rule_ids(source.replace('task.configure(request.args["c"])', 'task.configure("ls")'))


def test_lambdas_and_keyword_spreads(rule_ids: Ids, route: Route) -> None:
    assert "FSC002" in rule_ids(route("c = request.args['c']\nrun = lambda: os.system(c)\nrun()\nreturn 'x'", OS))
    assert "FSC002" not in rule_ids(route("run = lambda c: os.system('ls')\nreturn 'x'", OS))
    spread = "def run(cmd, flag=False):\n    os.system(cmd)\n\n" + route("run(**{'cmd': request.args['c']})\nreturn 'x'")
    assert "FSC002" in rule_ids("import os\n" + spread)
    assert "FSC002" not in rule_ids("import os\n" + spread.replace("request.args['c']", "'ls'"))
