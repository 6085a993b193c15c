"""Leader election, decided purely: given a Lease's record, who I am and the time, what to do.

Two replicas of Foresight must never both scale a workload or both fire an alert. They share one
``coordination.k8s.io/v1`` Lease; :func:`decide_lease` says, for one replica at one moment:

* **acquire** an absent Lease, or one released (no holder);
* **renew** a Lease this replica holds (``renewTime`` = now);
* **take over** a Lease whose holder stopped renewing for ``leaseDurationSeconds``
  (``leaseTransitions`` + 1, as client-go counts them);
* **wait** while another replica's Lease is fresh.

The write that follows is a compare-and-swap on the Lease's ``resourceVersion``
(:class:`foresight.adapters.kubernetes.KubernetesLease`), so when two replicas decide to acquire
at once only one write lands and the other is told so. Times are Unix seconds; the record keeps
the Lease's own fields (MicroTime strings in the API).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, replace
from typing import Any, Literal

__all__ = ["LeaseAction", "LeaseDecision", "LeaseRecord", "decide_lease"]

LeaseAction = Literal["acquire", "renew", "take-over", "wait"]


def _micro_time(t: float) -> str:
    return datetime.datetime.fromtimestamp(t, tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_time(text: Any) -> float | None:
    if not text:
        return None
    try:
        return datetime.datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


@dataclass(frozen=True)
class LeaseRecord:
    """What a Lease's ``spec`` says: holder, duration, when acquired and last renewed, transitions."""

    holder: str | None
    lease_duration_s: float
    acquire_time: float | None
    renew_time: float | None
    transitions: int = 0

    def expired(self, now: float) -> bool:
        """Whether the holder has not renewed for a whole lease duration (or never did)."""
        return self.renew_time is None or now >= self.renew_time + self.lease_duration_s

    def released(self, now: float) -> LeaseRecord:
        """The record after its holder lets go on shutdown."""
        return replace(self, holder=None, renew_time=now)

    def to_spec(self) -> dict[str, Any]:
        """The Lease ``spec`` (``coordination.k8s.io/v1``)."""
        spec: dict[str, Any] = {
            "holderIdentity": self.holder,
            "leaseDurationSeconds": int(round(self.lease_duration_s)),
            "leaseTransitions": self.transitions,
        }
        if self.acquire_time is not None:
            spec["acquireTime"] = _micro_time(self.acquire_time)
        if self.renew_time is not None:
            spec["renewTime"] = _micro_time(self.renew_time)
        return spec

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> LeaseRecord:
        """Read a Lease ``spec``; missing or unparsable times count as never renewed (expired)."""
        return cls(
            holder=spec.get("holderIdentity") or None,
            lease_duration_s=float(spec.get("leaseDurationSeconds") or 0),
            acquire_time=_parse_time(spec.get("acquireTime")),
            renew_time=_parse_time(spec.get("renewTime")),
            transitions=int(spec.get("leaseTransitions") or 0),
        )


@dataclass(frozen=True)
class LeaseDecision:
    """What one replica does now: the action, the record to write (None: write nothing), whether it
    leads once that write lands, and why (for the log)."""

    action: LeaseAction
    write: LeaseRecord | None
    leader: bool
    reason: str


def decide_lease(record: LeaseRecord | None, identity: str, now: float, lease_duration_s: float) -> LeaseDecision:
    """The next step of one replica (see the module docstring).

    >>> first = decide_lease(None, "a", 100.0, 15.0)
    >>> first.action, first.leader, first.write.holder
    ('acquire', True, 'a')
    >>> decide_lease(first.write, "b", 110.0, 15.0).action
    'wait'
    >>> later = decide_lease(first.write, "b", 115.0, 15.0)
    >>> later.action, later.write.holder, later.write.transitions
    ('take-over', 'b', 1)
    """
    if record is None or record.holder is None:
        transitions = 0 if record is None else record.transitions
        fresh = LeaseRecord(identity, lease_duration_s, now, now, transitions)
        reason = "no Lease yet" if record is None else "the Lease was released"
        return LeaseDecision("acquire", fresh, True, reason)
    if record.holder == identity:
        renewed = replace(record, renew_time=now, lease_duration_s=lease_duration_s)
        return LeaseDecision("renew", renewed, True, "this replica holds the Lease")
    if record.expired(now):
        taken = LeaseRecord(identity, lease_duration_s, now, now, record.transitions + 1)
        silent = "never" if record.renew_time is None else f"{now - record.renew_time:.1f}s ago"
        return LeaseDecision("take-over", taken, True, f"{record.holder} last renewed {silent}")
    assert record.renew_time is not None
    left = record.renew_time + record.lease_duration_s - now
    return LeaseDecision("wait", None, False, f"{record.holder} holds the Lease for {left:.1f}s more")
