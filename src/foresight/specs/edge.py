"""Edge placement of a ModelDeployment (``placement.edge``): the seed's AIDeployment on KubeEdge.

The seed's AIDeployment ``{modelPath, replicas, nodeAffinity}`` maps onto one ModelDeployment:
``placement.edge.modelPath``, the spec's ``replicas`` (or ``autoscaling``), and ``placement``'s
``required`` / ``preferred`` / ``nodeSelector`` / ``tolerations``, which then apply among edge nodes.
Setting ``placement.edge`` is what sends the model to the edge; there is no other switch.

An edge model is not fetched from the cloud when its pod starts (edge nodes lose their uplink for
hours): it already lies on the node, put there by the device's provisioning, at ``modelPath``.
The pods go to KubeEdge edge nodes only (the ``node-role.kubernetes.io/edge`` label that edgecore
registers), optionally to one KubeEdge NodeGroup (the ``apps.kubeedge.io/belonging-to`` label its
controller sets), and tolerate the taints edge nodes carry (see :mod:`foresight.gitops.edge`).

Example (YAML, in a ModelDeployment's spec)::

    replicas: 2
    placement:
      edge:
        modelPath: /var/lib/models/detector/model.onnx
        nodeGroup: shop-floor-7
      required:
        - {key: kubernetes.io/arch, operator: In, values: [arm64]}
    mesh: null
"""

from __future__ import annotations

import posixpath

from pydantic import Field, field_validator

from foresight.specs.workload import EDGE_LABEL, LABEL_VALUE, Placement, SpecModel

__all__ = ["NODE_GROUP_LABEL", "EdgePlacement", "ModelPlacement"]

#: The label KubeEdge's NodeGroup controller puts on the nodes of a group.
NODE_GROUP_LABEL = "apps.kubeedge.io/belonging-to"


class EdgePlacement(SpecModel):
    """What only an edge model has: its file on the node, its node group, how long it outlives the uplink."""

    model_path: str = Field(
        pattern=r"^/[A-Za-z0-9._/-]*$",
        max_length=1024,
        description="Absolute path of the model on the edge node (a file such as model.onnx, or a directory: "
        "Triton's model repository); mounted read-only where the server reads its model.",
    )
    node_group: str | None = Field(
        None, pattern=LABEL_VALUE, min_length=1, description="Run only in this KubeEdge NodeGroup."
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

    def labels(self) -> list[tuple[str, str, str]]:
        """The node labels edge placement requires, each with where it comes from (for conflict messages)."""
        found = [(EDGE_LABEL, "", f"placement.edge sets {EDGE_LABEL}=''")]
        if self.node_group is not None:
            found.append((NODE_GROUP_LABEL, self.node_group, f"placement.edge.nodeGroup sets {NODE_GROUP_LABEL}"))
        return found


class ModelPlacement(Placement):
    """Where a model server's pods may run: the generic node rules, on edge nodes when ``edge`` is set."""

    edge: EdgePlacement | None = Field(
        None,
        description="Serve on KubeEdge edge nodes, from a model already on the node (unset: cluster nodes, "
        "the model fetched by the storage initializer).",
    )

    def exact_labels(self) -> list[tuple[str, str, str]]:
        """The nodeSelector's labels, then the edge role and node group labels when ``edge`` is set."""
        return super().exact_labels() + (self.edge.labels() if self.edge is not None else [])
