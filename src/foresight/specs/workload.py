"""What every workload spec shares: the model base, object metadata, resources and placement.

Specs are read from YAML written by people, so field names are Kubernetes-style camelCase
(``gpusPerWorker``, ``timeoutSeconds``: a trailing ``_s`` becomes ``Seconds``) while Python code
uses snake_case; both spellings validate, unknown keys fail (a typo must not be dropped silently).

Placement is where specs most often contradict themselves without anyone noticing until pods stay
``Pending`` forever; :func:`placement_conflicts` finds the contradictions before anything is
rendered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "API_VERSION",
    "EDGE_LABEL",
    "GPU_RESOURCE",
    "GROUP",
    "Metadata",
    "NodeRule",
    "Placement",
    "PreferredNodeRule",
    "Resources",
    "SpecModel",
    "Toleration",
    "camel",
    "checked_labels",
    "placement_conflicts",
    "quantity",
]

GROUP = "foresight.ai"
API_VERSION: Literal["foresight.ai/v1alpha1"] = "foresight.ai/v1alpha1"
#: The label (and taint) KubeEdge and most edge distributions put on edge nodes.
EDGE_LABEL = "node-role.kubernetes.io/edge"
#: The extended resource the NVIDIA device plugin advertises.
GPU_RESOURCE = "nvidia.com/gpu"

_QUANTITY = r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$"
LABEL_KEY = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
LABEL_VALUE = r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$"


def checked_labels(labels: dict[str, str], what: str) -> dict[str, str]:
    """``labels`` when every key and value is a valid Kubernetes label, else a ValueError naming the first
    that is not (``what``: "node label", "pod label", for the message).

    >>> checked_labels({"a/b": "c"}, "node label")
    {'a/b': 'c'}
    """
    for key, value in labels.items():
        if not re.match(LABEL_KEY, key) or not re.match(LABEL_VALUE, value):
            raise ValueError(f"{key}={value!r} is not a valid {what}")
    return labels


#: A container image reference: registry/path[:tag][@digest] (tags may hold upper case).
IMAGE_PATTERN = r"^[a-z0-9]([-a-zA-Z0-9._/:@]*[A-Za-z0-9])?$"
#: DNS-1035 label: a Service name must start with a letter; 50 characters leave room for suffixes.
NAME_PATTERN = r"^[a-z]([-a-z0-9]{0,48}[a-z0-9])?$"


_SUFFIX = {"m": 1e-3, "": 1.0, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
           "Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40, "Pi": 2.0**50, "Ei": 2.0**60}


def quantity(text: str) -> float:
    """A Kubernetes quantity (as :data:`_QUANTITY` accepts them) as a number.

    >>> quantity("500m"), quantity("2"), quantity("1.5Gi") == 1.5 * 2**30
    (0.5, 2.0, True)
    """
    match = re.match(r"^([0-9]+(?:\.[0-9]+)?)([a-zA-Z]*)$", text)
    if match is None or match[2] not in _SUFFIX:
        raise ValueError(f"{text!r} is not a Kubernetes quantity")
    return float(match[1]) * _SUFFIX[match[2]]


def camel(name: str) -> str:
    """The YAML spelling of a Python field name.

    >>> camel("gpus_per_worker"), camel("per_try_timeout_s"), camel("consecutive_5xx_errors")
    ('gpusPerWorker', 'perTryTimeoutSeconds', 'consecutive5xxErrors')
    """
    first, *rest = name.split("_")
    if rest and rest[-1] == "s":
        rest[-1] = "seconds"
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


class SpecModel(BaseModel):
    """Frozen, closed to unknown keys, camelCase in YAML: the common configuration of every spec model."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )


class Metadata(SpecModel):
    """Which object this is; the name and namespace are reused by every rendered object."""

    name: str = Field(
        pattern=NAME_PATTERN,
        description="Name of the workload (lower-case letters, digits, '-'; starts with a letter; at most 50 "
        "characters, so suffixes such as '-canary' still fit Kubernetes' 63).",
    )
    namespace: str = Field(
        "default", pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", description="Namespace of every rendered object."
    )
    labels: dict[str, str] = Field(
        default_factory=dict, description="Extra labels put on every rendered object and its pods."
    )

    @field_validator("labels")
    @classmethod
    def _labels(cls, labels: dict[str, str]) -> dict[str, str]:
        for key, value in labels.items():
            if not re.match(LABEL_KEY, key):
                raise ValueError(f"label key {key!r} is not a valid Kubernetes label key")
            if not re.match(LABEL_VALUE, value):
                raise ValueError(f"label {key}={value!r}: value is not a valid Kubernetes label value")
        return labels


