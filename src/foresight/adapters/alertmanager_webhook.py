"""Alertmanager's webhook JSON (version 4) read into the correlator's :class:`~foresight.correlate.model.Alert`.

Any Alertmanager can route alerts to Foresight with a ``webhook_configs`` receiver pointing at
``POST /api/v1/alerts/webhook``; the body is Alertmanager's notification::

    {"version": "4", "groupKey": ..., "truncatedAlerts": 0, "status": "firing", "receiver": ...,
     "groupLabels": {...}, "commonLabels": {...}, "commonAnnotations": {...}, "externalURL": ...,
     "alerts": [{"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"}]}

:class:`WebhookMessage` validates it (a malformed body is refused whole with pydantic's account of
every problem, so the sender sees what to fix); :func:`alerts_of` turns it into alerts:

- **key**: Alertmanager's ``fingerprint``, or the same FNV-1a hash of the label set computed here
  (:func:`label_fingerprint`) when a sender leaves it out, so a later notification about the same
  alert (its resolution) replaces it. Foresight's own alerts are keyed the same way
  (:func:`alert_of_postable`), so one that comes back through a user's Alertmanager is the same alert;
- **service**: the first of :data:`SERVICE_LABELS` present (``service``, Istio's
  ``destination_workload``, Foresight's ``workload``, ``app_kubernetes_io_name``, ``app``,
  ``deployment``); failing those, ``job``, unless the alert names a pod (then the pod's service in
  the topology is the better guess, and kube-state-metrics' ``job`` would be wrong); else none;
- **component**: ``pod``, else ``node``, else ``container``: where within the service it fired;
- **metric**: ``signal`` or ``metric`` label; **score**: the ``score`` annotation when it is a number
  in [0, 1], else 1.0;
- **end**: ``endsAt`` when the alert is resolved; Alertmanager writes ``0001-01-01T00:00:00Z`` (or a
  time in the future) for one still firing, which is no end.

Foresight's own incident alerts (``alertname`` :data:`INCIDENT_ALERTNAME`) are skipped: routed back to
Foresight they would otherwise become alerts of the incidents they summarise.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from foresight.correlate.model import Alert
from foresight.errors import InputError

__all__ = [
    "COMPONENT_LABELS",
    "INCIDENT_ALERTNAME",
    "SERVICE_LABELS",
    "WebhookAlert",
    "WebhookMessage",
    "alert_of_postable",
    "alerts_of",
    "label_fingerprint",
    "parse_message",
]

#: Labels naming the service an alert is about, most specific first.
SERVICE_LABELS = ("service", "destination_workload", "workload", "app_kubernetes_io_name", "app", "deployment")
#: Labels naming where within a service it fired, most specific first.
COMPONENT_LABELS = ("pod", "node", "container")
#: The alertname of the incidents Foresight sends to Alertmanager.
INCIDENT_ALERTNAME = "ForesightIncident"

_FNV_OFFSET, _FNV_PRIME, _MASK = 14695981039346656037, 1099511628211, (1 << 64) - 1


class WebhookAlert(BaseModel):
    """One alert of a notification (fields Foresight does not read are ignored)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    status: Literal["firing", "resolved"]
    labels: dict[str, str] = Field(min_length=1, description="The alert's label set (alertname at least).")
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime
    endsAt: datetime | None = None
    generatorURL: str = ""
    fingerprint: str = ""

    @field_validator("labels")
    @classmethod
    def _named(cls, labels: dict[str, str]) -> dict[str, str]:
        if not labels.get("alertname"):
            raise ValueError("an alert needs an 'alertname' label")
        return labels


