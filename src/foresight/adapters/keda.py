"""The KEDA external scaler: Foresight's load predictions served to KEDA over gRPC.

KEDA calls this server for every ScaledObject whose trigger is ``type: external`` (polled every
``pollingInterval``) or ``external-push`` (streamed). The trigger's ``metadata`` map arrives as
``ScaledObjectRef.scalerMetadata`` (every key, ``scalerAddress`` included; unknown keys are ignored):

``workload`` (required)
    the workload whose prediction is served, as the forecaster names it;
``namespace`` (default: the ScaledObject's namespace)
    the workload's namespace;
``metric`` (default ``ai_predicted_load``)
    the metric name KEDA puts into the HPA it manages;
``targetValue`` (required, > 0)
    what one replica should take, in the prediction's unit (req/s x target utilisation);
``activationThreshold`` (default 0)
    the predicted load above which the workload must run at all;
``scaleToZero`` (default ``false``)
    ``true`` for a model-serving workload run by the scale-to-zero policy
    (:mod:`foresight.autoscale.scale_to_zero`): the scaler serves the policy's published replicas
    (:mod:`foresight.autoscale.replica_decisions`) instead of a load. IsActive is ``replicas > 0``
    (zero only when the policy, knowing the model's cold start, chose zero: never merely because no
    load is predicted right now); GetMetrics gives the replicas and ``targetValue`` defaults to 1, so
    KEDA's HPA wants exactly the warm pool the policy asked for; ``metric`` defaults to
    ``foresight_desired_replicas``. Set the ScaledObject's ``minReplicaCount: 0`` and a
    ``cooldownPeriod`` of one polling interval, so KEDA's own 300 s default does not override the
    policy's learned keep-alive.

Answers: GetMetricSpec gives ``metric`` and ``targetValue``, so KEDA's HPA (``AverageValue``)
wants ``ceil(load / targetValue)`` replicas; GetMetrics gives the predicted load; IsActive is
``load > activationThreshold`` (false lets KEDA scale to zero when ``minReplicaCount`` is 0);
StreamIsActive sends the same answer at once and again whenever it changes (checked every
``stream_poll_s``); StreamMetricSpec is UNIMPLEMENTED, on which KEDA keeps calling GetMetricSpec.

**Stale predictions** (older than ``max_age_s``) are refused with UNAVAILABLE, never answered as
"inactive" or with the last value: inactive would scale the workload to zero exactly when the
forecaster is down, and the last value is a forecast for a moment that has passed. On a scaler
error KEDA never scales to zero; after ``fallback.failureThreshold`` errors it applies the
ScaledObject's ``fallback`` (which :mod:`foresight.autoscale.manifests` renders). GetMetricSpec
does not read predictions and keeps answering.

**Malformed requests**: metadata missing or not a number -> INVALID_ARGUMENT; a workload with no
prediction, or a metric other than the one served -> NOT_FOUND; each message names the
ScaledObject and the key to fix.
"""

from __future__ import annotations

import asyncio
import functools
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc

from foresight.adapters.keda_proto import externalscaler_pb2 as pb
from foresight.adapters.keda_proto.externalscaler_pb2_grpc import (
    ExternalScalerServicer,
    add_ExternalScalerServicer_to_server,
)
from foresight.autoscale.predictions import Prediction, PredictionStore
from foresight.autoscale.replica_decisions import (
    PublishedReplicas,
    ReplicaDecisionStore,
)
from foresight.clock import Clock, SystemClock
from foresight.errors import ConfigError, InputError

__all__ = [
    "DEFAULT_METRIC",
    "DEFAULT_REPLICAS_METRIC",
    "ExternalScalerService",
    "RunningScaler",
    "ScalerQuery",
    "parse_query",
    "serve",
]

DEFAULT_METRIC = "ai_predicted_load"
DEFAULT_REPLICAS_METRIC = "foresight_desired_replicas"


@dataclass(frozen=True)
class ScalerQuery:
    """What one ScaledObject's trigger asks for, parsed from its metadata."""

    namespace: str
    workload: str
    metric: str
    target_value: float
    activation_threshold: float
    scale_to_zero: bool = False


