"""Running the app with uvicorn: in the foreground (``foresight serve``) or in a thread (tests, demo)."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import uvicorn
from fastapi import FastAPI

from foresight.api.app import create_app
from foresight.config import load_settings
from foresight.errors import ConfigError, ServiceUnavailable
from foresight.serve.service import Service, build_service

__all__ = ["RunningServer", "bind", "run_dashboard_for_demo", "serve_forever", "serve_on", "start_in_thread", "url_of"]

#: Seconds uvicorn waits for open connections (the dashboard's event stream) before closing them.
GRACE_S = 5


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (0: any free port), or a one-line :class:`ConfigError`.

    The socket is made with protocol ``IPPROTO_TCP``, not 0: asyncio sets ``TCP_NODELAY`` on the
    connections it accepts only when the listening socket says it is TCP. Without it, Nagle's
    algorithm holds a response's body until the client acknowledges its headers, and the client
    delays that acknowledgement: about 44 ms per request on a kept-alive connection.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"api: cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    sock.listen(128)
    return sock


def url_of(sock: socket.socket) -> str:
    """The base URL a listening socket from :func:`bind` answers on (the real port when 0 was asked)."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if sock.family == socket.AF_INET6 else f"http://{host}:{port}"


class _Server(uvicorn.Server):
    """uvicorn's server, which also ends the app's event streams as soon as shutdown begins
    (otherwise an open dashboard holds the shutdown for the whole grace period)."""

    def __init__(self, app: FastAPI) -> None:
        super().__init__(uvicorn.Config(app, log_config=None, timeout_graceful_shutdown=GRACE_S))
        self.app = app

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.app.state.closing.set()
        super().handle_exit(sig, frame)


def serve_on(service: Service, sock: socket.socket) -> None:
    """Serve on ``sock`` (from :func:`bind`) until SIGINT/SIGTERM; then finish the current step and flush
    the audit log. A warm-up left to do (``build_service(defer_warmup=True)``) runs in the background."""
    _Server(create_app(service)).run(sockets=[sock])


def serve_forever(service: Service, host: str, port: int) -> None:
    """:func:`serve_on` a socket bound to ``host:port``."""
    serve_on(service, bind(host, port))


@dataclass
class RunningServer:
    """A server started by :func:`start_in_thread`; :meth:`stop` shuts it down gracefully."""

    service: Service
    url: str
    server: _Server
    thread: threading.Thread

    def stop(self, timeout_s: float = 30.0) -> None:
        self.server.app.state.closing.set()
        self.server.should_exit = True
        self.thread.join(timeout_s)


def run_in_thread(server: uvicorn.Server, sock: socket.socket, name: str, timeout_s: float) -> threading.Thread:
    """Run ``server`` on the bound ``sock`` in a daemon thread called ``name``; return once it has started
    (:class:`ServiceUnavailable` naming ``name`` and the address when it has not within ``timeout_s``)."""
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise ServiceUnavailable(f"{name}: the server on {url_of(sock)} did not start within {timeout_s:.0f} s")
        time.sleep(0.02)
    return thread


def start_in_thread(service: Service, host: str = "127.0.0.1", port: int = 0, timeout_s: float = 20.0) -> RunningServer:
    """Serve in a background thread (``port=0``: any free port); returns once it answers."""
    sock = bind(host, port)
    server = _Server(create_app(service))
    return RunningServer(service, url_of(sock), server, run_in_thread(server, sock, "foresight-api", timeout_s))


def run_dashboard_for_demo(*, services: int = 8, seed: int = 0, speed: float = 600.0, port: int = 8080,
                           host: str = "127.0.0.1", out_dir: Path = Path("foresight-out/demo"),
                           duration_s: float | None = None, config: Path | None = None) -> None:
    """``foresight demo --web``: the simulated platform and its dashboard at http://host:port/ until Ctrl-C.

    ``speed`` is simulated seconds per wall second; ``duration_s`` the simulated time available
    (default: ``simulate.duration_s``, a week).
    """
    simulate: dict[str, float] = {"services": services, "seed": seed, "speed": speed}
    if duration_s is not None:
        simulate["duration_s"] = duration_s
    settings = load_settings(config, simulate=simulate,
                             api={"host": host, "port": port}, audit_url=str(out_dir / "web-audit.db"))
    service = build_service(settings, simulate=True)
    print(f"Foresight dashboard on http://{host}:{port}/ (simulated, {speed:g}x); Ctrl-C stops it")
    serve_forever(service, host, port)
