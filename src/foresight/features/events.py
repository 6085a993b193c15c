"""Check one streamed event against the view it feeds: a row to aggregate, or a rejection with its reason.

Events are flat JSON objects: the view's join keys, ``ts`` (epoch seconds, when it happened) and
the fields its aggregates read. A producer's schema changes (a field renamed or dropped, a number
become a string), an entity key of the wrong type and a timestamp from the future are rejected
with a reason the ingest counts, never raised: one bad producer must not stop a stream. Fields
no aggregate reads are ignored (a producer may add fields before the spec uses them).

>>> from foresight.specs.features import FeatureView
>>> view = FeatureView.model_validate({"name": "v", "entities": ["card"], "source": "s", "windowSeconds": 60,
...     "features": [{"name": "total", "aggregate": "sum", "of": "amount"}]})
>>> schema = EventSchema.of(view, {"card_id": "int64"})
>>> schema.check({"card_id": 7, "ts": 100.0, "amount": 2.5}, now=100.0)
Event(entity=(7,), ts=100.0, fields={'amount': 2.5})
>>> schema.check({"card_id": 7, "ts": 100.0, "amt": 2.5}, now=100.0)
Rejection(reason='schema', detail="missing field 'amount'")
>>> schema.check({"card_id": "7", "ts": 100.0, "amount": 1.0}, now=100.0).reason
'entity'
>>> schema.check({"card_id": 7, "ts": 500.0, "amount": 1.0}, now=100.0).reason
'future'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from foresight.specs.features import FeatureView

__all__ = ["REJECTION_REASONS", "Event", "EventSchema", "Rejection"]

#: Every reason an event can be dropped for (the ingest's counters are keyed by these).
REJECTION_REASONS = ("malformed", "schema", "entity", "future", "late", "duplicate")


@dataclass(frozen=True)
class Event:
    """A checked event: its entity key (join-key values in the view's order), time and the fields read."""

    entity: tuple[int | str, ...]
    ts: float
    fields: dict[str, float | int | str | bool]


@dataclass(frozen=True)
class Rejection:
    """Why an event was dropped (one of :data:`REJECTION_REASONS`) and the detail for the log."""

    reason: str
    detail: str


@dataclass(frozen=True)
class EventSchema:
    """What a view's events must carry; ``max_future_s`` is the clock skew tolerated before 'future'."""

    join_keys: tuple[tuple[str, str], ...]
    fields: tuple[tuple[str, str], ...]
    max_future_s: float = 5.0

    @classmethod
    def of(cls, view: FeatureView, key_types: Mapping[str, str], max_future_s: float = 5.0) -> EventSchema:
        """The schema of ``view``'s events; ``key_types`` maps each join key to int64 or string."""
        fields: dict[str, str] = {}
        for feature in view.features:
            if feature.of is not None:
                numeric = feature.aggregate in ("sum", "mean", "min", "max")
                fields[feature.of] = "number" if numeric or feature.dtype in ("int64", "float64") else feature.dtype
        return cls(tuple(key_types.items()), tuple(fields.items()), max_future_s)

    def check(self, payload: object, now: float) -> Event | Rejection:
        """The event in ``payload`` (a decoded JSON value), or why it cannot be used at wall time ``now``."""
        if not isinstance(payload, dict):
            return Rejection("malformed", f"an event is a JSON object, got {type(payload).__name__}")
        entity: list[int | str] = []
        for key, kind in self.join_keys:
            value = payload.get(key)
            if kind == "int64" and not (isinstance(value, int) and not isinstance(value, bool)):
                return Rejection("entity", f"join key {key!r}: expected an integer, got {value!r}")
            if kind == "string" and not (isinstance(value, str) and value):
                return Rejection("entity", f"join key {key!r}: expected a non-empty string, got {value!r}")
            entity.append(value)  # type: ignore[arg-type]
        ts = payload.get("ts")
        if not _finite_number(ts):
            return Rejection("schema", f"'ts' must be epoch seconds, got {ts!r}")
        if ts > now + self.max_future_s:  # type: ignore[operator]
            return Rejection("future", f"ts {ts} is {ts - now:.1f} s ahead of the clock")  # type: ignore[operator]
        fields: dict[str, float | int | str | bool] = {}
        for name, kind in self.fields:
            if name not in payload:
                return Rejection("schema", f"missing field {name!r}")
            value = payload[name]
            ok = _finite_number(value) if kind == "number" else isinstance(value, {"string": str, "bool": bool}[kind])
            if not ok:
                return Rejection("schema", f"field {name!r}: expected {kind}, got {value!r}")
            fields[name] = value
        return Event(tuple(entity), float(ts), fields)  # type: ignore[arg-type]


def _finite_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
