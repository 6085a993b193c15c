"""Real Alertmanagers as baselines: their configurations, time scaled, and a receiver counting what they send.

Three configurations take the same alert stream (``foresight bench incidents``):

- **kube-prometheus-stack's default**: ``group_by: [namespace]``, ``group_wait`` 30 s,
  ``group_interval`` 5 min, ``repeat_interval`` 12 h, ``resolve_timeout`` 5 min, and the chart's
  default inhibit rules: a critical alert inhibits warning and info alerts with the same
  ``namespace`` and ``alertname``, a warning inhibits info alerts likewise, and ``InfoInhibitor``
  inhibits info alerts of its namespace. (The chart's default receiver is ``"null"``, which sends
  nothing: here every route goes to the counting webhook.)
- **hand-tuned**: ``group_by: [alertname, service]``, the same timers and default rules, plus
  inhibit rules written from the dependency graph: for each call edge, a latency or error alert on
  the callee inhibits latency and error alerts on the caller; and ``KubeNodeNotReady`` inhibits
  ``KubePodNotReady`` on the same node.
- **Foresight's route**: each incident arrives as one alert (``alertname=ForesightIncident``,
  ``incident``, ``root_cause_service``), ``group_by: [incident]``, the same timers as the default,
  to two receivers: one that notifies once per incident (``send_resolved: false``: the incident
  still resolves in Alertmanager, the API and the dashboard, it pages no one) and, to count what the
  resolutions would cost, one that also sends them (``send_resolved: true``, as the baselines do).

Every duration (timers, ``resolve_timeout``, the alert GC and maintenance intervals) is divided by
the replay's ``scale``, as are the alerts' own times, so hours of alerts replay in minutes with
each Alertmanager behaving as it would in real time. The :class:`WebhookReceiver` is a small HTTP
server in a thread that records every notification with its arrival time.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from foresight.correlate.graph import ServiceGraph

__all__ = [
    "DEFAULT_TIMERS_S",
    "Received",
    "WebhookReceiver",
    "alertmanager_args",
    "foresight_config",
    "hand_tuned",
    "kube_prometheus_default",
    "parse_time",
    "postable",
    "rfc3339",
    "scaled",
    "serve_webhooks",
]

#: kube-prometheus-stack's route timers, in seconds of real time
DEFAULT_TIMERS_S = {"group_wait": 30.0, "group_interval": 300.0, "repeat_interval": 43_200.0}
_RESOLVE_TIMEOUT_S = 300.0
_GC_INTERVAL_S, _MAINTENANCE_INTERVAL_S = 1800.0, 900.0  # Alertmanager's defaults
#: alerts about a service's requests: what a failing callee explains on its callers
_SYMPTOMS = "ServiceLatencyHigh|ServiceErrorRateHigh"


def scaled(seconds: float, scale: float) -> str:
    """An Alertmanager duration for ``seconds`` of simulated time replayed ``scale`` times faster.

    >>> scaled(300.0, 200.0), scaled(30.0, 1.0)
    ('1500ms', '30000ms')
    """
    return f"{max(1, round(1000.0 * seconds / scale))}ms"


def _route(url: str, scale: float, group_by: Sequence[str]) -> dict[str, Any]:
    return {
        "global": {"resolve_timeout": scaled(_RESOLVE_TIMEOUT_S, scale)},
        "route": {"receiver": "webhook", "group_by": list(group_by),
                  **{name: scaled(s, scale) for name, s in DEFAULT_TIMERS_S.items()}},
        "receivers": [_receiver("webhook", url, True)],
    }


def _receiver(name: str, url: str, send_resolved: bool) -> dict[str, Any]:
    return {"name": name, "webhook_configs": [{"url": url, "send_resolved": send_resolved}]}


def _chart_inhibit_rules() -> list[dict[str, Any]]:
    """kube-prometheus-stack's default inhibit rules (values.yaml, ``alertmanager.config``)."""
    return [
        {"source_matchers": ['severity="critical"'], "target_matchers": ['severity=~"warning|info"'],
         "equal": ["namespace", "alertname"]},
        {"source_matchers": ['severity="warning"'], "target_matchers": ['severity="info"'],
         "equal": ["namespace", "alertname"]},
        {"source_matchers": ['alertname="InfoInhibitor"'], "target_matchers": ['severity="info"'],
         "equal": ["namespace"]},
    ]


