"""Simulate mode runs the model feedback loop and the predictive policy beside the HPA."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from foresight.serve.model_loop import NotAwaitingModelApproval, UnknownModel
from foresight.serve.service import Service


def test_split_policy_scales_every_second_workload_predictively(make_service: Callable[..., Service]) -> None:
    service = make_service(simulate={"policy": "split", "warmup_s": 8100.0},
                           controllers={"feedback": False, "anomaly": False, "rollout": False})
    p = service.runtime.platform
    names = p.workloads()
    expected = {n: ("hpa", "predictive")[i % 2] for i, n in enumerate(names)}
    assert p.scaling_controllers() == expected  # type: ignore[attr-defined]
    predictive = {r.target for r in service.audit.query(controller="predictive")}
    assert predictive == {names[1], names[3]}
    t, v = p.predicted_peaks(names[1], 0.0)  # type: ignore[attr-defined]
    assert len(t) > 40 and all(x is not None and x > 0 for x in v)
    assert p.predicted_peaks(names[0], 0.0) is None  # type: ignore[attr-defined]
    assert "predictive policy" in p.controllers["autoscale"].detail


def test_model_loop_waits_for_approval_then_promotes(make_service: Callable[..., Service]) -> None:
    service = make_service(simulate={"warmup_s": 900.0, "drift_after_s": 900.0},
                           controllers={"require_approval": True, "anomaly": False, "rollout": False,
                                        "forecast": False, "autoscale": False})
    rt = service.runtime
    p = rt.platform
    with pytest.raises(NotAwaitingModelApproval):
        rt.act(lambda: p.approve_model("fraud-scorer", "api"))  # type: ignore[attr-defined]
    with pytest.raises(UnknownModel):
        p.approve_model("nope", "api")  # type: ignore[attr-defined]
    p.run_until(p.now() + 2 * 3600.0)  # type: ignore[attr-defined]
    view = p.drift_views()[0]  # type: ignore[attr-defined]
    assert view["drift_detected_at"] is not None and view["retrains"] == 1
    assert view["canary"]["awaiting_approval"], view["events"][-3:]
    assert view["champion"] == 1 and view["challenger"] == 2  # held: the policy would promote, a person decides
    assert len(view["features"]) == 4 and max(f["current"] for f in view["features"]) > view["threshold"]
    record = rt.act(lambda: p.approve_model("fraud-scorer", "tester"))  # type: ignore[attr-defined]
    assert record.controller == "feedback/approval" and "approved by tester" in record.reason
    p.run_until(p.now() + 600.0)  # type: ignore[attr-defined]
    view = p.drift_views()[0]  # type: ignore[attr-defined]
    assert view["champion"] == 2 and not view["canary"]["awaiting_approval"]
    assert view["canary"]["outcome"] == "v2 promoted"
    audited = {r.controller for r in service.audit.query(target="fraud-scorer")}
    assert {"feedback", "feedback/demo", "feedback/approval"} <= audited
    promote = [r for r in service.audit.query(controller="feedback") if r.reason.startswith("promote")]
    assert promote and "approved by tester" in promote[-1].reason
