"""The simulator through its ports: scale, start-up delay, metrics queries, clock, load and latency."""

from __future__ import annotations

import numpy as np
import pytest

from foresight.clock import Clock
from foresight.errors import ConfigError, InputError
from foresight.ports import MetricsSource, Scale, ScaleTarget
from foresight.sim import (
    METRICS,
    ClusterSpec,
    NodePoolSpec,
    SimulationOver,
    Simulator,
    SyntheticTraffic,
)

STEADY = SyntheticTraffic(daily_peak_rps=100.0, daily_amplitude=0.0, weekly_amplitude=0.0, noise_sd=0.0,
                          bursts_per_day=0.0, growth_per_day=0.0)


def _sim(spec: ClusterSpec, rps: float = 100.0, duration_s: float = 1800.0, **kw) -> Simulator:
    n = int(duration_s / 15.0)
    return Simulator(spec, traffic=np.full(n, rps), duration_s=duration_s, **kw)


def test_it_implements_the_ports(chain):
    sim = _sim(chain())
    source: MetricsSource = sim
    target: ScaleTarget = sim
    clock: Clock = sim.clock
    assert source.query_range and target.get_scale and clock.now() == 0.0


def test_services_are_in_topological_order_and_start_ready(chain):
    sim = _sim(chain())
    assert sim.service_names == ("web", "api", "db", "model")
    assert all(sim.get_scale(s) == Scale(2, 2, 2) for s in sim.service_names)


@pytest.mark.parametrize("delay_s, steps", [(30.0, 2), (40.0, 3), (0.0, 0), (15.0, 1)])
def test_startup_delay_is_exact_to_the_step(chain, delay_s, steps):
    sim = _sim(chain(api={"startup_delay_s": delay_s}))
    sim.run_until(300.0)
    sim.set_replicas("api", 5)
    assert sim.get_scale("api") == Scale(5, 5, 2 if steps else 5)
    for _ in range(steps):
        assert sim.get_scale("api").ready == 2
        sim.step()
    assert sim.get_scale("api").ready == 5
    sim.step()
    ready = sim.history["foresight_replicas_ready"][:, 1]
    first = int(np.argmax(ready == 5))
    assert sim.timestamps[first] == 300.0 + steps * 15.0 + 15.0  # the step starting then, stamped at its end


def test_scaling_down_removes_starting_pods_before_ready_ones(chain):
    sim = _sim(chain())
    sim.set_replicas("web", 4)
    sim.set_replicas("web", 3)
    assert sim.get_scale("web") == Scale(3, 3, 2)
    sim.set_replicas("web", 1)
    assert sim.get_scale("web") == Scale(1, 1, 1)


def test_bad_scale_requests_are_refused(chain):
    sim = _sim(chain())
    with pytest.raises(InputError, match="unknown workload 'nope'.*web, api, db, model"):
        sim.get_scale("nope")
    with pytest.raises(InputError, match="unknown workload 'nope'"):
        sim.set_replicas("nope", 1)
    with pytest.raises(ValueError, match="replicas for 'web' must be >= 0, got -1"):
        sim.set_replicas("web", -1)
    with pytest.raises(TypeError):
        sim.set_replicas("web", 2.5)  # type: ignore[arg-type]


def test_zero_replicas_fail_every_request(chain):
    sim = _sim(chain())
    sim.set_replicas("db", 0)
    sim.step()
    h = sim.history
    assert h["foresight_dropped_rps"][-1, 2] == h["foresight_offered_rps"][-1, 2] > 0
    assert h["foresight_error_ratio"][-1, 2] == 1.0 and h["foresight_error_ratio"][-1, 0] == 1.0
    assert h["foresight_cpu_utilisation"][-1, 2] == 1.0


def test_query_range_reads_back_the_history(chain):
    sim = _sim(chain())
    sim.run_until(600.0)
    series = sim.query_range('foresight_offered_rps{service="api"}', 300.0, 600.0, 30.0)
    assert len(series) == 1 and series[0].labels == {"service": "api"}
    assert series[0].timestamps.tolist() == list(np.arange(300.0, 601.0, 30.0))
    k = np.searchsorted(sim.timestamps, series[0].timestamps)
    assert np.array_equal(series[0].values, sim.history["foresight_offered_rps"][k, 1])


