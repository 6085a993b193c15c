"""``foresight render autoscaling``: validated YAML on stdout or in files, with or without CRD schemas."""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

import foresight.cli.render  # noqa: F401  (registers ``render`` on the app)
from foresight.cli.app import app
from foresight.errors import ConfigError, InputError
from foresight.gitops.validate import SCHEMA_DIR_ENV

BASE = ["render", "autoscaling", "--workload", "api", "--namespace", "shop", "--capacity-rps", "50"]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_both_kinds_on_stdout_validated_against_the_schemas(runner, shared_data, monkeypatch):
    monkeypatch.setenv(SCHEMA_DIR_ENV, str(shared_data / "schemas"))
    result = runner.invoke(app, [*BASE, "--min", "2", "--max", "8"])
    assert result.exit_code == 0, result.output
    docs = list(yaml.safe_load_all(result.stdout))
    assert [d["kind"] for d in docs] == ["HorizontalPodAutoscaler", "ConfigMap", "ScaledObject"]
    assert docs[0]["spec"]["metrics"][0]["external"]["target"]["averageValue"] == "35"
    assert docs[2]["spec"]["triggers"][0]["metadata"]["targetValue"] == "35"
    assert "validated ScaledObject/api: CRD schema" in result.stderr
    assert "validated HorizontalPodAutoscaler/api: Kubernetes" in result.stderr
    assert "not both" in result.stderr


def test_keda_only_into_a_folder_without_schemas_says_what_was_not_validated(runner, tmp_path, monkeypatch):
    monkeypatch.delenv(SCHEMA_DIR_ENV, raising=False)
    monkeypatch.chdir(tmp_path)  # no ../shared/data/schemas from here
    result = runner.invoke(app, [*BASE, "--kind", "keda", "--min", "0", "--out", "manifests"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "manifests").iterdir()) == ["api-scaledobject.yaml"]
    (doc,) = yaml.safe_load_all((tmp_path / "manifests" / "api-scaledobject.yaml").read_text())
    assert doc["spec"]["minReplicaCount"] == 0
    assert "not validated ScaledObject/api (keda.sh/v1alpha1): no CRD schema directory" in result.stderr


def test_hpa_files_include_the_adapter_rule_as_a_literal_block(runner, tmp_path):
    result = runner.invoke(app, [*BASE, "--kind", "hpa", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["api-hpa.yaml", "prometheus-adapter-rules.yaml"]
    text = (tmp_path / "prometheus-adapter-rules.yaml").read_text()
    assert "config.yaml: |\n    externalRules:\n" in text


def test_bad_options_name_the_option(runner, tmp_path):
    result = runner.invoke(app, [*BASE[:3], "API", *BASE[4:6], "--capacity-rps", "-1"])
    assert isinstance(result.exception, InputError)
    message = str(result.exception)
    assert "--workload: 'API' is not a valid name" in message and "--capacity-rps: Input should be greater than 0" in message
    result = runner.invoke(app, [*BASE, "--kind", "hpa", "--min", "0"])
    assert isinstance(result.exception, ConfigError) and "cannot scale to zero" in str(result.exception)
    result = runner.invoke(app, [*BASE, "--schema-dir", str(tmp_path / "absent")])
    assert isinstance(result.exception, ConfigError) and "--schema-dir" in str(result.exception)


def test_desired_form_renders_the_bench_headline_hpa_validated(runner, tmp_path):
    result = runner.invoke(app, [*BASE, "--kind", "hpa", "--form", "desired", "--min", "2", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "validated HorizontalPodAutoscaler/api: Kubernetes" in result.stderr
    (doc,) = yaml.safe_load_all((tmp_path / "api-hpa.yaml").read_text())
    external, cpu = doc["spec"]["metrics"]
    assert external["external"]["metric"]["name"] == "foresight_desired_replicas"
    assert external["external"]["target"] == {"type": "AverageValue", "averageValue": "1"}
    assert cpu["resource"]["target"]["averageUtilization"] == 90
    assert doc["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 0
    assert doc["spec"]["behavior"]["scaleUp"] == {"tolerance": "0"}
    older = runner.invoke(app, [*BASE, "--kind", "hpa", "--form", "desired", "--cluster-tolerance"])
    assert older.exit_code == 0, older.output
    assert "scaleUp" not in older.stdout and "stabilizationWindowSeconds: 0" in older.stdout
    (adapter,) = yaml.safe_load_all((tmp_path / "prometheus-adapter-rules.yaml").read_text())
    assert "^foresight_desired_replicas$" in adapter["data"]["config.yaml"]


def test_desired_form_is_an_hpa_only(runner):
    result = runner.invoke(app, [*BASE, "--form", "desired"])
    assert isinstance(result.exception, InputError) and "--kind hpa" in str(result.exception)
    result = runner.invoke(app, [*BASE, "--kind", "hpa", "--form", "desired", "--cpu-percent", "0"])
    assert isinstance(result.exception, InputError) and "--cpu-percent" in str(result.exception)
    result = runner.invoke(app, [*BASE, "--kind", "hpa", "--form", "desired", "--scale-up-tolerance", "1.5"])
    assert isinstance(result.exception, InputError) and "--scale-up-tolerance" in str(result.exception)
