"""The audit store: round trip, filters, buffering, failure at start-up, nothing lost on exit, compact storage."""

from __future__ import annotations

import socket
import uuid

import numpy as np
import pytest
import sqlalchemy as sa

from foresight.adapters import audit_log
from foresight.adapters.audit_log import AuditLog
from foresight.control.audit import AuditRecord
from foresight.errors import ConfigError, ServiceUnavailable

PG_URL = "postgresql+psycopg://root@127.0.0.1:5432/test"


def make_record(t: float, target: str = "api", controller: str = "hpa", **changes) -> AuditRecord:
    fields = dict(
        time=t,
        run_id="run-1",
        controller=controller,
        target=target,
        inputs={"scale": {"desired": 3, "current": 3, "ready": 2}, "policy": {"cpu": 0.93}},
        decision={"recommended": 5, "applied": 4, "previous": 3},
        reason="cpu high; step limited to +1",
        applied=True,
        dry_run=False,
        error=None,
    )
    fields.update(changes)
    return AuditRecord(**fields)


def roundtrip_and_filters(log: AuditLog) -> None:
    """The same checks for every backend."""
    records = [
        make_record(0.0, "api"),
        make_record(15.0, "db", controller="predictive"),
        make_record(15.0, "api", applied=False, dry_run=True, error="RuntimeError: boom"),
        make_record(30.0, "api", decision={"recommended": None, "applied": None, "previous": None}),
    ]
    for r in records:
        log.record(r)
    assert log.query() == records
    assert log.query(target="api") == [records[0], records[2], records[3]]
    assert log.query(controller="predictive") == [records[1]]
    assert log.query(since=15.0, until=30.0) == [records[1], records[2]]
    assert log.query(target="api", limit=2) == [records[2], records[3]]
    assert log.query(target="nope") == []


def test_sqlite_file_roundtrip_and_filters(tmp_path):
    with AuditLog(tmp_path / "audit.db") as log:
        roundtrip_and_filters(log)


def test_sqlite_url_and_reopen(tmp_path):
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    with AuditLog(url) as log:
        log.record(make_record(1.0))
    with AuditLog(url) as again:  # the table exists now: reused, not recreated
        again.record(make_record(2.0))
        assert [r.time for r in again.query()] == [1.0, 2.0]


def test_missing_parent_directory_is_created(tmp_path):
    path = tmp_path / "a" / "b" / "audit.db"
    with AuditLog(path) as log:
        log.record(make_record(1.0))
    assert path.is_file()


def test_writes_are_buffered_until_flush_every(tmp_path):
    path = tmp_path / "audit.db"
    reader = AuditLog(path)
    with AuditLog(path, flush_every=3, max_delay_s=None) as log:
        log.record(make_record(1.0))
        log.record(make_record(2.0))
        assert log.pending == 2
        assert reader.query() == []
        log.record(make_record(3.0))
        assert log.pending == 0
        assert len(reader.query()) == 3
        log.record(make_record(4.0))
    assert len(reader.query()) == 4
    reader.close()


def test_a_failed_write_keeps_the_records_for_the_next_flush(tmp_path):
    path = tmp_path / "audit.db"
    with AuditLog(path, flush_every=2, max_delay_s=None) as log:
        log.record(make_record(1.0))
        engine = sa.create_engine(f"sqlite:///{path}")
        with engine.begin() as conn:  # the store loses its table under the running log
            conn.execute(sa.text("DROP TABLE foresight_audit"))
        log.record(make_record(2.0))  # accepted: kept for a later try, the caller goes on
        assert log.pending == 2 and "could not write 2 records" in (log.last_error or "")
        AuditLog(path).close()  # the table is back
        log.record(make_record(3.0))
        assert [r.time for r in log.query()] == [1.0, 2.0, 3.0]
        engine.dispose()


def test_max_delay_flushes_an_old_buffer(tmp_path):
    with AuditLog(tmp_path / "audit.db", flush_every=1000, max_delay_s=0.0) as log:
        log.record(make_record(1.0))
        assert log.pending == 0


