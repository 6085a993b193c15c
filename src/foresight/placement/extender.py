"""GPU placement as a kube-scheduler extender: the ``filter``, ``prioritize`` and ``bind`` decisions, pure.

kube-scheduler POSTs JSON to an extender (``k8s.io/kube-scheduler/extender/v1``, types.go; checked in
kubernetes/kubernetes ``staging/src/k8s.io/kube-scheduler/extender/v1/types.go`` and the caller,
``pkg/scheduler/extender.go``). The Go structs carry no json tags, so the keys are the field names:

* ``ExtenderArgs`` {``Pod``: v1.Pod, ``Nodes``: v1.NodeList (``nodeCacheCapable: false``) or
  ``NodeNames``: [string] (``nodeCacheCapable: true``)} for filter and prioritize;
* ``ExtenderFilterResult`` {``Nodes`` or ``NodeNames`` (the same form as asked; kube-scheduler reads
  ``NodeNames`` only when it is node-cache capable), ``FailedNodes`` {node: reason},
  ``FailedAndUnresolvableNodes`` {node: reason} (preemption cannot help), ``Error``};
* ``HostPriorityList`` [{``Host``, ``Score``}], scores ``0..MaxExtenderPriority`` (10), multiplied by
  the extender's weight and added to the scheduler's own scores;
* ``ExtenderBindingArgs`` {``PodName``, ``PodNamespace``, ``PodUID``, ``Node``} -> ``ExtenderBindingResult``
  {``Error``}. Any answer but 200 is an error to kube-scheduler, which drops the body; so filter and
  bind report bad input in ``Error`` (kube-scheduler then logs the message), prioritize as HTTP 400.

GPU sharing, Foresight's annotations (the pod asks, the extender records):

* ``foresight.ai/gpu-milli: "500"`` on a pod: half of one GPU (1..1000 milli-GPU of one device);
  such a pod asks no ``nvidia.com/gpu`` (the device plugin would hand it a whole device);
* ``foresight.ai/gpu-types: "NVIDIA-A100-SXM4-80GB,Tesla-T4"``: the GPU types (values of the node label
  ``nvidia.com/gpu.product``, which GPU feature discovery sets) the pod may run on; absent: any type;
* ``foresight.ai/gpu-devices: "0"`` (or ``"0,1"``), written by the extender's ``bind`` on the pod it
  binds: the device indices it holds on its node. A sharing-aware device plugin or a webhook sets
  ``NVIDIA_VISIBLE_DEVICES`` from it; the stock NVIDIA plugin ignores it and picks whole devices itself.

A node's GPUs: ``status.allocatable["nvidia.com/gpu"]`` devices of the type in its
``nvidia.com/gpu.product`` label. Pods bound before (or by another binder) without a device
annotation are counted as the core's policies place them: whole-GPU pods on the lowest free
devices, fractional ones on the best-fit device (the fullest that still has room).

A pod that asks neither ``nvidia.com/gpu`` nor ``foresight.ai/gpu-milli`` is not the extender's: filter
passes every node, prioritize scores every node the same.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from foresight.errors import InputError
from foresight.placement.foresight import Foresight
from foresight.placement.frag import frag_amount
from foresight.placement.mix import TaskMix, typical_mix
from foresight.placement.model import MILLI, Cluster, ClusterState, Node, Task
from foresight.placement.policies import Fgd, Policy, Ties
from foresight.placement.usage import GpuPrices, ModelCost, is_spot, model_costs, model_of, node_pool
from foresight.specs.workload import GPU_RESOURCE, quantity

__all__ = ["DEVICES_ANNOTATION", "MAX_PRIORITY", "MILLI_ANNOTATION", "PRODUCT_LABEL", "TYPES_ANNOTATION",
           "GpuView", "PolicyName", "bind_devices", "binding_args", "build_view", "filter_nodes", "is_managed",
           "model_cost_rows", "node_rows", "pod_task",
           "pool_summary", "prioritize"]

MILLI_ANNOTATION = "foresight.ai/gpu-milli"
TYPES_ANNOTATION = "foresight.ai/gpu-types"
DEVICES_ANNOTATION = "foresight.ai/gpu-devices"
PRODUCT_LABEL = "nvidia.com/gpu.product"
#: MaxExtenderPriority of k8s.io/kube-scheduler/extender/v1
MAX_PRIORITY = 10
PolicyName = Literal["foresight", "fgd"]
_DONE_PHASES = ("Succeeded", "Failed")


def _field(obj: Mapping[str, Any], key: str) -> Any:
    """A key of a Go-decoded struct: exact first, then case-insensitively (Go's encoding/json matches so)."""
    if key in obj:
        return obj[key]
    lowered = key.lower()
    return next((v for k, v in obj.items() if isinstance(k, str) and k.lower() == lowered), None)


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if type(value) is dict:  # what JSON gives: skips the slower abstract-class check on every object
        return value
    if not isinstance(value, Mapping):
        raise InputError(f"{where}: expected an object, got {type(value).__name__}")
    return value


def _name(obj: Mapping[str, Any], where: str) -> str:
    meta = _mapping(obj.get("metadata"), f"{where}.metadata")
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        raise InputError(f"{where}.metadata.name: missing")
    return name


#: the same few quantities ("1", "500m", "4Gi") come back on every pod of a cluster
_quantity = functools.lru_cache(maxsize=4096)(quantity)


def _amount(value: Any, where: str) -> float:
    try:
        return _quantity(str(value))
    except ValueError:
        raise InputError(f"{where}: {value!r} is not a Kubernetes quantity") from None


def _containers(spec: Mapping[str, Any], key: str, where: str) -> list[Mapping[str, Any]]:
    found = spec.get(key) or []
    if not isinstance(found, list):
        raise InputError(f"{where}.spec.{key}: expected a list")
    return [_mapping(c, f"{where}.spec.{key}[{i}]") for i, c in enumerate(found)]


def _requests(container: Mapping[str, Any], where: str) -> dict[str, float]:
    """A container's requests, limits standing in where no request is given (as the API server defaults them)."""
    resources = _mapping(container.get("resources") or {}, f"{where}.resources")
    limits = _mapping(resources.get("limits") or {}, f"{where}.resources.limits")
    requests = _mapping(resources.get("requests") or {}, f"{where}.resources.requests")
    merged = {**limits, **requests}
    return {k: _amount(v, f"{where}.resources[{k!r}]") for k, v in merged.items()}


def _whole(value: float, where: str) -> int:
    if value < 0 or value != math.floor(value):
        raise InputError(f"{where}: {value:g} is not a whole number of GPUs (ask for a fraction with {MILLI_ANNOTATION})")
    return int(value)


def _asked(pod: Mapping[str, Any], where: str) -> tuple[str, int, int, int, Mapping[str, Any]]:
    """(namespace/name, milli-CPU, MiB, whole GPUs, annotations) of a pod, counted as kube-scheduler does:
    the containers' requests summed, at least the largest init container's, plus ``spec.overhead``."""
    pod = _mapping(pod, where)
    name = _name(pod, where)
    meta = pod["metadata"]
    name = f"{meta.get('namespace') or 'default'}/{name}"
    spec = _mapping(pod.get("spec") or {}, f"{where}.spec")
    total = {"cpu": 0.0, "memory": 0.0, GPU_RESOURCE: 0.0}
    for i, c in enumerate(_containers(spec, "containers", where)):
        asked = _requests(c, f"{where}.spec.containers[{i}]")
        for k in total:
            total[k] += asked.get(k, 0.0)
    for i, c in enumerate(_containers(spec, "initContainers", where)):
        asked = _requests(c, f"{where}.spec.initContainers[{i}]")
        for k in total:
            total[k] = max(total[k], asked.get(k, 0.0))
    overhead = _mapping(spec.get("overhead") or {}, f"{where}.spec.overhead")
    for k in ("cpu", "memory"):
        if k in overhead:
            total[k] += _amount(overhead[k], f"{where}.spec.overhead[{k!r}]")
    gpus = _whole(total[GPU_RESOURCE], f"{where} {name}: {GPU_RESOURCE}")
    annotations = _mapping(meta.get("annotations") or {}, f"{where}.metadata.annotations")
    return (name, math.ceil(total["cpu"] * 1000 - 1e-9), math.ceil(total["memory"] / 2**20 - 1e-9), gpus,
            annotations)


def pod_task(pod: Mapping[str, Any], where: str = "Pod") -> Task | None:
    """The placement task a pod asks for, or None when it asks for no GPU (not the extender's pod).

    >>> pod = {"metadata": {"name": "a", "namespace": "ml", "annotations": {MILLI_ANNOTATION: "250"}},
    ...        "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "2", "memory": "1Gi"}}}]}}
    >>> t = pod_task(pod)
    >>> t.name, t.cpu_milli, t.memory_mib, t.gpu_count, t.gpu_milli
    ('ml/a', 2000, 1024, 1, 250)
    """
    name, cpu, memory, gpus, annotations = _asked(pod, where)
    milli_text = annotations.get(MILLI_ANNOTATION)
    if gpus == 0 and milli_text is None:
        return None
    milli = MILLI
    if milli_text is not None:
        if gpus:
            raise InputError(f"{where} {name} asks for {gpus} {GPU_RESOURCE} and {MILLI_ANNOTATION}="
                             f"{milli_text!r}: ask for whole GPUs or a fraction of one, not both")
        if not str(milli_text).isdigit() or not 1 <= int(milli_text) <= MILLI:
            raise InputError(f"{where} {name}: {MILLI_ANNOTATION}={milli_text!r} must be a whole number of "
                             f"milli-GPU in 1..{MILLI}")
        gpus, milli = 1, int(milli_text)
    types_text = str(annotations.get(TYPES_ANNOTATION) or "")
    types = frozenset(t.strip() for t in types_text.split(",") if t.strip())
    return Task(name, cpu, memory, gpu_count=gpus, gpu_milli=milli, gpu_types=types)


def _node(node: Mapping[str, Any], where: str) -> Node | str:
    """The placement node of a v1.Node, or why it cannot be one (a GPU node without its type)."""
    node = _mapping(node, where)
    name = _name(node, where)
    status = _mapping(node.get("status") or {}, f"{where}.status")
    allocatable = _mapping(status.get("allocatable") or {}, f"{where}.status.allocatable")
    cpu = _amount(allocatable.get("cpu", "0"), f"node {name} allocatable cpu")
    memory = _amount(allocatable.get("memory", "0"), f"node {name} allocatable memory")
    gpus = _whole(_amount(allocatable.get(GPU_RESOURCE, "0"), f"node {name} allocatable {GPU_RESOURCE}"),
                  f"node {name} allocatable {GPU_RESOURCE}")
    labels = _mapping(node.get("metadata", {}).get("labels") or {}, f"{where}.metadata.labels")
    gpu_type = str(labels.get(PRODUCT_LABEL) or "")
    if gpus and not gpu_type:
        return (f"node {name} has {gpus} {GPU_RESOURCE} but no {PRODUCT_LABEL} label, so its GPU type is unknown "
                "(install GPU feature discovery or label the node)")
    return Node(name, int(cpu * 1000), int(memory / 2**20), gpus, gpu_type if gpus else "")


@dataclass(frozen=True)
class GpuView:
    """The cluster as the extender sees it: capacities, what the bound pods hold, and what could not be read.

    ``holdings`` maps a bound GPU pod (``namespace/name``) to its node and devices; ``unusable`` maps a
    node left out to the reason; ``notes`` are pods that could not be counted as they claim, each with why.
    ``pools`` maps a node to its node pool, ``spot`` holds the spot nodes and ``models`` maps a GPU pod
    to the model it serves (:mod:`foresight.placement.usage`).
    """

    cluster: Cluster
    state: ClusterState
    tasks: tuple[Task, ...]
    holdings: Mapping[str, tuple[str, tuple[int, ...]]]
    unusable: Mapping[str, str]
    notes: tuple[str, ...]
    positions: Mapping[str, int]
    pools: Mapping[str, str] = dataclasses.field(default_factory=dict)
    spot: frozenset[str] = frozenset()
    models: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def index(self, node: str) -> int | None:
        """The node's position in ``cluster`` (None: not in the view)."""
        return self.positions.get(node)


def _devices_of(pod: Mapping[str, Any]) -> tuple[int, ...] | None:
    text = (pod.get("metadata", {}).get("annotations") or {}).get(DEVICES_ANNOTATION)
    if text is None:
        return None
    parts = [p.strip() for p in str(text).split(",")]
    if not parts or not all(p.isdigit() for p in parts):
        return None
    return tuple(int(p) for p in parts)


def build_view(nodes: Iterable[Mapping[str, Any]], pods: Iterable[Mapping[str, Any]]) -> GpuView:
    """The view from v1.Node and v1.Pod objects as the API returns them (pods on other nodes, pending or
    finished ones are not counted). Nodes are ordered by name, which is also the tie-break order.

    Pods with a device annotation are counted first, on those devices; then whole-GPU pods on the lowest
    free devices, then fractional ones on the best-fit device. A pod that does not fit as read (a stale or
    hand-written annotation, allocatable shrunk under it) is counted elsewhere on its node when it fits
    there, else left out, with a note either way.
    """
    built: list[Node] = []
    unusable: dict[str, str] = {}
    pools: dict[str, str] = {}
    spot: set[str] = set()
    for i, obj in enumerate(nodes):
        name = _name(_mapping(obj, f"Node[{i}]"), f"Node[{i}]")
        try:
            node = _node(obj, f"Node[{i}]")
        except InputError as exc:  # one node the extender cannot read must not stop it placing on the others
            node = str(exc)
        if isinstance(node, str):
            unusable[name] = node
        else:
            built.append(node)
            pools[name] = node_pool(obj, node.gpu_type)
            if is_spot(obj):
                spot.add(name)
    if not built:
        raise InputError("no usable node in the cluster view" + (f": {'; '.join(unusable.values())}" if unusable else ""))
    cluster = Cluster(sorted(built, key=lambda n: n.name))
    state = ClusterState(cluster)
    index = {n.name: i for i, n in enumerate(cluster.nodes)}
    notes: list[str] = []
    bound: list[tuple[int, str, Task, tuple[int, ...] | None]] = []
    models: dict[str, str] = {}
    for i, pod in enumerate(pods):
        where = f"Pod[{i}]"
        spec = _mapping(pod, where).get("spec") or {}
        node_name = spec.get("nodeName") if isinstance(spec, Mapping) else None
        if node_name not in index or (pod.get("status") or {}).get("phase") in _DONE_PHASES:
            continue
        try:
            task = pod_task(pod, where)
        except InputError as exc:
            notes.append(f"not counted: {exc}")
            continue
        if task is None:  # CPU and memory still count
            name, cpu, memory, _, _ = _asked(pod, where)
            task = Task(name, cpu, memory)
        else:  # already placed: its allowed types no longer matter, and may name types no node has
            task = Task(task.name, task.cpu_milli, task.memory_mib, task.gpu_count, task.gpu_milli)
        devices = _devices_of(pod) if task.gpu_count else None
        if task.gpu_count:
            models[task.name] = model_of(pod)
        order = 0 if devices is not None or not task.gpu_count else 1 if not task.is_shared else 2
        bound.append((order, node_name, task, devices))
    holdings: dict[str, tuple[str, tuple[int, ...]]] = {}
    tasks: list[Task] = []
    for _, node_name, task, devices in sorted(bound, key=lambda b: (b[0], b[1], b[2].name)):
        n = index[node_name]
        row = state.dev_left[n]
        if devices is not None and not _fits_devices(state, task, n, devices):
            notes.append(f"{task.name}: {DEVICES_ANNOTATION}={','.join(map(str, devices))} does not fit node "
                         f"{node_name} as read; counted on the devices a new placement would take")
            devices = None
        if devices is None and task.gpu_count:
            fitting = np.flatnonzero(row >= task.gpu_milli)
            if fitting.size < task.gpu_count:
                notes.append(f"{task.name}: holds {task.gpu_count} x {task.gpu_milli} milli-GPU on {node_name}, "
                             "more than the node has free as read; not counted")
                continue
            devices = (int(fitting[np.argmin(row[fitting])]),) if task.is_shared else tuple(
                int(d) for d in np.flatnonzero(row == MILLI)[:task.gpu_count])
            if len(devices) < task.gpu_count:
                notes.append(f"{task.name}: needs {task.gpu_count} whole GPUs on {node_name}, fewer are free as read; "
                             "not counted")
                continue
        if state.cpu_left[n] < task.cpu_milli or state.memory_left[n] < task.memory_mib:
            notes.append(f"{task.name}: its CPU or memory exceeds what node {node_name} has left as read; "
                         "counted as GPU use only")
            task = Task(task.name, 0, 0, task.gpu_count, task.gpu_milli)
        if not task.gpu_count and not task.cpu_milli and not task.memory_mib:
            continue
        state.assign(task, n, devices or ())
        if task.gpu_count:
            holdings[task.name] = (node_name, tuple(devices or ()))
            tasks.append(task)
    return GpuView(cluster, state, tuple(tasks), holdings, unusable, tuple(notes), index, pools, frozenset(spot),
                   {k: v for k, v in models.items() if k in holdings})


def _fits_devices(state: ClusterState, task: Task, node: int, devices: tuple[int, ...]) -> bool:
    return (len(devices) == task.gpu_count and len(set(devices)) == len(devices)
            and all(d < state.cluster.gpu_count[node] and state.dev_left[node, d] >= task.gpu_milli for d in devices))


# -- the verbs -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Args:
    pod: Mapping[str, Any]
    names: list[str]
    node_list: Mapping[str, Any] | None  # the NodeList as sent (nodeCacheCapable: false)


def _args(args: Any) -> _Args:
    body = _mapping(args, "ExtenderArgs")
    pod = _field(body, "Pod")
    if pod is None:
        raise InputError("ExtenderArgs.Pod: missing (expected {Pod, Nodes | NodeNames})")
    pod = _mapping(pod, "ExtenderArgs.Pod")
    nodes, names = _field(body, "Nodes"), _field(body, "NodeNames")
    if names is not None:
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise InputError("ExtenderArgs.NodeNames: expected a list of node names")
        return _Args(pod, list(names), None)
    if nodes is None:
        raise InputError("ExtenderArgs: neither Nodes nor NodeNames given")
    node_list = _mapping(nodes, "ExtenderArgs.Nodes")
    items = node_list.get("items") or []
    if not isinstance(items, list):
        raise InputError("ExtenderArgs.Nodes.items: expected a list of v1.Node")
    return _Args(pod, [_name(_mapping(n, f"ExtenderArgs.Nodes.items[{i}]"), f"ExtenderArgs.Nodes.items[{i}]")
                       for i, n in enumerate(items)], node_list)


def _node_problem(view: GpuView, task: Task, name: str) -> tuple[str, bool] | None:
    """Why ``task`` does not fit node ``name`` now (and whether preemption could change that), or None."""
    n = view.index(name)
    if n is None:
        return view.unusable.get(name, f"node {name} is not in Foresight's view of the cluster (yet)"), True
    c, s = view.cluster, view.state
    if task.gpu_count:
        if not c.allowed_nodes(task.gpu_types)[n]:
            have = c.nodes[n].gpu_type or "no GPU"
            return f"GPU type {have} is not among the pod's ({', '.join(sorted(task.gpu_types)) or 'any'})", True
        if c.gpu_count[n] < task.gpu_count:
            return f"node has {c.gpu_count[n]} GPU(s), the pod needs {task.gpu_count}", True
        room = int((s.dev_left[n] >= task.gpu_milli).sum())
        if room < task.gpu_count:
            free = ", ".join(f"{d}:{int(v)}" for d, v in enumerate(s.dev_left[n][:c.gpu_count[n]]))
            return (f"{room} GPU(s) with {task.gpu_milli} milli-GPU free, the pod needs {task.gpu_count} "
                    f"(free milli-GPU per device {free})"), False
    if s.cpu_left[n] < task.cpu_milli:
        return f"{int(s.cpu_left[n])} milli-CPU free, the pod needs {task.cpu_milli}", c.cpu[n] < task.cpu_milli
    if s.memory_left[n] < task.memory_mib:
        return f"{int(s.memory_left[n])} MiB free, the pod needs {task.memory_mib}", c.memory[n] < task.memory_mib
    return None


def _known_types(view: GpuView, task: Task) -> None:
    """A pod naming a GPU type no node has is a mistake to report, not a pod to leave pending silently."""
    unknown = sorted(task.gpu_types - set(view.cluster.type_names))
    if unknown:
        raise InputError(f"pod {task.name}: {TYPES_ANNOTATION} names GPU type(s) {', '.join(unknown)} that no node "
                         f"has (known: {', '.join(view.cluster.type_names) or 'none'})")


def is_managed(args: Any) -> bool:
    """Whether the pod of ExtenderArgs ``args`` asks for a GPU (else filter and prioritize need no view).

    Raises :class:`InputError` on a malformed payload.
    """
    return pod_task(_args(args).pod, "ExtenderArgs.Pod") is not None


def _need(view: GpuView | None) -> GpuView:
    if view is None:
        raise InputError("a GPU pod needs the cluster's GPU view, and none was given")
    return view


def binding_args(args: Any) -> tuple[str, str, str, str]:
    """(namespace, name, uid, node) of ExtenderBindingArgs {PodName, PodNamespace, PodUID, Node}."""
    body = _mapping(args, "ExtenderBindingArgs")
    values = []
    for key in ("PodNamespace", "PodName", "PodUID", "Node"):
        value = _field(body, key)
        if not isinstance(value, str) or (not value and key != "PodUID"):
            raise InputError(f"ExtenderBindingArgs.{key}: expected a non-empty string, got {value!r}")
        values.append(value)
    return values[0], values[1], values[2], values[3]


def filter_nodes(args: Any, view: GpuView | None) -> dict[str, Any]:
    """The ExtenderFilterResult for ExtenderArgs ``args``: the nodes where the pod fits now, and why not elsewhere.

    Bad input (a malformed payload, an impossible request, an unknown GPU type) is the ``Error`` field.
    ``view`` may be None for a pod :func:`is_managed` says is not the extender's.
    """
    try:
        parsed = _args(args)
        task = pod_task(parsed.pod, "ExtenderArgs.Pod")
        if task is not None:
            view = _need(view)
            _known_types(view, task)
    except InputError as exc:
        return {"FailedNodes": {}, "FailedAndUnresolvableNodes": {}, "Error": str(exc)}
    failed: dict[str, str] = {}
    unresolvable: dict[str, str] = {}
    passed = []
    for name in parsed.names:
        problem = _node_problem(view, task, name) if task is not None and view is not None else None
        if problem is None:
            passed.append(name)
        else:
            (unresolvable if problem[1] else failed)[name] = f"foresight: {problem[0]}"
    result: dict[str, Any] = {"FailedNodes": failed, "FailedAndUnresolvableNodes": unresolvable, "Error": ""}
    if parsed.node_list is None:
        result["NodeNames"] = passed
    else:
        keep = set(passed)
        items = [n for n in parsed.node_list.get("items") or [] if n["metadata"]["name"] in keep]
        result["Nodes"] = {**{k: v for k, v in parsed.node_list.items() if k != "items"}, "items": items}
    return result


def _policy(view: GpuView, task: Task, name: PolicyName) -> Policy:
    """The policy over the task mix of the running pods and this one (the forecast of what comes next)."""
    if name == "fgd":
        return Fgd(typical_mix(view.cluster, [*view.tasks, task]))
    policy = Foresight(view.cluster)
    for t in view.tasks:
        policy.observe(t)
    policy.observe(task)
    return policy


def _ties(view: GpuView) -> Ties:
    """Ties go to the first node by name (the view's order), so near-equal choices fill the same nodes."""
    return Ties(np.random.default_rng(0), rank=np.arange(len(view.cluster), dtype=np.int64))


def prioritize(args: Any, view: GpuView | None,
               policy: PolicyName = "foresight") -> tuple[list[dict[str, Any]], list[str]]:
    """The HostPriorityList for ExtenderArgs ``args``, and a note per node that no longer fits.

    The policy's choice scores 10, its choice among the rest 9, ... the tenth 1, every other node 0:
    kube-scheduler adds weight x score to its own, so the rank is what matters. A node that no longer
    fits (the state changed since filter) scores 0 and is noted; it never fails the call. Raises
    :class:`InputError` on a malformed payload or an unknown GPU type.
    """
    parsed = _args(args)
    task = pod_task(parsed.pod, "ExtenderArgs.Pod")
    scores = dict.fromkeys(parsed.names, 0)
    if task is None:
        return [{"Host": n, "Score": 0} for n in parsed.names], []
    view = _need(view)
    _known_types(view, task)
    notes = []
    fitting = []
    for name in dict.fromkeys(parsed.names):
        problem = _node_problem(view, task, name)
        if problem is None:
            fitting.append(view.index(name))
        else:
            notes.append(f"pod {task.name}: node {name} scored 0, it no longer fits ({problem[0]})")
    remaining = np.array(sorted(i for i in fitting if i is not None), dtype=np.intp)
    if remaining.size:
        chooser, ties = _policy(view, task, policy), _ties(view)
        for score in range(MAX_PRIORITY, 0, -1):
            if remaining.size == 0:
                break
            node, _ = chooser.choose(view.state, task, remaining, ties)
            scores[view.cluster.nodes[node].name] = score
            remaining = remaining[remaining != node]
    return [{"Host": n, "Score": scores[n]} for n in parsed.names], notes


def bind_devices(view: GpuView, pod: Mapping[str, Any], node: str, policy: PolicyName = "foresight") -> tuple[int, ...]:
    """The devices the pod takes on ``node``, chosen by the policy (empty for a pod without GPUs).

    Raises :class:`InputError` when the pod no longer fits there (bind must not hand out a busy device).
    """
    task = pod_task(pod)
    if task is None:
        return ()
    n = view.index(node)
    problem = _node_problem(view, task, node)
    if n is None or problem is not None:
        raise InputError(f"pod {task.name} does not fit node {node} now: {problem[0] if problem else 'unknown node'}")
    if task.gpu_types:
        _known_types(view, task)
    _, devices = _policy(view, task, policy).choose(view.state, task, np.array([n], dtype=np.intp), _ties(view))
    return devices


def pool_summary(view: GpuView) -> list[dict[str, Any]]:
    """GPU allocation and fragmentation per node pool and GPU type: what the dashboard draws.

    A pool is the nodes of one pool label (:func:`foresight.placement.usage.node_pool`; without one,
    of one GPU type), split by GPU type when it mixes types. Fragmented milli-GPU are free GPU
    capacity the typical task mix of the running pods cannot use (FGD's measure); with no GPU pod
    running there is no mix to measure against, and it is None.
    """
    c, s = view.cluster, view.state
    gpu_tasks = [t for t in view.tasks if t.gpu_count]
    mix: TaskMix | None = typical_mix(c, gpu_tasks) if gpu_tasks else None
    frag = frag_amount(s.cpu_left, s.dev_left, c.node_type, mix) if mix is not None and mix.levels.size else None
    names = np.array([view.pools.get(n.name, n.gpu_type) for n in c.nodes], dtype=object)
    pools = []
    for t, gpu_type in enumerate(c.type_names):
        of_type = c.node_type == t
        for pool in sorted(set(names[of_type])):
            pools.append(_pool(view, frag, gpu_type, str(pool), np.flatnonzero(of_type & (names == pool))))
    return pools


def _pool(view: GpuView, frag: np.ndarray | None, gpu_type: str, pool: str, nodes: np.ndarray) -> dict[str, Any]:
    c, s = view.cluster, view.state
    dev = s.dev_left[nodes]
    exists = c.device_exists[nodes]
    total = int(c.gpu_count[nodes].sum()) * MILLI
    free = int(dev.sum())
    fragmented = float(frag[nodes].sum()) if frag is not None else None
    return {
        "pool": pool, "gpu_type": gpu_type, "nodes": int(nodes.size), "gpus": total // MILLI,
        "spot_nodes": sum(c.nodes[i].name in view.spot for i in nodes),
        "allocated_milli": total - free, "free_milli": free,
        "allocation_ratio": (total - free) / total if total else 0.0,
        "whole_free_gpus": int(((dev == MILLI) & exists).sum()),
        "shared_gpus": int(((dev > 0) & (dev < MILLI) & exists).sum()),
        "fragmented_milli": fragmented,
        "fragmentation_ratio": None if fragmented is None else fragmented / free if free else 0.0,
    }


def model_cost_rows(view: GpuView, prices: GpuPrices) -> list[ModelCost]:
    """GPUs and $ per hour of each model running on the cluster (see :mod:`foresight.placement.usage`)."""
    tasks = {t.name: t for t in view.tasks}
    types = {n.name: n.gpu_type for n in view.cluster.nodes}
    return model_costs(((view.models.get(pod, pod), types[node], node in view.spot,
                         tasks[pod].gpu_count * tasks[pod].gpu_milli / MILLI)
                        for pod, (node, _) in view.holdings.items()), prices)


def node_rows(view: GpuView) -> list[dict[str, Any]]:
    """Per node: its pool and the milli-GPU free on each device (the dashboard's detail table)."""
    c, s = view.cluster, view.state
    return [{"node": n.name, "gpu_type": n.gpu_type, "free_milli": [int(v) for v in s.dev_left[i][:n.gpu_count]]}
            for i, n in enumerate(c.nodes) if n.gpu_count]
