"""The demo's injected faults next to the incidents they caused: did the incident name the fault's place?

Each injected fault has a place: a service (memory leak, latency regression) or a node (node loss,
spot preemption). Its incident is the first one opened within ``horizon_s`` after the fault that
names the place as its root cause, else the first that holds the place among its services (a node:
the first opened in the span, since alerts name services, not nodes). ``rank`` says where the place
stands among that incident's root-cause candidates (1: named first; None: not among them), at the
incident's last revision.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from foresight.correlate.model import Incident
from foresight.sim.faults import Fault, NodeLoss, SpotPreemption

__all__ = ["FaultIncident", "match_faults"]


@dataclass(frozen=True)
class FaultIncident:
    """One injected fault, the incident it caused (None: none within the horizon) and its root cause."""

    time_s: float
    fault: str
    place: str
    incident: str | None = None
    opened_after_s: float | None = None
    root_cause: str | None = None
    rank: int | None = None
    alerts: int = 0
    suppressed: int = 0

    @property
    def named(self) -> bool:
        return self.rank == 1

    def to_json(self) -> dict[str, object]:
        return {"time_s": self.time_s, "fault": self.fault, "place": self.place, "incident": self.incident,
                "opened_after_s": self.opened_after_s, "root_cause": self.root_cause, "rank": self.rank,
                "named": self.named, "alerts": self.alerts, "suppressed": self.suppressed}


def _places(incident: Incident) -> list[str]:
    """The incident's candidates as places: a node candidate's node, a service candidate's service."""
    return [c.component if c.kind == "node" and c.component else c.service for c in incident.candidates]


def match_faults(faults: Sequence[Fault], start_s: float, incidents: Iterable[Incident],
                 horizon_s: float = 7200.0) -> list[FaultIncident]:
    """For each fault (times from ``start_s``), its incident and how well it was named (module docstring).

    >>> from foresight.correlate.model import Candidate
    >>> from foresight.sim.faults import LatencyRegression
    >>> inc = Incident("i1", 130.0, ("api", "web"), ("a", "b"), ("b",), (Candidate("api", 0.9), Candidate("web", 0.4)))
    >>> [m] = match_faults([LatencyRegression(at_s=100.0, service="api", factor=2.0)], 0.0, [inc])
    >>> m.incident, m.root_cause, m.rank, m.opened_after_s
    ('i1', 'api', 1, 30.0)
    """
    ordered = sorted((i for i in incidents if i.merged_into is None), key=lambda i: i.opened_at)
    out = []
    for fault in faults:
        t = start_s + fault.at_s
        node = isinstance(fault, NodeLoss | SpotPreemption)
        place = fault.node if node else fault.service  # type: ignore[union-attr]
        span = [i for i in ordered if t <= i.opened_at <= t + horizon_s]
        named = [i for i in span if _places(i)[:1] == [place]]
        holding = span if node else [i for i in span if place in i.services]
        found = (named or holding or [None])[0]
        if found is None:
            out.append(FaultIncident(t, fault.kind, place))
            continue
        places = _places(found)
        out.append(FaultIncident(t, fault.kind, place, found.id, found.opened_at - t,
                                 places[0] if places else None,
                                 places.index(place) + 1 if place in places else None,
                                 len(found.alerts), len(found.suppressed)))
    return out
