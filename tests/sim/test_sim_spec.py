"""Cluster specs: every impossible spec is refused with a message naming what to fix."""

from __future__ import annotations

import pydantic
import pytest

from foresight.errors import ConfigError
from foresight.sim import (
    ClusterSpec,
    LatencyRegression,
    MemoryLeak,
    NodeLoss,
    NodePoolSpec,
    SpotPreemption,
)
from foresight.sim.spec import find_cycle, topological_order

POOL = NodePoolSpec(name="cpu", count=2, cpu_cores=8, memory_mib=32768)


def test_a_valid_chain_is_accepted(chain):
    spec = chain()
    assert spec.service_names == ["web", "api", "db", "model"]


def test_duplicate_service_names_are_refused(service):
    with pytest.raises(ConfigError, match="service name 'api' is used more than once"):
        ClusterSpec(services=(service("api"), service("api")), node_pools=(POOL,))


def test_unknown_call_target_names_the_caller(service):
    with pytest.raises(ConfigError, match=r"service 'web': calls unknown service\(s\) \['nope'\]"):
        ClusterSpec(services=(service("web", calls={"nope": 1.0}),), node_pools=(POOL,))


def test_a_cycle_is_named(service):
    services = (
        service("web", calls={"a": 1.0}),
        service("a", calls={"b": 1.0}),
        service("b", calls={"c": 1.0}),
        service("c", calls={"a": 1.0}),
    )
    with pytest.raises(ConfigError, match="cycle: a -> b -> c -> a"):
        ClusterSpec(services=services, node_pools=(POOL,))


def test_a_self_call_is_a_cycle(service):
    with pytest.raises(ConfigError, match="cycle: web -> web"):
        ClusterSpec(services=(service("web", calls={"web": 1.0}),), node_pools=(POOL,))


@pytest.mark.parametrize(
    "fields, words",
    [
        ({"min_replicas": 3, "initial_replicas": 2}, "min_replicas=3, initial_replicas=2"),
        ({"initial_replicas": 30, "max_replicas": 20}, "initial_replicas=30, max_replicas=20"),
    ],
)
def test_replica_limits_name_the_service_and_fields(service, fields, words):
    with pytest.raises(ConfigError, match="service 'api'") as err:
        service("api", **fields)
    assert words in str(err.value)


@pytest.mark.parametrize("field", ["capacity_rps", "base_latency_s", "cpu_cores", "memory_mib", "slo_latency_p95_s"])
def test_non_positive_sizes_name_the_field(service, field):
    with pytest.raises(pydantic.ValidationError, match=field):
        service("api", **{field: 0.0})


def test_negative_fanout_names_the_call(service):
    with pytest.raises(ConfigError, match=r"service 'web': calls\['api'\] must be > 0"):
        service("web", calls={"api": -1.0})


def test_entry_services_need_some_traffic(service):
    with pytest.raises(ConfigError, match="traffic_share"):
        ClusterSpec(services=(service("web", traffic_share=0.0),), node_pools=(POOL,))


@pytest.mark.parametrize(
    "fault, words",
    [
        (NodeLoss(at_s=10, node="cpu-9"), "faults[0] (node-loss): node 'cpu-9' is not in any node pool"),
        (SpotPreemption(at_s=10, node="cpu-0"), "faults[0] (spot-preemption): node 'cpu-0' is not a spot node"),
        (MemoryLeak(at_s=10, service="nope", mib_per_hour=10), "faults[0] (memory-leak): service 'nope'"),
        (LatencyRegression(at_s=10, until_s=5, service="web", factor=2), "until_s (5.0) must be after at_s (10.0)"),
    ],
)
def test_bad_faults_are_named(chain, fault, words):
    with pytest.raises(ConfigError) as err:
        chain(faults=(fault,))
    assert words in str(err.value)


def test_faults_parse_from_plain_data(chain):
    spec = chain()
    data = spec.model_dump()
    data["faults"] = [{"kind": "node-loss", "at_s": 60, "node": "cpu-1"}]
    assert isinstance(ClusterSpec.model_validate(data).faults[0], NodeLoss)


def test_find_cycle_and_order_on_a_diamond(service):
    calls = {"a": ["b", "c"], "b": ["d"], "c": ["d"], "d": []}
    assert find_cycle(calls) is None
    services = [service("d"), service("c", calls={"d": 1.0}), service("b", calls={"d": 1.0}),
                service("a", calls={"b": 1.0, "c": 1.0})]
    names, levels = topological_order(services)
    assert names == ["a", "c", "b", "d"] and levels == [0, 1, 1, 2]
