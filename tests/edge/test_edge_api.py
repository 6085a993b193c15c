"""The edge view over HTTP: fleets, a fleet's devices, one device, 404 for a stranger; served in a thread."""

from __future__ import annotations

import threading

import httpx
from fastapi.testclient import TestClient

from foresight.api.edge import create_edge_app, start_edge_server
from foresight.edge.fleet import EdgeConfig, FleetMonitor, Message
from foresight.edge.schema import Sample, encode, topic

NOW = 1_765_000_000.0


def _monitor() -> FleetMonitor:
    monitor = FleetMonitor(EdgeConfig(offline_after_s=60.0))
    messages = [Message(topic(fleet, d), encode(d, [Sample(0, 0, arrived - 5, {"cpu": 0.5})]), arrived)
                for fleet, d, arrived in (("a", "a1", NOW), ("a", "a2", NOW - 600), ("b", "b1", NOW))]
    monitor.step([*messages, Message(topic("b", "b1"), b"{", NOW)], NOW)
    return monitor


def test_the_view_lists_fleets_and_the_devices_that_need_a_look() -> None:
    client = TestClient(create_edge_app(_monitor(), threading.Lock(), clock=lambda: NOW))
    view = client.get("/api/v1/edge").json()
    assert view["fleets"] == {"a": {"devices": 2, "online": 1, "offline": 1, "anomalous": 0, "firing": 0},
                              "b": {"devices": 1, "online": 1, "offline": 0, "anomalous": 0, "firing": 0}}
    assert [d["device"] for d in view["devices"]] == ["a2", "b1"]  # offline, then rejected a message
    assert view["dropped"] == {"bad_json": 1}
    assert [d["device"] for d in client.get("/api/v1/edge", params={"fleet": "b"}).json()["devices"]] == ["b1"]
    assert client.get("/api/v1/edge/devices/a1").json()["samples"] == 1
    assert client.get("/api/v1/edge/devices/nobody").status_code == 404
    assert client.get("/api/v1/edge", params={"limit": -1}).status_code == 422


def test_the_server_answers_on_a_free_port_and_stops() -> None:
    server = start_edge_server(create_edge_app(_monitor(), threading.Lock(), clock=lambda: NOW))
    try:
        assert httpx.get(f"{server.url}/api/v1/edge/devices/b1").json()["rejected"] == 1
    finally:
        server.stop()
    assert not server.thread.is_alive()
