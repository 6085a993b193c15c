"""``foresight bench edge --json`` carries the edge model's keys: measured with the torch and onnx extras,
null with the reason without them (the fleet half runs through the machine's Mosquitto either way)."""

from __future__ import annotations

import importlib.util
import json
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from foresight.cli import cli

pytestmark = pytest.mark.integration


def _open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_bench_edge_json_has_the_quantised_figures(require_service: Callable[[bool, str], None], shared_data: Path) -> None:
    require_service(_open(1883), "Mosquitto is not listening on 127.0.0.1:1883")
    result = CliRunner().invoke(cli, ["bench", "edge", "--devices", "20", "--ticks", "110", "--rate", "1500",
                                      "--data-dir", str(shared_data), "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["devices"] == 20 and figures["backlog_lost_samples"] == 0
    extras = all(importlib.util.find_spec(m) is not None for m in ("torch", "onnx", "onnxruntime"))
    if extras:
        assert figures["quantised_size_ratio"] >= 2.0 and figures["quantised_gate"].startswith(("passed", "blocked"))
    else:
        assert figures["quantised_size_ratio"] is None and figures["quantised_accuracy_delta"] is None
        assert "pip install 'foresight[torch,onnx]'" in figures["quantised_skipped"]
