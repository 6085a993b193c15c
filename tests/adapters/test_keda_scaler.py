"""The KEDA external scaler over real gRPC, called by a client built at test time from KEDA's own
.proto (../shared), not from Foresight's copy: values, scale-to-zero activity, the activity stream,
stale predictions and malformed requests."""

from __future__ import annotations

import asyncio
import functools
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from foresight.adapters.keda import parse_query, serve
from foresight.autoscale.predictions import InMemoryPredictions, Prediction
from foresight.clock import ManualClock
from foresight.errors import ConfigError, InputError

NOW = 1_700_000_000.0
META = {"scalerAddress": "foresight:9090", "workload": "api", "targetValue": "35.5"}


class KedaClient:
    """KEDA's side of the wire: every RPC of ``externalscaler.ExternalScaler`` as the .proto declares it."""

    def __init__(self, pool: descriptor_pool.DescriptorPool, channel: grpc.aio.Channel) -> None:
        self.channel = channel
        service = pool.FindServiceByName("externalscaler.ExternalScaler")
        self.messages: dict[str, Any] = {}
        for method in service.methods:
            request = message_factory.GetMessageClass(method.input_type)
            response = message_factory.GetMessageClass(method.output_type)
            self.messages[method.input_type.name] = request
            call = channel.unary_stream if method.server_streaming else channel.unary_unary
            stub = call(f"/{service.full_name}/{method.name}", request.SerializeToString, response.FromString)
            setattr(self, method.name, stub)

    def ref(self, metadata: dict[str, str], name: str = "api", namespace: str = "shop") -> Any:
        return self.messages["ScaledObjectRef"](name=name, namespace=namespace, scalerMetadata=metadata)

    def metrics_request(self, metadata: dict[str, str], metric: str = "ai_predicted_load") -> Any:
        return self.messages["GetMetricsRequest"](scaledObjectRef=self.ref(metadata), metricName=metric)


@functools.cache
def compiled_pool(proto: Path) -> descriptor_pool.DescriptorPool:
    """``proto`` compiled by protoc now, in a descriptor pool of its own (Foresight's generated
    messages have the same full names in the default pool)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "externalscaler.pb"
        subprocess.run(
            [sys.executable, "-m", "grpc_tools.protoc", f"-I{proto.parent}", f"--descriptor_set_out={out}", proto.name],
            check=True,
        )
        files = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file
    pool = descriptor_pool.DescriptorPool()
    for file in files:
        pool.Add(file)
    return pool


@pytest.fixture
def keda_pool(shared_data: Path) -> descriptor_pool.DescriptorPool:
    """A client-side view of KEDA's original externalscaler.proto."""
    return compiled_pool(shared_data / "protocols" / "keda" / "externalscaler.proto")


Scenario = Callable[[KedaClient, InMemoryPredictions, ManualClock], Awaitable[None]]


def run(pool: descriptor_pool.DescriptorPool, scenario: Scenario, **options: float) -> None:
    """Start the scaler on a free 127.0.0.1 port, run ``scenario`` against it, stop it."""

    async def main() -> None:
        store, clock = InMemoryPredictions(), ManualClock(NOW)
        running = await serve("127.0.0.1:0", store, clock=clock, **options)
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
                await asyncio.wait_for(scenario(KedaClient(pool, channel), store, clock), timeout=10)
        finally:
            await running.server.stop(None)

    asyncio.run(main())


async def refused(call: Awaitable[Any]) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value.code(), caught.value.details() or ""


