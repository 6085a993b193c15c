"""A held-out corpus of labelled Python web programs: written apart from the code scanner, only scored.

Each category has ten vulnerable programs and ten safe twins of the same shape. The twins are made
safe the way real code is (a sanitiser, an allowlist, ``int()``, a branch on constants that never
runs, a value overwritten before use, a clean element of a container beside a tainted one, input
that never reaches the sink, a strong API instead of a weak one), so a scanner scores well here only
if it follows data flow rather than matching surface words. The programs need not run; they must
parse as Python 3.11.
"""

from __future__ import annotations

from foresight.bench.code_cases import CodeCase

__all__ = ["PROGRAMS"]

_CMDI_VULN: tuple[str, ...] = (
    r'''
import subprocess

from flask import Flask, jsonify, request

app = Flask(__name__)


def ping_command(host: str, count: int = 1) -> str:
    return f"ping -c {count} -W 2 {host}"


@app.route("/diag/ping")
def ping():
    host = request.args.get("host", "localhost")
    cmd = ping_command(host)
    proc = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=10)
    return jsonify({"rc": proc.returncode, "out": proc.stdout.splitlines()[-3:]})
''',
    r'''
import os

from django.http import JsonResponse
from django.views.decorators.http import require_POST


class ArchiveService:
    root = "/srv/exports"

    def build_command(self, label: str) -> str:
        target = "%s/%s.tgz" % (self.root, label)
        return "tar czf %s /srv/data/reports" % target

    def run(self, label: str) -> int:
        return os.system(self.build_command(label))


@require_POST
def export_reports(request):
    label = request.POST.get("label", "daily")
    status = ArchiveService().run(label)
    return JsonResponse({"status": status, "label": label})
''',
    r'''
import os

from fastapi import FastAPI, Query

app = FastAPI()

RESOLVER_TOOL = "nslookup"


@app.get("/tools/resolve")
def resolve(domain: str = Query(..., max_length=255)):
    parts = [RESOLVER_TOOL, "-timeout=3"]
    parts.append(domain)
    command = " ".join(parts)
    with os.popen(command) as stream:
        answer = stream.read()
    lines = [line for line in answer.splitlines() if line.strip()]
    return {"domain": domain, "answer": lines}
''',
    r'''
import subprocess

from flask import Flask, request, send_file

app = Flask(__name__)

TEMPLATE = "convert /tmp/upload.png -quality {level} /tmp/out.{fmt}"


def options_from(form) -> dict:
    return {"fmt": form.get("fmt", "jpg"), "level": "85"}


@app.post("/images/convert")
def convert():
    opts = options_from(request.form)
    command = TEMPLATE.format(**opts)
    subprocess.check_output(command, shell=True)
    return send_file("/tmp/out." + opts["fmt"])
''',
    r'''
import subprocess

from django.http import HttpResponse


def _history(author: str) -> str:
    proc = subprocess.Popen(
        "git -C /srv/repo log --oneline --author=" + author,
        shell=True,
        stdout=subprocess.PIPE,
    )
    out, _ = proc.communicate()
    return out.decode("utf-8", "replace")


def commits_by(request):
    param = request.GET.get("author", "")
    num = 86
    if (7 * 42) - num > 200:
        bar = param
    else:
        bar = "nobody"
    body = _history(bar)
    return HttpResponse(body, content_type="text/plain")
''',
    r'''
import subprocess

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class Job(BaseModel):
    name: str
    script: str
    retries: int = 0


def run_script(script: str) -> tuple[int, str]:
    proc = subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True)
    return proc.returncode, proc.stdout


@app.post("/jobs/run")
def run_job(job: Job):
    code, out = run_script(job.script)
    attempts = 1
    while code != 0 and attempts <= job.retries:
        code, out = run_script(job.script)
        attempts += 1
    return {"job": job.name, "code": code, "attempts": attempts, "out": out[-2000:]}
''',
    r'''
import os

from flask import Flask, abort, request

app = Flask(__name__)


def listing(args: list[str]) -> int:
    return os.system(" ".join(args) + " > /tmp/listing.txt")


@app.route("/files/list")
def list_dir():
    directory = request.args.get("dir")
    if directory is None:
        abort(400)
    args = ["ls", "-la"]
    args.append(directory)
    rc = listing(args)
    with open("/tmp/listing.txt") as fh:
        return {"rc": rc, "lines": fh.read().splitlines()}
''',
    r'''
import subprocess

from django.http import JsonResponse


class Deployer:
    def __init__(self, repo: str) -> None:
        self.repo = repo

    def checkout(self, branch: str) -> str:
        cmd = "cd " + self.repo + " && git fetch && git checkout " + branch
        return subprocess.check_output(cmd, shell=True, text=True)


def deploy(request):
    branch = request.META.get("HTTP_X_DEPLOY_BRANCH", "main")
    deployer = Deployer("/srv/app")
    try:
        log = deployer.checkout(branch)
    except subprocess.CalledProcessError as exc:
        return JsonResponse({"error": exc.returncode}, status=500)
    return JsonResponse({"branch": branch, "log": log})
''',
    r'''
import subprocess

from fastapi import Cookie, FastAPI

app = FastAPI()

QUOTA_ROOT = "/home"


def disk_usage(user: str) -> str:
    path = "{root}/{user}".format(root=QUOTA_ROOT, user=user)
    return subprocess.getoutput(f"du -sh {path}")


@app.get("/account/usage")
def usage(user: str = Cookie(default="guest")):
    summary = disk_usage(user)
    size = summary.split()[0] if summary else "0"
    return {"user": user, "size": size}
''',
    r'''
import os

from flask import Flask, request

app = Flask(__name__)

COMMANDS = {"default": "id nobody", "uptime": "uptime"}


def prepare(name: str) -> dict:
    commands = dict(COMMANDS)
    commands["user"] = "id " + name
    return commands


@app.route("/admin/whois")
def whois():
    name = request.values.get("name", "nobody")
    commands = prepare(name)
    key = "user" if name else "default"
    rc = os.system(commands[key])
    return {"rc": rc}
''',
)

_CMDI_SAFE: tuple[str, ...] = (
    r'''
import shlex
import subprocess

from flask import Flask, jsonify, request

app = Flask(__name__)


def ping_command(host: str, count: int = 1) -> str:
    return f"ping -c {count} -W 2 {shlex.quote(host)}"


@app.route("/diag/ping")
def ping():
    host = request.args.get("host", "localhost")
    cmd = ping_command(host)
    proc = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=10)
    return jsonify({"rc": proc.returncode, "out": proc.stdout.splitlines()[-3:]})
''',
    r'''
import os

from django.http import JsonResponse
from django.views.decorators.http import require_POST


class ArchiveService:
    root = "/srv/exports"

    def build_command(self, number: int) -> str:
        target = "%s/snapshot-%d.tgz" % (self.root, number)
        return "tar czf %s /srv/data/reports" % target

    def run(self, number: int) -> int:
        return os.system(self.build_command(number))


@require_POST
def export_reports(request):
    number = int(request.POST.get("number", "0"))
    status = ArchiveService().run(number)
    return JsonResponse({"status": status, "number": number})
''',
    r'''
import subprocess

from fastapi import FastAPI, Query

app = FastAPI()

RESOLVER_TOOL = "nslookup"


@app.get("/tools/resolve")
def resolve(domain: str = Query(..., max_length=255)):
    parts = [RESOLVER_TOOL, "-timeout=3"]
    parts.append(domain)
    proc = subprocess.run(parts, capture_output=True, text=True, timeout=5)
    answer = proc.stdout
    lines = [line for line in answer.splitlines() if line.strip()]
    return {"domain": domain, "answer": lines}
''',
    r'''
import subprocess

from flask import Flask, abort, request, send_file

app = Flask(__name__)

TEMPLATE = "convert /tmp/upload.png -quality {level} /tmp/out.{fmt}"
FORMATS = {"jpg", "png", "webp"}


def options_from(form) -> dict:
    fmt = form.get("fmt", "jpg")
    if fmt not in FORMATS:
        abort(400)
    return {"fmt": fmt, "level": "85"}


@app.post("/images/convert")
def convert():
    opts = options_from(request.form)
    command = TEMPLATE.format(**opts)
    subprocess.check_output(command, shell=True)
    return send_file("/tmp/out." + opts["fmt"])
''',
    r'''
import subprocess

from django.http import HttpResponse


def _history(author: str) -> str:
    proc = subprocess.Popen(
        "git -C /srv/repo log --oneline --author=" + author,
        shell=True,
        stdout=subprocess.PIPE,
    )
    out, _ = proc.communicate()
    return out.decode("utf-8", "replace")


def commits_by(request):
    param = request.GET.get("author", "")
    num = 86
    if (7 * 42) - num > 200:
        bar = "nobody"
    else:
        bar = param
    body = _history(bar)
    return HttpResponse(body, content_type="text/plain")
''',
    r'''
import subprocess

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class Job(BaseModel):
    name: str
    script: str
    retries: int = 0


def run_script(script: str) -> tuple[int, str]:
    proc = subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True)
    return proc.returncode, proc.stdout


@app.post("/jobs/run")
def run_job(job: Job):
    script = job.script
    script = "uptime && df -h /"
    code, out = run_script(script)
    attempts = 1
    while code != 0 and attempts <= job.retries:
        code, out = run_script(script)
        attempts += 1
    return {"job": job.name, "code": code, "attempts": attempts, "out": out[-2000:]}
''',
    r'''
import os

from flask import Flask, abort, request

app = Flask(__name__)


def listing(args: list[str]) -> int:
    return os.system(" ".join(args) + " > /tmp/listing.txt")


@app.route("/files/list")
def list_dir():
    directory = request.args.get("dir")
    if directory is None:
        abort(400)
    candidates = [directory, "/var/log/app"]
    args = ["ls", "-la", candidates[1]]
    rc = listing(args)
    with open("/tmp/listing.txt") as fh:
        return {"rc": rc, "lines": fh.read().splitlines(), "asked": candidates[0]}
''',
    r'''
import logging
import subprocess

from django.http import JsonResponse

log = logging.getLogger(__name__)


class Deployer:
    def __init__(self, repo: str) -> None:
        self.repo = repo

    def checkout(self, branch: str) -> str:
        cmd = "cd " + self.repo + " && git fetch && git checkout " + branch
        return subprocess.check_output(cmd, shell=True, text=True)


def deploy(request):
    requested = request.META.get("HTTP_X_DEPLOY_BRANCH", "main")
    log.info("deploy requested for %s", requested)
    deployer = Deployer("/srv/app")
    try:
        out = deployer.checkout("release")
    except subprocess.CalledProcessError as exc:
        return JsonResponse({"error": exc.returncode}, status=500)
    return JsonResponse({"requested": requested, "log": out})
''',
    r'''
import subprocess

from fastapi import Cookie, FastAPI

app = FastAPI()

HOMES = {"alice": "/home/alice", "bob": "/home/bob", "guest": "/home/guest"}


def disk_usage(path: str) -> str:
    return subprocess.getoutput(f"du -sh {path}")


@app.get("/account/usage")
def usage(user: str = Cookie(default="guest")):
    path = HOMES.get(user, HOMES["guest"])
    summary = disk_usage(path)
    size = summary.split()[0] if summary else "0"
    return {"user": user, "size": size}
''',
    r'''
import os

from flask import Flask, request

app = Flask(__name__)

COMMANDS = {"default": "id nobody", "uptime": "uptime"}


def prepare(name: str) -> dict:
    commands = dict(COMMANDS)
    commands["user"] = "id " + name
    return commands


@app.route("/admin/whois")
def whois():
    name = request.values.get("name", "nobody")
    commands = prepare(name)
    rc = os.system(commands["default"])
    return {"rc": rc, "asked": name}
''',
)

_CODEINJ_VULN: tuple[str, ...] = (
    r'''
from flask import Flask, jsonify, request

app = Flask(__name__)

SAFE_GLOBALS = {"__builtins__": {}}


def calculate(expression: str) -> float:
    cleaned = expression.replace("^", "**").strip()
    return eval(cleaned, SAFE_GLOBALS)


@app.route("/calc")
def calc():
    expression = request.args.get("expr", "0")
    try:
        value = calculate(expression)
    except Exception as exc:
        return jsonify({"error": str(exc)}), 400
    return jsonify({"expr": expression, "value": value})
''',
    r'''
from django.http import JsonResponse
from django.views.decorators.http import require_POST


class RuleEngine:
    def __init__(self) -> None:
        self.namespace: dict = {}

    def load(self, name: str, condition: str) -> None:
        code = f"def {name}(x):\n    return {condition}\n"
        exec(code, self.namespace)

    def check(self, name: str, value: int) -> bool:
        return bool(self.namespace[name](value))


@require_POST
def evaluate_rule(request):
    engine = RuleEngine()
    engine.load("rule", request.POST.get("condition", "x > 0"))
    value = int(request.POST.get("value", "0"))
    return JsonResponse({"matched": engine.check("rule", value)})
''',
    r'''
from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class PriceRequest(BaseModel):
    formula: str
    price: float
    qty: int


@app.post("/pricing/quote")
def quote(req: PriceRequest):
    variables = {"price": req.price, "qty": req.qty, "tax": 0.2}
    total = eval(req.formula, {"__builtins__": {}}, variables)
    return {"total": round(float(total), 2), "formula": req.formula}
''',
    r'''
from flask import Flask, request

app = Flask(__name__)

SETTINGS: dict = {"retries": 3}


def apply_setting(key: str, raw: str) -> None:
    scope: dict = {}
    exec("value = " + raw, {}, scope)
    SETTINGS[key] = scope["value"]


@app.post("/settings/<key>")
def update_setting(key: str):
    raw = request.get_data(as_text=True)
    apply_setting(key, raw)
    return {"key": key, "value": repr(SETTINGS[key])}
''',
    r'''
from django.http import HttpResponse


def render_total(expression: str) -> str:
    total = eval(expression)
    return "<p>total: %s</p>" % total


def totals(request):
    param = request.GET.get("sum", "0")
    num = 106
    if (7 * 42) - num > 180:
        bar = param
    else:
        bar = "1 + 1"
    return HttpResponse(render_total(bar))
''',
    r'''
from fastapi import FastAPI, Header

app = FastAPI()

ROWS = [
    {"id": 1, "cpu": 0.4, "region": "eu"},
    {"id": 2, "cpu": 0.9, "region": "us"},
    {"id": 3, "cpu": 0.7, "region": "eu"},
]


def build_predicate(expr: str):
    return eval("lambda row: " + expr)


@app.get("/rows")
def rows(x_filter: str = Header(default="True")):
    predicate = build_predicate(x_filter)
    selected = [row for row in ROWS if predicate(row)]
    return {"count": len(selected), "rows": selected}
''',
    r'''
from flask import Flask, jsonify, request

app = Flask(__name__)


class Sandbox:
    def __init__(self) -> None:
        self.scope = {"result": None}

    def run(self, source: str) -> object:
        code = compile(source, "<snippet>", "exec")
        exec(code, self.scope)
        return self.scope.get("result")


@app.post("/snippets/run")
def run_snippet():
    payload = request.get_json(force=True) or {}
    source = payload.get("code", "result = 0")
    result = Sandbox().run(source)
    return jsonify({"result": repr(result)})
''',
    r'''
import logging

from django.http import JsonResponse

log = logging.getLogger(__name__)


def evaluate_all(expressions: list[str]) -> list:
    return [eval(expressions[0])]


def batch(request):
    expressions = [request.GET.get("a", "0"), "2 * 21"]
    log.debug("evaluating %d expressions", len(expressions))
    try:
        values = evaluate_all(expressions)
    except Exception:
        return JsonResponse({"error": "bad expression"}, status=400)
    return JsonResponse({"values": values})
''',
    r'''
from fastapi import FastAPI, Query

app = FastAPI()


class Calculator:
    def __init__(self, expression: str) -> None:
        self.expression = expression
        self.history: list[str] = []

    def evaluate(self) -> float:
        self.history.append(self.expression)
        return eval(self.expression)


@app.get("/calculator")
def calculator(q: str = Query("1+1")):
    calc = Calculator(q.strip())
    return {"value": calc.evaluate(), "history": calc.history}
''',
    r'''
from flask import Flask, request

app = Flask(__name__)


def compute(data: str) -> object:
    scope: dict = {}
    exec("result = %s" % (data,), {"__builtins__": {}}, scope)
    return scope["result"]


@app.route("/compute", methods=["POST"])
def compute_view():
    data = request.form.get("data", "0")
    parts = data.split(";")
    first = parts[0]
    value = compute(first)
    return {"value": str(value), "parts": len(parts)}
''',
)