class WebhookMessage(BaseModel):
    """Alertmanager's webhook notification, version 4."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    version: Literal["4"]
    status: Literal["firing", "resolved"]
    receiver: str = ""
    groupKey: str = ""
    truncatedAlerts: int = Field(0, ge=0)
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str = ""
    alerts: list[WebhookAlert]


def parse_message(body: bytes | str) -> WebhookMessage:
    """Validate a webhook body; :class:`~foresight.errors.InputError` listing every problem with its place.

    >>> parse_message('{"version": "4", "status": "firing", "alerts": [{"status": "firing", "labels": {}}]}')
    Traceback (most recent call last):
    ...
    foresight.errors.InputError: Alertmanager webhook body rejected: alerts.0.labels: Dictionary should have at least 1 item after validation, not 0; alerts.0.startsAt: Field required
    """
    try:
        return WebhookMessage.model_validate_json(body)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
                             for e in exc.errors())
        raise InputError(f"Alertmanager webhook body rejected: {problems}") from None


def label_fingerprint(labels: Mapping[str, str]) -> str:
    """Alertmanager's (Prometheus') fingerprint of a label set: FNV-1a 64 over sorted name, value pairs.

    >>> label_fingerprint({"alertname": "A", "job": "api"}) == label_fingerprint({"job": "api", "alertname": "A"})
    True
    >>> len(label_fingerprint({"alertname": "A"}))
    16
    """
    h = _FNV_OFFSET
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in part.encode() + b"\xff":
                h = ((h ^ byte) * _FNV_PRIME) & _MASK
    return f"{h:016x}"


def service_of(labels: Mapping[str, str]) -> str | None:
    """The service an alert is about, by :data:`SERVICE_LABELS`, then ``job`` when no pod is named.

    >>> service_of({"alertname": "X", "app": "cart", "job": "kubernetes-pods"}), service_of({"job": "api"})
    ('cart', 'api')
    >>> service_of({"job": "kube-state-metrics", "pod": "cart-5f7-x2"}) is None
    True
    """
    for name in SERVICE_LABELS:
        if labels.get(name):
            return labels[name]
    if labels.get("job") and not labels.get("pod"):
        return labels["job"]
    return None


def _component(labels: Mapping[str, str]) -> str | None:
    return next((labels[n] for n in COMPONENT_LABELS if labels.get(n)), None)


def _score(annotations: Mapping[str, str]) -> float:
    try:
        score = float(annotations.get("score", "nan"))
    except ValueError:
        return 1.0
    return score if 0.0 <= score <= 1.0 else 1.0


def _seconds(t: datetime) -> float:
    return (t if t.tzinfo is not None else t.replace(tzinfo=UTC)).timestamp()


def _alert(labels: Mapping[str, str], annotations: Mapping[str, str], starts_at: float, ends_at: float | None,
           key: str, source: str) -> Alert:
    return Alert(key=key, name=labels.get("alertname", ""), service=service_of(labels), starts_at=starts_at,
                 ends_at=ends_at, labels=labels, component=_component(labels),
                 metric=labels.get("signal") or labels.get("metric") or None, score=_score(annotations),
                 source=source)


def alerts_of(message: WebhookMessage) -> list[Alert]:
    """The alerts of a notification, Foresight's own incidents left out (module docstring)."""
    out = []
    for a in message.alerts:
        if a.labels.get("alertname") == INCIDENT_ALERTNAME:
            continue
        ends = _seconds(a.endsAt) if a.status == "resolved" and a.endsAt is not None else None
        if a.status == "resolved" and ends is None:
            ends = _seconds(a.startsAt)  # resolved without a time: it ended no later than it was sent
        out.append(_alert(a.labels, a.annotations, _seconds(a.startsAt), ends,
                          a.fingerprint or label_fingerprint(a.labels), "alertmanager"))
    return out


def alert_of_postable(alert: Mapping[str, Any], now: float) -> Alert:
    """One of Foresight's own alerts as it goes to Alertmanager (API v2 ``postableAlert``), as the
    correlator sees it; ``now`` dates it when it carries no ``startsAt``, and tells an ``endsAt`` in
    the past (resolved) from one in the future (Alertmanager's resolve timeout)."""
    labels = {str(k): str(v) for k, v in (alert.get("labels") or {}).items()}
    if not labels:
        raise InputError("an alert without labels cannot be correlated")
    starts = _parse_time(alert.get("startsAt"), now)
    ends = _parse_time(alert.get("endsAt"), None)
    return _alert(labels, {str(k): str(v) for k, v in (alert.get("annotations") or {}).items()}, starts,
                  ends if ends is not None and ends <= now else None, label_fingerprint(labels), "foresight")


def _parse_time(value: Any, default: float | None) -> float | None:
    if not value:
        return default
    try:
        return _seconds(datetime.fromisoformat(str(value)))
    except ValueError as exc:
        raise InputError(f"alert time {value!r} is not an RFC 3339 time") from exc