def test_non_finite_and_numpy_inputs_are_stored_as_strict_json(tmp_path):
    with AuditLog(tmp_path / "audit.db") as log:
        log.record(make_record(1.0, inputs={"cpu": float("nan"), "rps": np.float64(2.5), "n": np.int64(3)}))
        (stored,) = log.query()
    assert stored.inputs == {"cpu": None, "rps": 2.5, "n": 3}


@pytest.mark.parametrize("interrupt", [RuntimeError("policy bug"), KeyboardInterrupt()])
def test_records_survive_an_exception_in_the_with_block(tmp_path, interrupt):
    path = tmp_path / "audit.db"
    with pytest.raises(type(interrupt)):
        with AuditLog(path, flush_every=1000, max_delay_s=None) as log:
            for t in range(5):
                log.record(make_record(float(t)))
            raise interrupt
    with AuditLog(path) as reader:
        assert [r.time for r in reader.query()] == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_unreachable_database_fails_at_construction_with_masked_url():
    with socket.socket() as s:  # a port on which nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"postgresql+psycopg://auditor:s3cret@127.0.0.1:{port}/audit"
    with pytest.raises(ServiceUnavailable) as info:
        AuditLog(url, connect_timeout_s=2)
    message = str(info.value)
    assert f"postgresql+psycopg://auditor:***@127.0.0.1:{port}/audit" in message
    assert "s3cret" not in message
    assert "refused" in message.lower() or "connect" in message.lower()


def test_bad_url_is_a_config_error():
    with pytest.raises(ConfigError, match="nosuchdb"):
        AuditLog("nosuchdb+x://host/db")


def test_flush_every_must_be_positive(tmp_path):
    with pytest.raises(ConfigError, match="flush_every"):
        AuditLog(tmp_path / "audit.db", flush_every=0)


def postgres_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.integration
def test_postgresql_roundtrip(require_service):
    require_service(postgres_reachable(), "PostgreSQL not reachable on 127.0.0.1:5432")
    table = f"audit_test_{uuid.uuid4().hex[:12]}"
    try:
        with AuditLog(PG_URL, table=table, flush_every=2) as log:
            roundtrip_and_filters(log)
            log.record(make_record(60.0, inputs={"cpu": float("inf")}))
        with AuditLog(PG_URL, table=table) as again:
            assert again.query(since=60.0)[0].inputs == {"cpu": None}
    finally:
        engine = sa.create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP TABLE IF EXISTS "{table}"'))
            conn.execute(sa.text(f'DROP TABLE IF EXISTS "{table}_context"'))
        engine.dispose()


