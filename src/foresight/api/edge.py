"""The edge fleet view over HTTP (``foresight edge --port``): fleets, devices that need a look, one device.

Read-only JSON; the view is taken under the watch's lock, between two steps of the fleet monitor:

* ``GET /api/v1/edge`` - every fleet (devices, online, offline, anomalous, open alarms), the
  devices that need a look, drops by reason; ``?fleet=`` narrows the device list, ``?limit=``
  bounds it;
* ``GET /api/v1/edge/devices/{device}`` - one device (404 for a device never heard from);
* ``GET /healthz`` - the process answers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import uvicorn
from fastapi import FastAPI, HTTPException, Query

from foresight.api.server import bind, run_in_thread, url_of
from foresight.edge.fleet import FleetMonitor

__all__ = ["EdgeServer", "create_edge_app", "start_edge_server"]


def create_edge_app(monitor: FleetMonitor, lock: threading.Lock, clock: Callable[[], float] = time.time) -> FastAPI:
    """The app over ``monitor``, read while holding ``lock`` (the consumer steps it under the same lock)."""
    app = FastAPI(title="Foresight edge", description="Edge devices' telemetry over MQTT: fleets, devices, alarms.")

    @app.get("/healthz", tags=["probes"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/v1/edge", tags=["edge"])
    async def fleet_view(
        fleet: Annotated[str | None, Query(max_length=64, description="Only this fleet's devices.")] = None,
        limit: Annotated[int, Query(ge=0, le=10_000, description="At most this many devices.")] = 100,
    ) -> dict[str, Any]:
        with lock:
            return monitor.view(clock(), limit=limit, fleet=fleet)

    @app.get("/api/v1/edge/devices/{device}", tags=["edge"])
    async def device_view(device: str) -> dict[str, Any]:
        with lock:
            row = monitor.device(device, clock())
        if row is None:
            raise HTTPException(404, f"no device {device[:64]!r} has sent a valid message")
        return row

    return app


@dataclass
class EdgeServer:
    """A running edge API: its URL, and how to stop it."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self, timeout_s: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout_s)


def start_edge_server(app: FastAPI, host: str = "127.0.0.1", port: int = 0, timeout_s: float = 10.0) -> EdgeServer:
    """Serve ``app`` on ``host:port`` (0: a free port) in a thread; return once it answers."""
    sock = bind(host, port)
    server = uvicorn.Server(uvicorn.Config(app, log_config=None))
    return EdgeServer(url_of(sock), server, run_in_thread(server, sock, "foresight-edge-api", timeout_s))
