"""`foresight operator run` refuses impossible options before it touches a cluster."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import foresight.cli.operator  # noqa: F401  (registers the commands until the lead imports it)
from foresight.cli.app import app
from foresight.errors import ConfigError, InputError


@pytest.mark.parametrize(("args", "error", "message"), [
    (["--lease", "no-slash"], InputError, "expected NAMESPACE/NAME"),
    (["--mode", "yolo"], InputError, "expected apply or gitops"),
    (["--mode", "gitops"], ConfigError, "--mode gitops needs --repo"),
])
def test_bad_options_are_refused_with_the_reason(args: list[str], error: type[Exception], message: str) -> None:
    result = CliRunner().invoke(app, ["operator", "run", *args])
    assert isinstance(result.exception, error) and message in str(result.exception)


def test_help_lists_the_lease_options() -> None:
    result = CliRunner().invoke(app, ["operator", "run", "--help"])
    assert result.exit_code == 0
    assert "--lease" in result.output and "--renew-deadline" in result.output