class Resources(SpecModel):
    """CPU, memory and GPUs of one container (for a training job: of one worker).

    Limits default to the requests: a pod whose limits equal its requests is in the Guaranteed
    QoS class (evicted last, whole cores under the static CPU manager) and cannot starve its
    neighbours. ``cpuLimit`` may be raised above the request for servers whose latency suffers
    from CFS throttling; memory's limit always equals its request (a pod above its request is the
    first one evicted anyway); GPUs are whole devices, requested as ``nvidia.com/gpu`` limits as
    the device plugin requires.
    """

    cpu: str = Field("1", pattern=_QUANTITY, description="CPU request as a Kubernetes quantity ('500m', '2').")
    cpu_limit: str | None = Field(
        None, pattern=_QUANTITY, description="CPU limit (default: the request; raise it to let a server burst)."
    )
    memory: str = Field("2Gi", pattern=_QUANTITY, description="Memory request and limit as a quantity ('512Mi', '4Gi').")
    gpus: int = Field(0, ge=0, le=64, description="Whole NVIDIA GPUs (nvidia.com/gpu); 0 for none.")

    @model_validator(mode="after")
    def _limit_covers_request(self) -> Resources:
        if self.cpu_limit is not None and quantity(self.cpu_limit) < quantity(self.cpu):
            raise ValueError(f"cpuLimit {self.cpu_limit} is below the cpu request {self.cpu}: Kubernetes refuses it")
        return self

    @property
    def cpu_limit_or_request(self) -> str:
        """The CPU limit to render: the given one, else the request."""
        return self.cpu_limit or self.cpu


class NodeRule(SpecModel):
    """One required condition on a node label (a node affinity match expression)."""

    key: str = Field(pattern=LABEL_KEY, description="Node label key, e.g. 'nvidia.com/gpu.product'.")
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"] = Field(
        description="How the label must relate to the values (Kubernetes node selector operators)."
    )
    values: list[str] = Field(
        default_factory=list, description="Values for In/NotIn (at least one); one integer for Gt/Lt; none otherwise."
    )

    @model_validator(mode="after")
    def _values_fit_operator(self) -> NodeRule:
        if self.operator in ("In", "NotIn") and not self.values:
            raise ValueError(f"operator {self.operator} needs at least one value")
        if self.operator in ("Exists", "DoesNotExist") and self.values:
            raise ValueError(f"operator {self.operator} takes no values")
        if self.operator in ("Gt", "Lt") and (len(self.values) != 1 or not re.match(r"^-?[0-9]+$", self.values[0])):
            raise ValueError(f"operator {self.operator} takes exactly one integer value")
        return self


class PreferredNodeRule(NodeRule):
    """A node label condition the scheduler favours (weight 1-100) but does not require."""

    weight: int = Field(50, ge=1, le=100, description="How strongly nodes matching the rule are preferred (1-100).")


class Toleration(SpecModel):
    """Lets pods run on nodes with a matching taint."""

    key: str = Field(pattern=LABEL_KEY, description="Taint key.")
    operator: Literal["Exists", "Equal"] = Field("Exists", description="Exists matches any value; Equal needs 'value'.")
    value: str | None = Field(None, pattern=LABEL_VALUE, description="Taint value, with operator Equal.")
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = Field(
        None, description="Taint effect tolerated; empty tolerates every effect."
    )

    @model_validator(mode="after")
    def _value_fits_operator(self) -> Toleration:
        if self.operator == "Exists" and self.value is not None:
            raise ValueError("operator Exists takes no value")
        if self.operator == "Equal" and self.value is None:
            raise ValueError("operator Equal needs a value")
        return self


