"""The development corpus of the code scanner: small vulnerable and safe web programs per CWE category.

Written for Foresight alongside the scanner (its figures are therefore optimistic; the held-out corpus
in ``code_corpus_heldout`` was written apart). Each category has vulnerable programs in several
frameworks and call shapes (Flask, FastAPI, Django; helpers, containers, classes) and safe twins made
safe in the ways real code is: a sanitiser, a parameterised call, an allowlist or validation check,
a constant, an overwrite, a dead branch (a condition that folds to a constant), another item of the
same container.
"""

from __future__ import annotations

from foresight.bench.code_cases import CodeCase

__all__ = ["PROGRAMS"]

_CASES: list[CodeCase] = []


def _add(name: str, category: str, vulnerable: bool, source: str) -> None:
    _CASES.append(CodeCase(name, category, vulnerable, source.lstrip("\n")))


# ---------------------------------------------------------------- sqli (CWE-89)
_add("sqli_flask_format", "sqli", True, '''
import sqlite3
from flask import Flask, request
app = Flask(__name__)

@app.route("/user")
def user():
    name = request.args.get("name", "")
    db = sqlite3.connect("app.db")
    rows = db.execute("SELECT * FROM users WHERE name = '%s'" % name).fetchall()
    return {"rows": len(rows)}
''')
_add("sqli_fstring_cursor", "sqli", True, '''
import sqlite3
from flask import request, Flask
app = Flask(__name__)

@app.post("/search")
def search():
    term = request.form["term"]
    cur = sqlite3.connect("shop.db").cursor()
    cur.execute(f"SELECT id FROM items WHERE title LIKE '%{term}%'")
    return {"ids": [r[0] for r in cur.fetchall()]}
''')
_add("sqli_fastapi_concat", "sqli", True, '''
import sqlite3
from fastapi import FastAPI
app = FastAPI()

@app.get("/orders/{customer}")
def orders(customer: str):
    conn = sqlite3.connect("orders.db")
    query = "SELECT * FROM orders WHERE customer = '" + customer + "'"
    return conn.execute(query).fetchall()
''')
_add("sqli_django_raw", "sqli", True, '''
from django.http import JsonResponse
from myapp.models import Book

def books(request):
    author = request.GET.get("author")
    found = Book.objects.raw("SELECT * FROM book WHERE author = '{}'".format(author))
    return JsonResponse({"count": len(list(found))})
''')
_add("sqli_helper_function", "sqli", True, '''
import sqlite3
from flask import Flask, request
app = Flask(__name__)

def build_query(table, column, value):
    return "SELECT * FROM " + table + " WHERE " + column + " = '" + value + "'"

@app.route("/find")
def find():
    value = request.values.get("q")
    sql = build_query("accounts", "email", value)
    return str(sqlite3.connect("a.db").execute(sql).fetchone())
''')
_add("sqli_sqlalchemy_text", "sqli", True, '''
from flask import Flask, request
from sqlalchemy import create_engine, text
app = Flask(__name__)
engine = create_engine("sqlite:///x.db")

@app.route("/report")
def report():
    month = request.headers.get("X-Month")
    with engine.connect() as conn:
        result = conn.execute(text(f"SELECT total FROM sales WHERE month = '{month}'"))
        return {"total": [r[0] for r in result]}
''')
_add("sqli_list_item", "sqli", True, '''
import sqlite3
from flask import Flask, request
app = Flask(__name__)

@app.route("/x")
def x():
    parts = ["safe", request.cookies.get("who"), "other"]
    parts.pop(0)
    who = parts[0]
    return str(sqlite3.connect("d.db").execute("DELETE FROM s WHERE who='" + who + "'").rowcount)
''')
_add("sqli_dict_key", "sqli", True, '''
import sqlite3
from flask import Flask, request
app = Flask(__name__)

@app.route("/y")
def y():
    values = {}
    values["a"] = "constant"
    values["b"] = request.args.get("b")
    chosen = values["b"]
    conn = sqlite3.connect("d.db")
    conn.executescript("UPDATE t SET v='%s';" % chosen)
    return "ok"
''')
_add("sqli_json_body", "sqli", True, '''
import psycopg2
from flask import Flask, request
app = Flask(__name__)

@app.post("/api/login")
def login():
    body = request.get_json()
    user = body["user"]
    cur = psycopg2.connect("dbname=app").cursor()
    cur.execute("SELECT 1 FROM users WHERE login = '%s'" % (user,))
    return {"ok": cur.fetchone() is not None}
''')
_add("sqli_safe_params", "sqli", False, '''
import sqlite3
from flask import Flask, request
app = Flask(__name__)

@app.route("/user")
def user():
    name = request.args.get("name", "")
    db = sqlite3.connect("app.db")
    rows = db.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchall()
    return {"rows": len(rows)}
''')
_add("sqli_safe_int", "sqli", False, '''
import sqlite3
from flask import Flask, request
app = Flask(__name__)

@app.route("/item")
def item():
    item_id = int(request.args.get("id", "0"))
    cur = sqlite3.connect("shop.db").cursor()
    cur.execute("SELECT * FROM items WHERE id = %d" % item_id)
    return {"item": cur.fetchone()}
''')
_add("sqli_safe_dead_branch", "sqli", False, '''
import sqlite3
from flask import Flask, request
app = Flask(__name__)

@app.route("/z")
def z():
    param = request.args.get("p")
    num = 106
    value = "fixed" if (7 * 18) + num > 200 else param
    sql = "SELECT * FROM t WHERE c = '" + value + "'"
    return str(sqlite3.connect("d.db").execute(sql).fetchall())
''')
_add("sqli_safe_overwritten", "sqli", False, '''
import sqlite3
from flask import Flask, request
app = Flask(__name__)

@app.route("/w")
def w():
    bar = request.form.get("bar")
    bar = "bob"
    return str(sqlite3.connect("d.db").execute("SELECT * FROM u WHERE n = '" + bar + "'").fetchall())
''')
_add("sqli_safe_dict_overwrite", "sqli", False, '''
import sqlite3
from flask import Flask, request
app = Flask(__name__)

@app.route("/v")
def v():
    m = {"key": request.args.get("k")}
    m["key"] = "safe_value"
    conn = sqlite3.connect("d.db")
    return str(conn.execute("SELECT * FROM t WHERE c = '%s'" % m["key"]).fetchall())
''')
_add("sqli_safe_list_other_item", "sqli", False, '''
import sqlite3
from flask import Flask, request
app = Flask(__name__)

@app.route("/l")
def l():
    items = ["alpha", request.args.get("q"), "gamma"]
    items.pop(0)
    chosen = items[1]
    return str(sqlite3.connect("d.db").execute("SELECT * FROM t WHERE c = '" + chosen + "'").fetchall())
''')
_add("sqli_safe_allowlist", "sqli", False, '''
import sqlite3
from fastapi import FastAPI
app = FastAPI()
SORTABLE = {"name", "created", "price"}

@app.get("/products")
def products(order: str = "name"):
    if order not in SORTABLE:
        order = "name"
    conn = sqlite3.connect("p.db")
    return conn.execute(f"SELECT * FROM products ORDER BY {order}").fetchall()
''')
_add("sqli_safe_sqlalchemy_bind", "sqli", False, '''
from flask import Flask, request
from sqlalchemy import create_engine, text
app = Flask(__name__)
engine = create_engine("sqlite:///x.db")

@app.route("/report")
def report():
    month = request.headers.get("X-Month")
    with engine.connect() as conn:
        result = conn.execute(text("SELECT total FROM sales WHERE month = :m"), {"m": month})
        return {"total": [r[0] for r in result]}
''')
_add("sqli_safe_helper_ignores_arg", "sqli", False, '''
import sqlite3
from flask import Flask, request
app = Flask(__name__)

def query_for(value):
    return "SELECT * FROM accounts WHERE active = 1"

@app.route("/active")
def active():
    sql = query_for(request.args.get("x"))
    return str(sqlite3.connect("a.db").execute(sql).fetchall())
''')
_add("sqli_safe_fastapi_int_param", "sqli", False, '''
import sqlite3
from fastapi import FastAPI
app = FastAPI()

@app.get("/orders/{order_id}")
def order(order_id: int):
    conn = sqlite3.connect("orders.db")
    return conn.execute("SELECT * FROM orders WHERE id = " + str(order_id)).fetchall()
''')

