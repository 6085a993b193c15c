"""``foresight render ...``: Kubernetes manifests, validated before they are printed or written.

``render autoscaling`` emits the HPA (with prometheus-adapter's rule) and/or the KEDA
ScaledObject that scale a workload on Foresight's predicted load. Core kinds are validated with
the Kubernetes schemas shipped by kubernetes-validate; custom resources against the CRDs in
``--schema-dir`` / ``$FORESIGHT_SCHEMA_DIR`` / ``../shared/data/schemas``, and without them the
command says which objects it could not check.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from foresight.autoscale.manifests import (
    DEFAULT_SCALER_ADDRESS,
    DESIRED_REPLICAS,
    AutoscalingSpec,
    adapter_rules,
    desired_replicas_hpa,
    hpa,
    scaled_object,
)
from foresight.cli.app import ForesightGroup, ForesightTyper, app
from foresight.errors import InputError
from foresight.gitops.validate import (
    SCHEMA_DIR_ENV,
    CrdSchemas,
    find_schema_dir,
    validate_manifests,
)


class _SpecFallbackGroup(ForesightGroup):
    """``foresight render FILE ...`` means ``foresight render spec FILE ...`` when FILE names no subcommand."""

    def resolve_command(self, ctx, args):  # type: ignore[no-untyped-def]
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["spec", *args]
        return super().resolve_command(ctx, args)


render_app = ForesightTyper(
    cls=_SpecFallbackGroup,
    help="Render validated Kubernetes manifests.\n\n"
    "foresight render SPEC.yaml [--out DIR] renders a ModelDeployment or TrainingJob spec file (short for "
    "render spec SPEC.yaml); render autoscaling and render chart render Foresight's own objects.",
    subcommand_metavar="SPEC.yaml | COMMAND [ARGS]...",
    no_args_is_help=True,
)
app.add_typer(render_app, name="render")

_OPTION_OF = {"min_replicas": "--min", "max_replicas": "--max"}


class Kind(str, Enum):
    hpa = "hpa"
    keda = "keda"
    both = "both"


class Form(str, Enum):
    """What the HPA follows: the predicted load per replica, or the replicas Foresight decided."""

    load = "load"
    desired = "desired"


class _BlockDumper(yaml.SafeDumper):
    """Writes multi-line strings (an embedded config file) as readable ``|`` blocks."""


def _str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None)


_BlockDumper.add_representer(str, _str)


def to_yaml(docs: list[dict[str, Any]]) -> str:
    """Documents as one YAML stream, keys in the order they were built."""
    return yaml.dump_all(docs, Dumper=_BlockDumper, sort_keys=False, explicit_start=True)


@render_app.command("autoscaling")
def autoscaling(
    workload: Annotated[str, typer.Option(help="Workload name in Foresight's predictions.")],
    namespace: Annotated[str, typer.Option(help="The workload's namespace.")],
    capacity_rps: Annotated[float, typer.Option(help="Requests/s one replica serves at 100%.")],
    deployment: Annotated[str | None, typer.Option(help="Deployment to scale (default: the workload).")] = None,
    min_replicas: Annotated[int, typer.Option("--min", help="Fewest replicas (0: KEDA scales to zero).")] = 1,
    max_replicas: Annotated[int, typer.Option("--max", help="Most replicas.")] = 10,
    target_utilisation_percent: Annotated[float, typer.Option(help="Percent of its capacity each replica runs at, in (0, 100].")] = 70.0,
    scaler_address: Annotated[str, typer.Option(help="host:port of Foresight's KEDA scaler.")] = DEFAULT_SCALER_ADDRESS,
    activation_rps: Annotated[float, typer.Option(help="KEDA: predicted req/s above which the workload runs.")] = 0.0,
    kind: Annotated[Kind, typer.Option(help="hpa, keda, or both (apply only one of them).")] = Kind.both,
    form: Annotated[Form, typer.Option(help=(
        "HPA form: 'load' (External ai_predicted_load per replica) or 'desired' (the bench's headline: External "
        "foresight_desired_replicas at AverageValue 1, CPU beside it, scale-down stabilisation 0 s, scale-up "
        "tolerance 0; --kind hpa)."
    ))] = Form.load,
    cpu_percent: Annotated[int, typer.Option(help="--form desired: CPU utilisation target of the safety net.")] = 90,
    scale_up_tolerance: Annotated[float, typer.Option(help=(
        "--form desired: behavior.scaleUp.tolerance, so every pod Foresight asks for starts (Kubernetes 1.35+)."
    ))] = 0.0,
    cluster_tolerance: Annotated[bool, typer.Option(help=(
        "--form desired: leave scaleUp.tolerance out (clusters before 1.35: the cluster-wide 10% applies)."
    ))] = False,
    out: Annotated[Path | None, typer.Option(help="Folder to write the YAML files to (default: stdout).")] = None,
    schema_dir: Annotated[Path | None, typer.Option(help="Folder of CRD YAML files to validate custom resources.")] = None,
    kubernetes_version: Annotated[str | None, typer.Option(help="Kubernetes version to validate against.")] = None,
) -> None:
    """HPA and/or KEDA ScaledObject that scale a workload on its predicted load."""
    options = {
        "namespace": namespace, "workload": workload, "deployment": deployment, "min_replicas": min_replicas,
        "max_replicas": max_replicas, "capacity_rps": capacity_rps, "target_utilisation_percent": target_utilisation_percent,
        "scaler_address": scaler_address, "activation_rps": activation_rps,
    }
    try:
        spec = AutoscalingSpec.model_validate(options)
    except ValidationError as exc:
        reasons = "; ".join(f"{_option(err['loc'])}: {_reason(err)}" for err in exc.errors())
        raise InputError(f"render autoscaling: {reasons}") from None
    # checked whatever the form, so a wrong value never passes unnoticed because --form load ignores it
    if not 1 <= cpu_percent <= 100:
        raise InputError(f"render autoscaling: --cpu-percent: {cpu_percent} is not within 1..100")
    if not 0 <= scale_up_tolerance < 1:
        raise InputError(f"render autoscaling: --scale-up-tolerance: {scale_up_tolerance} is not within [0, 1)")
    files: dict[str, list[dict[str, Any]]] = {}
    if form is Form.desired:
        if kind is not Kind.hpa:
            raise InputError("render autoscaling: --form desired renders an HPA only; add --kind hpa")
        tolerance = None if cluster_tolerance else scale_up_tolerance
        files[f"{spec.workload}-hpa.yaml"] = [desired_replicas_hpa(spec, cpu_percent=cpu_percent,
                                                                   scale_up_tolerance=tolerance)]
        files["prometheus-adapter-rules.yaml"] = [adapter_rules(spec.model_copy(update={"metric": DESIRED_REPLICAS}))]
    elif kind in (Kind.hpa, Kind.both):
        files[f"{spec.workload}-hpa.yaml"] = [hpa(spec)]
        files["prometheus-adapter-rules.yaml"] = [adapter_rules(spec)]
    if kind in (Kind.keda, Kind.both):
        files[f"{spec.workload}-scaledobject.yaml"] = [scaled_object(spec)]

    found = find_schema_dir(schema_dir)
    docs = [doc for file_docs in files.values() for doc in file_docs]
    validation = validate_manifests(docs, CrdSchemas(found) if found else None, kubernetes_version)
    validation.raise_for_problems("rendered manifests")

    console = Console(stderr=True, highlight=False)
    for line in validation.checked:
        console.print(f"validated {escape(line)}")
    for line in validation.unchecked:
        console.print(f"[yellow]not validated[/] {escape(line)} (set --schema-dir or ${SCHEMA_DIR_ENV})")
    if kind is Kind.both:
        console.print("apply the HPA (with the adapter rule) or the ScaledObject, not both")
    if out is None:
        typer.echo(to_yaml(docs), nl=False)
        return
    out.mkdir(parents=True, exist_ok=True)
    for name, file_docs in files.items():
        (out / name).write_text(to_yaml(file_docs), encoding="utf-8")
        console.print(f"wrote {escape(str(out / name))}")


def _reason(error: Any) -> str:
    if error["type"] == "string_pattern_mismatch":
        return f"{error['input']!r} is not a valid name (lower-case letters, digits and '-', alphanumeric at both ends)"
    return str(error["msg"])


def _option(loc: tuple[Any, ...]) -> str:
    field = str(loc[0]) if loc else "options"
    return _OPTION_OF.get(field, "--" + field.replace("_", "-"))
