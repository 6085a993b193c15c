"""``foresight bench heal``: failure prediction and proactive remediation against reactive Kubernetes;
``foresight heal-demo``: a leak predicted and its pod replaced before the OOMKill."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from foresight.bench.heal import bench_heal, check_nezha, check_petshop
from foresight.cli.app import app, bench_app
from foresight.errors import InputError

#: the public RCA data beside the checkout (``../shared/data/rca``)
RCA_BESIDE_CHECKOUT = Path("..") / "shared" / "data" / "rca"


def _fmt(value: Any) -> str:
    return "–" if value is None else f"{value:.2f}" if isinstance(value, float) else str(value)


@bench_app.command("heal")
def bench_heal_command(
    seeds: Annotated[int, typer.Option("--seeds", min=2, max=100,
                                       help="Seeds 0..N-1; the last 30% are held out (0-6 were used for tuning).")] = 10,
    failures: Annotated[int, typer.Option("--failures", min=1, max=1000,
                                          help="Failure episodes per seed, and as many look-alikes.")] = 40,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Predict OOMKills, CPU saturation, crash loops, node pressure and GPU failures; act before they happen.

    Reactive Kubernetes (the failure happens, then a restart or an eviction after the default
    timeouts) against the static 90% threshold, linear and Holt extrapolation and Foresight's guarded
    robust trend, each driving the same proactive action (replacement Ready first, one at a time).
    The top-level figures are Foresight's on the held-out seeds.
    """
    figures = bench_heal(seeds=seeds, failures=failures)
    if as_json:
        typer.echo(json.dumps(figures))
        return
    table = Table(title=f"bench heal: held-out seeds {figures['held_out_seeds']}, "
                        f"{failures} failures + {failures} look-alikes per seed, act within "
                        f"{figures['horizon_s'] / 60:.0f} min",
                  caption=f"winner: {figures['winner']} ({figures['winner_by']}); "
                          f"tuned on seeds {figures['tuned_on_seeds']}"
                          + ("" if figures["held_out_clean"] else " (WARNING: held-out seeds overlap them)"))
    columns = {"precision": "precision", "recall": "recall", "lead_time_median_s": "lead p50 s",
               "lead_time_p10_s": "lead p10 s", "false_alarms_per_100_pod_hours": "false/100 pod-h",
               "slo_violation_reduction": "SLO-min cut", "oomkill_reduction": "OOMKill cut",
               "unnecessary_actions_per_100_pod_hours": "unneeded/100 pod-h", "pdb_violations": "PDB viol."}
    table.add_column("predictor")
    for title in columns.values():
        table.add_column(title, justify="right")
    for name, parts in figures["by_predictor"].items():
        table.add_row(name, *(_fmt(parts["held_out"][k]) for k in columns))
    held = figures
    table.add_row("reactive k8s", "–", "–", "–", "–", "–",
                  f"{held['reactive_slo_violation_minutes']:.0f} min", f"{held['reactive_oomkills']} kills", "0", "–")
    Console(width=160).print(table)


def _default_rca() -> Path:
    """``../shared/data/rca`` beside the current directory, else beside the checkout this module lives in."""
    for base in (Path.cwd(), *Path(__file__).resolve().parents):
        candidate = (base / RCA_BESIDE_CHECKOUT).resolve()
        if candidate.is_dir():
            return candidate
    raise InputError(f"no --data given and {RCA_BESIDE_CHECKOUT} was found neither from {Path.cwd()} nor beside "
                     "the checkout; pass --data DIR (the folder holding nezha-onlineboutique/ and petshop/)")