# ---------------------------------------------------------------- cmdi (CWE-78)
_add("cmdi_os_system", "cmdi", True, '''
import os
from flask import Flask, request
app = Flask(__name__)

@app.route("/ping")
def ping():
    host = request.args.get("host")
    os.system("ping -c 1 " + host)
    return "done"
''')
_add("cmdi_subprocess_shell", "cmdi", True, '''
import subprocess
from flask import Flask, request
app = Flask(__name__)

@app.post("/convert")
def convert():
    name = request.form["file"]
    out = subprocess.check_output(f"convert {name} out.png", shell=True)
    return out.decode()
''')
_add("cmdi_popen_helper", "cmdi", True, '''
import os
from fastapi import FastAPI
app = FastAPI()

def run(command):
    return os.popen(command).read()

@app.get("/lookup/{domain}")
def lookup(domain: str):
    return {"out": run("nslookup " + domain)}
''')
_add("cmdi_argv0", "cmdi", True, '''
import subprocess
from flask import Flask, request
app = Flask(__name__)

@app.route("/tool")
def tool():
    program = request.args.get("tool", "ls")
    result = subprocess.run([program, "-l"], capture_output=True)
    return result.stdout
''')
_add("cmdi_bash_c", "cmdi", True, '''
import subprocess
from django.http import HttpResponse

def archive(request):
    folder = request.POST.get("folder")
    subprocess.call(["bash", "-c", "tar czf backup.tgz " + folder])
    return HttpResponse("ok", content_type="text/plain")
''')
_add("cmdi_env_var", "cmdi", True, '''
import os
import subprocess

def deploy():
    target = os.environ.get("DEPLOY_TARGET")
    subprocess.Popen("rsync -a build/ " + target, shell=True)
''')
_add("cmdi_header_list_pop", "cmdi", True, '''
import os
from flask import Flask, request
app = Flask(__name__)

@app.route("/h")
def h():
    pieces = []
    pieces.append("safe")
    pieces.append(request.headers.get("X-Cmd"))
    pieces.append("moresafe")
    pieces.pop(0)
    os.system("echo " + pieces[0])
    return "ok"
''')
_add("cmdi_class_attribute", "cmdi", True, '''
import subprocess
from flask import Flask, request
app = Flask(__name__)

class Job:
    def __init__(self, script):
        self.script = script

    def start(self):
        return subprocess.run(self.script, shell=True)

@app.route("/job")
def job():
    Job(request.args.get("script")).start()
    return "started"
''')
_add("cmdi_sys_argv", "cmdi", True, '''
import sys
import subprocess

if __name__ == "__main__":
    pattern = sys.argv[1]
    subprocess.run("grep -r " + pattern + " .", shell=True)
''')
_add("cmdi_safe_quote", "cmdi", False, '''
import os
import shlex
from flask import Flask, request
app = Flask(__name__)

@app.route("/ping")
def ping():
    host = request.args.get("host")
    os.system("ping -c 1 " + shlex.quote(host))
    return "done"
''')
_add("cmdi_safe_argv_list", "cmdi", False, '''
import subprocess
from flask import Flask, request
app = Flask(__name__)

@app.post("/convert")
def convert():
    name = request.form["file"]
    out = subprocess.check_output(["convert", name, "out.png"])
    return out.decode()
''')
_add("cmdi_safe_dead_else", "cmdi", False, '''
import os
from flask import Flask, request
app = Flask(__name__)

@app.route("/d")
def d():
    param = request.args.get("p")
    if 7 * 3 > 20:
        arg = "status"
    else:
        arg = param
    os.system("git " + arg)
    return "ok"
''')
_add("cmdi_safe_overwrite", "cmdi", False, '''
import subprocess
from flask import Flask, request
app = Flask(__name__)

@app.route("/o")
def o():
    cmd = request.args.get("cmd")
    cmd = "uptime"
    return subprocess.check_output(cmd, shell=True)
''')
_add("cmdi_safe_allowlist", "cmdi", False, '''
import subprocess
from fastapi import FastAPI, HTTPException
app = FastAPI()
ALLOWED = ("uptime", "df", "free")

@app.get("/stat/{name}")
def stat(name: str):
    if name not in ALLOWED:
        raise HTTPException(status_code=400)
    return {"out": subprocess.check_output(name, shell=True).decode()}
''')
_add("cmdi_safe_constant_command", "cmdi", False, '''
import os
from flask import Flask, request
app = Flask(__name__)

@app.route("/clean")
def clean():
    who = request.args.get("who")
    os.system("rm -rf /tmp/cache")
    return "cleaned for " + who.replace("<", "")
''')
_add("cmdi_safe_list_other", "cmdi", False, '''
import os
from flask import Flask, request
app = Flask(__name__)

@app.route("/h")
def h():
    pieces = ["echo", request.headers.get("X-Cmd"), "hello"]
    pieces.remove("echo")
    os.system("echo " + pieces[1])
    return "ok"
''')
_add("cmdi_safe_int_port", "cmdi", False, '''
import subprocess
from django.http import HttpResponse

def scan(request):
    port = int(request.GET.get("port", "80"))
    subprocess.run("nc -z localhost %d" % port, shell=True)
    return HttpResponse("done", content_type="text/plain")
''')
_add("cmdi_safe_helper_drops_arg", "cmdi", False, '''
import subprocess
from flask import Flask, request
app = Flask(__name__)

def command_for(user_value):
    if user_value:
        return "date"
    return "uptime"

@app.route("/c")
def c():
    return subprocess.check_output(command_for(request.args.get("v")), shell=True)
''')

# ---------------------------------------------------------------- codeinj (CWE-94)
_add("codeinj_eval_arg", "codeinj", True, '''
from flask import Flask, request
app = Flask(__name__)

@app.route("/calc")
def calc():
    expression = request.args.get("expr")
    return str(eval(expression))
''')
_add("codeinj_exec_form", "codeinj", True, '''
from flask import Flask, request
app = Flask(__name__)

@app.post("/run")
def run():
    code = request.form.get("code")
    scope = {}
    exec("result = " + code, scope)
    return str(scope.get("result"))
''')
_add("codeinj_fastapi_compile", "codeinj", True, '''
from fastapi import FastAPI
app = FastAPI()

@app.post("/rule")
def rule(source: str):
    compiled = compile(source, "<rule>", "eval")
    return {"value": eval(compiled)}
''')
_add("codeinj_django_cookie", "codeinj", True, '''
from django.http import JsonResponse

def prefs(request):
    raw = request.COOKIES.get("prefs", "{}")
    settings = eval(raw)
    return JsonResponse(settings)
''')
_add("codeinj_helper", "codeinj", True, '''
from flask import Flask, request
app = Flask(__name__)

def evaluate(formula, x):
    return eval(formula.replace("x", str(x)))

@app.route("/f")
def f():
    return {"y": evaluate(request.args["formula"], 3)}
''')
_add("codeinj_fstring", "codeinj", True, '''
from flask import Flask, request
app = Flask(__name__)

@app.route("/attr")
def attr():
    field = request.args.get("field")
    obj = {"a": 1}
    return str(eval(f"obj.get('{field}')"))
''')
_add("codeinj_json_value", "codeinj", True, '''
from flask import Flask, request
app = Flask(__name__)

@app.post("/filter")
def filter_rows():
    spec = request.json
    condition = spec["where"]
    rows = [{"n": 1}, {"n": 2}]
    return {"rows": [r for r in rows if eval(condition, {}, r)]}
''')
_add("codeinj_input", "codeinj", True, '''
def main():
    line = input("expression> ")
    print(eval(line))

if __name__ == "__main__":
    main()
''')
_add("codeinj_safe_literal_eval", "codeinj", False, '''
import ast
from flask import Flask, request
app = Flask(__name__)

@app.route("/calc")
def calc():
    expression = request.args.get("expr")
    return str(ast.literal_eval(expression))
''')
_add("codeinj_safe_constant", "codeinj", False, '''
from flask import Flask, request
app = Flask(__name__)

@app.route("/version")
def version():
    name = request.args.get("name")
    total = eval("2 + 3")
    return {"total": total, "name_len": len(name)}
''')
_add("codeinj_safe_dead_branch", "codeinj", False, '''
from flask import Flask, request
app = Flask(__name__)

@app.route("/d")
def d():
    param = request.args.get("p")
    num = 86
    if (7 * 42) - num > 200:
        expr = "1 + 1"
    else:
        expr = param
    return str(eval(expr))
''')
_add("codeinj_safe_int", "codeinj", False, '''
from flask import Flask, request
app = Flask(__name__)

@app.route("/sq")
def sq():
    n = int(request.args.get("n", "2"))
    return str(eval(str(n) + " * " + str(n)))
''')
_add("codeinj_safe_allowlist", "codeinj", False, '''
from fastapi import FastAPI
app = FastAPI()
OPERATIONS = {"1+1", "2*3", "10/2"}

@app.get("/op")
def op(expr: str):
    if expr in OPERATIONS:
        return {"value": eval(expr)}
    return {"value": None}
''')
_add("codeinj_safe_overwrite", "codeinj", False, '''
from flask import Flask, request
app = Flask(__name__)

@app.route("/o")
def o():
    code = request.form.get("code")
    code = "sum([1, 2, 3])"
    return str(eval(code))
''')
_add("codeinj_safe_json", "codeinj", False, '''
import json
from django.http import JsonResponse

def prefs(request):
    raw = request.COOKIES.get("prefs", "{}")
    settings = json.loads(raw)
    return JsonResponse(settings)
''')
_add("codeinj_safe_dict_other_key", "codeinj", False, '''
from flask import Flask, request
app = Flask(__name__)

@app.route("/k")
def k():
    data = {"user": request.args.get("u"), "expr": "3 * 4"}
    return str(eval(data["expr"]))
''')
_add("codeinj_safe_isdigit", "codeinj", False, '''
from flask import Flask, request, abort
app = Flask(__name__)

@app.route("/n")
def n():
    value = request.args.get("v", "")
    if not value.isdigit():
        abort(400)
    return str(eval(value + " + 1"))
''')
# ---------------------------------------------------------------- deserialization (CWE-502)
_add("deser_pickle_b64", "deserialization", True, '''
import base64
import pickle
from flask import Flask, request
app = Flask(__name__)

@app.route("/restore")
def restore():
    blob = request.cookies.get("state")
    state = pickle.loads(base64.b64decode(blob))
    return {"items": len(state)}
''')
_add("deser_yaml_load", "deserialization", True, '''
import yaml
from flask import Flask, request
app = Flask(__name__)

@app.post("/config")
def config():
    doc = yaml.load(request.data, Loader=yaml.Loader)
    return {"keys": list(doc)}
''')
_add("deser_marshal", "deserialization", True, '''
import marshal
from fastapi import FastAPI, Request
app = FastAPI()

@app.post("/code")
async def code(request: Request):
    body = await request.body()
    obj = marshal.loads(body)
    return {"type": type(obj).__name__}
''')
_add("deser_jsonpickle", "deserialization", True, '''
import jsonpickle
from django.http import JsonResponse

def load(request):
    payload = request.POST.get("payload")
    obj = jsonpickle.decode(payload)
    return JsonResponse({"ok": obj is not None})
''')
_add("deser_pickle_file_upload", "deserialization", True, '''
import pickle
from flask import Flask, request
app = Flask(__name__)

@app.post("/upload")
def upload():
    uploaded = request.files["model"]
    model = pickle.load(uploaded)
    return {"model": str(type(model))}
''')
_add("deser_yaml_unsafe_load_helper", "deserialization", True, '''
import yaml
from flask import Flask, request
app = Flask(__name__)

def parse(text):
    return yaml.unsafe_load(text)

@app.route("/p")
def p():
    return {"v": str(parse(request.args.get("doc")))}
''')
_add("deser_dill_header", "deserialization", True, '''
import dill
from flask import Flask, request
app = Flask(__name__)

@app.route("/fn")
def fn():
    data = bytes.fromhex(request.headers.get("X-Fn"))
    func = dill.loads(data)
    return str(func(2))
''')
_add("deser_yaml_full_loader", "deserialization", True, '''
import yaml
from flask import Flask, request
app = Flask(__name__)

@app.route("/f")
def f():
    text = request.values.get("y")
    doc = yaml.load(text, Loader=yaml.FullLoader)
    return {"n": len(doc)}
''')
_add("deser_pickle_list", "deserialization", True, '''
import pickle
from flask import Flask, request
app = Flask(__name__)

@app.route("/l")
def l():
    blobs = ["x", request.get_data()]
    return str(pickle.loads(blobs[1]))
''')
_add("deser_safe_json", "deserialization", False, '''
import base64
import json
from flask import Flask, request
app = Flask(__name__)

@app.route("/restore")
def restore():
    blob = request.cookies.get("state")
    state = json.loads(base64.b64decode(blob))
    return {"items": len(state)}
''')
_add("deser_safe_yaml", "deserialization", False, '''
import yaml
from flask import Flask, request
app = Flask(__name__)

@app.post("/config")
def config():
    doc = yaml.safe_load(request.data)
    return {"keys": list(doc)}
''')
_add("deser_safe_yaml_safeloader", "deserialization", False, '''
import yaml
from flask import Flask, request
app = Flask(__name__)

@app.route("/f")
def f():
    doc = yaml.load(request.values.get("y"), Loader=yaml.SafeLoader)
    return {"n": len(doc)}
''')
_add("deser_safe_constant_pickle", "deserialization", False, '''
import pickle
from flask import Flask, request
app = Flask(__name__)
DEFAULTS = pickle.dumps({"theme": "dark"})

@app.route("/d")
def d():
    name = request.args.get("name")
    prefs = pickle.loads(DEFAULTS)
    return {"theme": prefs["theme"], "name": name}
''')
_add("deser_safe_dead_branch", "deserialization", False, '''
import pickle
from flask import Flask, request
app = Flask(__name__)

@app.route("/b")
def b():
    data = request.get_data()
    if 3 > 5:
        return str(pickle.loads(data))
    return "disabled"
''')
_add("deser_safe_overwrite", "deserialization", False, '''
import marshal
from flask import Flask, request
app = Flask(__name__)

@app.route("/m")
def m():
    raw = request.get_data()
    raw = marshal.dumps([1, 2, 3])
    return str(marshal.loads(raw))
''')
_add("deser_safe_list_other", "deserialization", False, '''
import pickle
from flask import Flask, request
app = Flask(__name__)
SAVED = pickle.dumps([1, 2])

@app.route("/l")
def l():
    blobs = [SAVED, request.get_data()]
    return str(pickle.loads(blobs[0]))
''')
_add("deser_safe_torch_weights_only", "deserialization", False, '''
import io
import torch
from flask import Flask, request
app = Flask(__name__)

@app.post("/weights")
def weights():
    state = torch.load(io.BytesIO(request.get_data()), weights_only=True)
    return {"tensors": len(state)}
''')
_add("deser_safe_fastapi_json", "deserialization", False, '''
import json
from fastapi import FastAPI, Request
app = FastAPI()

@app.post("/code")
async def code(request: Request):
    body = await request.body()
    obj = json.loads(body)
    return {"type": type(obj).__name__}
''')