def _periodic_holds(days: float = 0.25, seed: int = 0) -> list[AuditRecord]:
    """What the demo's loops write: every 15 s, per workload, a hold whose inputs differ from the one
    before in a few measured numbers (an HPA's cpu, a predictive policy's load and forecast)."""
    rng = np.random.default_rng(seed)
    records = []
    for k in range(int(days * 86400 / 15)):
        for i, target in enumerate(("gateway", "search", "catalog", "llm-chat")):
            cpu, load = float(rng.uniform(0.3, 0.9)), float(rng.uniform(100.0, 300.0))
            replicas = 2 + (k // 400 + i) % 3
            inputs = {
                "policy": {"cpu": cpu, "load_now_rps": load, "lookahead_s": 70.0, "margin": 1.1,
                           "peak_rps": load * 0.97, "predicted": replicas, "quantile": 0.95, "reactive_floor": replicas},
                "scale": {"current": replicas, "desired": replicas, "ready": replicas},
                "series": {"cpu": {"last": cpu, "points": 744, "series": 1},
                           "load": {"last": load * 1.01, "points": 744, "series": 1}},
            }
            reason = (f"forecast q0.95 peak {load * 0.97:.1f} req/s within 70 s needs {replicas}; reactive floor "
                      f"{replicas} ({load:.1f} req/s now from load, sized for the SLO): {replicas}")
            records.append(AuditRecord(15.0 * k, "run-7f3a9c", "predictive", target, inputs,
                                       {"recommended": replicas, "applied": replicas, "previous": replicas},
                                       reason, False, False))
    return records


def test_periodic_holds_are_stored_compactly_and_read_back_whole(tmp_path):
    """The demo's day took 32 MB, 700 bytes a record, as one JSON row each; against a context's sample
    a record costs little more than the numbers that changed."""
    records = _periodic_holds()
    path = tmp_path / "audit.db"
    with AuditLog(path) as log:
        for r in records:
            log.record(r)
    per_record = path.stat().st_size / len(records)
    assert per_record < 200, f"{per_record:.0f} bytes a record"
    with AuditLog(path) as reader:
        assert reader.query() == records
        assert reader.query(target="catalog", since=3600.0, limit=3) == [r for r in records if r.target == "catalog"][-3:]


def test_a_query_over_more_contexts_than_one_read_holds(tmp_path, monkeypatch):
    monkeypatch.setattr(audit_log, "_CONTEXTS_PER_READ", 3)
    records = [make_record(float(t), target=f"svc-{t}") for t in range(10)]  # ten writers, ten contexts
    with AuditLog(tmp_path / "audit.db") as log:
        for r in records:
            log.record(r)
        assert log.query() == records


def test_two_logs_writing_for_the_same_writer_never_mix_their_samples(tmp_path):
    path = tmp_path / "audit.db"
    first, second = _periodic_holds(0.01, seed=1), _periodic_holds(0.01, seed=2)
    with AuditLog(path, flush_every=7) as a, AuditLog(path, flush_every=5) as b:
        for x, y in zip(first, second):
            a.record(x)
            b.record(y)
    with AuditLog(path) as reader:
        assert sorted(reader.query(), key=lambda r: (r.time, r.target, r.reason)) == sorted(
            first + second, key=lambda r: (r.time, r.target, r.reason))


def test_a_table_in_the_earlier_layout_is_refused_with_what_to_do(tmp_path):
    path = tmp_path / "audit.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE foresight_audit (id INTEGER PRIMARY KEY, time FLOAT, run_id TEXT, "
                             "controller TEXT, target TEXT, inputs JSON, decision JSON, reason TEXT, applied BOOLEAN, "
                             "dry_run BOOLEAN, error TEXT)"))
    engine.dispose()
    with pytest.raises(ConfigError, match="earlier one-JSON-row layout.*renaming the table or moving the file"):
        AuditLog(path)
    with AuditLog(path, table="foresight_audit_v2") as log:  # another table in the same file is fine
        log.record(make_record(1.0))
        assert len(log.query()) == 1


def _many_writers(n: int) -> list[AuditRecord]:
    """A first period of ``n`` workloads (a new context each), then one that changes every other one."""
    first = [make_record(0.0, f"w-{i}", inputs={"cpu": i / n}) for i in range(n)]
    second = [make_record(15.0, f"w-{i}", inputs={"cpu": i / n}, reason=f"scaled to {i} replicas on a new load "
                          f"pattern {i * 7919} that shares little with the sample" if i % 2 else "cpu high; step limited to +1")
              for i in range(n)]
    return first + second


def check_many_writers(log: AuditLog, n: int = 1200) -> None:
    records = _many_writers(n)
    for r in records[:n]:
        log.record(r)
    log.flush()  # every context new, inserted in one statement with their ids
    for r in records[n:]:
        log.record(r)
    log.flush()
    assert log.query() == sorted(records, key=lambda r: r.time)
    assert log.query(target="w-777") == [records[777], records[n + 777]]


def test_a_period_of_many_new_writers_is_written_and_read_back(tmp_path):
    with AuditLog(tmp_path / "audit.db", flush_every=10_000) as log:
        check_many_writers(log)


@pytest.mark.integration
def test_postgresql_many_new_writers(require_service):
    require_service(postgres_reachable(), "PostgreSQL not reachable on 127.0.0.1:5432")
    table = f"audit_test_{uuid.uuid4().hex[:12]}"
    try:
        with AuditLog(PG_URL, table=table, flush_every=10_000) as log:
            check_many_writers(log)
    finally:
        engine = sa.create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP TABLE IF EXISTS "{table}"'))
            conn.execute(sa.text(f'DROP TABLE IF EXISTS "{table}_context"'))
        engine.dispose()
