"""The registry's simulator twin: model versions, aliases and tags in SQL (SQLAlchemy Core).

Same behaviour as the MLflow adapter (the conformance suite in ``tests/registry`` runs on both),
none of its weight: the demo and the feedback loop's tests use it. A SQLite file by default (a
path, or ``sqlite:///...``), ``sqlite://`` in memory, or PostgreSQL by URL, like the audit log.
A fitted ``model`` is pickled under ``artifact_dir`` when one is given (default: ``artifacts/``
beside a SQLite file; in memory otherwise); a ``model_file`` is recorded by path and md5.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import (
    ArgumentError,
    IntegrityError,
    NoSuchModuleError,
    SQLAlchemyError,
)

from foresight.adapters.sql import database_url, driver_message
from foresight.clock import Clock, SystemClock
from foresight.errors import ConfigError, InputError, ServiceUnavailable
from foresight.registry.data_version import md5_file
from foresight.registry.protocol import ModelVersion, check_parent, finite_metrics

__all__ = ["ARTIFACT_TAG", "LocalRegistry"]

#: Tag holding where the version's model artifact lies.
ARTIFACT_TAG = "foresight.artifact"

_meta = sa.MetaData()
_versions = sa.Table(
    "foresight_model_versions", _meta,
    sa.Column("name", sa.String(256), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("metrics", sa.JSON, nullable=False),
    sa.Column("code_commit", sa.String(64), nullable=False),
    sa.Column("data_version", sa.String(64), nullable=False),
    sa.Column("seed", sa.BigInteger, nullable=True),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("created_s", sa.Float, nullable=False),
)
_aliases = sa.Table(
    "foresight_model_aliases", _meta,
    sa.Column("name", sa.String(256), primary_key=True),
    sa.Column("alias", sa.String(256), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)


def _check_name(name: str) -> None:
    if not name or not name.strip() or "/" in name:
        raise InputError(f"model name {name!r}: must be non-empty and contain no '/'")


class LocalRegistry:
    """A :class:`~foresight.registry.protocol.Registry` on SQLite/PostgreSQL.

    >>> reg = LocalRegistry("sqlite://")
    >>> v = reg.register("churn", params={"C": 1.0}, metrics={"accuracy": 0.93},
    ...                  code_commit="unknown", data_version="8a06...", seed=7)
    >>> reg.set_alias("churn", "champion", v.version); reg.get_alias("churn", "champion").metrics
    {'accuracy': 0.93}
    """

    def __init__(
        self, location: str | os.PathLike[str] = "foresight-registry.db", *,
        artifact_dir: str | os.PathLike[str] | None = None, clock: Clock | None = None,
    ) -> None:
        url = database_url(location, "registry store")
        self.url = url.render_as_string(hide_password=True)
        self.clock = clock or SystemClock()
        if artifact_dir is None and url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            artifact_dir = Path(url.database).parent / "artifacts"
        self.artifact_dir = Path(artifact_dir) if artifact_dir is not None else None
        self._in_memory: dict[tuple[str, int], Any] = {}
        try:
            self._engine: Engine = sa.create_engine(url)
        except (ArgumentError, NoSuchModuleError) as exc:
            raise ConfigError(f"registry store {self.url}: {exc}") from None
        try:
            with self._engine.begin() as conn:
                _meta.create_all(conn)
        except SQLAlchemyError as exc:
            self._engine.dispose()
            raise ServiceUnavailable(f"registry store {self.url} unreachable: {driver_message(exc)}") from exc

    # -- writes ---------------------------------------------------------------------------------
    def register(
        self, name: str, *, params: Mapping[str, Any], metrics: Mapping[str, float], code_commit: str,
        data_version: str, seed: int | None, tags: Mapping[str, str] | None = None,
        model: Any = None, model_file: Path | None = None,
    ) -> ModelVersion:
        _check_name(name)
        checked = finite_metrics(name, metrics)
        check_parent(self, name, tags)
        all_tags = {str(k): str(v) for k, v in (tags or {}).items()}
        if model_file is not None:
            path = Path(model_file)
            all_tags[ARTIFACT_TAG] = str(path.resolve())
            all_tags["foresight.artifact_md5"] = md5_file(path)
        row = {
            "name": name, "params": {str(k): str(v) for k, v in params.items()},
            "metrics": checked, "code_commit": code_commit,
            "data_version": data_version, "seed": seed, "tags": all_tags, "created_s": float(self.clock.now()),
        }
        for _ in range(3):  # two writers racing for the same number: the loser takes the next one
            try:
                with self._engine.begin() as conn:
                    last = conn.execute(sa.select(sa.func.max(_versions.c.version)).where(_versions.c.name == name)).scalar()
                    row["version"] = (last or 0) + 1
                    if model is not None:
                        row["tags"] = {**all_tags, **self._store_model(name, row["version"], model)}
                    conn.execute(_versions.insert(), row)
                break
            except IntegrityError:
                continue
            except SQLAlchemyError as exc:
                raise ServiceUnavailable(f"registry store {self.url}: register {name} failed: {driver_message(exc)}") from exc
        else:
            raise ServiceUnavailable(f"registry store {self.url}: register {name}: version numbers kept colliding")
        return self.get(name, row["version"])

    def _store_model(self, name: str, version: int, model: Any) -> dict[str, str]:
        if self.artifact_dir is None:
            self._in_memory[(name, version)] = model
            return {ARTIFACT_TAG: f"memory:{name}/{version}"}
        path = self.artifact_dir / name / str(version) / "model.pkl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(model))
        return {ARTIFACT_TAG: str(path.resolve())}

    def set_alias(self, name: str, alias: str, version: int) -> None:
        self.get(name, version)  # unknown version: InputError
        self._write(f"set alias {alias}",
                    sa.delete(_aliases).where((_aliases.c.name == name) & (_aliases.c.alias == alias)),
                    _aliases.insert().values(name=name, alias=alias, version=version))

    def delete_alias(self, name: str, alias: str) -> None:
        self._write(f"delete alias {alias}",
                    sa.delete(_aliases).where((_aliases.c.name == name) & (_aliases.c.alias == alias)))

    def set_tag(self, name: str, version: int, key: str, value: str) -> None:
        current = self.get(name, version)
        self._write(f"set tag {key}", sa.update(_versions)
                    .where((_versions.c.name == name) & (_versions.c.version == version))
                    .values(tags={**current.tags, key: str(value)}))

    def _write(self, what: str, *statements: sa.Executable) -> None:
        try:
            with self._engine.begin() as conn:
                for stmt in statements:
                    conn.execute(stmt)
        except SQLAlchemyError as exc:
            raise ServiceUnavailable(f"registry store {self.url}: {what} failed: {driver_message(exc)}") from exc

    # -- reads ----------------------------------------------------------------------------------
    def _rows(self, where: Any) -> list[ModelVersion]:
        try:
            with self._engine.connect() as conn:
                rows = conn.execute(sa.select(_versions).where(where)
                                    .order_by(_versions.c.name, _versions.c.version)).mappings().all()
                aliases = conn.execute(sa.select(_aliases)).mappings().all()
        except SQLAlchemyError as exc:
            raise ServiceUnavailable(f"registry store {self.url}: read failed: {driver_message(exc)}") from exc
        by_version: dict[tuple[str, int], list[str]] = {}
        for a in aliases:
            by_version.setdefault((a["name"], a["version"]), []).append(a["alias"])
        return [
            ModelVersion(r["name"], r["version"], dict(r["params"]), dict(r["metrics"]), r["code_commit"],
                         r["data_version"], r["seed"], dict(r["tags"]), r["created_s"],
                         tuple(sorted(by_version.get((r["name"], r["version"]), []))))
            for r in rows
        ]

    def get(self, name: str, version: int) -> ModelVersion:
        found = self._rows((_versions.c.name == name) & (_versions.c.version == int(version)))
        if not found:
            raise InputError(f"model {name}: no version {version}")
        return found[0]

    def list_versions(self, name: str | None = None) -> list[ModelVersion]:
        return self._rows(sa.true() if name is None else _versions.c.name == name)

    def get_alias(self, name: str, alias: str) -> ModelVersion | None:
        try:
            with self._engine.connect() as conn:
                version = conn.execute(sa.select(_aliases.c.version).where(
                    (_aliases.c.name == name) & (_aliases.c.alias == alias))).scalar()
        except SQLAlchemyError as exc:
            raise ServiceUnavailable(f"registry store {self.url}: read failed: {driver_message(exc)}") from exc
        return None if version is None else self.get(name, version)

    def load_model(self, name: str, version: int) -> Any:
        """The fitted model registered with ``version`` (unpickled: only load artifacts you trust)."""
        where = self.get(name, version).tags.get(ARTIFACT_TAG)
        if where is None:
            raise InputError(f"model {name} version {version} was registered without a model")
        if where.startswith("memory:"):
            return self._in_memory[(name, int(version))]
        return pickle.loads(Path(where).read_bytes())

    def close(self) -> None:
        self._engine.dispose()
