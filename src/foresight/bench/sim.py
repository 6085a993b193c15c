"""How fast the simulator runs: the figure every benchmark's wall time rests on.

The target: 7 simulated days of 50 services at 15 s steps (2,016,000 service-steps) in under 10 s
on one core, i.e. at least 201,600 service-steps per second. Replicas stay as the cluster starts
(no controller), so this measures the simulator alone, faults included.
"""

from __future__ import annotations

import time

from foresight.sim import Simulator, default_cluster

__all__ = ["TARGET_SERVICE_STEPS_PER_S", "bench_sim"]

TARGET_SERVICE_STEPS_PER_S = 7 * 86400 / 15 * 50 / 10.0


def bench_sim(days: float = 7, services: int = 50, step_s: float = 15, seed: int = 0) -> dict[str, float | int | bool]:
    """Run the default cluster for ``days`` with fixed replicas; wall times and throughput.

    ``meets_target`` compares the throughput with :data:`TARGET_SERVICE_STEPS_PER_S`.
    """
    duration_s = days * 86400.0
    t0 = time.perf_counter()
    sim = Simulator(default_cluster(services, seed, duration_s=duration_s), step_s=step_s, duration_s=duration_s,
                    seed=seed)
    t1 = time.perf_counter()
    while not sim.done:
        sim.step()
    t2 = time.perf_counter()
    service_steps = sim.n_steps * len(sim.service_names)
    rate = service_steps / (t2 - t1)
    return {
        "days": days,
        "services": len(sim.service_names),
        "steps": sim.n_steps,
        "build_s": round(t1 - t0, 4),
        "wall_s": round(t2 - t1, 4),
        "service_steps_per_s": round(rate),
        "target_service_steps_per_s": round(TARGET_SERVICE_STEPS_PER_S),
        "meets_target": rate >= TARGET_SERVICE_STEPS_PER_S,
        "events": len(sim.events),
    }