@bench_app.command("heal-data")
def bench_heal_data_command(
    data: Annotated[Path | None, typer.Option(
        "--data", help=f"The folder holding nezha-onlineboutique/ and petshop/. Default: {RCA_BESIDE_CHECKOUT}.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """The failure predictors, untouched, on real faults: Nezha OnlineBoutique's resource faults and PetShop.

    For each injected CPU or network fault: whether and when the injected pod's alarm fired, against
    when the front end breached its SLO (lead = breach - alarm; negative: after); alarm onsets per
    100 pod-hours outside every fault's window. PetShop: whether its metrics include a resource.
    """
    root = data if data is not None else _default_rca()
    if not root.is_dir():
        raise InputError(f"--data {root}: not a folder; give the folder holding nezha-onlineboutique/ and petshop/")
    figures = {"nezha": check_nezha(root / "nezha-onlineboutique"), "petshop": check_petshop(root / "petshop")}
    if as_json:
        typer.echo(json.dumps(figures))
        return
    nezha = figures["nezha"]
    table = Table(title=f"bench heal-data: Nezha OnlineBoutique {', '.join(nezha['days'])}, resource faults",
                  caption=escape(f"{nezha['note']}. PetShop: {figures['petshop']['verdict']}"))
    for column in ("predictor", "fired/faults", "fired before breach", "already alarming", "lead p50 s",
                   "lead p10 s", "false/100 pod-h (fault-free)"):
        table.add_column(column, justify="left" if column == "predictor" else "right")
    for name, f in nezha["by_predictor"].items():
        kinds = f["by_fault_type"].values()
        lead = f["lead_before_slo_breach_s"]
        table.add_row(name, f"{sum(k['fired'] for k in kinds)}/{sum(k['faults'] for k in kinds)}",
                      str(sum(k["fired_before_breach"] for k in kinds)),
                      str(sum(k["alarming_before_injection"] for k in kinds)), _fmt(lead["median"]), _fmt(lead["p10"]),
                      _fmt(f["false_alarms_per_100_pod_hours"]))
    Console(width=160).print(table)


@app.command("heal-demo")
def heal_demo_command(
    minutes: Annotated[int, typer.Option("--minutes", min=60, max=1440, help="Simulated minutes to run.")] = 120,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of both twins (same seed, same run).")] = 0,
    out: Annotated[Path, typer.Option("--out", file_okay=False, help="Folder for the HTML report.")] =
        Path("foresight-out/heal-demo"),
    live: Annotated[bool, typer.Option("--live/--no-live", help="Live terminal view, one frame a simulated minute.")]
        = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")] = False,
) -> None:
    """A memory leak predicted and the pod replaced before its OOMKill, beside reactive Kubernetes.

    Two twins of one simulated cluster: in one Kubernetes only reacts (the leaking pod is OOMKilled);
    in the other the heal controller of ``foresight serve`` runs under an acting HealingPolicy: it
    predicts the OOMKill with its time to failure and restarts the pod (replacement Ready first,
    then an eviction that respects the PodDisruptionBudget). Writes an HTML report.
    """
    from rich.live import Live

    from foresight.demo.heal import frame, run_heal_demo, write_heal_report

    console = Console(stderr=as_json)
    if live and not as_json and console.is_terminal:
        with Live(console=console, refresh_per_second=8) as view:
            demo = run_heal_demo(minutes, seed, progress=lambda now, memory, records: view.update(
                frame(now, memory, records)))
    else:
        demo = run_heal_demo(minutes, seed)
    write_heal_report(demo, out / "heal-report.html")
    summary = demo.to_json()
    if as_json:
        typer.echo(json.dumps(summary))
        return
    for a in summary["actions"]:
        console.print(f"minute {a['time_s'] / 60:.0f}: {escape(a['target'])}: {escape(a['reason'])}")
    lead = summary["replaced_before_oomkill_s"]
    console.print(f"OOMKills: reactive Kubernetes {demo.reactive_oomkills}, Foresight {demo.foresight_oomkills}"
                  + (f"; replaced {lead / 60:.1f} min before the reactive run's OOMKill" if lead is not None else ""))
    console.print(f"report: {demo.report}")
