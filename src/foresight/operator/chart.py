"""Renders Foresight's Helm chart without Helm: the small subset of Go templates the chart uses.

``helm`` is not available where Foresight is built, yet the chart must stay a real Helm chart (a
platform team installs it with ``helm install``). So its templates keep to a subset this module
implements exactly as Helm does:

* actions ``{{ PIPELINE }}`` with the whitespace trim markers ``{{-`` and ``-}}``;
* ``{{ if PIPELINE }} ... {{ else if PIPELINE }} ... {{ else }} ... {{ end }}`` (Go's truth: false,
  0, "", nil and empty collections are false);
* values ``.Values.a.b``, ``.Release.Name``, ``.Release.Namespace``, ``.Release.Service``, ``.Chart.Name``,
  ``.Chart.Version``, ``.Chart.AppVersion``; string, integer and boolean literals;
* functions ``and``, ``or``, ``not``, ``eq``, ``ne``, ``default``, ``quote``, ``toYaml``,
  ``indent``, ``nindent``, ``trunc``, ``printf`` (``%s``/``%d`` only); pipelines with ``|``.

Anything else (``range``, ``with``, ``define``/``include``, ``tpl``, ``lookup``, sub-charts,
hooks, ``.Capabilities``) is refused with the template's name and line, so the chart cannot drift
into what only Helm would render. ``crds/`` is copied unrendered, as Helm does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from foresight.errors import InputError

__all__ = ["Chart", "load_chart", "merge_values", "render_chart", "render_template"]

_ACTION = re.compile(r"\{\{(-?)\s*(.*?)\s*(-?)\}\}", re.DOTALL)
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[()|]|[^\s()|]+')
_NOTHING = object()  # "no value piped in" (None is a value: a missing key)
_FUNCTIONS = {"and", "or", "not", "eq", "ne", "default", "quote", "toYaml", "indent", "nindent", "trunc", "printf"}


@dataclass(frozen=True)
class Chart:
    """A chart folder read into memory: Chart.yaml, values.yaml, templates and CRDs (by file name)."""

    meta: dict[str, Any]
    values: dict[str, Any]
    templates: dict[str, str]
    crds: dict[str, str] = field(default_factory=dict)


def load_chart(folder: Path) -> Chart:
    """Read a chart folder; :class:`InputError` when a required file is missing or not YAML."""
    try:
        meta = yaml.safe_load((folder / "Chart.yaml").read_text(encoding="utf-8"))
        values = yaml.safe_load((folder / "values.yaml").read_text(encoding="utf-8")) or {}
        templates = {p.name: p.read_text(encoding="utf-8") for p in sorted((folder / "templates").glob("*.yaml"))}
        crds = {p.name: p.read_text(encoding="utf-8") for p in sorted((folder / "crds").glob("*.yaml"))}
    except OSError as exc:
        raise InputError(f"{folder}: not a readable Helm chart ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{folder}: Chart.yaml or values.yaml is not valid YAML ({exc})") from None
    return Chart(meta, values, templates, crds)


def merge_values(base: Any, override: Any) -> Any:
    """Helm's values merge: maps merge recursively, anything else replaces; ``null`` deletes a key."""
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        out = dict(base)
        for key, value in override.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = merge_values(base.get(key), value)
        return out
    return override


def _truthy(value: Any) -> bool:
    return bool(value) if value is not None else False


def _to_yaml(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, Mapping) and not value or isinstance(value, list) and not value:
        return "{}" if isinstance(value, Mapping) else "[]"
    return yaml.safe_dump(value, sort_keys=True, default_flow_style=False, width=1000).rstrip("\n")


def _go_str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class _Eval:
    """Evaluates one pipeline against the template context."""

    def __init__(self, context: Mapping[str, Any], where: str) -> None:
        self.context, self.where = context, where

    def fail(self, message: str) -> InputError:
        return InputError(f"{self.where}: {message}")

    def term(self, token: str) -> Any:
        if token.startswith("."):
            node: Any = self.context
            for part in token[1:].split("."):
                node = node.get(part) if isinstance(node, Mapping) else None
            return node
        if token in ("true", "false"):
            return token == "true"
        if re.fullmatch(r"-?[0-9]+", token):
            return int(token)
        if token.startswith('"'):
            return token
        raise self.fail(f"unsupported term {token!r} (this chart's template subset: see foresight.operator.chart)")

    def literal(self, token: str) -> Any:
        value = self.term(token)
        return value[1:-1] if isinstance(value, str) and token.startswith('"') else value

    def call(self, name: str, args: list[Any]) -> Any:
        if name == "and":
            return all(_truthy(a) for a in args) and (args[-1] if args else True)
        if name == "or":
            return next((a for a in args if _truthy(a)), args[-1] if args else None)
        if name == "not":
            return not _truthy(args[0])
        if name == "eq":
            return all(a == args[0] for a in args[1:])
        if name == "ne":
            return args[0] != args[1]
        if name == "default":
            return args[1] if _truthy(args[1]) else args[0]
        if name == "quote":
            return '"' + _go_str(args[0]).replace("\\", "\\\\").replace('"', '\\"') + '"'
        if name == "toYaml":
            return _to_yaml(args[0])
        if name in ("indent", "nindent"):
            pad = " " * int(args[0])
            text = "\n".join(pad + line if line else line for line in _go_str(args[1]).split("\n"))
            return "\n" + text if name == "nindent" else text
        if name == "trunc":
            return _go_str(args[1])[: int(args[0])]
        if name == "printf":
            return re.sub(r"%[sd]", "{}", str(args[0])).format(*(_go_str(a) for a in args[1:]))
        raise self.fail(f"unsupported function {name!r}")

    def pipeline(self, text: str) -> Any:
        tokens = _TOKEN.findall(text)
        if not tokens:
            raise self.fail("empty action")
        value, rest = self._pipeline(tokens)
        if rest:
            raise self.fail(f"unexpected {' '.join(rest)!r} in {text!r}")
        return value

    def _pipeline(self, tokens: list[str]) -> tuple[Any, list[str]]:
        """pipeline := command ('|' command)*, stopping at an unmatched ')'."""
        value, tokens = self._command(tokens, _NOTHING)
        while tokens and tokens[0] == "|":
            value, tokens = self._command(tokens[1:], value)
        return value, tokens

    def _command(self, tokens: list[str], piped: Any) -> tuple[Any, list[str]]:
        """command := operand+ (a function name with arguments, or one operand); ``piped`` is appended."""
        operands: list[Any] = []
        head: str | None = None
        while tokens and tokens[0] not in ("|", ")"):
            token, tokens = tokens[0], tokens[1:]
            if token == "(":
                value, tokens = self._pipeline(tokens)
                if not tokens or tokens[0] != ")":
                    raise self.fail("unbalanced parentheses")
                tokens = tokens[1:]
                operands.append(value)
            elif head is None and not operands and re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", token) and token not in ("true", "false"):
                head = token
            else:
                operands.append(self.literal(token))
        if head is not None:
            if head not in _FUNCTIONS:
                raise self.fail(f"unsupported function {head!r}")
            return self.call(head, operands + ([] if piped is _NOTHING else [piped])), tokens
        if piped is not _NOTHING or len(operands) != 1:
            raise self.fail("only functions take arguments or piped values")
        return operands[0], tokens


