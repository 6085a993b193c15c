"""``foresight operator run``: the kopf operator, gated by a Kubernetes Lease.

Every replica answers ``/healthz`` from the start (a standby replica is healthy); only the one that
holds the Lease runs kopf. The leader renews every ``retry_period_s``; if it cannot renew within
the renew deadline (shorter than the lease, so no other replica can have taken over yet) it stops
kopf and exits with status 1, and Kubernetes restarts it as a standby, as client-go's leader
election does. On SIGTERM it stops kopf (the handler in progress finishes) and releases the Lease,
so the next replica takes over at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import kopf

from foresight.adapters.kubernetes import (
    KubernetesLease,
    KubernetesObjects,
    LeaderElector,
)
from foresight.autoscale.manifests import DEFAULT_SCALER_ADDRESS
from foresight.clock import Clock, SystemClock
from foresight.errors import ConfigError, ServiceUnavailable
from foresight.operator.handlers import (
    GitOps,
    HandlerContext,
    operator_settings,
    registry,
)

__all__ = ["LostLease", "OperatorOptions", "run_operator", "serve_health"]

log = logging.getLogger("foresight.operator")


class LostLease(ServiceUnavailable):
    """This replica could not renew the Lease in time; it stopped acting and must restart as a standby."""


@dataclass(frozen=True)
class OperatorOptions:
    """How one operator replica runs (the CLI's options)."""

    lease_namespace: str
    lease_name: str = "foresight-leader"
    identity: str = ""
    lease_duration_s: float = 15.0
    renew_deadline_s: float = 10.0
    retry_period_s: float = 2.0
    health_port: int | None = 8081
    gitops: GitOps | None = None
    scaler_address: str = DEFAULT_SCALER_ADDRESS

    @property
    def who(self) -> str:
        """This replica's identity in the Lease: the option, else $POD_NAME, else the host name."""
        return self.identity or os.environ.get("POD_NAME") or socket.gethostname()


async def serve_health(port: int) -> asyncio.AbstractServer:
    """A minimal HTTP server answering ``200 ok`` on ``/healthz`` (and 404 elsewhere), leader or not."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), 5.0)
            path = request.split(b" ")[1] if request.count(b" ") >= 2 else b""
            status, body = (b"200 OK", b"ok\n") if path == b"/healthz" else (b"404 Not Found", b"not found\n")
            writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Type: text/plain\r\nContent-Length: "
                         + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(answer, "0.0.0.0", port)


async def run_operator(
    options: OperatorOptions,
    client: Any,
    login: Callable[..., Any] = kopf.login_via_client,
    stop: threading.Event | None = None,
    clock: Clock | None = None,
) -> None:
    """Wait for the Lease, run kopf while holding it, release it on stop (see the module docstring)."""
    clock = clock or SystemClock()
    if options.renew_deadline_s <= options.retry_period_s:
        raise ConfigError(f"renew deadline {options.renew_deadline_s}s must exceed the retry period {options.retry_period_s}s")
    elector = LeaderElector(KubernetesLease(client, options.lease_namespace, options.lease_name), options.who,
                            options.lease_duration_s, options.renew_deadline_s, clock)
    runtime = HandlerContext(KubernetesObjects(client), options.gitops, options.scaler_address, clock)
    reg = registry(runtime)
    kopf.on.login(registry=reg)(login)
    health = await serve_health(options.health_port) if options.health_port is not None else None

    def stopping() -> bool:
        return stop is not None and stop.is_set()

    async def step() -> bool:
        try:
            return await asyncio.to_thread(elector.step)
        except ServiceUnavailable as exc:
            log.warning(f"cannot reach the Lease: {exc}")
            return elector.is_leader()

    try:
        while not stopping() and not await step():
            log.info(f"standby: {elector.last.reason if elector.last else 'no Lease read yet'}")
            await asyncio.sleep(options.retry_period_s)
        if stopping():
            return
        log.info(f"leading as {options.who}: {elector.last.reason if elector.last else ''}")
        kopf_stop: asyncio.Event = asyncio.Event()
        task = asyncio.create_task(kopf.operator(registry=reg, settings=operator_settings(), clusterwide=True,
                                                 standalone=True, stop_flag=kopf_stop))
        try:
            while not task.done() and not stopping():
                await asyncio.sleep(options.retry_period_s)
                if not await step() and not elector.is_leader():
                    raise LostLease(f"{options.who} lost the Lease {options.lease_namespace}/{options.lease_name}: "
                                    f"{elector.last.reason if elector.last else 'renewal failed'}")
        finally:
            kopf_stop.set()
            await task
    finally:
        if health is not None:
            health.close()
        try:
            await asyncio.to_thread(elector.release)
        except ServiceUnavailable as exc:
            log.warning(f"could not release the Lease: {exc}")
