"""``foresight bench edge`` on a small fleet through the machine's Mosquitto: nothing lost, no alarm from the
replay, the injected anomalies found, the flooding device limited."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest

from foresight.bench.edge import bench_edge

pytestmark = pytest.mark.integration


def _open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_a_small_fleet_replays_its_backlog_without_loss_or_false_alarm(
        require_service: Callable[[bool, str], None]) -> None:
    require_service(_open(1883), "Mosquitto is not listening on 127.0.0.1:1883")
    f = bench_edge(60, ticks=115, rate=1500.0, seed=2, flood=300)
    assert f["devices"] == f["devices_seen"] == 60
    assert f["backlog_devices"] == 12 and f["backlog_samples"] == 12 * 60 and f["backlog_s"] == 600.0
    assert f["lost_samples"] == 0 and f["backlog_lost_samples"] == 0
    assert f["replay_false_alarms"] == 0 and f["replay_missed_alarms"] == 0
    assert f["offline_seen_max"] == 12
    assert f["anomalies"] == 6 and f["anomalies_in_outage"] >= 3 and f["recall_in_outage"] >= 0.6
    assert f["recall"] >= 0.8 and f["precision"] >= 0.8
    assert f["flood_rate_limited"] > 0 and f["flood_accepted"] + f["flood_rate_limited"] == 300
    assert f["latency_p50_ms"] <= f["latency_p99_ms"] and f["samples_per_s"] > 0
