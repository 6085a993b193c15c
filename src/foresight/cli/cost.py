"""``foresight bench cost``: GPU-hours, cold starts, SLO violations and $ of scale-to-zero and spot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from foresight.bench.cost import CostSettings, bench_cost
from foresight.cli.app import bench_app
from foresight.errors import InputError

#: the shared data folder beside the checkout
DATA_BESIDE_CHECKOUT = Path("..") / "shared" / "data"


def _default_data() -> Path:
    """``../shared/data`` from the current directory, else beside the checkout this module lives in."""
    for base in (Path.cwd(), *Path(__file__).resolve().parents):
        candidate = (base / DATA_BESIDE_CHECKOUT).resolve()
        if (candidate / "gpu-traces").is_dir():
            return candidate
    raise InputError(f"no --data given and {DATA_BESIDE_CHECKOUT}/gpu-traces was found neither from {Path.cwd()} "
                     "nor beside the checkout; pass --data DIR (the folder holding gpu-traces/ and traces/)")


@bench_app.command("cost")
def bench_cost_command(
    data: Annotated[Path | None, typer.Option(
        "--data", help=f"Folder with gpu-traces/ and traces/. Default: {DATA_BESIDE_CHECKOUT}.")] = None,
    on_demand_usd: Annotated[float, typer.Option(
        "--on-demand-usd", min=0.0, help="On-demand price, $ per GPU-hour.")] = 1.0,
    spot_usd: Annotated[float, typer.Option("--spot-usd", min=0.0, help="Spot price, $ per GPU-hour.")] = 0.3,
    genai_workloads: Annotated[int, typer.Option(
        "--genai-workloads", min=1, max=46, help="GenAI containers per split (declared, held out).")] = 8,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Scale-to-zero with cold starts and spot vs always-warm minReplicas 1, Knative defaults and all-on-demand.

    Cold starts are drawn from the GenAI trace's base-model + LoRA load latencies; each group's models
    are also run as LoRA adapters on one shared base-model pool; the policy's one knob is chosen on
    the declared groups; the top-level figures are the held-out ones.
    """
    settings = CostSettings(on_demand_usd_per_gpu_h=on_demand_usd, spot_usd_per_gpu_h=spot_usd,
                            genai_per_split=genai_workloads)
    console = Console(stderr=True)
    figures = bench_cost(data if data is not None else _default_data(), settings,
                         progress=None if as_json else lambda message: console.print(f"[dim]{message}[/dim]"))
    if as_json:
        typer.echo(json.dumps(figures))
        return
    table = Table(title="bench cost (held-out workloads unless marked declared)",
                  caption=f"keep_probability {figures['chosen']['keep_probability']} chosen on the declared "
                          f"workloads; cold start median {figures['load_time_s']['median_total']:.0f} s; "
                          f"{figures['spot_note']}")
    for column in ("part", "policy", "GPU-h", "cold-start req", "adapter-load req", "SLO viol.", "$"):
        table.add_column(column, justify="left" if column in ("part", "policy") else "right")

    def rows(label: str, groups: dict[str, Any]) -> None:
        for name, group in groups.items():
            for policy in ("always-warm", "knative", "foresight", "always-warm-shared", "foresight-shared",
                           "foresight-shared+spot"):
                f = group["policies"][policy]
                table.add_row(f"{label} {name}", policy, f"{f['gpu_hours']:.1f}",
                              f"{100 * f['cold_start_request_share']:.2f}%",
                              f"{100 * f['adapter_load_request_share']:.2f}%",
                              f"{100 * f['slo_violation_share']:.2f}%", f"{f['usd']:.2f}")

    rows("held out", figures["held_out"])
    rows("declared", figures["declared"])
    Console(width=160).print(table)
    for key in ("gpu_hours_reduction_vs_warm", "cold_start_request_share", "adapter_load_request_share",
                "gpu_hours_reduction_vs_warm_shared_pool", "dedicated_gpu_hours_reduction_vs_warm",
                "dedicated_cold_start_request_share", "knative_cold_start_share_at_equal_gpu_hours",
                "spot_cost_reduction", "slo_violation_pp_vs_on_demand"):
        typer.echo(f"{key}: {figures[key]:.4f}")
