"""The audit log: one row per decision the reconcile loop took, with its inputs and its reason.

Operators read it to answer "why did this workload scale at 03:12?", benchmarks read it to count
actions, so every period of every workload leaves a record, failures included. The store is a
SQL table through SQLAlchemy Core: a SQLite file by default (a path, or ``sqlite:///...``), or
PostgreSQL given a URL such as ``postgresql+psycopg://user@host/db``.

Writes are buffered and sent in one transaction every ``flush_every`` records, or when the oldest
buffered record is ``max_delay_s`` (wall-clock seconds) old, so a simulated week is fast and a
live loop still persists within a period or two. Used as a context manager, the log flushes on
exit whatever ended the block (an exception, ``KeyboardInterrupt``). Not thread-safe: one loop,
one log.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from foresight.adapters.sql import database_url, driver_message
from foresight.control.audit import AuditRecord
from foresight.errors import ConfigError, ServiceUnavailable

__all__ = ["AuditLog"]


def _json_safe(value: Any) -> Any:
    """``value`` with non-finite floats as None and numpy scalars as Python ones (strict JSON).

    >>> _json_safe({"cpu": float("nan"), "n": [1, 2.5]})
    {'cpu': None, 'n': [1, 2.5]}
    """
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _dumps(value: Any) -> str:
    """Strict JSON (PostgreSQL rejects NaN); the slow clean-up only for values that need it."""
    try:
        return json.dumps(value, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError):
        return json.dumps(_json_safe(value), allow_nan=False, sort_keys=True)


class AuditLog:
    """An audit table in SQLite or PostgreSQL, created if missing, written in batches.

    >>> with AuditLog("sqlite://") as log:  # in memory
    ...     log.record(AuditRecord(30.0, "r1", "hpa", "api", {"cpu": 0.9},
    ...         {"recommended": 4, "applied": 4, "previous": 3}, "cpu high", True, False))
    ...     [(r.target, r.decision["applied"]) for r in log.query(target="api")]
    [('api', 4)]
    """

    def __init__(
        self,
        location: str | os.PathLike[str] = "foresight-audit.db",
        *,
        table: str = "foresight_audit",
        flush_every: int = 500,
        max_delay_s: float | None = 5.0,
        connect_timeout_s: int = 5,
    ) -> None:
        if flush_every < 1:
            raise ConfigError(f"audit store: flush_every must be at least 1, not {flush_every}")
        url = database_url(location, "audit store")
        self.url = url.render_as_string(hide_password=True)
        self._flush_every = flush_every
        self._max_delay_s = max_delay_s
        self._buffer: list[dict[str, Any]] = []
        self._oldest_at = 0.0
        self._table = _audit_table(table)
        connect_args = (
            {"connect_timeout": connect_timeout_s} if url.get_backend_name() == "postgresql" else {}
        )
        try:
            self._engine: Engine = sa.create_engine(
                url,
                connect_args=connect_args,
                json_serializer=_dumps,
            )
        except (ArgumentError, NoSuchModuleError) as exc:
            raise ConfigError(f"audit store {self.url}: {exc}") from None
        try:
            with self._engine.begin() as conn:
                self._table.metadata.create_all(conn)
        except SQLAlchemyError as exc:
            self._engine.dispose()
            raise ServiceUnavailable(f"audit store {self.url} unreachable: {driver_message(exc)}") from exc

    @property
    def pending(self) -> int:
        """Records buffered and not yet written."""
        return len(self._buffer)

    def record(self, entry: AuditRecord) -> None:
        """Buffer ``entry``; write the buffer when it is full or its oldest record is too old.

        Its mappings are serialised when written, so they must not change after this call.
        """
        if not self._buffer:
            self._oldest_at = time.monotonic()
        self._buffer.append(
            {
                "time": float(entry.time),
                "run_id": entry.run_id,
                "controller": entry.controller,
                "target": entry.target,
                "inputs": entry.inputs,
                "decision": entry.decision,
                "reason": entry.reason,
                "applied": bool(entry.applied),
                "dry_run": bool(entry.dry_run),
                "error": entry.error,
            }
        )
        too_old = self._max_delay_s is not None and time.monotonic() - self._oldest_at >= self._max_delay_s
        if len(self._buffer) >= self._flush_every or too_old:
            self.flush()

    def flush(self) -> None:
        """Write every buffered record in one transaction; on failure they stay buffered."""
        if not self._buffer:
            return
        try:
            with self._engine.begin() as conn:
                conn.execute(self._table.insert(), self._buffer)
        except SQLAlchemyError as exc:
            raise ServiceUnavailable(
                f"audit store {self.url}: could not write {len(self._buffer)} records: {driver_message(exc)}"
            ) from exc
        self._buffer.clear()

    def query(
        self,
        target: str | None = None,
        since: float | None = None,
        until: float | None = None,
        controller: str | None = None,
        limit: int | None = None,
    ) -> list[AuditRecord]:
        """Records with ``since <= time < until``, oldest first; ``limit`` keeps the most recent."""
        self.flush()
        t = self._table.c
        stmt = sa.select(self._table)
        if target is not None:
            stmt = stmt.where(t.target == target)
        if controller is not None:
            stmt = stmt.where(t.controller == controller)
        if since is not None:
            stmt = stmt.where(t.time >= since)
        if until is not None:
            stmt = stmt.where(t.time < until)
        stmt = stmt.order_by(t.time.desc(), t.id.desc())
        if limit is not None:
            stmt = stmt.limit(limit)
        try:
            with self._engine.connect() as conn:
                rows = conn.execute(stmt).mappings().all()
        except SQLAlchemyError as exc:
            raise ServiceUnavailable(f"audit store {self.url}: query failed: {driver_message(exc)}") from exc
        return [
            AuditRecord(
                time=row["time"],
                run_id=row["run_id"],
                controller=row["controller"],
                target=row["target"],
                inputs=row["inputs"],
                decision=row["decision"],
                reason=row["reason"],
                applied=row["applied"],
                dry_run=row["dry_run"],
                error=row["error"],
            )
            for row in reversed(rows)
        ]

    def close(self) -> None:
        """Write what is buffered and release the connections."""
        try:
            self.flush()
        finally:
            self._engine.dispose()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            self.close()
            return
        # The block failed: still write everything, but never hide the block's own exception.
        try:
            self.close()
        except ServiceUnavailable as flush_error:
            exc.add_note(f"audit records not written ({self.pending} kept in memory): {flush_error}")


def _audit_table(name: str) -> sa.Table:
    table = sa.Table(
        name,
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("time", sa.Float, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("controller", sa.String(128), nullable=False),
        sa.Column("target", sa.String(253), nullable=False),
        sa.Column("inputs", sa.JSON, nullable=False),
        sa.Column("decision", sa.JSON, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("applied", sa.Boolean, nullable=False),
        sa.Column("dry_run", sa.Boolean, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
    )
    sa.Index(f"ix_{name}_target_time", table.c.target, table.c.time)
    sa.Index(f"ix_{name}_time", table.c.time)
    return table
