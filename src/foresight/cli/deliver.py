"""``foresight render spec``, ``foresight deploy`` and ``foresight crds``: specs to validated manifests, to Git.

Every command validates what it renders first (core kinds with kubernetes-validate, custom
resources against the CRDs in ``--schema-dir`` / ``$FORESIGHT_SCHEMA_DIR`` /
``../shared/data/schemas``) and writes nothing when anything is invalid; without schemas it says
which custom resources it could not check. Then the manifest gate scans the objects
(:mod:`foresight.gitops.admit`): an error-level finding refuses them, unless the spec's
``securityOverride`` allows its rule with a written reason, which ``deploy`` records in the commit
message and, with ``--audit-url``, in the audit log. Render warnings (unpinned images ...) and
the scanner's warnings are printed on stderr.
"""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from foresight.cli.app import app
from foresight.cli.render import render_app
from foresight.control.audit import AuditRecord
from foresight.errors import InputError
from foresight.gitops.admit import admit
from foresight.gitops.argocd import DeployResult, Target, deploy
from foresight.gitops.render import check, manifest_files, render, to_yaml, write_files
from foresight.gitops.repo import DEFAULT_AUTHOR, GitRemote
from foresight.gitops.validate import SCHEMA_DIR_ENV, CrdSchemas, find_schema_dir
from foresight.specs import load_specs
from foresight.specs.crd import PLURALS, crd_files

_SchemaDir = Annotated[
    Path | None, typer.Option(help=f"Folder of CRD YAML files to validate custom resources (or ${SCHEMA_DIR_ENV}).")
]


def _crds(schema_dir: Path | None) -> CrdSchemas | None:
    found = find_schema_dir(schema_dir)
    return CrdSchemas(found) if found else None


def _say_unchecked(console: Console, unchecked: tuple[str, ...]) -> None:
    for line in unchecked:
        console.print(f"[yellow]not validated[/] {escape(line)} (set --schema-dir or ${SCHEMA_DIR_ENV})")


def _say_report(console: Console, lines: list[str] | tuple[str, ...]) -> None:
    for line in lines:
        console.print(f"[yellow]{escape(line)}[/]")


@render_app.command("spec")
def render_spec(
    spec_file: Annotated[Path, typer.Argument(metavar="SPEC.yaml", help="ModelDeployment / TrainingJob spec file.")],
    out: Annotated[Path | None, typer.Option(help="Write DIR/<name>/*.yaml + kustomization.yaml (default: stdout).")] = None,
    schema_dir: _SchemaDir = None,
    kubernetes_version: Annotated[str | None, typer.Option(help="Kubernetes version to validate against.")] = None,
) -> None:
    """Render ModelDeployment / TrainingJob specs to validated Kubernetes manifests."""
    console = Console(stderr=True, highlight=False)
    specs = load_specs(spec_file)
    names = [s.metadata.name for s in specs]
    if len(set(names)) != len(names):
        raise InputError(f"{spec_file}: two specs share a name ({', '.join(sorted(names))}); their folders would collide")
    crds = _crds(schema_dir)
    rendered = []
    for spec in specs:
        docs = render(spec)
        validation = check(docs, crds, kubernetes_version)
        validation.raise_for_problems(f"{spec_file}: {spec.kind}/{spec.metadata.name} rendered")
        admission = admit(spec, docs)
        admission.raise_if_blocked(f"{spec_file}: {spec.kind}/{spec.metadata.name}")
        _say_unchecked(console, validation.unchecked)
        _say_report(console, admission.report())
        rendered.append((spec, docs))
    if out is None:
        typer.echo(to_yaml([doc for _, docs in rendered for doc in docs]), nl=False)
        return
    for spec, docs in rendered:
        written = write_files(manifest_files(spec, docs), out / spec.metadata.name)
        console.print(f"{spec.kind}/{spec.metadata.name}: wrote {len(written)} files to {escape(str(out / spec.metadata.name))}")