# ---------------------------------------------------------------- hash (CWE-328)
_add("hash_md5_password", "hash", True, '''
import hashlib
from flask import Flask, request
app = Flask(__name__)

@app.post("/register")
def register():
    password = request.form["password"]
    digest = hashlib.md5(password.encode()).hexdigest()
    return {"stored": digest}
''')
_add("hash_sha1_token", "hash", True, '''
import hashlib

def sign(message: bytes, secret: bytes) -> str:
    return hashlib.sha1(secret + message).hexdigest()
''')
_add("hash_new_md5", "hash", True, '''
import hashlib
from django.http import JsonResponse

def checksum(request):
    h = hashlib.new("md5")
    h.update(request.body)
    return JsonResponse({"sum": h.hexdigest()})
''')
_add("hash_new_variable", "hash", True, '''
import hashlib
from fastapi import FastAPI
app = FastAPI()
ALGORITHM = "sha1"

@app.post("/hash")
def hash_value(value: str):
    return {"digest": hashlib.new(ALGORITHM, value.encode()).hexdigest()}
''')
_add("hash_hmac_md5", "hash", True, '''
import hashlib
import hmac

def signature(key: bytes, body: bytes) -> str:
    return hmac.new(key, body, hashlib.md5).hexdigest()
''')
_add("hash_from_import", "hash", True, '''
from hashlib import md5
from flask import Flask, request
app = Flask(__name__)

@app.route("/etag")
def etag():
    user = request.args.get("user", "")
    return {"token": md5(user.encode()).hexdigest()}
''')
_add("hash_cryptography_sha1", "hash", True, '''
from cryptography.hazmat.primitives import hashes

def fingerprint(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SHA1())
    digest.update(data)
    return digest.finalize()
''')
_add("hash_conditional_live", "hash", True, '''
import hashlib
from flask import Flask, request
app = Flask(__name__)

@app.route("/c")
def c():
    secret = request.args.get("s", "")
    algorithm = "md5" if 2 * 3 > 5 else "sha256"
    return hashlib.new(algorithm, secret.encode()).hexdigest()
''')
_add("hash_pycryptodome", "hash", True, '''
from Crypto.Hash import MD5

def password_hash(password: str) -> str:
    return MD5.new(password.encode()).hexdigest()
''')
_add("hash_safe_sha256", "hash", False, '''
import hashlib
from flask import Flask, request
app = Flask(__name__)

@app.post("/register")
def register():
    password = request.form["password"]
    digest = hashlib.sha256(password.encode()).hexdigest()
    return {"stored": digest}
''')
_add("hash_safe_new_sha512", "hash", False, '''
import hashlib
from django.http import JsonResponse

def checksum(request):
    h = hashlib.new("sha512")
    h.update(request.body)
    return JsonResponse({"sum": h.hexdigest()})
''')
_add("hash_safe_not_security", "hash", False, '''
import hashlib

def cache_key(url: str) -> str:
    return hashlib.md5(url.encode(), usedforsecurity=False).hexdigest()
''')
_add("hash_safe_dead_branch", "hash", False, '''
import hashlib
from flask import Flask, request
app = Flask(__name__)

@app.route("/c")
def c():
    secret = request.args.get("s", "")
    algorithm = "md5" if 2 * 3 > 7 else "sha256"
    return hashlib.new(algorithm, secret.encode()).hexdigest()
''')
_add("hash_safe_scrypt", "hash", False, '''
import hashlib
import os

def password_hash(password: str) -> bytes:
    salt = os.urandom(16)
    return salt + hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
''')
_add("hash_safe_hmac_sha256", "hash", False, '''
import hashlib
import hmac

def signature(key: bytes, body: bytes) -> str:
    return hmac.new(key, body, hashlib.sha256).hexdigest()
''')
_add("hash_safe_overwritten_algorithm", "hash", False, '''
import hashlib
from fastapi import FastAPI
app = FastAPI()

@app.post("/hash")
def hash_value(value: str):
    algorithm = "sha1"
    algorithm = "sha3_256"
    return {"digest": hashlib.new(algorithm, value.encode()).hexdigest()}
''')
_add("hash_safe_blake2", "hash", False, '''
from hashlib import blake2b
from flask import Flask, request
app = Flask(__name__)

@app.route("/etag")
def etag():
    user = request.args.get("user", "")
    return {"token": blake2b(user.encode(), digest_size=16).hexdigest()}
''')
_add("hash_safe_pbkdf2_sha256", "hash", False, '''
import hashlib

def derive(password: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 600_000)
''')

