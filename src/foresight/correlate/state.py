"""Alerts and incidents as JSON-ready dicts and back, exactly (the correlator's checkpoint format).

Floats pass through unchanged (JSON keeps every finite float exactly); tuples become lists and
come back as tuples, so a restored object equals the one that was saved.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from foresight.correlate.model import Alert, Candidate, Incident

__all__ = ["alert_from", "alert_to", "incident_from", "incident_to"]


def alert_to(a: Alert) -> dict[str, Any]:
    return {
        "key": a.key,
        "name": a.name,
        "service": a.service,
        "starts_at": a.starts_at,
        "ends_at": a.ends_at,
        "labels": dict(a.labels),
        "component": a.component,
        "metric": a.metric,
        "score": a.score,
        "source": a.source,
    }


def alert_from(d: Mapping[str, Any]) -> Alert:
    return Alert(
        key=d["key"],
        name=d["name"],
        service=d["service"],
        starts_at=d["starts_at"],
        ends_at=d["ends_at"],
        labels=d["labels"],
        component=d["component"],
        metric=d["metric"],
        score=d["score"],
        source=d["source"],
    )


def incident_to(i: Incident) -> dict[str, Any]:
    return {
        "id": i.id,
        "opened_at": i.opened_at,
        "services": list(i.services),
        "alerts": list(i.alerts),
        "suppressed": list(i.suppressed),
        "candidates": [
            {
                "service": c.service,
                "score": c.score,
                "component": c.component,
                "metric": c.metric,
                "evidence": list(c.evidence),
                "kind": c.kind,
            }
            for c in i.candidates
        ],
        "status": i.status,
        "resolved_at": i.resolved_at,
        "revision": i.revision,
        "merged_into": i.merged_into,
    }


def incident_from(d: Mapping[str, Any]) -> Incident:
    return Incident(
        id=d["id"],
        opened_at=d["opened_at"],
        services=tuple(d["services"]),
        alerts=tuple(d["alerts"]),
        suppressed=tuple(d["suppressed"]),
        candidates=tuple(
            Candidate(c["service"], c["score"], c["component"], c["metric"], tuple(c["evidence"]), c["kind"])
            for c in d["candidates"]
        ),
        status=d["status"],
        resolved_at=d["resolved_at"],
        revision=d["revision"],
        merged_into=d["merged_into"],
    )
