"""``foresight serve``: the controllers, the API, ``/metrics`` and the dashboard in one process."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from foresight.cli.app import app
from foresight.config import load_settings


@app.command()
def serve(
    config: Annotated[Path | None, typer.Option(help="YAML settings file (FORESIGHT_* variables override it).")] = None,
    simulate: Annotated[bool, typer.Option("--simulate", help="Run the controllers against the embedded simulator.")] = False,
    port: Annotated[int | None, typer.Option(help="HTTP port (default: api.port, 8080).", min=0, max=65535)] = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on (default: api.host, 127.0.0.1).")] = None,
    speed: Annotated[float | None, typer.Option(help="--simulate: simulated seconds per wall second (default 60).", min=0.001)] = None,
) -> None:
    """Serve Foresight: health probes, /metrics, the read APIs, the dashboard at /, and the controllers.

    It listens first (a taken port fails at once), prints its URL, then builds the controllers; with
    --simulate the simulator's warm-up runs behind the API (/readyz: 503 "warming up" until done).
    Ctrl-C (or SIGTERM) finishes the reconcile in progress and flushes the audit log before exiting.
    """
    from foresight.api.server import bind, serve_on, url_of
    from foresight.serve.logs import configure_logging
    from foresight.serve.service import build_service

    overrides: dict[str, Any] = {}
    api = {k: v for k, v in (("port", port), ("host", host)) if v is not None}
    if api:
        overrides["api"] = api
    if speed is not None:
        overrides["simulate"] = {"speed": speed}
    settings = load_settings(config, **overrides)
    configure_logging(settings.log_format, settings.log_level)
    sock = bind(settings.api.host, settings.api.port)
    try:
        warming = f"; warming up {settings.simulate.warmup_s:g} simulated s first" if simulate else ""
        typer.echo(f"Foresight on {url_of(sock)}/ (dashboard; /docs for the API{warming}); Ctrl-C stops it")
        service = build_service(settings, simulate=simulate, defer_warmup=True)
    except BaseException:
        sock.close()
        raise
    serve_on(service, sock)