# ---------------------------------------------------------------- ldapi (CWE-90)
_add("ldap_filter_format", "ldapi", True, '''
import ldap
from flask import Flask, request
app = Flask(__name__)

@app.route("/people")
def people():
    uid = request.args.get("uid")
    conn = ldap.initialize("ldap://directory")
    found = conn.search_s("ou=people,dc=example,dc=org", ldap.SCOPE_SUBTREE, "(uid=%s)" % uid)
    return {"count": len(found)}
''')
_add("ldap3_search_fstring", "ldapi", True, '''
from ldap3 import Server, Connection
from flask import Flask, request
app = Flask(__name__)

@app.post("/group")
def group():
    name = request.form["name"]
    conn = Connection(Server("ldap://dir"), auto_bind=True)
    conn.search("dc=example,dc=org", f"(&(objectClass=group)(cn={name}))")
    return {"entries": len(conn.entries)}
''')
_add("ldap_base_dn", "ldapi", True, '''
import ldap
from django.http import JsonResponse

def org(request):
    unit = request.GET["ou"]
    conn = ldap.initialize("ldap://dir")
    result = conn.search_s("ou=" + unit + ",dc=corp", ldap.SCOPE_ONELEVEL)
    return JsonResponse({"n": len(result)})
''')
_add("ldap_helper", "ldapi", True, '''
import ldap
from fastapi import FastAPI
app = FastAPI()

def find(conn, mail):
    return conn.search_ext_s("dc=corp", ldap.SCOPE_SUBTREE, "(mail=" + mail + ")")

@app.get("/who")
def who(mail: str):
    return {"n": len(find(ldap.initialize("ldap://dir"), mail))}
''')
_add("ldap_filter_kwarg", "ldapi", True, '''
import ldap3
from flask import Flask, request
app = Flask(__name__)

@app.route("/u")
def u():
    login = request.cookies.get("login")
    conn = ldap3.Connection("ldap://dir")
    conn.search(search_base="dc=corp", search_filter="(sAMAccountName=" + login + ")")
    return "ok"
''')
_add("ldap_join", "ldapi", True, '''
import ldap
from flask import Flask, request
app = Flask(__name__)

@app.route("/m")
def m():
    terms = request.args.getlist("cn")
    query = "(|" + "".join("(cn=%s)" % t for t in terms) + ")"
    conn = ldap.initialize("ldap://dir")
    return {"n": len(conn.search_s("dc=corp", ldap.SCOPE_SUBTREE, query))}
''')
_add("ldap_dict_live", "ldapi", True, '''
import ldap
from flask import Flask, request
app = Flask(__name__)

@app.route("/d")
def d():
    params = {"a": "safe", "b": request.headers.get("X-User")}
    conn = ldap.initialize("ldap://dir")
    return {"n": len(conn.search_s("dc=corp", ldap.SCOPE_SUBTREE, "(uid=%s)" % params["b"]))}
''')
_add("ldap_search_st", "ldapi", True, '''
import ldap
from flask import Flask, request
app = Flask(__name__)

@app.route("/t")
def t():
    user = request.values["user"]
    conn = ldap.initialize("ldap://dir")
    filt = "(&(objectClass=person)(uid={}))".format(user)
    return {"n": len(conn.search_st("dc=corp", ldap.SCOPE_SUBTREE, filt, timeout=5))}
''')
_add("ldap_safe_escaped", "ldapi", False, '''
import ldap
from ldap.filter import escape_filter_chars
from flask import Flask, request
app = Flask(__name__)

@app.route("/people")
def people():
    uid = escape_filter_chars(request.args.get("uid"))
    conn = ldap.initialize("ldap://directory")
    found = conn.search_s("ou=people,dc=example,dc=org", ldap.SCOPE_SUBTREE, "(uid=%s)" % uid)
    return {"count": len(found)}
''')
_add("ldap3_safe_escaped", "ldapi", False, '''
from ldap3 import Server, Connection
from ldap3.utils.conv import escape_filter_chars
from flask import Flask, request
app = Flask(__name__)

@app.post("/group")
def group():
    name = escape_filter_chars(request.form["name"])
    conn = Connection(Server("ldap://dir"), auto_bind=True)
    conn.search("dc=example,dc=org", f"(&(objectClass=group)(cn={name}))")
    return {"entries": len(conn.entries)}
''')
_add("ldap_safe_constant", "ldapi", False, '''
import ldap
from flask import Flask, request
app = Flask(__name__)

@app.route("/admins")
def admins():
    who = request.args.get("who")
    conn = ldap.initialize("ldap://dir")
    found = conn.search_s("dc=corp", ldap.SCOPE_SUBTREE, "(memberOf=cn=admins,dc=corp)")
    return {"count": len(found), "asked_by": len(who)}
''')
_add("ldap_safe_dead_branch", "ldapi", False, '''
import ldap
from flask import Flask, request
app = Flask(__name__)

@app.route("/d")
def d():
    user = request.args.get("u")
    bar = "guest"
    if 10 < 3:
        bar = user
    conn = ldap.initialize("ldap://dir")
    return {"n": len(conn.search_s("dc=corp", ldap.SCOPE_SUBTREE, "(uid=" + bar + ")"))}
''')
_add("ldap_safe_dict_other", "ldapi", False, '''
import ldap
from flask import Flask, request
app = Flask(__name__)

@app.route("/d")
def d():
    params = {"a": "safe", "b": request.headers.get("X-User")}
    conn = ldap.initialize("ldap://dir")
    return {"n": len(conn.search_s("dc=corp", ldap.SCOPE_SUBTREE, "(uid=%s)" % params["a"]))}
''')
_add("ldap_safe_alnum_check", "ldapi", False, '''
import ldap
from fastapi import FastAPI, HTTPException
app = FastAPI()

@app.get("/who")
def who(uid: str):
    if not uid.isalnum():
        raise HTTPException(status_code=400)
    conn = ldap.initialize("ldap://dir")
    return {"n": len(conn.search_s("dc=corp", ldap.SCOPE_SUBTREE, "(uid=" + uid + ")"))}
''')
_add("ldap_safe_overwrite", "ldapi", False, '''
import ldap3
from flask import Flask, request
app = Flask(__name__)

@app.route("/u")
def u():
    login = request.cookies.get("login")
    login = "service-account"
    conn = ldap3.Connection("ldap://dir")
    conn.search(search_base="dc=corp", search_filter="(sAMAccountName=" + login + ")")
    return "ok"
''')
_add("ldap_safe_int_id", "ldapi", False, '''
import ldap
from django.http import JsonResponse

def employee(request):
    number = int(request.GET["id"])
    conn = ldap.initialize("ldap://dir")
    found = conn.search_s("dc=corp", ldap.SCOPE_SUBTREE, "(employeeNumber=%d)" % number)
    return JsonResponse({"n": len(found)})
''')
_add("ldap_safe_regex", "ldapi", False, '''
import re
import ldap
from flask import Flask, request, abort
app = Flask(__name__)

@app.route("/r")
def r():
    uid = request.args.get("uid", "")
    if not re.fullmatch(r"[a-z][a-z0-9_-]{0,31}", uid):
        abort(400)
    conn = ldap.initialize("ldap://dir")
    return {"n": len(conn.search_s("dc=corp", ldap.SCOPE_SUBTREE, f"(uid={uid})"))}
''')
# ---------------------------------------------------------------- pathtraver (CWE-22)
_add("path_open_join", "pathtraver", True, '''
import os
from flask import Flask, request
app = Flask(__name__)
BASE = "/srv/files"

@app.route("/download")
def download():
    name = request.args.get("name")
    with open(os.path.join(BASE, name), "rb") as handle:
        return handle.read()
''')
_add("path_send_file", "pathtraver", True, '''
from flask import Flask, request, send_file
app = Flask(__name__)

@app.route("/doc")
def doc():
    return send_file("/srv/docs/" + request.args["path"])
''')
_add("path_pathlib_read", "pathtraver", True, '''
from pathlib import Path
from fastapi import FastAPI
app = FastAPI()
ROOT = Path("/var/app/reports")

@app.get("/report/{name}")
def report(name: str):
    return {"text": (ROOT / name).read_text()}
''')
_add("path_remove", "pathtraver", True, '''
import os
from django.http import JsonResponse

def delete(request):
    target = request.POST.get("file")
    os.remove("/tmp/uploads/" + target)
    return JsonResponse({"deleted": True})
''')
_add("path_fileresponse", "pathtraver", True, '''
from fastapi import FastAPI
from fastapi.responses import FileResponse
app = FastAPI()

@app.get("/static")
def static(file: str):
    return FileResponse(f"/srv/static/{file}")
''')
_add("path_write_upload", "pathtraver", True, '''
from flask import Flask, request
app = Flask(__name__)

@app.post("/save")
def save():
    upload = request.files["doc"]
    destination = "/srv/uploads/" + upload.filename
    with open(destination, "wb") as out:
        out.write(upload.read())
    return "saved"
''')
_add("path_helper", "pathtraver", True, '''
from flask import Flask, request
app = Flask(__name__)

def read(path):
    with open(path) as handle:
        return handle.read()

@app.route("/t")
def t():
    return read("templates/" + request.cookies.get("theme", "light") + ".css")
''')
_add("path_replace_not_enough", "pathtraver", True, '''
import os
from flask import Flask, request
app = Flask(__name__)

@app.route("/r")
def r():
    name = request.args.get("n", "").replace("../", "")
    return open(os.path.join("/data", name)).read()
''')
_add("path_shutil_copy", "pathtraver", True, '''
import shutil
from flask import Flask, request
app = Flask(__name__)

@app.route("/copy")
def copy():
    shutil.copy("/srv/template.txt", request.args.get("to"))
    return "copied"
''')
_add("path_safe_basename", "pathtraver", False, '''
import os
from flask import Flask, request
app = Flask(__name__)
BASE = "/srv/files"

@app.route("/download")
def download():
    name = os.path.basename(request.args.get("name"))
    with open(os.path.join(BASE, name), "rb") as handle:
        return handle.read()
''')
_add("path_safe_send_from_directory", "pathtraver", False, '''
from flask import Flask, request, send_from_directory
app = Flask(__name__)

@app.route("/doc")
def doc():
    return send_from_directory("/srv/docs", request.args["path"])
''')
_add("path_safe_secure_filename", "pathtraver", False, '''
from flask import Flask, request
from werkzeug.utils import secure_filename
app = Flask(__name__)

@app.post("/save")
def save():
    upload = request.files["doc"]
    destination = "/srv/uploads/" + secure_filename(upload.filename)
    with open(destination, "wb") as out:
        out.write(upload.read())
    return "saved"
''')
_add("path_safe_dotdot_check", "pathtraver", False, '''
from flask import Flask, request, abort
app = Flask(__name__)

@app.route("/c")
def c():
    name = request.args.get("name", "")
    if ".." in name or name.startswith("/"):
        abort(400)
    return open("/srv/files/" + name).read()
''')
_add("path_safe_resolve_check", "pathtraver", False, '''
from pathlib import Path
from fastapi import FastAPI, HTTPException
app = FastAPI()
ROOT = Path("/var/app/reports").resolve()

@app.get("/report/{name}")
def report(name: str):
    target = (ROOT / name).resolve()
    if not target.is_relative_to(ROOT):
        raise HTTPException(status_code=404)
    return {"text": target.read_text()}
''')
_add("path_safe_constant", "pathtraver", False, '''
from flask import Flask, request
app = Flask(__name__)

@app.route("/motd")
def motd():
    who = request.args.get("who")
    with open("/etc/motd") as handle:
        return {"motd": handle.read(), "for": who}
''')
_add("path_safe_dead_branch", "pathtraver", False, '''
import os
from flask import Flask, request
app = Flask(__name__)

@app.route("/d")
def d():
    param = request.args.get("f")
    name = "index.txt"
    if len("abc") > 5:
        name = param
    return open(os.path.join("/srv", name)).read()
''')
_add("path_safe_allowlist", "pathtraver", False, '''
from django.http import FileResponse, HttpResponseNotFound

REPORTS = {"q1.pdf", "q2.pdf", "q3.pdf"}

def report(request):
    name = request.GET.get("name")
    if name in REPORTS:
        return FileResponse(open("/srv/reports/" + name, "rb"))
    return HttpResponseNotFound()
''')
_add("path_safe_realpath_check", "pathtraver", False, '''
import os
from flask import Flask, request, abort
app = Flask(__name__)
BASE = "/srv/files"

@app.route("/g")
def g():
    candidate = os.path.join(BASE, request.args.get("p", ""))
    if not os.path.realpath(candidate).startswith(BASE + os.sep):
        abort(403)
    return open(candidate).read()
''')

