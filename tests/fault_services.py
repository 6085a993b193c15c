"""Outages on demand for the fault tests: a TCP proxy that can be cut, and a server restarted in place.

The fault tests never stop the machine's own services. A PostgreSQL outage is the proxy in front of
the real one cut (every open connection reset, new ones refused, as when the server is down) and
restored on the same port; a Prometheus or Alertmanager outage is the test's own process killed and
started again with the same command line (same port, same storage folder).
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Callable

import httpx

from foresight.bench.prometheus_server import RunningServer, free_port

__all__ = ["TcpProxy", "restart", "stop", "wait_until"]


class TcpProxy:
    """Forwards 127.0.0.1:``port`` to ``upstream`` until :meth:`cut`; :meth:`restore` listens again."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = free_port()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Stop listening and reset every connection through the proxy."""
        with self._lock:
            if self._listener is not None:
                self._listener.close()
                self._listener = None
            for sock in self._sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # cut
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:  # cut meanwhile
                    client.close()
                    server.close()
                    return
                self._sockets |= {client, server}
            for src, dst in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def restart(server: RunningServer, *, down_s: float = 0.0) -> subprocess.Popen[bytes]:
    """Kill ``server`` (SIGKILL: no graceful hand-over), wait ``down_s``, start it again on the same port
    with the same storage, and wait until it is ready. The caller stops the new process."""
    server.process.kill()
    server.process.wait()
    time.sleep(down_s)
    with (server.workdir / "server.log").open("ab") as log:
        process = subprocess.Popen(server.process.args, stdout=log, stderr=subprocess.STDOUT, cwd=server.workdir)
    wait_until(lambda: _ready(server.url), 30.0, f"{server.url} did not come back")
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until(check: Callable[[], object], timeout_s: float, what: str) -> None:
    """Poll ``check`` until it is truthy; fail with ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s: {what}")
        time.sleep(0.1)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/-/ready", timeout=1.0).status_code == 200
    except httpx.TransportError:
        return False
