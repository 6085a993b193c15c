"""The simulated platform heals too: its twin cluster's leaking pod is predicted and replaced before the
OOMKill, every step audited as ``heal`` and shown by ``GET /api/v1/heal``; paused, the pods die."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from foresight.api.app import create_app
from foresight.serve.service import Service


def test_the_heal_twin_replaces_the_leaking_pod_before_its_oomkill(make_service: Callable[..., Service]) -> None:
    service = make_service(simulate={"warmup_s": 0.0})
    p = service.runtime.platform
    start = p.now()
    p.run_until(start + 100 * 60.0)  # type: ignore[attr-defined]  # the fast leak reaches its limit at ~81 min
    assert p.heal_twin.oomkills == 0  # type: ignore[attr-defined]
    assert [pod for _, pod in p.heal_twin.evictions] == ["cart-0"]  # type: ignore[attr-defined]
    acted = [r for r in service.audit.query(controller="heal") if r.applied]
    assert len(acted) == 1 and acted[0].target == "shop/cart-0" and acted[0].inputs["failure"] == "oom_kill"
    assert start < acted[0].time < start + 100 * 60.0  # on the platform's clock
    with TestClient(create_app(service, manage_runtime=False)) as api:
        view = api.get("/api/v1/heal").json()
    assert view["enabled"] and "twin cluster" in view["note"]


def test_paused_the_heal_controller_lets_kubernetes_react(make_service: Callable[..., Service]) -> None:
    service = make_service(simulate={"warmup_s": 0.0})
    p = service.runtime.platform
    p.run_until(p.now() + 100 * 60.0, {"heal"})  # type: ignore[attr-defined]
    assert p.heal_twin.oomkills == 1 and p.heal_twin.evictions == []  # type: ignore[attr-defined]