# ---------------------------------------------------------------- redirect (CWE-601)
_add("redirect_next", "redirect", True, '''
from flask import Flask, request, redirect
app = Flask(__name__)

@app.route("/login")
def login():
    return redirect(request.args.get("next", "/"))
''')
_add("redirect_django", "redirect", True, '''
from django.http import HttpResponseRedirect

def go(request):
    return HttpResponseRedirect(request.GET["url"])
''')
_add("redirect_fastapi", "redirect", True, '''
from fastapi import FastAPI
from fastapi.responses import RedirectResponse
app = FastAPI()

@app.get("/out")
def out(target: str):
    return RedirectResponse(url=target)
''')
_add("redirect_double_slash", "redirect", True, '''
from flask import Flask, request, redirect
app = Flask(__name__)

@app.route("/r")
def r():
    return redirect("/" + request.args.get("path", ""))
''')
_add("redirect_header", "redirect", True, '''
from flask import Flask, request, Response
app = Flask(__name__)

@app.route("/h")
def h():
    response = Response(status=302)
    response.headers["Location"] = request.cookies.get("return_to")
    return response
''')
_add("redirect_django_shortcut", "redirect", True, '''
from django.shortcuts import redirect

def after_logout(request):
    destination = request.POST.get("destination")
    return redirect(destination)
''')
_add("redirect_helper", "redirect", True, '''
from flask import Flask, request, redirect
app = Flask(__name__)

def back_to(url):
    return redirect(url)

@app.route("/b")
def b():
    return back_to(request.referrer)
''')
_add("redirect_netloc_not_checked", "redirect", True, '''
from urllib.parse import urlparse
from flask import Flask, request, redirect
app = Flask(__name__)

@app.route("/n")
def n():
    target = request.args.get("to", "")
    parsed = urlparse(target)
    print(parsed.netloc)
    return redirect(target)
''')
_add("redirect_safe_allowed_host", "redirect", False, '''
from django.http import HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme

def go(request):
    url = request.GET.get("url", "/")
    if not url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        url = "/"
    return HttpResponseRedirect(url)
''')
_add("redirect_safe_url_for", "redirect", False, '''
from flask import Flask, request, redirect, url_for
app = Flask(__name__)

@app.route("/login")
def login():
    user = request.args.get("user")
    return redirect(url_for("home", user=user))
''')
_add("redirect_safe_path_prefix", "redirect", False, '''
from flask import Flask, request, redirect
app = Flask(__name__)

@app.route("/p")
def p():
    return redirect("/profile/" + request.args.get("id", ""))
''')
_add("redirect_safe_allowlist", "redirect", False, '''
from fastapi import FastAPI
from fastapi.responses import RedirectResponse
app = FastAPI()
DESTINATIONS = {"https://docs.example.org", "https://status.example.org"}

@app.get("/out")
def out(target: str):
    if target not in DESTINATIONS:
        target = "https://example.org"
    return RedirectResponse(url=target)
''')
_add("redirect_safe_netloc_check", "redirect", False, '''
from urllib.parse import urlparse
from flask import Flask, request, redirect, abort
app = Flask(__name__)
HOSTS = ("example.org", "www.example.org")

@app.route("/n")
def n():
    target = request.args.get("to", "")
    if urlparse(target).netloc not in HOSTS:
        abort(400)
    return redirect(target)
''')
_add("redirect_safe_dead_branch", "redirect", False, '''
from flask import Flask, request, redirect
app = Flask(__name__)

@app.route("/d")
def d():
    param = request.args.get("next")
    target = param if 4 * 4 < 10 else "/home"
    return redirect(target)
''')
_add("redirect_safe_overwrite", "redirect", False, '''
from django.shortcuts import redirect

def after_logout(request):
    destination = request.POST.get("destination")
    destination = "/goodbye"
    return redirect(destination)
''')
_add("redirect_safe_fixed_host", "redirect", False, '''
from flask import Flask, request, redirect
app = Flask(__name__)

@app.route("/s")
def s():
    query = request.args.get("q", "")
    return redirect("https://search.example.org/find?q=" + query)
''')
_add("redirect_safe_equality", "redirect", False, '''
from flask import Flask, request, redirect
app = Flask(__name__)

@app.route("/e")
def e():
    nxt = request.args.get("next")
    if nxt == "/dashboard":
        return redirect(nxt)
    return redirect("/")
''')

# ---------------------------------------------------------------- securecookie (CWE-614)
_add("cookie_flask_plain", "securecookie", True, '''
from flask import Flask, make_response
app = Flask(__name__)

@app.route("/login")
def login():
    response = make_response("welcome")
    response.set_cookie("session_id", "abc123", httponly=True)
    return response
''')
_add("cookie_secure_false", "securecookie", True, '''
from flask import Flask, make_response, request
app = Flask(__name__)

@app.route("/remember")
def remember():
    response = make_response("ok")
    response.set_cookie("remember", request.args.get("v", ""), secure=False)
    return response
''')
_add("cookie_django", "securecookie", True, '''
from django.http import HttpResponse

def set_pref(request):
    response = HttpResponse("saved", content_type="text/plain")
    response.set_cookie("theme", "dark", max_age=3600)
    return response
''')
_add("cookie_fastapi", "securecookie", True, '''
from fastapi import FastAPI, Response
app = FastAPI()

@app.post("/token")
def token(response: Response):
    response.set_cookie(key="token", value="t0k3n", httponly=True, samesite="strict")
    return {"ok": True}
''')
_add("cookie_flag_variable_false", "securecookie", True, '''
from flask import Flask, make_response
app = Flask(__name__)
SECURE = False

@app.route("/v")
def v():
    response = make_response("v")
    response.set_cookie("id", "1", secure=SECURE)
    return response
''')
_add("cookie_signed_django", "securecookie", True, '''
from django.http import JsonResponse

def remember(request):
    response = JsonResponse({"ok": True})
    response.set_signed_cookie("user", "alice", salt="s", httponly=True)
    return response
''')
_add("cookie_in_helper", "securecookie", True, '''
from flask import Flask, make_response
app = Flask(__name__)

def attach(response, value):
    response.set_cookie("cart", value)
    return response

@app.route("/cart")
def cart():
    return attach(make_response("cart"), "3 items")
''')
_add("cookie_live_branch", "securecookie", True, '''
from flask import Flask, make_response
app = Flask(__name__)

@app.route("/b")
def b():
    response = make_response("b")
    if 5 > 2:
        response.set_cookie("a", "1")
    else:
        response.set_cookie("a", "1", secure=True)
    return response
''')
_add("cookie_safe_secure", "securecookie", False, '''
from flask import Flask, make_response
app = Flask(__name__)

@app.route("/login")
def login():
    response = make_response("welcome")
    response.set_cookie("session_id", "abc123", secure=True, httponly=True)
    return response
''')
_add("cookie_safe_django", "securecookie", False, '''
from django.http import HttpResponse

def set_pref(request):
    response = HttpResponse("saved", content_type="text/plain")
    response.set_cookie("theme", "dark", max_age=3600, secure=True, samesite="Lax")
    return response
''')
_add("cookie_safe_fastapi", "securecookie", False, '''
from fastapi import FastAPI, Response
app = FastAPI()

@app.post("/token")
def token(response: Response):
    response.set_cookie(key="token", value="t0k3n", httponly=True, secure=True, samesite="strict")
    return {"ok": True}
''')
_add("cookie_safe_flag_constant", "securecookie", False, '''
from flask import Flask, make_response
app = Flask(__name__)
SECURE = True

@app.route("/v")
def v():
    response = make_response("v")
    response.set_cookie("id", "1", secure=SECURE)
    return response
''')
_add("cookie_safe_dead_branch", "securecookie", False, '''
from flask import Flask, make_response
app = Flask(__name__)

@app.route("/b")
def b():
    response = make_response("b")
    if 5 < 2:
        response.set_cookie("a", "1")
    else:
        response.set_cookie("a", "1", secure=True)
    return response
''')
_add("cookie_safe_delete", "securecookie", False, '''
from flask import Flask, make_response
app = Flask(__name__)

@app.route("/logout")
def logout():
    response = make_response("bye")
    response.delete_cookie("session_id")
    return response
''')
_add("cookie_safe_signed", "securecookie", False, '''
from django.http import JsonResponse

def remember(request):
    response = JsonResponse({"ok": True})
    response.set_signed_cookie("user", "alice", salt="s", httponly=True, secure=True)
    return response
''')
_add("cookie_safe_helper", "securecookie", False, '''
from flask import Flask, make_response
app = Flask(__name__)

def attach(response, value):
    response.set_cookie("cart", value, secure=True, samesite="Lax")
    return response

@app.route("/cart")
def cart():
    return attach(make_response("cart"), "3 items")
''')
_add("cookie_safe_conditional_true", "securecookie", False, '''
from flask import Flask, make_response
app = Flask(__name__)

@app.route("/c")
def c():
    response = make_response("c")
    response.set_cookie("k", "v", secure=3 > 1)
    return response
''')

