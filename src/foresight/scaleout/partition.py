"""Where a series lives and who serves it: stable hashes, so every process agrees without talking.

A series id is its label set written canonically (labels sorted by name, ``name="value"`` with the
value JSON-quoted), so the same series has the same id whatever order its labels arrive in. Its
partition is a BLAKE2b hash of that id modulo the partition count: Python's ``hash()`` is salted
per process, and the remote-write receiver, the poller and every worker must agree for ever.

Partitions go to workers by rendezvous (highest random weight) hashing: each partition picks the
live worker with the largest ``hash(partition, worker)``. When a worker joins or leaves, only the
partitions it gains or held move (about ``1/workers`` of them), and every worker computes the same
assignment from the same membership list with no coordinator.

>>> series_id({"job": "api", "__name__": "up"})
'__name__="up",job="api"'
>>> partition_of('__name__="up",job="api"', 16) == partition_of('__name__="up",job="api"', 16)
True
>>> sorted(assign(4, ["w1"]).items())
[(0, 'w1'), (1, 'w1'), (2, 'w1'), (3, 'w1')]
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping

__all__ = ["assign", "owned_by", "partition_of", "series_id"]


def series_id(labels: Mapping[str, str]) -> str:
    """The canonical id of a label set (sorted names, JSON-quoted values: unambiguous and readable)."""
    return ",".join(f"{name}={json.dumps(value, ensure_ascii=False)}" for name, value in sorted(labels.items()))


def _hash64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


def partition_of(sid: str, partitions: int) -> int:
    """The partition of a series id among ``partitions`` (stable across processes, hosts and versions)."""
    if partitions < 1:
        raise ValueError(f"partitions must be at least 1, got {partitions}")
    return _hash64(sid) % partitions


def assign(partitions: int, workers: Iterable[str]) -> dict[int, str]:
    """Each partition's owner among ``workers`` (rendezvous hashing); empty when no worker is live."""
    live = sorted(set(workers))
    if not live:
        return {}
    return {p: max(live, key=lambda w: (_hash64(f"{p}/{w}"), w)) for p in range(partitions)}


def owned_by(partitions: int, workers: Iterable[str], worker: str) -> frozenset[int]:
    """The partitions ``worker`` should serve when ``workers`` are live."""
    return frozenset(p for p, w in assign(partitions, workers).items() if w == worker)
