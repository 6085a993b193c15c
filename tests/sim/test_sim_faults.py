"""Each fault kind has its effect at its time, and the cluster recovers the way Kubernetes would."""

from __future__ import annotations

import numpy as np
import pytest

from foresight.sim import (
    LatencyRegression,
    MemoryLeak,
    NodeLoss,
    Simulator,
    SpotPreemption,
)
from foresight.sim.faults import timetable

STEP = 15.0


def _run(spec, until: float, rps: float = 100.0, duration_s: float = 7200.0) -> Simulator:
    sim = Simulator(spec, traffic=np.full(int(duration_s / STEP), rps), duration_s=duration_s)
    sim.run_until(until)
    return sim


def _at(sim: Simulator, t: float) -> int:
    """Index of the recorded step that starts at ``t``."""
    return int(np.searchsorted(sim.timestamps, t + STEP))


def test_fault_times_round_up_to_the_next_step():
    changes = timetable((NodeLoss(at_s=0, node="a"), NodeLoss(at_s=15, node="b"), NodeLoss(at_s=16, node="c")), STEP)
    assert [(c.step, c.target) for c in changes] == [(0, "a"), (1, "b"), (2, "c")]


def test_node_loss_evicts_pods_that_come_back_elsewhere_after_the_startup_delay(chain):
    spec = chain(faults=(NodeLoss(at_s=600, node="cpu-0"),), web={"initial_replicas": 8})
    sim = Simulator(spec, traffic=np.full(480, 100.0), duration_s=7200.0)
    on_node = sim.pod_nodes("web").count("cpu-0")
    all_on_node = sum(sim.pod_nodes(s).count("cpu-0") for s in sim.service_names)
    assert on_node > 0
    sim.run_until(660.0)
    ready = sim.history["foresight_replicas_ready"][:, 0]
    current = sim.history["foresight_replicas_current"][:, 0]
    assert ready[_at(sim, 585.0)] == 8 and ready[_at(sim, 600.0)] == 8 - on_node
    assert current[_at(sim, 600.0)] == 8  # recreated at once, starting
    assert ready[_at(sim, 630.0)] == 8  # web starts in 30 s
    assert "cpu-0" not in sim.pod_nodes("web")
    assert sim.events[0].kind == "node-loss" and sim.events[0].time_s == 600.0
    assert sim.events[0].what == f"node-loss: node cpu-0 is gone with its {all_on_node} pod(s)"


def test_spot_preemption_replaces_the_node_after_the_delay(chain):
    # a single spot-only pool so that evicted pods must wait for the replacement
    spec = chain(cpu_nodes=1, faults=(SpotPreemption(at_s=300, node="spot-0", replace_after_s=120),),
                 web={"initial_replicas": 10, "cpu_cores": 2.0})
    sim = Simulator(spec, traffic=np.full(480, 100.0), duration_s=7200.0)
    evicted = sim.pod_nodes("web").count("spot-0")
    assert evicted > 0
    sim.run_until(600.0)
    pending = sim.history["foresight_pods_pending"][:, 0]
    assert pending[_at(sim, 300.0)] == evicted and pending[_at(sim, 405.0)] == evicted
    assert pending[_at(sim, 420.0)] == 0
    kinds = [e.kind for e in sim.events]  # the node also held api and db pods, pending too
    assert kinds == ["spot-preemption", "unschedulable", "unschedulable", "unschedulable", "node-replaced"]
    assert [e.time_s for e in sim.events] == [300.0] * 4 + [420.0]
    assert f"{evicted} pod(s) of web fit on no node" in sim.events[1].what
    assert sim.history["foresight_replicas_ready"][_at(sim, 450.0), 0] == 10  # +30 s start-up


def test_memory_leak_slows_then_oom_kills_then_the_fix_frees_memory(chain):
    leak = MemoryLeak(at_s=600, until_s=4200, service="api", mib_per_hour=1024)  # 1 GiB/h on a 1 GiB pod
    sim = _run(chain(faults=(leak,)), until=6000.0)
    mem = sim.history["foresight_memory_utilisation"][:, 1]
    ready = sim.history["foresight_replicas_ready"][:, 1]
    p95 = sim.history["foresight_latency_mean_seconds"][:, 1]
    assert mem[_at(sim, 600.0)] == pytest.approx(mem[_at(sim, 300.0)]) and mem[_at(sim, 300.0)] < 0.5
    assert np.all(np.diff(mem[_at(sim, 615.0):_at(sim, 1800.0)]) > 0)
    ooms = [e for e in sim.events if e.kind == "oom-kill"]
    assert ooms and "2 pod(s) of api reached the 1024 MiB memory limit" in ooms[0].what
    first = _at(sim, ooms[0].time_s)
    assert mem[first - 1] > 0.95 and ready[first] == 0 and ready[first + 2] == 2  # 30 s restart
    assert p95[first - 1] > 1.5 * p95[_at(sim, 300.0)]  # memory pressure before the kill
    assert [e.kind for e in sim.events][-1] == "memory-leak-fixed"
    assert mem[_at(sim, 4200.0)] == pytest.approx(mem[_at(sim, 300.0)])
    assert mem[-1] == pytest.approx(mem[_at(sim, 300.0)])


def test_latency_regression_lowers_capacity_and_raises_latency_until_rolled_back(chain):
    fault = LatencyRegression(at_s=300, until_s=600, service="db", factor=2.0)
    sim = _run(chain(faults=(fault,)), until=900.0)
    cap = sim.history["foresight_capacity_rps"][:, 2]
    p95 = sim.history["foresight_latency_p95_seconds"][:, 2]
    before, during, after = _at(sim, 285.0), _at(sim, 300.0), _at(sim, 600.0)
    assert cap[during] == pytest.approx(cap[before] / 2) and cap[after] == pytest.approx(cap[before])
    assert p95[during] >= 2 * p95[before] and p95[after] == pytest.approx(p95[before])
    assert [e.kind for e in sim.events] == ["latency-regression", "latency-regression-end"]


def test_a_leak_with_no_ready_pod_left_reports_no_memory(chain):
    sim = _run(chain(faults=(MemoryLeak(at_s=0, service="api", mib_per_hour=5000),)), until=60.0)
    for name in sim.service_names:
        sim.set_replicas(name, 0)
    sim.set_replicas("api", 1)  # the only pod left: starting for 30 s, leaking already
    sim.step()
    sim.step()
    assert sim.history["foresight_replicas_ready"][-1].tolist() == [0, 0, 0, 0]
    assert sim.history["foresight_memory_utilisation"][-1].tolist() == [0, 0, 0, 0]