_CODEINJ_SAFE: tuple[str, ...] = (
    r'''
import ast

from flask import Flask, jsonify, request

app = Flask(__name__)


def calculate(expression: str) -> object:
    cleaned = expression.strip()
    return ast.literal_eval(cleaned)


@app.route("/calc")
def calc():
    expression = request.args.get("expr", "0")
    try:
        value = calculate(expression)
    except Exception as exc:
        return jsonify({"error": str(exc)}), 400
    return jsonify({"expr": expression, "value": value})
''',
    r'''
from django.http import JsonResponse
from django.views.decorators.http import require_POST

OPERATORS = {"gt": ">", "lt": "<", "eq": "=="}


class RuleEngine:
    def __init__(self) -> None:
        self.namespace: dict = {}

    def load(self, name: str, op: str, limit: int) -> None:
        code = f"def {name}(x):\n    return x {OPERATORS[op]} {limit:d}\n"
        exec(code, self.namespace)

    def check(self, name: str, value: int) -> bool:
        return bool(self.namespace[name](value))


@require_POST
def evaluate_rule(request):
    op = request.POST.get("op", "gt")
    if op not in OPERATORS:
        return JsonResponse({"error": "unknown operator"}, status=400)
    engine = RuleEngine()
    engine.load("rule", op, int(request.POST.get("limit", "0")))
    return JsonResponse({"matched": engine.check("rule", int(request.POST.get("value", "0")))})
''',
    r'''
from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()

FORMULA = "price * qty * (1 + tax)"


class PriceRequest(BaseModel):
    formula: str
    price: float
    qty: int


@app.post("/pricing/quote")
def quote(req: PriceRequest):
    variables = {"price": req.price, "qty": req.qty, "tax": 0.2}
    total = eval(FORMULA, {"__builtins__": {}}, variables)
    return {"total": round(float(total), 2), "asked": req.formula}
''',
    r'''
import json

from flask import Flask, request

app = Flask(__name__)

SETTINGS: dict = {"retries": 3}


def apply_setting(key: str, raw: str) -> None:
    value = json.loads(raw)
    SETTINGS[key] = value


@app.post("/settings/<key>")
def update_setting(key: str):
    raw = request.get_data(as_text=True)
    try:
        apply_setting(key, raw)
    except ValueError:
        return {"error": "not JSON"}, 400
    return {"key": key, "value": repr(SETTINGS[key])}
''',
    r'''
from django.http import HttpResponse


def render_total(expression: str) -> str:
    total = eval(expression)
    return "<p>total: %s</p>" % total


def totals(request):
    param = request.GET.get("sum", "0")
    num = 106
    if (7 * 42) - num > 200:
        bar = param
    else:
        bar = "1 + 1"
    return HttpResponse(render_total(bar))
''',
    r'''
from fastapi import FastAPI, Header, HTTPException

app = FastAPI()

ROWS = [
    {"id": 1, "cpu": 0.4, "region": "eu"},
    {"id": 2, "cpu": 0.9, "region": "us"},
    {"id": 3, "cpu": 0.7, "region": "eu"},
]

PREDICATES = {
    "all": lambda row: True,
    "busy": lambda row: row["cpu"] > 0.8,
    "eu": lambda row: row["region"] == "eu",
}


@app.get("/rows")
def rows(x_filter: str = Header(default="all")):
    predicate = PREDICATES.get(x_filter)
    if predicate is None:
        raise HTTPException(status_code=400, detail="unknown filter")
    selected = [row for row in ROWS if predicate(row)]
    return {"count": len(selected), "rows": selected}
''',
    r'''
from flask import Flask, jsonify, request

app = Flask(__name__)


class Sandbox:
    def __init__(self) -> None:
        self.scope = {"result": None}

    def run(self, source: str) -> object:
        code = compile(source, "<snippet>", "exec")
        exec(code, self.scope)
        return self.scope.get("result")


@app.post("/snippets/run")
def run_snippet():
    payload = request.get_json(force=True) or {}
    source = payload.get("code", "result = 0")
    source = "result = sum(range(10))"
    result = Sandbox().run(source)
    return jsonify({"result": repr(result)})
''',
    r'''
import logging

from django.http import JsonResponse

log = logging.getLogger(__name__)


def evaluate_all(expressions: list[str]) -> list:
    return [eval(expressions[1])]


def batch(request):
    expressions = [request.GET.get("a", "0"), "2 * 21"]
    log.debug("evaluating %d expressions", len(expressions))
    try:
        values = evaluate_all(expressions)
    except Exception:
        return JsonResponse({"error": "bad expression"}, status=400)
    return JsonResponse({"values": values})
''',
    r'''
from fastapi import FastAPI, Query

app = FastAPI()


class Calculator:
    def __init__(self, operand: int) -> None:
        self.expression = str(operand) + " * 2 + 1"
        self.history: list[str] = []

    def evaluate(self) -> float:
        self.history.append(self.expression)
        return eval(self.expression)


@app.get("/calculator")
def calculator(q: str = Query("1")):
    calc = Calculator(int(q.strip()))
    return {"value": calc.evaluate(), "history": calc.history}
''',
    r'''
from flask import Flask, request

app = Flask(__name__)


def compute(data: int) -> object:
    scope: dict = {}
    exec("result = %d" % (data,), {"__builtins__": {}}, scope)
    return scope["result"]


@app.route("/compute", methods=["POST"])
def compute_view():
    data = request.form.get("data", "0")
    parts = data.split(";")
    first = int(parts[0])
    value = compute(first)
    return {"value": str(value), "parts": len(parts)}
''',
)

_DESERIALIZATION_VULN: tuple[str, ...] = (
    r'''
import base64
import pickle

from flask import Flask, jsonify, request

app = Flask(__name__)


def load_cart(cookie_value: str) -> list:
    raw = base64.urlsafe_b64decode(cookie_value.encode())
    return pickle.loads(raw)


@app.route("/cart")
def show_cart():
    cookie_value = request.cookies.get("cart")
    if not cookie_value:
        return jsonify({"items": []})
    items = load_cart(cookie_value)
    total = sum(item.get("price", 0) for item in items)
    return jsonify({"items": items, "total": total})
''',
    r'''
import yaml
from django.http import JsonResponse
from django.views.decorators.http import require_POST

REQUIRED = ("name", "replicas")


def parse_manifest(text: str) -> dict:
    document = yaml.load(text, Loader=yaml.Loader)
    missing = [key for key in REQUIRED if key not in document]
    if missing:
        raise ValueError("missing: " + ", ".join(missing))
    return document


@require_POST
def import_manifest(request):
    try:
        document = parse_manifest(request.body.decode("utf-8"))
    except ValueError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse({"name": document["name"], "replicas": document["replicas"]})
''',
    r'''
import pickle

from fastapi import FastAPI, File, UploadFile

app = FastAPI()

MODELS: dict[str, object] = {}


class ModelStore:
    def restore(self, name: str, stream) -> object:
        model = pickle.load(stream)
        MODELS[name] = model
        return model


@app.post("/models/{name}")
async def upload_model(name: str, blob: UploadFile = File(...)):
    model = ModelStore().restore(name, blob.file)
    return {"name": name, "type": type(model).__name__, "count": len(MODELS)}
''',
    r'''
import marshal

from flask import Flask, request

app = Flask(__name__)

CACHE: dict = {}


@app.route("/cache/<key>", methods=["PUT"])
def put_cache(key: str):
    body = request.get_data()
    if len(body) > 65536:
        return {"error": "too large"}, 413
    value = marshal.loads(body)
    CACHE[key] = value
    return {"key": key, "kind": type(value).__name__}


@app.route("/cache/<key>")
def get_cache(key: str):
    return {"key": key, "value": repr(CACHE.get(key))}
''',
    r'''
import base64
import pickle
import zlib

from django.http import JsonResponse


class SessionCodec:
    def encode(self, data: dict) -> str:
        return base64.b64encode(zlib.compress(pickle.dumps(data))).decode()

    def decode(self, token: str) -> dict:
        packed = zlib.decompress(base64.b64decode(token))
        return pickle.loads(packed)


def profile(request):
    token = request.headers.get("X-Session", "")
    codec = SessionCodec()
    state = codec.decode(token) if token else {}
    return JsonResponse({"user": state.get("user", "anonymous")})
''',
    r'''
import yaml
from fastapi import FastAPI, Request

app = FastAPI()


def normalise(config: dict) -> dict:
    return {str(key).lower(): value for key, value in config.items()}


@app.post("/pipelines/validate")
async def validate(request: Request):
    body = (await request.body()).decode("utf-8")
    config = yaml.unsafe_load(body) or {}
    config = normalise(config)
    stages = config.get("stages", [])
    return {"stages": len(stages), "keys": sorted(config)}
''',
    r'''
import jsonpickle
from flask import Flask, request

app = Flask(__name__)


class Wizard:
    def __init__(self, state: dict) -> None:
        self.state = state

    def step(self) -> int:
        return int(self.state.get("step", 0)) + 1


@app.post("/wizard/next")
def next_step():
    encoded = request.form.get("state", "{}")
    state = jsonpickle.decode(encoded)
    wizard = Wizard(state)
    return {"step": wizard.step()}
''',
    r'''
import base64
import pickle

from django.http import HttpResponse


def restore(blob: bytes) -> object:
    return pickle.loads(blob)


def preview(request):
    param = base64.b64decode(request.GET.get("p", ""))
    limit = 3
    if limit * limit > 8:
        bar = param
    else:
        bar = pickle.dumps({"title": "preview"})
    obj = restore(bar)
    return HttpResponse("<h1>%s</h1>" % type(obj).__name__)
''',
    r'''
import io
import pickle

from fastapi import FastAPI, Request

app = FastAPI()


def unpack(data: bytes) -> object:
    buffer = io.BytesIO(data)
    return pickle.Unpickler(buffer).load()


@app.post("/tasks/import")
async def import_tasks(request: Request):
    data = await request.body()
    tasks = unpack(data)
    names = [getattr(task, "name", str(task)) for task in tasks]
    return {"imported": len(names), "names": names[:20]}
''',
    r'''
import pickle

from flask import Flask, request

app = Flask(__name__)

DEFAULT_PREFS = pickle.dumps({"theme": "light", "lang": "en"})


def payloads_from(req) -> dict:
    return {"user": req.get_data(), "default": DEFAULT_PREFS}


@app.post("/prefs/load")
def load_prefs():
    payloads = payloads_from(request)
    source = "user" if payloads["user"] else "default"
    prefs = pickle.loads(payloads[source])
    return {"prefs": prefs}
''',
)

_DESERIALIZATION_SAFE: tuple[str, ...] = (
    r'''
import base64
import json

from flask import Flask, jsonify, request

app = Flask(__name__)


def load_cart(cookie_value: str) -> list:
    raw = base64.urlsafe_b64decode(cookie_value.encode())
    return json.loads(raw)


@app.route("/cart")
def show_cart():
    cookie_value = request.cookies.get("cart")
    if not cookie_value:
        return jsonify({"items": []})
    items = load_cart(cookie_value)
    total = sum(item.get("price", 0) for item in items)
    return jsonify({"items": items, "total": total})
''',
    r'''
import yaml
from django.http import JsonResponse
from django.views.decorators.http import require_POST

REQUIRED = ("name", "replicas")


def parse_manifest(text: str) -> dict:
    document = yaml.safe_load(text)
    missing = [key for key in REQUIRED if key not in document]
    if missing:
        raise ValueError("missing: " + ", ".join(missing))
    return document


@require_POST
def import_manifest(request):
    try:
        document = parse_manifest(request.body.decode("utf-8"))
    except ValueError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse({"name": document["name"], "replicas": document["replicas"]})
''',
    r'''
import json

from fastapi import FastAPI, File, UploadFile

app = FastAPI()

MODELS: dict[str, object] = {}


class ModelStore:
    def restore(self, name: str, stream) -> object:
        model = json.load(stream)
        MODELS[name] = model
        return model


@app.post("/models/{name}")
async def upload_model(name: str, blob: UploadFile = File(...)):
    model = ModelStore().restore(name, blob.file)
    return {"name": name, "type": type(model).__name__, "count": len(MODELS)}
''',
    r'''
import json
import marshal

from flask import Flask, request

app = Flask(__name__)

DEFAULTS = {"ttl": 300, "max": 1000}
CACHE: dict = {"__defaults__": marshal.loads(marshal.dumps(DEFAULTS))}


@app.route("/cache/<key>", methods=["PUT"])
def put_cache(key: str):
    body = request.get_data()
    if len(body) > 65536:
        return {"error": "too large"}, 413
    value = json.loads(body)
    CACHE[key] = value
    return {"key": key, "kind": type(value).__name__}


@app.route("/cache/<key>")
def get_cache(key: str):
    return {"key": key, "value": repr(CACHE.get(key))}
''',
    r'''
import base64
import json
import zlib

from django.http import JsonResponse


class SessionCodec:
    def encode(self, data: dict) -> str:
        return base64.b64encode(zlib.compress(json.dumps(data).encode())).decode()

    def decode(self, token: str) -> dict:
        packed = zlib.decompress(base64.b64decode(token))
        return json.loads(packed)


def profile(request):
    token = request.headers.get("X-Session", "")
    codec = SessionCodec()
    state = codec.decode(token) if token else {}
    return JsonResponse({"user": state.get("user", "anonymous")})
''',
    r'''
import yaml
from fastapi import FastAPI, Request

app = FastAPI()


def normalise(config: dict) -> dict:
    return {str(key).lower(): value for key, value in config.items()}


@app.post("/pipelines/validate")
async def validate(request: Request):
    body = (await request.body()).decode("utf-8")
    config = yaml.load(body, Loader=yaml.SafeLoader) or {}
    config = normalise(config)
    stages = config.get("stages", [])
    return {"stages": len(stages), "keys": sorted(config)}
''',
    r'''
import pickle

from flask import Flask, request

app = Flask(__name__)

DEFAULT_STATE = {"step": 0, "answers": []}


class Wizard:
    def __init__(self, state: dict) -> None:
        self.state = state

    def step(self) -> int:
        return int(self.state.get("step", 0)) + 1


@app.post("/wizard/next")
def next_step():
    encoded = request.form.get("state", "")
    encoded = pickle.dumps(DEFAULT_STATE)
    state = pickle.loads(encoded)
    wizard = Wizard(state)
    return {"step": wizard.step()}
''',
    r'''
import base64
import pickle

from django.http import HttpResponse


def restore(blob: bytes) -> object:
    return pickle.loads(blob)


def preview(request):
    param = base64.b64decode(request.GET.get("p", ""))
    limit = 3
    if limit * limit > 8:
        bar = pickle.dumps({"title": "preview"})
    else:
        bar = param
    obj = restore(bar)
    return HttpResponse("<h1>%s</h1>" % type(obj).__name__)
''',
    r'''
import io
import pickle

from fastapi import FastAPI, Request

app = FastAPI()

ALLOWED = {("builtins", "list"), ("builtins", "dict"), ("builtins", "set")}


class RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in ALLOWED:
            raise pickle.UnpicklingError(f"forbidden global {module}.{name}")
        return super().find_class(module, name)


@app.post("/tasks/import")
async def import_tasks(request: Request):
    data = await request.body()
    tasks = RestrictedUnpickler(io.BytesIO(data)).load()
    names = [str(task) for task in tasks]
    return {"imported": len(names), "names": names[:20]}
''',
    r'''
import pickle

from flask import Flask, request

app = Flask(__name__)

DEFAULT_PREFS = pickle.dumps({"theme": "light", "lang": "en"})


def payloads_from(req) -> dict:
    return {"user": req.get_data(), "default": DEFAULT_PREFS}


@app.post("/prefs/load")
def load_prefs():
    payloads = payloads_from(request)
    prefs = pickle.loads(payloads["default"])
    prefs["requested_bytes"] = len(payloads["user"])
    return {"prefs": prefs}
''',
)

_HASH_VULN: tuple[str, ...] = (
    r'''
import hashlib
import sqlite3

from flask import Flask, request

app = Flask(__name__)


def digest_password(password: str) -> str:
    return hashlib.md5(password.encode("utf-8")).hexdigest()


@app.post("/register")
def register():
    username = request.form["username"]
    password = request.form["password"]
    record = (username, digest_password(password))
    with sqlite3.connect("/srv/app/users.db") as db:
        db.execute("INSERT INTO users (name, pw_hash) VALUES (?, ?)", record)
    return {"created": username}, 201
''',
    r'''
import hashlib
import time

from django.conf import settings
from django.core.mail import send_mail
from django.http import JsonResponse


def reset_token(email: str, issued: int) -> str:
    material = f"{email}:{issued}:{settings.SECRET_KEY}"
    return hashlib.sha1(material.encode()).hexdigest()


def request_reset(request):
    email = request.POST.get("email", "")
    issued = int(time.time())
    token = reset_token(email, issued)
    link = "https://app.example.com/reset?t=%s&at=%d" % (token, issued)
    send_mail("Password reset", link, "noreply@example.com", [email])
    return JsonResponse({"sent": True})
''',
    r'''
import hashlib
import hmac

from fastapi import FastAPI, Header, HTTPException

app = FastAPI()

KEY_DIGESTS = {"ci-bot": "5f4dcc3b5aa765d61d8327deb882cf99"}


def fingerprint(key: str) -> str:
    return hashlib.new("md5", key.encode()).hexdigest()


@app.get("/internal/builds")
def builds(x_client: str = Header(...), x_api_key: str = Header(...)):
    expected = KEY_DIGESTS.get(x_client)
    if expected is None or not hmac.compare_digest(expected, fingerprint(x_api_key)):
        raise HTTPException(status_code=401, detail="bad key")
    return {"builds": ["#812", "#813"]}
''',
    r'''
import hashlib
import os

from flask import Flask, request

app = Flask(__name__)


class PasswordHasher:
    algorithm = "sha1"

    def hash(self, password: str, salt: bytes | None = None) -> str:
        salt = salt or os.urandom(16)
        h = hashlib.new(self.algorithm)
        h.update(salt + password.encode())
        return salt.hex() + "$" + h.hexdigest()


@app.post("/password")
def change_password():
    new_password = request.json["password"]
    stored = PasswordHasher().hash(new_password)
    return {"stored": stored[:8] + "..."}
''',
    r'''
import hashlib

from django.http import JsonResponse


def store_pin(user_id: int, pin: str, algorithm: str) -> str:
    digest = hashlib.new(algorithm, pin.encode()).hexdigest()
    return f"{user_id}:{algorithm}:{digest}"


def set_pin(request):
    pin = request.POST.get("pin", "")
    mode = "strict"
    if mode == "strict":
        algorithm = "md5"
    else:
        algorithm = "sha256"
    record = store_pin(request.user.id, pin, algorithm)
    return JsonResponse({"record": record})
''',
    r'''
import hashlib

from fastapi import FastAPI, Header, HTTPException, Request

app = FastAPI()

WEBHOOK_SECRET = b"8c1f0b2e-webhook"


def sign(body: bytes) -> str:
    return hashlib.sha1(WEBHOOK_SECRET + body).hexdigest()


@app.post("/hooks/payment")
async def payment_hook(request: Request, x_signature: str = Header(...)):
    body = await request.body()
    if sign(body) != x_signature:
        raise HTTPException(status_code=403, detail="bad signature")
    return {"accepted": True, "size": len(body)}
''',
    r'''
import hashlib

from flask import Flask, request, session

app = Flask(__name__)

USERS = {"alice": ("a1b2c3", "0cc175b9c0f1b6a831c399e269772661")}


def check(password: str, salt: str, expected: str) -> bool:
    h = hashlib.md5()
    h.update(salt.encode())
    h.update(password.encode())
    return h.hexdigest() == expected


@app.post("/login")
def login():
    name = request.form.get("user", "")
    salt, expected = USERS.get(name, ("", ""))
    if not expected or not check(request.form.get("password", ""), salt, expected):
        return {"ok": False}, 401
    session["user"] = "authenticated"
    return {"ok": True}
''',
    r'''
from cryptography.hazmat.primitives import hashes
from django.http import JsonResponse


def password_fingerprint(password: str) -> str:
    digest = hashes.Hash(hashes.MD5())
    digest.update(password.encode("utf-8"))
    return digest.finalize().hex()


def verify(request):
    candidate = request.POST.get("password", "")
    stored = request.user.profile.password_fingerprint
    ok = password_fingerprint(candidate) == stored
    return JsonResponse({"valid": ok})
''',
    r'''
import hashlib

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()

HASHERS = {"legacy": hashlib.md5, "modern": hashlib.sha256}
ACTIVE = "legacy"


class Credentials(BaseModel):
    user: str
    password: str


@app.post("/accounts")
def create_account(creds: Credentials):
    hasher = HASHERS[ACTIVE]
    stored = hasher(creds.password.encode()).hexdigest()
    return {"user": creds.user, "hash_prefix": stored[:6]}
''',
    r'''
import hashlib
import secrets

from flask import Flask, request

app = Flask(__name__)

TOKENS: dict[str, str] = {}


def remember_me_token(user: str, password: str) -> str:
    nonce = secrets.token_hex(8)
    return nonce + "." + hashlib.sha1("{}|{}|{}".format(user, password, nonce).encode()).hexdigest()


@app.post("/login/remember")
def remember():
    user = request.form["user"]
    token = remember_me_token(user, request.form["password"])
    TOKENS[user] = token
    return {"token": token}
''',
)

