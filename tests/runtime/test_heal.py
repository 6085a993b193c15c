"""The self-healing controller on the simulator's twin: a leak predicted and the pod replaced before its
OOMKill (reactive Kubernetes gets the kill), dry-run by default, refusals audited once, pause and alert."""

from __future__ import annotations

from typing import Any

import numpy as np

from foresight.control.audit import AuditRecord
from foresight.heal.plan import QUERIES
from foresight.runtime.heal import HealController, rules_of
from foresight.series import Series
from foresight.sim.healing import MIB, HealingCluster
from foresight.specs.healing import HealingPolicy


class Audit:
    def __init__(self) -> None:
        self.records: list[AuditRecord] = []

    def record(self, entry: AuditRecord) -> None:
        self.records.append(entry)


def policy(**spec: Any) -> HealingPolicy:
    return HealingPolicy.model_validate({"metadata": {"name": "heal", "namespace": "shop"}, "spec": spec})


def leaking(seed: int = 1, leaks: tuple[float, ...] = (0.01,), replicas: int = 3) -> HealingCluster:
    c = HealingCluster(seed=seed)
    c.add_workload("shop", "cart", replicas=replicas, node="node-a", limit=512 * MIB, base=0.4, leak_per_min=leaks)
    return c


def run(c: HealingCluster, controller: HealController | None, minutes: int) -> None:
    for _ in range(minutes):
        c.advance(60.0)
        if controller is not None:
            controller.step(c.now)


def test_a_leak_is_predicted_and_the_pod_replaced_before_its_oomkill() -> None:
    reactive = leaking()
    run(reactive, None, 70)
    assert reactive.oomkills == 1  # Kubernetes only reacts: the leaking pod dies at its limit
    c, audit = leaking(), Audit()
    heal = HealController(c, audit, c, incident_of=lambda ns, w: "inc-7" if (ns, w) == ("shop", "cart") else None)
    heal.set_policies([policy(dryRun=False)])
    run(c, heal, 70)
    assert c.oomkills == 0 and [pod for _, pod in c.evictions] == ["cart-0"]
    acted = [r for r in audit.records if r.applied]
    assert len(acted) == 1
    r = acted[0]
    assert r.controller == "heal" and r.target == "shop/cart-0" and not r.dry_run
    assert r.inputs["failure"] == "oom_kill" and r.inputs["incident"] == "inc-7" and r.inputs["policy"] == "shop/heal"
    assert 60 < r.inputs["ttf_s"] <= 900 and r.inputs["ttf_low_s"] <= r.inputs["ttf_s"] <= r.inputs["ttf_high_s"]
    assert "memory at" in r.inputs["evidence"] and "replacement Ready after 40 s" in r.reason
    evicted_at = c.evictions[0][0]
    assert evicted_at < reactive.killed[0][0]  # replaced before the time the reactive run's pod died


def test_a_policy_is_dry_run_by_default_and_changes_nothing() -> None:
    c, audit = leaking(), Audit()
    heal = HealController(c, audit, c)
    heal.set_policies([policy()])
    run(c, heal, 70)
    assert c.oomkills == 1 and c.evictions == []
    first = audit.records[0]
    assert first.dry_run and not first.applied and "dry run: nothing changed" in first.reason
    refusals = [r for r in audit.records if "rate limit of workload" in r.reason]
    assert len(refusals) == 1  # repeated every minute, audited once


def test_without_a_policy_nothing_is_done_and_a_standby_never_acts() -> None:
    c, audit = leaking(), Audit()
    run(c, HealController(c, audit, c), 70)
    assert c.evictions == [] and "no HealingPolicy covers shop/cart" in audit.records[0].reason
    c, audit = leaking(), Audit()
    heal = HealController(c, audit, c)
    heal.set_policies([policy(dryRun=False)])
    for _ in range(70):
        c.advance(60.0)
        heal.step(c.now, acting=False)
    assert c.evictions == [] and "standby" in audit.records[0].reason


def test_many_predictions_at_once_pause_and_alert_once() -> None:
    c, audit, alerts = leaking(leaks=(0.01,) * 6, replicas=6), Audit(), []
    heal = HealController(c, audit, c, alert=alerts.append, pause_at=5)
    heal.set_policies([policy(dryRun=False, rateLimits={"perWorkload": 10})])
    run(c, None, 48)  # the controller starts when all six are 12 min from their limit (as a broken exporter shows)
    run(c, heal, 20)
    assert c.evictions == [] and len(alerts) == 1 and "6 predictions at once" in alerts[0]
    assert any(r.reason.startswith("paused") for r in audit.records)


