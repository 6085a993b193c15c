"""Spec files as users write them: the examples load, and every kind of mistake is named precisely
(file, line, document, field path, what is wrong), all mistakes of a file at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from foresight.errors import InputError
from foresight.specs import ModelDeployment, TrainingJob, load_specs, parse_specs

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

MODEL = """\
apiVersion: foresight.ai/v1alpha1
kind: ModelDeployment
metadata:
  name: iris
spec:
  model:
    uri: s3://models/iris/v2
    version: v2
  framework: sklearn
{extra}"""

TRAINING = """\
apiVersion: foresight.ai/v1alpha1
kind: TrainingJob
metadata:
  name: mnist
spec:
  framework: {framework}
  image: ghcr.io/org/mnist:1
  command: [python, train.py]
{extra}"""


def model(extra: str = "") -> str:
    return MODEL.format(extra=extra)


def training(framework: str = "pytorch", extra: str = "") -> str:
    return TRAINING.format(framework=framework, extra=extra)


def error_of(text: str) -> str:
    with pytest.raises(InputError) as caught:
        parse_specs(text, "spec.yaml")
    return str(caught.value)


def test_examples_load_with_the_fields_they_spell_out() -> None:
    canary = load_specs(EXAMPLES / "model-deployment-canary.yaml")[0]
    assert isinstance(canary, ModelDeployment)
    assert canary.spec.canary is not None and canary.spec.canary.traffic.canary == 10
    assert canary.spec.mesh is not None and canary.spec.mesh.retries.per_try_timeout_s == 0.5
    gpu, edge = load_specs(EXAMPLES / "model-deployment-gpu.yaml")
    assert isinstance(gpu, ModelDeployment) and gpu.spec.resources.gpus == 1
    assert isinstance(edge, ModelDeployment) and edge.spec.placement.edge is not None and edge.spec.mesh is None
    jobs = load_specs(EXAMPLES / "training-jobs.yaml")
    assert [j.spec.resolved_operator for j in jobs if isinstance(j, TrainingJob)] == ["trainjob", "pytorchjob", "tfjob", "job"]


def test_snake_case_and_camel_case_both_validate_and_mean_the_same() -> None:
    camel = parse_specs(training(extra="  resources: {gpus: 2}\n  maxRestarts: 5\n"))[0]
    snake = parse_specs(training(extra="  resources: {gpus: 2}\n  max_restarts: 5\n"))[0]
    assert camel == snake
    assert camel.model_dump()["spec"]["maxRestarts"] == 5


@pytest.mark.parametrize(
    ("text", "line", "field", "message"),
    [
        (training("keras"), 6, "spec.framework", "'pytorch', 'tensorflow', 'xgboost' or 'generic'"),
        (training(extra="  resources:\n    gpus: -1\n"), 10, "spec.resources.gpus", "greater than or equal to 0"),
        (
            model("  mesh: {}\n  canary:\n    model: {uri: s3://m/iris/v3, version: v3}\n    traffic:\n      stable: 90\n      canary: 20\n"),
            14,
            "spec.canary.traffic",
            "weights must sum to 100, got stable 90 + canary 20 = 110",
        ),
        (
            model("  placement:\n    nodeSelector: {pool: gpu}\n    required:\n      - {key: pool, operator: NotIn, values: [gpu]}\n"),
            11,
            "spec.placement",
            "label 'pool' (nodeSelector pool=gpu; required pool NotIn [gpu]): no value is left",
        ),
        (
            model("  placement:\n    edge: {modelPath: /m/a.onnx}\n    required:\n      - {key: node-role.kubernetes.io/edge, operator: DoesNotExist}\n"),
            11,
            "spec.placement",
            "must both exist and be absent",
        ),
        (model("  replicas: 2\n  autoscaling: {policy: cpu}\n"), 11, "spec.autoscaling", "set replicas or autoscaling, not both"),
        (model("  autoscaling: {policy: predictive}\n"), 10, "spec.autoscaling", "needs capacityRps"),
        (model("  autoscaling: {policy: cpu, minReplicas: 0}\n"), 10, "spec.autoscaling", "scale to zero"),
        (model("  autoscaling: {policy: cpu, minReplicas: 5, maxReplicas: 2}\n"), 10, "spec.autoscaling", "minReplicas (5) is above maxReplicas (2)"),
        (
            model("  mesh:\n    timeoutSeconds: 1\n    retries: {attempts: 2, perTryTimeoutSeconds: 3}\n"),
            12,
            "spec.mesh.retries",
            "perTryTimeoutSeconds (3.0) exceeds the mesh's timeoutSeconds (1.0)",
        ),
        (model("  mesh: {timeoutSeconds: 0}\n"), 10, "spec.mesh.timeoutSeconds", "greater than or equal to 0.001"),
        (
            model("  mesh: null\n  canary:\n    model: {uri: s3://m/iris/v3, version: v3}\n    traffic: {stable: 90, canary: 10}\n"),
            12,
            "spec.canary",
            "a canary needs mesh settings",
        ),
        (
            model("  canary:\n    model: {uri: s3://m/iris/v2b, version: v2}\n    traffic: {stable: 90, canary: 10}\n"),
            11,
            "spec.canary",
            "equals the stable one (v2)",
        ),
        (model("  runtime: {port: 9000}\n"), 10, "spec.runtime", "apply to framework 'custom' only"),
        (model("  replica: 3\n"), 10, "spec.replica", "Extra inputs are not permitted"),
        (model().replace("s3://models/iris/v2", "ftp://models/iris"), 7, "spec.model.uri", "should match pattern"),
        (model().replace("name: iris", "name: Iris_Model"), 4, "metadata.name", "should match pattern"),
        (training("tensorflow", "  operator: pytorchjob\n"), 9, "spec.operator", "cannot run framework 'tensorflow'"),
        (
            training(extra="  placement:\n    required:\n      - {key: zone, operator: In, values: [a]}\n"),
            10,
            "spec.placement",
            "operator 'trainjob' cannot place by node affinity",
        ),
        (training(extra="  workers: 0\n"), 9, "spec.workers", "greater than or equal to 1"),
        (training(extra="  placement:\n    required:\n      - {key: zone, operator: Gt, values: [high]}\n"), 11, "spec.placement.required[0]", "exactly one integer"),
    ],
)
def test_a_bad_spec_is_named_by_file_line_document_and_field(text: str, line: int, field: str, message: str) -> None:
    error = error_of(text)
    assert f"spec.yaml:{line}: document 1 (" in error
    assert f": {field}: " in error
    assert message in error


def test_every_problem_of_every_document_is_reported_at_once() -> None:
    text = model("  resources: {gpus: -2}\n") + "---\n" + training("keras")
    error = error_of(text)
    assert "2 problem(s)" in error
    assert "document 1 (ModelDeployment/iris): spec.resources.gpus" in error
    assert "spec.yaml:17: document 2 (TrainingJob/mnist): spec.framework" in error


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kind: ModelDeployment\nmetadata: {name: a}\n", "spec.yaml:1: document 1: apiVersion: None is not foresight.ai/v1alpha1"),
        ("apiVersion: foresight.ai/v1alpha1\nkind: Pipeline\n", "kind: 'Pipeline' is not one of ModelDeployment, TrainingJob"),
        ("- just\n- a list\n", "a spec is a mapping"),
        ("apiVersion: foresight.ai/v1alpha1\nkind: [unclosed\n", "spec.yaml:3: not valid YAML"),
        ("# only a comment\n", "no spec found"),
    ],
)
def test_files_that_hold_no_spec_are_refused_with_the_reason(text: str, message: str) -> None:
    assert message in error_of(text)


def test_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="missing.yaml: cannot read spec file"):
        load_specs(tmp_path / "missing.yaml")


def test_specs_are_frozen() -> None:
    spec = parse_specs(training())[0]
    with pytest.raises(Exception, match="frozen"):
        spec.spec.workers = 3  # type: ignore[misc]
