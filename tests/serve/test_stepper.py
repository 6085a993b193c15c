"""The serve runtime: stepping in a thread, graceful shutdown, pause/resume, a source going down, approval."""

from __future__ import annotations

import time
from pathlib import Path
from collections.abc import Callable

import pytest

from foresight.adapters.audit_log import AuditLog
from foresight.serve.rollouts import AWAITING, NotAwaitingApproval, UnknownRelease
from foresight.serve.stepper import Stepper, UnknownController
from foresight.serve.service import Service


def _wait(predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def test_warmup_runs_every_controller(make_service: Callable[..., Service]) -> None:
    service = make_service()
    p = service.runtime.platform
    assert p.now() == 5400.0
    assert {r.controller for r in service.audit.query()} >= {"hpa", "rollout/foresight"}
    assert p.forecast_watch().latest, p.forecast_watch().note  # 1.5 h of history: forecasts exist
    assert p.rollout_views()[0]["steps"]


def test_graceful_shutdown_finishes_the_step_and_flushes_the_audit_log(make_service: Callable[..., Service]) -> None:
    service = make_service(simulate={"speed": 20000.0, "warmup_s": 900.0})
    runtime = service.runtime
    runtime.start()
    _wait(lambda: runtime.platform.now() > 900.0 + 600.0)
    runtime.stop()
    assert service.audit.pending == 0
    stopped_at = runtime.platform.now()
    reconciler = runtime.platform.reconciler  # type: ignore[attr-defined]
    last_period = stopped_at - (stopped_at % reconciler.period_s)
    with AuditLog(service.settings.audit_url) as reread:
        hpa = reread.query(controller="hpa", since=last_period)
    # the period of the last step is complete: one record per workload, none missing
    assert sorted(r.target for r in hpa) == sorted(runtime.platform.workloads())


def test_paused_controller_skips_its_periods_and_both_actions_are_audited(make_service: Callable[..., Service]) -> None:
    service = make_service(simulate={"warmup_s": 900.0})
    runtime = service.runtime
    runtime.set_paused("autoscale", True)
    before = len(service.audit.query(controller="hpa"))
    runtime.platform.run_until(runtime.platform.now() + 300.0, runtime.paused)  # type: ignore[attr-defined]
    assert len(service.audit.query(controller="hpa")) == before
    runtime.set_paused("autoscale", False)
    runtime.platform.run_until(runtime.platform.now() + 300.0, runtime.paused)  # type: ignore[attr-defined]
    assert len(service.audit.query(controller="hpa")) == before + 20 * 4
    actions = [r.reason for r in service.audit.query(controller="operator")]
    assert actions == ["paused by api", "resumed by api"]
    with pytest.raises(UnknownController, match="no controller 'autoscaler'"):
        runtime.set_paused("autoscaler", True)


def test_source_down_is_audited_and_reported_then_heals(make_service: Callable[..., Service]) -> None:
    service = make_service(simulate={"warmup_s": 900.0})
    p = service.runtime.platform
    p.source.fail_with("drill: metrics backend stopped")  # type: ignore[attr-defined]
    p.run_until(p.now() + 60.0)  # type: ignore[attr-defined]
    failed = service.audit.query(controller="hpa", since=p.now() - 45.0)
    assert failed and all(r.error and "drill" in r.error and r.reason == "failed querying metrics" for r in failed)
    health = p.sources()[0]
    assert not health.ok and "drill" in (health.error or "") and health.failing_since is not None
    assert "signals not read" in p.anomaly_view()["note"]
    p.source.fail_with(None)  # type: ignore[attr-defined]
    p.run_until(p.now() + 60.0)  # type: ignore[attr-defined]
    assert p.sources()[0].ok
    assert all(r.error is None for r in service.audit.query(controller="hpa", since=p.now() - 15.0))


def test_gated_promotion_waits_for_approval(make_service: Callable[..., Service]) -> None:
    service = make_service(controllers={"require_approval": True})
    runtime, p = service.runtime, service.runtime.platform
    good = p.rollout_views()[-1]
    assert good["simulated_behaviour"] == "good"
    assert good["outcome"] == AWAITING and good["awaiting_approval"], good["outcome"]
    assert good["weight"] < 100
    record = runtime.approve(good["id"])
    assert record.applied and record.reason.startswith("promote: approved by api")
    assert p.rollout_views()[-1]["weight"] == 100 and p.rollout_views()[-1]["outcome"] == "promoted"
    reasons = [r.reason for r in service.audit.query(controller="rollout/gate")]
    assert reasons[0].startswith("hold: promotion held for approval") and reasons[1].startswith("promote:")
    with pytest.raises(NotAwaitingApproval):
        runtime.approve(good["id"])
    with pytest.raises(UnknownRelease):
        runtime.approve("llm-chat-v99")


def test_readiness_follows_the_controllers_thread(make_service: Callable[..., Service]) -> None:
    from fastapi.testclient import TestClient

    from foresight.api import create_app

    service = make_service(simulate={"warmup_s": 900.0})
    with TestClient(create_app(service)) as client:  # the app's lifespan starts the runtime
        assert client.get("/readyz").status_code == 200
        service.runtime.error = "RuntimeError: simulated failure"
        not_ready = client.get("/readyz")
        assert not_ready.status_code == 503
        assert not_ready.json()["checks"]["controllers"] == "RuntimeError: simulated failure"
    assert service.runtime.stopping and service.audit.pending == 0  # shutdown stopped it and flushed

    fresh = make_service(simulate={"warmup_s": 0.0})
    with TestClient(create_app(fresh, manage_runtime=False)) as client:
        assert client.get("/readyz").json()["checks"]["controllers"] == "not started"


class _BusyPlatform:
    """A platform whose every step holds the lock for a few milliseconds of work, with no pause between
    steps (a live platform that fell behind, or a warm-up): what starved readers of an unfair lock."""

    controllers: dict[str, object] = {}

    def __init__(self) -> None:
        self.steps = 0

    def now(self) -> float:
        return float(self.steps)

    def step(self, paused: frozenset[str]) -> bool:
        end = time.perf_counter() + 0.003
        while time.perf_counter() < end:  # holds the GIL, as a model refit does
            pass
        self.steps += 1
        return True

    def close(self) -> None:
        pass


def test_a_reader_waits_one_step_not_a_stream_of_them(tmp_path: Path) -> None:
    platform = _BusyPlatform()
    runtime = Stepper(platform, AuditLog(str(tmp_path / "audit.db")), sim_speed=1e9)  # type: ignore[arg-type]
    runtime.start()
    try:
        waited: list[int] = []
        while platform.steps < 5:
            time.sleep(0.001)
        for _ in range(20):
            asked = platform.steps
            waited.append(runtime.read(lambda asked=asked: platform.steps - asked))  # type: ignore[misc]
        assert max(waited) <= 2, waited  # the step in progress, at most one that began as we asked
    finally:
        runtime.stop()
