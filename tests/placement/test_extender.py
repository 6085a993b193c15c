"""The extender's verbs on the payloads kube-scheduler sends (k8s.io/kube-scheduler/extender/v1 over v1.Pod/v1.Node)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from foresight.errors import InputError
from foresight.placement.extender import (
    DEVICES_ANNOTATION,
    MAX_PRIORITY,
    MILLI_ANNOTATION,
    PRODUCT_LABEL,
    TYPES_ANNOTATION,
    bind_devices,
    build_view,
    filter_nodes,
    node_rows,
    pod_task,
    pool_summary,
    prioritize,
)


def node(name: str, gpus: int = 0, product: str | None = "Tesla-T4", cpu: str = "32", memory: str = "128Gi") -> dict[str, Any]:
    """A v1.Node as the API serves it: GPUs in allocatable (device plugin), type in the GFD label."""
    labels = {"kubernetes.io/hostname": name}
    if gpus and product:
        labels[PRODUCT_LABEL] = product
    alloc = {"cpu": cpu, "memory": memory, "pods": "110"}
    if gpus:
        alloc["nvidia.com/gpu"] = str(gpus)
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "uid": f"uid-{name}", "labels": labels},
            "status": {"capacity": dict(alloc), "allocatable": alloc,
                       "conditions": [{"type": "Ready", "status": "True"}]}}


def pod(name: str, gpus: int = 0, milli: int | None = None, cpu: str = "1", memory: str = "2Gi",
        on: str | None = None, devices: str | None = None, types: str | None = None,
        namespace: str = "ml") -> dict[str, Any]:
    """A v1.Pod: whole GPUs in the container limits (requests default to them), a fraction in the annotation."""
    annotations = {}
    if milli is not None:
        annotations[MILLI_ANNOTATION] = str(milli)
    if devices is not None:
        annotations[DEVICES_ANNOTATION] = devices
    if types is not None:
        annotations[TYPES_ANNOTATION] = types
    limits = {"nvidia.com/gpu": str(gpus)} if gpus else {}
    spec: dict[str, Any] = {"schedulerName": "default-scheduler", "containers": [
        {"name": "main", "image": "serve:1", "resources": {"requests": {"cpu": cpu, "memory": memory}, "limits": limits}}]}
    if on is not None:
        spec["nodeName"] = on
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}", "annotations": annotations},
            "spec": spec, "status": {"phase": "Running" if on else "Pending"}}


def names_args(p: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """ExtenderArgs of a node-cache-capable extender, as encoding/json writes it (nil Nodes is null)."""
    return json.loads(json.dumps({"Pod": p, "Nodes": None, "NodeNames": names}))


def list_args(p: dict[str, Any], nodes: list[dict[str, Any]]) -> dict[str, Any]:
    return json.loads(json.dumps({"Pod": p, "Nodes": {"metadata": {}, "items": nodes}, "NodeNames": None}))


NODES = [node("gpu-a", 4), node("gpu-b", 4), node("gpu-c", 8, "NVIDIA-A100-SXM4-80GB"), node("cpu-1")]


def test_pod_task_reads_limits_requests_init_containers_and_overhead() -> None:
    p = pod("train", gpus=2, cpu="500m", memory="1536Mi")
    p["spec"]["initContainers"] = [{"name": "init", "resources": {"requests": {"cpu": "4", "memory": "1Gi"}}}]
    p["spec"]["overhead"] = {"cpu": "250m"}
    t = pod_task(p)
    assert t is not None
    assert (t.name, t.cpu_milli, t.memory_mib, t.gpu_count, t.gpu_milli) == ("ml/train", 4250, 1536, 2, 1000)
    assert pod_task(pod("web")) is None


@pytest.mark.parametrize("bad, message", [
    (pod("x", gpus=1, milli=500), "not both"),
    (pod("x", milli=0), "1..1000"),
    (pod("x", milli=1500), "1..1000"),
    ({**pod("x"), "spec": {"containers": [{"resources": {"limits": {"nvidia.com/gpu": "1.5"}}}]}}, "whole number"),
    ({**pod("x"), "spec": {"containers": [{"resources": {"limits": {"cpu": "lots"}}}]}}, "not a Kubernetes quantity"),
    ({"metadata": {}}, "metadata.name"),
])
def test_bad_pods_are_precise_errors(bad: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        pod_task(bad)


def test_view_counts_annotated_then_whole_then_fractional_pods() -> None:
    pods = [pod("frac", milli=300, on="gpu-a"), pod("whole", gpus=2, on="gpu-a"),
            pod("pinned", milli=600, on="gpu-a", devices="3"), pod("web", on="gpu-b", cpu="30"),
            pod("done", gpus=4, on="gpu-b"), pod("pending", gpus=4)]
    pods[4]["status"]["phase"] = "Succeeded"
    view = build_view(NODES, pods)
    a = view.index("gpu-a")
    assert view.holdings["ml/pinned"] == ("gpu-a", (3,))
    assert view.holdings["ml/whole"] == ("gpu-a", (0, 1))  # lowest free
    assert view.holdings["ml/frac"] == ("gpu-a", (3,))  # best fit: the 400 left on device 3
    assert view.state.dev_left[a].tolist()[:4] == [0, 0, 1000, 100]
    assert view.state.cpu_left[view.index("gpu-b")] == 2000  # a CPU-only pod still takes CPU
    assert "ml/done" not in view.holdings and "ml/pending" not in view.holdings


def test_a_stale_device_annotation_is_noted_and_counted_where_it_fits() -> None:
    view = build_view(NODES, [pod("p1", milli=700, on="gpu-a", devices="0"), pod("p2", milli=700, on="gpu-a", devices="0")])
    assert view.holdings["ml/p2"][1] != (0,)
    assert any("p2" in n and "does not fit" in n for n in view.notes)


def test_nodes_the_extender_cannot_read_are_left_out_with_their_reason() -> None:
    broken = node("broken", 2)
    broken["status"]["allocatable"]["cpu"] = "lots"
    view = build_view([*NODES, node("mystery", 2, product=None), broken], [])
    result = filter_nodes(names_args(pod("x", gpus=1), ["gpu-a", "mystery", "broken"]), view)
    assert result["NodeNames"] == ["gpu-a"]
    assert "no nvidia.com/gpu.product label" in result["FailedAndUnresolvableNodes"]["mystery"]
    assert "'lots' is not a Kubernetes quantity" in result["FailedAndUnresolvableNodes"]["broken"]
    with pytest.raises(InputError, match="no usable node"):
        build_view([broken], [])


def test_filter_with_node_names_answers_node_names_and_reasons() -> None:
    view = build_view(NODES, [pod("big", gpus=4, on="gpu-a"), pod("half", milli=500, on="gpu-b")])
    result = filter_nodes(names_args(pod("new", gpus=4), ["gpu-a", "gpu-b", "gpu-c", "cpu-1"]), view)
    assert result["NodeNames"] == ["gpu-c"]
    assert "Nodes" not in result and result["Error"] == ""
    assert "0 GPU(s) with 1000 milli-GPU free" in result["FailedNodes"]["gpu-a"]
    assert "3 GPU(s)" in result["FailedNodes"]["gpu-b"]
    assert "cpu-1" in result["FailedAndUnresolvableNodes"]  # no GPU: preemption cannot help


def test_filter_with_a_node_list_answers_the_node_objects() -> None:
    view = build_view(NODES, [])
    result = filter_nodes(list_args(pod("t4", gpus=1, types="Tesla-T4"), NODES), view)
    assert [n["metadata"]["name"] for n in result["Nodes"]["items"]] == ["gpu-a", "gpu-b"]
    assert result["Nodes"]["items"][0] == NODES[0]  # the objects as sent, not rebuilt
    assert "not among the pod's" in result["FailedAndUnresolvableNodes"]["gpu-c"]
    assert "NodeNames" not in result


def test_pass_through_pods_get_every_node_and_equal_scores() -> None:
    view = build_view(NODES, [])
    names = [n["metadata"]["name"] for n in NODES]
    assert filter_nodes(names_args(pod("web"), names), view)["NodeNames"] == names
    assert filter_nodes(list_args(pod("web"), NODES), view)["Nodes"]["items"] == NODES
    scores, notes = prioritize(names_args(pod("web"), names), view)
    assert {s["Score"] for s in scores} == {0} and [s["Host"] for s in scores] == names and notes == []


@pytest.mark.parametrize("args, message", [
    ({"NodeNames": ["a"]}, "Pod: missing"),
    ({"Pod": pod("x", gpus=1)}, "neither Nodes nor NodeNames"),
    ({"Pod": pod("x", gpus=1), "NodeNames": "gpu-a"}, "list of node names"),
    ({"Pod": "x", "NodeNames": []}, "expected an object"),
    ([], "ExtenderArgs: expected an object"),
    ({"Pod": pod("x", gpus=1, types="H100"), "NodeNames": ["gpu-a"]}, "H100 that no node has"),
])
def test_malformed_payloads_are_the_error_field_of_filter_and_raise_for_prioritize(args: Any, message: str) -> None:
    view = build_view(NODES, [])
    result = filter_nodes(args, view)
    assert message in result["Error"]
    with pytest.raises(InputError, match=message):
        prioritize(args, view)


def test_keys_are_matched_case_insensitively_as_go_does() -> None:
    view = build_view(NODES, [])
    assert filter_nodes({"pod": pod("x", gpus=1), "nodenames": ["gpu-a"]}, view)["NodeNames"] == ["gpu-a"]


def test_prioritize_ranks_by_the_policy_best_gets_ten() -> None:
    # a half-used T4 node: a fractional pod should join the used device rather than break a whole one
    view = build_view(NODES, [pod("half", milli=500, on="gpu-b"), pod("w", gpus=1, on="gpu-a")])
    for policy in ("foresight", "fgd"):
        scores, notes = prioritize(names_args(pod("new", milli=500), ["gpu-a", "gpu-b", "gpu-c"]), view, policy)
        by_host = {s["Host"]: s["Score"] for s in scores}
        assert by_host["gpu-b"] == MAX_PRIORITY, policy
        assert sorted(by_host.values()) == [8, 9, 10]
        assert notes == []


def test_prioritize_gives_zero_and_a_note_to_a_node_that_filled_since_filter() -> None:
    before = build_view(NODES, [])
    args = names_args(pod("new", gpus=4), ["gpu-a", "gpu-b"])
    assert filter_nodes(args, before)["NodeNames"] == ["gpu-a", "gpu-b"]
    after = build_view(NODES, [pod("other", gpus=2, on="gpu-a")])  # bound by someone else meanwhile
    scores, notes = prioritize(args, after)
    assert scores == [{"Host": "gpu-a", "Score": 0}, {"Host": "gpu-b", "Score": MAX_PRIORITY}]
    assert len(notes) == 1 and "gpu-a" in notes[0] and "no longer fits" in notes[0]
    gone = build_view([n for n in NODES if n["metadata"]["name"] != "gpu-b"], [])
    scores, notes = prioritize(args, gone)  # a node deleted since filter: 0, never an error
    assert {s["Host"]: s["Score"] for s in scores} == {"gpu-a": MAX_PRIORITY, "gpu-b": 0}


def test_more_than_ten_nodes_rank_down_to_one_then_zero() -> None:
    nodes = [node(f"n{i:02d}", 1) for i in range(13)]
    names = [n["metadata"]["name"] for n in nodes]
    scores, _ = prioritize(names_args(pod("new", gpus=1), names), build_view(nodes, []))
    assert sorted(s["Score"] for s in scores) == [0, 0, 0, *range(1, 11)]


def test_bind_devices_picks_a_definite_device_and_refuses_a_full_node() -> None:
    view = build_view(NODES, [pod("a", milli=700, on="gpu-a", devices="0"), pod("b", gpus=1, on="gpu-a")])
    assert bind_devices(view, pod("new", milli=300), "gpu-a") == (0,)  # fills the 300 left on device 0
    assert bind_devices(view, pod("new", gpus=2), "gpu-a") == (2, 3)
    assert bind_devices(view, pod("web"), "gpu-a") == ()
    with pytest.raises(InputError, match="does not fit node gpu-a"):
        bind_devices(view, pod("new", gpus=3), "gpu-a")


def test_pool_summary_allocation_and_fragmentation_per_gpu_type() -> None:
    view = build_view(NODES, [pod("a", milli=700, on="gpu-a"), pod("b", gpus=1, on="gpu-a"),
                              pod("c", milli=700, on="gpu-b")])
    pools = {p["gpu_type"]: p for p in pool_summary(view)}
    t4 = pools["Tesla-T4"]
    assert (t4["nodes"], t4["gpus"], t4["allocated_milli"], t4["free_milli"]) == (2, 8, 2400, 5600)
    assert (t4["whole_free_gpus"], t4["shared_gpus"]) == (5, 2)
    # every running GPU pod needs >= 700 milli of one device: the two 300s left are fragments
    assert t4["fragmented_milli"] == pytest.approx(600.0)
    assert pools["NVIDIA-A100-SXM4-80GB"]["allocated_milli"] == 0
    assert [r["free_milli"] for r in node_rows(view) if r["node"] == "gpu-a"] == [[0, 300, 1000, 1000]]  # whole pod first, on device 0
    idle = pool_summary(build_view(NODES, []))
    assert all(p["fragmented_milli"] is None for p in idle)