def test_a_container_without_a_limit_is_told_so_not_guessed() -> None:
    c, audit = leaking(), Audit()
    for pod in c.pods.values():
        pod.limit = float("inf")
    heal = HealController(c, audit, c)
    heal.set_policies([policy(dryRun=False)])
    c.advance(3600.0)
    heal.step(c.now)
    assert audit.records == [] and c.evictions == [] and c.oomkills == 0
    signals, targets = heal.read(c.now)
    memory = [i for i, r in enumerate(signals.resources) if r.value == "memory"]
    assert len(targets) == 6 and len(memory) == 3
    assert all(signals.limit[i] != signals.limit[i] for i in memory)  # NaN: nothing to exhaust, no limit guessed


def test_rules_of_a_policy() -> None:
    r = rules_of(policy(workloads=["cart"], actions=["drain"], rateLimits={"perNamespace": 2}))
    assert r.workloads == frozenset({"cart"}) and {a.value for a in r.actions} == {"drain"} and r.per_namespace == 2
    assert r.dry_run and r.name == "shop/heal"


def test_cpu_saturation_is_resized_in_place_where_the_policy_allows_it() -> None:
    c, audit = HealingCluster(seed=2), Audit()
    c.add_workload("shop", "search", replicas=2, node="node-b", limit=1024 * MIB, base=0.4, cpu_ramp_per_min=(0.01,))
    heal = HealController(c, audit, c)
    heal.set_policies([policy(dryRun=False, actions=["resize"])])
    run(c, heal, 75)
    (acted,) = [r for r in audit.records if r.applied]
    assert acted.inputs["failure"] == "slo_breach" and acted.inputs["action"] == "resize"
    assert "cpu of search-0 resized in place x1.5" in acted.reason
    assert c.pods[("shop", "search-0")].cpu_limit == 1.5 and c.evictions == []


def test_in_the_background_a_slow_action_does_not_hold_the_loop_and_is_audited_when_it_ends() -> None:
    import threading

    from foresight.heal.plan import Action, Outcome

    release = threading.Event()

    class Slow:
        """A restart that waits for its replacement as long as the test says."""

        def __init__(self) -> None:
            self.stopped = False

        def restart(self, target: object) -> Outcome:
            release.wait(10)
            return Outcome(not self.stopped, "stopped" if self.stopped else "replaced", Action.RESTART)

        def stop(self) -> None:
            self.stopped = True
            release.set()

    c, audit, slow = leaking(), Audit(), Slow()
    heal = HealController(c, audit, slow, background=True)  # type: ignore[arg-type]
    heal.set_policies([policy(dryRun=False, rateLimits={"perWorkload": 5})])
    run(c, heal, 50)
    assert not [r for r in audit.records if r.inputs.get("action") == "restart"]  # started, not audited yet
    assert any("started" in s["reason"] for s in heal.last) or any("waiting" in s["reason"] for s in heal.last)
    run(c, heal, 2)
    assert any("waiting: an action on shop/cart is running" in s["reason"] for s in heal.last)
    release.set()
    import time

    deadline = time.monotonic() + 5
    while heal._running and time.monotonic() < deadline:
        time.sleep(0.01)
    heal.step(c.now + 60)
    (done,) = [r for r in audit.records if r.applied]
    assert "restart: replaced" in done.reason and done.inputs["failure"] == "oom_kill"
    heal.close(c.now)


def test_closing_stops_a_running_action_and_audits_it() -> None:
    from foresight.heal.plan import Action, Outcome

    class Waits:
        def __init__(self) -> None:
            import threading

            self.stopping = threading.Event()

        def restart(self, target: object) -> Outcome:
            self.stopping.wait(30)
            return Outcome(False, "eviction of cart-0 refused (429) and Foresight is stopping: not evicted",
                           Action.RESTART)

        def stop(self) -> None:
            self.stopping.set()

    c, audit = leaking(), Audit()
    heal = HealController(c, audit, Waits(), background=True)  # type: ignore[arg-type]
    heal.set_policies([policy(dryRun=False)])
    run(c, heal, 50)
    assert heal._running
    heal.close(c.now)
    (r,) = [r for r in audit.records if r.inputs.get("action") == "restart" and r.error]
    assert not r.applied and "Foresight is stopping" in r.error


class WithGpus:
    """The twin's pods, and dcgm-exporter's framebuffer series for ``cart-1``: its first GPU fills at
    ``mib_per_min`` from 30% of 16 GiB, its second stays at a tenth (labels as Prometheus keeps them
    when it scrapes the exporter without honor_labels: the workload's pod is ``exported_pod``)."""

    def __init__(self, twin: HealingCluster, mib_per_min: float) -> None:
        self.twin, self.mib_per_min = twin, mib_per_min

    def query_range(self, query: str, start: float, end: float, step_s: float) -> list[Series]:
        if query not in (QUERIES["gpu_used"], QUERIES["gpu_free"]):
            return self.twin.query_range(query, start, end, step_s)
        t = np.arange(np.ceil(start / step_s) * step_s, end + 1e-9, step_s)
        total = 16384.0
        filling = np.minimum(0.3 * total + self.mib_per_min * t / 60.0, total)
        out = []
        for gpu, used in (("0", filling), ("1", np.full(t.size, 0.1 * total))):
            labels = {"pod": "dcgm-exporter-x7k2p", "namespace": "gpu-operator", "exported_pod": "cart-1",
                      "exported_namespace": "shop", "exported_container": "cart", "gpu": gpu,
                      "UUID": f"GPU-{gpu}", "Hostname": "node-a"}
            out.append(Series(labels, t, used if query == QUERIES["gpu_used"] else total - used))
        return out


