"""The service dependency graph the correlator reasons over: who calls whom, and where pods run.

Built from whatever the platform knows (Istio's or OpenTelemetry's service-graph metrics,
kube-state-metrics' pod placement, the simulator's topology); it tolerates what real sources give:
cycles, self-calls (dropped), services that appear only as callers or callees, and edges that are
missing (an alert about a service the graph does not know is still correlated: by time alone, within
the correlator's shorter ``unknown_window_s``; an empty graph makes every service unknown).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["ServiceGraph"]


@dataclass(frozen=True)
class ServiceGraph:
    """Directed call edges ``caller -> callee`` and the placement ``component -> (service, node)``.

    >>> g = ServiceGraph.of([("web", "api"), ("api", "db"), ("db", "db")])
    >>> sorted(g.callees("api")), sorted(g.callers("api")), sorted(g.downstream("web"))
    (['db'], ['web'], ['api', 'db'])
    """

    edges: frozenset[tuple[str, str]]
    #: pod (or other component) -> (its service, the node it runs on)
    placement: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "placement", MappingProxyType(dict(self.placement)))
        out: dict[str, set[str]] = {}
        inc: dict[str, set[str]] = {}
        for a, b in self.edges:
            out.setdefault(a, set()).add(b)
            inc.setdefault(b, set()).add(a)
        object.__setattr__(self, "_out", {k: frozenset(v) for k, v in out.items()})
        object.__setattr__(self, "_in", {k: frozenset(v) for k, v in inc.items()})

    @classmethod
    def of(cls, edges: Iterable[tuple[str, str]], placement: Mapping[str, tuple[str, str]] | None = None) -> ServiceGraph:
        """The graph of ``edges``, self-calls dropped (a service calling itself explains nothing)."""
        return cls(frozenset((a, b) for a, b in edges if a != b), placement or {})

    @property
    def services(self) -> frozenset[str]:
        return frozenset(s for e in self.edges for s in e) | frozenset(s for s, _ in self.placement.values())

    def callees(self, service: str) -> frozenset[str]:
        return self._out.get(service, frozenset())  # type: ignore[attr-defined, no-any-return]

    def callers(self, service: str) -> frozenset[str]:
        return self._in.get(service, frozenset())  # type: ignore[attr-defined, no-any-return]

    def nodes_of(self, service: str) -> frozenset[str]:
        return frozenset(node for svc, node in self.placement.values() if svc == service)

    def downstream(self, service: str) -> frozenset[str]:
        """Every service ``service`` reaches by calls (not itself unless on a cycle)."""
        return self._reach(service, self.callees)

    def upstream(self, service: str) -> frozenset[str]:
        """Every service that reaches ``service`` by calls: where its failure can show up."""
        return self._reach(service, self.callers)

    def distance(self, a: str, b: str) -> int | None:
        """Hops between ``a`` and ``b`` ignoring direction (None: not connected)."""
        if a == b:
            return 0
        seen, queue = {a}, deque([(a, 0)])
        while queue:
            s, d = queue.popleft()
            for n in self.callees(s) | self.callers(s):
                if n == b:
                    return d + 1
                if n not in seen:
                    seen.add(n)
                    queue.append((n, d + 1))
        return None

    @staticmethod
    def _reach(start: str, step: object) -> frozenset[str]:
        seen: set[str] = set()
        queue = deque([start])
        while queue:
            for n in step(queue.popleft()):  # type: ignore[operator]
                if n not in seen:
                    seen.add(n)
                    queue.append(n)
        return frozenset(seen)