# ---------------------------------------------------------------- trustbound (CWE-501)
_add("trust_flask_session", "trustbound", True, '''
from flask import Flask, request, session
app = Flask(__name__)

@app.route("/as")
def act_as():
    session["role"] = request.args.get("role")
    return "ok"
''')
_add("trust_django_session", "trustbound", True, '''
from django.http import HttpResponse

def remember(request):
    request.session["user_id"] = request.POST.get("user_id")
    return HttpResponse("ok", content_type="text/plain")
''')
_add("trust_session_update", "trustbound", True, '''
from flask import Flask, request, session
app = Flask(__name__)

@app.post("/prefs")
def prefs():
    session.update({"lang": request.form["lang"]})
    return "ok"
''')
_add("trust_fastapi_session", "trustbound", True, '''
from fastapi import FastAPI, Request
app = FastAPI()

@app.get("/who")
def who(request: Request, name: str):
    request.session["name"] = name
    return {"ok": True}
''')
_add("trust_session_header", "trustbound", True, '''
from flask import Flask, request, session
app = Flask(__name__)

@app.route("/h")
def h():
    value = request.headers.get("X-Tenant")
    key = "tenant"
    session[key] = value
    return "ok"
''')
_add("trust_session_helper", "trustbound", True, '''
from flask import Flask, request, session
app = Flask(__name__)

def remember(name, value):
    session[name] = value

@app.route("/r")
def r():
    remember("cart", request.cookies.get("cart"))
    return "ok"
''')
_add("trust_session_list_live", "trustbound", True, '''
from flask import Flask, request, session
app = Flask(__name__)

@app.route("/l")
def l():
    values = ["a", request.args.get("b"), "c"]
    session["chosen"] = values[1]
    return "ok"
''')
_add("trust_session_setdefault", "trustbound", True, '''
from django.http import JsonResponse

def start(request):
    request.session.setdefault("referrer", request.META.get("HTTP_REFERER"))
    return JsonResponse({"ok": True})
''')
_add("trust_safe_constant", "trustbound", False, '''
from flask import Flask, request, session
app = Flask(__name__)

@app.route("/as")
def act_as():
    who = request.args.get("role")
    session["role"] = "viewer"
    return "asked for " + str(len(who))
''')
_add("trust_safe_allowlist", "trustbound", False, '''
from flask import Flask, request, session
app = Flask(__name__)
ROLES = ("viewer", "editor")

@app.route("/as")
def act_as():
    role = request.args.get("role")
    if role in ROLES:
        session["role"] = role
    return "ok"
''')
_add("trust_safe_int", "trustbound", False, '''
from django.http import HttpResponse

def remember(request):
    request.session["page"] = int(request.POST.get("page", "1"))
    return HttpResponse("ok", content_type="text/plain")
''')
_add("trust_safe_dead_branch", "trustbound", False, '''
from flask import Flask, request, session
app = Flask(__name__)

@app.route("/d")
def d():
    value = request.args.get("v")
    if 1 + 1 == 3:
        session["v"] = value
    return "ok"
''')
_add("trust_safe_overwrite", "trustbound", False, '''
from flask import Flask, request, session
app = Flask(__name__)

@app.route("/o")
def o():
    value = request.args.get("v")
    value = "default"
    session["v"] = value
    return "ok"
''')
_add("trust_safe_dict_other", "trustbound", False, '''
from flask import Flask, request, session
app = Flask(__name__)

@app.route("/m")
def m():
    data = {"user": request.args.get("u"), "theme": "dark"}
    session["theme"] = data["theme"]
    return "ok"
''')
_add("trust_safe_not_session", "trustbound", False, '''
from flask import Flask, request
app = Flask(__name__)
cache = {}

@app.route("/c")
def c():
    cache["last"] = request.args.get("q")
    return "ok"
''')
_add("trust_safe_validated_regex", "trustbound", False, '''
import re
from fastapi import FastAPI, Request, HTTPException
app = FastAPI()

@app.get("/who")
def who(request: Request, name: str):
    if not re.fullmatch(r"[A-Za-z]{1,20}", name):
        raise HTTPException(status_code=400)
    request.session["name"] = name
    return {"ok": True}
''')
# ---------------------------------------------------------------- weakrand (CWE-330)
_add("rand_token", "weakrand", True, '''
import random
import string

def reset_token() -> str:
    return "".join(random.choice(string.ascii_letters) for _ in range(32))
''')
_add("rand_session_cookie", "weakrand", True, '''
import random
from flask import Flask, make_response
app = Flask(__name__)

@app.route("/start")
def start():
    response = make_response("hi")
    response.set_cookie("sid", str(random.getrandbits(64)), secure=True)
    return response
''')
_add("rand_otp", "weakrand", True, '''
from random import randint

def one_time_code() -> str:
    return f"{randint(0, 999999):06d}"
''')
_add("rand_instance", "weakrand", True, '''
import random

generator = random.Random()

def api_key() -> str:
    return "%032x" % generator.getrandbits(128)
''')
_add("rand_password", "weakrand", True, '''
import random
from django.http import JsonResponse

def new_password(request):
    alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
    password = "".join(random.sample(alphabet, 12))
    return JsonResponse({"password": password})
''')
_add("rand_float_nonce", "weakrand", True, '''
import random
from fastapi import FastAPI
app = FastAPI()

@app.get("/nonce")
def nonce():
    return {"nonce": str(random.random())[2:]}
''')
_add("rand_numpy", "weakrand", True, '''
import numpy as np

def salt() -> bytes:
    return bytes(np.random.randint(0, 256, size=16).tolist())
''')
_add("rand_in_helper_live", "weakrand", True, '''
import random
from flask import Flask, session
app = Flask(__name__)

def make_id():
    return random.randrange(10**12)

@app.route("/id")
def give_id():
    session["csrf"] = make_id()
    return "ok"
''')
_add("rand_safe_secrets", "weakrand", False, '''
import secrets
import string

def reset_token() -> str:
    return "".join(secrets.choice(string.ascii_letters) for _ in range(32))
''')
_add("rand_safe_token_hex", "weakrand", False, '''
import secrets
from flask import Flask, make_response
app = Flask(__name__)

@app.route("/start")
def start():
    response = make_response("hi")
    response.set_cookie("sid", secrets.token_hex(16), secure=True)
    return response
''')
_add("rand_safe_systemrandom", "weakrand", False, '''
import random

generator = random.SystemRandom()

def api_key() -> str:
    return "%032x" % generator.getrandbits(128)
''')
_add("rand_safe_urandom", "weakrand", False, '''
import os
from fastapi import FastAPI
app = FastAPI()

@app.get("/nonce")
def nonce():
    return {"nonce": os.urandom(16).hex()}
''')
_add("rand_safe_dead_branch", "weakrand", False, '''
import random
import secrets

def token() -> str:
    if 2 ** 3 == 9:
        return str(random.random())
    return secrets.token_urlsafe(24)
''')
_add("rand_safe_uuid4", "weakrand", False, '''
import uuid
from django.http import JsonResponse

def new_id(request):
    return JsonResponse({"id": str(uuid.uuid4())})
''')
_add("rand_safe_token_bytes", "weakrand", False, '''
from secrets import token_bytes

def salt() -> bytes:
    return token_bytes(16)
''')
_add("rand_safe_randbelow", "weakrand", False, '''
import secrets

def one_time_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"
''')

# ---------------------------------------------------------------- xpathi (CWE-643)
_add("xpath_lxml_format", "xpathi", True, '''
from lxml import etree
from flask import Flask, request
app = Flask(__name__)
TREE = etree.parse("users.xml")

@app.route("/user")
def user():
    name = request.args.get("name")
    return {"n": len(TREE.xpath("//user[@name='%s']" % name))}
''')
_add("xpath_elementtree_findall", "xpathi", True, '''
import xml.etree.ElementTree as ET
from flask import Flask, request
app = Flask(__name__)

@app.route("/items")
def items():
    kind = request.args.get("kind")
    root = ET.parse("catalog.xml").getroot()
    return {"n": len(root.findall(".//item[@kind='" + kind + "']"))}
''')
_add("xpath_compiled", "xpathi", True, '''
from lxml import etree
from fastapi import FastAPI
app = FastAPI()

@app.get("/q")
def q(path: str):
    finder = etree.XPath("/catalog/" + path)
    return {"n": len(finder(etree.parse("c.xml")))}
''')
_add("xpath_django", "xpathi", True, '''
from lxml import etree
from django.http import JsonResponse

def lookup(request):
    doc = etree.fromstring(b"<a><b id='1'/></a>")
    ident = request.GET["id"]
    return JsonResponse({"n": len(doc.xpath(f"//b[@id='{ident}']"))})
''')
_add("xpath_helper", "xpathi", True, '''
from lxml import etree
from flask import Flask, request
app = Flask(__name__)

def select(tree, expr):
    return tree.xpath(expr)

@app.route("/s")
def s():
    tree = etree.parse("data.xml")
    return {"n": len(select(tree, "//row[name='" + request.form["name"] + "']"))}
''')
_add("xpath_cookie", "xpathi", True, '''
from lxml import etree
from flask import Flask, request
app = Flask(__name__)

@app.route("/c")
def c():
    tree = etree.parse("prefs.xml")
    pref = request.cookies.get("pref")
    query = "//pref[@key=\\"{}\\"]/text()".format(pref)
    return {"v": tree.xpath(query)}
''')
_add("xpath_findtext", "xpathi", True, '''
import xml.etree.ElementTree as ET
from flask import Flask, request
app = Flask(__name__)

@app.route("/t")
def t():
    root = ET.fromstring("<r><e k='a'>1</e></r>")
    return root.findtext("e[@k='%s']" % request.args.get("k")) or ""
''')
_add("xpath_list_live", "xpathi", True, '''
from lxml import etree
from flask import Flask, request
app = Flask(__name__)

@app.route("/l")
def l():
    parts = ["x", request.args.get("p")]
    tree = etree.parse("d.xml")
    return {"n": len(tree.xpath("//" + parts[-1]))}
''')
_add("xpath_safe_variable", "xpathi", False, '''
from lxml import etree
from flask import Flask, request
app = Flask(__name__)
TREE = etree.parse("users.xml")

@app.route("/user")
def user():
    name = request.args.get("name")
    return {"n": len(TREE.xpath("//user[@name=$name]", name=name))}
''')
_add("xpath_safe_constant", "xpathi", False, '''
import xml.etree.ElementTree as ET
from flask import Flask, request
app = Flask(__name__)

@app.route("/items")
def items():
    kind = request.args.get("kind")
    root = ET.parse("catalog.xml").getroot()
    matches = [i for i in root.findall(".//item") if i.get("kind") == kind]
    return {"n": len(matches)}
''')
_add("xpath_safe_allowlist", "xpathi", False, '''
from lxml import etree
from fastapi import FastAPI
app = FastAPI()
SECTIONS = ("books", "music", "films")

@app.get("/q")
def q(path: str):
    if path not in SECTIONS:
        path = "books"
    return {"n": len(etree.parse("c.xml").xpath("/catalog/" + path))}
''')
_add("xpath_safe_int", "xpathi", False, '''
from lxml import etree
from django.http import JsonResponse

def lookup(request):
    doc = etree.fromstring(b"<a><b id='1'/></a>")
    ident = int(request.GET["id"])
    return JsonResponse({"n": len(doc.xpath(f"//b[@id='{ident}']"))})
''')
_add("xpath_safe_dead_branch", "xpathi", False, '''
from lxml import etree
from flask import Flask, request
app = Flask(__name__)

@app.route("/d")
def d():
    param = request.args.get("p")
    name = "guest"
    if "abc".upper() == "abc":
        name = param
    return {"n": len(etree.parse("u.xml").xpath("//user[@name='" + name + "']"))}
''')
_add("xpath_safe_overwrite", "xpathi", False, '''
from lxml import etree
from flask import Flask, request
app = Flask(__name__)

@app.route("/o")
def o():
    expr = request.args.get("expr")
    expr = "//user/@name"
    return {"names": etree.parse("u.xml").xpath(expr)}
''')
_add("xpath_safe_list_other", "xpathi", False, '''
from lxml import etree
from flask import Flask, request
app = Flask(__name__)

@app.route("/l")
def l():
    parts = ["item", request.args.get("p")]
    tree = etree.parse("d.xml")
    return {"n": len(tree.xpath("//" + parts[0]))}
''')
_add("xpath_safe_str_find", "xpathi", False, '''
from flask import Flask, request
app = Flask(__name__)

@app.route("/f")
def f():
    text = "a,b,c"
    return {"at": text.find(request.args.get("needle", ""))}
''')

