"""PostgreSQL unreachable under the audit log: what was accepted meanwhile is written once it is back.

The real PostgreSQL on 127.0.0.1:5432 is reached through a TCP proxy the test cuts and restores (the
machine's server is never stopped); each test writes to a database of its own, dropped at the end.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from fault_services import TcpProxy, wait_until

from foresight.adapters.audit_log import AuditLog
from foresight.api.server import start_in_thread
from foresight.config import load_settings
from foresight.control.audit import AuditRecord
from foresight.errors import ServiceUnavailable
from foresight.serve.service import build_service

pytestmark = pytest.mark.integration

PG = ("127.0.0.1", 5432)
TOKEN = "t0ken-for-the-fault-test"


def _reachable() -> bool:
    try:
        with socket.create_connection(PG, timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def database(require_service) -> Iterator[str]:
    """A fresh database on the machine's PostgreSQL; its name."""
    require_service(_reachable(), "PostgreSQL not reachable on 127.0.0.1:5432")
    name = f"foresight_fault_{uuid.uuid4().hex[:12]}"
    admin = f"host={PG[0]} port={PG[1]} user=root dbname=test"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield name
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    p = TcpProxy(PG)
    yield p
    p.cut()


def _record(i: int) -> AuditRecord:
    return AuditRecord(float(i), "fault-run", "hpa", "api", {"cpu": 0.5 + i / 1000}, {"applied": 2 + i % 3},
                       f"record {i}", True, False)


def test_records_accepted_while_postgres_is_down_are_written_once_it_is_back(database: str, proxy: TcpProxy) -> None:
    through_proxy = f"postgresql+psycopg://root@127.0.0.1:{proxy.port}/{database}"
    direct = f"postgresql+psycopg://root@127.0.0.1:{PG[1]}/{database}"
    log = AuditLog(through_proxy, max_delay_s=0.0, retry_s=0.05, max_retry_s=0.2, connect_timeout_s=2)
    try:
        for i in range(5):
            log.record(_record(i))
        assert log.pending == 0 and log.last_error is None  # written at once (max_delay_s=0)

        proxy.cut()
        for i in range(5, 60):
            log.record(_record(i))  # accepted: never raises for the store's sake
        assert log.pending == 55 and log.last_error is not None and log.url in log.last_error
        assert log.retry() is False  # still down

        proxy.restore()
        wait_until(log.retry, 20.0, "the buffered records were never written after PostgreSQL came back")
        assert log.pending == 0 and log.last_error is None
    finally:
        log.close()
    with AuditLog(direct) as reader:
        written = reader.query(target="api")
    assert [r.reason for r in written] == [f"record {i}" for i in range(60)]  # all, once, in order
    assert [r.decision["applied"] for r in written] == [2 + i % 3 for i in range(60)]


def test_past_max_pending_the_log_refuses_to_go_on_but_keeps_every_record(database: str, proxy: TcpProxy) -> None:
    through_proxy = f"postgresql+psycopg://root@127.0.0.1:{proxy.port}/{database}"
    log = AuditLog(through_proxy, flush_every=5, max_pending=20, max_delay_s=None, retry_s=0.05, max_retry_s=0.1,
                   connect_timeout_s=2)
    try:
        proxy.cut()
        for i in range(20):
            log.record(_record(i))
        with pytest.raises(ServiceUnavailable, match="more than the 20 kept"):
            log.record(_record(20))
        assert log.pending == 21
        proxy.restore()
        wait_until(log.retry, 20.0, "never written")
        assert [r.reason for r in log.query()] == [f"record {i}" for i in range(21)]
    finally:
        log.close()


def test_serve_keeps_stepping_through_a_postgres_outage_and_writes_what_it_accepted(
        database: str, proxy: TcpProxy, tmp_path: Path) -> None:
    """A person's action and webhook alerts accepted while the audit store is down: the API answers them,
    the controllers go on stepping, /readyz says why it is not ready, and once PostgreSQL is back every
    record is in it without a restart."""
    settings = load_settings(None, audit_url=f"postgresql+psycopg://root@127.0.0.1:{proxy.port}/{database}",
                             api={"token": TOKEN}, incidents={"period_s": 0.2},
                             live={"alertmanager_url": None})
    server = start_in_thread(build_service(settings, simulate=False))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    runtime = server.service.runtime
    try:
        api = httpx.Client(base_url=server.url, timeout=10)
        wait_until(lambda: api.get("/readyz").status_code == 200, 20.0, "serve never became ready")

        proxy.cut()
        assert api.post("/api/v1/controllers/forecast/pause", headers=auth).status_code == 200
        now = datetime.now(UTC)
        body = {"version": "4", "status": "firing", "receiver": "foresight", "alerts": [
            {"status": "firing", "labels": {"alertname": "DbSlow", "service": "db", "severity": "critical"},
             "startsAt": (now - timedelta(seconds=30)).isoformat()}]}
        assert api.post("/api/v1/alerts/webhook", json=body, headers=auth).status_code == 200
        wait_until(lambda: runtime.audit.last_error is not None, 20.0, "the audit store never looked down")
        wait_until(lambda: "audit_store" in api.get("/readyz").json()["checks"]
                   and api.get("/readyz").status_code == 503, 20.0, "/readyz never said the audit store is down")
        version = runtime.version
        time.sleep(1.0)
        assert runtime.version > version and runtime.error is None  # the loop goes on stepping
        assert api.post("/api/v1/controllers/forecast/resume", headers=auth).status_code == 200
        assert runtime.audit.pending >= 3  # pause, the incident, resume: all kept

        proxy.restore()
        wait_until(lambda: api.get("/readyz").status_code == 200, 40.0, "serve never became ready again")
        wait_until(lambda: runtime.audit.pending == 0, 20.0, "the buffered records were never written")
    finally:
        server.stop()
    with AuditLog(f"postgresql+psycopg://root@127.0.0.1:{PG[1]}/{database}") as reader:
        records = reader.query()
    operator = [r.reason for r in records if r.controller == "operator"]
    assert [o.split(" by ")[0] for o in operator] == ["paused", "resumed"], operator
    assert any(r.controller == "incidents" and "opened incident" in r.reason and r.inputs.get("services") == ["db"]
               for r in records), [r.reason for r in records]


def test_records_unwritten_at_a_stop_during_the_outage_are_saved_and_written_at_the_next_start(
        database: str, proxy: TcpProxy, tmp_path: Path) -> None:
    through_proxy = f"postgresql+psycopg://root@127.0.0.1:{proxy.port}/{database}"
    spill = tmp_path / "unwritten.jsonl"
    log = AuditLog(through_proxy, max_delay_s=0.0, retry_s=0.05, connect_timeout_s=2, spill_path=spill)
    log.record(_record(0))
    proxy.cut()
    for i in range(1, 12):
        log.record(_record(i))
    log.close()  # the store is down: saved, not raised, not lost
    assert len(spill.read_bytes().splitlines()) == 11

    with pytest.raises(ServiceUnavailable):  # still down: the next start fails as before, the file stays
        AuditLog(through_proxy, connect_timeout_s=2, spill_path=spill)
    assert spill.exists()

    proxy.restore()
    with AuditLog(through_proxy, spill_path=spill) as again:
        assert not spill.exists() and again.pending == 0
        again.record(_record(12))
        written = again.query()
    assert [r.reason for r in written] == [f"record {i}" for i in range(13)]  # once each, in order
    assert written[5].inputs == {"cpu": 0.505} and written[5].decision == {"applied": 4}
