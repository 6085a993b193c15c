"""The workers' alerts reach the alert sink once each, through a durable consumer on the machine's NATS:
a forwarder that restarts resumes where the last one acknowledged."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

import httpx
import numpy as np
import pytest
import pytest_asyncio

from foresight.adapters.alertmanager import AlertmanagerClient
from foresight.adapters.jetstream import JetStreamBus, StreamNames
from foresight.clock import SystemClock
from foresight.runtime.result_alerts import AlertForwarder
from foresight.scaleout.codec import AlertRecord, ScoreBatch
from foresight.scaleout.scorer import alert_key

pytestmark = [pytest.mark.integration, pytest.mark.asyncio]


class ListSink:
    def __init__(self) -> None:
        self.sent: list[Mapping[str, Any]] = []

    def send(self, alerts: Sequence[Mapping[str, Any]]) -> None:
        self.sent.extend(alerts)


def _nats_up() -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", 4222)) == 0


@pytest_asyncio.fixture
async def bus(require_service: Callable[[bool, str], None]) -> AsyncIterator[JetStreamBus]:
    require_service(_nats_up(), "NATS is not listening on 127.0.0.1:4222")
    tag = uuid.uuid4().hex[:10]
    b = await JetStreamBus.connect("nats://127.0.0.1:4222", StreamNames(f"fs-alerts-{tag}", f"fsalerts{tag}"), 2)
    yield b
    await b.delete_all()
    await b.close()


async def _publish(bus: JetStreamBus, seq: int, times: list[float]) -> list[str]:
    sid = 'job="api",pod="p1"'
    alerts = [AlertRecord(alert_key(sid, t), sid, t, 0.9, 0, "w1") for t in times]
    batch = ScoreBatch(0, seq, "w1", np.full(len(times), 0.9), 0.0, 0.0)
    await bus.publish_many([(batch, alerts)])
    return [a.key for a in alerts]


async def _drain(forwarder: AlertForwarder) -> None:
    for _ in range(5):
        if await forwarder.step() == 0 and forwarder.forwarded:
            return


async def test_alerts_go_to_the_sink_once_and_a_restarted_forwarder_resumes(bus: JetStreamBus) -> None:
    keys = await _publish(bus, 1, [60.0, 120.0])
    await _publish(bus, 1, [60.0, 120.0])  # a replay after a takeover: the same ids, dropped by the stream
    sink = ListSink()
    # the first forwarder's process has its own connection, gone when it stops: a pull request it left
    # pending (a fetch that timed out on its side first) ends with it, as in a real restart
    own = await JetStreamBus.connect("nats://127.0.0.1:4222", bus.names, 2)
    first = AlertForwarder(own.alert_reader("forwarder"), sink)
    await _drain(first)
    await own.close()
    assert [a["labels"]["alert_key"] for a in sink.sent] == keys
    assert sink.sent[0]["labels"]["pod"] == "p1" and sink.sent[0]["labels"]["alertname"] == "ForesightAnomaly"
    later = await _publish(bus, 2, [180.0])
    second = AlertForwarder(bus.alert_reader("forwarder"), sink)  # a new process, the same durable consumer
    await _drain(second)
    assert [a["labels"]["alert_key"] for a in sink.sent] == keys + later


async def test_forwarded_alerts_are_accepted_by_a_real_alertmanager(
    bus: JetStreamBus, alertmanager_factory: Callable[[], Any]
) -> None:
    am = alertmanager_factory()
    now = time.time()
    keys = await _publish(bus, 1, [now - 30.0, now - 15.0])
    with AlertmanagerClient(am.url, SystemClock()) as sink:
        forwarder = AlertForwarder(bus.alert_reader("forwarder"), sink)
        await _drain(forwarder)
        assert sink.flush()
    shown = httpx.get(f"{am.url}/api/v2/alerts").json()
    assert sorted(a["labels"]["alert_key"] for a in shown) == sorted(keys)
    assert all(a["labels"]["alertname"] == "ForesightAnomaly" and a["status"]["state"] == "active" for a in shown)
