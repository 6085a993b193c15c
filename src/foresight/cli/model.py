"""``foresight model register|list|promote|lineage``: model versions with provenance, gated promotion.

The registry is the embedded SQLite twin by default (``foresight-out/registry.db``), or MLflow's
model registry with ``--backend mlflow`` (default store ``sqlite:///foresight-out/mlflow/mlflow.db``)
or any ``http(s)://`` tracking server URL given as ``--registry-uri`` (``$FORESIGHT_REGISTRY_URI``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from foresight.cli.app import ForesightTyper, app
from foresight.cli.scan import scan_paths
from foresight.errors import InputError
from foresight.registry import (
    DATA_WARNING_TAG,
    NOT_SCANNED,
    PARENT_TAG,
    SCAN_TAG,
    GatePolicy,
    ModelVersion,
    Registry,
    code_commit,
    data_version,
    judge_artifact,
    lineage,
    promote,
)
from foresight.runtime.registry import open_registry

model_app = ForesightTyper(
    help="Model versions: register with provenance (params, metrics, code commit, DVC data version, seed), "
         "list, promote through gates, show lineage.",
    no_args_is_help=True,
)
app.add_typer(model_app, name="model")

_Uri = Annotated[str | None, typer.Option(
    "--registry-uri", envvar="FORESIGHT_REGISTRY_URI",
    help="Where versions live: a SQLite file/URL or PostgreSQL URL (local registry, default "
         "foresight-out/registry.db); an MLflow tracking URI with --backend mlflow; http(s)://, mlflow+<uri> or "
         "a path ending in mlflow.db pick MLflow by themselves.")]
_Backend = Annotated[str, typer.Option(
    help="auto (from the URI), local (SQLite/PostgreSQL twin) or mlflow (needs: pip install 'foresight\\[mlflow]').")]
_Json = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]


def _pairs(values: list[str], what: str, numeric: bool) -> dict[str, float | str]:
    out: dict[str, float | str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--{what} {item!r}: write KEY=VALUE")
        if numeric:
            try:
                out[key.strip()] = float(value)
            except ValueError:
                raise InputError(f"--{what} {item!r}: {value!r} is not a number") from None
        else:
            out[key.strip()] = value
    return out


def _row(v: ModelVersion) -> list[str]:
    metrics = ", ".join(f"{k}={val:.4g}" for k, val in sorted(v.metrics.items()))
    return [v.name, str(v.version), ",".join(v.aliases), metrics, v.data_version[:12], v.code_commit[:10],
            "" if v.seed is None else str(v.seed), v.tags.get("foresight.gate", ""), v.tags.get(SCAN_TAG, "")]


def _print_versions(versions: list[ModelVersion], title: str) -> None:
    table = Table(title=title)
    for column in ("model", "version", "aliases", "metrics", "data", "commit", "seed", "gate", "scan"):
        table.add_column(column)
    for v in versions:
        table.add_row(*(escape(c) for c in _row(v)))
    Console().print(table)


@model_app.command("register")
def register(
    name: Annotated[str, typer.Option(help="Model name.")],
    data: Annotated[Path, typer.Option(help="Training data (file or directory; its .dvc file is read when present, "
                                            "and checked against the data: a stale one is a warning, kept as the "
                                            "tag foresight.data_warning).")],
    metric: Annotated[list[str], typer.Option(help="KEY=NUMBER, repeatable (e.g. accuracy=0.93).")] = [],  # noqa: B006
    param: Annotated[list[str], typer.Option(help="KEY=VALUE, repeatable (hyper-parameters).")] = [],  # noqa: B006
    tag: Annotated[list[str], typer.Option(help="KEY=VALUE, repeatable.")] = [],  # noqa: B006
    seed: Annotated[int | None, typer.Option(min=0, help="Random seed of the training run.")] = None,
    model_file: Annotated[Path | None, typer.Option(help="Serialised model (needed by MLflow).")] = None,
    parent: Annotated[int | None, typer.Option(help="Version this one replaces (lineage); default: the champion.")] = None,
    code_dir: Annotated[Path, typer.Option(file_okay=False, help="Where the training code's git repository is.")] = Path("."),
    registry_uri: _Uri = None,
    backend: _Backend = "auto",
    json_out: _Json = False,
) -> None:
    """Register the next version of a model with its provenance; a model file the artifact scan finds
    dangerous (code run when it loads, or unreadable) is refused, and nothing is registered."""
    if model_file is not None and not model_file.is_file():
        raise InputError(f"--model-file {model_file}: no such file")
    tags = {k: str(v) for k, v in _pairs(tag, "tag", numeric=False).items()}
    if model_file is not None:
        verdict = judge_artifact(scan_paths([model_file])[0])
        verdict.raise_if_blocked(f"model {name}, --model-file {model_file}")
        if not verdict.reason.endswith("no findings"):
            typer.echo(f"warning: {verdict.reason}", err=True)
        tags[SCAN_TAG] = verdict.tag
    else:
        tags[SCAN_TAG] = NOT_SCANNED
    registry = open_registry(registry_uri, backend)
    if parent is None:
        champion = registry.get_alias(name, "champion")
        parent = None if champion is None else champion.version
    if parent is not None:
        tags[PARENT_TAG] = str(parent)
    data_v = data_version(data)
    if data_v.warning:  # a stale .dvc file: recorded with the version, and said now
        tags[DATA_WARNING_TAG] = data_v.warning
        typer.echo(f"warning: {data_v.warning}", err=True)
    version = registry.register(
        name, params=_pairs(param, "param", numeric=False), metrics=_pairs(metric, "metric", numeric=True),  # type: ignore[arg-type]
        code_commit=code_commit(code_dir), data_version=data_v.md5, seed=seed, tags=tags,
        model_file=model_file,
    )
    if json_out:
        typer.echo(json.dumps(version.to_json()))
    else:
        typer.echo(f"registered {version.name} version {version.version} (data {version.data_version}, "
                   f"commit {version.code_commit[:10]})")


@model_app.command("list")
def list_versions(
    name: Annotated[str | None, typer.Option(help="Only this model.")] = None,
    registry_uri: _Uri = None,
    backend: _Backend = "auto",
    json_out: _Json = False,
) -> None:
    """List registered versions with their aliases, metrics, provenance and gate verdicts."""
    versions = open_registry(registry_uri, backend).list_versions(name)
    if json_out:
        typer.echo(json.dumps([v.to_json() for v in versions]))
    else:
        _print_versions(versions, f"{len(versions)} model versions")


@model_app.command("promote")
def promote_command(
    name: Annotated[str, typer.Option(help="Model name.")],
    version: Annotated[int, typer.Option(help="Version to make the champion.")],
    gate: Annotated[list[str], typer.Option(
        help="METRIC>=VALUE or METRIC<=VALUE, repeatable.")] = ["accuracy>=0.9"],  # noqa: B006
    tolerance: Annotated[list[str], typer.Option(
        help="METRIC=T: may be worse than the champion by at most T (better: as its --gate says, else higher), repeatable.")] = ["accuracy=0.01"],  # noqa: B006
    dry_run: Annotated[bool, typer.Option(help="Evaluate the gates only.")] = False,
    registry_uri: _Uri = None,
    backend: _Backend = "auto",
    json_out: _Json = False,
) -> None:
    """Make a version the champion if it passes the gates; exit code 1 and the reason when blocked."""
    policy = GatePolicy.parse(gate, {k: float(v) for k, v in _pairs(tolerance, "tolerance", numeric=True).items()})
    result = promote(open_registry(registry_uri, backend), name, version, policy, dry_run=dry_run)
    if json_out:
        typer.echo(json.dumps({"name": name, "version": version, "passed": result.gate.passed,
                               "promoted": result.promoted, "previous_champion": result.previous_champion,
                               "reasons": list(result.gate.reasons)}))
    else:
        typer.echo(("dry run: " if dry_run else "") + result.reason)
    if not result.gate.passed:
        raise typer.Exit(1)


@model_app.command("lineage")
def lineage_command(
    name: Annotated[str, typer.Option(help="Model name.")],
    version: Annotated[int | None, typer.Option(help="Version (default: the champion).")] = None,
    registry_uri: _Uri = None,
    backend: _Backend = "auto",
    json_out: _Json = False,
) -> None:
    """A version and the versions it replaced, each with its data version, commit, seed and params."""
    registry: Registry = open_registry(registry_uri, backend)
    if version is None:
        champion = registry.get_alias(name, "champion")
        if champion is None:
            raise InputError(f"model {name} has no champion: give --version")
        version = champion.version
    chain = lineage(registry, name, version)
    if json_out:
        typer.echo(json.dumps([v.to_json() for v in chain]))
    else:
        _print_versions(chain, f"lineage of {name} version {version} (newest first)")
