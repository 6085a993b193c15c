"""``foresight ingest``: remote write and/or a Prometheus poller into the partitioned NATS JetStream stream."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from fastapi import FastAPI

from foresight.adapters.jetstream import JetStreamBus, StreamNames, SyncPublisher
from foresight.adapters.prometheus import PrometheusSource
from foresight.adapters.remote_write import RemoteWriteReceiver, remote_write_router
from foresight.api.server import bind, run_in_thread
from foresight.cli.app import app
from foresight.config import ScaleoutSettings, load_settings
from foresight.errors import ConfigError
from foresight.runtime.sample_ingest import StreamIngest, StreamPoller
from foresight.units import parse_duration


@app.command("ingest")
def ingest(
    config: Annotated[Path | None, typer.Option(help="YAML settings file; its scaleout section.")] = None,
    nats_url: Annotated[str | None, typer.Option(help="NATS URL, overriding scaleout.nats_url.")] = None,
    remote_write_port: Annotated[int | None, typer.Option(help="Accept Prometheus remote write on this port "
                                                          "(path /api/v1/write; 429 while the stream is full).")] = None,
    listen: Annotated[str, typer.Option(help="Address the remote-write receiver binds.")] = "0.0.0.0",
    prometheus: Annotated[str | None, typer.Option(help="Prometheus base URL, polled for --query.")] = None,
    queries: Annotated[list[str] | None, typer.Option("--query", help="PromQL to poll (repeat).")] = None,
    period: Annotated[str, typer.Option(help="Time between two polls, e.g. 15s.")] = "15s",
    backfill: Annotated[str, typer.Option(help="History read at start-up, and the longest gap caught up.")] = "1h",
) -> None:
    """Publish samples to the stream that `foresight worker` processes score; runs until Ctrl-C."""
    if not queries and remote_write_port is None:
        raise ConfigError("nothing to ingest: give --remote-write-port, or --prometheus with --query")
    if queries and prometheus is None:
        raise ConfigError("--query needs --prometheus, the server to run it on")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings(config).scaleout
    if nats_url is not None:
        settings = settings.model_copy(update={"nats_url": nats_url})
    period_s = parse_duration(period)
    try:
        run_ingest(settings, remote_write=(listen, remote_write_port) if remote_write_port is not None else None,
                   prometheus=prometheus, queries=queries or [], period_s=period_s,
                   backfill_s=parse_duration(backfill), sleep=time.sleep)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def run_ingest(settings: ScaleoutSettings, *, remote_write: tuple[str, int] | None, prometheus: str | None,
               queries: Sequence[str], period_s: float, backfill_s: float,
               sleep: Callable[[float], None] = time.sleep) -> None:
    """Serve remote write and/or poll Prometheus into the stream until interrupted."""
    if settings.nats_url is None:
        raise ConfigError("foresight ingest needs scaleout.nats_url (FORESIGHT_SCALEOUT__NATS_URL)")
    url = settings.nats_url
    publisher = SyncPublisher(lambda: JetStreamBus.connect(
        url, StreamNames(settings.stream, settings.subject_prefix), settings.partitions,
        max_stream_bytes=settings.max_stream_bytes, retention_s=settings.retention_s,
        lease_ttl_s=settings.lease_ttl_s))
    stream = StreamIngest(publisher.publish, settings.partitions)
    server = None
    source = PrometheusSource(prometheus) if prometheus is not None else None
    try:
        if remote_write is not None:
            api = FastAPI()
            api.include_router(remote_write_router(RemoteWriteReceiver(stream.deliver)))
            server = uvicorn.Server(uvicorn.Config(api, log_level="warning"))
            run_in_thread(server, bind(*remote_write), "remote-write", 20.0)
        poller = StreamPoller(source, queries, stream, step_s=period_s, backfill_s=backfill_s) if source else None
        while True:
            if poller is not None:
                poller.poll(time.time())
            sleep(period_s)
    finally:
        if server is not None:
            server.should_exit = True
        if source is not None:
            source.close()
        publisher.close()