def parse_query(name: str, namespace: str, metadata: Mapping[str, str]) -> ScalerQuery:
    """The trigger metadata of ScaledObject ``namespace/name``, checked; InputError names the key.

    >>> parse_query("api", "shop", {"workload": "api", "targetValue": "35.5"})
    ScalerQuery(namespace='shop', workload='api', metric='ai_predicted_load', target_value=35.5, activation_threshold=0.0, scale_to_zero=False)
    >>> parse_query("sdxl", "ml", {"workload": "sdxl", "scaleToZero": "true"}).target_value
    1.0
    """
    where = f"ScaledObject {namespace or '?'}/{name or '?'}: trigger metadata"
    workload = metadata.get("workload", "").strip()
    if not workload:
        raise InputError(f"{where} 'workload' is missing: set it to the workload Foresight predicts")
    namespace = metadata.get("namespace", "").strip() or namespace
    if not namespace:
        raise InputError(f"{where} has no 'namespace' and the ScaledObject reference has none either")
    flag = metadata.get("scaleToZero", "false").strip().lower()
    if flag not in ("true", "false"):
        raise InputError(f"{where} 'scaleToZero' must be 'true' or 'false', got {metadata['scaleToZero']!r}")
    scale_to_zero = flag == "true"
    if "targetValue" not in metadata and not scale_to_zero:
        raise InputError(f"{where} 'targetValue' is missing: the load one replica should take, e.g. '35'")
    target = _number(where, "targetValue", metadata.get("targetValue", "1"))
    if target <= 0:
        raise InputError(f"{where} 'targetValue' must be > 0, got {metadata['targetValue']!r}")
    activation = _number(where, "activationThreshold", metadata.get("activationThreshold", "0"))
    if activation < 0:
        raise InputError(f"{where} 'activationThreshold' must be >= 0, got {metadata['activationThreshold']!r}")
    metric = metadata.get("metric", "").strip() or (DEFAULT_REPLICAS_METRIC if scale_to_zero else DEFAULT_METRIC)
    return ScalerQuery(namespace, workload, metric, target, activation, scale_to_zero)


