"""Scan Kubernetes manifests: pod security, host access, RBAC, images, secrets, NetworkPolicy coverage.

Input is YAML text with any number of documents (Helm or kustomize output, ``kind: List``) or
objects already parsed (what :mod:`foresight.gitops` renders). Pod specs are found wherever an
object holds one (``spec.template.spec`` of Deployments, StatefulSets, DaemonSets, ReplicaSets and
Jobs, CronJobs' job template, Kubeflow ``*ReplicaSpecs``, JobSet and TrainingRuntime templates,
KServe predictors ...): any mapping with a list of containers, so custom resources are checked
too. A TrainJob's ``spec.trainer`` is checked for its image, env and resources; its pod security
comes from the TrainingRuntime it names, checked where that runtime is scanned.

Some checks read across documents: a workload is covered by a NetworkPolicy of its namespace
only when one in the scanned set selects its pods, and a ServiceAccount in the set that sets
``automountServiceAccountToken: false`` covers the pods that use it. Objects without a namespace
share one (the one they will be applied to). Scan a whole release together.

A finding a team has weighed is accepted with an annotation on the object that names the rule and
says why (``scan.foresight.ai/accept-FSM026: "the operator's leader Lease needs the API"``): it is
still reported, with its reason, but no longer decides the exit status. An empty reason accepts
nothing; unreadable manifests (FSM001) cannot be accepted.

Fails closed: YAML that does not parse, repeated keys, and workloads without a readable pod
template are error findings (FSM001), never a pass and never an exception. The one exception is
text with Go template markers that does not parse (a Helm chart's source): a note (FSM033) that
its rendered output is what must be scanned.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from foresight.security import manifest_rules as R
from foresight.security.findings import Finding, Location
from foresight.security.manifest_pods import (
    Hit,
    PodSite,
    as_list,
    as_map,
    image_hits,
    pod_hits,
    resource_hits,
    secret_env_hits,
    secret_key_hits,
)
from foresight.security.manifest_rbac import binding_hits, role_hits
from foresight.security.manifest_yaml import UnreadableYaml, line_of, load_documents

__all__ = ["ACCEPT_ANNOTATION", "looks_like_manifest", "read_manifest", "scan_manifest_files", "scan_manifest_objects", "scan_manifests"]

#: ``scan.foresight.ai/accept-FSM026: "why"`` on an object accepts that rule's findings on it, with the reason
ACCEPT_ANNOTATION = "scan.foresight.ai/accept-"
#: kinds whose pods serve until stopped: probes are checked on them
_LONG_RUNNING = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Pod",
                           "Rollout", "DeploymentConfig"})
#: kinds that must hold a pod template: without a readable one the manifest is not shown safe
_NEEDS_POD = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Pod",
                        "Job", "CronJob", "PodTemplate", "PyTorchJob", "TFJob", "MPIJob", "XGBoostJob", "PaddleJob",
                        "JAXJob", "Rollout"})
#: where workloads keep their pod spec: findings elsewhere (a Kubeflow replica, a JobSet job) name the place
_USUAL_PLACES = frozenset({"spec", "spec.template.spec", "spec.jobTemplate.spec.template.spec", "template.spec"})
#: how deep below an object pod specs are looked for (CronJob's is 5 levels down, a TrainingRuntime's 8)
_MAX_DEPTH = 16


_API_VERSION = re.compile(r'(?m)(?:^[ \t]*(?:-[ \t]+)?|[{,][ \t]*)"?apiVersion"?[ \t]*:')
_KIND = re.compile(r'(?m)(?:^[ \t]*(?:-[ \t]+)?|[{,][ \t]*)"?kind"?[ \t]*:')
#: the first line that is not blank, a comment, a document marker or a directive
_FIRST_LINE = re.compile(r"(?m)^(?![ \t]*(?:#|---|\.\.\.|%|$))[ \t]*(.*)$")
_STARTS_YAML = re.compile(r"""[{\[]|-[ \t]|["']?[\w./-]+["']?[ \t]*:""")


def looks_like_manifest(text: str) -> bool:
    """Whether ``text`` reads as Kubernetes YAML or JSON: it starts like a YAML mapping or list (after
    comments and ``---``) and names an ``apiVersion`` and a ``kind`` somewhere."""
    first = _FIRST_LINE.search(text)
    return (first is not None and _STARTS_YAML.match(first.group(1)) is not None
            and _API_VERSION.search(text) is not None and _KIND.search(text) is not None)


@dataclass(frozen=True)
class _Object:
    path: str
    kind: str
    name: str
    namespace: str | None
    body: Mapping[str, Any]

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}" + (f" (namespace {self.namespace})" if self.namespace else "")

    @property
    def metadata(self) -> Mapping[str, Any]:
        return as_map(self.body.get("metadata"))


def read_manifest(text: str, path: str) -> tuple[list[Any], list[Finding]]:
    """The documents of one file's YAML ``text``, and the findings that reading it gave (FSM001 for
    text that does not parse or repeats a key, FSM033 for an unrendered template)."""
    try:
        documents, duplicates = load_documents(text)
    except UnreadableYaml as exc:
        rule = R.TEMPLATE if "{{" in text else R.UNREADABLE
        return [], [Finding(rule.id, rule.level, str(exc), Location(path, line=exc.line))]
    return documents, [Finding(R.UNREADABLE.id, R.UNREADABLE.level,
                               f"key {key!r} is repeated in one mapping (Kubernetes rejects it; tools disagree on which value wins)",
                               Location(path, line=line)) for key, line in duplicates]


def scan_manifests(text: str, path: str) -> list[Finding]:
    r"""Every finding in the YAML ``text`` of one file; ``path`` is only where findings say they are.

    >>> text = ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n"
    ...         "    image: app:1.0\n    securityContext: {privileged: true}\n")
    >>> [f"{f.rule_id} line {f.location.line}" for f in scan_manifests(text, "pod.yaml") if f.level.value == "error"]
    ['FSM002 line 8']
    """
    documents, findings = read_manifest(text, path)
    return findings + scan_manifest_files({path: documents})


def scan_manifest_objects(objects: Sequence[Mapping[str, Any]], path: str) -> list[Finding]:
    """Every finding in objects already parsed (lines when they were loaded by this module, else None)."""
    return scan_manifest_files({path: objects})


def scan_manifest_files(files: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[Finding]:
    """The objects of several files checked as one set (a NetworkPolicy in one file covers a workload in
    another), each finding in the file of its object."""
    seen: set[int] = set()
    found = [obj for path, objects in files.items() for obj in _objects(path, objects, seen)]
    tokenless = {(o.namespace, o.name) for o in found
                 if o.kind == "ServiceAccount" and o.body.get("automountServiceAccountToken") is False}
    findings: list[Finding] = []

    def report(obj: _Object, hits: Iterable[Hit]) -> None:
        accepted = _accepted(obj)
        findings.extend(Finding(rule.id, rule.level, message, Location(obj.path, line=line),
                                accepted.get(rule.id) if rule is not R.UNREADABLE else None)
                        for rule, message, line in hits)

    workloads: list[tuple[_Object, list[PodSite]]] = []
    for obj in found:
        report(obj, _object_hits(obj))
        sites = _pod_sites(obj)
        if sites:
            workloads.append((obj, sites))
        elif obj.kind in _NEEDS_POD:
            report(obj, [(R.UNREADABLE, f"{obj.label}: no pod template with a list of containers", line_of(obj.body))])
        for site in sites:
            account = site.pod.get("serviceAccountName") or site.pod.get("serviceAccount") or "default"
            report(obj, pod_hits(site, (obj.namespace, account) in tokenless))
    for obj, hit in _network_policy_hits(found, workloads):
        report(obj, [hit])
    return findings


def _accepted(obj: _Object) -> dict[str, str]:
    """Rule ids accepted on this object, with the reason written in their annotation."""
    annotations = as_map(obj.metadata.get("annotations"))
    return {key[len(ACCEPT_ANNOTATION):].upper(): " ".join(value.split()) for key, value in annotations.items()
            if isinstance(key, str) and key.startswith(ACCEPT_ANNOTATION) and isinstance(value, str) and value.strip()}


def _objects(path: str, items: Sequence[Any], seen: set[int]) -> Iterator[_Object]:
    """Kubernetes objects (a mapping with a kind), the items of ``*List`` kinds flattened in order."""
    pending = list(reversed(as_list(items)))
    while pending:
        item = pending.pop()
        if not isinstance(item, Mapping) or id(item) in seen:
            continue
        seen.add(id(item))
        kind = item.get("kind")
        if not isinstance(kind, str):
            continue
        if kind.endswith("List") and isinstance(item.get("items"), (list, tuple)):
            pending.extend(reversed(item["items"]))
            continue
        metadata = as_map(item.get("metadata"))
        name = metadata.get("name") or metadata.get("generateName") or "(unnamed)"
        namespace = metadata.get("namespace")
        yield _Object(path, kind, str(name), namespace if isinstance(namespace, str) and namespace else None, item)


def _object_hits(obj: _Object) -> Iterator[Hit]:
    """The checks of one object on its own (pod specs apart)."""
    if obj.namespace == "default":
        yield R.DEFAULT_NAMESPACE, f"{obj.label}: placed in the default namespace", line_of(obj.metadata, "namespace")
    if obj.kind in ("Role", "ClusterRole"):
        yield from role_hits(obj.label, obj.body)
    elif obj.kind in ("RoleBinding", "ClusterRoleBinding"):
        yield from binding_hits(obj.label, obj.body)
    elif obj.kind == "Secret":
        for key in ("data", "stringData"):
            if as_map(obj.body.get(key)):
                yield R.SECRET_DATA, f"{obj.label}: {key} holds {len(obj.body[key])} value(s)", line_of(obj.body, key)
    elif obj.kind == "ConfigMap":
        yield from secret_key_hits(obj.label, obj.body.get("data"))
    elif obj.kind == "TrainJob":
        trainer = as_map(as_map(obj.body.get("spec")).get("trainer"))
        if trainer:
            who = f"{obj.label} trainer"
            yield from image_hits(who, trainer.get("image"), line_of(trainer, "image"))
            yield from secret_env_hits(who, trainer.get("env"))
            yield from resource_hits(who, as_map(trainer.get("resourcesPerNode")), line_of(trainer))


def _is_pod_spec(value: object) -> bool:
    containers = as_map(value).get("containers")
    return isinstance(containers, (list, tuple)) and any(
        isinstance(c, Mapping) and ("image" in c or "name" in c) for c in containers)


def _pod_sites(obj: _Object) -> list[PodSite]:
    """Every pod spec inside ``obj`` (a mapping with a list of containers), outermost first."""
    long_running = obj.kind in _LONG_RUNNING
    sites: list[PodSite] = []
    seen: set[int] = set()
    stack: list[tuple[Any, str, int, Mapping[str, Any], int | None]] = [(obj.body, "", 0, {}, None)]
    while stack:
        node, where, depth, labels, line = stack.pop()
        if id(node) in seen or depth > _MAX_DEPTH:
            continue
        seen.add(id(node))
        if isinstance(node, Mapping):
            if depth and _is_pod_spec(node):
                batch = node.get("restartPolicy") in ("Never", "OnFailure")
                label = obj.label if where in _USUAL_PLACES else f"{obj.label} {where}"
                sites.append(PodSite(label, where, node, labels, long_running and not batch, line))
                continue
            own_labels = as_map(as_map(node.get("metadata")).get("labels"))
            for key, value in node.items():
                if isinstance(value, (Mapping, list, tuple)) and key not in ("metadata", "status"):
                    stack.append((value, f"{where}.{key}" if where else str(key), depth + 1,
                                  own_labels if key == "spec" else {}, line_of(node, key)))
        else:
            for index, item in enumerate(node):
                if isinstance(item, (Mapping, list, tuple)):
                    stack.append((item, f"{where}[{index}]", depth + 1, {}, line_of(node, index)))
    return sorted(sites, key=lambda site: (line_of(site.pod) or 0, site.where))


def _selects(policy: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    """Whether a NetworkPolicy's podSelector matches pods with ``labels`` (an empty selector: every pod)."""
    selector = as_map(as_map(policy.get("spec")).get("podSelector"))
    text = {str(k): str(v) for k, v in labels.items()}
    if any(text.get(str(k)) != str(v) for k, v in as_map(selector.get("matchLabels")).items()):
        return False
    for expression in as_list(selector.get("matchExpressions")):
        expression = as_map(expression)
        key, operator = str(expression.get("key")), expression.get("operator")
        values = {str(v) for v in as_list(expression.get("values"))}
        if operator == "In":
            ok = text.get(key) in values
        elif operator == "NotIn":
            ok = text.get(key) not in values
        elif operator == "Exists":
            ok = key in text
        elif operator == "DoesNotExist":
            ok = key not in text
        else:
            ok = False
        if not ok:
            return False
    return True


def _network_policy_hits(found: list[_Object], workloads: list[tuple[_Object, list[PodSite]]]) -> Iterator[tuple[_Object, Hit]]:
    policies: dict[str | None, list[_Object]] = defaultdict(list)
    for obj in found:
        if obj.kind == "NetworkPolicy":
            policies[obj.namespace].append(obj)
    for obj, sites in workloads:
        mine = policies.get(obj.namespace, [])
        namespace = obj.namespace or "(not set)"
        line = line_of(obj.metadata, "name") or line_of(obj.body)
        if not mine:
            yield obj, (R.NO_NETWORK_POLICY, f"{obj.label}: namespace {namespace} has no NetworkPolicy", line)
        elif not all(any(_selects(p.body, site.labels) for p in mine) for site in sites):
            yield obj, (R.NO_NETWORK_POLICY, f"{obj.label}: no NetworkPolicy of namespace {namespace} selects its pods", line)
    with_workloads = {obj.namespace for obj, _ in workloads}
    for obj in found:
        if obj.kind == "Namespace" and obj.name not in with_workloads and not policies.get(obj.name) and not policies.get(None):
            yield obj, (R.NO_NETWORK_POLICY, f"namespace {obj.name} has no NetworkPolicy",
                        line_of(obj.metadata, "name") or line_of(obj.body))