_HASH_SAFE: tuple[str, ...] = (
    r'''
import hashlib
import os
import sqlite3

from flask import Flask, request

app = Flask(__name__)


def digest_password(password: str) -> str:
    salt = os.urandom(16)
    key = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, 310_000)
    return salt.hex() + ":" + key.hex()


@app.post("/register")
def register():
    username = request.form["username"]
    password = request.form["password"]
    record = (username, digest_password(password))
    with sqlite3.connect("/srv/app/users.db") as db:
        db.execute("INSERT INTO users (name, pw_hash) VALUES (?, ?)", record)
    return {"created": username}, 201
''',
    r'''
import hashlib
import hmac
import time

from django.conf import settings
from django.core.mail import send_mail
from django.http import JsonResponse


def reset_token(email: str, issued: int) -> str:
    material = f"{email}:{issued}"
    return hmac.new(settings.SECRET_KEY.encode(), material.encode(), hashlib.sha256).hexdigest()


def request_reset(request):
    email = request.POST.get("email", "")
    issued = int(time.time())
    token = reset_token(email, issued)
    link = "https://app.example.com/reset?t=%s&at=%d" % (token, issued)
    send_mail("Password reset", link, "noreply@example.com", [email])
    return JsonResponse({"sent": True})
''',
    r'''
import hashlib
import hmac

from fastapi import FastAPI, Header, HTTPException

app = FastAPI()

KEY_DIGESTS = {"ci-bot": "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"}


def fingerprint(key: str) -> str:
    return hashlib.new("sha256", key.encode()).hexdigest()


@app.get("/internal/builds")
def builds(x_client: str = Header(...), x_api_key: str = Header(...)):
    expected = KEY_DIGESTS.get(x_client)
    if expected is None or not hmac.compare_digest(expected, fingerprint(x_api_key)):
        raise HTTPException(status_code=401, detail="bad key")
    return {"builds": ["#812", "#813"]}
''',
    r'''
import hashlib
import os

from flask import Flask, request

app = Flask(__name__)


class PasswordHasher:
    algorithm = "sha512"

    def hash(self, password: str, salt: bytes | None = None) -> str:
        salt = salt or os.urandom(16)
        h = hashlib.new(self.algorithm)
        h.update(salt + password.encode())
        return salt.hex() + "$" + h.hexdigest()


@app.post("/password")
def change_password():
    new_password = request.json["password"]
    stored = PasswordHasher().hash(new_password)
    return {"stored": stored[:8] + "..."}
''',
    r'''
import hashlib

from django.http import JsonResponse


def store_pin(user_id: int, pin: str, algorithm: str) -> str:
    digest = hashlib.new(algorithm, pin.encode()).hexdigest()
    return f"{user_id}:{algorithm}:{digest}"


def set_pin(request):
    pin = request.POST.get("pin", "")
    mode = "strict"
    if mode == "strict":
        algorithm = "sha256"
    else:
        algorithm = "md5"
    record = store_pin(request.user.id, pin, algorithm)
    return JsonResponse({"record": record})
''',
    r'''
import hashlib
import hmac

from fastapi import FastAPI, Header, HTTPException, Request

app = FastAPI()

WEBHOOK_SECRET = b"8c1f0b2e-webhook"


def sign(body: bytes) -> str:
    return hmac.new(WEBHOOK_SECRET, body, hashlib.sha256).hexdigest()


@app.post("/hooks/payment")
async def payment_hook(request: Request, x_signature: str = Header(...)):
    body = await request.body()
    if not hmac.compare_digest(sign(body), x_signature):
        raise HTTPException(status_code=403, detail="bad signature")
    return {"accepted": True, "size": len(body)}
''',
    r'''
import hashlib

from flask import Flask, request, session

app = Flask(__name__)

USERS = {"alice": ("a1b2c3", "3a1f5b2c9d7e4f60a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718")}


def check(password: str, salt: str, expected: str) -> bool:
    h = hashlib.sha3_256()
    h.update(salt.encode())
    h.update(password.encode())
    return h.hexdigest() == expected


@app.post("/login")
def login():
    name = request.form.get("user", "")
    salt, expected = USERS.get(name, ("", ""))
    if not expected or not check(request.form.get("password", ""), salt, expected):
        return {"ok": False}, 401
    session["user"] = "authenticated"
    return {"ok": True}
''',
    r'''
from cryptography.hazmat.primitives import hashes
from django.http import JsonResponse


def password_fingerprint(password: str) -> str:
    digest = hashes.Hash(hashes.SHA256())
    digest.update(password.encode("utf-8"))
    return digest.finalize().hex()


def verify(request):
    candidate = request.POST.get("password", "")
    stored = request.user.profile.password_fingerprint
    ok = password_fingerprint(candidate) == stored
    return JsonResponse({"valid": ok})
''',
    r'''
import hashlib

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()

HASHERS = {"legacy": hashlib.md5, "modern": hashlib.sha256}
ACTIVE = "modern"


class Credentials(BaseModel):
    user: str
    password: str


@app.post("/accounts")
def create_account(creds: Credentials):
    hasher = HASHERS[ACTIVE]
    stored = hasher(creds.password.encode()).hexdigest()
    return {"user": creds.user, "hash_prefix": stored[:6]}
''',
    r'''
import hashlib

from flask import Flask, request

app = Flask(__name__)

RESULTS: dict[str, list] = {}


def cache_key(query: str, page: int) -> str:
    return hashlib.md5(f"{query}|{page}".encode(), usedforsecurity=False).hexdigest()


@app.get("/search")
def search():
    query = request.args.get("q", "")
    page = int(request.args.get("page", "1"))
    key = cache_key(query, page)
    hits = RESULTS.setdefault(key, [query.upper()] * 3)
    return {"key": key, "hits": hits}
''',
)

_LDAPI_VULN: tuple[str, ...] = (
    r'''
from flask import Flask, jsonify, request
from ldap3 import SUBTREE, Connection, Server

app = Flask(__name__)

BASE_DN = "ou=people,dc=example,dc=com"


def directory() -> Connection:
    server = Server("ldap://ldap.internal:389")
    return Connection(server, "cn=reader,dc=example,dc=com", "reader-pw", auto_bind=True)


@app.route("/people/lookup")
def lookup():
    username = request.args.get("user", "")
    search_filter = f"(&(objectClass=inetOrgPerson)(uid={username}))"
    conn = directory()
    conn.search(BASE_DN, search_filter, SUBTREE, attributes=["cn", "mail"])
    people = [{"cn": str(e.cn), "mail": str(e.mail)} for e in conn.entries]
    return jsonify(people)
''',
    r'''
import ldap
from django.http import JsonResponse

LDAP_URI = "ldap://ldap.internal"
BASE = "dc=example,dc=com"


def find_by_mail(email: str) -> list:
    conn = ldap.initialize(LDAP_URI)
    conn.simple_bind_s("cn=reader," + BASE, "reader-pw")
    filterstr = "(&(objectClass=person)(mail=%s))" % email
    return conn.search_s(BASE, ldap.SCOPE_SUBTREE, filterstr, ["cn", "uid"])


def account(request):
    email = request.GET.get("email", "")
    results = find_by_mail(email)
    names = [attrs.get("cn", [b""])[0].decode() for _dn, attrs in results]
    return JsonResponse({"names": names})
''',
    r'''
from fastapi import FastAPI, Query
from ldap3 import Connection, Server

app = FastAPI()


class DirectoryClient:
    def __init__(self, url: str, base: str) -> None:
        self.conn = Connection(Server(url), auto_bind=True)
        self.base = base

    def members_of(self, group: str) -> list[str]:
        query = "(&(objectClass=groupOfNames)(cn=" + group + "))"
        self.conn.search(self.base, query, attributes=["member"])
        return [str(m) for entry in self.conn.entries for m in entry.member]


@app.get("/groups/members")
def members(group: str = Query(...)):
    client = DirectoryClient("ldap://ldap.internal", "ou=groups,dc=example,dc=com")
    return {"group": group, "members": client.members_of(group)}
''',
    r'''
from flask import Flask, request
from ldap3 import Connection, Server

app = Flask(__name__)

TEMPLATE = "(&(objectClass=person)(departmentNumber={dept})(title={title}))"


def criteria(args) -> dict:
    return {"dept": "42", "title": args.get("title", "*")}


@app.get("/staff")
def staff():
    values = criteria(request.args)
    search_filter = TEMPLATE.format(**values)
    conn = Connection(Server("ldap://ldap.internal"), auto_bind=True)
    conn.search("dc=example,dc=com", search_filter, attributes=["cn"])
    return {"staff": [str(e.cn) for e in conn.entries]}
''',
    r'''
import ldap
from django.http import HttpResponse


def search(filterstr: str) -> list:
    conn = ldap.initialize("ldap://ldap.internal")
    conn.simple_bind_s()
    return conn.search_s("dc=example,dc=com", ldap.SCOPE_SUBTREE, filterstr)


def phonebook(request):
    param = request.GET.get("name", "")
    num = 45
    if 300 - num * 2 > 200:
        bar = param
    else:
        bar = "nobody"
    hits = search("(cn=" + bar + ")")
    rows = "".join("<li>%s</li>" % dn for dn, _ in hits)
    return HttpResponse("<ul>" + rows + "</ul>")
''',
    r'''
from fastapi import FastAPI
from ldap3 import Connection, Server

app = FastAPI()


def name_filter(term: str) -> str:
    clauses = ["(|", f"(sn={term})", f"(givenName={term})", ")"]
    return "".join(clauses)


@app.get("/directory/search")
def directory_search(q: str):
    conn = Connection(Server("ldap://ldap.internal"), auto_bind=True)
    conn.search("ou=people,dc=example,dc=com", name_filter(q), attributes=["cn", "telephoneNumber"])
    found = [{"cn": str(e.cn), "phone": str(e.telephoneNumber)} for e in conn.entries]
    return {"count": len(found), "results": found}
''',
    r'''
from flask import Flask, request
from ldap3 import Connection, Server
from ldap3.utils.conv import escape_filter_chars

app = Flask(__name__)


@app.get("/members")
def members():
    dept = escape_filter_chars(request.args.get("dept", "eng"))
    user = request.args.get("user", "*")
    parts = {"dept": dept, "user": user}
    search_filter = "(&(ou={dept})(uid={user}))".format(**parts)
    conn = Connection(Server("ldap://ldap.internal"), auto_bind=True)
    conn.search("dc=example,dc=com", search_filter, attributes=["uid"])
    return {"members": [str(e.uid) for e in conn.entries]}
''',
    r'''
from django.http import JsonResponse
from ldap3 import Connection, Server

ROOT = "dc=example,dc=com"


def unit_dn(unit: str) -> str:
    return f"ou={unit},{ROOT}"


def unit_people(request):
    unit = request.GET.get("unit", "people")
    conn = Connection(Server("ldap://ldap.internal"), auto_bind=True)
    conn.search(unit_dn(unit), "(objectClass=person)", attributes=["cn"])
    names = sorted(str(entry.cn) for entry in conn.entries)
    return JsonResponse({"unit": unit, "names": names})
''',
    r'''
import ldap
from fastapi import FastAPI, Form

app = FastAPI()


def authenticate(conn, uid: str, host: str) -> list:
    filterstr = "(&(uid=%s)(host=%s))" % (uid, host)
    msgid = conn.search_ext(
        "ou=people,dc=example,dc=com", ldap.SCOPE_SUBTREE, filterstr, ["dn"]
    )
    _type, data = conn.result(msgid)
    return data


@app.post("/ssh/authorize")
def authorize(uid: str = Form(...), host: str = Form("bastion")):
    conn = ldap.initialize("ldap://ldap.internal")
    allowed = authenticate(conn, uid, host)
    return {"allowed": bool(allowed)}
''',
    r'''
from flask import Flask, request
from ldap3 import Connection, Server

app = Flask(__name__)


class PersonQuery:
    def __init__(self, mail: str) -> None:
        self.mail = mail

    @property
    def filter(self) -> str:
        return "(&(objectClass=person)(mail=" + self.mail + "))"


@app.post("/invite")
def invite():
    query = PersonQuery(request.form.get("mail", ""))
    conn = Connection(Server("ldap://ldap.internal"), auto_bind=True)
    conn.search("dc=example,dc=com", query.filter, attributes=["cn"])
    return {"known": len(conn.entries) > 0}
''',
)

_LDAPI_SAFE: tuple[str, ...] = (
    r'''
from flask import Flask, jsonify, request
from ldap3 import SUBTREE, Connection, Server
from ldap3.utils.conv import escape_filter_chars

app = Flask(__name__)

BASE_DN = "ou=people,dc=example,dc=com"


def directory() -> Connection:
    server = Server("ldap://ldap.internal:389")
    return Connection(server, "cn=reader,dc=example,dc=com", "reader-pw", auto_bind=True)


@app.route("/people/lookup")
def lookup():
    username = escape_filter_chars(request.args.get("user", ""))
    search_filter = f"(&(objectClass=inetOrgPerson)(uid={username}))"
    conn = directory()
    conn.search(BASE_DN, search_filter, SUBTREE, attributes=["cn", "mail"])
    people = [{"cn": str(e.cn), "mail": str(e.mail)} for e in conn.entries]
    return jsonify(people)
''',
    r'''
import ldap
import ldap.filter
from django.http import JsonResponse

LDAP_URI = "ldap://ldap.internal"
BASE = "dc=example,dc=com"


def find_by_mail(email: str) -> list:
    conn = ldap.initialize(LDAP_URI)
    conn.simple_bind_s("cn=reader," + BASE, "reader-pw")
    filterstr = ldap.filter.filter_format("(&(objectClass=person)(mail=%s))", [email])
    return conn.search_s(BASE, ldap.SCOPE_SUBTREE, filterstr, ["cn", "uid"])


def account(request):
    email = request.GET.get("email", "")
    results = find_by_mail(email)
    names = [attrs.get("cn", [b""])[0].decode() for _dn, attrs in results]
    return JsonResponse({"names": names})
''',
    r'''
import re

from fastapi import FastAPI, HTTPException, Query
from ldap3 import Connection, Server

app = FastAPI()

GROUP_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


class DirectoryClient:
    def __init__(self, url: str, base: str) -> None:
        self.conn = Connection(Server(url), auto_bind=True)
        self.base = base

    def members_of(self, group: str) -> list[str]:
        query = "(&(objectClass=groupOfNames)(cn=" + group + "))"
        self.conn.search(self.base, query, attributes=["member"])
        return [str(m) for entry in self.conn.entries for m in entry.member]


@app.get("/groups/members")
def members(group: str = Query(...)):
    if not GROUP_NAME.fullmatch(group):
        raise HTTPException(status_code=400, detail="bad group name")
    client = DirectoryClient("ldap://ldap.internal", "ou=groups,dc=example,dc=com")
    return {"group": group, "members": client.members_of(group)}
''',
    r'''
from flask import Flask, request
from ldap3 import Connection, Server

app = Flask(__name__)

TEMPLATE = "(&(objectClass=person)(departmentNumber={dept}))"


def criteria(args) -> dict:
    return {"dept": "42", "title": args.get("title", "*")}


@app.get("/staff")
def staff():
    values = criteria(request.args)
    search_filter = TEMPLATE.format(dept=values["dept"])
    conn = Connection(Server("ldap://ldap.internal"), auto_bind=True)
    conn.search("dc=example,dc=com", search_filter, attributes=["cn", "title"])
    wanted = values["title"]
    return {"staff": [str(e.cn) for e in conn.entries if wanted in ("*", str(e.title))]}
''',
    r'''
import ldap
from django.http import HttpResponse


def search(filterstr: str) -> list:
    conn = ldap.initialize("ldap://ldap.internal")
    conn.simple_bind_s()
    return conn.search_s("dc=example,dc=com", ldap.SCOPE_SUBTREE, filterstr)


def phonebook(request):
    param = request.GET.get("name", "")
    num = 45
    if 300 - num * 2 > 200:
        bar = "nobody"
    else:
        bar = param
    hits = search("(cn=" + bar + ")")
    rows = "".join("<li>%s</li>" % dn for dn, _ in hits)
    return HttpResponse("<ul>" + rows + "</ul>")
''',
    r'''
from fastapi import FastAPI
from ldap3 import Connection, Server
from ldap3.utils.conv import escape_filter_chars

app = FastAPI()


def name_filter(term: str) -> str:
    term = escape_filter_chars(term)
    clauses = ["(|", f"(sn={term})", f"(givenName={term})", ")"]
    return "".join(clauses)


@app.get("/directory/search")
def directory_search(q: str):
    conn = Connection(Server("ldap://ldap.internal"), auto_bind=True)
    conn.search("ou=people,dc=example,dc=com", name_filter(q), attributes=["cn", "telephoneNumber"])
    found = [{"cn": str(e.cn), "phone": str(e.telephoneNumber)} for e in conn.entries]
    return {"count": len(found), "results": found}
''',
    r'''
from flask import Flask, request
from ldap3 import Connection, Server
from ldap3.utils.conv import escape_filter_chars

app = Flask(__name__)


@app.get("/members")
def members():
    dept = escape_filter_chars(request.args.get("dept", "eng"))
    user = escape_filter_chars(request.args.get("user", "*"))
    parts = {"dept": dept, "user": user}
    search_filter = "(&(ou={dept})(uid={user}))".format(**parts)
    conn = Connection(Server("ldap://ldap.internal"), auto_bind=True)
    conn.search("dc=example,dc=com", search_filter, attributes=["uid"])
    return {"members": [str(e.uid) for e in conn.entries]}
''',
    r'''
from django.http import JsonResponse
from ldap3 import Connection, Server

ROOT = "dc=example,dc=com"
UNITS = ("people", "engineering", "sales", "support")


def unit_dn(unit: str) -> str:
    return f"ou={unit},{ROOT}"


def unit_people(request):
    unit = request.GET.get("unit", "people")
    if unit not in UNITS:
        return JsonResponse({"error": "unknown unit"}, status=404)
    conn = Connection(Server("ldap://ldap.internal"), auto_bind=True)
    conn.search(unit_dn(unit), "(objectClass=person)", attributes=["cn"])
    names = sorted(str(entry.cn) for entry in conn.entries)
    return JsonResponse({"unit": unit, "names": names})
''',
    r'''
import ldap
from fastapi import FastAPI, Form
from ldap.filter import escape_filter_chars

app = FastAPI()


def authenticate(conn, uid: str, host: str) -> list:
    filterstr = "(&(uid=%s)(host=%s))" % (escape_filter_chars(uid), escape_filter_chars(host))
    msgid = conn.search_ext(
        "ou=people,dc=example,dc=com", ldap.SCOPE_SUBTREE, filterstr, ["dn"]
    )
    _type, data = conn.result(msgid)
    return data


@app.post("/ssh/authorize")
def authorize(uid: str = Form(...), host: str = Form("bastion")):
    conn = ldap.initialize("ldap://ldap.internal")
    allowed = authenticate(conn, uid, host)
    return {"allowed": bool(allowed)}
''',
    r'''
from flask import Flask, request
from ldap3 import Connection, Server

app = Flask(__name__)


class PersonQuery:
    def __init__(self, mail: str) -> None:
        self.mail = mail

    @property
    def filter(self) -> str:
        return "(&(objectClass=person)(mail=" + self.mail + "))"


@app.post("/invite")
def invite():
    query = PersonQuery(request.form.get("mail", ""))
    query.mail = "postmaster@example.com"
    conn = Connection(Server("ldap://ldap.internal"), auto_bind=True)
    conn.search("dc=example,dc=com", query.filter, attributes=["cn"])
    return {"known": len(conn.entries) > 0}
''',
)

