"""User-facing specs (``foresight.ai/v1alpha1``): ModelDeployment, TrainingJob, ScalingPolicy, AnomalyPolicy.

Frozen pydantic models, camelCase in YAML, every field documented; their CRDs are generated
from them (:mod:`foresight.specs.crd`) and :mod:`foresight.gitops.render` renders them.
"""

from foresight.specs.load import SPEC_KINDS, Spec, load_specs, parse_specs
from foresight.specs.model_deployment import ModelDeployment, ModelDeploymentSpec
from foresight.specs.policies import (
    AnomalyPolicy,
    AnomalyPolicySpec,
    ScalingPolicy,
    ScalingPolicySpec,
)
from foresight.specs.training_job import TrainingJob, TrainingJobSpec
from foresight.specs.workload import API_VERSION, GROUP

__all__ = [
    "API_VERSION",
    "GROUP",
    "SPEC_KINDS",
    "AnomalyPolicy",
    "AnomalyPolicySpec",
    "ModelDeployment",
    "ModelDeploymentSpec",
    "ScalingPolicy",
    "ScalingPolicySpec",
    "Spec",
    "TrainingJob",
    "TrainingJobSpec",
    "load_specs",
    "parse_specs",
]
