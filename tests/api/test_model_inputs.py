"""Live drift: a model server pushes its input rows; a monitor per model judges them against a reference."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from foresight.api.app import create_app
from foresight.serve.service import Service

from .conftest import TOKEN, build  # noqa: TID252

AUTH = {"Authorization": f"Bearer {TOKEN}"}
FEATURES = ["amount", "age"]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[Service, TestClient]]:
    service = build(tmp_path, simulate={"warmup_s": 0.0},
                    controllers={"feedback": False, "anomaly": False, "rollout": False, "forecast": False,
                                 "autoscale": False},
                    inputs={"reference_rows": 500, "window_rows": 200})
    with TestClient(create_app(service, manage_runtime=False)) as c:
        yield service, c
    service.runtime.stop()


def _push(c: TestClient, rows: np.ndarray, path: str = "inputs") -> dict:
    r = c.post(f"/api/v1/models/churn/{path}", headers=AUTH, json={"features": FEATURES, "rows": rows.tolist()})
    assert r.status_code == 200, r.text
    return r.json()


def test_pushed_inputs_drift_is_detected_shown_exported_and_audited(client: tuple[Service, TestClient]) -> None:
    service, c = client
    rng = np.random.default_rng(1)
    first = _push(c, rng.normal(size=(600, 2)))  # 500 become the reference, 100 start the window
    assert first["rows_seen"] == 600 and not first["ready"]
    assert not _push(c, rng.normal(size=(200, 2)))["drifted"]
    for _ in range(6):  # age shifts by one standard deviation
        answer = _push(c, rng.normal([0.0, 1.0], 1.0, size=(100, 2)))
    assert answer["drifted"] and "age" in answer["reason"]
    (mon,) = [m for m in c.get("/api/v1/drift").json()["monitors"] if m["model"] == "churn"]
    assert mon["source"] == "inputs" and mon["verdict"] == "drift" and mon["drift_detected_at"] is not None
    age = mon["features"][1]
    assert age["name"] == "age" and age["current"] < mon["threshold"] < mon["features"][0]["current"]
    assert len(age["t"]) == 7
    metrics = c.get("/metrics").text
    assert 'foresight_feature_drift_flagged{feature="age",model="churn"} 1.0' in metrics
    assert 'foresight_feature_drifted{feature="amount",model="churn"} 1.0' in metrics  # the model's verdict
    assert [r.reason.split(":")[0] for r in service.audit.query(controller="drift/inputs")] == ["drift"]
    # an uploaded reference (the retrained model's data) clears the verdict and restarts the window
    assert _push(c, rng.normal([0.0, 1.0], 1.0, size=(500, 2)), "reference")["rows"] == 500
    after = _push(c, rng.normal([0.0, 1.0], 1.0, size=(300, 2)))
    assert after["ready"] and not after["drifted"]


def test_bad_batches_are_refused_with_the_reason(client: tuple[Service, TestClient]) -> None:
    _, c = client
    assert c.post("/api/v1/models/churn/inputs", json={"features": FEATURES, "rows": [[1, 2]]}).status_code == 401
    _push(c, np.zeros((3, 2)))
    bad = c.post("/api/v1/models/churn/inputs", headers=AUTH, json={"features": ["age", "amount"], "rows": [[1, 2]]})
    assert bad.status_code == 422 and "keep the names and their order" in bad.json()["detail"]
    short = c.post("/api/v1/models/churn/inputs", headers=AUTH, json={"features": FEATURES, "rows": [[1.0]]})
    assert short.status_code == 422 and "rows[0]: 1 values for 2 features" in short.json()["detail"]
    dup = c.post("/api/v1/models/other/inputs", headers=AUTH, json={"features": ["a", "a"], "rows": [[1, 2]]})
    assert dup.status_code == 422 and "duplicate" in dup.json()["detail"]
    missing = c.post("/api/v1/models/churn/inputs", headers=AUTH, json={"features": FEATURES, "rows": [[None, 1.0]]})
    assert missing.status_code == 200


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e309"])
def test_non_finite_values_are_refused_naming_the_row_and_the_feature(client: tuple[Service, TestClient],
                                                                        literal: str) -> None:
    service, c = client
    body = '{"features": ["amount", "age"], "rows": [[1.0, 2.0], [3.0, null], [5.0, %s]]}' % literal
    r = c.post("/api/v1/models/churn/inputs", headers={**AUTH, "Content-Type": "application/json"}, content=body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith("rows[2], feature 'age': ") and "not a finite number" in r.json()["detail"]
    assert "churn" not in service.inputs.models  # nothing was taken, not even the model's name


def test_the_largest_finite_values_are_taken(client: tuple[Service, TestClient]) -> None:
    """1e308 is a double like any other; the KS monitor ranks values, so nothing downstream overflows."""
    _, c = client
    body = '{"features": ["amount", "age"], "rows": [[1e308, -1.7976931348623157e308], [null, 0.5]]}'
    r = c.post("/api/v1/models/churn/inputs", headers={**AUTH, "Content-Type": "application/json"}, content=body)
    assert r.status_code == 200 and r.json()["rows"] == 2
