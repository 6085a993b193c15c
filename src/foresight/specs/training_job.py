"""TrainingJob: one framework-agnostic spec for distributed training, whatever operator runs it.

Users say which framework, image, command, how many workers with how many GPUs each, and which
dataset version; the renderer picks the Kubernetes object that runs it (``operator``):

* ``trainjob``: Kubeflow Trainer v2 ``TrainJob`` on a ClusterTrainingRuntime (default for PyTorch);
* ``pytorchjob`` / ``tfjob``: Kubeflow Training Operator v1 (still the most deployed; TFJob is the
  default for TensorFlow, which Trainer v2 has no runtime for);
* ``job``: a plain ``batch/v1`` Job, Indexed when there are several workers (XGBoost and generic
  code, which need no operator).

The dataset travels as ``DATASET_URI``/``DATASET_VERSION`` environment variables (every operator
can pass them; Trainer v2's ``datasetConfig`` would need a runtime with a dataset initializer)
and as a label, so a run can be traced back to its data.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from foresight.specs.security import HardenedWorkload
from foresight.specs.workload import (
    API_VERSION,
    IMAGE_PATTERN,
    LABEL_VALUE,
    Metadata,
    Placement,
    Resources,
    SpecModel,
)

__all__ = ["DEFAULT_OPERATOR", "Dataset", "Operator", "TrainingFramework", "TrainingJob", "TrainingJobSpec"]

TrainingFramework = Literal["pytorch", "tensorflow", "xgboost", "generic"]
Operator = Literal["trainjob", "pytorchjob", "tfjob", "job"]

#: The operator chosen when the spec says ``auto``.
DEFAULT_OPERATOR: dict[str, Operator] = {"pytorch": "trainjob", "tensorflow": "tfjob", "xgboost": "job", "generic": "job"}
#: Which frameworks each operator can run.
_RUNS: dict[str, set[str]] = {
    "trainjob": {"pytorch"},
    "pytorchjob": {"pytorch"},
    "tfjob": {"tensorflow"},
    "job": {"pytorch", "tensorflow", "xgboost", "generic"},
}


class Dataset(SpecModel):
    """The data a run trains on, pinned to a version so the run can be repeated."""

    uri: str = Field(pattern=r"^[a-z][a-z0-9+.-]*://\S+$", description="Where the dataset is (any URI scheme).")
    version: str = Field(min_length=1, max_length=63, pattern=LABEL_VALUE, description="Dataset version (a label value).")


class TrainingJobSpec(HardenedWorkload):
    """The desired training run."""

    framework: TrainingFramework = Field(description="Training framework: pytorch, tensorflow, xgboost or generic.")
    image: str = Field(pattern=IMAGE_PATTERN, description="Training container image.")
    command: list[str] = Field(min_length=1, description="Entrypoint of the training container.")
    args: list[str] = Field(default_factory=list, description="Arguments of the entrypoint.")
    env: dict[str, str] = Field(default_factory=dict, description="Extra environment variables of every worker.")
    workers: int = Field(1, ge=1, le=1024, description="Number of workers (nodes) training together.")
    resources: Resources = Field(
        default_factory=Resources, description="Resources of each worker; gpus is the number of GPUs per worker."
    )
    dataset: Dataset | None = Field(None, description="The dataset and its version.")
    operator: Literal["auto", "trainjob", "pytorchjob", "tfjob", "job"] = Field(
        "auto",
        description="What runs the job: 'auto' picks Trainer v2 TrainJob for pytorch, TFJob for tensorflow and a "
        "batch/v1 Job otherwise.",
    )
    training_runtime: str = Field(
        "torch-distributed",
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        description="Operator 'trainjob': the ClusterTrainingRuntime to run on.",
    )
    max_restarts: int = Field(3, ge=0, le=100, description="Failed attempts retried before the job fails.")
    placement: Placement = Field(default_factory=Placement, description="Which nodes the workers may run on.")

    # Field validators so that each error names the field to fix (``info.data``: fields above).

    @field_validator("operator")
    @classmethod
    def _operator_fits(cls, operator: str, info: ValidationInfo) -> str:
        framework = info.data.get("framework")
        if framework is not None and operator != "auto" and framework not in _RUNS[operator]:
            fits = sorted(op for op, frameworks in _RUNS.items() if framework in frameworks)
            raise ValueError(f"operator {operator!r} cannot run framework {framework!r}; use 'auto' or one of {fits}")
        return operator

    @field_validator("placement")
    @classmethod
    def _placement_fits(cls, placement: Placement, info: ValidationInfo) -> Placement:
        framework, operator = info.data.get("framework"), info.data.get("operator")
        chosen = DEFAULT_OPERATOR.get(framework or "") if operator == "auto" else operator
        if chosen == "trainjob" and (placement.required or placement.preferred):
            raise ValueError(
                "operator 'trainjob' cannot place by node affinity (a TrainJob's podSpecOverrides has none): "
                "use nodeSelector, or operator 'pytorchjob'"
            )
        return placement

    @model_validator(mode="after")
    def _security_fits_operator(self) -> TrainingJobSpec:
        if self.resolved_operator == "trainjob" and (
            self.security_context is not None or self.container_security_context is not None
            or self.service_account.automount_token
        ):
            raise ValueError(
                "operator 'trainjob' cannot set securityContext, containerSecurityContext or "
                "serviceAccount.automountToken (a TrainJob's podSpecOverrides has none: its ClusterTrainingRuntime "
                "decides them); use operator 'pytorchjob', or set them in the runtime"
            )
        return self

    @property
    def resolved_operator(self) -> Operator:
        """The operator after ``auto`` is resolved for the framework."""
        return DEFAULT_OPERATOR[self.framework] if self.operator == "auto" else self.operator


class TrainingJob(SpecModel):
    """A training run on Kubernetes (apiVersion foresight.ai/v1alpha1)."""

    api_version: Literal["foresight.ai/v1alpha1"] = Field(API_VERSION, description="Version of this spec's schema.")
    kind: Literal["TrainingJob"] = Field("TrainingJob", description="Always TrainingJob.")
    metadata: Metadata = Field(description="Name, namespace and labels.")
    spec: TrainingJobSpec = Field(description="Desired state.")
