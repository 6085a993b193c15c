"""``foresight bench sim``: the simulator's own speed (other benchmarks register beside it)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from foresight.bench.sim import bench_sim
from foresight.cli.app import bench_app


@bench_app.command("sim")
def sim(
    days: Annotated[float, typer.Option(help="Simulated days.")] = 7.0,
    services: Annotated[int, typer.Option(help="Services in the simulated platform.")] = 50,
    step_s: Annotated[float, typer.Option("--step", help="Step in seconds.")] = 15.0,
    seed: Annotated[int, typer.Option(help="Seed.", min=0)] = 0,
    json_out: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Simulator throughput: simulated service-steps per second, against the 7 d x 50 services < 10 s target."""
    figures = bench_sim(days=days, services=services, step_s=step_s, seed=seed)
    if json_out:
        typer.echo(json.dumps(figures))
        return
    table = Table(title="simulator throughput (one core, replicas fixed, faults on)")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in figures.items():
        table.add_row(key, f"{value:,}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value))
    ratio = figures["service_steps_per_s"] / figures["target_service_steps_per_s"]  # type: ignore[operator]
    table.caption = f"{ratio:.2f}x the target rate"
    Console().print(table)


@bench_app.command("api")
def api(
    clients: Annotated[int, typer.Option(help="Keep-alive connections, one client each.", min=1)] = 20,
    rate: Annotated[float, typer.Option(help="Requests per second per client (0: back to back).", min=0)] = 10.0,
    duration: Annotated[float, typer.Option(help="Seconds of measurement (3,000 requests at the defaults).", min=0.1)] = 15.0,
    services: Annotated[int, typer.Option(help="Services in the simulated platform.", min=4)] = 8,
    load_warmup: Annotated[float, typer.Option(help="Seconds of the same load before the measured run; the "
                                               "server's RSS is read after it and at the end.", min=0)] = 3.0,
    json_out: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """API latency on reused connections: p50/p95/p99 per route, requests/s and RSS growth of `serve --simulate` in-process."""
    from foresight.bench.api import bench_api

    figures = bench_api(clients=clients, rate_per_client=rate, duration_s=duration, services=services,
                        load_warmup_s=load_warmup)
    if json_out:
        typer.echo(json.dumps(figures))
        return
    table = Table(title=f"foresight serve --simulate: {clients} keep-alive clients x {rate:g} req/s")
    for column in ("route", "requests", "p50 ms", "p95 ms", "p99 ms"):
        table.add_column(column, justify="left" if column == "route" else "right")
    for route, f in figures["routes"].items():  # type: ignore[attr-defined]
        table.add_row(route, str(f["requests"]), *(f"{f[k]:.2f}" if k in f else "–" for k in ("p50_ms", "p95_ms", "p99_ms")))
    table.caption = (f"{figures['requests']} requests, {figures['requests_per_s']}/s over {figures['duration_s']} s; "
                     f"p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms; RSS {figures['rss_after_warmup_mib']} MiB "
                     f"after warm-up, {figures['rss_at_end_mib']} MiB at the end ({figures['rss_growth_pct']}%, "
                     f"target <= {figures['rss_growth_target_pct']}%)") + (
        f"; errors: {figures['errors']}" if figures["errors"] else "")
    Console().print(table)


@bench_app.command("parity")
def parity(
    hours: Annotated[float, typer.Option(help="Simulated hours (the forecaster needs 2 h of history to act).",
                                         min=0.1)] = 3.0,
    services: Annotated[int, typer.Option(help="Services of the default simulated cluster.", min=4)] = 6,
    seed: Annotated[int, typer.Option(help="Seed of the cluster, its traffic and the release.", min=0)] = 0,
    trace: Annotated[str | None, typer.Option(help="Replay this CSV trace (time, value) instead of the "
                                                   "built-in traffic.")] = None,
    canary: Annotated[str, typer.Option(help="The release: good (as the stable) or bad (4x the errors).")] = "good",
    canary_at: Annotated[float, typer.Option(help="Minutes into the run the release starts.", min=0.25)] = 60.0,
    json_out: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """In-process vs live on one trace: the predictive policy and a canary through the simulator's ports, and
    through `foresight serve` on a real Prometheus and an emulated Kubernetes API (needs prometheus and kmock)."""
    from pathlib import Path

    from foresight.bench.parity import ParityOptions, run_parity
    from foresight.errors import InputError

    if canary not in ("good", "bad"):
        raise InputError(f"--canary must be good or bad, not {canary!r}")
    opts = ParityOptions(duration_s=hours * 3600.0, services=services, seed=seed,
                         trace=Path(trace) if trace else None, canary=canary,  # type: ignore[arg-type]
                         canary_at_s=canary_at * 60.0)
    figures = run_parity(opts).to_json()
    if json_out:
        typer.echo(json.dumps(figures))
        return
    table = Table(title=f"parity: {figures['simulated_hours']} simulated hours, {len(figures['services'])} services, "
                        f"one {canary} canary")
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = {
        "steps compared": figures["steps"],
        "identical fraction (every service's replicas)": figures["identical_fraction"],
        "identical decisions": f"{figures['identical_decisions']}/{figures['decisions']}",
        "canary weight changes, in-process / live": f"{figures['canary_weight_changes_inprocess']} / "
                                                    f"{figures['canary_weight_changes_live']}",
        "canary verdict, in-process / live": " / ".join(figures["canary"]["verdict"].values()),
        "samples remote-written": f"{figures['samples_remote_written']:,}",
        "wall s: setup / in-process / live": " / ".join(f"{v:g}" for v in figures["timings_s"].values()),
    }
    for key, value in rows.items():
        table.add_row(key, str(value))
    table.caption = "; ".join(f"{n} {cause}" for cause, n in figures["differences_by_cause"].items()) or \
        "no difference to explain"
    Console().print(table)
