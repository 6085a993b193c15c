"""``foresight operator run`` (the kopf operator behind a Lease) and ``foresight render chart`` (the Helm chart, rendered without Helm)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.console import Console

from foresight.autoscale.manifests import DEFAULT_SCALER_ADDRESS
from foresight.cli.app import ForesightTyper, app
from foresight.cli.render import render_app
from foresight.errors import ConfigError, InputError
from foresight.gitops.render import write_files

__all__ = ["operator_app"]

operator_app = ForesightTyper(help="Foresight's Kubernetes operator (reconciles its custom resources).", no_args_is_help=True)
app.add_typer(operator_app, name="operator")

#: The chart in a source checkout (``deploy/helm/foresight`` beside ``src/``).
DEFAULT_CHART = Path(__file__).resolve().parents[3] / "deploy" / "helm" / "foresight"


@operator_app.command("run")
def run_command(
    lease: Annotated[str, typer.Option(help="NAMESPACE/NAME of the coordination.k8s.io/v1 Lease that gates this replica.")] = "foresight/foresight-leader",
    identity: Annotated[str, typer.Option(help="This replica's name in the Lease (default: $POD_NAME or the host name).")] = "",
    lease_duration: Annotated[float, typer.Option(help="Seconds a Lease holds without renewal.", min=1)] = 15.0,
    renew_deadline: Annotated[float, typer.Option(help="Seconds the leader keeps acting without a renewal (< lease duration).", min=1)] = 10.0,
    mode: Annotated[str, typer.Option(help="apply: write owned objects to the API server; gitops: commit ModelDeployments/TrainingJobs.")] = "apply",
    repo: Annotated[str, typer.Option(help="gitops: Git repository (path or URL).")] = "",
    branch: Annotated[str, typer.Option(help="gitops: branch.")] = "main",
    environment: Annotated[str, typer.Option(help="gitops: environment folder (apps/<name>/<environment>).")] = "production",
    scaler_address: Annotated[str, typer.Option(help="host:port of Foresight's KEDA scaler, written into ScaledObjects.")] = DEFAULT_SCALER_ADDRESS,
    health_port: Annotated[int, typer.Option(help="Port of /healthz (answered by standby replicas too).", min=1, max=65535)] = 8081,
    kubeconfig: Annotated[str | None, typer.Option(help="kubeconfig file (default: in-cluster service account, then ~/.kube/config).")] = None,
) -> None:
    """Run the operator: wait for the Lease, reconcile ModelDeployment, TrainingJob, ScalingPolicy, AnomalyPolicy."""
    from foresight.adapters.kubernetes import api_client
    from foresight.gitops.argocd import Target
    from foresight.gitops.repo import GitRemote
    from foresight.operator.handlers import GitOps
    from foresight.operator.run import OperatorOptions, run_operator

    namespace, _, name = lease.partition("/")
    if not namespace or not name:
        raise InputError(f"--lease {lease!r}: expected NAMESPACE/NAME")
    if mode not in ("apply", "gitops"):
        raise InputError(f"--mode {mode!r}: expected apply or gitops")
    gitops = None
    if mode == "gitops":
        if not repo:
            raise ConfigError("--mode gitops needs --repo")
        gitops = GitOps(GitRemote(repo, branch), Target(repo_url=repo, environment=environment, branch=branch))
    options = OperatorOptions(namespace, name, identity, lease_duration, renew_deadline, 2.0, health_port, gitops, scaler_address)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(run_operator(options, api_client(kubeconfig)))


def _values(files: list[Path]) -> dict[str, object]:
    from foresight.operator.chart import merge_values

    merged: dict[str, object] = {}
    for path in files:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise InputError(f"{path}: cannot read values ({exc.strerror or exc})") from None
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
                             "a values file is YAML saved as UTF-8") from None
        except yaml.YAMLError as exc:
            raise InputError(f"{path}: not valid YAML ({exc})") from None
        except RecursionError:  # the YAML parser recurses once per level of nesting
            raise InputError(f"{path}: nested too deeply to be a values file") from None
        if not isinstance(data, dict):
            raise InputError(f"{path}: values must be a mapping")
        merged = merge_values(merged, data)
    return merged


@render_app.command("chart")
def render_chart_command(
    out: Annotated[Path, typer.Option(help="Folder to write crds/*.yaml and templates/*.yaml into.")],
    values: Annotated[list[Path] | None, typer.Option(help="Values file(s) over the chart's values.yaml (later wins).")] = None,
    chart: Annotated[Path, typer.Option(help="Chart folder.")] = DEFAULT_CHART,
    release: Annotated[str, typer.Option(help="Release name (names every object).")] = "foresight",
    namespace: Annotated[str, typer.Option(help="Release namespace.")] = "foresight",
    validate: Annotated[bool, typer.Option(help="Validate every object with kubernetes-validate first.")] = True,
) -> None:
    """Render Foresight's Helm chart without Helm (the template subset of foresight.operator.chart)."""
    from foresight.gitops.validate import validate_manifests
    from foresight.operator.chart import load_chart, render_chart

    files = render_chart(load_chart(chart), _values(values or []), release, namespace)
    if validate:
        docs = [d for text in files.values() for d in yaml.safe_load_all(text) if d is not None]
        validate_manifests(docs).raise_for_problems("rendered chart")
    console = Console(stderr=True, highlight=False)
    for sub in ("crds", "templates"):
        chosen = {name.split("/", 1)[1]: text for name, text in files.items() if name.startswith(sub + "/")}
        for path in write_files(chosen, out / sub):
            console.print(f"wrote {path}")


