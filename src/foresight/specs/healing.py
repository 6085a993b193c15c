"""HealingPolicy: which self-healing actions Foresight may take, on which workloads of a namespace, how often.

Predicting a failure is safe; acting on it is not: a restart, a resize or a drain on a wrong
prediction disrupts a healthy service. So nothing is done without a HealingPolicy in the pod's
namespace that covers its workload and allows the action, within its rate limits, and a new
policy only records what it would do (``dryRun`` defaults to true) until someone turns that off.
``foresight serve`` lists the policies every ``cluster.policy_period_s`` (there is nothing to render
for them, so the operator does not reconcile them).

>>> p = HealingPolicy.model_validate({"metadata": {"name": "shop-heal", "namespace": "shop"},
...                                   "spec": {"workloads": ["cart"], "actions": ["restart", "resize"]}})
>>> p.spec.actions, p.spec.dry_run, p.spec.rate_limits.per_workload
(['restart', 'resize'], True, 1)
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from foresight.specs.workload import API_VERSION, Metadata, SpecModel

__all__ = ["HealingPolicy", "HealingPolicySpec", "HealingRateLimits"]

_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
ActionName = Literal["restart", "resize", "scale_out", "drain"]


class HealingRateLimits(SpecModel):
    """How many actions may be taken per hour (dry-run ones count: a dry run shows what acting would do)."""

    per_workload: int = Field(1, ge=0, le=100, description="Actions per hour on the pods of one workload.")
    per_namespace: int = Field(5, ge=0, le=1000, description="Actions per hour in this policy's namespace.")


class HealingPolicySpec(SpecModel):
    """Which predicted failures of a namespace's workloads are acted on, and how."""

    workloads: list[str] = Field(
        default_factory=list, max_length=500,
        description="Names of the workloads (Deployments, StatefulSets) covered; empty: every workload of the namespace.",
    )
    actions: list[ActionName] = Field(
        default_factory=lambda: ["restart", "resize", "scale_out"], min_length=1,
        description="Allowed actions: restart (a replacement Ready first, then an eviction that respects "
        "PodDisruptionBudgets), resize (memory or CPU raised in place through pods/resize where the node has room, "
        "else one more replica), scale_out (one more replica), drain (cordon the node, evict its pods one at a time).",
    )
    dry_run: bool = Field(True, description="Decide and audit every action, but change nothing.")
    rate_limits: HealingRateLimits = Field(default_factory=HealingRateLimits, description="Actions per hour.")

    @field_validator("workloads")
    @classmethod
    def _names(cls, names: list[str]) -> list[str]:
        bad = [n for n in names if not re.match(_DNS_LABEL, n)]
        if bad:
            raise ValueError(f"not workload names (DNS labels): {', '.join(bad[:5])}")
        return names


class HealingPolicy(SpecModel):
    """Lets Foresight act on predicted pod and node failures (apiVersion foresight.ai/v1alpha1)."""

    api_version: Literal["foresight.ai/v1alpha1"] = Field(API_VERSION, description="Version of this spec's schema.")
    kind: Literal["HealingPolicy"] = Field("HealingPolicy", description="Always HealingPolicy.")
    metadata: Metadata = Field(description="Name and namespace (the namespace whose workloads it covers).")
    spec: HealingPolicySpec = Field(default_factory=HealingPolicySpec, description="Desired state.")
