"""The Alertmanager API v2 client: queue, latest state per alert, backoff, and delivery once a real
Alertmanager comes up on a port that was closed."""

from __future__ import annotations

import json
import logging
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from foresight.adapters.alertmanager import AlertmanagerClient
from foresight.clock import ManualClock
from foresight.errors import ConfigError

ALERTMANAGER_BIN = "prometheus-alertmanager"


def _alert(name: str, ends_at: str = "2099-01-01T00:00:00Z", job: str = "api") -> dict:
    return {
        "labels": {"alertname": name, "job": job, "severity": "warning"},
        "annotations": {"summary": f"{name} on {job}"},
        "startsAt": "2024-01-01T00:00:00Z",
        "endsAt": ends_at,
    }


class Answers:
    """An HTTP transport that answers with the given statuses in turn and records what it got."""

    def __init__(self, *statuses: int, headers: dict[str, str] | None = None) -> None:
        self.statuses, self.headers = list(statuses), headers or {}
        self.bodies: list[list[dict]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v2/alerts" and request.method == "POST"
        self.bodies.append(json.loads(request.content))
        status = self.statuses.pop(0) if self.statuses else 200
        return httpx.Response(status, text="" if status < 300 else "boom", headers=self.headers)


def _client(answers: Answers, clock: ManualClock, **kwargs) -> AlertmanagerClient:
    return AlertmanagerClient("http://am:9093/", clock, transport=httpx.MockTransport(answers), **kwargs)


def test_failures_keep_alerts_back_off_exponentially_and_deliver_the_latest_state(caplog):
    clock, answers = ManualClock(0.0), Answers(503, 503, 503)
    client = _client(answers, clock, backoff_s=1.0, max_backoff_s=3.0)
    with caplog.at_level(logging.WARNING):
        client.send([_alert("A")])  # try 1 fails at t=0: next try at 1
    assert client.pending == 1 and len(answers.bodies) == 1
    assert "http://am:9093/api/v2/alerts" in caplog.text and "HTTP 503" in caplog.text

    client.send([_alert("A", ends_at="2024-01-01T00:05:00Z"), _alert("B")])  # during backoff: queued only
    assert len(answers.bodies) == 1 and client.pending == 2
    clock.advance(1.0)
    client.send([])  # try 2 at t=1 fails: next at 1 + 2
    clock.advance(2.0)
    client.send([])  # try 3 at t=3 fails: next at 3 + min(4, 3)
    clock.advance(2.9)
    client.send([])
    assert len(answers.bodies) == 3
    clock.advance(0.1)
    client.send([])  # try 4 succeeds
    assert client.pending == 0 and client.delivered == 2
    # One entry per alert: A's resolution replaced its firing state while it waited.
    assert [(a["labels"]["alertname"], a["endsAt"]) for a in answers.bodies[-1]] == [
        ("A", "2024-01-01T00:05:00Z"),
        ("B", "2099-01-01T00:00:00Z"),
    ]
    client.send([_alert("C")])  # the backoff is over: sent at once
    assert len(answers.bodies) == 5 and client.pending == 0


def test_retry_after_is_honoured():
    clock, answers = ManualClock(0.0), Answers(429, headers={"Retry-After": "30"})
    client = _client(answers, clock)
    client.send([_alert("A")])
    clock.advance(29.0)
    client.send([])
    assert len(answers.bodies) == 1
    clock.advance(1.0)
    client.send([])
    assert len(answers.bodies) == 2 and client.pending == 0


def test_rejected_alerts_are_dropped_and_the_rest_delivered(caplog):
    clock, answers = ManualClock(0.0), Answers(400)
    client = _client(answers, clock, batch_size=2)
    with caplog.at_level(logging.ERROR):
        client.send([_alert("A"), _alert("B"), _alert("C")])
    assert "rejected the alerts (HTTP 400): boom" in caplog.text
    assert [len(b) for b in answers.bodies] == [2, 1]
    assert client.dropped == 2 and client.delivered == 1 and client.pending == 0


def test_a_wrong_url_is_logged_as_configuration_and_kept(caplog):
    clock, answers = ManualClock(0.0), Answers(404)
    client = _client(answers, clock)
    with caplog.at_level(logging.ERROR):
        client.send([_alert("A")])
    assert "HTTP 404: check the URL" in caplog.text and client.pending == 1


def test_the_queue_is_bounded_and_drops_the_oldest_alerts():
    clock, answers = ManualClock(0.0), Answers(503)
    client = _client(answers, clock, max_pending=2)
    client.send([_alert("A")])
    client.send([_alert("B"), _alert("C")])
    assert client.pending == 2 and client.dropped == 1
    clock.advance(1.0)
    client.send([])
    assert [a["labels"]["alertname"] for a in answers.bodies[-1]] == ["B", "C"]


def test_bad_settings_are_refused():
    with pytest.raises(ConfigError, match="http://"):
        AlertmanagerClient("am:9093", ManualClock())
    with pytest.raises(ConfigError, match="backoff_s"):
        AlertmanagerClient("http://am:9093", ManualClock(), backoff_s=0)


def test_an_unreachable_alertmanager_never_raises(caplog):
    from plugins.prometheus_server import free_port

    client = AlertmanagerClient(f"http://127.0.0.1:{free_port()}", ManualClock(0.0), timeout_s=1.0)
    with caplog.at_level(logging.WARNING):
        client.send([_alert("A")])
        assert client.flush() is False
    assert client.pending == 1 and "cannot be reached" in caplog.text


# -- against a real Alertmanager --------------------------------------------------------------


def _start_alertmanager(workdir: Path, port: int) -> subprocess.Popen[bytes]:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "alertmanager.yml").write_text(
        json.dumps({"route": {"receiver": "none"}, "receivers": [{"name": "none"}]})
    )
    log = (workdir / "server.log").open("ab")
    process = subprocess.Popen(
        [
            ALERTMANAGER_BIN,
            f"--config.file={workdir / 'alertmanager.yml'}",
            f"--storage.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/-/ready", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"Alertmanager did not start:\n{(workdir / 'server.log').read_text()[-2000:]}")


@pytest.mark.integration
def test_alerts_queued_while_the_port_is_closed_reach_alertmanager_once_it_is_up(require_service, tmp_path):
    import shutil

    from plugins.prometheus_server import free_port

    require_service(shutil.which(ALERTMANAGER_BIN) is not None, f"{ALERTMANAGER_BIN} not found on PATH")
    port = free_port()
    clock = ManualClock(0.0)
    with AlertmanagerClient(f"http://127.0.0.1:{port}", clock) as client:
        client.send([_alert("ForesightA"), _alert("ForesightB", job="db")])
        client.send([_alert("ForesightA", ends_at="2024-01-01T00:01:00Z")])  # A resolves while down
        assert client.pending == 2 and client.delivered == 0

        process = _start_alertmanager(tmp_path / "am", port)
        try:
            clock.advance(1.0)
            client.send([])
            assert client.pending == 0 and client.delivered == 2
            alerts = httpx.get(f"http://127.0.0.1:{port}/api/v2/alerts", timeout=5).json()
        finally:
            process.terminate()
            process.wait(timeout=10)
    states = {a["labels"]["alertname"]: a["status"]["state"] for a in alerts}
    # A arrived in its last state, resolved, and Alertmanager lists only the alerts not resolved.
    assert states == {"ForesightB": "active"}
