"""How the parity benchmark explains a difference: from the two audit records of the period, in the
order a difference propagates (an earlier difference, phase, errors, status, samples, rounding, forecast)."""

from __future__ import annotations

from typing import Any

import pytest

from foresight.bench.parity_diff import PathRecord, difference
from foresight.control.audit import AuditRecord

T = 1000.0


def record(**inputs: Any) -> AuditRecord:
    base: dict[str, Any] = {"scale": {"desired": 3, "current": 3, "ready": 3},
                            "series": {"load": {"series": 1, "points": 60, "last": 120.0}},
                            "policy": {"peak_rps": 130.0, "predicted": 4, "margin": 1.1}}
    return AuditRecord(T, "run", "predictive", "api", {**base, **inputs}, {"recommended": 4, "applied": 4,
                                                                          "previous": 3}, "why", True, False)


def explain(mine: AuditRecord | None, theirs: AuditRecord | None, same_cluster: bool = True) -> str:
    d = {"time": T, "service": "api", "inprocess": 4, "live": 5, "same_cluster_state": same_cluster}
    found = difference(d, {(T, "api"): mine} if mine else {}, {(T, "api"): theirs} if theirs else {}, 0.0)
    assert (found["time_s"], found["inprocess"], found["live"]) == (T, 4, 5)
    return str(found["cause"])


@pytest.mark.parametrize(("theirs", "same_cluster", "cause"), [
    (record(), False, "carried"),
    (None, True, "phase: only the in-process path"),
    (record(scale={"desired": 3, "current": 3, "ready": 2}), True, "status sync"),
    (record(series={"load": {"series": 1, "points": 59, "last": 120.0}}), True, "samples"),
    (record(policy={"peak_rps": 130.00000000001, "predicted": 4, "margin": 1.1}), True, "rounding"),
    (record(policy={"peak_rps": 150.0, "predicted": 5, "margin": 1.1}), True, "forecast"),
    (record(), True, "decision"),
])
def test_a_difference_is_named_by_the_first_input_that_differs(theirs: AuditRecord | None, same_cluster: bool,
                                                               cause: str) -> None:
    assert explain(record(), theirs, same_cluster).startswith(cause)


def test_a_failed_read_on_one_path_is_its_cause() -> None:
    failed = AuditRecord(T, "run", "predictive", "api", {}, {"recommended": None, "applied": None, "previous": 3},
                         "failed querying metrics", False, False, "ServiceUnavailable: Prometheus down")
    assert explain(record(), failed) == "error: ServiceUnavailable: Prometheus down"


def test_a_nan_estimate_read_back_from_the_audit_store_is_not_a_difference() -> None:
    assert explain(record(policy={"peak_rps": float("nan")}), record(policy={"peak_rps": None})).startswith("decision")


def test_weights_until_settled_and_their_changes() -> None:
    path = PathRecord(weights=[10, 10, 20, 40, 100, 100, 100])
    assert path.weight_changes() == 3 and path.settled_weights() == [10, 10, 20, 40, 100]
    assert PathRecord(weights=[10, 10]).settled_weights() == [10]