def kube_prometheus_default(url: str, scale: float) -> dict[str, Any]:
    """Baseline (a): the chart's default route and inhibit rules, notifications to ``url``."""
    return {**_route(url, scale, ["namespace"]), "inhibit_rules": _chart_inhibit_rules()}


def hand_tuned(url: str, graph: ServiceGraph, scale: float) -> dict[str, Any]:
    """Baseline (b): grouped by alert and service, with one inhibit rule per call edge of ``graph``."""
    edges = [
        {"source_matchers": [f'service="{callee}"', f'alertname=~"{_SYMPTOMS}"'],
         "target_matchers": [f'service="{caller}"', f'alertname=~"{_SYMPTOMS}"']}
        for caller, callee in sorted(graph.edges)
    ]
    node = {"source_matchers": ['alertname="KubeNodeNotReady"'], "target_matchers": ['alertname="KubePodNotReady"'],
            "equal": ["node"]}
    return {**_route(url, scale, ["alertname", "service"]), "inhibit_rules": [*_chart_inhibit_rules(), node, *edges]}


def foresight_config(once_url: str, resolved_url: str, scale: float) -> dict[str, Any]:
    """Foresight's incidents, one alert each, one group per incident, the default's timers: notified
    once to ``once_url``, and with their resolutions to ``resolved_url`` (two sibling routes, so
    each receiver has its own groups and timers, as if it were alone).

    >>> routes = foresight_config("http://a", "http://b", 200.0)["route"]["routes"]
    >>> [(r["receiver"], r.get("continue", False)) for r in routes]
    [('once', True), ('with-resolutions', False)]
    """
    config = _route(once_url, scale, ["incident"])
    config["route"] |= {"receiver": "once",
                        "routes": [{"receiver": "once", "continue": True}, {"receiver": "with-resolutions"}]}
    config["receivers"] = [_receiver("once", once_url, False), _receiver("with-resolutions", resolved_url, True)]
    return config


def alertmanager_args(scale: float) -> list[str]:
    """Flags that scale Alertmanager's own housekeeping like its timers."""
    return [f"--alerts.gc-interval={scaled(_GC_INTERVAL_S, scale)}",
            f"--data.maintenance-interval={scaled(_MAINTENANCE_INTERVAL_S, scale)}"]


def rfc3339(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, tz=UTC).isoformat(timespec="microseconds")


def parse_time(text: str) -> float:
    """Epoch seconds of an RFC 3339 time as Alertmanager writes it (nanoseconds are cut to micro).

    >>> parse_time("1970-01-01T00:00:01.5Z"), parse_time(rfc3339(12.25))
    (1.5, 12.25)
    """
    return datetime.fromisoformat(text).timestamp()


def postable(labels: Mapping[str, str], starts_at: float, ends_at: float,
             annotations: Mapping[str, str] | None = None) -> dict[str, Any]:
    """One alert as ``POST /api/v2/alerts`` takes it (times in epoch seconds)."""
    return {"labels": dict(labels), "annotations": dict(annotations or {}), "startsAt": rfc3339(starts_at),
            "endsAt": rfc3339(ends_at), "generatorURL": ""}


@dataclass(frozen=True)
class Received:
    """One webhook notification: the path it came to, when (epoch seconds) and its JSON body."""

    path: str
    at: float
    body: Mapping[str, Any]


class WebhookReceiver:
    """Records every notification POSTed to it, answering 200 at once (so no sender retries)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._lock = threading.Lock()

    def record(self, path: str, body: Mapping[str, Any]) -> None:
        with self._lock:
            self.received.append(Received(path, time.time(), body))

    def on(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]


@contextmanager
def serve_webhooks(receiver: WebhookReceiver) -> Iterator[str]:
    """Serve ``receiver`` on 127.0.0.1 in a thread; yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except json.JSONDecodeError:
                self.send_response(400)
                self.end_headers()
                return
            receiver.record(self.path, body)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: Alertmanager posts hundreds of times."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
