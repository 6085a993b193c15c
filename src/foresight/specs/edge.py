"""The ``edge`` section of a ModelDeployment: the seed's AIDeployment (model path, replicas, node affinity) on KubeEdge.

An edge model is not fetched from the cloud when its pod starts (edge nodes lose their uplink for
hours): it already lies on the node, put there by the device's provisioning, at ``modelPath``.
The pods go to KubeEdge edge nodes only (the ``node-role.kubernetes.io/edge`` label that edgecore
registers), optionally to one KubeEdge NodeGroup (the ``apps.kubeedge.io/belonging-to`` label its
controller sets), and tolerate the taints edge nodes carry: the edge taint, and, since KubeEdge
keeps pods running on a node that lost the cloud (edge autonomy), the unreachable / not-ready
taints that would otherwise make the cloud evict them.

Example (YAML, in a ModelDeployment's spec)::

    edge:
      modelPath: /var/lib/models/detector/model.onnx
      replicas: 1
      nodeGroup: shop-floor-7
      nodeAffinity:
        - {key: kubernetes.io/arch, operator: In, values: [arm64]}
"""

from __future__ import annotations

import posixpath

from pydantic import Field, field_validator, model_validator

from foresight.specs.workload import (
    EDGE_LABEL,
    LABEL_VALUE,
    NodeRule,
    Placement,
    PreferredNodeRule,
    SpecModel,
    Toleration,
    checked_labels,
)

__all__ = ["NODE_GROUP_LABEL", "EdgePlacement"]

#: The label KubeEdge's NodeGroup controller puts on the nodes of a group.
NODE_GROUP_LABEL = "apps.kubeedge.io/belonging-to"


class EdgePlacement(SpecModel):
    """Where and how a model runs on KubeEdge edge nodes."""

    model_path: str = Field(
        pattern=r"^/[A-Za-z0-9._/-]*$",
        max_length=1024,
        description="Absolute path of the model on the edge node (a file such as model.onnx, or a directory); "
        "mounted read-only into the server.",
    )
    replicas: int = Field(1, ge=0, le=1000, description="Pods of the model across the edge nodes it may run on.")
    node_group: str | None = Field(
        None, pattern=LABEL_VALUE, min_length=1, description="Run only in this KubeEdge NodeGroup."
    )
    node_selector: dict[str, str] = Field(
        default_factory=dict, description="Further node labels that must match exactly."
    )
    node_affinity: list[NodeRule] = Field(
        default_factory=list, description="Node label conditions that must all hold (required node affinity)."
    )
    preferred: list[PreferredNodeRule] = Field(
        default_factory=list, description="Node label conditions favoured by weight (preferred node affinity)."
    )
    tolerations: list[Toleration] = Field(
        default_factory=list, description="Further taints tolerated (the edge taint is always tolerated)."
    )
    offline_tolerance_s: int | None = Field(
        None,
        ge=0,
        le=10**9,
        description="How long pods stay bound to an edge node that lost the cloud before they are evicted; "
        "unset: forever (KubeEdge keeps them running offline; evicting them would stop the model when it "
        "is needed most).",
    )

    @field_validator("model_path")
    @classmethod
    def _plain_path(cls, path: str) -> str:
        if path == "/" or ".." in path.split("/") or "//" in path:
            raise ValueError(f"modelPath {path!r}: give the model's own file or directory, without '..' or '//'")
        return posixpath.normpath(path)

    @field_validator("node_selector")
    @classmethod
    def _labels(cls, selector: dict[str, str]) -> dict[str, str]:
        return checked_labels(selector, "node label")

    @model_validator(mode="after")
    def _satisfiable(self) -> EdgePlacement:
        self.placement()  # raises with the conflicting rules when no node could satisfy them
        return self

    def selector(self) -> dict[str, str]:
        """The nodeSelector: the edge role, the node group if any, and the given labels."""
        group = {NODE_GROUP_LABEL: self.node_group} if self.node_group else {}
        return {**self.node_selector, **group, EDGE_LABEL: ""}

    def placement(self) -> Placement:
        """The same constraints as a generic :class:`Placement` (which checks they can be met together)."""
        return Placement(node_selector={k: v for k, v in self.selector().items() if k != EDGE_LABEL}, edge=True,
                         required=self.node_affinity, preferred=self.preferred, tolerations=self.tolerations)
