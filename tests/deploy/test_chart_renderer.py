"""The Go-template subset renderer behaves as Helm does on what the chart uses, and refuses the rest."""

from __future__ import annotations

from typing import Any

import pytest

from foresight.errors import InputError
from foresight.operator.chart import merge_values, render_template

CTX: dict[str, Any] = {
    "Values": {"on": True, "off": False, "zero": 0, "empty": {}, "name": "web", "port": 8080, "mode": "apply",
               "map": {"b": 2, "a": 1}, "list": [{"name": "X", "value": "1"}]},
    "Release": {"Name": "fs", "Namespace": "ops"},
    "Chart": {"Name": "foresight", "Version": "0.1.0"},
}


@pytest.mark.parametrize(("template", "expected"), [
    ("{{ .Values.name }}", "web"),
    ("{{ .Values.port | quote }}", '"8080"'),
    ("{{ .Values.missing | default \"x\" }}", "x"),
    ("{{ .Values.name | default \"x\" }}", "web"),
    ('{{ printf "%s-%s" .Chart.Name .Chart.Version }}', "foresight-0.1.0"),
    ("{{ .Values.on }}/{{ .Values.off }}", "true/false"),
    ("a:\n  {{- toYaml .Values.map | nindent 2 }}", "a:\n  a: 1\n  b: 2"),
    ("env:{{ toYaml .Values.list | indent 2 }}", "env:  - name: X\n    value: '1'"),
    ("{{ if .Values.on }}yes{{ end }}", "yes"),
    ("{{ if .Values.zero }}yes{{ else }}no{{ end }}", "no"),
    ("{{ if .Values.empty }}yes{{ else if .Values.on }}second{{ else }}no{{ end }}", "second"),
    ('{{ if and .Values.on (eq .Values.mode "apply") }}both{{ end }}', "both"),
    ('{{ if and .Values.on (not (eq .Values.mode "apply")) }}x{{ else }}y{{ end }}', "y"),
    ("{{ if or .Values.off .Values.zero }}x{{ else }}none{{ end }}", "none"),
    ("{{ if .Values.off }}{{ if .Values.on }}inner{{ end }}{{ else }}outer{{ end }}", "outer"),
    ("a\n{{- /* a comment */ -}}\nb", "ab"),
    ("x: 1\n{{- if .Values.off }}\ny: 2\n{{- end }}\nz: 3", "x: 1\nz: 3"),
    ("{{ .Values.name | trunc 2 }}", "we"),
])
def test_templates_render_as_helm_renders_them(template: str, expected: str) -> None:
    assert render_template(template, CTX) == expected


@pytest.mark.parametrize(("template", "message"), [
    ("a\n{{ range .Values.list }}{{ end }}", "t.yaml:2: 'range' is outside this chart's template subset"),
    ('{{ include "x" . }}', "'include' is outside"),
    ("{{ .Values.name | upper }}", "unsupported function 'upper'"),
    ("{{ if .Values.on }}open", "1 'if' without 'end'"),
    ("{{ end }}", "'end' without 'if'"),
    ("{{ and .Values.on (eq .Values.mode }}", "unbalanced parentheses"),
])
def test_anything_outside_the_subset_is_refused_with_its_place(template: str, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        render_template(template, CTX, "t.yaml")


def test_values_merge_like_helm() -> None:
    base = {"a": {"b": 1, "c": 2}, "d": [1, 2], "e": 1}
    assert merge_values(base, {"a": {"c": 3}, "d": [9], "e": None}) == {"a": {"b": 1, "c": 3}, "d": [9]}
