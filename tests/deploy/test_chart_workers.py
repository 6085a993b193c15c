"""The chart's scale-out workers: their own Deployment, PodDisruptionBudget and NetworkPolicy, rendered
only when NATS is configured, wired so that `foresight worker` and serve read the same scaleout settings,
and passing Foresight's own manifest scanner."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from foresight.config import load_settings
from foresight.gitops.validate import validate_manifests
from foresight.operator.chart import Chart, load_chart, render_chart
from foresight.security import Level, scan_manifest_files

CHART = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "foresight"
NATS = {"scaleout": {"natsUrl": "nats://nats.nats.svc:4222", "stream": "samples-prod", "partitions": 32,
                     "workers": {"replicas": 3, "maxUnavailable": 1,
                                 "resources": {"requests": {"cpu": "1", "memory": "1Gi"},
                                               "limits": {"cpu": "2", "memory": "2Gi"}}}}}


@pytest.fixture(scope="module")
def chart() -> Chart:
    return load_chart(CHART)


def docs_of(files: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    return {path: [d for d in yaml.safe_load_all(text) if d is not None]
            for path, text in files.items() if path.startswith("templates/")}


def one(docs: dict[str, list[dict[str, Any]]], kind: str, name: str) -> dict[str, Any]:
    found = [d for ds in docs.values() for d in ds if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def test_without_nats_no_worker_is_rendered(chart: Chart) -> None:
    docs = docs_of(render_chart(chart))
    assert not [d for ds in docs.values() for d in ds if d["metadata"]["name"].endswith("-worker")]
    api = one(docs, "Deployment", "foresight")["spec"]["template"]["spec"]["containers"][0]
    assert not [e for e in api["env"] if e["name"].startswith("FORESIGHT_SCALEOUT__")]


def test_workers_run_as_their_own_deployment_with_a_disruption_budget(chart: Chart) -> None:
    docs = docs_of(render_chart(chart, NATS))
    worker = one(docs, "Deployment", "foresight-worker")
    serve = one(docs, "Deployment", "foresight")
    assert worker["spec"]["replicas"] == 3
    pod = worker["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["args"] == ["worker", "--config", "/etc/foresight/config.yaml"]
    assert container["resources"] == NATS["scaleout"]["workers"]["resources"]
    assert pod["automountServiceAccountToken"] is False  # workers never call the Kubernetes API
    sc = container["securityContext"]
    assert (sc["runAsNonRoot"], sc["readOnlyRootFilesystem"], sc["allowPrivilegeEscalation"]) == (True, True, False)
    # the two Deployments never select each other's pods
    worker_labels = worker["spec"]["template"]["metadata"]["labels"]
    serve_selector = serve["spec"]["selector"]["matchLabels"]
    assert not serve_selector.items() <= worker_labels.items()
    assert not worker["spec"]["selector"]["matchLabels"].items() <= serve["spec"]["template"]["metadata"]["labels"].items()

    pdb = one(docs, "PodDisruptionBudget", "foresight-worker")
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"].items() <= worker_labels.items()
    policy = one(docs, "NetworkPolicy", "foresight-worker")
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= worker_labels.items()
    assert policy["spec"]["policyTypes"] == ["Ingress"] and "ingress" not in policy["spec"]  # nothing comes in


def test_worker_and_serve_read_the_same_scaleout_settings(chart: Chart, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    docs = docs_of(render_chart(chart, NATS))
    worker = one(docs, "Deployment", "foresight-worker")["spec"]["template"]["spec"]
    [volume] = [v for v in worker["volumes"] if v["name"] == "config"]
    config_map = one(docs, "ConfigMap", volume["configMap"]["name"])
    [mount] = [m for m in worker["containers"][0]["volumeMounts"] if m["name"] == "config"]
    config = tmp_path / "config.yaml"
    config.write_text(config_map["data"]["config.yaml"], encoding="utf-8")
    assert f"{mount['mountPath']}/config.yaml" == worker["containers"][0]["args"][2]
    read_by_worker = load_settings(config).scaleout

    serve = one(docs, "Deployment", "foresight")["spec"]["template"]["spec"]["containers"][0]
    for env in serve["env"]:
        if env["name"].startswith("FORESIGHT_SCALEOUT__"):
            monkeypatch.setenv(env["name"], env["value"])
    read_by_serve = load_settings(None).scaleout
    assert read_by_worker == read_by_serve
    assert (read_by_serve.nats_url, read_by_serve.stream, read_by_serve.partitions) == (
        "nats://nats.nats.svc:4222", "samples-prod", 32)


def test_a_nats_url_kept_in_a_secret_reaches_both(chart: Chart) -> None:
    docs = docs_of(render_chart(chart, {"scaleout": {"natsUrlSecret": "nats-creds"}}))
    config_map = one(docs, "ConfigMap", "foresight-worker")
    assert "nats_url" not in yaml.safe_load(config_map["data"]["config.yaml"])["scaleout"]
    for name, container in (("foresight-worker", 0), ("foresight", 0)):
        env = one(docs, "Deployment", name)["spec"]["template"]["spec"]["containers"][container]["env"]
        [url] = [e for e in env if e["name"] == "FORESIGHT_SCALEOUT__NATS_URL"]
        assert url["valueFrom"]["secretKeyRef"] == {"name": "nats-creds", "key": "url"}


@pytest.mark.parametrize("values", [NATS, {"scaleout": {"natsUrlSecret": "nats-creds"}},
                                    {**NATS, "networkPolicy": {"enabled": True}, "image": {"digest": "sha256:" + "a" * 64}}])
def test_rendered_workers_validate_and_pass_the_manifest_scanner(chart: Chart, values: dict[str, Any]) -> None:
    docs = docs_of(render_chart(chart, values))
    validation = validate_manifests([d for ds in docs.values() for d in ds])
    assert validation.problems == ()
    findings = scan_manifest_files(docs)
    standing = [str(f) for f in findings if f.level.rank >= Level.WARNING.rank and f.accepted is None]
    assert standing == []
    accepted = {f.rule_id for f in findings if f.accepted is not None and "worker" in f.location.path}
    assert accepted <= {"FSM022", "FSM023"}  # no probes on a process that serves nothing: said why, on the object


def test_the_worker_command_the_chart_runs_exists() -> None:
    from typer.testing import CliRunner

    import foresight.cli  # noqa: F401  (registers every command)
    from foresight.cli.app import app

    result = CliRunner().invoke(app, ["worker", "--help"])
    assert result.exit_code == 0 and "--config" in result.output, result.output
