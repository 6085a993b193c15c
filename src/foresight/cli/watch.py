"""``foresight watch``: live anomaly detection, Prometheus in, Alertmanager out, until Ctrl-C."""

from __future__ import annotations

import logging
import threading
import time
from typing import Annotated

import typer
import uvicorn
from fastapi import FastAPI

from foresight.adapters.alertmanager import AlertmanagerClient
from foresight.adapters.prometheus import PrometheusSource
from foresight.adapters.remote_write import RemoteWriteReceiver, remote_write_router
from foresight.cli.app import app
from foresight.clock import SystemClock
from foresight.detect import BEST, DETECTORS, make_detector
from foresight.detect.alerts import AlertRule
from foresight.detect.live import LiveConfig, LiveDetector
from foresight.errors import ConfigError
from foresight.units import parse_duration

#: The EWMA detectors' scores saturate fast (a sigmoid of a z-score): alert only far out.
THRESHOLDS = {"ewma": 0.995, "ewma-two-sided": 0.995}


@app.command("watch")
def watch(
    alertmanager: Annotated[
        str, typer.Option("--alertmanager", help="Alertmanager base URL, e.g. http://alertmanager:9093.")
    ],
    prometheus: Annotated[
        str | None, typer.Option("--prometheus", help="Prometheus base URL, polled for --query.")
    ] = None,
    queries: Annotated[
        list[str] | None, typer.Option("--query", help="PromQL to watch, each result series scored (repeat).")
    ] = None,
    detector: Annotated[str, typer.Option("--detector", help=f"One of: {', '.join(DETECTORS)}.")] = BEST,
    period: Annotated[str, typer.Option("--period", help="Time between two reads, e.g. 15s, 1m.")] = "15s",
    step: Annotated[
        str | None,
        typer.Option("--step", help="Range-query resolution (default: --period); not below the scrape interval."),
    ] = None,
    backfill: Annotated[str, typer.Option("--backfill", help="History read at start-up to learn baselines.")] = "1h",
    threshold: Annotated[
        float | None,
        typer.Option("--threshold", help="Score that opens an alert (default: 0.8; 0.995 for ewma).", min=0.0, max=1.0),
    ] = None,
    remote_write_port: Annotated[
        int | None,
        typer.Option(
            "--remote-write-port", help="Also accept Prometheus remote write on this port (path /api/v1/write)."
        ),
    ] = None,
    listen: Annotated[str, typer.Option("--listen", help="Address the remote-write receiver binds.")] = "0.0.0.0",
    duration: Annotated[
        str | None, typer.Option("--duration", help="Stop after this long (default: run until Ctrl-C).")
    ] = None,
) -> None:
    """Score live series every period and send anomalies to Alertmanager; resolve them when normal.

    Alerts are named ForesightAnomaly, carry the series' labels, the query and a severity, and say
    the score, the value and its expected range. While Alertmanager is down they wait in a queue.
    """
    queries = queries or []
    if queries and prometheus is None:
        raise ConfigError("--query needs --prometheus, the server to run it on")
    if not queries and remote_write_port is None:
        raise ConfigError("nothing to watch: give --prometheus with --query, or --remote-write-port")
    period_s = parse_duration(period)
    fire = threshold if threshold is not None else THRESHOLDS.get(detector, AlertRule().fire_threshold)
    rule = AlertRule(
        fire_threshold=fire,
        resolve_threshold=min(AlertRule().resolve_threshold, fire),
        critical_threshold=max(AlertRule().critical_threshold, (1.0 + fire) / 2),
        resend_interval_s=max(AlertRule().resend_interval_s, period_s),
    )
    config = LiveConfig(
        queries=tuple(queries),
        period_s=period_s,
        step_s=parse_duration(step) if step is not None else None,
        backfill_s=parse_duration(backfill),
        prometheus_url=prometheus,
        rule=rule,
    )
    chosen = make_detector(detector)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    clock = SystemClock()
    source = PrometheusSource(prometheus) if prometheus is not None else None
    with AlertmanagerClient(alertmanager, clock) as sink:
        for query in queries:  # bad PromQL or an unreachable Prometheus stop here, not every period
            assert source is not None
            source.query(query, clock.now())
        live = LiveDetector(chosen, sink, clock, config, source=source)
        server = _serve_remote_write(live, listen, remote_write_port) if remote_write_port is not None else None
        typer.echo(
            f"watching {len(queries)} quer{'y' if len(queries) == 1 else 'ies'}"
            + (f" and remote write on {listen}:{remote_write_port}" if server else "")
            + f" with {detector} every {period_s:g} s; alerts to {alertmanager} (Ctrl-C stops)"
        )
        until = clock.now() + parse_duration(duration) if duration is not None else float("inf")
        periods: int | None = None  # None: interrupted
        try:
            periods = live.run(until)
        except KeyboardInterrupt:
            pass
        finally:
            if server is not None:
                server.should_exit = True
            if source is not None:
                source.close()
            sink.flush()
        firing = int(live.state.alerts.firing.sum())
        typer.echo(
            f"stopped{' (interrupted)' if periods is None else f' after {periods} periods'}: "
            f"{len(live.state.keys)} series, {firing} alert(s) firing, "
            f"{sink.delivered} delivered, {sink.pending} undelivered"
        )
    if periods is None:
        raise typer.Exit(130)


def _serve_remote_write(live: LiveDetector, host: str, port: int) -> uvicorn.Server:
    """Serve the remote-write receiver in a background thread; its samples go to ``live.push``."""
    api = FastAPI()
    api.include_router(remote_write_router(RemoteWriteReceiver(live.push)))
    server = uvicorn.Server(uvicorn.Config(api, host=host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="remote-write", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10.0
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise ConfigError(f"the remote-write receiver cannot listen on {host}:{port} (is the port taken?)")
        time.sleep(0.02)
    return server
