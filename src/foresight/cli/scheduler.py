"""``foresight render scheduler``: the KubeSchedulerConfiguration that makes kube-scheduler call Foresight.

The document is ``kubescheduler.config.k8s.io/v1`` with one extender (filter, prioritize and bind
verbs on ``foresight serve`` with ``scheduler.enabled``). Before it is printed it is checked two
ways: a JSON schema of the v1 fields (names and types as in ``k8s.io/kube-scheduler/config/v1``
types.go, unknown keys refused, because kube-scheduler's strict decoding refuses them too), and the
rules kube-scheduler's own ``validateExtenders`` applies (a positive weight with a prioritize verb,
at most one binder, managed resources that are valid extended-resource names, none twice).

Pods asking a fraction of a GPU carry only Foresight's annotation, no extended resource, and
kube-scheduler sends an extender with ``managedResources`` only the pods that request one of them
(``HTTPExtender.IsInterested``). So ``--fractions`` leaves ``managedResources`` out: every pod then
reaches the extender (pods without a GPU pass through), and the extender binds them all.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlparse

import jsonschema
import typer
from rich.console import Console
from rich.markup import escape

from foresight.cli.render import render_app, to_yaml
from foresight.errors import InputError
from foresight.specs.workload import GPU_RESOURCE

__all__ = ["configuration_problems", "scheduler_configuration"]

_DURATION = r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$"
_STRING = {"type": "string"}
_BOOL = {"type": "boolean"}
_EXTENDER = {
    "type": "object", "additionalProperties": False, "required": ["urlPrefix"],
    "properties": {
        "urlPrefix": {"type": "string", "minLength": 1}, "filterVerb": _STRING, "preemptVerb": _STRING,
        "prioritizeVerb": _STRING, "weight": {"type": "integer"}, "bindVerb": _STRING, "enableHTTPS": _BOOL,
        "tlsConfig": {"type": "object", "additionalProperties": False, "properties": {
            k: (_BOOL if k == "insecure" else _STRING)
            for k in ("insecure", "serverName", "certFile", "keyFile", "caFile", "certData", "keyData", "caData")}},
        "httpTimeout": {"type": "string", "pattern": _DURATION}, "nodeCacheCapable": _BOOL,
        "managedResources": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": ["name"],
            "properties": {"name": _STRING, "ignoredByScheduler": _BOOL}}},
        "ignorable": _BOOL,
    },
}
#: KubeSchedulerConfiguration v1, the fields this command may write (the others are left to their defaults)
SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["apiVersion", "kind"],
    "properties": {
        "apiVersion": {"const": "kubescheduler.config.k8s.io/v1"}, "kind": {"const": "KubeSchedulerConfiguration"},
        "parallelism": {"type": "integer", "minimum": 1},
        "clientConnection": {"type": "object", "properties": {"kubeconfig": _STRING}},
        "leaderElection": {"type": "object", "properties": {"leaderElect": _BOOL}},
        "profiles": {"type": "array", "items": {"type": "object", "properties": {"schedulerName": _STRING}}},
        "extenders": {"type": "array", "items": _EXTENDER},
    },
}
_QUALIFIED = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)/"
                        r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")


def scheduler_configuration(url: str, *, weight: int, timeout: str, fractions: bool, node_cache: bool,
                            kubeconfig: str | None, ca_file: str | None = None) -> dict[str, Any]:
    """The document: Foresight's extender on ``url`` (the prefix its three verbs are appended to)."""
    extender: dict[str, Any] = {
        "urlPrefix": url.rstrip("/"), "filterVerb": "filter", "prioritizeVerb": "prioritize", "bindVerb": "bind",
        "weight": weight, "enableHTTPS": urlparse(url).scheme == "https", "httpTimeout": timeout,
        "nodeCacheCapable": node_cache, "ignorable": False,
    }
    if ca_file:  # without a CA, kube-scheduler calls an https extender without checking its certificate
        extender["tlsConfig"] = {"caFile": ca_file}
    if not fractions:
        extender["managedResources"] = [{"name": GPU_RESOURCE, "ignoredByScheduler": False}]
    doc: dict[str, Any] = {"apiVersion": "kubescheduler.config.k8s.io/v1", "kind": "KubeSchedulerConfiguration"}
    if kubeconfig:
        doc["clientConnection"] = {"kubeconfig": kubeconfig}
    doc["extenders"] = [extender]
    return doc


