"""Alertmanager's API v2 as an alert sink: ``POST /api/v2/alerts``, with a retry queue.

Alerts go out as Alertmanager's JSON list of ``postableAlert`` objects (labels, annotations,
``startsAt``, ``endsAt``, ``generatorURL``). Delivery must never stall or crash the detection
loop that calls :meth:`AlertmanagerClient.send`, and an alert must not be lost because
Alertmanager was down for a while:

- **Queue.** Every alert handed in waits in a queue keyed by its fingerprint (its label set, as
  Alertmanager identifies alerts) until Alertmanager has accepted it. A newer state of the same
  alert replaces the queued one (a resolution overtakes the firing it ends), so the queue
  holds at most one entry per alert; beyond ``max_pending`` alerts the oldest are dropped, with
  a warning.
- **Backoff.** After a failed delivery nothing is sent before ``backoff_s`` has passed, doubling
  with each further failure up to ``max_backoff_s`` (or longer when Alertmanager's
  ``Retry-After`` says so); the next call after that tries again with everything queued.
  A call during backoff only queues, so a dead Alertmanager costs the loop nothing, and a
  hanging one at most ``timeout_s`` per attempt.
- **Errors.** Unreachable, timing out, 5xx or 429 is a
  :class:`~foresight.errors.ServiceUnavailable` naming the URL: logged, kept, retried. A 400 means
  Alertmanager rejects the alerts themselves: retrying cannot help, so that batch is logged
  with Alertmanager's message and dropped. Any other answer (401, 403, 404: wrong URL or
  credentials) is logged as a configuration error and retried with backoff, since an operator
  can fix it without restarting Foresight.
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, Self

import httpx

from foresight.clock import Clock
from foresight.errors import ConfigError, InputError, ServiceUnavailable

__all__ = ["AlertmanagerClient", "fingerprint"]

_log = logging.getLogger(__name__)

Fingerprint = tuple[tuple[str, str], ...]


def fingerprint(alert: Mapping[str, Any]) -> Fingerprint:
    """What identifies an alert to Alertmanager: its label set.

    >>> fingerprint({"labels": {"job": "api", "alertname": "A"}, "endsAt": "..."})
    (('alertname', 'A'), ('job', 'api'))
    """
    return tuple(sorted(alert["labels"].items()))


class AlertmanagerClient:
    """Sends alerts to one Alertmanager (``base_url`` such as ``http://alertmanager:9093``).

    ``clock`` times the backoff. ``batch_size`` alerts go in one request at most. ``transport``
    replaces httpx's default one (TLS settings, a proxy). Use it as a context manager, or call
    :meth:`close`.
    """

    def __init__(
        self,
        base_url: str,
        clock: Clock,
        *,
        timeout_s: float = 5.0,
        max_pending: int = 10_000,
        batch_size: int = 1_000,
        backoff_s: float = 1.0,
        max_backoff_s: float = 60.0,
        bearer_token: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"Alertmanager URL must start with http:// or https://, not {base_url!r}")
        for name, value in (("timeout_s", timeout_s), ("backoff_s", backoff_s), ("max_backoff_s", max_backoff_s)):
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(f"Alertmanager client: {name} must be a positive number of seconds, not {value}")
        if max_pending < 1 or batch_size < 1:
            raise ConfigError(
                f"Alertmanager client: max_pending ({max_pending}) and batch_size ({batch_size}) must be >= 1"
            )
        self.base_url = base_url.rstrip("/")
        self.url = f"{self.base_url}/api/v2/alerts"
        self.clock = clock
        self.timeout_s = float(timeout_s)
        self.max_pending, self.batch_size = max_pending, batch_size
        self.backoff_s, self.max_backoff_s = float(backoff_s), float(max_backoff_s)
        headers = {"Authorization": f"Bearer {bearer_token}"} if bearer_token is not None else {}
        self._client = httpx.Client(timeout=self.timeout_s, headers=headers, transport=transport)
        self._pending: OrderedDict[Fingerprint, Mapping[str, Any]] = OrderedDict()
        self._failures = 0
        self._next_attempt = -math.inf
        self.delivered = 0
        self.dropped = 0

    @property
    def pending(self) -> int:
        """Alerts waiting for Alertmanager to accept them."""
        return len(self._pending)

    def send(self, alerts: Sequence[Mapping[str, Any]]) -> None:
        """Queue ``alerts`` and deliver everything queued, unless a backoff is running. Never raises
        for Alertmanager's sake; a call with no alerts just retries what is queued."""
        for alert in alerts:
            key = fingerprint(alert)
            self._pending.pop(key, None)
            self._pending[key] = alert
        overflow = len(self._pending) - self.max_pending
        if overflow > 0:
            for _ in range(overflow):
                self._pending.popitem(last=False)
            self.dropped += overflow
            _log.warning(
                "Alertmanager at %s: queue full, dropped the %d oldest undelivered alert(s)", self.url, overflow
            )
        if self._pending and self.clock.now() >= self._next_attempt:
            self.flush()

    def flush(self) -> bool:
        """Try to deliver every queued alert now, backoff or not; True when none is left."""
        while self._pending:
            batch = list(self._pending.items())[: self.batch_size]
            try:
                self._post([alert for _, alert in batch])
            except InputError as exc:
                _log.error("%s; dropping these %d alert(s)", exc, len(batch))
                self.dropped += len(batch)
            except (ServiceUnavailable, ConfigError) as exc:
                self._back_off(exc)
                return False
            else:
                self.delivered += len(batch)
            for key, _ in batch:
                del self._pending[key]
        self._failures, self._next_attempt = 0, -math.inf
        return True

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _post(self, alerts: list[Mapping[str, Any]]) -> None:
        try:
            response = self._client.post(self.url, json=alerts)
        except httpx.TimeoutException as exc:
            raise ServiceUnavailable(
                f"Alertmanager at {self.url} did not answer within {self.timeout_s:g} s ({type(exc).__name__})"
            ) from exc
        except httpx.TransportError as exc:
            raise ServiceUnavailable(
                f"Alertmanager at {self.url} cannot be reached: {exc or type(exc).__name__}"
            ) from exc
        status = response.status_code
        if status < 300:
            return
        detail = response.text.strip()[:500]
        if status >= 500 or status == 429:
            raise ServiceUnavailable(
                f"Alertmanager at {self.url} answered HTTP {status}: {detail}", retry_after_s=_retry_after_s(response)
            )
        if status == 400:
            raise InputError(f"Alertmanager at {self.url} rejected the alerts (HTTP 400): {detail}")
        raise ConfigError(
            f"Alertmanager at {self.url} answered HTTP {status}: check the URL and credentials ({detail})"
        )

    def _back_off(self, exc: ServiceUnavailable | ConfigError) -> None:
        self._failures += 1
        delay = min(self.max_backoff_s, self.backoff_s * 2.0 ** (self._failures - 1))
        if isinstance(exc, ServiceUnavailable) and exc.retry_after_s is not None:
            delay = max(delay, exc.retry_after_s)
        self._next_attempt = self.clock.now() + delay
        log = _log.error if isinstance(exc, ConfigError) else _log.warning
        log("%s; keeping %d alert(s), next try in %.3g s", exc, len(self._pending), delay)


def _retry_after_s(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None
