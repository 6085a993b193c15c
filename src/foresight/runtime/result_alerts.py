"""The workers' alerts, from the results stream to the alert sink (Alertmanager in production).

Workers publish the anomaly onsets at or above the threshold (one message per sample batch that has
any), each keyed for ever by :func:`~foresight.scaleout.scorer.alert_key`. The forwarder reads them through a durable consumer
(the broker remembers how far it got, so a forwarder that restarts resumes there), hands them to
the sink as Alertmanager ``postableAlert`` objects, and only then acknowledges them. An alert key
seen before is not sent again (a redelivery after a crash between send and ack), within the last
``remember`` keys.

An onset is an event, not a state: the alert carries ``endsAt = startsAt + valid_for_s``, so
Alertmanager notifies once and resolves it by itself, as a Prometheus rule whose expression held
for one evaluation would. The alert's labels are the series' own plus ``alertname`` and
``alert_key``; its annotations say the score and the worker.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import Any

from foresight.adapters.jetstream import DurableReader
from foresight.detect.alerts import rfc3339
from foresight.detect.live import AlertSink
from foresight.errors import ServiceUnavailable
from foresight.scaleout.codec import AlertRecord, decode_alerts
from foresight.scaleout.partition import labels_of

__all__ = ["AlertForwarder", "postable"]

_log = logging.getLogger(__name__)


def postable(alert: AlertRecord, valid_for_s: float) -> dict[str, Any]:
    """Alertmanager's ``postableAlert`` for an onset.

    >>> a = AlertRecord("ForesightAnomaly-ab", 'job="api"', 1700000000.0, 0.93, 3, "w1")
    >>> p = postable(a, 300.0)
    >>> p["labels"], p["startsAt"], p["endsAt"]
    ({'job': 'api', 'alertname': 'ForesightAnomaly', 'alert_key': 'ForesightAnomaly-ab'}, '2023-11-14T22:13:20.000Z', '2023-11-14T22:18:20.000Z')
    """
    alertname = alert.key.rsplit("-", 1)[0]
    return {
        "labels": {**labels_of(alert.series), "alertname": alertname, "alert_key": alert.key},
        "annotations": {"score": f"{alert.score:.3f}", "summary": f"anomaly onset scored {alert.score:.3f} "
                        f"(partition {alert.partition}, worker {alert.worker})"},
        "startsAt": rfc3339(alert.t),
        "endsAt": rfc3339(alert.t + valid_for_s),
    }


class AlertForwarder:
    """Moves alerts from ``reader`` to ``sink`` until :meth:`run`'s ``stop`` is set."""

    def __init__(self, reader: DurableReader, sink: AlertSink, *, valid_for_s: float = 300.0, remember: int = 100_000) -> None:
        self.reader, self.sink, self.valid_for_s, self.remember = reader, sink, valid_for_s, remember
        self._seen: OrderedDict[str, None] = OrderedDict()
        self.forwarded = 0

    async def step(self) -> int:
        """Forward what has arrived; return how many alerts went to the sink."""
        received = await self.reader.fetch()
        fresh: list[dict[str, Any]] = []
        for alert in (alert for message in received for alert in decode_alerts(message.data)):
            if alert.key in self._seen:
                continue
            self._seen[alert.key] = None
            if len(self._seen) > self.remember:
                self._seen.popitem(last=False)
            fresh.append(postable(alert, self.valid_for_s))
        if fresh:
            self.sink.send(fresh)
        await self.reader.ack(received)
        self.forwarded += len(fresh)
        return len(fresh)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.step()
            except ServiceUnavailable as exc:
                _log.warning("alert forwarder: %s; retrying", exc)
                await asyncio.sleep(0.5)

