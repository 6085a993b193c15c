"""Each rule fires on its weakness and stays silent on the safe twin; its CWE is its first SARIF tag."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from foresight.security import RULES, to_sarif
from foresight.security.code import BY_CATEGORY

# (rule, vulnerable route body, safe route body, imports)
CASES = [
    ("FSC001", "db.execute(\"SELECT * FROM t WHERE a = '%s'\" % request.args['a'])",
     "db.execute('SELECT * FROM t WHERE a = ?', (request.args['a'],))", "import sqlite3\ndb = sqlite3.connect('x')\n"),
    ("FSC001", "conn.execute(text(f\"DELETE FROM t WHERE id = {request.form['id']}\"))",
     "conn.execute(text('DELETE FROM t WHERE id = :id'), {'id': request.form['id']})",
     "from sqlalchemy import text\n"),
    ("FSC002", "os.system('ls ' + request.args['d'])", "os.system('ls ' + shlex.quote(request.args['d']))",
     "import os, shlex\n"),
    ("FSC002", "subprocess.run(request.args['p'])", "subprocess.run(['ls', request.args['p']])", "import subprocess\n"),
    ("FSC002", "subprocess.run(['sh', '-c', request.args['p']])", "subprocess.run(['sh', '-c', 'ls'])",
     "import subprocess\n"),
    ("FSC003", "return str(eval(request.args['e']))", "return str(ast.literal_eval(request.args['e']))",
     "import ast\n"),
    ("FSC004", "return str(pickle.loads(request.data))", "return str(json.loads(request.data))",
     "import pickle, json\n"),
    ("FSC004", "return str(yaml.load(request.data, Loader=yaml.Loader))",
     "return str(yaml.load(request.data, Loader=yaml.SafeLoader))", "import yaml\n"),
    ("FSC005", "return open('/srv/' + request.args['f']).read()",
     "return open('/srv/' + os.path.basename(request.args['f'])).read()", "import os\n"),
    ("FSC005", "return (Path('/srv') / request.args['f']).read_text()",
     "return (Path('/srv') / Path(request.args['f']).name).read_text()", "from pathlib import Path\n"),
    ("FSC006", "return '<b>' + request.args['n'] + '</b>'", "return '<b>' + escape(request.args['n']) + '</b>'",
     "from markupsafe import escape\n"),
    ("FSC006", "return render_template_string(request.args['t'])",
     "return render_template_string('<b>{{ n }}</b>', n=request.args['t'])", "from flask import render_template_string\n"),
    ("FSC007", "return str(tree.xpath(\"//u[@n='%s']\" % request.args['n']))",
     "return str(tree.xpath('//u[@n=$n]', n=request.args['n']))", "from lxml import etree\ntree = etree.parse('u.xml')\n"),
    ("FSC008", "return str(conn.search_s('dc=x', 2, '(uid=' + request.args['u'] + ')'))",
     "return str(conn.search_s('dc=x', 2, '(uid=' + escape_filter_chars(request.args['u']) + ')'))",
     "import ldap\nfrom ldap.filter import escape_filter_chars\nconn = ldap.initialize('ldap://d')\n"),
    ("FSC009", "return redirect(request.args['next'])", "return redirect('/home/' + request.args['next'])", ""),
    ("FSC010", "session['role'] = request.args['r']\nreturn 'ok'", "session['role'] = 'viewer'\nreturn 'ok'", ""),
    ("FSC011", "return hashlib.md5(b'x').hexdigest()", "return hashlib.sha256(b'x').hexdigest()", "import hashlib\n"),
    ("FSC011", "return hashlib.new('sha1').hexdigest()", "return hashlib.md5(b'x', usedforsecurity=False).hexdigest()",
     "import hashlib\n"),
    ("FSC012", "token = str(random.random())\nreturn token", "token = secrets.token_hex(8)\nreturn token",
     "import random, secrets\n"),
    ("FSC013", "r = make_response('x')\nr.set_cookie('a', 'b')\nreturn r",
     "r = make_response('x')\nr.set_cookie('a', 'b', secure=True)\nreturn r", ""),
    ("FSC014", "return etree.fromstring(request.data, etree.XMLParser(resolve_entities=True)).tag",
     "return etree.fromstring(request.data, etree.XMLParser(resolve_entities=False)).tag", "from lxml import etree\n"),
]


@pytest.mark.parametrize(("rule", "vulnerable", "safe", "imports"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_rule_fires_on_the_weakness_and_not_on_its_safe_twin(rule: str, vulnerable: str, safe: str, imports: str,
                                                             rule_ids: Callable[..., set[str]],
                                                             route: Callable[..., str]) -> None:
    assert rule in rule_ids(route(vulnerable, imports))
    assert rule not in rule_ids(route(safe, imports))


def test_every_category_has_a_rule_with_its_cwe() -> None:
    from foresight.bench.code_cases import CATEGORIES

    assert {category: rule.cwe for category, rule in BY_CATEGORY.items()} == CATEGORIES


def test_sarif_names_the_cwe_first_for_every_code_rule() -> None:
    code_rules = [rule for rule in RULES if rule.id.startswith("FSC")]
    assert len(code_rules) == 15
    descriptors = to_sarif([], code_rules, "test")["runs"][0]["tool"]["driver"]["rules"]
    for rule, descriptor in zip(code_rules, descriptors, strict=True):
        assert descriptor["properties"]["tags"][0] == f"external/cwe/cwe-{rule.cwe}"


def test_findings_carry_the_line_of_the_sink() -> None:
    from foresight.security.code import scan_python_source

    source = "import os\nimport sys\n\n\nos.system(sys.argv[1])\n"
    [finding] = scan_python_source(source, "tool.py")
    assert (finding.rule_id, finding.location.path, finding.location.line) == ("FSC002", "tool.py", 5)
    assert "command-line arguments" in finding.message


def test_random_outside_secrets_is_not_a_finding(rule_ids: Callable[..., set[str]]) -> None:
    source = """
    import random
    def jitter():
        delay = random.uniform(0, 1)
        return delay
    def shuffled(items):
        random.shuffle(items)
        return items
    """
    assert "FSC012" not in rule_ids(source)


def test_cookie_options_from_a_dict(rule_ids: Callable[..., set[str]], route: Callable[..., str]) -> None:
    safe = route("r = make_response('x')\nr.set_cookie('a', 'b', **OPTS)\nreturn r", "OPTS = {'secure': True}\n")
    unsafe = route("r = make_response('x')\nr.set_cookie('a', 'b', **OPTS)\nreturn r", "OPTS = {'httponly': True}\n")
    assert "FSC013" not in rule_ids(safe)
    assert "FSC013" in rule_ids(unsafe)


def test_sax_parser_with_external_entities(rule_ids: Callable[..., set[str]]) -> None:
    source = """
    import xml.sax
    from xml.sax.handler import feature_external_ges
    def parse(path):
        parser = xml.sax.make_parser()
        parser.setFeature(feature_external_ges, True)
        parser.parse(path)
    """
    assert "FSC014" in rule_ids(source)
    assert "FSC014" not in rule_ids(source.replace("True", "False"))


def test_an_upload_saved_under_its_own_name(rule_ids: Callable[..., set[str]], route: Callable[..., str]) -> None:
    body = "f = request.files['doc']\nf.save(os.path.join('/srv/up', {}))\nreturn 'ok'"
    imports = "import os\nfrom werkzeug.utils import secure_filename\n"
    assert "FSC005" in rule_ids(route(body.format("f.filename"), imports))
    assert "FSC005" not in rule_ids(route(body.format("secure_filename(f.filename)"), imports))
    assert "FSC005" not in rule_ids(route("model.save(os.path.join('/srv', request.args['n']))\nreturn 'ok'", imports))
