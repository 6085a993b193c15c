"""Prometheus as a metrics source: the HTTP API's range and instant queries, read into Series.

:class:`PrometheusSource` implements :class:`foresight.ports.MetricsSource` over
``GET /api/v1/query_range`` (and ``/api/v1/query`` for one instant), so a forecaster can be fitted
on a live cluster's history and the reconcile loop can read the present.

What the HTTP API does that a caller must not have to think about:

- **Resolution limit.** Prometheus refuses a range query of more than 11,000 points per series.
  A longer range is split into consecutive chunks on the same step grid (computed in integer
  milliseconds, Prometheus' own time unit, so chunk edges never drift) and the chunks are joined
  per label set.
- **Gaps.** A range query returns no point where a series had no sample within the lookback
  window (5 min by default): points are *absent*, not NaN. :func:`align_to_grid` puts a series
  back on the full grid with NaN in the gaps, which is what forecasters read.
- **Special values.** Sample values come as strings; ``"NaN"``, ``"+Inf"`` and ``"-Inf"`` become
  the float values.
- **Counters.** A counter drops to zero when its process restarts; :func:`counter_increase` turns
  raw counter samples into per-interval increases that treat a drop as a reset, like PromQL's
  ``increase``.
- **Errors.** Bad PromQL (``bad_data``, ``execution``) is an :class:`~foresight.errors.InputError`
  that quotes the query and Prometheus' message; a Prometheus that is down, times out or answers
  5xx is a :class:`~foresight.errors.ServiceUnavailable` naming the URL (the control loop records
  it and tries again next period); a URL that is not a Prometheus API, or refused credentials,
  is a :class:`~foresight.errors.ConfigError`.

Only float samples are read; native-histogram samples are left out.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any, Self

import httpx
import numpy as np

from foresight.errors import ConfigError, InputError, ServiceUnavailable
from foresight.series import Series

__all__ = ["MAX_POINTS_PER_SERIES", "PrometheusSource", "align_to_grid", "counter_increase", "parse_result"]

_log = logging.getLogger(__name__)

#: Prometheus rejects range queries that would return more points than this per series.
MAX_POINTS_PER_SERIES = 11_000

# errorType values that mean "try again later", not "fix the query".
_TEMPORARY_ERRORS = frozenset({"timeout", "canceled", "unavailable"})


class PrometheusSource:
    """Reads series from a Prometheus server's HTTP API (``base_url`` such as ``http://prom:9090``).

    ``bearer_token`` and ``headers`` go with every request (a token for a managed Prometheus, a
    tenant header for Thanos or Mimir). ``transport`` replaces httpx's default one (custom TLS,
    retries, a proxy). Use it as a context manager, or call :meth:`close`, to release connections.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 10.0,
        bearer_token: str | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"Prometheus base_url must start with http:// or https://, not {base_url!r}")
        if not (math.isfinite(timeout_s) and timeout_s > 0):
            raise ConfigError(f"Prometheus timeout_s must be a positive number of seconds, not {timeout_s}")
        self.base_url = base_url.rstrip("/")
        self.timeout_s = float(timeout_s)
        all_headers = dict(headers or {})
        if bearer_token is not None:
            all_headers["Authorization"] = f"Bearer {bearer_token}"
        self._client = httpx.Client(
            base_url=self.base_url, timeout=self.timeout_s, headers=all_headers, transport=transport
        )

    def query_range(self, query: str, start: float, end: float, step_s: float) -> list[Series]:
        """Evaluate ``query`` at ``start, start + step_s, ... <= end``; one Series per label set.

        Times are Unix seconds, kept to the millisecond as Prometheus does. Ranges of more than
        :data:`MAX_POINTS_PER_SERIES` points are fetched in chunks and joined.
        """
        start_ms, end_ms, step_ms = _grid_ms(start, end, step_s)
        chunk_ms = step_ms * MAX_POINTS_PER_SERIES
        parts: dict[tuple[tuple[str, str], ...], list[Series]] = {}
        for chunk_start in range(start_ms, end_ms + 1, chunk_ms):
            chunk_end = min(chunk_start + chunk_ms - step_ms, end_ms)
            params = {
                "query": query,
                "start": _seconds(chunk_start),
                "end": _seconds(chunk_end),
                "step": _seconds(step_ms),
            }
            for series in parse_result(self._get("/api/v1/query_range", params, query)):
                parts.setdefault(_key(series.labels), []).append(series)
        return [
            Series(
                chunks[0].labels,
                np.concatenate([c.timestamps for c in chunks]),
                np.concatenate([c.values for c in chunks]),
            )
            for _, chunks in sorted(parts.items())
        ]

    def query(self, query: str, time: float) -> list[Series]:
        """Evaluate ``query`` at one instant ``time`` (Unix seconds).

        A vector answer gives one single-point Series per label set, a scalar one Series with no
        labels, a range selector (``metric[5m]``) the raw samples of each series.
        """
        if not math.isfinite(time):
            raise InputError(f"Prometheus query time must be a finite Unix time, not {time}")
        params = {"query": query, "time": _seconds(round(time * 1000))}
        return parse_result(self._get("/api/v1/query", params, query))

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _get(self, path: str, params: Mapping[str, str], query: str) -> Mapping[str, Any]:
        """GET an API path and return its ``data``, mapping every failure to a precise error."""
        url = f"{self.base_url}{path}"
        try:
            response = self._client.get(path, params=params)
        except httpx.TimeoutException as exc:
            raise ServiceUnavailable(
                f"Prometheus at {url} did not answer within {self.timeout_s:g} s ({type(exc).__name__})"
            ) from exc
        except httpx.TransportError as exc:
            raise ServiceUnavailable(
                f"Prometheus at {url} cannot be reached: {exc or type(exc).__name__}"
            ) from exc
        return _data(response, url, query)