# ---------------------------------------------------------------- xss (CWE-79)
_add("xss_return_concat", "xss", True, '''
from flask import Flask, request
app = Flask(__name__)

@app.route("/hello")
def hello():
    name = request.args.get("name", "world")
    return "<h1>Hello " + name + "</h1>"
''')
_add("xss_render_template_string", "xss", True, '''
from flask import Flask, request, render_template_string
app = Flask(__name__)

@app.route("/greet")
def greet():
    return render_template_string("<p>Hi " + request.args["who"] + "</p>")
''')
_add("xss_markup", "xss", True, '''
from flask import Flask, request
from markupsafe import Markup
app = Flask(__name__)

@app.route("/bio")
def bio():
    return Markup("<div>%s</div>" % request.form.get("bio"))
''')
_add("xss_django_httpresponse", "xss", True, '''
from django.http import HttpResponse

def search(request):
    query = request.GET.get("q", "")
    return HttpResponse(f"<p>Results for {query}</p>")
''')
_add("xss_fastapi_htmlresponse", "xss", True, '''
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
app = FastAPI()

@app.get("/page")
def page(title: str):
    return HTMLResponse("<title>" + title + "</title>")
''')
_add("xss_make_response", "xss", True, '''
from flask import Flask, request, make_response
app = Flask(__name__)

@app.route("/echo")
def echo():
    response = make_response(request.headers.get("User-Agent"))
    return response
''')
_add("xss_mark_safe", "xss", True, '''
from django.shortcuts import render
from django.utils.safestring import mark_safe

def profile(request):
    motto = mark_safe(request.POST["motto"])
    return render(request, "profile.html", {"motto": motto})
''')
_add("xss_jinja_template", "xss", True, '''
from jinja2 import Template
from flask import Flask, request
app = Flask(__name__)

@app.route("/card")
def card():
    return Template("<b>{{ name }}</b>").render(name=request.args.get("name"))
''')
_add("xss_tuple_return", "xss", True, '''
from flask import Flask, request
app = Flask(__name__)

@app.route("/err")
def err():
    return "<p>unknown page " + request.path + "</p>", 404
''')
_add("xss_safe_escape", "xss", False, '''
from flask import Flask, request
from markupsafe import escape
app = Flask(__name__)

@app.route("/hello")
def hello():
    name = request.args.get("name", "world")
    return "<h1>Hello " + escape(name) + "</h1>"
''')
_add("xss_safe_render_template", "xss", False, '''
from flask import Flask, request, render_template
app = Flask(__name__)

@app.route("/greet")
def greet():
    return render_template("greet.html", who=request.args["who"])
''')
_add("xss_safe_html_escape", "xss", False, '''
import html
from django.http import HttpResponse

def search(request):
    query = request.GET.get("q", "")
    return HttpResponse(f"<p>Results for {html.escape(query)}</p>")
''')
_add("xss_safe_jsonify", "xss", False, '''
from flask import Flask, request, jsonify
app = Flask(__name__)

@app.route("/api/echo")
def echo():
    return jsonify(message=request.args.get("m"))
''')
_add("xss_safe_fastapi_json", "xss", False, '''
from fastapi import FastAPI
app = FastAPI()

@app.get("/page")
def page(title: str):
    return {"title": title}
''')
_add("xss_safe_dead_branch", "xss", False, '''
from flask import Flask, request
app = Flask(__name__)

@app.route("/d")
def d():
    param = request.args.get("p")
    shown = "nothing"
    if 100 < 10:
        shown = param
    return "<p>" + shown + "</p>"
''')
_add("xss_safe_plain_text", "xss", False, '''
from flask import Flask, request, Response
app = Flask(__name__)

@app.route("/raw")
def raw():
    return Response(request.args.get("t", ""), mimetype="text/plain")
''')
_add("xss_safe_int", "xss", False, '''
from flask import Flask, request
app = Flask(__name__)

@app.route("/n")
def n():
    count = int(request.args.get("count", "0"))
    return "<p>" + str(count * 2) + " items</p>"
''')
_add("xss_safe_overwrite", "xss", False, '''
from django.http import HttpResponse

def hello(request):
    name = request.GET.get("name")
    name = "visitor"
    return HttpResponse("<p>Hello " + name + "</p>")
''')

# ---------------------------------------------------------------- xxe (CWE-611)
_add("xxe_lxml_resolve", "xxe", True, '''
from lxml import etree
from flask import Flask, request
app = Flask(__name__)

@app.post("/import")
def import_xml():
    parser = etree.XMLParser(resolve_entities=True)
    root = etree.fromstring(request.data, parser)
    return {"tag": root.tag}
''')
_add("xxe_sax_feature", "xxe", True, '''
import xml.sax
from xml.sax.handler import feature_external_ges
from flask import Flask, request
app = Flask(__name__)

@app.post("/sax")
def sax():
    parser = xml.sax.make_parser()
    parser.setFeature(feature_external_ges, True)
    parser.parse(request.files["doc"])
    return "parsed"
''')
_add("xxe_lxml_no_network_false", "xxe", True, '''
from lxml import etree
from django.http import JsonResponse

def upload(request):
    parser = etree.XMLParser(no_network=False, resolve_entities=True)
    doc = etree.fromstring(request.body, parser=parser)
    return JsonResponse({"children": len(doc)})
''')
_add("xxe_sax_feature_string", "xxe", True, '''
import xml.sax

class Handler(xml.sax.ContentHandler):
    pass

def parse(path):
    parser = xml.sax.make_parser()
    parser.setFeature("http://xml.org/sax/features/external-general-entities", True)
    parser.setContentHandler(Handler())
    parser.parse(path)
''')
_add("xxe_fastapi_parser_variable", "xxe", True, '''
from lxml import etree
from fastapi import FastAPI, Request
app = FastAPI()
PARSER = etree.XMLParser(resolve_entities=True, load_dtd=True)

@app.post("/feed")
async def feed(request: Request):
    root = etree.fromstring(await request.body(), PARSER)
    return {"items": len(root)}
''')
_add("xxe_xmltodict", "xxe", True, '''
import xmltodict
from flask import Flask, request
app = Flask(__name__)

@app.post("/x")
def x():
    return xmltodict.parse(request.data, disable_entities=False)
''')
_add("xxe_iterparse", "xxe", True, '''
from lxml import etree

def rows(path):
    for _, element in etree.iterparse(path, resolve_entities=True):
        yield element.tag
''')
_add("xxe_live_branch", "xxe", True, '''
from lxml import etree
from flask import Flask, request
app = Flask(__name__)

@app.post("/b")
def b():
    strict = len("ab") == 2
    parser = etree.XMLParser(resolve_entities=strict)
    return {"tag": etree.fromstring(request.data, parser).tag}
''')
_add("xxe_safe_defusedxml", "xxe", False, '''
from defusedxml import ElementTree
from flask import Flask, request
app = Flask(__name__)

@app.post("/import")
def import_xml():
    root = ElementTree.fromstring(request.data)
    return {"tag": root.tag}
''')
_add("xxe_safe_lxml_no_entities", "xxe", False, '''
from lxml import etree
from flask import Flask, request
app = Flask(__name__)

@app.post("/import")
def import_xml():
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.fromstring(request.data, parser)
    return {"tag": root.tag}
''')
_add("xxe_safe_sax_default", "xxe", False, '''
import xml.sax
from flask import Flask, request
app = Flask(__name__)

@app.post("/sax")
def sax():
    parser = xml.sax.make_parser()
    parser.parse(request.files["doc"])
    return "parsed"
''')
_add("xxe_safe_sax_disabled", "xxe", False, '''
import xml.sax
from xml.sax.handler import feature_external_ges

def parse(path):
    parser = xml.sax.make_parser()
    parser.setFeature(feature_external_ges, False)
    parser.parse(path)
''')
_add("xxe_safe_stdlib_etree", "xxe", False, '''
import xml.etree.ElementTree as ET
from django.http import JsonResponse

def upload(request):
    doc = ET.fromstring(request.body)
    return JsonResponse({"children": len(doc)})
''')
_add("xxe_safe_dead_branch", "xxe", False, '''
from lxml import etree
from flask import Flask, request
app = Flask(__name__)

@app.post("/b")
def b():
    strict = len("ab") == 3
    parser = etree.XMLParser(resolve_entities=strict)
    return {"tag": etree.fromstring(request.data, parser).tag}
''')
_add("xxe_safe_json", "xxe", False, '''
import json
from fastapi import FastAPI, Request
app = FastAPI()

@app.post("/feed")
async def feed(request: Request):
    return {"items": len(json.loads(await request.body()))}
''')
_add("xxe_safe_xmltodict_default", "xxe", False, '''
import xmltodict
from flask import Flask, request
app = Flask(__name__)

@app.post("/x")
def x():
    return xmltodict.parse(request.data)
''')