@app.command("deploy")
def deploy_command(
    spec_file: Annotated[Path, typer.Argument(metavar="SPEC.yaml", help="ModelDeployment / TrainingJob spec file.")],
    repo: Annotated[str, typer.Option(help="Git repository to push to: a bare repository's path, or a URL.")],
    repo_url: Annotated[
        str | None, typer.Option(help="The repository URL Argo CD clones (default: --repo; a path as file://).")
    ] = None,
    environment: Annotated[str, typer.Option(help="Environment folder: apps/<name>/<environment>.")] = "production",
    branch: Annotated[str, typer.Option(help="Branch to commit to (and Argo CD's targetRevision).")] = "main",
    reason: Annotated[str | None, typer.Option(help="Why: the commit message's reason.")] = None,
    author: Annotated[str, typer.Option(help="Commit author, 'Name <email>'.")] = DEFAULT_AUTHOR,
    argocd_namespace: Annotated[str, typer.Option(help="Namespace of the Argo CD Applications.")] = "argocd",
    project: Annotated[str, typer.Option(help="Argo CD project.")] = "default",
    attempts: Annotated[int, typer.Option(min=1, help="Tries when someone else pushes at the same moment.")] = 3,
    schema_dir: _SchemaDir = None,
    audit_url: Annotated[str | None, typer.Option(
        help="Audit store (SQLite path or SQLAlchemy URL) that records each security override a commit carries.")] = None,
) -> None:
    """Commit rendered specs and their Argo CD Applications to a GitOps repository (no commit if nothing changed)."""
    console = Console(stderr=True, highlight=False)
    if not re.fullmatch(r"[^<>]+ <[^<>]*>", author):
        raise InputError(f"--author {author!r}: write it as 'Name <email>'")
    if not _is_environment(environment):
        raise InputError(f"--environment {environment!r}: use lower-case letters, digits and '-' (it names a folder)")
    specs = load_specs(spec_file)
    target = Target(
        repo_url=repo_url or _clone_url(repo),
        environment=environment,
        branch=branch,
        argocd_namespace=argocd_namespace,
        project=project,
    )
    why = reason or f"foresight deploy {spec_file.name}"
    result = deploy(specs, GitRemote(repo, branch), target, why, _crds(schema_dir), author, attempts=attempts)
    _say_unchecked(console, result.unchecked)
    _say_report(console, result.report)
    if audit_url is not None and result.commit is not None:
        _audit_overrides(audit_url, result, repo, branch)
    if result.commit is None:
        typer.echo(f"no change: {repo} ({branch}) already holds these manifests")
        return
    typer.echo(f"committed {result.commit[:12]} to {branch}: {result.message.splitlines()[0]}")


def _audit_overrides(url: str, result: DeployResult, repo: str, branch: str) -> None:
    """One audit record per security override the commit carries (controller ``deploy``)."""
    from foresight.adapters.audit_log import (
        AuditLog,  # SQLAlchemy only when an audit store is asked for
    )

    run_id, now = uuid.uuid4().hex, time.time()
    with AuditLog(url) as audit:
        for target, line in result.overrides.items():
            audit.record(AuditRecord(
                time=now, run_id=run_id, controller="deploy", target=target,
                inputs={"repo": repo, "branch": branch, "commit": result.commit}, decision={},
                reason=line, applied=True, dry_run=False,
            ))


def _in_words(names: list[str]) -> str:
    """``a, b and c``.

    >>> _in_words(["ModelDeployment", "TrainingJob", "ScalingPolicy"])
    'ModelDeployment, TrainingJob and ScalingPolicy'
    """
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


@app.command("crds", help=f"Write the CustomResourceDefinitions of {_in_words(list(PLURALS))}, generated from "
             "the spec models.")
def crds_command(
    out: Annotated[Path, typer.Option(help="Folder to write the CRD YAML files to.", file_okay=False)] = Path("deploy") / "crds",
) -> None:
    """Write every CRD of :func:`crd_files`; the help names the kinds from ``PLURALS``, so it follows the models."""
    written = write_files(crd_files(), out)
    typer.echo("\n".join(f"wrote {path}" for path in written))


def _is_environment(name: str) -> bool:
    return re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?", name) is not None


def _clone_url(location: str) -> str:
    """What Argo CD should clone: a URL as given (``scheme://`` or ``user@host:path``), a path as ``file://``."""
    if "://" in location or ("@" in location and ":" in location):
        return location
    return Path(location).resolve().as_uri()