def test_metric_spec_and_value_are_the_target_and_the_predicted_load(keda_pool):
    async def scenario(client: KedaClient, store: InMemoryPredictions, clock: ManualClock) -> None:
        store.put("shop", "api", Prediction(load=120.25, made_at=NOW - 10))
        spec = await client.GetMetricSpec(client.ref(META))
        assert [(s.metricName, s.targetSizeFloat, s.targetSize) for s in spec.metricSpecs] == [
            ("ai_predicted_load", 35.5, 36)
        ]
        values = await client.GetMetrics(client.metrics_request(META))
        assert [(v.metricName, v.metricValueFloat, v.metricValue) for v in values.metricValues] == [
            ("ai_predicted_load", 120.25, 120)
        ]
        # metadata overrides: another namespace and metric name
        store.put("batch", "api", Prediction(load=7.0, made_at=NOW))
        meta = {**META, "namespace": "batch", "metric": "foresight_load"}
        values = await client.GetMetrics(client.metrics_request(meta, metric="foresight_load"))
        assert [(v.metricName, v.metricValueFloat) for v in values.metricValues] == [("foresight_load", 7.0)]
        # the deprecated integer fields saturate instead of overflowing int64
        store.put("shop", "api", Prediction(load=1e30, made_at=NOW))
        values = await client.GetMetrics(client.metrics_request({**META, "targetValue": "1e25"}))
        assert (values.metricValues[0].metricValue, values.metricValues[0].metricValueFloat) == (2**63 - 1, 1e30)
        spec = await client.GetMetricSpec(client.ref({**META, "targetValue": "0.25"}))
        assert (spec.metricSpecs[0].targetSize, spec.metricSpecs[0].targetSizeFloat) == (1, 0.25)

    run(keda_pool, scenario)


def test_is_active_follows_the_activation_threshold_for_scale_to_zero(keda_pool):
    async def scenario(client: KedaClient, store: InMemoryPredictions, clock: ManualClock) -> None:
        for load, threshold, expected in [(0.0, "0", False), (0.5, "0", True), (3.0, "5", False), (5.5, "5", True)]:
            store.put("shop", "api", Prediction(load=load, made_at=NOW))
            answer = await client.IsActive(client.ref({**META, "activationThreshold": threshold}))
            assert answer.result is expected, (load, threshold)

    run(keda_pool, scenario)


def test_stream_is_active_pushes_each_change_then_refuses_a_stale_prediction(keda_pool):
    async def scenario(client: KedaClient, store: InMemoryPredictions, clock: ManualClock) -> None:
        store.put("shop", "api", Prediction(load=50.0, made_at=NOW))
        stream = client.StreamIsActive(client.ref(META))
        assert (await stream.read()).result is True
        store.put("shop", "api", Prediction(load=0.0, made_at=NOW))  # no load predicted: scale to zero
        assert (await stream.read()).result is False
        store.put("shop", "api", Prediction(load=9.0, made_at=NOW))
        assert (await stream.read()).result is True
        clock.advance(301)  # the forecaster stopped writing
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stream.read()
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE

    run(keda_pool, scenario, stream_poll_s=0.01)


def test_stale_predictions_are_refused_but_the_metric_spec_stays(keda_pool):
    async def scenario(client: KedaClient, store: InMemoryPredictions, clock: ManualClock) -> None:
        store.put("shop", "api", Prediction(load=0.0, made_at=NOW - 61))
        code, details = await refused(client.IsActive(client.ref(META)))
        assert code == grpc.StatusCode.UNAVAILABLE and "61 s old (limit 60 s)" in details
        code, _ = await refused(client.GetMetrics(client.metrics_request(META)))
        assert code == grpc.StatusCode.UNAVAILABLE
        assert (await client.GetMetricSpec(client.ref(META))).metricSpecs[0].targetSizeFloat == 35.5
        store.put("shop", "api", Prediction(load=0.0, made_at=NOW - 59))
        assert (await client.IsActive(client.ref(META))).result is False

    run(keda_pool, scenario, max_age_s=60)


