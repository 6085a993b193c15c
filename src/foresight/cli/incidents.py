"""``foresight bench incidents``: alert correlation against real Alertmanager on simulated cascades."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from foresight.bench.incidents import SYSTEMS, IncidentBenchOptions, bench_incidents
from foresight.cli.app import bench_app
from foresight.cli.progress import progress_bar
from foresight.sim.cascades import CascadeSettings

_TITLES = {"default": "Alertmanager: kube-prometheus-stack", "tuned": "Alertmanager: hand-tuned",
           "foresight": "Foresight incidents (notified once)",
           "foresight_with_resolutions": "Foresight incidents, resolutions sent"}


@bench_app.command("incidents")
def incidents(
    count: Annotated[int, typer.Option("--incidents", help="Simulated faults (noise alerts add their own incidents).",
                                       min=1)] = 500,
    seed: Annotated[int, typer.Option(help="Seed of the topologies, faults and noise.", min=0)] = 0,
    time_scale: Annotated[float, typer.Option(
        "--time-scale", help="Simulated seconds per real second, for the alerts and every Alertmanager timer.",
        min=1.0)] = 200.0,
    mean_gap: Annotated[float, typer.Option(
        "--mean-gap", help="Mean simulated seconds between two faults' onsets, across all applications (denser: "
        "more overlapping incidents).", min=1.0)] = CascadeSettings().mean_gap_s,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as one JSON document.")] = False,
) -> None:
    """Foresight's incidents against two real Alertmanagers (kube-prometheus-stack's default and a hand-tuned
    one) fed the same simulated alert storm: notifications, incident recall, grouping F1, first-notification
    delay and root-cause top-1/top-3 (needs the prometheus-alertmanager binary)."""
    options = IncidentBenchOptions(CascadeSettings(incidents=count, seed=seed, mean_gap_s=mean_gap), time_scale=time_scale)
    with tempfile.TemporaryDirectory(prefix="foresight-bench-incidents-") as workdir, \
            progress_bar(f"bench incidents ({count} faults, x{time_scale:g})") as progress:
        figures = bench_incidents(options, Path(workdir), progress)
    if as_json:
        typer.echo(json.dumps(figures))
        return
    _print(figures)


def _print(figures: dict[str, Any]) -> None:
    systems = figures["systems"]
    table = Table(title=f"{figures['faults']} simulated faults + {figures['noise_incidents']} noise alerts = "
                        f"{figures['incidents']} incidents, {figures['alerts']} alerts, "
                        f"{figures['simulated_hours']} h (a fault every {figures['mean_gap_s']:g} s) replayed "
                        f"x{figures['time_scale']:g}")
    table.add_column("system", no_wrap=True)
    for column in ("notifications", "per incident", "incident recall", "grouping P / R / F1",
                   "first notification (median s)"):
        table.add_column(column, justify="right")
    for name in SYSTEMS:
        s = systems[name]
        table.add_row(_TITLES[name], f"{s['notifications']} ({s['firing_notifications']} firing)",
                      f"{s['notifications_per_incident']:.2f}", f"{s['incident_recall']:.3f}",
                      f"{s['grouping_precision']:.3f} / {s['grouping_recall']:.3f} / {s['grouping_f1']:.3f}",
                      _seconds(s["first_notification_median_s"], signed=False))
    rca = figures["rca_by_kind"]
    table.caption = (
        f"Foresight: {_share(figures['notification_reduction_vs_default'])} fewer notifications than the default, "
        f"{_share(figures['notification_reduction_vs_tuned'])} fewer than the hand-tuned (sending resolutions: "
        f"{_share(figures['notification_reduction_with_resolutions_vs_default'])} / "
        f"{_share(figures['notification_reduction_with_resolutions_vs_tuned'])}; firing ones only: "
        f"{_share(figures['firing_notification_reduction_vs_default'])} / "
        f"{_share(figures['firing_notification_reduction_vs_tuned'])}); incident recall "
        f"{figures['incident_recall']:.3f} ({figures['incident_recall_counting_later_joins']:.3f} counting faults "
        f"that joined an incident after its notification); first notification "
        f"{_seconds(figures['first_notification_delay_vs_default_s'])} s vs the default (median); root cause top-1 "
        f"{figures['rca_top1']:.3f}, top-3 {figures['rca_top3']:.3f} ("
        + ", ".join(f"{k} {v['top1']:.2f}/{v['top3']:.2f}" for k, v in rca.items() if k != "all")
        + f"); wall {figures['wall_s']} s, replay lag p99 {figures['replay_lag_p99_s']:.1f} s"
    )
    Console(width=140).print(table)


def _share(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _seconds(value: float | None, signed: bool = True) -> str:
    return "–" if value is None else f"{value:+.1f}" if signed else f"{value:.1f}"
