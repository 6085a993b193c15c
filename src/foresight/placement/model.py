"""Nodes, tasks and the mutable occupancy of a GPU cluster, held as numpy arrays over nodes.

GPU sharing is counted in milli-GPU per device (1000 = one whole GPU), as Alibaba's GPU-sharing
device plugin and the FGD simulator do: a task asks for ``gpu_count`` devices with ``gpu_milli`` of
each, and a fraction (``gpu_milli < 1000``) is only allowed on one device. Node arrays pad every
node to the widest node's device count with zero free milli-GPU, so a padded device never fits,
never counts as free and never adds to a sum.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from foresight.errors import InputError

__all__ = ["MILLI", "Cluster", "ClusterState", "Node", "Placement", "Task", "Unplaced"]

#: milli-GPU in one whole device
MILLI = 1000


@dataclass(frozen=True)
class Node:
    """One machine: CPU in milli-cores, memory in MiB, ``gpu_count`` devices of ``gpu_type`` ("" = none)."""

    name: str
    cpu_milli: int
    memory_mib: int
    gpu_count: int = 0
    gpu_type: str = ""

    def __post_init__(self) -> None:
        if self.cpu_milli < 0 or self.memory_mib < 0 or self.gpu_count < 0:
            raise InputError(f"node {self.name!r}: CPU, memory and GPU count must not be negative")
        if self.gpu_count > 0 and not self.gpu_type:
            raise InputError(f"node {self.name!r} has {self.gpu_count} GPUs but no GPU type")


@dataclass(frozen=True)
class Task:
    """One pod's request; ``gpu_types`` lists the GPU types it may run on (empty = any type).

    ``gang`` names a group whose tasks are placed all together or not at all ("" = alone).
    """

    name: str
    cpu_milli: int
    memory_mib: int
    gpu_count: int = 0
    gpu_milli: int = 0
    gpu_types: frozenset[str] = field(default_factory=frozenset)
    gang: str = ""

    def __post_init__(self) -> None:
        if self.cpu_milli < 0 or self.memory_mib < 0 or self.gpu_count < 0:
            raise InputError(f"task {self.name!r}: CPU, memory and GPU count must not be negative")
        if self.gpu_count == 0 and self.gpu_milli != 0:
            raise InputError(f"task {self.name!r} asks for {self.gpu_milli} milli-GPU on zero GPUs")
        if self.gpu_count > 0 and not 0 < self.gpu_milli <= MILLI:
            raise InputError(f"task {self.name!r}: gpu_milli must be in 1..{MILLI} for a GPU task, "
                             f"got {self.gpu_milli}")
        if self.gpu_count > 1 and self.gpu_milli != MILLI:
            raise InputError(f"task {self.name!r}: a fraction of a GPU is only possible on one GPU "
                             f"({self.gpu_count} x {self.gpu_milli} milli asked)")

    @property
    def is_shared(self) -> bool:
        """Asks for part of one GPU, so it may share the device with other tasks."""
        return self.gpu_count == 1 and self.gpu_milli < MILLI

    @property
    def total_gpu_milli(self) -> int:
        return self.gpu_count * self.gpu_milli


@dataclass(frozen=True)
class Placement:
    """Where a task went: the node's index and the devices it holds (one per requested GPU)."""

    task: Task
    node: int
    devices: tuple[int, ...]


@dataclass(frozen=True)
class Unplaced:
    """A task no node could take, with the reason; reported, never dropped."""

    task: Task
    reason: str


