"""What the correlator reads and writes: alerts in, incidents out, plain frozen data.

An :class:`Alert` is one firing (or resolved) alert from any source, Foresight's own anomaly
alerts or any Prometheus rule routed through Alertmanager's webhook, reduced to what correlation
needs: a stable key, the service it is about (``None`` when its labels name none), when it started
and ended, and how far its metric moved. An :class:`Incident` groups the alerts that one fault
explains; its :class:`Candidate` list ranks where that fault is, each with the evidence for it.
Times are seconds on the platform's clock (epoch seconds live, simulated seconds in the simulator).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from foresight.errors import InputError

__all__ = ["Alert", "Candidate", "Incident", "IncidentStatus", "InvalidAlert"]


class InvalidAlert(InputError):
    """An alert the correlator cannot place in time (NaN or infinite times, ``ends_at < starts_at``,
    a NaN score, an empty key). The message names the alert's key and field; the call that carried
    it changed nothing, so fixing or dropping that alert and sending the rest again is safe."""


def _frozen(labels: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(labels))


@dataclass(frozen=True)
class Alert:
    """One alert, as the correlator sees it.

    ``key`` identifies the alert across updates (Alertmanager's fingerprint, or Foresight's own
    series key): a later alert with the same key and an ``ends_at`` resolves it. ``score`` says
    how far the alerting metric moved, comparably across metrics (an anomaly probability, or a
    robust z-score scaled to [0, 1]); 1.0 when the source does not say.
    """

    key: str
    name: str
    service: str | None
    starts_at: float
    ends_at: float | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    #: the pod, node or container the alert is about, when its labels say (for the root cause below service level)
    component: str | None = None
    #: the metric that moved (``latency_p95``, ``error_rate``, a PromQL expression ...), when known
    metric: str | None = None
    score: float = 1.0
    #: where it came from: ``foresight`` (own anomaly alerts) or ``alertmanager`` (the webhook)
    source: str = "foresight"

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", _frozen(self.labels))

    @property
    def resolved(self) -> bool:
        return self.ends_at is not None


@dataclass(frozen=True)
class Candidate:
    """One root-cause candidate: a service (and, when the alerts say, the pod/node/metric within it)."""

    service: str
    score: float
    component: str | None = None
    metric: str | None = None
    #: why, in words a person on call reads: which metric moved, when, how far, along which path
    evidence: tuple[str, ...] = ()
    #: ``service``: the fault is in ``service`` itself; ``node``: in the node named by ``component``,
    #: which alerted itself or hosts several alerting services (``service`` is the first of them to
    #: alert, the node's name when none did)
    kind: str = "service"


class IncidentStatus:
    FIRING = "firing"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Incident:
    """Alerts that one fault explains, and where that fault most likely is.

    ``alerts`` are the keys of every alert grouped here; ``suppressed`` those explained by a failing
    dependency (still part of the incident, never notified on their own). ``candidates`` are ranked,
    best first. An incident resolves when every one of its alerts has.
    """

    id: str
    opened_at: float
    services: tuple[str, ...]
    alerts: tuple[str, ...]
    suppressed: tuple[str, ...] = ()
    candidates: tuple[Candidate, ...] = ()
    status: str = IncidentStatus.FIRING
    resolved_at: float | None = None
    #: bumped on every change, so an actuator can tell an update from a repeat
    revision: int = 0
    #: set when a later alert joined this incident to an older one: this one is then ``resolved``
    #: (close it) and its alerts live on in the incident named here
    merged_into: str | None = None

    @property
    def root_cause(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None
