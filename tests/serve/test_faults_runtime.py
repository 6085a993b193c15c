"""The serve loop and an audit store that stops taking writes: past what the log buffers, the
controllers stop acting and the runtime retries, backing off, until the store answers; then it
writes everything it held and steps on, without a restart."""

from __future__ import annotations

import time
from pathlib import Path

import sqlalchemy as sa
from fault_services import wait_until

from foresight.adapters.audit_log import AuditLog
from foresight.control.audit import AuditRecord
from foresight.serve.stepper import Stepper


class _AuditingPlatform:
    """A live platform reduced to what the runtime sees: each step decides once and audits it, then says
    nothing more is due (so the runtime idles ``idle_s`` between steps, as a live one does)."""

    controllers: dict[str, object] = {}

    def __init__(self, audit: AuditLog) -> None:
        self.audit, self.steps = audit, 0

    def now(self) -> float:
        return time.time()

    def step(self, paused: frozenset[str]) -> bool:
        self.steps += 1
        self.audit.record(AuditRecord(float(self.steps), "run", "hpa", "api", {"step": self.steps}, {"applied": 2},
                                      f"step {self.steps}", True, False))
        return False

    def close(self) -> None:
        pass


def test_the_runtime_backs_off_while_the_store_refuses_and_resumes_by_itself(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    audit = AuditLog(path, flush_every=1, max_pending=5, max_delay_s=0.0, retry_s=0.01, max_retry_s=0.05)
    platform = _AuditingPlatform(audit)
    runtime = Stepper(platform, audit, idle_s=0.01, max_retry_s=0.1)  # type: ignore[arg-type]
    runtime.start()
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        wait_until(lambda: platform.steps >= 3, 10.0, "no step")
        with engine.begin() as conn:  # the store loses its table (and the records in it) under the running loop
            conn.execute(sa.text("DROP TABLE foresight_audit"))
        dropped_at = platform.steps
        wait_until(lambda: runtime.error is not None, 10.0, "the runtime never noticed")
        assert "more than the 5 kept" in runtime.error  # type: ignore[operator]
        held = runtime.read(lambda: audit.pending)
        time.sleep(0.3)
        assert runtime._thread is not None and runtime._thread.is_alive()  # retrying, not stopped
        assert runtime.read(lambda: audit.pending) - held <= 30  # a step retried every 0.1 s at most: one record each, not a burst

        AuditLog(path).close()  # the table is back
        # read between two steps (a step appends, then writes): nothing left over from the outage
        wait_until(lambda: runtime.error is None and runtime.read(lambda: audit.pending) == 0, 10.0, "never resumed")
        steps = platform.steps
        wait_until(lambda: platform.steps > steps + 3, 10.0, "stopped stepping")
    finally:
        runtime.stop()
        engine.dispose()
    with AuditLog(path) as reader:
        reasons = [r.reason for r in reader.query()]
    first = int(reasons[0].split()[1])
    assert first <= dropped_at + 1  # what was written before the drop went with the table, nothing after it
    assert reasons == [f"step {i}" for i in range(first, platform.steps + 1)]  # every step audited once, in order
