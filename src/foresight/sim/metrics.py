"""The series the simulator records each step, and how a query reads them back.

Every step the simulator records one value per service (label ``service``) of each metric below,
stamped with the step's end. :func:`query_range` answers Prometheus-style selectors over that
history: ``name``, ``name{}``, ``name{service="api"}``, ``name{service!="api"}`` or
``name{service=~"api|web"}``. Like Prometheus, the value at a query time is the latest sample at
or before it, if it is at most ``LOOKBACK_S`` old.

A query's cost does not grow with the number of services it does not select: a
:class:`ServiceIndex` maps each service to its column once, so an equality matcher finds its
series by lookup; only ``!=``, ``=~`` and ``!~`` test every service name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from types import MappingProxyType

import numpy as np

from foresight.errors import InputError
from foresight.series import Series

__all__ = ["LOOKBACK_S", "METRICS", "ServiceIndex", "parse_selector", "query_range"]

METRICS: dict[str, str] = {
    "foresight_offered_rps": "requests per second arriving at the service",
    "foresight_served_rps": "requests per second the service completed (its own part)",
    "foresight_dropped_rps": "requests per second failed at the service (shed or timed out)",
    "foresight_error_ratio": "end-to-end failed fraction, including downstream failures",
    "foresight_latency_p95_seconds": "end-to-end p95 latency, including the slowest downstream call",
    "foresight_latency_mean_seconds": "end-to-end mean latency, including the slowest downstream call",
    "foresight_cpu_utilisation": "mean CPU use of ready pods as a fraction of their request",
    "foresight_memory_utilisation": "mean memory use of ready pods as a fraction of their limit",
    "foresight_capacity_rps": "requests per second the ready pods can serve",
    "foresight_replicas_desired": "replicas asked for (the workload's spec.replicas)",
    "foresight_replicas_current": "pods placed on nodes, starting or ready",
    "foresight_replicas_ready": "pods ready to serve",
    "foresight_pods_pending": "pods that fit on no node",
    "foresight_slo_violation": "1 when p95 latency or error ratio is above the service's SLO, else 0",
}
LOOKBACK_S = 300.0

_SELECTOR = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{(.*)\})?\s*$")
_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')


@lru_cache(maxsize=4096)
def parse_selector(query: str) -> tuple[str, tuple[tuple[str, str, str], ...]]:
    """The metric name and the ``(label, op, value)`` matchers of a selector.

    >>> parse_selector('foresight_offered_rps{service="api"}')
    ('foresight_offered_rps', (('service', '=', 'api'),))
    """
    match = _SELECTOR.match(query)
    if match is None:
        raise InputError(f"query {query!r}: expected a selector such as foresight_offered_rps{{service=\"api\"}}")
    name, body = match.group(1), (match.group(2) or "").strip()
    if name not in METRICS:
        raise InputError(f"query {query!r}: unknown metric {name!r}; the simulator records {', '.join(METRICS)}")
    matchers = []
    pos = 0
    while pos < len(body):
        m = _MATCHER.match(body, pos)
        if m is None:
            raise InputError(f"query {query!r}: cannot parse the label matchers at {body[pos:]!r}")
        if m.group(1) != "service":
            raise InputError(f"query {query!r}: unknown label {m.group(1)!r}; the simulator's series carry 'service'")
        matchers.append((m.group(1), m.group(2), m.group(3).replace('\\"', '"')))
        pos = m.end()
    return name, tuple(matchers)


class ServiceIndex:
    """The services' names and each one's column in the history, built once per simulator.

    >>> index = ServiceIndex(["api", "web", "db"])
    >>> index.select((("service", "=", "web"),)), index.select((("service", "=~", "api|db"),))
    ((1,), (0, 2))
    """

    def __init__(self, services: Sequence[str]) -> None:
        self.names = tuple(services)
        self._column = {name: i for i, name in enumerate(self.names)}
        #: each column's series labels, made once: a query of every service answers thousands of series
        self.labels = tuple(MappingProxyType({"service": name}) for name in self.names)

    def select(self, matchers: tuple[tuple[str, str, str], ...]) -> tuple[int, ...]:
        """Columns of the services every matcher accepts, in column order."""
        candidates: Sequence[int] = range(len(self.names))
        for _, op, value in matchers:  # an equality narrows to at most one column, without a scan
            if op == "=":
                i = self._column.get(value)
                candidates = [i] if i is not None and i in candidates else []
        return tuple(i for i in candidates if _accepts(self.names[i], matchers))


def _accepts(service: str, matchers: tuple[tuple[str, str, str], ...]) -> bool:
    for _, op, value in matchers:
        if op == "=" and service != value or op == "!=" and service == value:
            return False
        if op in ("=~", "!~") and (re.fullmatch(value, service) is None) == (op == "=~"):
            return False
    return True


def query_range(
    history: np.ndarray,
    first_s: float,
    step_s: float,
    services: ServiceIndex | Sequence[str],
    query: str,
    start: float,
    end: float,
    query_step_s: float,
) -> list[Series]:
    """Series for ``query`` at ``start, start + query_step_s, ... <= end`` from ``history``.

    ``history`` is [steps, metrics, services] (metrics in :data:`METRICS` order) with sample ``k``
    stamped ``first_s + k * step_s``. Series with no point in the range are left out. ``services``
    names the columns; a caller that queries often passes a :class:`ServiceIndex` built once.
    """
    if not query_step_s > 0 or not end >= start:
        raise InputError(f"query {query!r}: need step > 0 and end >= start, got step={query_step_s}, [{start}, {end}]")
    name, matchers = parse_selector(query)
    metric = list(METRICS).index(name)
    n = int(np.floor((end - start) / query_step_s + 1e-9)) + 1
    at = start + query_step_s * np.arange(n)
    k = np.floor((at - first_s) / step_s + 1e-9).astype(np.int64)
    k = np.minimum(k, history.shape[0] - 1)
    ok = (k >= 0) & (at - (first_s + k * step_s) <= LOOKBACK_S)
    if not ok.any():
        return []
    at, k = at[ok], k[ok]
    if not isinstance(services, ServiceIndex):
        services = ServiceIndex(services)
    columns = services.select(matchers)
    block = history[k, metric][:, list(columns)].T  # one gather for all the selected series
    # a regular grid: finite and increasing, checked once here for every series that shares it
    labels = services.labels
    return [Series.of_checked(labels[i], at, values) for i, values in zip(columns, block)]
