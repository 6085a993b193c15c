"""Fixtures of the code-scanner tests: scan a snippet and list its rule ids; wrap a body in a Flask route."""

from __future__ import annotations

import textwrap
from collections.abc import Callable

import pytest

from foresight.security.code import scan_python_source

FLASK = "from flask import Flask, request, redirect, session, make_response\napp = Flask(__name__)\n"


def _rule_ids(source: str, path: str = "snippet.py") -> set[str]:
    return {f.rule_id for f in scan_python_source(textwrap.dedent(source), path)}


def _route(body: str, imports: str = "") -> str:
    indented = textwrap.indent(textwrap.dedent(body).strip("\n"), "    ")
    return f"{textwrap.dedent(imports)}{FLASK}\n@app.route('/x')\ndef view():\n{indented}\n"


@pytest.fixture
def rule_ids() -> Callable[..., set[str]]:
    """The rule ids of every finding in a (dedented) source."""
    return _rule_ids


@pytest.fixture
def route() -> Callable[..., str]:
    """A Flask route module whose view has the given body, with the given imports above the app."""
    return _route