def test_query_range_selectors(chain):
    sim = _sim(chain())
    sim.run_until(120.0)
    labels = lambda q: [s.labels["service"] for s in sim.query_range(q, 0.0, 120.0, 15.0)]
    assert labels("foresight_replicas_ready") == ["web", "api", "db", "model"]
    assert labels("foresight_replicas_ready{}") == ["web", "api", "db", "model"]
    assert labels('foresight_replicas_ready{service!="db"}') == ["web", "api", "model"]
    assert labels('foresight_replicas_ready{service=~"db|model"}') == ["db", "model"]
    assert labels('foresight_replicas_ready{service!~"w.*"}') == ["api", "db", "model"]
    points = sim.query_range("foresight_replicas_ready", 0.0, 120.0, 15.0)[0].timestamps
    assert points.tolist() == [15.0 * i for i in range(1, 9)]  # nothing recorded at 0 yet
    assert sim.query_range("foresight_replicas_ready", 1000.0, 2000.0, 15.0) == []  # older than the lookback


@pytest.mark.parametrize(
    "query, words",
    [
        ("foresight_nope", "unknown metric 'foresight_nope'; the simulator records foresight_offered_rps"),
        ('foresight_offered_rps{pod="x"}', "unknown label 'pod'"),
        ('foresight_offered_rps{service=x}', "cannot parse the label matchers"),
        ("rate(foresight_offered_rps[5m])", "expected a selector"),
    ],
)
def test_bad_queries_say_what_is_wrong(chain, query, words):
    sim = _sim(chain())
    sim.step()
    with pytest.raises(InputError) as err:
        sim.query_range(query, 0.0, 15.0, 15.0)
    assert words in str(err.value)


def test_every_metric_is_recorded(chain):
    sim = _sim(chain())
    sim.run_until(60.0)
    assert set(sim.history) == set(METRICS)
    assert all(v.shape == (4, 4) and np.all(np.isfinite(v)) for v in sim.history.values())


def test_the_clock_steps_the_simulation_and_stops_at_the_end(chain):
    sim = _sim(chain(), duration_s=150.0)
    sim.clock.sleep_until(60.0)
    assert sim.clock.now() == sim.now == 60.0 and len(sim.timestamps) == 4
    sim.clock.sleep_until(61.0)
    assert sim.now == 75.0
    with pytest.raises(SimulationOver, match="ended at t=150"):
        sim.clock.sleep_until(200.0)
    assert sim.done and sim.now == 150.0


def test_load_fans_out_and_latency_and_errors_include_downstream(chain):
    sim = _sim(chain(), rps=120.0)
    sim.run_until(300.0)
    h = {k: v[-1] for k, v in sim.history.items()}
    offered, served = h["foresight_offered_rps"], h["foresight_served_rps"]
    assert offered[0] == pytest.approx(120.0)
    assert offered[1] == pytest.approx(served[0])
    assert offered[2] == pytest.approx(2.0 * served[1]) and offered[3] == pytest.approx(0.5 * served[1])
    p95 = h["foresight_latency_p95_seconds"]
    assert p95[1] > max(p95[2], p95[3]) and p95[0] > p95[1]
    err, own = h["foresight_error_ratio"], h["foresight_dropped_rps"] / offered
    assert err[3] == pytest.approx(own[3]) and err[3] > 0  # 60 req/s on a model server of 80
    assert 1 - err[1] == pytest.approx((1 - own[1]) * (1 - err[2]) ** 2 * (1 - err[3]) ** 0.5, rel=1e-12)
    assert 1 - err[0] == pytest.approx((1 - own[0]) * (1 - err[1]), rel=1e-12)


def test_overload_drops_and_violates_the_slo(chain):
    sim = _sim(chain(), rps=1000.0)
    sim.run_until(60.0)
    h = {k: v[-1] for k, v in sim.history.items()}
    assert h["foresight_cpu_utilisation"][0] == 1.0
    assert h["foresight_dropped_rps"][0] >= 1000.0 - 200.0
    assert h["foresight_slo_violation"][0] == 1.0


