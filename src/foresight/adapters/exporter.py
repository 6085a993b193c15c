"""Serve scaling decisions as Prometheus metrics, so a stock HPA scales *before* the load arrives.

The predictive policy publishes, per workload, the load it predicts and the replicas it wants:

- ``ai_predicted_load{namespace, workload}``: the predicted load (the unit of the policy's
  load query, e.g. requests per second), a few minutes ahead;
- ``foresight_desired_replicas{namespace, workload}``: the replicas Foresight recommends.

Prometheus scrapes them; prometheus-adapter serves ``ai_predicted_load`` on the external metrics
API (a rule with ``seriesQuery: 'ai_predicted_load{namespace!="",workload!=""}'``,
``resources: {overrides: {namespace: {resource: namespace}}}`` and
``metricsQuery: 'max(<<.Series>>{<<.LabelMatchers>>}) by (workload)'``); an autoscaling/v2 HPA
reads it as an ``External`` metric selected by ``workload`` with an ``AverageValue`` target (the
load one replica serves). The HPA keeps its own stabilisation and rate limits; Foresight only
moves the signal forward in time. For a ScalingPolicy in mode ``hpa`` the HPA follows
``foresight_desired_replicas`` instead (``AverageValue`` 1, the benchmark's headline path), served by
the same kind of rule for that name (``foresight render autoscaling --kind hpa --form desired``
writes both the HPA and the rule); each series has one writer (``publish_load``,
``publish_replicas``).

Each exporter has its own ``CollectorRegistry``, not prometheus-client's global one, so several
can live in one process (and in tests) and only these gauges are exposed.
"""

from __future__ import annotations

import math
import operator
import threading
from collections.abc import Callable
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Gauge, make_asgi_app, start_http_server

from foresight.errors import ConfigError, InputError

__all__ = ["PredictionExporter"]


class PredictionExporter:
    """Holds the latest decision per ``(namespace, workload)`` and serves it on ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._load = Gauge(
            "ai_predicted_load",
            "Load Foresight predicts for the workload (unit of its load query), for an HPA External metric.",
            ["namespace", "workload"],
            registry=self.registry,
        )
        self._replicas = Gauge(
            "foresight_desired_replicas",
            "Replicas Foresight recommends for the workload.",
            ["namespace", "workload"],
            registry=self.registry,
        )
        self._server: tuple[WSGIServer, threading.Thread] | None = None

    def publish(self, namespace: str, workload: str, predicted_load: float, desired_replicas: int) -> None:
        """Set both gauges of one workload; a bad value raises and leaves the old ones served."""
        load = _load(namespace, workload, predicted_load)
        replicas = _replicas(namespace, workload, desired_replicas)
        self._load.labels(namespace, workload).set(load)
        self._replicas.labels(namespace, workload).set(replicas)

    def publish_load(self, namespace: str, workload: str, predicted_load: float) -> None:
        """Set the predicted load alone, where another decision writes the replicas (one writer per series)."""
        self._load.labels(namespace, workload).set(_load(namespace, workload, predicted_load))

    def publish_replicas(self, namespace: str, workload: str, desired_replicas: int) -> None:
        """Set the desired replicas alone: the predictive policy's, which an HPA follows."""
        self._replicas.labels(namespace, workload).set(_replicas(namespace, workload, desired_replicas))

    def forget(self, namespace: str, workload: str) -> None:
        """Stop exporting a workload (deleted, or no longer managed); Prometheus marks it stale."""
        self._load.remove(namespace, workload)
        self._replicas.remove(namespace, workload)

    def start(self, port: int, addr: str = "0.0.0.0") -> int:
        """Serve ``/metrics`` over HTTP in a background thread; return the port (``port=0``: any free one)."""
        if self._server is not None:
            raise ConfigError(f"exporter: already serving on port {self._server[0].server_port}")
        try:
            self._server = start_http_server(port, addr=addr, registry=self.registry)
        except OSError as exc:
            raise ConfigError(
                f"exporter: cannot serve metrics on {addr}:{port}: {exc.strerror or exc}"
            ) from exc
        return int(self._server[0].server_port)

    def stop(self) -> None:
        """Stop the HTTP server started by :meth:`start` (nothing happens if none runs)."""
        if self._server is None:
            return
        server, thread = self._server
        self._server = None
        server.shutdown()
        server.server_close()
        thread.join()

    def asgi_app(self) -> Callable[..., Any]:
        """The same ``/metrics`` as an ASGI app, to mount in the API server instead of :meth:`start`."""
        return make_asgi_app(registry=self.registry)


def _labels(namespace: str, workload: str) -> None:
    if not namespace or not workload:
        raise InputError(f"exporter: namespace and workload must be non-empty, got {namespace!r}, {workload!r}")


def _load(namespace: str, workload: str, predicted_load: float) -> float:
    """``predicted_load`` checked for export (an HPA cannot scale on NaN or a negative load)."""
    _labels(namespace, workload)
    if not (math.isfinite(predicted_load) and predicted_load >= 0):
        raise InputError(
            f"exporter: predicted_load of {namespace}/{workload} must be a finite number >= 0, "
            f"not {predicted_load} (an HPA cannot scale on it)"
        )
    return float(predicted_load)


def _replicas(namespace: str, workload: str, desired_replicas: int) -> int:
    """``desired_replicas`` checked for export: an integer >= 0 (a bool is not a count)."""
    _labels(namespace, workload)
    try:
        replicas = -1 if isinstance(desired_replicas, bool) else operator.index(desired_replicas)
    except TypeError:
        replicas = -1
    if replicas < 0:
        raise InputError(
            f"exporter: desired_replicas of {namespace}/{workload} must be an integer >= 0, not {desired_replicas!r}"
        )
    return replicas