def render_template(text: str, context: Mapping[str, Any], name: str = "<template>") -> str:
    """One template rendered with ``context`` (``{"Values": ..., "Release": ..., "Chart": ...}``).

    >>> ctx = {"Values": {"on": True, "port": 8080}, "Release": {"Name": "fs"}}
    >>> render_template('a: {{ .Release.Name | quote }}\\n{{- if .Values.on }}\\nport: {{ .Values.port }}\\n{{- end }}\\n', ctx)
    'a: "fs"\\nport: 8080\\n'
    """
    pieces: list[tuple[str, str]] = []  # ("text", s) / ("action", s)
    pos = 0
    for match in _ACTION.finditer(text):
        chunk = text[pos:match.start()]
        if match.group(1):
            chunk = chunk.rstrip()
        pieces.append(("text", chunk))
        pieces.append(("action", match.group(2)))
        pos = match.end()
        if match.group(3):
            rest = text[pos:]
            pos += len(rest) - len(rest.lstrip())
    pieces.append(("text", text[pos:]))

    out: list[str] = []
    # Each open `if` keeps (this branch emits, some earlier branch was taken, the enclosing emits).
    stack: list[tuple[bool, bool, bool]] = []
    emitting = True
    for kind, body in pieces:
        line = text.count("\n", 0, text.find(body)) + 1 if kind == "action" else 0
        ev = _Eval(context, f"{name}:{line}")
        if kind == "text":
            if emitting:
                out.append(body)
            continue
        if body.startswith("/*"):
            continue
        word = body.split(None, 1)[0] if body else ""
        if word == "if":
            taken = emitting and _truthy(ev.pipeline(body[2:]))
            stack.append((taken, taken, emitting))
            emitting = taken
        elif word == "else":
            if not stack:
                raise ev.fail("'else' without 'if'")
            _, done, outer = stack.pop()
            rest = body[4:].strip()
            if rest.startswith("if "):
                taken = outer and not done and _truthy(ev.pipeline(rest[3:]))
            elif rest:
                raise ev.fail(f"unsupported 'else {rest}'")
            else:
                taken = outer and not done
            stack.append((taken, done or taken, outer))
            emitting = taken
        elif word == "end":
            if not stack:
                raise ev.fail("'end' without 'if'")
            emitting = stack.pop()[2]
        elif word in ("range", "with", "define", "include", "template", "block", "tpl", "lookup", "required"):
            raise ev.fail(f"'{word}' is outside this chart's template subset (see foresight.operator.chart)")
        elif emitting:
            out.append(_go_str(ev.pipeline(body)))
    if stack:
        raise InputError(f"{name}: {len(stack)} 'if' without 'end'")
    return "".join(out)


def render_chart(
    chart: Chart, values: Mapping[str, Any] | None = None, release: str = "foresight", namespace: str = "foresight"
) -> dict[str, str]:
    """``{path: YAML}`` of the rendered chart: ``crds/<file>`` as is, then ``templates/<file>`` rendered.

    Templates that render to nothing but whitespace and comments are left out (as Helm does).
    Every rendered template must parse as YAML; an error names the template.
    """
    merged = merge_values(chart.values, dict(values or {}))
    context = {
        "Values": merged,
        "Release": {"Name": release, "Namespace": namespace, "Service": "Helm"},
        "Chart": {"Name": chart.meta.get("name"), "Version": chart.meta.get("version"),
                  "AppVersion": chart.meta.get("appVersion")},
    }
    files = {f"crds/{name}": text for name, text in chart.crds.items()}
    for name, text in chart.templates.items():
        rendered = render_template(text, context, f"templates/{name}")
        try:
            docs = [d for d in yaml.safe_load_all(rendered) if d is not None]
        except yaml.YAMLError as exc:
            raise InputError(f"templates/{name}: rendered text is not valid YAML ({exc})") from None
        if docs:
            files[f"templates/{name}"] = f"# Source: foresight/templates/{name}\n" + rendered.lstrip("\n")
    return files
