"""The MQTT adapter against real brokers: the machine's Mosquitto on 1883 (QoS 1, persistent session: a
consumer that restarts gets what it missed) and a Mosquitto of our own that we stop and start again."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from local_ports import port_open
from foresight.bench.prometheus_server import free_port
from foresight.adapters.mqtt import MqttPublisher, MqttSubscriber
from foresight.edge.fleet import EdgeConfig, FleetMonitor, Message
from foresight.edge.schema import Sample, encode, topic
from foresight.errors import ServiceUnavailable

pytestmark = pytest.mark.integration

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def _wait(subscriber: MqttSubscriber, count: int, timeout_s: float = 20.0) -> list[Message]:
    got: list[Message] = []
    deadline = time.time() + timeout_s
    while len(got) < count and time.time() < deadline:
        got += subscriber.drain()
        time.sleep(0.02)
    return got


@pytest.fixture
def broker(require_service: Callable[[bool, str], None]) -> int:
    require_service(port_open(1883), "Mosquitto is not listening on 127.0.0.1:1883")
    return 1883


@pytest.fixture
def own_broker(require_service: Callable[[bool, str], None]) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """Starts (and restarts) a Mosquitto of this test's own on a free port; stopped at the end."""
    require_service(os.path.exists(MOSQUITTO),
                    "no mosquitto binary (apt-get install mosquitto)")
    port = free_port()
    started: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        process = subprocess.Popen([MOSQUITTO, "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(process)
        deadline = time.time() + 10
        while not port_open(port) and time.time() < deadline:
            time.sleep(0.05)
        return process

    start.port = port  # type: ignore[attr-defined]
    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=10)


def test_messages_arrive_with_qos_1_and_feed_the_fleet_monitor(broker: int) -> None:
    fleet = f"t-{uuid.uuid4().hex[:8]}"
    subscriber = MqttSubscriber(port=broker, client_id=f"foresight-test-{fleet}",
                                topic_filter=f"foresight/edge/{fleet}/+/metrics")
    subscriber.connect()
    publisher = MqttPublisher(port=broker)
    publisher.connect()
    try:
        now = time.time()
        for seq in range(50):
            for device in ("a", "b"):
                publisher.publish(topic(fleet, device), encode(device, [Sample(0, seq, now - 50 + seq, {"cpu": 0.5})]))
        publisher.publish(topic(fleet, "a"), b"not json")
        publisher.flush()
        got = _wait(subscriber, 101)
        monitor = FleetMonitor(EdgeConfig())
        monitor.step(got, time.time())
        assert len(got) == 101 and monitor.scored == 100 and monitor.dropped == {"bad_json": 1}
        assert monitor.view(time.time())["fleets"][fleet]["online"] == 2
    finally:
        publisher.close()
        subscriber.close()
        subscriber.forget()


def test_a_consumer_that_restarts_gets_what_it_missed(broker: int) -> None:
    fleet = f"t-{uuid.uuid4().hex[:8]}"
    make = lambda: MqttSubscriber(port=broker, client_id=f"foresight-test-{fleet}",  # noqa: E731
                                  topic_filter=f"foresight/edge/{fleet}/+/metrics")
    first = make()
    first.connect()
    first.close()  # away: the broker keeps the session and queues QoS 1 messages
    publisher = MqttPublisher(port=broker)
    publisher.connect()
    again = make()
    try:
        for seq in range(300):
            publisher.publish(topic(fleet, "d"), encode("d", [Sample(0, seq, 1000.0 + seq, {"cpu": 1.0})]))
        publisher.flush()
        again.connect()
        got = _wait(again, 300)
        seqs = sorted(int(m.payload.split(b'"seq":')[1].split(b",")[0]) for m in got)
        assert seqs == list(range(300))
    finally:
        publisher.close()
        again.close()
        again.forget()


def test_an_unreachable_broker_is_a_service_error_not_a_hang() -> None:
    subscriber = MqttSubscriber(port=free_port(), client_id="foresight-test-nobody")
    started = time.time()
    with pytest.raises(ServiceUnavailable, match="unreachable"):
        subscriber.connect(timeout_s=2.0)
    assert time.time() - started < 5.0


def test_the_consumer_reconnects_and_resubscribes_after_a_broker_restart(
        own_broker: Callable[[], subprocess.Popen[bytes]]) -> None:
    process = own_broker()
    port = own_broker.port  # type: ignore[attr-defined]
    subscriber = MqttSubscriber(port=port, client_id="foresight-test-restart")
    subscriber.connect()
    process.terminate()
    process.wait(timeout=10)
    own_broker()  # a fresh broker without persistence: the session is gone, the client must subscribe again
    publisher = MqttPublisher(port=port)
    publisher.connect()
    try:
        deadline = time.time() + 30
        got: list[Message] = []
        seq = 0
        while not got and time.time() < deadline:  # paho reconnects within a few seconds
            publisher.publish(topic("f", "d"), encode("d", [Sample(0, seq, 1000.0 + seq, {"cpu": 1.0})]))
            seq += 1
            time.sleep(0.2)
            got += subscriber.drain()
        assert got, "no message after the broker came back"
    finally:
        publisher.close()
        subscriber.close()