class Cluster:
    """The fixed part of a cluster: capacities and GPU types of its nodes, as arrays.

    ``type_names`` are the GPU types present; ``node_type`` indexes them (-1 for CPU-only nodes).
    """

    def __init__(self, nodes: Sequence[Node]) -> None:
        if not nodes:
            raise InputError("a cluster needs at least one node")
        names = [n.name for n in nodes]
        if len(set(names)) != len(names):
            raise InputError("node names must be unique")
        self.nodes = tuple(nodes)
        self.type_names: tuple[str, ...] = tuple(sorted({n.gpu_type for n in nodes if n.gpu_count > 0}))
        index = {t: i for i, t in enumerate(self.type_names)}
        self.cpu = np.array([n.cpu_milli for n in nodes], dtype=np.int64)
        self.memory = np.array([n.memory_mib for n in nodes], dtype=np.int64)
        self.gpu_count = np.array([n.gpu_count for n in nodes], dtype=np.int64)
        self.node_type = np.array([index[n.gpu_type] if n.gpu_count > 0 else -1 for n in nodes], dtype=np.int64)
        self.width = max(1, int(self.gpu_count.max()))
        self.device_exists = np.arange(self.width)[None, :] < self.gpu_count[:, None]
        self.total_gpu_milli = int(self.gpu_count.sum()) * MILLI
        self._type_masks: dict[frozenset[str], NDArray[np.bool_]] = {}

    def __len__(self) -> int:
        return len(self.nodes)

    def type_mask(self, gpu_types: frozenset[str]) -> NDArray[np.bool_]:
        """Which of ``type_names`` the set allows (all for an empty set); unknown types are an error."""
        mask = self._type_masks.get(gpu_types)
        if mask is None:
            if gpu_types:
                unknown = sorted(gpu_types - set(self.type_names))
                if unknown:
                    raise InputError(f"GPU type(s) {', '.join(unknown)} are on no node of this cluster "
                                     f"(known: {', '.join(self.type_names) or 'none'})")
                mask = np.array([t in gpu_types for t in self.type_names], dtype=bool)
            else:
                mask = np.ones(len(self.type_names), dtype=bool)
            self._type_masks[gpu_types] = mask
        return mask

    def allowed_nodes(self, gpu_types: frozenset[str]) -> NDArray[np.bool_]:
        """Nodes whose GPU type the set allows (CPU-only nodes never)."""
        mask = self.type_mask(gpu_types)
        if not mask.size:
            return np.zeros(len(self.nodes), dtype=bool)
        return np.where(self.node_type >= 0, mask[np.maximum(self.node_type, 0)], False)


class ClusterState:
    """What is free on each node now: CPU, memory and milli-GPU per device; changed only by assign/release."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.cpu_left = cluster.cpu.copy()
        self.memory_left = cluster.memory.copy()
        self.dev_left = np.where(cluster.device_exists, MILLI, 0).astype(np.int64)
        #: tasks per kind on each node: column 0 GPU-sharing tasks, column k tasks holding k whole GPUs
        self.kind_count = np.zeros((len(cluster), cluster.width + 1), dtype=np.int64)
        #: bumped on every change of a node, so a policy can cache per-node figures
        self.stamp = np.zeros(len(cluster), dtype=np.int64)

    def copy(self) -> ClusterState:
        other = ClusterState.__new__(ClusterState)
        other.cluster = self.cluster
        other.cpu_left = self.cpu_left.copy()
        other.memory_left = self.memory_left.copy()
        other.dev_left = self.dev_left.copy()
        other.kind_count = self.kind_count.copy()
        other.stamp = self.stamp.copy()
        return other

    def feasible(self, task: Task) -> NDArray[np.bool_]:
        """Nodes that can take the task now: CPU, memory, GPU type and enough devices with room."""
        ok = (self.cpu_left >= task.cpu_milli) & (self.memory_left >= task.memory_mib)
        if task.gpu_count > 0:
            ok &= self.cluster.allowed_nodes(task.gpu_types)
            ok &= (self.dev_left >= task.gpu_milli).sum(axis=1) >= task.gpu_count
        return ok

    def assign(self, task: Task, node: int, devices: Iterable[int]) -> Placement:
        """Take the task's resources on ``node``/``devices``; refuses anything that would overcommit."""
        devs = tuple(int(d) for d in devices)
        if len(devs) != task.gpu_count or len(set(devs)) != len(devs):
            raise ValueError(f"task {task.name!r} needs {task.gpu_count} distinct devices, got {devs}")
        if task.gpu_count and not self.cluster.allowed_nodes(task.gpu_types)[node]:
            raise ValueError(f"task {task.name!r} may not run on GPU type of node {node}")
        if self.cpu_left[node] < task.cpu_milli or self.memory_left[node] < task.memory_mib or any(
                d >= self.cluster.gpu_count[node] or self.dev_left[node, d] < task.gpu_milli for d in devs):
            raise ValueError(f"task {task.name!r} does not fit node {node} devices {devs}")
        self.cpu_left[node] -= task.cpu_milli
        self.memory_left[node] -= task.memory_mib
        for d in devs:
            self.dev_left[node, d] -= task.gpu_milli
        self._count(task, node, 1)
        return Placement(task, node, devs)

    def _count(self, task: Task, node: int, sign: int) -> None:
        if task.gpu_count:
            self.kind_count[node, 0 if task.is_shared else task.gpu_count] += sign
        self.stamp[node] += 1

    def release(self, placement: Placement) -> None:
        """Give a placement's resources back (a departure, or a gang that could not be completed)."""
        task, node = placement.task, placement.node
        self.cpu_left[node] += task.cpu_milli
        self.memory_left[node] += task.memory_mib
        for d in placement.devices:
            self.dev_left[node, d] += task.gpu_milli
        self._count(task, node, -1)

    @property
    def used_gpu_milli(self) -> int:
        return self.cluster.total_gpu_milli - int(self.dev_left.sum())