def test_a_filling_gpu_is_predicted_and_its_pod_restarted_before_the_gpu_oom() -> None:
    c, audit = leaking(leaks=(0.0,)), Audit()  # no host-memory leak: only the GPU fills
    source = WithGpus(c, mib_per_min=16384.0 * 0.7 / 80.0)  # full 80 min in
    heal = HealController(source, audit, c)
    heal.set_policies([policy(dryRun=False)])
    run(c, heal, 80)
    acted = [r for r in audit.records if r.applied]
    assert [r.target for r in acted] == ["shop/cart-1"]
    r = acted[0]
    assert r.inputs["failure"] == "gpu_oom" and r.inputs["container"] == "cart" and r.inputs["action"] == "restart"
    assert 0 < r.inputs["ttf_s"] <= 900
    assert [pod for _, pod in c.evictions] == ["cart-1"]


def test_without_dcgm_series_or_with_an_idle_gpu_nothing_is_predicted() -> None:
    c, audit = leaking(leaks=(0.0,)), Audit()
    heal = HealController(WithGpus(c, mib_per_min=0.0), audit, c)
    heal.set_policies([policy(dryRun=False)])
    run(c, heal, 60)
    assert [r for r in audit.records if r.applied] == [] and c.evictions == []


class WithNodeExporter:
    """The twin's pods, and node-exporter's series for ``node-a`` (``instance`` relabelled to the node's
    name, as kube-prometheus does): 8 GiB of memory whose MemAvailable falls ``mib_per_min`` from 5 GiB,
    a quiet root filesystem and a quiet PID count; ``node-x`` is a node no known pod runs on."""

    def __init__(self, twin: HealingCluster, mib_per_min: float) -> None:
        self.twin, self.mib_per_min = twin, mib_per_min

    def query_range(self, query: str, start: float, end: float, step_s: float) -> list[Series]:
        node_queries = {QUERIES[k]: k for k in QUERIES if k.startswith("node_")}
        if query not in node_queries:
            return self.twin.query_range(query, start, end, step_s)
        t = np.arange(np.ceil(start / step_s) * step_s, end + 1e-9, step_s)
        gib = 2.0**30
        values = {"node_memory_total": np.full(t.size, 8 * gib),
                  "node_memory_available": np.maximum(5 * gib - self.mib_per_min * MIB * t / 60.0, 0.0),
                  "node_fs_size": np.full(t.size, 100 * gib), "node_fs_available": np.full(t.size, 60 * gib),
                  "node_tasks": np.full(t.size, 900.0), "node_pid_max": np.full(t.size, 4_194_304.0)}[node_queries[query]]
        return [Series({"instance": node, "job": "node-exporter"}, t, values) for node in ("node-a", "node-x")]


def test_a_node_running_out_of_memory_is_drained_before_the_kubelet_evicts() -> None:
    c, audit = HealingCluster(seed=1), Audit()
    c.add_workload("shop", "cart", replicas=3, node="node-a", limit=512 * MIB, base=0.4, leak_per_min=(0.0,),
                   min_available=1)  # a PDB that lets the drain evict one pod at a time
    heal = HealController(WithNodeExporter(c, mib_per_min=5 * 1024 / 80.0), audit, c)  # below 100Mi ~79 min in
    heal.set_policies([policy(dryRun=False, actions=["drain"])])
    run(c, heal, 80)
    acted = [r for r in audit.records if r.applied]
    assert [r.target for r in acted] == ["node/node-a"]
    r = acted[0]
    assert r.inputs["failure"] == "eviction" and r.inputs["action"] == "drain" and r.inputs["node"] == "node-a"
    assert 0 < r.inputs["ttf_s"] <= 900 and "node node-a cordoned; 3 of 3 pods evicted" in r.reason
    assert "node-a" in c.cordoned and "node-x" not in c.cordoned


def test_a_node_whose_pods_no_policy_lets_foresight_drain_is_left_alone() -> None:
    c, audit = leaking(leaks=(0.0,)), Audit()
    heal = HealController(WithNodeExporter(c, mib_per_min=5 * 1024 / 80.0), audit, c)
    heal.set_policies([policy(dryRun=False, actions=["restart"])])  # restarts only: no consent to drain
    run(c, heal, 80)
    assert [r for r in audit.records if r.applied] == [] and c.cordoned == set()
    refused = [r for r in audit.records if r.target == "node/node-a"]
    assert refused and "would evict pods no HealingPolicy lets Foresight drain: shop/cart-0" in refused[0].reason