def _number(where: str, key: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{where} {key!r} = {text!r} is not a number") from None
    if not math.isfinite(value):
        raise InputError(f"{where} {key!r} = {text!r} must be finite")
    return value


class _Refusal(Exception):
    """An answer the scaler refuses to give, with the gRPC status KEDA should see."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code


_Response = TypeVar("_Response")
_Unary = Callable[[Any, Any, grpc.aio.ServicerContext], Awaitable[_Response]]


def _abort_on_refusal(rpc: _Unary[_Response]) -> _Unary[_Response]:
    """Turn a :class:`_Refusal` raised by a unary RPC into the gRPC status it carries."""

    @functools.wraps(rpc)
    async def answer(self: Any, request: Any, context: grpc.aio.ServicerContext) -> _Response:
        try:
            return await rpc(self, request, context)
        except _Refusal as refusal:
            await context.abort(refusal.code, str(refusal))
            raise  # abort always raises; this line only tells type checkers so

    return answer


class ExternalScalerService(ExternalScalerServicer):
    """``externalscaler.ExternalScaler`` for a ``grpc.aio`` server, backed by a :class:`PredictionStore`."""

    def __init__(
        self,
        store: PredictionStore,
        *,
        clock: Clock | None = None,
        max_age_s: float = 300.0,
        stream_poll_s: float = 1.0,
        decisions: ReplicaDecisionStore | None = None,
    ) -> None:
        if not (max_age_s > 0 and stream_poll_s > 0):
            raise ConfigError(f"KEDA scaler: max_age_s ({max_age_s}) and stream_poll_s ({stream_poll_s}) must be > 0")
        self._store = store
        self._decisions = decisions
        self._clock = clock or SystemClock()
        self._max_age_s = max_age_s
        self._poll_s = stream_poll_s

    @_abort_on_refusal
    async def IsActive(self, request: pb.ScaledObjectRef, context: grpc.aio.ServicerContext) -> pb.IsActiveResponse:
        return pb.IsActiveResponse(result=self._active(_query(request)))

    async def StreamIsActive(
        self, request: pb.ScaledObjectRef, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.IsActiveResponse]:
        sent: bool | None = None
        try:
            query = _query(request)
            while True:  # ends when KEDA cancels the stream, or on a refusal
                active = self._active(query)
                if active != sent:
                    yield pb.IsActiveResponse(result=active)
                    sent = active
                await asyncio.sleep(self._poll_s)
        except _Refusal as refusal:
            await context.abort(refusal.code, str(refusal))

    @_abort_on_refusal
    async def GetMetricSpec(
        self, request: pb.ScaledObjectRef, context: grpc.aio.ServicerContext
    ) -> pb.GetMetricSpecResponse:
        query = _query(request)
        # targetSize is for KEDA releases that read only the integer; it must stay >= 1.
        spec = pb.MetricSpec(
            metricName=query.metric,
            targetSize=_int64(max(1.0, query.target_value)),
            targetSizeFloat=query.target_value,
        )
        return pb.GetMetricSpecResponse(metricSpecs=[spec])

    @_abort_on_refusal
    async def GetMetrics(self, request: pb.GetMetricsRequest, context: grpc.aio.ServicerContext) -> pb.GetMetricsResponse:
        query = _query(request.scaledObjectRef)
        if request.metricName != query.metric:
            raise _Refusal(
                grpc.StatusCode.NOT_FOUND,
                f"metric {request.metricName!r} is not served for {query.namespace}/{query.workload}; "
                f"this trigger serves {query.metric!r}",
            )
        load = float(self._fresh_replicas(query).replicas) if query.scale_to_zero else self._fresh(query).load
        value = pb.MetricValue(metricName=query.metric, metricValue=_int64(load), metricValueFloat=load)
        return pb.GetMetricsResponse(metricValues=[value])

    async def StreamMetricSpec(self, request: pb.ScaledObjectRef, context: grpc.aio.ServicerContext) -> None:
        await context.abort(
            grpc.StatusCode.UNIMPLEMENTED, "StreamMetricSpec is not served: targets change only with the ScaledObject"
        )

    def _active(self, query: ScalerQuery) -> bool:
        if query.scale_to_zero:
            return self._fresh_replicas(query).replicas > 0
        return self._fresh(query).load > query.activation_threshold

    def _fresh_replicas(self, query: ScalerQuery) -> PublishedReplicas:
        name = f"{query.namespace}/{query.workload}"
        decision = self._decisions.latest(query.namespace, query.workload) if self._decisions is not None else None
        if decision is None:
            raise _Refusal(
                grpc.StatusCode.NOT_FOUND,
                f"no scale-to-zero decision for workload {name}: Foresight's scale-to-zero policy does not run it "
                "(check the trigger's 'workload' and 'namespace', or drop 'scaleToZero')",
            )
        self._check_age(name, decision.made_at, "scale-to-zero decision")
        return decision

    def _check_age(self, name: str, made_at: float, what: str) -> None:
        age_s = self._clock.now() - made_at
        if age_s > self._max_age_s:
            raise _Refusal(
                grpc.StatusCode.UNAVAILABLE,
                f"{what} for {name} is {age_s:.0f} s old (limit {self._max_age_s:.0f} s): "
                "the forecaster is behind; KEDA keeps the replicas or applies the ScaledObject's fallback",
            )

    def _fresh(self, query: ScalerQuery) -> Prediction:
        prediction = self._store.latest(query.namespace, query.workload)
        if prediction is None:
            raise _Refusal(
                grpc.StatusCode.NOT_FOUND,
                f"no prediction for workload {query.namespace}/{query.workload}: Foresight does not forecast it "
                "(check the trigger's 'workload' and 'namespace')",
            )
        self._check_age(f"{query.namespace}/{query.workload}", prediction.made_at, "prediction")
        return prediction


def _int64(value: float) -> int:
    """``value`` rounded for the deprecated int64 fields, saturated rather than overflowing."""
    return min(round(value), 2**63 - 1)


def _query(ref: pb.ScaledObjectRef) -> ScalerQuery:
    try:
        return parse_query(ref.name, ref.namespace, ref.scalerMetadata)
    except InputError as exc:
        raise _Refusal(grpc.StatusCode.INVALID_ARGUMENT, str(exc)) from None


@dataclass(frozen=True)
class RunningScaler:
    """A started scaler server and the port it listens on (the one chosen when asked for port 0)."""

    server: grpc.aio.Server
    port: int


async def serve(
    address: str,
    store: PredictionStore,
    *,
    clock: Clock | None = None,
    max_age_s: float = 300.0,
    stream_poll_s: float = 1.0,
    decisions: ReplicaDecisionStore | None = None,
) -> RunningScaler:
    """Start the scaler on ``address`` (e.g. ``0.0.0.0:9090``, plaintext; KEDA's ``scalerAddress``).

    Await ``server.wait_for_termination()`` to run until stopped, ``server.stop(grace_s)`` to stop.
    """
    service = ExternalScalerService(
        store, clock=clock, max_age_s=max_age_s, stream_poll_s=stream_poll_s, decisions=decisions
    )
    # Without SO_REUSEPORT a second scaler on a taken port fails here instead of sharing it silently.
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    add_ExternalScalerServicer_to_server(service, server)
    try:
        port = server.add_insecure_port(address)
    except RuntimeError as exc:
        raise ConfigError(f"KEDA scaler: cannot listen on {address!r} ({exc})") from exc
    await server.start()
    return RunningScaler(server, port)
