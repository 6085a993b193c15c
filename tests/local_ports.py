"""Whether a loopback port answers: integration tests wait for the servers they start (never the machine's).
A free port to start one on is :func:`foresight.bench.prometheus_server.free_port`."""

from __future__ import annotations

import socket


def port_open(port: int) -> bool:
    """Whether something accepts connections on ``port`` of 127.0.0.1 (half a second to answer)."""
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0
