"""MQTT over paho-mqtt: the edge fleet's telemetry in (QoS 1, persistent session) and a publisher.

:class:`MqttSubscriber` connects with a fixed client id and ``clean_session=False`` (MQTT 3.1.1),
so the broker keeps the subscription and queues QoS 1 messages while the consumer is away: a
consumer that restarts with the same id receives what it missed. Mosquitto queues at most
``max_queued_messages`` per absent client (1,000 by default, a broker setting) and keeps such
sessions until the client returns with a clean session (:meth:`MqttSubscriber.forget`).

paho's network thread only stamps each message with its arrival time and queues it; the
consumer's thread takes them with :meth:`MqttSubscriber.drain` and hands them to the fleet monitor,
which decodes, orders and scores them. paho acknowledges a QoS 1 message when it has been
queued here: a consumer that crashes loses what it had queued but not drained (at most one drain
period); a consumer that disconnects or restarts cleanly loses nothing. If the consumer falls
``max_queued`` messages behind, newer messages are dropped and counted (``overflow``) rather than
growing without bound.

QoS 1 is not lossless on its own: Mosquitto also applies ``max_queued_messages`` (1,000 by
default) to a *connected* client whose 20 in-flight messages are unacknowledged, and drops what
comes beyond it ("Outgoing messages are being dropped" in its log). paho acknowledges from its
own thread, so this happens only when the consumer's process gets no CPU for the time the
broker needs to queue 1,000 messages; size that setting for the fleet's peak rate (a 1,000-device
fleet replaying backlogs at once needs far more). The fleet monitor counts what such a drop
leaves as ``skipped`` samples of the device.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

import paho.mqtt.client as mqtt

from foresight.clock import Clock, SystemClock
from foresight.edge.fleet import Message
from foresight.edge.schema import TOPIC_FILTER
from foresight.errors import ServiceUnavailable

__all__ = ["MqttPublisher", "MqttSubscriber"]


def _client(client_id: str, clean_session: bool) -> mqtt.Client:
    return mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean_session,
                       protocol=mqtt.MQTTv311)


def _connect(client: mqtt.Client, host: str, port: int, timeout_s: float) -> None:
    """Connect and wait for the broker's CONNACK; a refusal or silence is a ServiceUnavailable."""
    done = threading.Event()
    outcome: list[Any] = []

    def on_connect(c: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        outcome.append(reason)
        done.set()

    client.on_connect = on_connect
    try:
        client.connect(host, port, keepalive=30)
    except OSError as exc:
        raise ServiceUnavailable(f"MQTT broker {host}:{port} unreachable: {exc}", retry_after_s=5.0) from exc
    client.loop_start()
    if not done.wait(timeout_s):
        client.loop_stop()
        raise ServiceUnavailable(f"MQTT broker {host}:{port} did not answer CONNECT in {timeout_s:g} s", retry_after_s=5.0)
    if outcome[0].is_failure:
        client.loop_stop()
        raise ServiceUnavailable(f"MQTT broker {host}:{port} refused the connection: {outcome[0]}", retry_after_s=5.0)


class MqttSubscriber:
    """A QoS 1 subscriber with a persistent session whose messages the consumer drains."""

    def __init__(self, host: str = "127.0.0.1", port: int = 1883, *, client_id: str = "foresight-edge",
                 topic_filter: str = TOPIC_FILTER, clock: Clock | None = None, max_queued: int = 1_000_000) -> None:
        self.host, self.port, self.client_id, self.topic_filter = host, port, client_id, topic_filter
        self.clock = clock or SystemClock()
        self.max_queued = max_queued
        self.received = 0
        self.overflow = 0
        self._queue: deque[Message] = deque()
        self._subscribed = threading.Event()
        self._client = _client(client_id, clean_session=False)

    def connect(self, timeout_s: float = 5.0) -> None:
        """Connect, resume the session (or start one) and subscribe with QoS 1."""
        self._client.on_message = self._on_message
        self._client.on_subscribe = lambda *args: self._subscribed.set()
        _connect(self._client, self.host, self.port, timeout_s)
        self._client.on_connect = self._on_reconnect
        self._client.subscribe(self.topic_filter, qos=1)
        if not self._subscribed.wait(timeout_s):
            raise ServiceUnavailable(f"MQTT broker {self.host}:{self.port} did not acknowledge the subscription",
                                     retry_after_s=5.0)

    def drain(self) -> list[Message]:
        """Every message queued since the last drain, in arrival order."""
        out = []
        queue = self._queue
        while queue:
            out.append(queue.popleft())
        return out

    def close(self) -> None:
        """Disconnect, keeping the session: the broker queues what comes until the next connect."""
        self._client.disconnect()
        self._client.loop_stop()

    def forget(self, timeout_s: float = 5.0) -> None:
        """End the persistent session on the broker (its queued messages and subscription go)."""
        clean = _client(self.client_id, clean_session=True)
        _connect(clean, self.host, self.port, timeout_s)
        clean.disconnect()
        clean.loop_stop()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.received += 1
        if len(self._queue) >= self.max_queued:
            self.overflow += 1
            return
        self._queue.append(Message(message.topic, message.payload, self.clock.now()))

    def _on_reconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        """After paho reconnects by itself: subscribe again in case the broker lost the session."""
        if not reason.is_failure and not flags.session_present:
            client.subscribe(self.topic_filter, qos=1)


class MqttPublisher:
    """Publishes with QoS 1 (the simulated fleet, and tests); ``max_inflight`` unacknowledged at once."""

    def __init__(self, host: str = "127.0.0.1", port: int = 1883, *, client_id: str = "",
                 max_inflight: int = 1000) -> None:
        self.host, self.port = host, port
        self._client = _client(client_id, clean_session=True)
        self._client.max_inflight_messages_set(max_inflight)
        self._client.max_queued_messages_set(0)
        self._last: mqtt.MQTTMessageInfo | None = None

    def connect(self, timeout_s: float = 5.0) -> None:
        _connect(self._client, self.host, self.port, timeout_s)

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        """Queue one message; paho sends it and retries it until the broker acknowledges it."""
        info = self._client.publish(topic, payload, qos=qos)
        if info.rc == mqtt.MQTT_ERR_NO_CONN:
            raise ServiceUnavailable(f"MQTT broker {self.host}:{self.port}: not connected", retry_after_s=5.0)
        self._last = info

    def flush(self, timeout_s: float = 30.0) -> None:
        """Wait until the broker has acknowledged the last message published."""
        if self._last is not None:
            self._last.wait_for_publish(timeout_s)
            if not self._last.is_published():
                raise ServiceUnavailable(f"MQTT broker {self.host}:{self.port} did not acknowledge in {timeout_s:g} s")

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