def configuration_problems(doc: Any) -> list[str]:
    """What kube-scheduler would refuse in ``doc`` (empty: nothing): schema first, then its extender rules."""
    problems = [f"{'.'.join(str(p) for p in e.absolute_path) or '(top level)'}: {e.message}"
                for e in jsonschema.Draft7Validator(SCHEMA).iter_errors(doc)]
    if problems:
        return problems
    seen: set[str] = set()
    for i, ext in enumerate(doc.get("extenders", [])):
        where = f"extenders.{i}"
        if ext.get("prioritizeVerb") and ext.get("weight", 0) <= 0:
            problems.append(f"{where}.weight: must have a positive weight applied to it")
        if urlparse(ext["urlPrefix"]).scheme not in ("http", "https") or not urlparse(ext["urlPrefix"]).netloc:
            problems.append(f"{where}.urlPrefix: {ext['urlPrefix']!r} is not an http(s) URL")
        for j, res in enumerate(ext.get("managedResources", [])):
            name = res["name"]
            if not _QUALIFIED.match(name) or name.split("/")[0].endswith("kubernetes.io"):
                problems.append(f"{where}.managedResources.{j}.name: {name!r} is not an extended resource name")
            if name in seen:
                problems.append(f"{where}.managedResources.{j}.name: duplicate extender managed resource name")
            seen.add(name)
    if sum(1 for ext in doc.get("extenders", []) if ext.get("bindVerb")) > 1:
        problems.append("extenders: only one extender can implement bind")
    return problems


@render_app.command("scheduler")
def render_scheduler(
    url: Annotated[str, typer.Option(help="Where kube-scheduler reaches Foresight's API, with the /scheduler prefix "
                                     "(a sidecar: http://127.0.0.1:8080/scheduler).")] = "http://127.0.0.1:8080/scheduler",
    weight: Annotated[int, typer.Option(help="Multiplier of the extender's 0..10 scores, added to the plugins' "
                                        "(0..100 each, times their weights); 10 makes it one plugin's worth.")] = 10,
    timeout: Annotated[str, typer.Option(help="httpTimeout per call (a filter reads every node and pod).")] = "10s",
    fractions: Annotated[bool, typer.Option(help="Send every pod to the extender (no managedResources), so pods "
                                            "that ask a GPU fraction by annotation reach it; --no-fractions: "
                                            "only pods requesting nvidia.com/gpu.")] = False,
    node_cache: Annotated[bool, typer.Option(help="nodeCacheCapable: send node names only (Foresight reads the "
                                             "nodes itself); --no-node-cache sends the whole NodeList.")] = True,
    kubeconfig: Annotated[str | None, typer.Option(help="clientConnection.kubeconfig of kube-scheduler (kubeadm: "
                                                   "/etc/kubernetes/scheduler.conf); unset: left out.")] = None,
    ca_file: Annotated[str | None, typer.Option(help="https --url: CA file (path inside kube-scheduler's pod) that "
                                                "signed Foresight's certificate.")] = None,
    out: Annotated[Path | None, typer.Option(help="File to write the YAML to (default: stdout).")] = None,
) -> None:
    """KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1) with Foresight's GPU placement extender."""
    if not re.match(_DURATION, timeout):
        raise InputError(f"render scheduler: --timeout: {timeout!r} is not a duration such as 10s or 500ms")
    if weight <= 0:
        raise InputError(f"render scheduler: --weight: {weight} must be positive")
    if ca_file and urlparse(url).scheme != "https":
        raise InputError("render scheduler: --ca-file is for an https --url")
    doc = scheduler_configuration(url, weight=weight, timeout=timeout, fractions=fractions, node_cache=node_cache,
                                  kubeconfig=kubeconfig, ca_file=ca_file)
    problems = configuration_problems(doc)
    if problems:
        raise InputError("render scheduler: " + "; ".join(problems))
    console = Console(stderr=True, highlight=False)
    console.print("validated KubeSchedulerConfiguration (v1 schema fields and kube-scheduler's extender rules)")
    if not fractions:
        console.print("pods asking only foresight.ai/gpu-milli are not sent to the extender with managedResources; "
                      "render with --fractions to place them")
    text = to_yaml([doc])
    if out is None:
        typer.echo(text, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    console.print(f"wrote {escape(str(out))}")