def _data(response: httpx.Response, url: str, query: str) -> Mapping[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    error_type = body.get("errorType") if isinstance(body, dict) else None
    error = body.get("error") if isinstance(body, dict) else None
    status = response.status_code
    if status >= 500 or status == 429 or error_type in _TEMPORARY_ERRORS:
        raise ServiceUnavailable(
            f"Prometheus at {url} answered HTTP {status}" + (f" ({error_type}: {error})" if error else ""),
            retry_after_s=_retry_after_s(response),
        )
    if isinstance(body, dict) and body.get("status") == "error":
        raise InputError(f"Prometheus rejected the query {query!r} ({error_type}): {error}")
    if status in (401, 403):
        raise ConfigError(
            f"Prometheus at {url} refused the request (HTTP {status}): check the bearer token or headers"
        )
    if status != 200 or not isinstance(body, dict) or body.get("status") != "success" or "data" not in body:
        raise ConfigError(f"{url} answered HTTP {status} without a Prometheus API result: check base_url")
    for warning in body.get("warnings") or ():
        _log.warning("Prometheus at %s warns about %r: %s", url, query, warning)
    return body["data"]


def _retry_after_s(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None


def parse_result(data: Mapping[str, Any]) -> list[Series]:
    """Turn the ``data`` of a query answer into Series (``matrix``, ``vector`` or ``scalar``).

    >>> data = {"resultType": "matrix", "result": [{"metric": {"__name__": "up", "job": "api"},
    ...         "values": [[1700000000, "1"], [1700000015.5, "NaN"], [1700000031, "+Inf"]]}]}
    >>> [s] = parse_result(data)
    >>> dict(s.labels), s.timestamps.tolist(), s.values.tolist()
    ({'__name__': 'up', 'job': 'api'}, [1700000000.0, 1700000015.5, 1700000031.0], [1.0, nan, inf])
    """
    kind, result = data.get("resultType"), data.get("result", [])
    try:
        if kind == "matrix":
            return [_series(item["metric"], item.get("values") or []) for item in result]
        if kind == "vector":
            return [_series(item["metric"], [item["value"]]) for item in result]
        if kind == "scalar":
            return [_series({}, [result])]
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise InputError(f"Prometheus {kind} result is malformed: {type(exc).__name__}: {exc}") from exc
    raise InputError(
        f"Prometheus result of type {kind!r} cannot be read as series (expected matrix, vector, scalar)"
    )


def _series(metric: Mapping[str, str], points: list[list[Any]]) -> Series:
    timestamps = np.asarray([p[0] for p in points], dtype=np.float64)
    values = np.asarray([p[1] for p in points], dtype=np.float64)
    return Series(metric, timestamps, values)


def align_to_grid(series: Series, start: float, end: float, step_s: float) -> Series:
    """Place ``series`` on the grid ``start, start + step_s, ... <= end``, NaN where no sample is.

    A sample goes to the nearest grid point within half a step (later samples win a shared
    point); samples off the grid are dropped. Forecasters need a regular grid; a range query
    leaves gaps out instead.

    >>> s = Series({"job": "api"}, [0.0, 10.0, 41.0], [1.0, 2.0, 5.0])
    >>> align_to_grid(s, 0.0, 50.0, 10.0).values.tolist()
    [1.0, 2.0, nan, nan, 5.0, nan]
    """
    if not (math.isfinite(step_s) and step_s > 0) or not (math.isfinite(start) and math.isfinite(end)):
        raise InputError(
            f"align_to_grid: need finite start <= end and step_s > 0, got {start}, {end}, {step_s}"
        )
    if end < start:
        raise InputError(f"align_to_grid: end ({end}) is before start ({start})")
    n = math.floor((end - start) / step_s + 1e-9) + 1
    grid = start + step_s * np.arange(n)
    slot = np.rint((series.timestamps - start) / step_s).astype(np.int64)
    on_grid = (slot >= 0) & (slot < n)
    on_grid[on_grid] &= np.abs(series.timestamps[on_grid] - grid[slot[on_grid]]) <= step_s / 2
    slot, values = slot[on_grid], series.values[on_grid]
    last_in_slot = np.ones(slot.size, dtype=bool)
    last_in_slot[:-1] = slot[1:] != slot[:-1]
    aligned = np.full(n, np.nan)
    aligned[slot[last_in_slot]] = values[last_in_slot]
    return Series(series.labels, grid, aligned)


def counter_increase(series: Series) -> Series:
    """Per-interval increase of a counter; a drop means the counter was reset to zero.

    ``increase[i] = v[i] - v[p]``, where ``p`` is the last sample before ``i`` with a finite
    value (so the increase over a gap is kept, not lost), or ``v[i]`` when ``v[i] < v[p]`` (a
    restart: the counter counted ``v[i]`` since zero). NaN samples give NaN. One value per sample
    after the first, at that sample's time; divide by the time steps for a rate.

    >>> c = Series({}, [0.0, 15.0, 30.0, 45.0, 60.0], [10.0, 14.0, 3.0, float("nan"), 9.0])
    >>> inc = counter_increase(c)
    >>> inc.timestamps.tolist(), inc.values.tolist()
    ([15.0, 30.0, 45.0, 60.0], [4.0, 3.0, nan, 6.0])
    """
    v = series.values
    if v.size < 2:
        return Series(series.labels, [], [])
    finite = np.isfinite(v)
    last_finite = np.maximum.accumulate(np.where(finite, np.arange(v.size), -1))
    prev = last_finite[:-1]
    cur = v[1:]
    base = v[np.maximum(prev, 0)]
    delta = cur - base
    increase = np.where(delta >= 0, delta, cur)
    increase[(prev < 0) | ~finite[1:]] = np.nan
    return Series(series.labels, series.timestamps[1:], increase)


def _grid_ms(start: float, end: float, step_s: float) -> tuple[int, int, int]:
    if not all(math.isfinite(x) for x in (start, end, step_s)):
        raise InputError(
            f"Prometheus range query needs finite start, end and step_s, got {start}, {end}, {step_s}"
        )
    start_ms, end_ms, step_ms = round(start * 1000), round(end * 1000), round(step_s * 1000)
    if step_ms < 1:
        raise InputError(f"Prometheus range query step_s must be at least 0.001 s, not {step_s}")
    if end_ms < start_ms:
        raise InputError(f"Prometheus range query end ({end}) is before start ({start})")
    return start_ms, end_ms, step_ms


def _seconds(ms: int) -> str:
    return f"{ms / 1000:.3f}"


def _key(labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))
