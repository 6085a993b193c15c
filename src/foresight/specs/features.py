"""A FeatureSet: the entities, sources and feature views a model reads, from which a Feast repository is generated.

Users who run Feast write its Python definitions by hand; Foresight generates them from this spec
(:mod:`foresight.features.repo`) so the same document also carries what Feast has no place for:
the freshness SLO per view that feature monitoring checks, and the windowed aggregations that the
streaming ingest computes for a view fed from an event stream.

Names end up as Python identifiers and Redis/Parquet names in the generated repository, so they
are restricted to ``[a-z_][a-z0-9_]*``; every reference (a view's entities and source, an
aggregation's input field) must resolve, and feature names must not shadow join keys.

Example (YAML)::

    name: payments
    project: foresight_payments
    entities:
      - {name: card, joinKey: card_id, valueType: int64}
    sources:
      - {name: card_txn, path: card_txn.parquet, timestampField: event_timestamp}
    views:
      - name: card_activity
        entities: [card]
        source: card_txn
        ttlSeconds: 86400
        freshnessSloSeconds: 5
        windowSeconds: 60
        features:
          - {name: amount_sum, dtype: float64, aggregate: sum, of: amount}
          - {name: txn_count, dtype: int64, aggregate: count}
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from foresight.errors import InputError
from foresight.specs.workload import SpecModel

__all__ = ["AGGREGATES", "DTYPES", "Entity", "Feature", "FeatureSet", "FeatureView", "Source", "load_feature_set"]

IDENT = r"^[a-z_][a-z0-9_]{0,62}$"
#: The feature types Feast stores (its ``feast.types`` names are derived from these).
DTYPES = ("int64", "float64", "string", "bool")
#: Windowed aggregations of the streaming ingest (:mod:`foresight.features.windows`).
AGGREGATES = ("count", "sum", "mean", "min", "max", "last")


class Entity(SpecModel):
    """What features are about (a card, a driver): the join key every row of its views carries."""

    name: str = Field(pattern=IDENT)
    join_key: str = Field(pattern=IDENT)
    value_type: Literal["int64", "string"] = "int64"
    description: str = ""


class Source(SpecModel):
    """A Parquet file of timestamped rows: the offline store a view materialises from and trains on."""

    name: str = Field(pattern=IDENT)
    path: str = Field(
        pattern=r"^[A-Za-z0-9._/-]+$", description="Parquet file, relative to the generated repository's data directory."
    )
    timestamp_field: str = Field("event_timestamp", pattern=IDENT)

    @model_validator(mode="after")
    def _inside_repo(self) -> Source:
        if self.path.startswith("/") or ".." in Path(self.path).parts:
            raise ValueError(f"source {self.name!r}: path {self.path!r} must stay inside the data directory")
        return self


class Feature(SpecModel):
    """One feature; ``aggregate`` (with ``of`` unless it is a count) makes it a streaming window aggregate."""

    name: str = Field(pattern=IDENT)
    dtype: Literal["int64", "float64", "string", "bool"] = "float64"
    aggregate: Literal["count", "sum", "mean", "min", "max", "last"] | None = None
    of: str | None = Field(None, pattern=IDENT, description="The event field the aggregate reads.")

    @model_validator(mode="after")
    def _aggregate_input(self) -> Feature:
        if self.aggregate is None and self.of is not None:
            raise ValueError(f"feature {self.name!r}: 'of' without 'aggregate'")
        if self.aggregate not in (None, "count") and self.of is None:
            raise ValueError(f"feature {self.name!r}: aggregate {self.aggregate!r} needs 'of' (the event field)")
        if self.aggregate == "count" and self.dtype != "int64":
            raise ValueError(f"feature {self.name!r}: a count is int64, not {self.dtype}")
        if self.aggregate in ("sum", "mean") and self.dtype != "float64":
            raise ValueError(f"feature {self.name!r}: a {self.aggregate} is float64, not {self.dtype}")
        return self


class FeatureView(SpecModel):
    """Features of some entities from one source; streamed (window aggregates) when ``window_seconds`` is set."""

    name: str = Field(pattern=IDENT)
    entities: list[str] = Field(min_length=1)
    source: str = Field(pattern=IDENT)
    features: list[Feature] = Field(min_length=1)
    ttl_seconds: int = Field(86400, gt=0, le=10 * 365 * 86400, description="How old a value may be and still be served.")
    freshness_slo_seconds: float = Field(
        3600.0, gt=0, description="Monitoring: the newest value older than this breaks the view's SLO."
    )
    window_seconds: int | None = Field(
        None, gt=0, le=86400, description="Tumbling window of the streaming aggregates; unset: a batch-only view."
    )

    @model_validator(mode="after")
    def _stream_consistency(self) -> FeatureView:
        aggregated = [f.name for f in self.features if f.aggregate is not None]
        if self.window_seconds is None and aggregated:
            raise ValueError(f"view {self.name!r}: features {aggregated} aggregate but the view has no windowSeconds")
        plain = [f.name for f in self.features if f.aggregate is None]
        if self.window_seconds is not None and plain:
            raise ValueError(f"view {self.name!r}: a streamed view's features all need an aggregate; {plain} have none")
        return self

    @property
    def streamed(self) -> bool:
        """Whether the streaming ingest writes this view (otherwise only materialisation does)."""
        return self.window_seconds is not None


class FeatureSet(SpecModel):
    """Everything one Feast project holds; validated so that the generated repository always applies."""

    name: str = Field(pattern=IDENT)
    project: str = Field(pattern=r"^[a-z][a-z0-9_]{2,62}$", description="The Feast project (also its Redis key space).")
    entities: list[Entity] = Field(min_length=1)
    sources: list[Source] = Field(min_length=1)
    views: list[FeatureView] = Field(min_length=1)

    @model_validator(mode="after")
    def _references(self) -> FeatureSet:
        for kind, names in (
            ("entity", [e.name for e in self.entities]),
            ("source", [s.name for s in self.sources]),
            ("view", [v.name for v in self.views]),
        ):
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"duplicate {kind} names: {dupes}")
        entities = {e.name: e for e in self.entities}
        sources = {s.name for s in self.sources}
        python_names = [e.name for e in self.entities] + [s.name for s in self.sources] + [v.name for v in self.views]
        clashes = sorted({n for n in python_names if python_names.count(n) > 1})
        if clashes:
            raise ValueError(f"entities, sources and views share names {clashes}: each becomes one Python name")
        for view in self.views:
            unknown = [e for e in view.entities if e not in entities]
            if unknown:
                raise ValueError(f"view {view.name!r}: unknown entities {unknown}; declared: {sorted(entities)}")
            if view.source not in sources:
                raise ValueError(f"view {view.name!r}: unknown source {view.source!r}; declared: {sorted(sources)}")
            names = [f.name for f in view.features]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"view {view.name!r}: duplicate features {dupes}")
            keys = {entities[e].join_key for e in view.entities}
            shadowing = sorted(keys & set(names))
            if shadowing:
                raise ValueError(f"view {view.name!r}: features {shadowing} have the name of a join key")
        return self

    def view(self, name: str) -> FeatureView:
        """The view called ``name``; a KeyError names the views there are."""
        for view in self.views:
            if view.name == name:
                return view
        raise KeyError(f"no feature view {name!r}; views: {[v.name for v in self.views]}")

    def join_keys(self, view: FeatureView) -> list[str]:
        """The join keys of a view's entities, in the view's order."""
        by_name = {e.name: e for e in self.entities}
        return [by_name[e].join_key for e in view.entities]

    def source(self, name: str) -> Source:
        """The source called ``name`` (references were checked when the spec was built)."""
        return next(s for s in self.sources if s.name == name)


def load_feature_set(path: Path) -> FeatureSet:
    """Read and validate a FeatureSet YAML file; an InputError names the file and the first problem."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: cannot read the feature set: {exc}") from exc
    if not isinstance(document, dict):
        raise InputError(f"{path}: a feature set is a mapping, got {type(document).__name__}")
    try:
        return FeatureSet.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise InputError(f"{path}: {where}: {first['msg']} ({exc.error_count()} problem(s) in all)") from exc
