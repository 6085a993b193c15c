"""Checks on RBAC objects: wildcards, escalation verbs and exec in (Cluster)Roles; cluster-admin bindings."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from foresight.security import manifest_rules as R
from foresight.security.manifest_pods import Hit, as_list, as_map
from foresight.security.manifest_yaml import line_of

__all__ = ["binding_hits", "role_hits"]

_ESCALATION_VERBS = frozenset({"escalate", "bind", "impersonate"})
_EXEC_RESOURCES = frozenset({"pods/exec", "pods/attach", "pods/*"})
_EXEC_VERBS = frozenset({"create", "get", "*"})


def _strings(value: object) -> list[str]:
    return [item for item in as_list(value) if isinstance(item, str)]


def role_hits(label: str, role: Mapping[str, Any]) -> Iterator[Hit]:
    """Each rule of a Role or ClusterRole that grants a wildcard, an escalation verb or exec into pods."""
    rules = role.get("rules")
    for index, rule in enumerate(as_list(rules)):
        rule = as_map(rule)
        where = line_of(rules, index)
        verbs, resources = _strings(rule.get("verbs")), _strings(rule.get("resources"))
        wild = [key for key in ("verbs", "resources", "apiGroups", "nonResourceURLs") if "*" in _strings(rule.get(key))]
        if wild:
            yield R.RBAC_WILDCARD, f"{label}: rule {index} grants '*' in {', '.join(wild)}", line_of(rule, wild[0]) or where
        escalation = sorted(_ESCALATION_VERBS.intersection(verbs))
        if escalation:
            yield R.RBAC_ESCALATION, f"{label}: rule {index} grants {', '.join(escalation)}", line_of(rule, "verbs") or where
        execs = sorted(_EXEC_RESOURCES.intersection(resources))
        if execs and _EXEC_VERBS.intersection(verbs):
            yield R.RBAC_EXEC, f"{label}: rule {index} grants {', '.join(execs)}", line_of(rule, "resources") or where


def binding_hits(label: str, binding: Mapping[str, Any]) -> Iterator[Hit]:
    """A (Cluster)RoleBinding to cluster-admin, or one whose subject is the system:masters group."""
    role_ref = as_map(binding.get("roleRef"))
    if role_ref.get("name") == "cluster-admin" and role_ref.get("kind", "ClusterRole") == "ClusterRole":
        yield R.CLUSTER_ADMIN, f"{label}: binds ClusterRole cluster-admin", line_of(role_ref, "name")
    subjects = binding.get("subjects")
    for index, subject in enumerate(as_list(subjects)):
        subject = as_map(subject)
        if subject.get("kind") == "Group" and subject.get("name") == "system:masters":
            yield R.CLUSTER_ADMIN, f"{label}: binds the group system:masters", line_of(subject, "name") or line_of(subjects, index)
