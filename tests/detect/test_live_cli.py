"""``foresight watch``: what it refuses before it starts (no services needed)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import foresight.cli.watch  # noqa: F401  (registers the command)
from foresight.cli.app import app
from foresight.errors import ConfigError, InputError, ServiceUnavailable

runner = CliRunner()
AM = ["--alertmanager", "http://127.0.0.1:9"]


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        ([], ConfigError, "nothing to watch"),
        (["--query", "up"], ConfigError, "--query needs --prometheus"),
        (["--remote-write-port", "1", "--period", "soon"], InputError, "invalid duration 'soon'"),
        (["--remote-write-port", "1", "--detector", "magic"], ConfigError, "unknown detector 'magic'"),
        (["--remote-write-port", "1", "--backfill", "-1h"], InputError, "invalid duration '-1h'"),
    ],
)
def test_impossible_options_are_refused_with_a_reason(args, error, message):
    result = runner.invoke(app, ["watch", *AM, *args])
    assert isinstance(result.exception, error), result.output
    assert message in str(result.exception)


def test_an_unreachable_prometheus_stops_it_at_start_up():
    from plugins.prometheus_server import free_port

    url = f"http://127.0.0.1:{free_port()}"
    result = runner.invoke(app, ["watch", *AM, "--prometheus", url, "--query", "up"])
    assert isinstance(result.exception, ServiceUnavailable) and url in str(result.exception)