@pytest.mark.parametrize(
    ("rpc", "metadata", "metric", "code", "needle"),
    [
        ("IsActive", {"targetValue": "10"}, None, grpc.StatusCode.INVALID_ARGUMENT, "'workload' is missing"),
        ("GetMetricSpec", {"workload": "api"}, None, grpc.StatusCode.INVALID_ARGUMENT, "'targetValue' is missing"),
        ("GetMetricSpec", {**META, "targetValue": "lots"}, None, grpc.StatusCode.INVALID_ARGUMENT,
         "'targetValue' = 'lots' is not a number"),
        ("GetMetricSpec", {**META, "targetValue": "0"}, None, grpc.StatusCode.INVALID_ARGUMENT, "must be > 0"),
        ("IsActive", {**META, "activationThreshold": "nan"}, None, grpc.StatusCode.INVALID_ARGUMENT, "must be finite"),
        ("IsActive", {**META, "workload": "ghost"}, None, grpc.StatusCode.NOT_FOUND, "no prediction for workload shop/ghost"),
        ("GetMetrics", META, "s0-cpu", grpc.StatusCode.NOT_FOUND, "metric 's0-cpu' is not served"),
        ("StreamIsActive", {**META, "workload": ""}, None, grpc.StatusCode.INVALID_ARGUMENT, "'workload' is missing"),
        ("StreamMetricSpec", META, None, grpc.StatusCode.UNIMPLEMENTED, "not served"),
    ],
)
def test_malformed_requests_get_a_precise_status(keda_pool, rpc, metadata, metric, code, needle):
    async def scenario(client: KedaClient, store: InMemoryPredictions, clock: ManualClock) -> None:
        store.put("shop", "api", Prediction(load=1.0, made_at=NOW))
        request = client.ref(metadata) if metric is None else client.metrics_request(metadata, metric)
        call = getattr(client, rpc)(request)
        got_code, details = await refused(call.read() if rpc.startswith("Stream") else call)
        assert got_code == code
        assert needle in details and ("ScaledObject shop/api" in details or code != grpc.StatusCode.INVALID_ARGUMENT)

    run(keda_pool, scenario)


def test_undecodable_bytes_are_rejected_and_the_server_keeps_serving(keda_pool):
    async def scenario(client: KedaClient, store: InMemoryPredictions, clock: ManualClock) -> None:
        store.put("shop", "api", Prediction(load=4.0, made_at=NOW))
        raw = client.channel.unary_unary("/externalscaler.ExternalScaler/IsActive")
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await raw(b"\x1a\xff\xff\xff")  # field 3, length past the end of the message
        # grpc.aio answers UNKNOWN for a request it cannot decode, naming the message type
        assert caught.value.code() == grpc.StatusCode.UNKNOWN
        assert "Error parsing message with type 'externalscaler.ScaledObjectRef'" in (caught.value.details() or "")
        assert (await client.IsActive(client.ref(META))).result is True

    run(keda_pool, scenario)


def test_parse_query_defaults_and_errors():
    query = parse_query("so", "shop", {"workload": " api ", "targetValue": "2e1", "activationThreshold": "1.5"})
    assert (query.namespace, query.workload, query.metric, query.target_value, query.activation_threshold) == (
        "shop", "api", "ai_predicted_load", 20.0, 1.5
    )
    with pytest.raises(InputError, match="has no 'namespace'"):
        parse_query("so", "", {"workload": "api", "targetValue": "1"})
    with pytest.raises(InputError, match="'activationThreshold' must be >= 0"):
        parse_query("so", "shop", {"workload": "api", "targetValue": "1", "activationThreshold": "-1"})
    with pytest.raises(InputError, match="load must be a finite number"):
        Prediction(load=float("nan"), made_at=NOW)


def test_impossible_server_settings_are_config_errors():
    async def start(address: str, **options: float) -> None:
        running = await serve(address, InMemoryPredictions(), **options)
        try:
            await serve(f"127.0.0.1:{running.port}", InMemoryPredictions())  # the port is taken
        finally:
            await running.server.stop(None)

    with pytest.raises(ConfigError, match="max_age_s"):
        asyncio.run(start("127.0.0.1:0", max_age_s=0))
    with pytest.raises(ConfigError, match="cannot listen on '256.1.1.1:80'"):
        asyncio.run(start("256.1.1.1:80"))
    with pytest.raises(ConfigError, match="cannot listen on '127.0.0.1:"):
        asyncio.run(start("127.0.0.1:0"))