_PATHTRAVER_VULN: tuple[str, ...] = (
    r'''
import os

from flask import Flask, abort, request, send_file

app = Flask(__name__)

UPLOAD_DIR = "/srv/app/uploads"


def stored_path(name: str) -> str:
    return os.path.join(UPLOAD_DIR, name)


@app.route("/download")
def download():
    name = request.args.get("file")
    if not name:
        abort(400)
    path = stored_path(name)
    if not os.path.exists(path):
        abort(404)
    return send_file(path, as_attachment=True)
''',
    r'''
from django.http import Http404, HttpResponse

REPORT_ROOT = "/srv/reports"


def read_report(name: str) -> str:
    with open(f"{REPORT_ROOT}/{name}.csv", encoding="utf-8") as fh:
        return fh.read()


def report(request, year: int):
    name = request.GET.get("name", "summary")
    try:
        body = read_report(f"{year}/{name}")
    except FileNotFoundError:
        raise Http404("no such report")
    response = HttpResponse(body, content_type="text/csv")
    response["Content-Disposition"] = "attachment"
    return response
''',
    r'''
from pathlib import Path

from fastapi import FastAPI, HTTPException

app = FastAPI()

DOCS = Path("/srv/docs")


@app.get("/docs/{filename:path}")
def read_doc(filename: str):
    target = DOCS / filename
    if not target.is_file():
        raise HTTPException(status_code=404, detail="not found")
    text = target.read_text(encoding="utf-8")
    return {"name": filename, "lines": len(text.splitlines()), "text": text[:4000]}
''',
    r'''
import os

from flask import Flask, request

app = Flask(__name__)

ATTACHMENTS = "/var/lib/tickets/attachments"


class AttachmentStore:
    def __init__(self, root: str) -> None:
        self.root = root

    def delete(self, ticket: str, filename: str) -> None:
        os.remove(os.path.join(self.root, ticket, filename))


@app.delete("/tickets/<ticket>/attachments")
def delete_attachment(ticket: str):
    payload = request.get_json() or {}
    AttachmentStore(ATTACHMENTS).delete(ticket, payload.get("filename", ""))
    return {"deleted": True}
''',
    r'''
import os

from django.http import FileResponse


def open_log(name: str):
    return open(os.path.join("/var/log/app", name), "rb")


def logs(request):
    param = request.GET.get("log", "")
    x = 12
    if x % 5 == 2:
        bar = param
    else:
        bar = "app.log"
    return FileResponse(open_log(bar), content_type="text/plain")
''',
    r'''
from fastapi import FastAPI
from fastapi.responses import FileResponse

app = FastAPI()

ROOT = "/srv/workspaces"


def workspace_file(owner: str, document: str) -> str:
    return "/".join([ROOT, owner, document])


@app.get("/workspaces/{owner}/file")
def workspace_download(owner: str, document: str):
    path = workspace_file(owner, document)
    return FileResponse(path, filename=document.rsplit("/", 1)[-1])
''',
    r'''
import os

from flask import Flask, abort, request

app = Flask(__name__)

THEMES = "/srv/app/themes"


@app.route("/themes/css")
def theme_css():
    name = request.args.get("name", "default.css")
    if name.startswith("/"):
        abort(400)
    path = os.path.join(THEMES, name)
    with open(path, encoding="utf-8") as fh:
        css = fh.read()
    return css, 200, {"Content-Type": "text/css"}
''',
    r'''
import os
import shutil

from django.http import JsonResponse
from django.views.decorators.http import require_POST

TEMPLATES = "/srv/app/templates/mail"
OUTBOX = "/srv/app/outbox"


@require_POST
def clone_template(request):
    source_name = request.POST.get("template", "welcome.html")
    source = os.path.join(TEMPLATES, source_name)
    destination = os.path.join(OUTBOX, "draft.html")
    shutil.copy(source, destination)
    size = os.path.getsize(destination)
    return JsonResponse({"copied": source_name, "bytes": size})
''',
    r'''
import os

from fastapi import FastAPI, File, UploadFile

app = FastAPI()


class Storage:
    def __init__(self, root: str) -> None:
        self.root = root

    def path_for(self, name: str) -> str:
        return os.path.join(self.root, name)

    def save(self, name: str, data: bytes) -> str:
        path = self.path_for(name)
        with open(path, "wb") as fh:
            fh.write(data)
        return path


@app.post("/avatars")
async def upload_avatar(avatar: UploadFile = File(...)):
    data = await avatar.read()
    path = Storage("/srv/static/avatars").save(avatar.filename, data)
    return {"stored": os.path.basename(path), "bytes": len(data)}
''',
    r'''
import os

from flask import Flask, request

app = Flask(__name__)

BASE = "/srv/app/exports"


def normalised(name: str) -> str:
    return os.path.normpath(os.path.join(BASE, name))


@app.get("/exports")
def export_file():
    name = request.args.get("name", "latest.json")
    path = normalised(name)
    with open(path, "rb") as fh:
        data = fh.read()
    return data, 200, {"Content-Type": "application/octet-stream"}
''',
)

_PATHTRAVER_SAFE: tuple[str, ...] = (
    r'''
import os

from flask import Flask, abort, request, send_file
from werkzeug.utils import secure_filename

app = Flask(__name__)

UPLOAD_DIR = "/srv/app/uploads"


def stored_path(name: str) -> str:
    return os.path.join(UPLOAD_DIR, secure_filename(name))


@app.route("/download")
def download():
    name = request.args.get("file")
    if not name:
        abort(400)
    path = stored_path(name)
    if not os.path.exists(path):
        abort(404)
    return send_file(path, as_attachment=True)
''',
    r'''
import os

from django.http import Http404, HttpResponse

REPORT_ROOT = "/srv/reports"


def read_report(name: str) -> str:
    path = os.path.realpath(os.path.join(REPORT_ROOT, os.path.basename(name) + ".csv"))
    if not path.startswith(REPORT_ROOT + os.sep):
        raise FileNotFoundError(name)
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def report(request, year: int):
    name = request.GET.get("name", "summary")
    try:
        body = read_report(f"{year}-{name}")
    except FileNotFoundError:
        raise Http404("no such report")
    response = HttpResponse(body, content_type="text/csv")
    response["Content-Disposition"] = "attachment"
    return response
''',
    r'''
from pathlib import Path

from fastapi import FastAPI, HTTPException

app = FastAPI()

DOCS = Path("/srv/docs").resolve()


@app.get("/docs/{filename:path}")
def read_doc(filename: str):
    target = (DOCS / filename).resolve()
    if not target.is_relative_to(DOCS) or not target.is_file():
        raise HTTPException(status_code=404, detail="not found")
    text = target.read_text(encoding="utf-8")
    return {"name": filename, "lines": len(text.splitlines()), "text": text[:4000]}
''',
    r'''
import os

from flask import Flask, request

app = Flask(__name__)

ATTACHMENTS = "/var/lib/tickets/attachments"


class AttachmentStore:
    def __init__(self, root: str) -> None:
        self.root = root

    def delete(self, ticket: int, number: int) -> None:
        os.remove(os.path.join(self.root, "%d" % ticket, "%d.bin" % number))


@app.delete("/tickets/<int:ticket>/attachments")
def delete_attachment(ticket: int):
    payload = request.get_json() or {}
    AttachmentStore(ATTACHMENTS).delete(ticket, int(payload.get("number", 0)))
    return {"deleted": True}
''',
    r'''
import os

from django.http import FileResponse


def open_log(name: str):
    return open(os.path.join("/var/log/app", name), "rb")


def logs(request):
    param = request.GET.get("log", "")
    x = 12
    if x % 5 == 2:
        bar = "app.log"
    else:
        bar = param
    return FileResponse(open_log(bar), content_type="text/plain")
''',
    r'''
from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse

app = FastAPI()

ROOT = "/srv/workspaces"
OWNERS = {"alpha", "beta", "gamma"}
DOCUMENTS = {"plan.md", "budget.xlsx", "notes.txt"}


def workspace_file(owner: str, document: str) -> str:
    return "/".join([ROOT, owner, document])


@app.get("/workspaces/{owner}/file")
def workspace_download(owner: str, document: str):
    if owner not in OWNERS or document not in DOCUMENTS:
        raise HTTPException(status_code=404, detail="not found")
    path = workspace_file(owner, document)
    return FileResponse(path, filename=document)
''',
    r'''
import os

from flask import Flask, abort, request

app = Flask(__name__)

THEMES = os.path.realpath("/srv/app/themes")


@app.route("/themes/css")
def theme_css():
    name = request.args.get("name", "default.css")
    path = os.path.realpath(os.path.join(THEMES, name))
    if not path.startswith(THEMES + os.sep):
        abort(400)
    with open(path, encoding="utf-8") as fh:
        css = fh.read()
    return css, 200, {"Content-Type": "text/css"}
''',
    r'''
import os
import shutil

from django.http import JsonResponse
from django.views.decorators.http import require_POST

TEMPLATES = "/srv/app/templates/mail"
OUTBOX = "/srv/app/outbox"
KNOWN = {"welcome": "welcome.html", "reset": "reset.html", "invoice": "invoice.html"}


@require_POST
def clone_template(request):
    key = request.POST.get("template", "welcome")
    source = os.path.join(TEMPLATES, KNOWN.get(key, "welcome.html"))
    destination = os.path.join(OUTBOX, "draft.html")
    shutil.copy(source, destination)
    size = os.path.getsize(destination)
    return JsonResponse({"copied": key, "bytes": size})
''',
    r'''
import os
import uuid

from fastapi import FastAPI, File, HTTPException, UploadFile

app = FastAPI()

EXTENSIONS = {".png", ".jpg", ".gif"}


class Storage:
    def __init__(self, root: str) -> None:
        self.root = root

    def save(self, extension: str, data: bytes) -> str:
        path = os.path.join(self.root, uuid.uuid4().hex + extension)
        with open(path, "wb") as fh:
            fh.write(data)
        return path


@app.post("/avatars")
async def upload_avatar(avatar: UploadFile = File(...)):
    extension = os.path.splitext(avatar.filename or "")[1].lower()
    if extension not in EXTENSIONS:
        raise HTTPException(status_code=415, detail="unsupported type")
    data = await avatar.read()
    path = Storage("/srv/static/avatars").save(extension, data)
    return {"stored": os.path.basename(path), "bytes": len(data)}
''',
    r'''
import os

from flask import Flask, request

app = Flask(__name__)

BASE = "/srv/app/exports"


def candidates(name: str) -> list[str]:
    return [os.path.join(BASE, name), os.path.join(BASE, "latest.json")]


@app.get("/exports")
def export_file():
    name = request.args.get("name", "latest.json")
    paths = candidates(name)
    with open(paths[1], "rb") as fh:
        data = fh.read()
    return data, 200, {"Content-Type": "application/octet-stream", "X-Asked": str(len(paths[0]))}
''',
)

_REDIRECT_VULN: tuple[str, ...] = (
    r'''
from flask import Flask, redirect, request, session

app = Flask(__name__)

USERS = {"alice": "correct horse"}


def authenticate(form) -> bool:
    return USERS.get(form.get("user", "")) == form.get("password")


@app.post("/login")
def login():
    if not authenticate(request.form):
        return {"error": "invalid credentials"}, 401
    session["user"] = "authenticated-user"
    next_url = request.args.get("next", "/")
    return redirect(next_url)
''',
    r'''
from django.contrib.auth import logout
from django.http import HttpResponseRedirect


def _landing(request) -> str:
    return request.GET.get("return_to", "/")


COOKIES_TO_CLEAR = ("prefs", "recent", "cart")


def sign_out(request):
    logout(request)
    target = _landing(request)
    response = HttpResponseRedirect(target)
    for name in COOKIES_TO_CLEAR:
        response.delete_cookie(name)
    return response
''',
    r'''
from fastapi import FastAPI, Query
from fastapi.responses import RedirectResponse

app = FastAPI()

VISITS: dict[str, int] = {}


def count_visit(source: str) -> int:
    VISITS[source] = VISITS.get(source, 0) + 1
    return VISITS[source]


@app.get("/out")
def outbound(url: str = Query(...), source: str = "web"):
    count_visit(source)
    destination = url.strip()
    return RedirectResponse(destination, status_code=302)
''',
    r'''
from flask import Flask, redirect, request

app = Flask(__name__)

TRUSTED = "example.com"


def is_trusted(target: str) -> bool:
    return TRUSTED in target


@app.route("/continue")
def continue_to():
    target = request.args.get("to", "https://example.com/")
    if not is_trusted(target):
        target = "https://example.com/"
    return redirect(target, code=303)
''',
    r'''
from django.shortcuts import redirect


def _mark_done(request) -> None:
    request.session["checkout_done"] = True
    request.session.modified = True


def after_checkout(request):
    param = request.GET.get("next", "")
    bucket = 4
    if bucket % 2 == 0:
        bar = param
    else:
        bar = "/orders/"
    _mark_done(request)
    return redirect(bar)
''',
    r'''
import logging

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse

app = FastAPI()
log = logging.getLogger("campaigns")


def campaign_params(request: Request) -> dict:
    return {
        "campaign": request.query_params.get("c", "none"),
        "dest": request.query_params.get("dest", "/"),
        "home": "/",
    }


@app.get("/c")
def campaign(request: Request):
    params = campaign_params(request)
    log.info("campaign click %s", params["campaign"])
    return RedirectResponse(params["dest"])
''',
    r'''
from flask import Flask, make_response, request

app = Flask(__name__)


def moved(location: str):
    resp = make_response("", 302)
    resp.headers["Location"] = location
    resp.headers["Cache-Control"] = "no-store"
    return resp


@app.route("/legacy")
def legacy():
    location = request.args.get("goto") or request.referrer or "/"
    return moved(location)
''',
    r'''
from django.http import HttpResponseRedirect

LANGUAGES = ("en", "fr", "de")


def chosen_language(post) -> str:
    lang = post.get("lang", "en")
    return lang if lang in LANGUAGES else LANGUAGES[0]


def safe_local(target: str) -> str:
    if target.startswith("/"):
        return target
    return "/"


def switch_language(request):
    request.session["lang"] = chosen_language(request.POST)
    target = safe_local(request.POST.get("next", "/"))
    return HttpResponseRedirect(target)
''',
    r'''
import secrets

from fastapi import FastAPI, HTTPException
from fastapi.responses import RedirectResponse
from pydantic import BaseModel

app = FastAPI()


class LinkShortener:
    def __init__(self) -> None:
        self.links: dict[str, str] = {}

    def add(self, url: str) -> str:
        code = secrets.token_urlsafe(6)
        self.links[code] = url
        return code


SHORTENER = LinkShortener()


class NewLink(BaseModel):
    url: str


@app.post("/links/preview")
def preview(link: NewLink):
    code = SHORTENER.add(link.url)
    target = SHORTENER.links.get(code)
    if target is None:
        raise HTTPException(status_code=500)
    return RedirectResponse(target)
''',
    r'''
from urllib.parse import urljoin

from flask import Flask, redirect, request

app = Flask(__name__)


def absolute(path: str) -> str:
    return urljoin(request.host_url, path)


@app.route("/back")
def back():
    path = request.args.get("path", "/")
    return redirect(absolute(path))
''',
)

