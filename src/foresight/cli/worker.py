"""``foresight worker``: one scale-out worker process (partitions of the NATS JetStream sample stream)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from foresight.cli.app import app
from foresight.config import load_settings


@app.command("worker")
def worker(
    config: Annotated[Path | None, typer.Option(help="YAML settings file; its scaleout section (FORESIGHT_* "
                                                "variables override it).")] = None,
    worker_id: Annotated[str | None, typer.Option("--id", help="This worker's name (default: host-pid); "
                                                  "unique among the live workers.")] = None,
    nats_url: Annotated[str | None, typer.Option(help="NATS URL, overriding scaleout.nats_url.")] = None,
    join_grace: Annotated[float | None, typer.Option(help="Seconds to wait for workers started alongside "
                                                     "before claiming partitions (default: half the lease TTL).",
                                                     min=0)] = None,
    alertmanager: Annotated[str | None, typer.Option(help="Also forward the workers' alerts to this Alertmanager "
                                                     "(e.g. http://alertmanager:9093).")] = None,
) -> None:
    """Score the partitions this worker wins (leases in JetStream KV), publish scores and alerts; runs until SIGTERM."""
    from foresight.runtime.worker import run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings(config)
    scaleout = settings.scaleout if nats_url is None else settings.scaleout.model_copy(update={"nats_url": nats_url})
    run_worker(scaleout, worker_id, join_grace_s=join_grace, alertmanager=alertmanager)
