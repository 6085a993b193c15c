"""The Kafka source: only what can run here (no Kafka broker can run on these machines) is tested."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import socket

import pytest

from foresight.errors import ServiceUnavailable


def test_no_broker_is_a_clear_service_error() -> None:
    if importlib.util.find_spec("confluent_kafka") is None:
        if os.environ.get("FORESIGHT_REQUIRE_FEAST") == "1":
            pytest.fail("confluent-kafka is not installed (requirements-feast.txt)", pytrace=False)
        pytest.skip("confluent-kafka is not installed (pip install -r requirements-feast.txt)")
    from foresight.adapters.feature_events_kafka import KafkaEvents

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    source = KafkaEvents(f"127.0.0.1:{port}", "card-events", "ingest", connect_timeout_s=1.0)
    with pytest.raises(ServiceUnavailable, match=f"Kafka at 127.0.0.1:{port} unreachable"):
        asyncio.run(source.connect())