_REDIRECT_SAFE: tuple[str, ...] = (
    r'''
from urllib.parse import urlparse

from flask import Flask, redirect, request, session

app = Flask(__name__)

USERS = {"alice": "correct horse"}
ALLOWED_HOSTS = {"app.example.com", "docs.example.com"}


def authenticate(form) -> bool:
    return USERS.get(form.get("user", "")) == form.get("password")


@app.post("/login")
def login():
    if not authenticate(request.form):
        return {"error": "invalid credentials"}, 401
    session["user"] = "authenticated-user"
    next_url = request.args.get("next", "/")
    parsed = urlparse(next_url)
    if parsed.scheme != "https" or parsed.netloc not in ALLOWED_HOSTS:
        next_url = "https://app.example.com/"
    return redirect(next_url)
''',
    r'''
from django.contrib.auth import logout
from django.http import HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme


def _landing(request) -> str:
    target = request.GET.get("return_to", "/")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=True):
        return "/"
    return target


COOKIES_TO_CLEAR = ("prefs", "recent", "cart")


def sign_out(request):
    logout(request)
    target = _landing(request)
    response = HttpResponseRedirect(target)
    for name in COOKIES_TO_CLEAR:
        response.delete_cookie(name)
    return response
''',
    r'''
from fastapi import FastAPI, Query
from fastapi.responses import RedirectResponse

app = FastAPI()

VISITS: dict[str, int] = {}
PARTNERS = {
    "docs": "https://docs.example.com/",
    "status": "https://status.example.com/",
    "shop": "https://shop.example.com/",
}


@app.get("/out")
def outbound(partner: str = Query(...), source: str = "web"):
    VISITS[source] = VISITS.get(source, 0) + 1
    destination = PARTNERS.get(partner.strip(), "/")
    return RedirectResponse(destination, status_code=302)
''',
    r'''
from urllib.parse import urlparse

from flask import Flask, redirect, request

app = Flask(__name__)

TRUSTED = {"example.com", "www.example.com"}


def is_trusted(target: str) -> bool:
    parsed = urlparse(target)
    return parsed.scheme in ("http", "https") and parsed.hostname in TRUSTED


@app.route("/continue")
def continue_to():
    target = request.args.get("to", "https://example.com/")
    if not is_trusted(target):
        target = "https://example.com/"
    return redirect(target, code=303)
''',
    r'''
from django.shortcuts import redirect


def _mark_done(request) -> None:
    request.session["checkout_done"] = True
    request.session.modified = True


def after_checkout(request):
    param = request.GET.get("next", "")
    bucket = 4
    if bucket % 2 == 0:
        bar = "/orders/"
    else:
        bar = param
    _mark_done(request)
    return redirect(bar)
''',
    r'''
import logging

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse

app = FastAPI()
log = logging.getLogger("campaigns")


def campaign_params(request: Request) -> dict:
    return {
        "campaign": request.query_params.get("c", "none"),
        "dest": request.query_params.get("dest", "/"),
        "home": "/",
    }


@app.get("/c")
def campaign(request: Request):
    params = campaign_params(request)
    log.info("campaign click %s towards %s", params["campaign"], params["dest"])
    return RedirectResponse(params["home"])
''',
    r'''
from urllib.parse import quote

from flask import Flask, make_response, request

app = Flask(__name__)


def moved(location: str):
    resp = make_response("", 302)
    resp.headers["Location"] = location
    resp.headers["Cache-Control"] = "no-store"
    return resp


@app.route("/legacy")
def legacy():
    origin = request.args.get("goto") or request.referrer or "/"
    location = "/welcome?from=" + quote(origin, safe="")
    return moved(location)
''',
    r'''
from django.http import HttpResponseRedirect
from django.urls import reverse

LANGUAGES = ("en", "fr", "de")


def chosen_language(post) -> str:
    lang = post.get("lang", "en")
    return lang if lang in LANGUAGES else LANGUAGES[0]


def switch_language(request):
    request.session["lang"] = chosen_language(request.POST)
    target = request.POST.get("next", "/")
    target = reverse("dashboard")
    return HttpResponseRedirect(target)
''',
    r'''
from fastapi import FastAPI, HTTPException
from fastapi.responses import RedirectResponse

app = FastAPI()


class LinkShortener:
    def __init__(self) -> None:
        self.links: dict[int, str] = {
            1: "https://example.com/pricing",
            2: "https://example.com/careers",
        }

    def resolve(self, number: int) -> str | None:
        return self.links.get(number)


SHORTENER = LinkShortener()


@app.get("/l/{code}")
def follow(code: str):
    target = SHORTENER.resolve(int(code))
    if target is None:
        raise HTTPException(status_code=404)
    return RedirectResponse(target)
''',
    r'''
from urllib.parse import urljoin

from flask import Flask, redirect, request, url_for

app = Flask(__name__)

ENDPOINTS = ("index", "profile", "settings")


def absolute(path: str) -> str:
    return urljoin(request.host_url, path)


@app.route("/back")
def back():
    endpoint = request.args.get("to", "index")
    if endpoint not in ENDPOINTS:
        endpoint = "index"
    return redirect(absolute(url_for(endpoint)))
''',
)

_SECURECOOKIE_VULN: tuple[str, ...] = (
    r'''
import secrets

from flask import Flask, jsonify, request

app = Flask(__name__)

SESSIONS: dict[str, str] = {}


def open_session(user: str) -> str:
    sid = secrets.token_urlsafe(32)
    SESSIONS[sid] = user
    return sid


@app.post("/login")
def login():
    user = request.form.get("user", "")
    sid = open_session(user)
    resp = jsonify({"user": user})
    resp.set_cookie("session_id", sid, httponly=True, samesite="Lax", max_age=3600)
    return resp
''',
    r'''
from django.contrib.auth import authenticate
from django.http import JsonResponse
from django.views.decorators.http import require_POST

from .tokens import issue_token


@require_POST
def token_login(request):
    user = authenticate(request, username=request.POST.get("u"), password=request.POST.get("p"))
    if user is None:
        return JsonResponse({"error": "invalid"}, status=401)
    token = issue_token(user)
    response = JsonResponse({"ok": True})
    response.set_cookie("auth_token", token, max_age=86400, secure=False, httponly=True)
    return response
''',
    r'''
import secrets

from fastapi import FastAPI, Response
from pydantic import BaseModel

app = FastAPI()


class Login(BaseModel):
    user: str
    password: str


def refresh_token_for(user: str) -> str:
    return f"{user}.{secrets.token_hex(24)}"


@app.post("/auth/login")
def auth_login(body: Login, response: Response):
    token = refresh_token_for(body.user)
    response.set_cookie(key="refresh_token", value=token, httponly=True, samesite="lax", max_age=1209600)
    return {"user": body.user}
''',
    r'''
import secrets

from flask import Flask, make_response, request

app = Flask(__name__)

COOKIE_OPTIONS = {"httponly": True, "secure": False, "samesite": "Strict", "max_age": 30 * 86400}


def remember_token(user: str) -> str:
    return user + ":" + secrets.token_urlsafe(24)


@app.post("/remember")
def remember():
    token = remember_token(request.form["user"])
    resp = make_response({"remembered": True})
    resp.set_cookie("remember_me", token, **COOKIE_OPTIONS)
    return resp
''',
    r'''
import secrets

from django.http import HttpResponse


def grant(request):
    token = secrets.token_urlsafe(32)
    if len("ab" * 4) >= 8:
        flag = False
    else:
        flag = True
    response = HttpResponse("granted")
    response.set_cookie("grant", token, secure=flag, httponly=True)
    request.session["grant"] = "issued"
    return response
''',
    r'''
import secrets

from fastapi import FastAPI, Response

app = FastAPI()


def issue_cookie(response: Response, name: str, value: str, secure: bool = False) -> None:
    response.set_cookie(name, value, httponly=True, secure=secure, path="/")


@app.post("/sessions")
def create_session(user: str, response: Response):
    sid = secrets.token_urlsafe(32)
    issue_cookie(response, "sid", sid)
    return {"user": user}
''',
    r'''
import secrets

from flask import Flask, render_template_string, session

app = Flask(__name__)

FORM = "<form method=post><input type=hidden name=csrf value='{{ t }}'></form>"


@app.route("/transfer")
def transfer_form():
    token = secrets.token_hex(16)
    session["csrf_seen"] = True
    resp = app.make_response(render_template_string(FORM, t=token))
    resp.set_cookie("csrftoken", token, samesite="Strict")
    resp.set_cookie("lang", "en", secure=True)
    return resp
''',
    r'''
from django.http import JsonResponse

REMEMBER_DAYS = 14


def _identity(request) -> str | None:
    if not request.user.is_authenticated:
        return None
    return str(request.user.pk)


def remember_user(request):
    user_id = _identity(request)
    if user_id is None:
        return JsonResponse({"error": "login first"}, status=401)
    response = JsonResponse({"remembered": user_id})
    response.set_signed_cookie("uid", user_id, salt="remember-uid", max_age=REMEMBER_DAYS * 86400, httponly=True)
    return response
''',
    r'''
import secrets

from fastapi import FastAPI, Response

app = FastAPI()


def session_header(sid: str, max_age: int) -> str:
    parts = [f"sid={sid}", "Path=/", "HttpOnly", "SameSite=Lax", f"Max-Age={max_age}"]
    return "; ".join(parts)


@app.post("/guest")
def guest_session(response: Response):
    sid = secrets.token_urlsafe(32)
    response.headers["Set-Cookie"] = session_header(sid, 3600)
    return {"guest": True}
''',
    r'''
import secrets
from dataclasses import dataclass

from flask import Flask, jsonify

app = Flask(__name__)


@dataclass
class CookieConfig:
    name: str = "api_session"
    secure: bool = False
    httponly: bool = True


CONFIG = CookieConfig()


@app.post("/api/session")
def api_session():
    sid = secrets.token_urlsafe(32)
    resp = jsonify({"ok": True})
    resp.set_cookie(CONFIG.name, sid, secure=CONFIG.secure, httponly=CONFIG.httponly)
    return resp
''',
)

_SECURECOOKIE_SAFE: tuple[str, ...] = (
    r'''
import secrets

from flask import Flask, jsonify, request

app = Flask(__name__)

SESSIONS: dict[str, str] = {}


def open_session(user: str) -> str:
    sid = secrets.token_urlsafe(32)
    SESSIONS[sid] = user
    return sid


@app.post("/login")
def login():
    user = request.form.get("user", "")
    sid = open_session(user)
    resp = jsonify({"user": user})
    resp.set_cookie("session_id", sid, secure=True, httponly=True, samesite="Lax", max_age=3600)
    return resp
''',
    r'''
from django.contrib.auth import authenticate
from django.http import JsonResponse
from django.views.decorators.http import require_POST

from .tokens import issue_token


@require_POST
def token_login(request):
    user = authenticate(request, username=request.POST.get("u"), password=request.POST.get("p"))
    if user is None:
        return JsonResponse({"error": "invalid"}, status=401)
    token = issue_token(user)
    response = JsonResponse({"ok": True})
    response.set_cookie("auth_token", token, max_age=86400, secure=True, httponly=True)
    return response
''',
    r'''
import secrets

from fastapi import FastAPI, Response
from pydantic import BaseModel

app = FastAPI()


class Login(BaseModel):
    user: str
    password: str


def refresh_token_for(user: str) -> str:
    return f"{user}.{secrets.token_hex(24)}"


@app.post("/auth/login")
def auth_login(body: Login, response: Response):
    token = refresh_token_for(body.user)
    response.set_cookie(key="refresh_token", value=token, httponly=True, secure=True, samesite="lax", max_age=1209600)
    return {"user": body.user}
''',
    r'''
import secrets

from flask import Flask, make_response, request

app = Flask(__name__)

COOKIE_OPTIONS = {"httponly": True, "secure": True, "samesite": "Strict", "max_age": 30 * 86400}


def remember_token(user: str) -> str:
    return user + ":" + secrets.token_urlsafe(24)


@app.post("/remember")
def remember():
    token = remember_token(request.form["user"])
    resp = make_response({"remembered": True})
    resp.set_cookie("remember_me", token, **COOKIE_OPTIONS)
    return resp
''',
    r'''
import secrets

from django.http import HttpResponse


def grant(request):
    token = secrets.token_urlsafe(32)
    if len("ab" * 4) >= 8:
        flag = True
    else:
        flag = False
    response = HttpResponse("granted")
    response.set_cookie("grant", token, secure=flag, httponly=True)
    request.session["grant"] = "issued"
    return response
''',
    r'''
import secrets

from fastapi import FastAPI, Response

app = FastAPI()


def issue_cookie(response: Response, name: str, value: str, secure: bool = False) -> None:
    response.set_cookie(name, value, httponly=True, secure=secure, path="/")


@app.post("/sessions")
def create_session(user: str, response: Response):
    sid = secrets.token_urlsafe(32)
    issue_cookie(response, "sid", sid, secure=True)
    return {"user": user}
''',
    r'''
import secrets

from flask import Flask, render_template_string, session

app = Flask(__name__)

FORM = "<form method=post><input type=hidden name=csrf value='{{ t }}'></form>"


@app.route("/transfer")
def transfer_form():
    token = secrets.token_hex(16)
    session["csrf_seen"] = True
    resp = app.make_response(render_template_string(FORM, t=token))
    resp.set_cookie("csrftoken", token, samesite="Strict", secure=True)
    resp.set_cookie("lang", "en")
    return resp
''',
    r'''
from django.http import JsonResponse

REMEMBER_DAYS = 14


def _identity(request) -> str | None:
    if not request.user.is_authenticated:
        return None
    return str(request.user.pk)


def remember_user(request):
    user_id = _identity(request)
    if user_id is None:
        return JsonResponse({"error": "login first"}, status=401)
    response = JsonResponse({"remembered": user_id})
    response.set_signed_cookie(
        "uid", user_id, salt="remember-uid", max_age=REMEMBER_DAYS * 86400, httponly=True, secure=True
    )
    return response
''',
    r'''
import secrets

from fastapi import FastAPI, Response

app = FastAPI()


def session_header(sid: str, max_age: int) -> str:
    parts = [f"sid={sid}", "Path=/", "Secure", "HttpOnly", "SameSite=Lax", f"Max-Age={max_age}"]
    return "; ".join(parts)


@app.post("/guest")
def guest_session(response: Response):
    sid = secrets.token_urlsafe(32)
    response.headers["Set-Cookie"] = session_header(sid, 3600)
    return {"guest": True}
''',
    r'''
import secrets
from dataclasses import dataclass

from flask import Flask, jsonify

app = Flask(__name__)


@dataclass
class CookieConfig:
    name: str = "api_session"
    secure: bool = True
    httponly: bool = True


CONFIG = CookieConfig()


@app.post("/api/session")
def api_session():
    sid = secrets.token_urlsafe(32)
    resp = jsonify({"ok": True})
    resp.set_cookie(CONFIG.name, sid, secure=CONFIG.secure, httponly=CONFIG.httponly)
    return resp
''',
)

_SQLI_VULN: tuple[str, ...] = (
    r'''
import sqlite3

from flask import Flask, g, jsonify, request

app = Flask(__name__)


def db() -> sqlite3.Connection:
    if "db" not in g:
        g.db = sqlite3.connect("/srv/app/shop.db")
    return g.db


@app.route("/products")
def products():
    category = request.args.get("category", "all")
    sql = f"SELECT id, name, price FROM products WHERE category = '{category}' ORDER BY name"
    rows = db().execute(sql).fetchall()
    return jsonify([{"id": r[0], "name": r[1], "price": r[2]} for r in rows])
''',
    r'''
from django.db import connection
from django.http import JsonResponse


def find_customer(name: str) -> list:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, email FROM crm_customer WHERE name = '%s'" % name)
        return cursor.fetchall()


def as_dicts(rows: list, columns: tuple[str, ...]) -> list[dict]:
    return [dict(zip(columns, row)) for row in rows]


def customer(request):
    name = request.GET.get("name", "").strip()
    rows = find_customer(name)
    return JsonResponse({"matches": as_dicts(rows, ("id", "email"))})
''',
    r'''
from fastapi import FastAPI
from sqlalchemy import create_engine, text

app = FastAPI()
engine = create_engine("postgresql+psycopg2://app@localhost/app")


def orders_for(customer: str) -> list[dict]:
    query = text(f"SELECT id, total FROM orders WHERE customer_ref = '{customer}'")
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


@app.get("/customers/{customer}/orders")
def customer_orders(customer: str):
    orders = orders_for(customer)
    return {"customer": customer, "orders": orders, "count": len(orders)}
''',
    r'''
import psycopg2
from flask import Flask, request

app = Flask(__name__)


def fetch(sql: str, params: tuple = ()) -> list:
    with psycopg2.connect("dbname=app user=app") as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


@app.get("/invoices")
def invoices():
    column = request.args.get("sort", "created_at")
    limit = int(request.args.get("limit", "50"))
    sql = "SELECT id, amount FROM invoices ORDER BY {} DESC LIMIT %s".format(column)
    return {"rows": fetch(sql, (limit,))}
''',
    r'''
from django.http import JsonResponse

from .models import Article

PAGE_SIZE = 20


def _page(request) -> int:
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1


def search_articles(request):
    term = request.GET.get("q", "")
    query = "SELECT * FROM blog_article WHERE published AND title LIKE '%%" + term + "%%'"
    articles = Article.objects.raw(query)
    start = (_page(request) - 1) * PAGE_SIZE
    titles = [a.title for a in articles][start:start + PAGE_SIZE]
    return JsonResponse({"titles": titles, "page": _page(request)})
''',
    r'''
import sqlite3

from fastapi import FastAPI

app = FastAPI()


class TicketRepository:
    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path)

    def search(self, status: str, owner: str) -> list:
        clauses = ["status = '" + status + "'", "owner = '" + owner + "'"]
        sql = "SELECT id, title FROM tickets WHERE " + " AND ".join(clauses)
        return self.conn.execute(sql).fetchall()


@app.get("/tickets")
def tickets(status: str = "open", owner: str = "me"):
    repo = TicketRepository("/srv/app/tickets.db")
    return {"tickets": repo.search(status, owner)}
''',
    r'''
import sqlite3

from flask import Flask, request

app = Flask(__name__)


def lookup(sql: str) -> list:
    with sqlite3.connect("/srv/app/users.db") as conn:
        return conn.execute(sql).fetchall()


@app.route("/users/by-email")
def by_email():
    param = request.args.get("email", "")
    if (500 // 7) * 2 > 140:
        bar = param
    else:
        bar = "nobody@example.com"
    rows = lookup("SELECT id, name FROM users WHERE email = '%s'" % bar)
    return {"users": rows}
''',
    r'''
from django.http import JsonResponse

from .models import Product

MAX_LIMIT = 100


def _serialise(products) -> list[dict]:
    return [{"id": p.id, "name": p.name, "price": str(p.price)} for p in products]


def product_search(request):
    term = request.GET.get("term", "")
    limit = min(int(request.GET.get("limit", "25")), MAX_LIMIT)
    where = ["name LIKE '%%" + term + "%%'"]
    products = Product.objects.extra(where=where).order_by("name")[:limit]
    data = _serialise(products)
    return JsonResponse({"products": data})
''',
    r'''
import sqlite3

from fastapi import FastAPI, Form

app = FastAPI()


@app.post("/admin/archive")
def archive(table_suffix: str = Form(...), before: str = Form(...)):
    script = f"""
        CREATE TABLE IF NOT EXISTS events_{table_suffix} AS SELECT * FROM events WHERE 0;
        INSERT INTO events_{table_suffix} SELECT * FROM events WHERE day < '{before}';
        DELETE FROM events WHERE day < '{before}';
    """
    with sqlite3.connect("/srv/app/events.db") as conn:
        conn.executescript(script)
    return {"archived_before": before}
''',
    r'''
import sqlite3

from flask import Flask, request

app = Flask(__name__)


def where_clause(filters: dict) -> str:
    parts = []
    for key, value in filters.items():
        parts.append("%s = '%s'" % (key, value))
    return " AND ".join(parts) or "1 = 1"


@app.post("/reports/query")
def report_query():
    filters = request.get_json(force=True) or {}
    sql = "SELECT region, SUM(amount) FROM sales WHERE " + where_clause(filters) + " GROUP BY region"
    with sqlite3.connect("/srv/app/sales.db") as conn:
        rows = conn.execute(sql).fetchall()
    return {"rows": rows}
''',
)

