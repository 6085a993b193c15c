"""``foresight demo``: the controllers against the embedded cluster simulator."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from foresight.cli.app import app
from foresight.cli.params import DATABASE_URL_HELP, database_url, make_folder, positive
from foresight.demo.live import LiveView, render
from foresight.demo.runner import POLICIES, DemoOptions, DemoResult, run_demo
from foresight.errors import ConfigError, InputError
from foresight.units import parse_duration


def _summary_table(result: DemoResult) -> Table:
    s = result.summary
    table = Table(title="demo summary" + (" (interrupted)" if result.interrupted else ""))
    columns = ("service", "scaled by", "SLO-violation min", "replica-min", "scaling actions", "peak load req/s",
               "failed %")
    for col in columns:
        table.add_column(col, justify="left" if col in ("service", "scaled by") else "right")
    for row in s.services:
        table.add_row(row.service, result.controllers.get(row.service, "-"), f"{row.slo_violation_minutes:,.1f}",
                      f"{row.replica_minutes:,.0f}",
                      str(row.scaling_actions), f"{row.peak_offered_rps:,.1f}", f"{100 * row.dropped_fraction:.3f}")
    table.add_row("[bold]total", "", f"[bold]{s.slo_violation_minutes:,.1f}", f"[bold]{s.replica_minutes:,.0f}",
                  f"[bold]{s.scaling_actions}", "", "")
    return table


def _forecasts_table(result: DemoResult) -> Table:
    table = Table(title="predictive services: forecast peak vs the load that came")
    for col in ("service", "decisions with a forecast", "forecast >= actual", "median |error|"):
        table.add_column(col, justify="left" if col == "service" else "right")
    for f in result.forecasts:
        coverage, error = f.coverage, f.median_error
        table.add_row(f.service, str(f.times.size), "-" if coverage is None else f"{100 * coverage:.1f}%",
                      "-" if error is None else f"{100 * error:.1f}%")
    return table


def _faults_table(result: DemoResult) -> Table:
    table = Table(title="injected faults and their detection")
    for col in ("time h", "fault", "detected after", "first alert on"):
        table.add_column(col)
    for f in result.faults:
        table.add_row(f"{f.time_s / 3600:.2f}", f.fault, "-" if f.alert is None else f"{f.delay_s / 60:.1f} min",
                      "-" if f.alert is None else f"{f.alert.service} ({f.alert.signal.removeprefix('foresight_')})")
    return table


def _incidents_table(result: DemoResult) -> Table:
    table = Table(title=f"injected fault -> incident -> named root cause ({len(result.incidents)} incident(s) "
                        f"from {result.alerts} alert(s))")
    for col in ("time h", "fault (where)", "incident (opened after)", "root cause", "named", "alerts/suppressed"):
        table.add_column(col)
    for f in result.fault_incidents:
        opened = "none" if f.incident is None else f"{f.incident} ({f.opened_after_s / 60:.1f} min)"  # type: ignore[operator]
        table.add_row(f"{f.time_s / 3600:.2f}", f"{f.fault} ({f.place})", opened, f.root_cause or "-",
                      "yes" if f.named else f"rank {f.rank}" if f.rank else "no", f"{f.alerts}/{f.suppressed}")
    return table


@app.command()
def demo(
    duration: Annotated[str, typer.Option(help="Simulated time to run, e.g. 6h, 1d, 1w.")] = "1d",
    services: Annotated[int, typer.Option(help="Number of services in the simulated platform (>= 4).")] = 8,
    seed: Annotated[int, typer.Option(help="Seed of the simulation (same seed, same run).", min=0)] = 0,
    trace: Annotated[Path | None, typer.Option(
        help="CSV trace (timestamp,value) replayed as external load.", dir_okay=False)] = None,
    trace_peak: Annotated[float | None, typer.Option(
        help="--trace: peak req/s the trace is scaled to (default: the built-in traffic's peak).",
        callback=positive)] = None,
    out: Annotated[Path, typer.Option(
        help="Folder for the report and the SQLite audit log (created if missing).", file_okay=False,
    )] = Path("foresight-out/demo"),
    audit_url: Annotated[str | None, typer.Option(
        help=f"Audit store (default: audit.db in --out). {DATABASE_URL_HELP}", callback=database_url)] = None,
    live: Annotated[bool, typer.Option("--live/--no-live", help="Live terminal view (--no-live: plain output).")] = True,
    json_out: Annotated[bool, typer.Option("--json", help="Print a machine-readable summary on stdout.")] = False,
    policy: Annotated[str, typer.Option(
        help="Who scales: hpa, predictive, or split (every second service predictive, beside the HPA).")] = "split",
    speed: Annotated[float, typer.Option(
        help="Live view only: simulated seconds per wall second (0: as fast as possible).", min=0)] = 4000.0,
    web: Annotated[bool, typer.Option(
        "--web", help="Serve the live dashboard on the simulator at http://127.0.0.1:PORT/ until Ctrl-C "
        "(7 simulated days at 600x; --trace, --policy and --speed do not apply).")] = False,
    port: Annotated[int, typer.Option(help="--web: HTTP port of the dashboard.", min=0, max=65535)] = 8080,
) -> None:
    """Run Foresight's controllers on a simulated cluster; print a summary and write an HTML report."""
    if services < 4:
        raise ConfigError(f"--services must be at least 4, got {services}")
    if trace_peak is not None and trace is None:
        raise InputError("--trace-peak scales a trace: give --trace FILE.csv too, or leave --trace-peak out")
    make_folder("--out", out)
    if web:
        from foresight.api.server import (
            run_dashboard_for_demo,  # the API stack loads only when asked for
        )

        run_dashboard_for_demo(services=services, seed=seed, port=port, out_dir=out)
        return
    if policy not in POLICIES:
        raise ConfigError(f"--policy must be one of {', '.join(POLICIES)}, got {policy!r}")
    opts = DemoOptions(duration_s=parse_duration(duration), services=services, seed=seed, trace=trace,
                       trace_peak_rps=trace_peak, out_dir=out, audit_url=audit_url, policy=policy)  # type: ignore[arg-type]
    console = Console(stderr=json_out)
    started = time.perf_counter()
    if live and not json_out and console.is_terminal:
        with LiveView(console) as view:
            def show(sim, anomalies, recent):  # type: ignore[no-untyped-def]
                if speed > 0:  # pace the run so a person can watch it
                    time.sleep(max(0.0, started + (sim.now - sim.start) / speed - time.perf_counter()))
                latest = {k: v[-1] for k, v in sim.history.items()} if sim.history["foresight_offered_rps"].size else None
                if latest is not None:
                    slo = {s.name: s.slo_latency_p95_s for s in sim.spec.services}
                    scores = anomalies.scores
                    view.show(render(sim.now - sim.start, opts.duration_s, sim.service_names, latest, slo, recent,
                                     scores[-1] if len(scores) else None, anomalies.ongoing()))
            result = run_demo(opts, progress=show)
    else:
        if not json_out:
            console.print(f"simulating {opts.duration_s / 3600:.1f} h of {services} services (seed {seed}) ...")
        result = run_demo(opts)
    elapsed = time.perf_counter() - started
    if json_out:
        sys.stdout.write(json.dumps(result.to_json(), indent=2) + "\n")
    else:
        console.print(_summary_table(result))
        if result.forecasts:
            console.print(_forecasts_table(result))
        console.print(_faults_table(result))
        console.print(_incidents_table(result))
        loop = result.model_loop.to_json()
        console.print(f"model {loop['model']}: {result.model_loop.drift_words()}; {loop['retrains']} retrain(s); "
                      f"outcome: {loop['outcome']}")
        console.print(f"simulated {result.simulated_s / 3600:.1f} h in {elapsed:.1f} s; "
                      f"{result.alerts} anomaly alert(s)")
        console.print(f"report: {result.report}")
        console.print(f"audit log: {result.audit}")
    if result.interrupted:
        raise typer.Exit(130)