class Placement(SpecModel):
    """Where pods may run: GPU node pools, labelled hardware (a model on edge nodes: ``ModelPlacement``)."""

    node_selector: dict[str, str] = Field(
        default_factory=dict, description="Node labels that must match exactly (Kubernetes nodeSelector)."
    )
    required: list[NodeRule] = Field(
        default_factory=list, description="Node label conditions that must all hold (required node affinity)."
    )
    preferred: list[PreferredNodeRule] = Field(
        default_factory=list, description="Node label conditions favoured by weight (preferred node affinity)."
    )
    tolerations: list[Toleration] = Field(default_factory=list, description="Taints the pods tolerate.")

    @field_validator("node_selector")
    @classmethod
    def _selector(cls, selector: dict[str, str]) -> dict[str, str]:
        return checked_labels(selector, "node label")

    @model_validator(mode="after")
    def _consistent(self) -> Placement:
        conflicts = placement_conflicts(self)
        if conflicts:
            raise ValueError("no node can satisfy this placement: " + "; ".join(conflicts))
        return self

    def exact_labels(self) -> list[tuple[str, str, str]]:
        """Every node label that must match exactly, with where it comes from (a model's edge placement adds some)."""
        return [(key, value, f"nodeSelector {key}={value}") for key, value in self.node_selector.items()]

    def selector(self) -> dict[str, str]:
        """The effective nodeSelector."""
        return {key: value for key, value, _ in self.exact_labels()}


@dataclass
class _KeyConstraint:
    """What the rules on one label key allow: presence, a set of values, forbidden values, integer bounds."""

    present: set[bool] = field(default_factory=lambda: {True, False})
    allowed: set[str] | None = None
    forbidden: set[str] = field(default_factory=set)
    above: int | None = None
    below: int | None = None
    sources: list[str] = field(default_factory=list)

    def require(self, allowed: set[str] | None = None) -> None:
        self.present &= {True}
        if allowed is not None:
            self.allowed = allowed if self.allowed is None else self.allowed & allowed

    def why_empty(self) -> str | None:
        if not self.present:
            return "the label must both exist and be absent"
        if False in self.present:
            return None
        if self.above is not None and self.below is not None and self.below - self.above < 2:
            return f"no integer is above {self.above} and below {self.below}"
        if self.allowed is not None:
            left = [v for v in self.allowed - self.forbidden if self._in_bounds(v)]
            if not left:
                return "no value is left that every rule allows"
        return None

    def _in_bounds(self, value: str) -> bool:
        if self.above is None and self.below is None:
            return True
        if not re.match(r"^-?[0-9]+$", value):
            return False
        number = int(value)
        return (self.above is None or number > self.above) and (self.below is None or number < self.below)


def placement_conflicts(placement: Placement) -> list[str]:
    """Why no node could satisfy the exact labels (nodeSelector, edge placement) and the required rules together.

    Each label key is checked on its own (rules on different keys never conflict); preferred
    rules are wishes and never conflict.

    >>> p = Placement.model_construct(node_selector={"pool": "gpu"}, preferred=[],
    ...     required=[NodeRule(key="pool", operator="NotIn", values=["gpu", "cpu"])])
    >>> placement_conflicts(p)
    ["label 'pool' (nodeSelector pool=gpu; required pool NotIn [gpu, cpu]): no value is left that every rule allows"]
    """
    keys: dict[str, _KeyConstraint] = {}
    for key, value, source in placement.exact_labels():
        constraint = keys.setdefault(key, _KeyConstraint())
        constraint.require({value})
        constraint.sources.append(source)
    for rule in placement.required:
        constraint = keys.setdefault(rule.key, _KeyConstraint())
        constraint.sources.append(f"required {rule.key} {rule.operator}" + (f" [{', '.join(rule.values)}]" if rule.values else ""))
        if rule.operator == "In":
            constraint.require(set(rule.values))
        elif rule.operator == "NotIn":
            constraint.forbidden |= set(rule.values)
        elif rule.operator == "Exists":
            constraint.require()
        elif rule.operator == "DoesNotExist":
            constraint.present &= {False}
        else:
            constraint.require()
            bound = int(rule.values[0])
            if rule.operator == "Gt":
                constraint.above = bound if constraint.above is None else max(constraint.above, bound)
            else:
                constraint.below = bound if constraint.below is None else min(constraint.below, bound)
    found = []
    for key, constraint in keys.items():
        reason = constraint.why_empty()
        if reason:
            found.append(f"label {key!r} ({'; '.join(constraint.sources)}): {reason}")
    return found
