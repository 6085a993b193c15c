"""Properties of the extender's verbs on random clusters: what filter passes is exactly what fits, prioritize
ranks only those, and the devices bind picks can be taken without overcommitting."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from foresight.placement.extender import MAX_PRIORITY, bind_devices, build_view, filter_nodes, pod_task, prioritize

TYPES = ("Tesla-T4", "NVIDIA-A100-SXM4-80GB")


def _node(i: int, gpus: int, t: int) -> dict[str, Any]:
    labels = {"nvidia.com/gpu.product": TYPES[t]} if gpus else {}
    return {"metadata": {"name": f"n{i}", "labels": labels},
            "status": {"allocatable": {"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": str(gpus)}}}


def _pod(name: str, cpu: int, ask: tuple[str, int], node: str | None = None) -> dict[str, Any]:
    kind, amount = ask
    annotations = {"foresight.ai/gpu-milli": str(amount)} if kind == "milli" else {}
    limits = {"nvidia.com/gpu": str(amount)} if kind == "whole" and amount else {}
    spec: dict[str, Any] = {"containers": [{"name": "c", "resources": {"requests": {"cpu": f"{cpu}m"}, "limits": limits}}]}
    if node:
        spec["nodeName"] = node
    return {"metadata": {"name": name, "namespace": "t", "annotations": annotations}, "spec": spec}


asks = st.one_of(st.tuples(st.just("whole"), st.integers(0, 4)), st.tuples(st.just("milli"), st.integers(1, 1000)))
clusters = st.lists(st.tuples(st.integers(0, 8), st.integers(0, 1)), min_size=1, max_size=14)


@settings(max_examples=60, deadline=None)
@given(clusters, st.lists(st.tuples(st.integers(0, 13), st.integers(0, 4000), asks), max_size=30),
       st.integers(0, 4000), asks, st.sampled_from(["foresight", "fgd"]))
def test_filter_prioritize_bind_agree_with_the_placement_core(shape: list[tuple[int, int]], bound: list[Any],
                                                               cpu: int, ask: tuple[str, int], policy: Any) -> None:
    nodes = [_node(i, g, t) for i, (g, t) in enumerate(shape)]
    pods = [_pod(f"b{k}", c, a, f"n{i % len(nodes)}") for k, (i, c, a) in enumerate(bound)]
    view = build_view(nodes, pods)
    new = _pod("new", cpu, ask)
    names = [n["metadata"]["name"] for n in nodes]
    result = filter_nodes({"Pod": new, "NodeNames": names}, view)
    assert result["Error"] == ""
    task = pod_task(new)
    if task is None:
        assert result["NodeNames"] == names
        return
    fits = view.state.feasible(task)
    assert set(result["NodeNames"]) == {n.name for i, n in enumerate(view.cluster.nodes) if fits[i]}
    assert set(result["NodeNames"]) | set(result["FailedNodes"]) | set(result["FailedAndUnresolvableNodes"]) == set(names)
    scores, notes = prioritize({"Pod": new, "NodeNames": names}, view, policy)
    by_host = {s["Host"]: s["Score"] for s in scores}
    ranked = sorted((v for v in by_host.values() if v > 0), reverse=True)
    assert ranked == list(range(MAX_PRIORITY, MAX_PRIORITY - len(ranked), -1))  # 10, 9, ... once each
    assert {h for h, v in by_host.items() if v > 0} <= set(result["NodeNames"])
    assert len(ranked) == min(MAX_PRIORITY, len(result["NodeNames"])) and len(notes) == len(names) - len(result["NodeNames"])
    for name in result["NodeNames"]:
        devices = bind_devices(view, new, name, policy)
        n = view.index(name)
        assert n is not None
        state = view.state.copy()
        state.assign(task, n, devices)  # refuses any overcommit
        assert (state.dev_left >= 0).all() and np.array_equal(state.cpu_left >= 0, np.ones(len(nodes), bool))
