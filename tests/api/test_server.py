"""The server under the app: the socket it listens on, what it reads of a write request, and its start-up order."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from foresight.bench.prometheus_server import free_port
from foresight.api.server import RunningServer, start_in_thread
from foresight.config import load_settings
from foresight.serve.service import build_service

from .conftest import TOKEN, build  # noqa: TID252

QUIET = {"autoscale": False, "forecast": False, "anomaly": False, "rollout": False, "feedback": False}
LIMIT = 10_000
WRITES = ["/api/v1/controllers/autoscale/pause", "/api/v1/rollouts/r-1/approve", "/api/v1/models/m/inputs",
          "/api/v1/models/m/reference", "/api/v1/models/m/approve"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    service = build(tmp_path_factory.mktemp("server"), simulate={"warmup_s": 0.0}, controllers=QUIET,
                    api={"max_body_bytes": LIMIT})
    running = start_in_thread(service)
    yield running
    running.stop()


def test_accepted_connections_have_tcp_nodelay(server: RunningServer) -> None:
    """Without TCP_NODELAY a response's body waits for the client's delayed ACK of its headers: ~44 ms a request."""
    with httpx.Client(base_url=server.url) as client:
        assert client.get("/healthz").status_code == 200  # the connection stays open (keep-alive)
        accepted = [p.transport.get_extra_info("socket") for p in server.server.server_state.connections]
        assert accepted
        assert all(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for s in accepted)


def _answer(url: str, request: bytes, timeout_s: float = 5.0) -> tuple[int, bytes]:
    """Send raw ``request`` bytes and read the status and body of the answer (a timeout fails the test:
    the server waited for bytes that were never sent)."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout_s) as s:
        s.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < _length(data):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def _length(data: bytes) -> int:
    for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def _post(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: test", "Content-Type: application/json",
             *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@pytest.mark.parametrize("path", WRITES)
def test_a_write_without_the_token_is_refused_before_its_body_is_read(server: RunningServer, path: str) -> None:
    # 45 MB announced, none sent: the answer must not wait for them
    status, body = _answer(server.url, _post(path, {"Content-Length": "45000000"}))
    assert status == 401 and b"bearer token" in body
    status, _ = _answer(server.url, _post(path, {"Content-Length": "45000000", "Authorization": "Bearer wrong"}))
    assert status == 401


@pytest.mark.parametrize("path", WRITES)
def test_a_declared_body_over_the_limit_is_refused_unread(server: RunningServer, path: str) -> None:
    headers = {"Content-Length": str(LIMIT + 1), "Authorization": f"Bearer {TOKEN}"}
    status, body = _answer(server.url, _post(path, headers))
    assert status == 413 and b"api.max_body_bytes" in body


def test_a_streamed_body_is_cut_off_at_the_limit(server: RunningServer) -> None:
    """Chunked, so no length is declared: the server answers once the limit is passed, not at the body's end
    (which never comes here), and holds no more than the limit meanwhile."""
    head = _post("/api/v1/models/m/inputs", {"Transfer-Encoding": "chunked", "Authorization": f"Bearer {TOKEN}"})
    chunk = b"[" + b"1.0," * 999 + b"1.0]"  # 4000 bytes a chunk
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(LIMIT // len(chunk) + 1))
    status, body = _answer(server.url, head + chunks)
    assert status == 413 and f"more than {LIMIT} bytes" in body.decode()


def test_a_body_within_the_limit_is_read_whole(server: RunningServer) -> None:
    rows = [[float(i), 1.0] for i in range(50)]
    r = httpx.post(f"{server.url}/api/v1/models/within/inputs", headers={"Authorization": f"Bearer {TOKEN}"},
                   json={"features": ["a", "b"], "rows": rows})
    assert r.status_code == 200 and r.json()["rows"] == 50


def test_a_deferred_warm_up_runs_behind_the_api_until_ready(tmp_path: Path) -> None:
    settings = load_settings(None, simulate={"services": 4, "warmup_s": 3600.0, "speed": 600.0},
                             audit_url=str(tmp_path / "audit.db"))  # seconds of warm-up, controllers included
    service = build_service(settings, simulate=True, defer_warmup=True)
    assert service.runtime.platform.now() == 0.0
    running = start_in_thread(service)
    try:
        first = httpx.get(f"{running.url}/readyz")
        seen = [(first.status_code, first.json()["checks"])]
        deadline = time.monotonic() + 60
        while seen[-1][0] != 200 and time.monotonic() < deadline:
            r = httpx.get(f"{running.url}/readyz")
            seen.append((r.status_code, r.json()["checks"]))
            time.sleep(0.05)
        assert seen[0][0] == 503 and seen[0][1]["warm_up"].startswith("warming up: simulated ")
        assert seen[-1][0] == 200, seen[-1]
        assert service.runtime.started and service.runtime.platform.now() >= 3600.0
    finally:
        running.stop()


# -- `foresight serve`, as a process ---------------------------------------------------------------

LAUNCH = "import sys; from foresight.cli import main; sys.argv[0] = 'foresight'; main()"


def _serve(port: int, tmp_path: Path) -> subprocess.Popen[str]:
    """``foresight serve --simulate`` with two simulated days of warm-up: minutes of work, if done first."""
    env = {**os.environ, "FORESIGHT_SIMULATE__WARMUP_S": str(2 * 86400), "FORESIGHT_SIMULATE__SERVICES": "4",
           "FORESIGHT_AUDIT_URL": str(tmp_path / "audit.db")}
    return subprocess.Popen([sys.executable, "-c", LAUNCH, "serve", "--simulate", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_serve_prints_its_url_and_answers_while_it_warms_up(tmp_path: Path) -> None:
    port = free_port()
    proc = _serve(port, tmp_path)
    first_line: list[str] = []
    reader = threading.Thread(target=lambda: first_line.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        reader.join(30)
        assert first_line and f"http://127.0.0.1:{port}/" in first_line[0], first_line
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
        assert ready.status_code == 503 and ready.json()["checks"]["warm_up"].startswith("warming up")
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/status", timeout=10).json()["running"] is False
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)  # a warm-up in progress ends after its slice
    assert proc.returncode in (0, -signal.SIGTERM), stderr[-2000:]


def test_serve_on_a_taken_port_fails_at_once_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = _serve(port, tmp_path)
        _, stderr = proc.communicate(timeout=30)  # not after the two days of warm-up
    assert proc.returncode != 0
    assert stderr.strip().splitlines() == [f"error: api: cannot listen on 127.0.0.1:{port} (Address already in use)"]
