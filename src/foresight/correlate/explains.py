"""Which alerting service's failure explains which: the relation suppression and ranking read.

An alerting service ``S`` is explained by an alerting service ``T`` when ``S`` calls ``T`` within
``max_hops`` hops (through at most ``max_hops - 1`` services that stayed silent) and ``T``'s first
alert came no later than ``S``'s plus ``skew_s`` (clocks of different sources disagree by a few
seconds): a fault shows where it is first, then in the services that call it. On a call cycle
(within one strongly connected part of that raw relation) only the service that alerted strictly
first, then the smaller name, explains the other, so the relation is acyclic and every incident
keeps at least one unexplained service.

Services are numbered by (first alert, name); the transitive closures are Python ints used as bit
sets, so an incident of n alerting services costs O(n + edges) big-integer operations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from foresight.correlate.nearby import Nearby

__all__ = ["Relation", "relate"]


@dataclass(frozen=True)
class Relation:
    """The explains relation over an incident's alerting services, numbered by first alert."""

    names: tuple[str, ...]
    onset: tuple[float, ...]
    #: i -> the services that explain i directly (those it calls that alerted first)
    below: tuple[tuple[int, ...], ...]
    #: i -> bit set of every service that explains i, transitively
    down: tuple[int, ...]
    #: i -> bit set of every service i explains, transitively
    up: tuple[int, ...]
    #: every service after all that explain it (a post-order of ``below``)
    order: tuple[int, ...]

    def members(self, bits: int) -> list[int]:
        return [i for i in range(len(self.names)) if bits >> i & 1]


def relate(onset: Mapping[str, float], near: Nearby, skew_s: float) -> Relation:
    """The relation for alerting services with the given first-alert times.

    >>> from foresight.correlate.graph import ServiceGraph
    >>> near = Nearby(ServiceGraph.of([("web", "api"), ("api", "db"), ("db", "api")]), max_hops=2)
    >>> r = relate({"web": 130.0, "api": 100.0, "db": 102.0}, near, skew_s=5.0)
    >>> r.names, r.below, [r.members(b) for b in r.up]
    (('api', 'db', 'web'), ((), (0,), (0, 1)), [[1, 2], [2], []])
    """
    names = tuple(sorted(onset, key=lambda s: (onset[s], s)))
    index = {s: i for i, s in enumerate(names)}
    raw: list[list[int]] = []
    for s in names:
        latest = onset[s] + skew_s
        raw.append(sorted(index[t] for t in index.keys() & near.callees_within(s) if onset[t] <= latest))
    if all(j < i for i, js in enumerate(raw) for j in js):  # only earlier ones explain: no cycle
        below = tuple(tuple(js) for js in raw)
    else:
        part = _strong_parts(raw)
        below = tuple(tuple(j for j in js if part[i] != part[j] or j < i) for i, js in enumerate(raw))
    down, order = _closure(below)
    up = [0] * len(names)
    for i in reversed(order):  # every service before the ones that explain it
        for j in below[i]:
            up[j] |= (1 << i) | up[i]
    return Relation(names, tuple(onset[s] for s in names), below, tuple(down), tuple(up), tuple(order))


def _strong_parts(edges: list[list[int]]) -> np.ndarray:
    n = len(edges)
    rows = np.repeat(np.arange(n), [len(js) for js in edges])
    cols = np.fromiter((j for js in edges for j in js), dtype=np.int64, count=len(rows))
    graph = csr_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n))
    return connected_components(graph, directed=True, connection="strong")[1]


def _closure(edges: tuple[tuple[int, ...], ...]) -> tuple[list[int], list[int]]:
    """Bit sets of everything each vertex reaches in a DAG, and the vertices in post-order."""
    n = len(edges)
    reach = [0] * n
    seen = [False] * n
    order: list[int] = []
    for root in range(n):
        if seen[root]:
            continue
        seen[root] = True
        stack = [(root, 0)]
        while stack:
            i, k = stack[-1]
            if k < len(edges[i]):
                stack[-1] = (i, k + 1)
                j = edges[i][k]
                if not seen[j]:
                    seen[j] = True
                    stack.append((j, 0))
                continue
            stack.pop()
            bits = 0
            for j in edges[i]:
                bits |= (1 << j) | reach[j]
            reach[i] = bits
            order.append(i)
    return reach, order