_SQLI_SAFE: tuple[str, ...] = (
    r'''
import sqlite3

from flask import Flask, g, jsonify, request

app = Flask(__name__)


def db() -> sqlite3.Connection:
    if "db" not in g:
        g.db = sqlite3.connect("/srv/app/shop.db")
    return g.db


@app.route("/products")
def products():
    category = request.args.get("category", "all")
    sql = "SELECT id, name, price FROM products WHERE category = ? ORDER BY name"
    rows = db().execute(sql, (category,)).fetchall()
    return jsonify([{"id": r[0], "name": r[1], "price": r[2]} for r in rows])
''',
    r'''
from django.db import connection
from django.http import JsonResponse


def find_customer(name: str) -> list:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, email FROM crm_customer WHERE name = %s", [name])
        return cursor.fetchall()


def as_dicts(rows: list, columns: tuple[str, ...]) -> list[dict]:
    return [dict(zip(columns, row)) for row in rows]


def customer(request):
    name = request.GET.get("name", "").strip()
    rows = find_customer(name)
    return JsonResponse({"matches": as_dicts(rows, ("id", "email"))})
''',
    r'''
from fastapi import FastAPI
from sqlalchemy import create_engine, text

app = FastAPI()
engine = create_engine("postgresql+psycopg2://app@localhost/app")


def orders_for(customer: str) -> list[dict]:
    query = text("SELECT id, total FROM orders WHERE customer_ref = :customer")
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query, {"customer": customer})]


@app.get("/customers/{customer}/orders")
def customer_orders(customer: str):
    orders = orders_for(customer)
    return {"customer": customer, "orders": orders, "count": len(orders)}
''',
    r'''
import psycopg2
from flask import Flask, request

app = Flask(__name__)

SORTABLE = {"created_at", "amount", "due_date"}


def fetch(sql: str, params: tuple = ()) -> list:
    with psycopg2.connect("dbname=app user=app") as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


@app.get("/invoices")
def invoices():
    column = request.args.get("sort", "created_at")
    if column not in SORTABLE:
        column = "created_at"
    limit = int(request.args.get("limit", "50"))
    sql = "SELECT id, amount FROM invoices ORDER BY {} DESC LIMIT %s".format(column)
    return {"rows": fetch(sql, (limit,))}
''',
    r'''
from django.http import JsonResponse

from .models import Article

PAGE_SIZE = 20


def _page(request) -> int:
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1


def search_articles(request):
    term = request.GET.get("q", "")
    query = "SELECT * FROM blog_article WHERE published AND title LIKE %s"
    articles = Article.objects.raw(query, ["%" + term + "%"])
    start = (_page(request) - 1) * PAGE_SIZE
    titles = [a.title for a in articles][start:start + PAGE_SIZE]
    return JsonResponse({"titles": titles, "page": _page(request)})
''',
    r'''
import sqlite3

from fastapi import FastAPI

app = FastAPI()


class TicketRepository:
    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path)

    def search(self, status: str, owner: str) -> list:
        clauses = ["status = ?", "owner = ?"]
        sql = "SELECT id, title FROM tickets WHERE " + " AND ".join(clauses)
        return self.conn.execute(sql, [status, owner]).fetchall()


@app.get("/tickets")
def tickets(status: str = "open", owner: str = "me"):
    repo = TicketRepository("/srv/app/tickets.db")
    return {"tickets": repo.search(status, owner)}
''',
    r'''
import sqlite3

from flask import Flask, request

app = Flask(__name__)


def lookup(sql: str) -> list:
    with sqlite3.connect("/srv/app/users.db") as conn:
        return conn.execute(sql).fetchall()


@app.route("/users/by-email")
def by_email():
    param = request.args.get("email", "")
    if (500 // 7) * 2 > 140:
        bar = "nobody@example.com"
    else:
        bar = param
    rows = lookup("SELECT id, name FROM users WHERE email = '%s'" % bar)
    return {"users": rows}
''',
    r'''
from django.http import JsonResponse

from .models import Product

MAX_LIMIT = 100


def _serialise(products) -> list[dict]:
    return [{"id": p.id, "name": p.name, "price": str(p.price)} for p in products]


def product_search(request):
    term = request.GET.get("term", "")
    limit = min(int(request.GET.get("limit", "25")), MAX_LIMIT)
    products = Product.objects.filter(name__icontains=term).order_by("name")[:limit]
    data = _serialise(products)
    return JsonResponse({"products": data})
''',
    r'''
import sqlite3
from datetime import date

from fastapi import FastAPI, Form

app = FastAPI()


@app.post("/admin/archive")
def archive(table_suffix: str = Form(...), before: str = Form(...)):
    suffix = int(table_suffix)
    cutoff = date.fromisoformat(before).isoformat()
    script = f"""
        CREATE TABLE IF NOT EXISTS events_{suffix:d} AS SELECT * FROM events WHERE 0;
        INSERT INTO events_{suffix:d} SELECT * FROM events WHERE day < '{cutoff}';
        DELETE FROM events WHERE day < '{cutoff}';
    """
    with sqlite3.connect("/srv/app/events.db") as conn:
        conn.executescript(script)
    return {"archived_before": cutoff}
''',
    r'''
import sqlite3

from flask import Flask, request

app = Flask(__name__)

COLUMNS = ("region", "product", "channel")


def where_clause(filters: dict) -> tuple[str, list]:
    parts, values = [], []
    for key in COLUMNS:
        if key in filters:
            parts.append("%s = ?" % key)
            values.append(filters[key])
    return " AND ".join(parts) or "1 = 1", values


@app.post("/reports/query")
def report_query():
    filters = request.get_json(force=True) or {}
    clause, values = where_clause(filters)
    sql = "SELECT region, SUM(amount) FROM sales WHERE " + clause + " GROUP BY region"
    with sqlite3.connect("/srv/app/sales.db") as conn:
        rows = conn.execute(sql, values).fetchall()
    return {"rows": rows}
''',
)

_TRUSTBOUND_VULN: tuple[str, ...] = (
    r'''
from flask import Flask, jsonify, request, session

app = Flask(__name__)
app.secret_key = "change-me-in-production"


def clean(name: str) -> str:
    return " ".join(name.split())[:64]


@app.post("/profile/name")
def set_name():
    name = clean(request.form.get("display_name", ""))
    if not name:
        return jsonify({"error": "empty"}), 400
    session["display_name"] = name
    return jsonify({"display_name": name})
''',
    r'''
from django.http import JsonResponse
from django.views.decorators.http import require_POST


def _note_from(post) -> str:
    note = post.get("note", "")
    return note.strip()


@require_POST
def cart_note(request):
    note = _note_from(request.POST)
    request.session["cart_note"] = note
    request.session.modified = True
    return JsonResponse({"saved": True, "length": len(note)})
''',
    r'''
from fastapi import FastAPI, Request
from starlette.middleware.sessions import SessionMiddleware

app = FastAPI()
app.add_middleware(SessionMiddleware, secret_key="s3cr3t-key")


def current_role(request: Request) -> str:
    return request.session.get("role", "anonymous")


@app.get("/switch-role")
def switch_role(request: Request):
    role = request.query_params.get("role", "viewer")
    previous = current_role(request)
    request.session["role"] = role
    return {"role": current_role(request), "previous": previous}
''',
    r'''
from flask import Flask, request, session

app = Flask(__name__)
app.secret_key = "dev-secret"


def preferences(args) -> dict:
    return {"lang": args.get("lang", "en"), "theme": "dark"}


@app.route("/prefs")
def prefs():
    chosen = preferences(request.args)
    session.update(chosen)
    return {"lang": session["lang"], "theme": session["theme"]}
''',
    r'''
import logging

from django.http import HttpResponse

log = logging.getLogger("teams")


def set_team(request):
    param = request.GET.get("team", "")
    values = [3, 9, 4]
    if sum(values) > 15:
        bar = param
    else:
        bar = "default-team"
    request.session["team"] = bar
    log.info("team changed for user %s", request.user.pk)
    return HttpResponse("team updated", content_type="text/plain")
''',
    r'''
import logging

from fastapi import FastAPI, Header, Request

app = FastAPI()
log = logging.getLogger(__name__)


def remember(request: Request, key: str, value: str) -> None:
    request.session[key] = value


@app.get("/landing")
def landing(request: Request, x_partner: str = Header(default="direct")):
    log.info("landing from partner %s", x_partner)
    remember(request, "partner", x_partner)
    return {"welcome": True}
''',
    r'''
from flask import Flask, request, session

app = Flask(__name__)
app.secret_key = "dev-secret"

MAX_HISTORY = 10


@app.get("/search")
def search():
    query = request.args.get("q", "")
    history = list(session.get("history", []))
    history.append(query)
    session["history"] = history[-MAX_HISTORY:]
    return {"results": [], "history": session["history"]}
''',
    r'''
from dataclasses import asdict, dataclass

from django.http import JsonResponse


@dataclass
class Prefs:
    theme: str = "light"
    page_size: int = 25

    def to_dict(self) -> dict:
        return asdict(self)


def save_prefs(request):
    prefs = Prefs(theme=request.POST.get("theme", "light"))
    request.session["prefs"] = prefs.to_dict()
    return JsonResponse(prefs.to_dict())
''',
    r'''
from fastapi import FastAPI, Request
from pydantic import BaseModel

app = FastAPI()

PASSWORDS = {"alice": "wonderland", "bob": "builder"}


class LoginForm(BaseModel):
    username: str
    password: str


@app.post("/login")
def login(form: LoginForm, request: Request):
    request.session["pending_user"] = form.username
    if PASSWORDS.get(form.username) != form.password:
        return {"ok": False}
    return {"ok": True}
''',
    r'''
from flask import Flask, request, session

app = Flask(__name__)
app.secret_key = "dev-secret"


def tenant_header(req) -> str:
    return req.headers.get("X-Tenant", "public").lower()


@app.before_request
def bind_tenant():
    session.setdefault("tenant", tenant_header(request))


@app.get("/dashboard")
def dashboard():
    return {"tenant": session["tenant"]}
''',
)

_TRUSTBOUND_SAFE: tuple[str, ...] = (
    r'''
from flask import Flask, jsonify, request, session

app = Flask(__name__)
app.secret_key = "change-me-in-production"


def clean(name: str) -> str:
    return " ".join(name.split())[:64]


@app.post("/profile/name")
def set_name():
    name = clean(request.form.get("display_name", ""))
    if not name:
        return jsonify({"error": "empty"}), 400
    session["display_name_changed"] = True
    return jsonify({"display_name": name})
''',
    r'''
from django.http import JsonResponse
from django.views.decorators.http import require_POST

from .models import CartNote


def _note_from(post) -> str:
    note = post.get("note", "")
    return note.strip()


@require_POST
def cart_note(request):
    note = _note_from(request.POST)
    CartNote.objects.create(owner=request.user, text=note)
    request.session["cart_note_saved"] = "yes"
    return JsonResponse({"saved": True, "length": len(note)})
''',
    r'''
from fastapi import FastAPI, Request
from starlette.middleware.sessions import SessionMiddleware

app = FastAPI()
app.add_middleware(SessionMiddleware, secret_key="s3cr3t-key")


def current_role(request: Request) -> str:
    return request.session.get("role", "anonymous")


@app.get("/switch-role")
def switch_role(request: Request):
    role = request.query_params.get("role", "viewer")
    role = "viewer"
    previous = current_role(request)
    request.session["role"] = role
    return {"role": current_role(request), "previous": previous}
''',
    r'''
from flask import Flask, request, session

app = Flask(__name__)
app.secret_key = "dev-secret"


def preferences(args) -> dict:
    return {"lang": args.get("lang", "en"), "theme": "dark"}


@app.route("/prefs")
def prefs():
    chosen = preferences(request.args)
    session["theme"] = chosen["theme"]
    return {"lang": chosen["lang"], "theme": session["theme"]}
''',
    r'''
import logging

from django.http import HttpResponse

log = logging.getLogger("teams")


def set_team(request):
    param = request.GET.get("team", "")
    values = [3, 9, 4]
    if sum(values) > 15:
        bar = "default-team"
    else:
        bar = param
    request.session["team"] = bar
    log.info("team changed for user %s", request.user.pk)
    return HttpResponse("team updated", content_type="text/plain")
''',
    r'''
import logging

from fastapi import FastAPI, Header, Request

app = FastAPI()
log = logging.getLogger(__name__)


def remember(request: Request, key: str, value: str) -> None:
    request.session[key] = value


@app.get("/landing")
def landing(request: Request, x_partner: str = Header(default="direct")):
    log.info("landing from partner %s", x_partner)
    remember(request, "visited", "yes")
    return {"welcome": True}
''',
    r'''
from collections import defaultdict

from flask import Flask, request, session

app = Flask(__name__)
app.secret_key = "dev-secret"

MAX_HISTORY = 10
SEARCHES: dict[str, list[str]] = defaultdict(list)


@app.get("/search")
def search():
    query = request.args.get("q", "")
    sid = request.cookies.get("sid", "anonymous")
    SEARCHES[sid].append(query)
    del SEARCHES[sid][:-MAX_HISTORY]
    session["searched"] = True
    return {"results": [], "history": SEARCHES[sid]}
''',
    r'''
from dataclasses import asdict, dataclass

from django.http import JsonResponse


@dataclass
class Prefs:
    theme: str = "light"
    page_size: int = 25

    def to_dict(self) -> dict:
        return asdict(self)


def save_prefs(request):
    values = [request.POST.get("theme", "light"), "light"]
    prefs = Prefs(theme=values[1])
    request.session["prefs"] = prefs.to_dict()
    return JsonResponse({"asked": values[0], "stored": prefs.to_dict()})
''',
    r'''
from fastapi import FastAPI, Request
from pydantic import BaseModel

app = FastAPI()

PASSWORDS = {"alice": "wonderland", "bob": "builder"}
USER_IDS = {"alice": "u-1001", "bob": "u-1002"}


class LoginForm(BaseModel):
    username: str
    password: str


@app.post("/login")
def login(form: LoginForm, request: Request):
    if PASSWORDS.get(form.username) != form.password:
        return {"ok": False}
    request.session["user_id"] = USER_IDS.get(form.username, "u-0")
    return {"ok": True}
''',
    r'''
from flask import Flask, request, session

app = Flask(__name__)
app.secret_key = "dev-secret"


def tenant_for(host: str) -> str:
    return "public"


@app.before_request
def bind_tenant():
    session.setdefault("tenant", tenant_for(request.headers.get("X-Tenant", "")))


@app.get("/dashboard")
def dashboard():
    return {"tenant": session["tenant"]}
''',
)

_WEAKRAND_VULN: tuple[str, ...] = (
    r'''
import random
import time

from flask import Flask, request

app = Flask(__name__)

RESET_CODES: dict[str, tuple[str, float]] = {}


def new_code() -> str:
    return str(random.randint(100000, 999999))


@app.post("/password/forgot")
def forgot():
    email = request.form.get("email", "")
    code = new_code()
    RESET_CODES[email] = (code, time.time() + 900)
    return {"sent": True}
''',
    r'''
import random
import string

from django.http import JsonResponse

ALPHABET = string.ascii_letters + string.digits


def session_token(length: int = 32) -> str:
    return "".join(random.choice(ALPHABET) for _ in range(length))


def start_session(request):
    token = session_token()
    request.session["token"] = token
    return JsonResponse({"token": token})
''',
    r'''
import random

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()

KEYS: dict[str, str] = {}


class KeyRequest(BaseModel):
    owner: str
    scope: str = "read"


@app.post("/api-keys")
def create_key(req: KeyRequest):
    key = f"ak_{random.getrandbits(128):032x}"
    KEYS[key] = req.owner
    return {"key": key, "scope": req.scope}
''',
    r'''
import random

from flask import Flask, jsonify

app = Flask(__name__)


class TokenFactory:
    def __init__(self) -> None:
        self.rng = random.Random()

    def token(self, size: int = 20) -> str:
        return "".join("%02x" % self.rng.randrange(256) for _ in range(size))


FACTORY = TokenFactory()


@app.post("/devices/pair")
def pair_device():
    pairing_token = FACTORY.token()
    return jsonify({"pairing_token": pairing_token, "expires_in": 300})
''',
    r'''
import random
import secrets

from django.core.mail import send_mail
from django.http import JsonResponse


def _deliver(email: str, code: str) -> None:
    send_mail("Your code", "Code: " + code, "noreply@example.com", [email])


def otp(request):
    num = 86
    if (7 * 42) - num > 200:
        value = random.randrange(10**6)
    else:
        value = secrets.randbelow(10**6)
    code = "%06d" % value
    request.session["otp"] = code
    _deliver(request.user.email, code)
    return JsonResponse({"sent_to": request.user.email})
''',
    r'''
import random
import string

from fastapi import FastAPI

app = FastAPI()

POOL = string.ascii_letters + string.digits + "!@#$%^&*"


def temporary_password(length: int) -> str:
    chars = random.sample(POOL, length)
    return "".join(chars)


@app.post("/users/{user_id}/reset")
def reset_password(user_id: int):
    password = temporary_password(14)
    return {"user_id": user_id, "temporary_password": password}
''',
    r'''
import random

from flask import Flask, render_template_string, session

app = Flask(__name__)
app.secret_key = "dev-secret"

FORM = "<form method='post'><input type='hidden' name='csrf' value='{{ token }}'></form>"


@app.get("/transfer")
def transfer_form():
    token = str(random.random())[2:]
    session["csrf"] = token
    return render_template_string(FORM, token=token)
''',
    r'''
import random
import string
from datetime import timedelta

from django.http import JsonResponse
from django.utils import timezone

from .models import Invite

INVITE_TTL = timedelta(days=7)


def create_invite(request):
    code = "".join(random.choices(string.ascii_uppercase + string.digits, k=12))
    expires = timezone.now() + INVITE_TTL
    invite = Invite.objects.create(code=code, created_by=request.user, expires_at=expires)
    members = list(request.user.team.members.values_list("name", flat=True))
    return JsonResponse({"invite": invite.code, "members": members})
''',
    r'''
import numpy as np
from fastapi import FastAPI

app = FastAPI()

rng = np.random.default_rng()
CODES: dict[str, int] = {}


def one_time_code() -> int:
    return int(rng.integers(0, 10**6))


@app.post("/mfa/{user}/challenge")
def challenge(user: str):
    CODES[user] = one_time_code()
    return {"challenge_sent": True}
''',
    r'''
import hashlib
import random
import time

from flask import Flask, request

app = Flask(__name__)


def make_salt() -> bytes:
    random.seed(time.time())
    return bytes(random.randrange(256) for _ in range(16))


@app.post("/vault/keys")
def derive_key():
    passphrase = request.form["passphrase"].encode()
    salt = make_salt()
    key = hashlib.pbkdf2_hmac("sha256", passphrase, salt, 200_000)
    return {"salt": salt.hex(), "key_id": key.hex()[:12]}
''',
)

