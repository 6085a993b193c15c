"""Small clusters for the simulator's tests, built from explicit specs so each test reads alone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from foresight.sim import ClusterSpec, NodePoolSpec, ServiceSpec

ServiceFactory = Callable[..., ServiceSpec]


def make_service(name: str, **fields: Any) -> ServiceSpec:
    """A service with plain defaults: 100 req/s per replica at 20 ms, 2 replicas, 30 s start-up."""
    values: dict[str, Any] = {
        "capacity_rps": 100.0, "base_latency_s": 0.02, "startup_delay_s": 30.0, "min_replicas": 1, "max_replicas": 20,
        "initial_replicas": 2, "cpu_cores": 1.0, "memory_mib": 1024.0, "slo_latency_p95_s": 0.5, "timeout_s": 0.5,
    }
    values.update(fields)
    return ServiceSpec(name=name, **values)


def make_chain(faults: tuple = (), cpu_nodes: int = 4, gpu_nodes: int = 1, **overrides: Any) -> ClusterSpec:
    """web -> api -> (db, model on a GPU); ``overrides`` maps a service name to its field overrides."""
    fields: dict[str, dict[str, Any]] = {
        "web": {"calls": {"api": 1.0}},
        "api": {"calls": {"db": 2.0, "model": 0.5}},
        "db": {"capacity_rps": 300.0, "base_latency_s": 0.005},
        "model": {"capacity_rps": 40.0, "base_latency_s": 0.1, "gpus": 1, "cpu_cores": 4.0, "memory_mib": 8192.0,
                  "startup_delay_s": 120.0},
    }
    services = [make_service(name, **(f | overrides.get(name, {}))) for name, f in fields.items()]
    pools = [NodePoolSpec(name="cpu", count=cpu_nodes, cpu_cores=8, memory_mib=32768)]
    pools.append(NodePoolSpec(name="spot", count=2, cpu_cores=8, memory_mib=32768, spot=True))
    if gpu_nodes:
        pools.append(NodePoolSpec(name="gpu", count=gpu_nodes, cpu_cores=32, memory_mib=131072, gpus=4))
    return ClusterSpec(services=tuple(services), node_pools=tuple(pools), faults=faults)


@pytest.fixture
def chain() -> Callable[..., ClusterSpec]:
    return make_chain


@pytest.fixture
def service() -> ServiceFactory:
    return make_service