def test_same_seed_same_history_other_seed_other_traffic(chain):
    def run(seed: int) -> dict[str, np.ndarray]:
        sim = Simulator(chain(), traffic=SyntheticTraffic(daily_peak_rps=150.0), duration_s=900.0, seed=seed)
        sim.set_replicas("api", 4)
        sim.run_until(900.0)
        return {k: v.copy() for k, v in sim.history.items()}

    a, b, c = run(1), run(1), run(2)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["foresight_offered_rps"], c["foresight_offered_rps"])


def test_traffic_arrays_total_or_per_entry(chain, service):
    two_entries = ClusterSpec(
        services=(service("a", traffic_share=3.0), service("b", traffic_share=1.0)),
        node_pools=(NodePoolSpec(name="cpu", count=2, cpu_cores=8, memory_mib=32768),),
    )
    sim = Simulator(two_entries, traffic=np.full(10, 80.0), duration_s=150.0)
    sim.step()
    assert sim.history["foresight_offered_rps"][0].tolist() == [60.0, 20.0]
    with pytest.raises(ConfigError, match="does not cover 10 steps x 2 entry services"):
        Simulator(two_entries, traffic=np.ones((10, 3)), duration_s=150.0)
    with pytest.raises(ConfigError, match="does not cover"):
        Simulator(two_entries, traffic=np.ones(5), duration_s=150.0)
    with pytest.raises(ConfigError, match="finite rates"):
        Simulator(two_entries, traffic=np.full(10, np.nan), duration_s=150.0)
    with pytest.raises(ConfigError, match="step_s > 0"):
        Simulator(two_entries, step_s=0.0)


def test_spec_traffic_is_the_default(chain):
    spec = chain().model_copy(update={"traffic": STEADY})
    sim = Simulator(spec, duration_s=60.0)
    sim.step()
    assert sim.history["foresight_offered_rps"][0, 0] == pytest.approx(100.0)


def test_gpu_pods_run_on_gpu_nodes_and_pend_without_them(chain):
    sim = _sim(chain())
    assert sim.pod_nodes("model") and all(n.startswith("gpu-") for n in sim.pod_nodes("model"))
    no_gpu = _sim(chain(gpu_nodes=0))
    assert no_gpu.get_scale("model") == Scale(2, 0, 0)
    no_gpu.step()
    assert no_gpu.history["foresight_pods_pending"][0, 3] == 2
    no_gpu.set_replicas("model", 3)
    assert [e.kind for e in no_gpu.events] == ["unschedulable"]  # reported once, when it starts
    assert "2 pod(s) of model fit on no node (each needs 4 CPU, 8192 MiB, 1 GPU)" in no_gpu.events[0].what
    no_gpu.set_replicas("model", 0)
    no_gpu.step()
    assert no_gpu.history["foresight_pods_pending"][-1, 3] == 0


def test_service_index_selects_by_lookup_and_by_scan():
    from foresight.sim.metrics import ServiceIndex

    index = ServiceIndex([f"svc-{i}" for i in range(5000)])
    assert index.select((("service", "=", "svc-4321"),)) == (4321,)
    assert index.select((("service", "=", "nope"),)) == ()
    assert index.select((("service", "=", "svc-1"), ("service", "=", "svc-2"))) == ()
    assert index.select((("service", "=", "svc-7"), ("service", "!=", "svc-7"))) == ()
    assert index.select((("service", "=~", "svc-1[0-9]"),)) == tuple(range(10, 20))
    assert len(index.select((("service", "!~", "svc-.*0"),))) == 4500
    assert len(index.select(())) == 5000


def test_query_range_takes_plain_names_or_an_index_alike():
    from foresight.sim.metrics import METRICS, ServiceIndex, query_range

    history = np.arange(4 * len(METRICS) * 3, dtype=float).reshape(4, len(METRICS), 3)
    names = ("api", "web", "db")
    args = (history, 15.0, 15.0)
    for services in (names, ServiceIndex(names)):
        found = query_range(*args, services, 'foresight_served_rps{service="web"}', 15.0, 60.0, 15.0)
        assert [s.labels["service"] for s in found] == ["web"]
        assert found[0].values.tolist() == history[:, 1, 1].tolist()