_WEAKRAND_SAFE: tuple[str, ...] = (
    r'''
import secrets
import time

from flask import Flask, request

app = Flask(__name__)

RESET_CODES: dict[str, tuple[str, float]] = {}


def new_code() -> str:
    return str(secrets.randbelow(900000) + 100000)


@app.post("/password/forgot")
def forgot():
    email = request.form.get("email", "")
    code = new_code()
    RESET_CODES[email] = (code, time.time() + 900)
    return {"sent": True}
''',
    r'''
import secrets
import string

from django.http import JsonResponse

ALPHABET = string.ascii_letters + string.digits


def session_token(length: int = 32) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def start_session(request):
    token = session_token()
    request.session["token"] = token
    return JsonResponse({"token": token})
''',
    r'''
import secrets

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()

KEYS: dict[str, str] = {}


class KeyRequest(BaseModel):
    owner: str
    scope: str = "read"


@app.post("/api-keys")
def create_key(req: KeyRequest):
    key = f"ak_{secrets.token_hex(16)}"
    KEYS[key] = req.owner
    return {"key": key, "scope": req.scope}
''',
    r'''
import random

from flask import Flask, jsonify

app = Flask(__name__)


class TokenFactory:
    def __init__(self) -> None:
        self.rng = random.SystemRandom()

    def token(self, size: int = 20) -> str:
        return "".join("%02x" % self.rng.randrange(256) for _ in range(size))


FACTORY = TokenFactory()


@app.post("/devices/pair")
def pair_device():
    pairing_token = FACTORY.token()
    return jsonify({"pairing_token": pairing_token, "expires_in": 300})
''',
    r'''
import random
import secrets

from django.core.mail import send_mail
from django.http import JsonResponse


def _deliver(email: str, code: str) -> None:
    send_mail("Your code", "Code: " + code, "noreply@example.com", [email])


def otp(request):
    num = 86
    if (7 * 42) - num > 200:
        value = secrets.randbelow(10**6)
    else:
        value = random.randrange(10**6)
    code = "%06d" % value
    request.session["otp"] = code
    _deliver(request.user.email, code)
    return JsonResponse({"sent_to": request.user.email})
''',
    r'''
import secrets
import string

from fastapi import FastAPI

app = FastAPI()

POOL = string.ascii_letters + string.digits + "!@#$%^&*"
SYSTEM_RNG = secrets.SystemRandom()


def temporary_password(length: int) -> str:
    chars = SYSTEM_RNG.sample(POOL, length)
    return "".join(chars)


@app.post("/users/{user_id}/reset")
def reset_password(user_id: int):
    password = temporary_password(14)
    return {"user_id": user_id, "temporary_password": password}
''',
    r'''
import secrets

from flask import Flask, render_template_string, session

app = Flask(__name__)
app.secret_key = "dev-secret"

FORM = "<form method='post'><input type='hidden' name='csrf' value='{{ token }}'></form>"


@app.get("/transfer")
def transfer_form():
    token = secrets.token_urlsafe(24)
    session["csrf"] = token
    return render_template_string(FORM, token=token)
''',
    r'''
import random
import secrets
import string
from datetime import timedelta

from django.http import JsonResponse
from django.utils import timezone

from .models import Invite

INVITE_TTL = timedelta(days=7)


def create_invite(request):
    code = "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(12))
    expires = timezone.now() + INVITE_TTL
    invite = Invite.objects.create(code=code, created_by=request.user, expires_at=expires)
    members = list(request.user.team.members.values_list("name", flat=True))
    random.shuffle(members)
    return JsonResponse({"invite": invite.code, "members": members})
''',
    r'''
import os

from fastapi import FastAPI

app = FastAPI()

CODES: dict[str, int] = {}


def one_time_code() -> int:
    return int.from_bytes(os.urandom(4), "big") % 10**6


@app.post("/mfa/{user}/challenge")
def challenge(user: str):
    CODES[user] = one_time_code()
    return {"challenge_sent": True}
''',
    r'''
import hashlib
import os
import random
import time

from flask import Flask, request

app = Flask(__name__)


def with_retries(action, attempts: int = 3):
    for attempt in range(attempts):
        try:
            return action()
        except OSError:
            time.sleep((2**attempt) + random.uniform(0, 0.5))
    return action()


@app.post("/vault/keys")
def derive_key():
    passphrase = request.form["passphrase"].encode()
    salt = with_retries(lambda: os.urandom(16))
    key = hashlib.pbkdf2_hmac("sha256", passphrase, salt, 200_000)
    return {"salt": salt.hex(), "key_id": key.hex()[:12]}
''',
)

_XPATHI_VULN: tuple[str, ...] = (
    r'''
from flask import Flask, jsonify, request
from lxml import etree

app = Flask(__name__)

USERS = etree.parse("/srv/app/data/users.xml")


def roles_of(name: str) -> list[str]:
    expression = f"//user[@name='{name}']/roles/role/text()"
    return [str(role) for role in USERS.xpath(expression)]


@app.route("/users/roles")
def user_roles():
    name = request.args.get("name", "")
    return jsonify({"name": name, "roles": roles_of(name)})
''',
    r'''
import xml.etree.ElementTree as ET

from django.http import JsonResponse

CATALOG = ET.parse("/srv/library/catalog.xml").getroot()


def book_titles(isbn: str) -> list[str]:
    nodes = CATALOG.findall(".//book[@isbn='%s']/title" % isbn)
    return [node.text or "" for node in nodes]


def book(request):
    isbn = request.GET.get("isbn", "").replace("-", "")
    titles = book_titles(isbn)
    return JsonResponse({"isbn": isbn, "titles": titles})
''',
    r'''
from fastapi import FastAPI, HTTPException
from lxml import etree

app = FastAPI()

PRICES = etree.parse("/srv/shop/prices.xml")


@app.get("/prices/{sku}")
def price(sku: str):
    finder = etree.XPath("//product[sku='" + sku + "']/price/text()")
    found = finder(PRICES)
    if not found:
        raise HTTPException(status_code=404, detail="unknown sku")
    return {"sku": sku, "price": float(found[0])}
''',
    r'''
from flask import Flask, request
from lxml import etree

app = Flask(__name__)


class Catalog:
    def __init__(self, path: str) -> None:
        self.tree = etree.parse(path)

    def search(self, term: str) -> list[str]:
        expr = "//item[contains(name, '{}')]/name/text()".format(term)
        return [str(n) for n in self.tree.xpath(expr)]


CATALOG = Catalog("/srv/app/catalog.xml")


@app.get("/catalog/search")
def catalog_search():
    term = request.args.get("term", "")
    return {"results": CATALOG.search(term)}
''',
    r'''
from django.http import HttpResponse
from lxml import etree

DOC = etree.parse("/srv/app/employees.xml")


def employees(request):
    param = request.GET.get("dept", "")
    items = ("a", "b", "c")
    if len(items) == 3:
        bar = param
    else:
        bar = "sales"
    names = DOC.xpath("//employee[@dept='" + bar + "']/@name")
    items = "".join("<li>%s</li>" % name for name in names)
    return HttpResponse("<ul>" + items + "</ul>")
''',
    r'''
from fastapi import FastAPI, Query
from lxml import etree

app = FastAPI()

INVENTORY = etree.parse("/srv/app/inventory.xml")


def build_query(filters: dict[str, str]) -> str:
    predicates = [f"{field}='{value}'" for field, value in filters.items()]
    return "//part[" + " and ".join(predicates) + "]/@id"


@app.get("/parts")
def parts(vendor: str = Query("acme"), colour: str = Query("black")):
    query = build_query({"vendor": vendor, "colour": colour})
    ids = [str(i) for i in INVENTORY.xpath(query)]
    return {"ids": ids}
''',
    r'''
from flask import Flask, request
from lxml import etree

app = Flask(__name__)

ORDERS = etree.parse("/srv/app/orders.xml")


@app.get("/orders")
def orders():
    customer = request.args.get("customer", "")
    status = request.args.get("status", "open")
    expr = f"//order[customer=$customer and status='{status}']/@id"
    ids = ORDERS.xpath(expr, customer=customer)
    return {"orders": [str(i) for i in ids]}
''',
    r'''
import elementpath
from django.http import JsonResponse
from lxml import etree

CONFIG = etree.parse("/srv/app/services.xml")


def endpoints_for(service: str) -> list[str]:
    path = f"//service[@name = '{service}']/endpoint/string(@url)"
    return [str(u) for u in elementpath.select(CONFIG, path)]


def service_endpoints(request):
    service = request.GET.get("service", "api")
    return JsonResponse({"service": service, "endpoints": endpoints_for(service)})
''',
    r'''
from fastapi import FastAPI
from lxml import etree

app = FastAPI()

ROSTER = etree.parse("/srv/app/roster.xml")
TEMPLATE = "//shift[@team='%(team)s' and @day='%(day)s']/person/text()"


def names(nodes) -> list[str]:
    return sorted({str(node).strip() for node in nodes})


@app.get("/roster/{team}")
def roster(team: str, day: str = "mon"):
    params = {"team": team, "day": day}
    people = ROSTER.xpath(TEMPLATE % params)
    return {"team": team, "day": day, "people": names(people)}
''',
    r'''
from flask import Flask, request, session
from lxml import etree

app = Flask(__name__)
app.secret_key = "dev-secret"

ACCOUNTS = etree.parse("/srv/app/accounts.xml")


def valid_login(user: str, password: str) -> bool:
    query = f"//account[name/text()='{user}' and password/text()='{password}']"
    return bool(ACCOUNTS.xpath(query))


@app.post("/login")
def login():
    if not valid_login(request.form.get("user", ""), request.form.get("password", "")):
        return {"ok": False}, 401
    session["logged_in"] = True
    return {"ok": True}
''',
)

_XPATHI_SAFE: tuple[str, ...] = (
    r'''
from flask import Flask, jsonify, request
from lxml import etree

app = Flask(__name__)

USERS = etree.parse("/srv/app/data/users.xml")


def roles_of(name: str) -> list[str]:
    expression = "//user[@name=$name]/roles/role/text()"
    return [str(role) for role in USERS.xpath(expression, name=name)]


@app.route("/users/roles")
def user_roles():
    name = request.args.get("name", "")
    return jsonify({"name": name, "roles": roles_of(name)})
''',
    r'''
import xml.etree.ElementTree as ET

from django.http import JsonResponse

CATALOG = ET.parse("/srv/library/catalog.xml").getroot()


def book_titles(isbn: str) -> list[str]:
    nodes = [book.find("title") for book in CATALOG.iter("book") if book.get("isbn") == isbn]
    return [node.text or "" for node in nodes if node is not None]


def book(request):
    isbn = request.GET.get("isbn", "").replace("-", "")
    titles = book_titles(isbn)
    return JsonResponse({"isbn": isbn, "titles": titles})
''',
    r'''
from fastapi import FastAPI, HTTPException
from lxml import etree

app = FastAPI()

PRICES = etree.parse("/srv/shop/prices.xml")
FINDER = etree.XPath("//product[sku=$sku]/price/text()")


@app.get("/prices/{sku}")
def price(sku: str):
    found = FINDER(PRICES, sku=sku)
    if not found:
        raise HTTPException(status_code=404, detail="unknown sku")
    return {"sku": sku, "price": float(found[0])}
''',
    r'''
from flask import Flask, request
from lxml import etree

app = Flask(__name__)


class Catalog:
    def __init__(self, path: str) -> None:
        self.tree = etree.parse(path)

    def by_id(self, item_id: int) -> list[str]:
        expr = "//item[@id='{}']/name/text()".format(item_id)
        return [str(n) for n in self.tree.xpath(expr)]


CATALOG = Catalog("/srv/app/catalog.xml")


@app.get("/catalog/item")
def catalog_item():
    item_id = int(request.args.get("id", "0"))
    return {"results": CATALOG.by_id(item_id)}
''',
    r'''
from django.http import HttpResponse
from lxml import etree

DOC = etree.parse("/srv/app/employees.xml")


def employees(request):
    param = request.GET.get("dept", "")
    items = ("a", "b", "c")
    if len(items) == 3:
        bar = "sales"
    else:
        bar = param
    names = DOC.xpath("//employee[@dept='" + bar + "']/@name")
    items = "".join("<li>%s</li>" % name for name in names)
    return HttpResponse("<ul>" + items + "</ul>")
''',
    r'''
from fastapi import FastAPI, Query
from lxml import etree

app = FastAPI()

INVENTORY = etree.parse("/srv/app/inventory.xml")
FIELDS = ("vendor", "colour")


def build_query(filters: dict[str, str]) -> str:
    predicates = [f"{field}=${field}" for field in FIELDS if field in filters]
    return "//part[" + " and ".join(predicates) + "]/@id"


@app.get("/parts")
def parts(vendor: str = Query("acme"), colour: str = Query("black")):
    filters = {"vendor": vendor, "colour": colour}
    ids = [str(i) for i in INVENTORY.xpath(build_query(filters), **filters)]
    return {"ids": ids}
''',
    r'''
from flask import Flask, request
from lxml import etree

app = Flask(__name__)

ORDERS = etree.parse("/srv/app/orders.xml")


@app.get("/orders")
def orders():
    customer = request.args.get("customer", "")
    status = request.args.get("status", "open")
    expr = "//order[customer=$customer and status=$status]/@id"
    ids = ORDERS.xpath(expr, customer=customer, status=status)
    return {"orders": [str(i) for i in ids]}
''',
    r'''
import re

import elementpath
from django.http import JsonResponse
from lxml import etree

CONFIG = etree.parse("/srv/app/services.xml")
SERVICE_NAME = re.compile(r"[a-z][a-z0-9-]{0,30}")


def endpoints_for(service: str) -> list[str]:
    path = f"//service[@name = '{service}']/endpoint/string(@url)"
    return [str(u) for u in elementpath.select(CONFIG, path)]


def service_endpoints(request):
    service = request.GET.get("service", "api")
    if not SERVICE_NAME.fullmatch(service):
        return JsonResponse({"error": "bad service name"}, status=400)
    return JsonResponse({"service": service, "endpoints": endpoints_for(service)})
''',
    r'''
from fastapi import FastAPI
from lxml import etree

app = FastAPI()

ROSTER = etree.parse("/srv/app/roster.xml")
TEMPLATE = "//shift[@day='%(day)s']/person/text()"


def names(nodes) -> list[str]:
    return sorted({str(node).strip() for node in nodes})


@app.get("/roster/{team}")
def roster(team: str, day: str = "mon"):
    params = {"team": team, "day": "mon"}
    people = ROSTER.xpath(TEMPLATE % params)
    return {"team": params["team"], "day": day, "people": names(people)}
''',
    r'''
from flask import Flask, request, session
from lxml import etree

app = Flask(__name__)
app.secret_key = "dev-secret"

ACCOUNTS = etree.parse("/srv/app/accounts.xml")


def valid_login(user: str, password: str) -> bool:
    query = "//account[name/text()=$user and password/text()=$password]"
    return bool(ACCOUNTS.xpath(query, user=user, password=password))


@app.post("/login")
def login():
    if not valid_login(request.form.get("user", ""), request.form.get("password", "")):
        return {"ok": False}, 401
    session["logged_in"] = True
    return {"ok": True}
''',
)

_XSS_VULN: tuple[str, ...] = (
    r'''
from flask import Flask, request

app = Flask(__name__)

GREETINGS = {"en": "Hello", "fr": "Bonjour", "de": "Hallo"}


def greeting(lang: str) -> str:
    return GREETINGS.get(lang, GREETINGS["en"])


@app.route("/hello")
def hello():
    name = request.args.get("name", "stranger")
    lang = request.args.get("lang", "en")
    return f"<html><body><h1>{greeting(lang)}, {name}!</h1></body></html>"
''',
    r'''
from django.http import HttpResponse

from .search import run_search

MAX_HITS = 50


def _row(hit) -> str:
    return "<li><a href='/items/%d'>item %d</a></li>" % (hit.id, hit.id)


def search(request):
    q = request.GET.get("q", "")
    hits = run_search(q)
    header = "<h2>Results for %s</h2>" % q
    rows = "".join(_row(hit) for hit in hits[:MAX_HITS])
    return HttpResponse(header + "<ul>" + rows + "</ul>")
''',
    r'''
from fastapi import FastAPI, Query
from fastapi.responses import HTMLResponse

app = FastAPI()

FOOTER = "<p>Have a nice day.</p>"


def banner(message: str) -> str:
    return "<div class='banner'>" + message + "</div>"


def page(content: str) -> str:
    return "<html><body>" + content + FOOTER + "</body></html>"


@app.get("/notice", response_class=HTMLResponse)
def notice(msg: str = Query("Welcome")):
    return HTMLResponse(content=page(banner(msg)))
''',
    r'''
from flask import Flask, render_template_string, request
from markupsafe import Markup

app = Flask(__name__)

PAGE = "<article>{{ body }}</article><footer>{{ count }} comments</footer>"
COMMENTS: list[str] = []
MAX_COMMENT = 2000


@app.post("/comments")
def add_comment():
    comment = request.form.get("comment", "")[:MAX_COMMENT]
    if not comment.strip():
        return "empty comment", 400
    COMMENTS.append(comment)
    body = Markup(f"<blockquote>{comment}</blockquote>")
    return render_template_string(PAGE, body=body, count=len(COMMENTS))
''',
    r'''
from django.http import HttpResponse


def _page(name: str) -> str:
    parts = ["<html><body>", "<p>Welcome back, {}</p>".format(name), "</body></html>"]
    return "".join(parts)


def welcome(request):
    param = request.GET.get("user", "")
    num = 196
    if num * 2 - 300 > 80:
        bar = param
    else:
        bar = "guest"
    return HttpResponse(_page(bar))
''',
    r'''
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

app = FastAPI()


class Page:
    def __init__(self, title: str) -> None:
        self.parts = [f"<h1>{title}</h1>"]

    def add(self, text: str) -> "Page":
        self.parts.append(f"<p>{text}</p>")
        return self

    def render(self) -> str:
        return "<html><body>" + "".join(self.parts) + "</body></html>"


@app.get("/preview", response_class=HTMLResponse)
def preview(title: str = "Draft", text: str = ""):
    return Page("Preview").add(title).add(text).render()
''',
    r'''
from flask import Flask, make_response, request

app = Flask(__name__)

TEMPLATE = "<table><tr><td>Item</td><td>{item}</td></tr><tr><td>Qty</td><td>{qty}</td></tr></table>"


@app.route("/basket/add")
def basket_add():
    item = request.args.get("item", "")
    qty = request.args.get("qty", "1")
    body = TEMPLATE.format(item=item, qty=qty)
    resp = make_response(body)
    resp.headers["Content-Type"] = "text/html; charset=utf-8"
    return resp
''',
    r'''
from django.shortcuts import render
from django.utils.safestring import mark_safe


def _bio(request) -> str:
    if request.method != "POST":
        return ""
    return request.POST.get("bio", "").strip()[:500]


def profile(request):
    bio = _bio(request)
    context = {
        "bio_html": mark_safe("<div class='bio'>" + bio + "</div>"),
        "user": request.user,
    }
    return render(request, "profile.html", context)
''',
    r'''
import html

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

app = FastAPI()


class Post(BaseModel):
    title: str
    body: str


@app.post("/posts/render", response_class=HTMLResponse)
def render_post(post: Post):
    title = html.escape(post.title)
    body = post.body.replace("\n", "<br>")
    return f"<article><h2>{title}</h2><section>{body}</section></article>"
''',
    r'''
from flask import Flask, Response, abort, request

app = Flask(__name__)

PAGES = {"about": "<p>About us</p>", "contact": "<p>Write to us</p>"}


def lookup(name: str) -> str | None:
    key = name.strip().lower()
    return PAGES.get(key)


@app.route("/page")
def page():
    name = request.args.get("p", "about")
    content = lookup(name)
    if content is None:
        abort(Response("<h1>Unknown page: %s</h1>" % name, status=404))
    return content
''',
)

