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

**An unreachable store.** A record handed in is accepted: when a flush that :meth:`AuditLog.record`
starts (or :meth:`AuditLog.retry`, which the serve loop calls between steps) fails, the records stay
buffered and the next try waits ``retry_s``, doubling up to ``max_retry_s``, so a PostgreSQL that
is down or restarting costs the loop nothing and everything is written, in order, once it answers
again (pooled connections are checked before use, so the first try after a restart does not fail on
a dead one). Only past ``max_pending`` buffered records does :meth:`AuditLog.record` raise
:class:`~foresight.errors.ServiceUnavailable` (the record still kept): the reconcile loop then stops
acting before it makes changes it could not keep a record of without bound. A direct
:meth:`AuditLog.flush` raises as before, for callers that must know. With ``spill_path``, what is
still unwritten when the log closes (a stop during an outage) goes to that JSON-lines file instead
of being lost, and the next log opened with it writes those records first and removes the file.

**Storage.** Most records are a controller's periodic holds, each like the one before but for a
few numbers. Stored as one JSON row each, the demo's 8 services filled 32 MB a simulated day (46k
records: inputs 56 %, reasons 13 %, decisions 7 %, the same run id, controller and target
repeated 7 %, the rest indexes and row overhead), a week 229 MB. So a record is stored against a
*context*: one row of ``<table>_context`` per writer (``run_id``, ``controller``, ``target``)
holding a sample record's decision, inputs and reason as compact JSON. The record's own row keeps
what queries filter on in plain columns (time, its context, applied, dry_run, error) and the rest
in ``body``: its decision, inputs and reason as compact JSON deflated with the sample as preset
dictionary, so whatever repeats the sample (keys, unchanged inputs, the reason's words) costs a few
bytes and a record little more than the numbers that changed. A record that shares too little with
its sample (compressed to more than a fifth of its size: a replica count changed, a phase began)
starts a new context as its sample. The demo's day is then 6.2 MB (a week 43 MB), every record
read back whole, reason included, by :meth:`AuditLog.query` (and so the API); keeping the reason
as a plain column would cost 4.1 MB more a day. Each log writes only to contexts it created, so
two logs appending for the same writer never decode against each other's samples. A table in the
older one-JSON-row layout is refused, with what to do.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from foresight.adapters.sql import database_url, driver_message
from foresight.collector import paused_collector
from foresight.control.audit import AuditRecord
from foresight.errors import ConfigError, ServiceUnavailable

__all__ = ["AuditLog"]

_log = logging.getLogger(__name__)


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


#: compact UTF-8 JSON with sorted keys and numpy scalars as numbers; orjson writes NaN and the
#: infinities as null, as :func:`_json_safe` does, and is ~10x faster than :mod:`json` (at 10,000
#: workloads a period, serialising was a fifth of a reconcile round)
_ORJSON = orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY


def _dumps(value: Any) -> bytes:
    """Compact, strict JSON (PostgreSQL rejects NaN); the slow clean-up only for values that need it
    (keys that are not strings, objects orjson does not know).

    >>> _dumps({"b": float("inf"), "a": [1, 2.5]})
    b'{"a":[1,2.5],"b":null}'
    >>> _dumps({1: "x"})
    b'{"1":"x"}'
    """
    try:
        return orjson.dumps(value, option=_ORJSON)
    except TypeError:
        return orjson.dumps(_json_safe(value), option=_ORJSON)


_CONTEXTS_PER_READ = 500  # ids per IN (...) when reading contexts: under every backend's parameter limit
#: raw deflate (no header: the context says how to read it), level 6 and memory level 1: a record
#: of a few hundred bytes compresses to the same size as at levels 9 or memory level 9 (48 bytes for a
#: predictive policy's 550-byte record), in a third of the time of level 9 and a tenth of memory level 9
_LEVEL, _MEM_LEVEL = 6, 1
#: deflate's window must hold the sample and the record after it; past that, a larger window only
#: makes each record's compressor dearer to set up (2 x 32 KiB allocated per record with the full
#: window). zlib keeps 262 bytes of look-ahead out of it.
_LOOKAHEAD = 262


def _window_bits(sample: bytes) -> int:
    """The smallest raw-deflate window (2^9 to 2^15 bytes) holding ``sample``, a record as long, and
    the look-ahead. Any window inflates with :func:`_inflate`'s full one: the stream only refers back
    into the sample's last bytes, which a larger window holds too.

    >>> _window_bits(b"x" * 400), _window_bits(b"x" * 40_000)
    (11, 15)
    """
    return min(15, max(9, (2 * len(sample) + _LOOKAHEAD).bit_length()))


@dataclass
class _Context:
    """A context: its sample, the deflate window that holds it, and its row id once inserted.

    Each record gets a fresh compressor primed with the sample rather than a copy of one kept
    primed: priming hashes a few hundred bytes, while a kept compressor per writer (10,000 of them
    at platform scale, ~10 KiB each) made every copy a cache miss, three times dearer in a round.
    """

    sample: bytes
    window_bits: int
    id: int = -1

    @classmethod
    def start(cls, sample: bytes) -> _Context:
        return cls(sample, _window_bits(sample))

    def compress(self, payload: bytes) -> bytes:
        """``payload`` deflated against the sample.

        >>> ctx = _Context.start(b'{"decision":{"applied":2},"inputs":{"cpu":0.51},"reason":"cpu 51%: keep 2"}')
        >>> body = ctx.compress(b'{"decision":{"applied":2},"inputs":{"cpu":0.53},"reason":"cpu 53%: keep 2"}')
        >>> len(body) < 20, _inflate(body, ctx.sample)
        (True, b'{"decision":{"applied":2},"inputs":{"cpu":0.53},"reason":"cpu 53%: keep 2"}')
        """
        compressor = zlib.compressobj(_LEVEL, zlib.DEFLATED, -self.window_bits, _MEM_LEVEL, zlib.Z_DEFAULT_STRATEGY,
                                      zdict=self.sample)
        return compressor.compress(payload) + compressor.flush()


def _inflate(body: bytes, sample: bytes) -> bytes:
    """The payload ``body`` was deflated from, against ``sample``."""
    decompressor = zlib.decompressobj(-15, zdict=sample)
    return decompressor.decompress(body) + decompressor.flush()


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
        max_pending: int = 1_000_000,
        retry_s: float = 1.0,
        max_retry_s: float = 30.0,
        spill_path: str | os.PathLike[str] | None = None,
    ) -> None:
        if flush_every < 1 or max_pending < flush_every:
            raise ConfigError(f"audit store: need 1 <= flush_every ({flush_every}) <= max_pending ({max_pending})")
        if not (0 < retry_s <= max_retry_s):
            raise ConfigError(f"audit store: need 0 < retry_s ({retry_s}) <= max_retry_s ({max_retry_s})")
        url = database_url(location, "audit store")
        self.url = url.render_as_string(hide_password=True)
        self._flush_every = flush_every
        self._max_delay_s = max_delay_s
        self._buffer: list[AuditRecord] = []
        self._oldest_at = 0.0
        self._max_pending, self._retry_s, self._max_retry_s = max_pending, retry_s, max_retry_s
        self._failures = 0
        self._retry_at = -math.inf  # monotonic time before which no automatic flush is tried
        #: why the last write failed, None while the store takes them (the API's readiness shows it)
        self.last_error: str | None = None
        self._spill = Path(spill_path) if spill_path is not None else None
        self._table, self._contexts_table = _audit_tables(table)
        self._contexts: dict[tuple[str, str, str], _Context] = {}  # the contexts this log writes to
        connect_args = (
            {"connect_timeout": connect_timeout_s} if url.get_backend_name() == "postgresql" else {}
        )
        try:
            self._engine: Engine = sa.create_engine(url, connect_args=connect_args, pool_pre_ping=True)
        except (ArgumentError, NoSuchModuleError) as exc:
            raise ConfigError(f"audit store {self.url}: {exc}") from None
        try:
            self._insert_sql = _insert_sql(self._table, self._engine.dialect)
        except ConfigError:
            self._engine.dispose()
            raise
        if self._spill is not None and self._spill.exists():
            self._unspill()
        try:
            with self._engine.begin() as conn:
                _refuse_old_layout(conn, table, self.url)
                self._table.metadata.create_all(conn)
        except SQLAlchemyError as exc:
            self._engine.dispose()
            raise ServiceUnavailable(f"audit store {self.url} unreachable: {driver_message(exc)}") from exc
        except ConfigError:
            self._engine.dispose()
            raise
        if self._spill is not None and self._spill.exists():
            self._unspill()

    @property
    def pending(self) -> int:
        """Records buffered and not yet written."""
        return len(self._buffer)

    def record(self, entry: AuditRecord) -> None:
        """Buffer ``entry``; write the buffer when it is full or its oldest record is too old.

        Its mappings are serialised when written, so they must not change after this call. A failed
        write keeps the records for a later try (module docstring); past ``max_pending`` buffered
        records this raises :class:`ServiceUnavailable`, ``entry`` kept all the same.
        """
        if not self._buffer:
            self._oldest_at = time.monotonic()
        self._buffer.append(entry)
        if not self.retry() and len(self._buffer) > self._max_pending:
            raise ServiceUnavailable(
                f"audit store {self.url}: {len(self._buffer)} records wait to be written, more than the "
                f"{self._max_pending} kept while it is unreachable ({self.last_error})"
            )

    def retry(self) -> bool:
        """Write the buffer if it is due (full, or its oldest record old enough) and no back-off runs;
        never raises for the store's sake. True when nothing is left waiting for a write that failed."""
        now = time.monotonic()
        due = len(self._buffer) >= self._flush_every or (
            self._max_delay_s is not None and self._buffer and now - self._oldest_at >= self._max_delay_s)
        if not due or now < self._retry_at:
            return self.last_error is None
        try:
            self.flush()
        except ServiceUnavailable as exc:
            self._failures += 1
            delay = min(self._max_retry_s, self._retry_s * 2.0 ** (self._failures - 1))
            self._retry_at = now + delay
            if self.last_error is None:
                _log.warning("%s; kept in memory, next try in %.3g s", exc, delay)
            self.last_error = str(exc)
            return False
        return True

    def flush(self) -> None:
        """Write every buffered record in one transaction; on failure they stay buffered.

        The new contexts the records need are inserted in one statement too (their ids returned in
        order), so a first period of thousands of workloads is not thousands of round trips.
        """
        if not self._buffer:
            return
        with paused_collector():  # a row per record, all alive until the insert
            self._write()

    def _write(self) -> None:
        created: dict[tuple[str, str, str], _Context] = {}  # kept only if the transaction commits
        rows, fresh = self._rows(created)
        try:
            with self._engine.begin() as conn:
                if fresh:
                    inserted = conn.execute(
                        self._contexts_table.insert().returning(self._contexts_table.c.id, sort_by_parameter_order=True),
                        [{"run_id": run_id, "controller": controller, "target": target, "sample": c.sample.decode()}
                         for (run_id, controller, target), c in fresh],
                    )
                    ids = [int(i) for i in inserted.scalars()]
                    for ((_, context), context_id) in zip(fresh, ids):
                        context.id = context_id
                conn.exec_driver_sql(self._insert_sql, [(t, c.id, body, applied, dry_run, error)
                                                        for t, c, body, applied, dry_run, error in rows])
        except SQLAlchemyError as exc:
            raise ServiceUnavailable(
                f"audit store {self.url}: could not write {len(self._buffer)} records: {driver_message(exc)}"
            ) from exc
        self._contexts.update(created)
        if self.last_error is not None:
            _log.info("audit store %s answers again: %d buffered records written", self.url, len(self._buffer))
        self._buffer.clear()
        self._failures, self._retry_at, self.last_error = 0, -math.inf, None
        if self._spill is not None:
            self._spill.unlink(missing_ok=True)  # what it held was in the buffer just written

    def _rows(self, created: dict[tuple[str, str, str], _Context]
              ) -> tuple[list[tuple[Any, ...]], list[tuple[tuple[str, str, str], _Context]]]:
        """The buffer as rows (the columns of :data:`_ROW_COLUMNS`, each naming its context), and the
        new contexts in the order they were made.

        A record's body is compressed against its writer's context; a new context (its id given when
        inserted) when the record no longer resembles the sample, or this log has none for the writer yet.
        """
        rows, fresh = [], []
        for entry in self._buffer:
            key = (entry.run_id, entry.controller, entry.target)
            payload = _dumps({"decision": entry.decision, "inputs": entry.inputs, "reason": entry.reason})
            context = created.get(key) or self._contexts.get(key)
            body = None if context is None else context.compress(payload)
            if context is None or body is None or len(body) > len(payload) // 5:
                context = created[key] = _Context.start(payload)
                fresh.append((key, context))
                body = context.compress(payload)
            rows.append((float(entry.time), context, body, bool(entry.applied), bool(entry.dry_run), entry.error))
        return rows, fresh

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
        t, c = self._table.c, self._contexts_table.c
        stmt = sa.select(self._table)
        if target is not None or controller is not None:
            writers = sa.select(c.id)
            if target is not None:
                writers = writers.where(c.target == target)
            if controller is not None:
                writers = writers.where(c.controller == controller)
            stmt = stmt.where(t.context.in_(writers.scalar_subquery()))
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
                # Contexts never change once written, so reading them after the rows is consistent; in
                # batches, as a long log's list of ids could pass SQL's limit on bound parameters.
                wanted = sorted({row["context"] for row in rows})
                contexts = {}
                for i in range(0, len(wanted), _CONTEXTS_PER_READ):
                    batch = c.id.in_(wanted[i : i + _CONTEXTS_PER_READ])
                    contexts.update({ctx["id"]: ctx for ctx in conn.execute(
                        sa.select(self._contexts_table).where(batch)).mappings()})
        except SQLAlchemyError as exc:
            raise ServiceUnavailable(f"audit store {self.url}: query failed: {driver_message(exc)}") from exc
        samples = {i: ctx["sample"].encode() for i, ctx in contexts.items()}
        records = []
        for row in reversed(rows):
            ctx = contexts[row["context"]]
            body = json.loads(_inflate(row["body"], samples[row["context"]]))
            records.append(AuditRecord(
                time=row["time"],
                run_id=ctx["run_id"],
                controller=ctx["controller"],
                target=ctx["target"],
                inputs=body["inputs"],
                decision=body["decision"],
                reason=body["reason"],
                applied=row["applied"],
                dry_run=row["dry_run"],
                error=row["error"],
            ))
        return records

    def close(self) -> None:
        """Write what is buffered and release the connections; with ``spill_path``, what the store
        does not take goes to that file (raises only without one)."""
        try:
            self.flush()
        except ServiceUnavailable as exc:
            if self._spill is None:
                raise
            self._spill_buffer(exc)
        finally:
            self._engine.dispose()

    def _spill_buffer(self, exc: ServiceUnavailable) -> None:
        """The buffer, every record not yet written (those read back from an earlier spill included),
        as the whole new spill file: written beside it, then renamed over it."""
        partial = self._spill.with_name(self._spill.name + ".partial")  # type: ignore[union-attr]
        with open(partial, "wb") as out:
            for entry in self._buffer:
                # fields as they are (asdict would deep-copy, and fails on a read-only mapping)
                fields = {f.name: getattr(entry, f.name) for f in dataclasses.fields(entry)}
                out.write(_dumps(fields) + b"\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, self._spill)  # type: ignore[arg-type]
        _log.warning("%s; %d unwritten records saved to %s, written when a log opens with it again",
                     exc, len(self._buffer), self._spill)
        self._buffer.clear()

    def _unspill(self) -> None:
        """Put the spilled records first in the buffer and write them now (the store just answered);
        the file goes once they are written."""
        assert self._spill is not None
        spilled = [AuditRecord(**json.loads(line)) for line in self._spill.read_bytes().splitlines() if line.strip()]
        self._buffer[:0] = spilled
        self._oldest_at = time.monotonic()
        try:
            self.flush()
        except ServiceUnavailable as exc:  # kept buffered: retried, spilled again at close
            self.last_error = str(exc)
            return
        _log.info("audit store %s: %d records saved at the last stop written", self.url, len(spilled))

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


#: a record row's columns, in the order :meth:`AuditLog._rows` builds them and :func:`_insert_sql` names them
_ROW_COLUMNS = ("time", "context", "body", "applied", "dry_run", "error")


def _insert_sql(table: sa.Table, dialect: sa.Dialect) -> str:
    """The insert of record rows as the driver takes them, positional parameters in :data:`_ROW_COLUMNS`
    order. Past SQLAlchemy's statement layer: its per-row parameter handling was half of writing a
    10,000-workload round; the values are plain floats, ints, bytes, bools and strings, which both
    drivers (sqlite3, psycopg) take as they are.

    >>> from sqlalchemy.dialects import postgresql, sqlite
    >>> _insert_sql(_audit_tables("audit")[0], sqlite.dialect())
    'INSERT INTO audit (time, context, body, applied, dry_run, error) VALUES (?, ?, ?, ?, ?, ?)'
    >>> _insert_sql(_audit_tables("audit")[0], postgresql.dialect()).endswith('VALUES (%s, %s, %s, %s, %s, %s)')
    True
    """
    if dialect.paramstyle not in ("qmark", "format", "pyformat"):
        raise ConfigError(f"audit store: the {dialect.name} driver's parameter style {dialect.paramstyle!r} is not supported")
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    quote = dialect.identifier_preparer
    columns = ", ".join(quote.quote(name) for name in _ROW_COLUMNS)
    return f"INSERT INTO {quote.format_table(table)} ({columns}) VALUES ({', '.join([mark] * len(_ROW_COLUMNS))})"


def _audit_tables(name: str) -> tuple[sa.Table, sa.Table]:
    """The records table ``name`` and its contexts table ``<name>_context``."""
    metadata = sa.MetaData()
    contexts = sa.Table(
        f"{name}_context",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("controller", sa.String(128), nullable=False),
        sa.Column("target", sa.String(253), nullable=False),
        sa.Column("sample", sa.Text, nullable=False),  # compact JSON: {"decision", "inputs", "reason"}
    )
    records = sa.Table(
        name,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("time", sa.Float, nullable=False),
        sa.Column("context", sa.Integer, sa.ForeignKey(contexts.c.id), nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),  # decision, inputs, reason, deflated against the sample
        sa.Column("applied", sa.Boolean, nullable=False),
        sa.Column("dry_run", sa.Boolean, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
    )
    sa.Index(f"ix_{name}_context_time", records.c.context, records.c.time)
    sa.Index(f"ix_{name}_time", records.c.time)
    return records, contexts


def _refuse_old_layout(conn: sa.Connection, name: str, url: str) -> None:
    """A ConfigError when table ``name`` exists in the one-JSON-row layout of earlier versions: its
    records cannot be appended to, and are not to be dropped unasked."""
    inspector = sa.inspect(conn)
    if not inspector.has_table(name):
        return
    columns = {col["name"] for col in inspector.get_columns(name)}
    if "body" not in columns:
        raise ConfigError(
            f"audit store {url}: table {name} holds records in the earlier one-JSON-row layout, which this "
            "version does not append to; keep it by renaming the table or moving the file away (for the demo: "
            "delete foresight-out/demo/audit.db or pass another --out), or pass another table or URL"
        )
