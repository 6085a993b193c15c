"""``foresight edge`` against the machine's Mosquitto: a simulated fleet published and watched, the view as JSON."""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Callable

import pytest
from typer.testing import CliRunner

from foresight.adapters.mqtt import MqttSubscriber
from foresight.cli import cli

pytestmark = pytest.mark.integration


def _open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_edge_watches_a_simulated_fleet_through_the_broker(require_service: Callable[[bool, str], None]) -> None:
    require_service(_open(1883), "Mosquitto is not listening on 127.0.0.1:1883")
    run = uuid.uuid4().hex[:8]
    client_id = f"foresight-test-cli-{run}"
    try:
        result = CliRunner().invoke(cli, ["edge", "--simulate", "25", "--fleet", f"cli-{run}", "--client-id", client_id,
                                          "--duration", "5s", "--period", "1", "--json"])
    finally:
        MqttSubscriber(client_id=client_id).forget()
    assert result.exit_code == 0, result.output
    view = json.loads(result.output)
    assert view["fleets"][f"cli-{run}"]["devices"] == 25
    assert view["samples_scored"] >= 25 * 3 and view["series"] == 25 * 4