# ---------------------------------------------------------------- more shapes, each category
_add("rand_safe_shuffle_quiz", "weakrand", False, '''
import random
from flask import Flask, jsonify
app = Flask(__name__)
QUESTIONS = ["q1", "q2", "q3", "q4"]

@app.route("/quiz")
def quiz():
    order = list(QUESTIONS)
    random.shuffle(order)
    return jsonify(questions=order)
''')
_add("rand_safe_retry_jitter", "weakrand", False, '''
import random
import time

def call_with_retry(fn, attempts=5):
    for attempt in range(attempts):
        try:
            return fn()
        except ConnectionError:
            time.sleep(2 ** attempt + random.uniform(0, 1))
    raise ConnectionError("gave up")
''')
_add("rand_safe_sampling", "weakrand", False, '''
import random

def sample_rows(rows, fraction=0.1):
    return [row for row in rows if random.random() < fraction]
''')
_add("rand_reset_link", "weakrand", True, '''
import random
from django.core.mail import send_mail
from django.http import JsonResponse

def forgot(request):
    reset_code = "".join(str(random.randint(0, 9)) for _ in range(8))
    send_mail("Reset", f"Your code: {reset_code}", "noreply@example.org", [request.POST["email"]])
    return JsonResponse({"sent": True})
''')
_add("rand_class_token", "weakrand", True, '''
import random

class Sessions:
    def __init__(self):
        self.store = {}

    def open(self, user):
        sid = "%x" % random.getrandbits(64)
        self.store[sid] = user
        return sid
''')
_add("redirect_safe_validator_function", "redirect", False, '''
from urllib.parse import urljoin, urlparse
from flask import Flask, request, redirect, abort
app = Flask(__name__)

def is_safe_redirect(target):
    host = urlparse(request.host_url)
    test = urlparse(urljoin(request.host_url, target))
    return test.scheme in ("http", "https") and host.netloc == test.netloc

@app.route("/login")
def login():
    nxt = request.args.get("next", "/")
    if not is_safe_redirect(nxt):
        abort(400)
    return redirect(nxt)
''')
_add("redirect_safe_relative_only", "redirect", False, '''
from urllib.parse import urlparse
from django.shortcuts import redirect

def back(request):
    target = request.GET.get("next", "/")
    if urlparse(target).netloc:
        target = "/"
    return redirect(target)
''')
_add("redirect_startswith_slash_only", "redirect", True, '''
from flask import Flask, request, redirect
app = Flask(__name__)

@app.route("/s")
def s():
    nxt = request.args.get("next", "/")
    if nxt.startswith("/"):
        return redirect(nxt)
    return redirect("/")
''')
_add("redirect_safe_startswith_path", "redirect", False, '''
from flask import Flask, request, redirect
app = Flask(__name__)

@app.route("/s")
def s():
    nxt = request.args.get("next", "/")
    if nxt.startswith("/account/"):
        return redirect(nxt)
    return redirect("/")
''')
_add("xss_safe_format_html", "xss", False, '''
from django.http import HttpResponse
from django.utils.html import format_html

def greet(request):
    return HttpResponse(format_html("<p>Hello {}</p>", request.GET.get("name", "")))
''')
_add("xss_safe_markup_format", "xss", False, '''
from flask import Flask, request
from markupsafe import Markup
app = Flask(__name__)

@app.route("/m")
def m():
    return Markup("<em>{}</em>").format(request.args.get("word", ""))
''')
_add("xss_class_view", "xss", True, '''
from django.http import HttpResponse
from django.views import View

class Echo(View):
    def get(self, request):
        message = request.GET.get("m", "")
        return HttpResponse("<pre>" + message + "</pre>")
''')
_add("cmdi_safe_shlex_split_fixed_program", "cmdi", False, '''
import shlex
import subprocess
from flask import Flask, request
app = Flask(__name__)

@app.route("/grep")
def grep():
    args = shlex.split("grep -n " + shlex.quote(request.args.get("p", "x")) + " notes.txt")
    return subprocess.run(args, capture_output=True).stdout
''')
_add("cmdi_shlex_split_user_program", "cmdi", True, '''
import shlex
import subprocess
from flask import Flask, request
app = Flask(__name__)

@app.route("/run")
def run():
    args = shlex.split(request.args.get("cmd", "true"))
    return subprocess.run(args, capture_output=True).stdout
''')
_add("sqli_safe_table_map", "sqli", False, '''
import sqlite3
from flask import Flask, request
app = Flask(__name__)
TABLES = {"users": "app_users", "orders": "app_orders"}

@app.route("/count")
def count():
    table = TABLES.get(request.args.get("t"), "app_users")
    return str(sqlite3.connect("d.db").execute("SELECT COUNT(*) FROM " + table).fetchone())
''')
_add("sqli_class_repository", "sqli", True, '''
import sqlite3
from flask import Flask, request
app = Flask(__name__)

class Users:
    def __init__(self, path):
        self.conn = sqlite3.connect(path)

    def by_name(self, name):
        return self.conn.execute("SELECT * FROM users WHERE name = '" + name + "'").fetchall()

@app.route("/u")
def u():
    return str(Users("u.db").by_name(request.args.get("name")))
''')
_add("trust_safe_db_lookup", "trustbound", False, '''
from flask import Flask, request, session
from myapp.db import db, User
app = Flask(__name__)

@app.post("/login")
def login():
    user = db.session.query(User).filter_by(email=request.form["email"]).first()
    session["user_id"] = user.id
    return "ok"
''')
_add("cookie_safe_options_dict", "securecookie", False, '''
from flask import Flask, make_response
app = Flask(__name__)
COOKIE_OPTIONS = {"secure": True, "httponly": True, "samesite": "Lax"}

@app.route("/o")
def o():
    response = make_response("o")
    response.set_cookie("pref", "1", **COOKIE_OPTIONS)
    return response
''')
_add("path_safe_validator_function", "pathtraver", False, '''
import os
from fastapi import FastAPI, HTTPException
app = FastAPI()
ROOT = "/srv/data"

def is_allowed_name(name):
    return name.isidentifier()

@app.get("/f/{name}")
def f(name: str):
    if not is_allowed_name(name):
        raise HTTPException(status_code=400)
    with open(os.path.join(ROOT, name + ".json")) as handle:
        return {"data": handle.read()}
''')
_add("deser_class_cache", "deserialization", True, '''
import pickle
from flask import Flask, request
app = Flask(__name__)

class Cache:
    def restore(self, blob):
        return pickle.loads(blob)

@app.post("/cache")
def cache():
    return str(Cache().restore(request.get_data()))
''')
_add("hash_sha1_checksum_in_helper", "hash", True, '''
import hashlib
from flask import Flask, request
app = Flask(__name__)

def fingerprint(value):
    return hashlib.sha1(value.encode()).hexdigest()

@app.route("/fp")
def fp():
    return {"fp": fingerprint(request.args.get("v", ""))}
''')
_add("xxe_default_parser_untrusted", "xxe", True, '''
from lxml import etree
from flask import Flask, request
app = Flask(__name__)

@app.post("/doc")
def doc():
    root = etree.fromstring(request.get_data())
    return {"tag": root.tag}
''')
_add("xpath_safe_escaped_quotes_int", "xpathi", False, '''
from lxml import etree
from flask import Flask, request
app = Flask(__name__)

@app.route("/p")
def p():
    page = request.args.get("page", "1")
    if not page.isdigit():
        return "bad", 400
    return {"n": len(etree.parse("b.xml").xpath("//page[" + page + "]"))}
''')
_add("codeinj_match_dead_case", "codeinj", False, '''
from flask import Flask, request
app = Flask(__name__)

@app.route("/m")
def m():
    code = request.args.get("c")
    mode = "fixed"
    match mode:
        case "dynamic":
            expression = code
        case _:
            expression = "40 + 2"
    return str(eval(expression))
''')
_add("ldap_class_directory", "ldapi", True, '''
import ldap
from flask import Flask, request
app = Flask(__name__)

class Directory:
    def __init__(self):
        self.conn = ldap.initialize("ldap://dir")

    def members(self, group):
        return self.conn.search_s("dc=corp", ldap.SCOPE_SUBTREE, "(memberOf=cn=" + group + ",dc=corp)")

@app.route("/g")
def g():
    return {"n": len(Directory().members(request.args["group"]))}
''')

# ---------------------------------------------------------------- validation shapes real code uses
_add("cmdi_safe_ipaddress", "cmdi", False, '''
import ipaddress
import subprocess
from flask import Flask, request, abort
app = Flask(__name__)

@app.route("/ping")
def ping():
    host = request.args.get("host", "")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        abort(400)
    return subprocess.check_output("ping -c 1 " + host, shell=True)
''')
_add("cmdi_try_without_exit", "cmdi", True, '''
import subprocess
from flask import Flask, request
app = Flask(__name__)

@app.route("/nc")
def nc():
    port = request.args.get("port", "80")
    try:
        int(port)
    except ValueError:
        print("not a number")
    return subprocess.check_output("nc -z localhost " + port, shell=True)
''')
_add("sqli_safe_psycopg_identifier", "sqli", False, '''
import psycopg2
from psycopg2 import sql
from flask import Flask, request
app = Flask(__name__)

@app.route("/t")
def t():
    table = request.args.get("table")
    cur = psycopg2.connect("dbname=app").cursor()
    cur.execute(sql.SQL("SELECT COUNT(*) FROM {}").format(sql.Identifier(table)))
    return {"n": cur.fetchone()[0]}
''')
_add("deser_safe_signed_blob", "deserialization", False, '''
import base64
import hashlib
import hmac
import pickle
from flask import Flask, request, abort
app = Flask(__name__)
KEY = b"server-side-key"

@app.route("/state")
def state():
    blob = base64.b64decode(request.cookies.get("state", ""))
    signature = request.cookies.get("sig", "")
    expected = hmac.new(KEY, blob, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(signature, expected):
        abort(403)
    return {"n": len(pickle.loads(blob))}
''')
_add("path_safe_startswith_dotdot", "pathtraver", False, '''
import os
from flask import Flask, request, abort
app = Flask(__name__)

@app.route("/n")
def n():
    name = os.path.normpath(request.args.get("name", "index.txt"))
    if name.startswith("..") or os.path.isabs(name):
        abort(400)
    return open(os.path.join("/srv/pages", name)).read()
''')
_add("xss_safe_text_plain_tuple", "xss", False, '''
from flask import Flask, request
app = Flask(__name__)

@app.route("/t")
def t():
    return request.args.get("q", ""), 200, {"Content-Type": "text/plain"}
''')
_add("xss_jinja_environment_default", "xss", True, '''
from jinja2 import Environment
from flask import Flask, request
app = Flask(__name__)
env = Environment()

@app.route("/e")
def e():
    return env.from_string("<p>{{ who }}</p>").render(who=request.args.get("who"))
''')
_add("xss_safe_jinja_environment_autoescape", "xss", False, '''
from jinja2 import Environment
from flask import Flask, request
app = Flask(__name__)
env = Environment(autoescape=True)

@app.route("/e")
def e():
    return env.from_string("<p>{{ who }}</p>").render(who=request.args.get("who"))
''')
_add("codeinj_template_injection", "codeinj", True, '''
from flask import Flask, request, render_template_string
app = Flask(__name__)

@app.route("/t")
def t():
    return render_template_string("Hello " + request.args.get("name", ""))
''')
_add("codeinj_import_module", "codeinj", True, '''
import importlib
from flask import Flask, request
app = Flask(__name__)

@app.route("/plugin")
def plugin():
    module = importlib.import_module(request.args["plugin"])
    return str(module.run())
''')
_add("codeinj_safe_import_allowlist", "codeinj", False, '''
import importlib
from flask import Flask, request, abort
app = Flask(__name__)
PLUGINS = {"csv": "plugins.csv_export", "pdf": "plugins.pdf_export"}

@app.route("/plugin")
def plugin():
    name = PLUGINS.get(request.args.get("kind"))
    if name is None:
        abort(404)
    return str(importlib.import_module(name).run())
''')
_add("cookie_django_setting", "securecookie", True, '''
SECRET_KEY = "from-the-environment"
DEBUG = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = True
''')
_add("cookie_flask_config_false", "securecookie", True, '''
from flask import Flask
app = Flask(__name__)
app.config["SESSION_COOKIE_SECURE"] = False
''')
_add("cookie_safe_flask_config", "securecookie", False, '''
from flask import Flask
app = Flask(__name__)
app.config.update(SESSION_COOKIE_SECURE=True, SESSION_COOKIE_HTTPONLY=True)
''')
_add("trust_safe_conditional_default", "trustbound", False, '''
from flask import Flask, request, session
app = Flask(__name__)
LANGUAGES = ("en", "fr", "de")

@app.route("/lang")
def lang():
    chosen = request.args.get("lang", "en")
    session["lang"] = chosen if chosen in LANGUAGES else "en"
    return "ok"
''')

PROGRAMS: tuple[CodeCase, ...] = tuple(_CASES)