def run_scale_to_zero(pool: descriptor_pool.DescriptorPool, scenario: Callable[..., Awaitable[None]]) -> None:
    """Like :func:`run`, with a scale-to-zero decision store beside the prediction store."""
    from foresight.autoscale.replica_decisions import InMemoryReplicaDecisions

    async def main() -> None:
        store, decisions, clock = InMemoryPredictions(), InMemoryReplicaDecisions(), ManualClock(NOW)
        running = await serve("127.0.0.1:0", store, clock=clock, max_age_s=60.0, decisions=decisions)
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
                await asyncio.wait_for(scenario(KedaClient(pool, channel), store, decisions, clock), timeout=10)
        finally:
            await running.server.stop(None)

    asyncio.run(main())


STZ = {"scalerAddress": "foresight:9090", "workload": "sdxl", "scaleToZero": "true"}


def test_scale_to_zero_workload_is_active_exactly_when_the_policy_wants_replicas(keda_pool):
    from foresight.autoscale.replica_decisions import PublishedReplicas

    async def scenario(client: KedaClient, store: Any, decisions: Any, clock: ManualClock) -> None:
        # a predicted load of zero does not deactivate it: only the policy's decision does
        store.put("shop", "sdxl", Prediction(load=0.0, made_at=NOW))
        for replicas, active in [(1, True), (0, False), (3, True)]:
            decisions.put("shop", "sdxl", PublishedReplicas(replicas, made_at=NOW, reason="test"))
            assert (await client.IsActive(client.ref(STZ, name="sdxl"))).result is active, replicas
            values = await client.GetMetrics(client.metrics_request(STZ, metric="foresight_desired_replicas"))
            assert [(v.metricName, v.metricValueFloat, v.metricValue) for v in values.metricValues] == [
                ("foresight_desired_replicas", float(replicas), replicas)
            ]
        spec = await client.GetMetricSpec(client.ref(STZ, name="sdxl"))
        assert [(s.metricName, s.targetSizeFloat, s.targetSize) for s in spec.metricSpecs] == [
            ("foresight_desired_replicas", 1.0, 1)
        ]
        # the activity stream follows the decisions too
        stream = client.StreamIsActive(client.ref(STZ, name="sdxl"))
        assert (await stream.read()).result is True
        decisions.put("shop", "sdxl", PublishedReplicas(0, made_at=NOW))
        assert (await stream.read()).result is False
        stream.cancel()

    run_scale_to_zero(keda_pool, scenario)


def test_scale_to_zero_refuses_stale_missing_and_malformed_decisions(keda_pool):
    from foresight.autoscale.replica_decisions import PublishedReplicas

    async def scenario(client: KedaClient, store: Any, decisions: Any, clock: ManualClock) -> None:
        code, details = await refused(client.IsActive(client.ref(STZ, name="sdxl")))
        assert code == grpc.StatusCode.NOT_FOUND and "no scale-to-zero decision for workload shop/sdxl" in details
        decisions.put("shop", "sdxl", PublishedReplicas(0, made_at=NOW - 61))
        code, details = await refused(client.IsActive(client.ref(STZ, name="sdxl")))  # never "inactive" when stale
        assert code == grpc.StatusCode.UNAVAILABLE and "61 s old (limit 60 s)" in details
        code, details = await refused(client.IsActive(client.ref({**STZ, "scaleToZero": "yes"}, name="sdxl")))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "'scaleToZero' must be 'true' or 'false'" in details

    run_scale_to_zero(keda_pool, scenario)


def test_scale_to_zero_without_a_decision_store_is_not_found(keda_pool):
    async def scenario(client: KedaClient, store: InMemoryPredictions, clock: ManualClock) -> None:
        code, details = await refused(client.IsActive(client.ref(STZ, name="sdxl")))
        assert code == grpc.StatusCode.NOT_FOUND and "scale-to-zero" in details

    run(keda_pool, scenario)


def test_scale_to_zero_query_defaults():
    query = parse_query("sdxl", "ml", {"workload": "sdxl", "scaleToZero": "TRUE"})
    assert (query.scale_to_zero, query.target_value, query.metric) == (True, 1.0, "foresight_desired_replicas")
    assert parse_query("api", "ml", {"workload": "api", "targetValue": "5"}).scale_to_zero is False
    with pytest.raises(InputError, match="'targetValue' is missing"):
        parse_query("api", "ml", {"workload": "api", "scaleToZero": "false"})