_XSS_SAFE: tuple[str, ...] = (
    r'''
import html

from flask import Flask, request

app = Flask(__name__)

GREETINGS = {"en": "Hello", "fr": "Bonjour", "de": "Hallo"}


def greeting(lang: str) -> str:
    return GREETINGS.get(lang, GREETINGS["en"])


@app.route("/hello")
def hello():
    name = html.escape(request.args.get("name", "stranger"))
    lang = request.args.get("lang", "en")
    return f"<html><body><h1>{greeting(lang)}, {name}!</h1></body></html>"
''',
    r'''
from django.http import HttpResponse
from django.utils.html import escape

from .search import run_search

MAX_HITS = 50


def _row(hit) -> str:
    return "<li><a href='/items/%d'>item %d</a></li>" % (hit.id, hit.id)


def search(request):
    q = request.GET.get("q", "")
    hits = run_search(q)
    header = "<h2>Results for %s</h2>" % escape(q)
    rows = "".join(_row(hit) for hit in hits[:MAX_HITS])
    return HttpResponse(header + "<ul>" + rows + "</ul>")
''',
    r'''
import html

from fastapi import FastAPI, Query
from fastapi.responses import HTMLResponse

app = FastAPI()

FOOTER = "<p>Have a nice day.</p>"


def banner(message: str) -> str:
    return "<div class='banner'>" + html.escape(message, quote=True) + "</div>"


def page(content: str) -> str:
    return "<html><body>" + content + FOOTER + "</body></html>"


@app.get("/notice", response_class=HTMLResponse)
def notice(msg: str = Query("Welcome")):
    return HTMLResponse(content=page(banner(msg)))
''',
    r'''
from flask import Flask, render_template_string, request

app = Flask(__name__)

PAGE = "<article><blockquote>{{ comment }}</blockquote></article><footer>{{ count }} comments</footer>"
COMMENTS: list[str] = []
MAX_COMMENT = 2000


@app.post("/comments")
def add_comment():
    comment = request.form.get("comment", "")[:MAX_COMMENT]
    if not comment.strip():
        return "empty comment", 400
    COMMENTS.append(comment)
    return render_template_string(PAGE, comment=comment, count=len(COMMENTS))
''',
    r'''
from django.http import HttpResponse


def _page(name: str) -> str:
    parts = ["<html><body>", "<p>Welcome back, {}</p>".format(name), "</body></html>"]
    return "".join(parts)


def welcome(request):
    param = request.GET.get("user", "")
    num = 196
    if num * 2 - 300 > 80:
        bar = "guest"
    else:
        bar = param
    return HttpResponse(_page(bar))
''',
    r'''
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from markupsafe import escape

app = FastAPI()


class Page:
    def __init__(self, title: str) -> None:
        self.parts = [f"<h1>{escape(title)}</h1>"]

    def add(self, text: str) -> "Page":
        self.parts.append(f"<p>{escape(text)}</p>")
        return self

    def render(self) -> str:
        return "<html><body>" + "".join(self.parts) + "</body></html>"


@app.get("/preview", response_class=HTMLResponse)
def preview(title: str = "Draft", text: str = ""):
    return Page("Preview").add(title).add(text).render()
''',
    r'''
from flask import Flask, make_response, request

app = Flask(__name__)

TEMPLATE = "<table><tr><td>Item</td><td>{item}</td></tr><tr><td>Qty</td><td>{qty}</td></tr></table>"
ITEMS = {1: "Notebook", 2: "Pencil", 3: "Eraser"}


@app.route("/basket/add")
def basket_add():
    item_id = int(request.args.get("item", "1"))
    qty = int(request.args.get("qty", "1"))
    body = TEMPLATE.format(item=ITEMS.get(item_id, "Unknown"), qty=qty)
    resp = make_response(body)
    resp.headers["Content-Type"] = "text/html; charset=utf-8"
    return resp
''',
    r'''
from django.shortcuts import render
from django.utils.html import format_html


def _bio(request) -> str:
    if request.method != "POST":
        return ""
    return request.POST.get("bio", "").strip()[:500]


def profile(request):
    bio = _bio(request)
    context = {
        "bio_html": format_html("<div class='bio'>{}</div>", bio),
        "user": request.user,
    }
    return render(request, "profile.html", context)
''',
    r'''
import html

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

app = FastAPI()


class Post(BaseModel):
    title: str
    body: str


@app.post("/posts/render", response_class=HTMLResponse)
def render_post(post: Post):
    title = html.escape(post.title)
    body = html.escape(post.body).replace("\n", "<br>")
    return f"<article><h2>{title}</h2><section>{body}</section></article>"
''',
    r'''
from flask import Flask, Response, abort, request

app = Flask(__name__)

PAGES = {"about": "<p>About us</p>", "contact": "<p>Write to us</p>"}


def lookup(name: str) -> str | None:
    key = name.strip().lower()
    return PAGES.get(key)


@app.route("/page")
def page():
    name = request.args.get("p", "about")
    content = lookup(name)
    if content is None:
        notes = {"asked": name, "shown": "<h1>Unknown page</h1>"}
        abort(Response(notes["shown"], status=404))
    return content
''',
)

_XXE_VULN: tuple[str, ...] = (
    r'''
from flask import Flask, jsonify, request
from lxml import etree

app = Flask(__name__)


def parse_order(data: bytes) -> dict:
    parser = etree.XMLParser(resolve_entities=True)
    root = etree.fromstring(data, parser)
    return {"id": root.findtext("id"), "items": [i.text for i in root.iter("item")]}


@app.post("/orders/xml")
def import_order():
    order = parse_order(request.get_data())
    return jsonify(order), 201
''',
    r'''
import io
import xml.sax
from xml.sax.handler import ContentHandler, feature_external_ges

from django.http import JsonResponse


class TitleCollector(ContentHandler):
    def __init__(self) -> None:
        super().__init__()
        self.titles: list[str] = []
        self._in_title = False

    def startElement(self, name, attrs):
        self._in_title = name == "title"

    def characters(self, content):
        if self._in_title:
            self.titles.append(content)


def import_feed(request):
    parser = xml.sax.make_parser()
    parser.setFeature(feature_external_ges, True)
    handler = TitleCollector()
    parser.setContentHandler(handler)
    parser.parse(io.BytesIO(request.body))
    return JsonResponse({"titles": handler.titles})
''',
    r'''
from fastapi import FastAPI, File, HTTPException, UploadFile
from lxml import etree

app = FastAPI()

MAX_BYTES = 5 * 1024 * 1024


@app.post("/sitemaps")
async def upload_sitemap(sitemap: UploadFile = File(...)):
    data = await sitemap.read()
    if len(data) > MAX_BYTES:
        raise HTTPException(status_code=413, detail="sitemap too large")
    parser = etree.XMLParser(load_dtd=True, resolve_entities=True, no_network=False)
    tree = etree.fromstring(data, parser=parser)
    urls = [loc.text for loc in tree.iter("{*}loc")]
    return {"count": len(urls), "first": urls[:5]}
''',
    r'''
from flask import Flask, request
from lxml import etree

app = Flask(__name__)


class InvoiceImporter:
    def __init__(self) -> None:
        self.parser = etree.XMLParser(resolve_entities=True, huge_tree=False)

    def totals(self, payload: bytes) -> list[float]:
        root = etree.fromstring(payload, self.parser)
        return [float(t.text or 0) for t in root.iter("total")]


@app.post("/invoices/import")
def import_invoices():
    totals = InvoiceImporter().totals(request.data)
    return {"invoices": len(totals), "sum": sum(totals)}
''',
    r'''
from django.http import JsonResponse
from lxml import etree


def _as_dict(root) -> dict[str, str]:
    return {child.tag: (child.text or "").strip() for child in root if isinstance(child.tag, str)}


def settings_upload(request):
    num = 86
    if (7 * 42) - num > 200:
        parser = etree.XMLParser(resolve_entities=True)
    else:
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.fromstring(request.body, parser)
    return JsonResponse(_as_dict(root))
''',
    r'''
import xml.sax
from xml.dom import pulldom
from xml.sax.handler import feature_external_ges

from fastapi import FastAPI, Request

app = FastAPI()


def entity_parser():
    parser = xml.sax.make_parser()
    parser.setFeature(feature_external_ges, True)
    return parser


@app.post("/events/batch")
async def events(request: Request):
    text = (await request.body()).decode("utf-8")
    names = []
    stream = pulldom.parseString(text, parser=entity_parser())
    for event, node in stream:
        if event == pulldom.START_ELEMENT and node.tagName == "event":
            names.append(node.getAttribute("name"))
    return {"events": names}
''',
    r'''
import io

from flask import Flask, request
from lxml import etree

app = Flask(__name__)

PARSER_OPTIONS = {"remove_blank_text": True, "resolve_entities": True, "dtd_validation": False}


def load(data: bytes):
    parser = etree.XMLParser(**PARSER_OPTIONS)
    return etree.parse(io.BytesIO(data), parser)


@app.post("/config/validate")
def validate_config():
    tree = load(request.get_data())
    keys = [el.get("key") for el in tree.getroot().iter("entry")]
    return {"keys": keys}
''',
    r'''
import io
import xml.sax
from xml.dom import minidom
from xml.sax.handler import feature_external_ges

from django.http import HttpResponse

MAX_BODY = 1024 * 1024


def _names(document) -> list[str]:
    nodes = document.getElementsByTagName("name")
    return [n.firstChild.data for n in nodes if n.firstChild]


def contacts(request):
    if len(request.body) > MAX_BODY:
        return HttpResponse("too large", status=413)
    parser = xml.sax.make_parser()
    parser.setFeature(feature_external_ges, True)
    document = minidom.parse(io.BytesIO(request.body), parser)
    return HttpResponse("\n".join(_names(document)), content_type="text/plain")
''',
    r'''
from fastapi import FastAPI, Request
from lxml import objectify

app = FastAPI()


def catalogue(data: bytes):
    parser = objectify.makeparser(resolve_entities=True, remove_comments=True)
    return objectify.fromstring(data, parser)


@app.post("/catalogue")
async def upload_catalogue(request: Request):
    root = catalogue(await request.body())
    products = [str(p.name) for p in root.product]
    return {"products": products}
''',
    r'''
from flask import Flask, request
from lxml import etree

app = Flask(__name__)

FEED_PARSER = etree.XMLParser(resolve_entities=True, strip_cdata=False)


def parse_feed(raw: str) -> list[str]:
    root = etree.fromstring(raw.encode("utf-8"), FEED_PARSER)
    return [item.findtext("title") or "" for item in root.iter("item")]


@app.post("/feeds/preview")
def preview_feed():
    raw = request.form.get("feed", "<rss/>")
    titles = parse_feed(raw)
    return {"titles": titles[:10]}
''',
)

_XXE_SAFE: tuple[str, ...] = (
    r'''
from flask import Flask, jsonify, request
from lxml import etree

app = Flask(__name__)


def parse_order(data: bytes) -> dict:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.fromstring(data, parser)
    return {"id": root.findtext("id"), "items": [i.text for i in root.iter("item")]}


@app.post("/orders/xml")
def import_order():
    order = parse_order(request.get_data())
    return jsonify(order), 201
''',
    r'''
import io
import xml.sax
from xml.sax.handler import ContentHandler, feature_external_ges

from django.http import JsonResponse


class TitleCollector(ContentHandler):
    def __init__(self) -> None:
        super().__init__()
        self.titles: list[str] = []
        self._in_title = False

    def startElement(self, name, attrs):
        self._in_title = name == "title"

    def characters(self, content):
        if self._in_title:
            self.titles.append(content)


def import_feed(request):
    parser = xml.sax.make_parser()
    parser.setFeature(feature_external_ges, False)
    handler = TitleCollector()
    parser.setContentHandler(handler)
    parser.parse(io.BytesIO(request.body))
    return JsonResponse({"titles": handler.titles})
''',
    r'''
import defusedxml.ElementTree as SafeET
from fastapi import FastAPI, File, HTTPException, UploadFile

app = FastAPI()

MAX_BYTES = 5 * 1024 * 1024


@app.post("/sitemaps")
async def upload_sitemap(sitemap: UploadFile = File(...)):
    data = await sitemap.read()
    if len(data) > MAX_BYTES:
        raise HTTPException(status_code=413, detail="sitemap too large")
    tree = SafeET.fromstring(data)
    urls = [loc.text for loc in tree.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    return {"count": len(urls), "first": urls[:5]}
''',
    r'''
from flask import Flask, request
from lxml import etree

app = Flask(__name__)


class InvoiceImporter:
    def __init__(self) -> None:
        self.parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)

    def totals(self, payload: bytes) -> list[float]:
        root = etree.fromstring(payload, self.parser)
        return [float(t.text or 0) for t in root.iter("total")]


@app.post("/invoices/import")
def import_invoices():
    totals = InvoiceImporter().totals(request.data)
    return {"invoices": len(totals), "sum": sum(totals)}
''',
    r'''
from django.http import JsonResponse
from lxml import etree


def _as_dict(root) -> dict[str, str]:
    return {child.tag: (child.text or "").strip() for child in root if isinstance(child.tag, str)}


def settings_upload(request):
    num = 86
    if (7 * 42) - num > 200:
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
    else:
        parser = etree.XMLParser(resolve_entities=True)
    root = etree.fromstring(request.body, parser)
    return JsonResponse(_as_dict(root))
''',
    r'''
from xml.dom import pulldom

from fastapi import FastAPI, Request

app = FastAPI()


def event_names(text: str) -> list[str]:
    names = []
    for event, node in pulldom.parseString(text):
        if event == pulldom.START_ELEMENT and node.tagName == "event":
            names.append(node.getAttribute("name"))
    return names


@app.post("/events/batch")
async def events(request: Request):
    text = (await request.body()).decode("utf-8")
    names = event_names(text)
    return {"events": names, "count": len(names)}
''',
    r'''
import io

from flask import Flask, request
from lxml import etree

app = Flask(__name__)

PARSER_OPTIONS = {"remove_blank_text": True, "resolve_entities": False, "no_network": True}


def load(data: bytes):
    parser = etree.XMLParser(**PARSER_OPTIONS)
    return etree.parse(io.BytesIO(data), parser)


@app.post("/config/validate")
def validate_config():
    tree = load(request.get_data())
    keys = [el.get("key") for el in tree.getroot().iter("entry")]
    return {"keys": keys}
''',
    r'''
from defusedxml import minidom
from django.http import HttpResponse

MAX_BODY = 1024 * 1024


def _names(document) -> list[str]:
    nodes = document.getElementsByTagName("name")
    return [n.firstChild.data for n in nodes if n.firstChild]


def contacts(request):
    if len(request.body) > MAX_BODY:
        return HttpResponse("too large", status=413)
    document = minidom.parseString(request.body)
    return HttpResponse("\n".join(_names(document)), content_type="text/plain")
''',
    r'''
from fastapi import FastAPI, Request
from lxml import objectify

app = FastAPI()


def catalogue(data: bytes):
    parser = objectify.makeparser(resolve_entities=False, no_network=True, remove_comments=True)
    return objectify.fromstring(data, parser)


@app.post("/catalogue")
async def upload_catalogue(request: Request):
    root = catalogue(await request.body())
    products = [str(p.name) for p in root.product]
    return {"products": products}
''',
    r'''
import defusedxml.lxml
from flask import Flask, request
from lxml import etree

app = Flask(__name__)

TEMPLATE_PARSER = etree.XMLParser(resolve_entities=True, strip_cdata=False)
SKELETON_XML = b"<!DOCTYPE rss [<!ENTITY site 'Example'>]><rss><title>&site;</title></rss>"
SKELETON = etree.fromstring(SKELETON_XML, TEMPLATE_PARSER)


def parse_feed(raw: str) -> list[str]:
    root = defusedxml.lxml.fromstring(raw.encode("utf-8"))
    return [item.findtext("title") or "" for item in root.iter("item")]


@app.post("/feeds/preview")
def preview_feed():
    raw = request.form.get("feed", "<rss/>")
    titles = parse_feed(raw)
    return {"site": SKELETON.findtext("title"), "titles": titles[:10]}
''',
)

_SOURCES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "cmdi": (_CMDI_VULN, _CMDI_SAFE),
    "codeinj": (_CODEINJ_VULN, _CODEINJ_SAFE),
    "deserialization": (_DESERIALIZATION_VULN, _DESERIALIZATION_SAFE),
    "hash": (_HASH_VULN, _HASH_SAFE),
    "ldapi": (_LDAPI_VULN, _LDAPI_SAFE),
    "pathtraver": (_PATHTRAVER_VULN, _PATHTRAVER_SAFE),
    "redirect": (_REDIRECT_VULN, _REDIRECT_SAFE),
    "securecookie": (_SECURECOOKIE_VULN, _SECURECOOKIE_SAFE),
    "sqli": (_SQLI_VULN, _SQLI_SAFE),
    "trustbound": (_TRUSTBOUND_VULN, _TRUSTBOUND_SAFE),
    "weakrand": (_WEAKRAND_VULN, _WEAKRAND_SAFE),
    "xpathi": (_XPATHI_VULN, _XPATHI_SAFE),
    "xss": (_XSS_VULN, _XSS_SAFE),
    "xxe": (_XXE_VULN, _XXE_SAFE),
}


def _cases(category: str, sources: tuple[str, ...], vulnerable: bool) -> list[CodeCase]:
    label = "vuln" if vulnerable else "safe"
    return [
        CodeCase(f"{category}-{label}-{n:02d}", category, vulnerable, source.lstrip("\n"))
        for n, source in enumerate(sources, start=1)
    ]


#: every held-out program: per category its vulnerable programs, then their safe twins
PROGRAMS: tuple[CodeCase, ...] = tuple(
    case
    for category, (vulnerable, safe) in _SOURCES.items()
    for case in _cases(category, vulnerable, True) + _cases(category, safe, False)
)
