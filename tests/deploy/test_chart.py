"""Foresight's Helm chart: the checked-in manifests equal a fresh render (no drift), every object
validates, RBAC follows the enabled controllers, the pod runs locked down with probes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

import foresight.cli.operator  # noqa: F401  (registers `foresight render chart` until the lead imports it)
from foresight.cli.app import app
from foresight.gitops.validate import validate_manifests
from foresight.operator.chart import Chart, load_chart, render_chart
from foresight.specs.crd import crd_files

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "foresight"
MANIFESTS = ROOT / "deploy" / "manifests"

#: prometheus-operator's CRD is not among the schemas we have: this minimal schema checks the
#: structure Prometheus needs to find the target (a selector and endpoints with a port and a path).
SERVICE_MONITOR = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "metadata": {"type": "object", "required": ["name", "namespace"]},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["selector", "endpoints"],
            "properties": {
                "selector": {"type": "object", "required": ["matchLabels"],
                             "properties": {"matchLabels": {"type": "object", "minProperties": 1,
                                                            "additionalProperties": {"type": "string"}}}},
                "namespaceSelector": {"type": "object", "properties": {"matchNames": {"type": "array", "items": {"type": "string"}}}},
                "endpoints": {"type": "array", "minItems": 1, "items": {
                    "type": "object", "additionalProperties": False, "required": ["port"],
                    "properties": {"port": {"type": "string"}, "path": {"type": "string", "pattern": "^/"},
                                   "interval": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"}}}},
            },
        },
    },
}


@pytest.fixture(scope="module")
def chart() -> Chart:
    return load_chart(CHART)


def objects(files: dict[str, str]) -> list[dict[str, Any]]:
    return [d for text in files.values() for d in yaml.safe_load_all(text) if d is not None]


def find(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def rules(docs: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """(apiGroup, resource, verb) granted by the ClusterRole."""
    role = find(docs, "ClusterRole")
    return {(g, r, v) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}


def test_checked_in_manifests_equal_a_fresh_render(chart: Chart) -> None:
    rendered = render_chart(chart)
    on_disk = {str(p.relative_to(MANIFESTS)): p.read_text(encoding="utf-8") for p in MANIFESTS.rglob("*.yaml")}
    assert on_disk == rendered, "deploy/manifests is stale: run `foresight render chart --out deploy/manifests`"


def test_chart_crds_are_the_generated_ones(chart: Chart) -> None:
    assert chart.crds == crd_files(), "refresh deploy/helm/foresight/crds from `foresight crds`"


@pytest.mark.parametrize("values", [
    {},
    {"controllers": {"scaling": False, "anomaly": False, "rollout": True, "delivery": False}},
    {"operator": {"enabled": False}, "serviceMonitor": {"enabled": False}, "keda": {"enabled": False}},
    {"operator": {"mode": "gitops", "gitops": {"repoUrl": "https://git.example.com/gitops.git"}},
     "api": {"tokenSecret": "foresight-token"}, "audit": {"urlSecret": "foresight-audit"}, "extraEnv": [{"name": "FORESIGHT_LOG_FORMAT", "value": "json"}],
     "tolerations": [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}]},
])
def test_every_rendered_object_validates(chart: Chart, values: dict[str, Any]) -> None:
    docs = objects(render_chart(chart, values))
    validation = validate_manifests(docs)
    assert validation.problems == ()
    monitors = [d for d in docs if d["kind"] == "ServiceMonitor"]
    assert validation.unchecked == tuple(f"ServiceMonitor/{d['metadata']['name']} (monitoring.coreos.com/v1): no CRD schema directory"
                                         for d in monitors)
    for monitor in monitors:
        jsonschema.validate(monitor, SERVICE_MONITOR)


def test_rbac_grants_only_what_enabled_controllers_need(chart: Chart) -> None:
    default = rules(objects(render_chart(chart)))
    assert ("apps", "deployments/scale", "patch") in default
    assert ("foresight.ai", "scalingpolicies/status", "patch") in default
    assert ("", "configmaps", "create") in default
    assert ("networking.istio.io", "virtualservices", "create") in default  # model delivery applies them
    assert not any(v in ("*", "deletecollection", "escalate", "bind", "impersonate") for _, _, v in default)
    assert not any(r in ("*", "secrets", "pods/exec") for _, r, _ in default)

    minimal = rules(objects(render_chart(chart, {"controllers": {"scaling": False, "anomaly": False, "delivery": False},
                                                 "operator": {"enabled": False}})))
    assert minimal == {("", "events", "create"), ("", "events", "patch")}

    rollout_only = rules(objects(render_chart(chart, {"controllers": {"scaling": False, "anomaly": False, "rollout": True,
                                                                      "delivery": False}, "operator": {"enabled": False}})))
    assert rollout_only - minimal == {("foresight.ai", "modeldeployments", "list"),  # serve lists the canaries
                                      ("networking.istio.io", "virtualservices", "get"),
                                      ("networking.istio.io", "virtualservices", "patch")}

    heal_only = rules(objects(render_chart(chart, {"controllers": {"scaling": False, "anomaly": False, "heal": True,
                                                                   "delivery": False}, "operator": {"enabled": False}})))
    assert {("foresight.ai", "healingpolicies", "list"), ("", "pods/eviction", "create"), ("", "pods/resize", "patch"),
            ("", "nodes", "patch"), ("apps", "deployments/scale", "patch")} <= heal_only - minimal
    assert not any(r == "pods" and v == "delete" for _, r, v in heal_only), "evictions only: PDBs are respected"

    gitops = rules(objects(render_chart(chart, {"operator": {"mode": "gitops"}, "controllers": {"scaling": False}})))
    assert not any(g == "apps" for g, _, _ in gitops), "GitOps mode must not write Deployments itself"


def test_the_lease_role_is_namespaced_and_limited_to_one_lease(chart: Chart) -> None:
    docs = objects(render_chart(chart, namespace="platform"))
    role = find(docs, "Role")
    assert role["metadata"]["namespace"] == "platform"
    named = [r for r in role["rules"] if r.get("resourceNames")]
    assert named == [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
                      "resourceNames": ["foresight-leader", "foresight-serve-leader"], "verbs": ["get", "patch", "update"]}]
    operator = find(docs, "Deployment")["spec"]["template"]["spec"]["containers"][1]
    assert "--lease=platform/foresight-leader" in operator["args"]
    assert "--scaler-address=foresight.platform.svc:9090" in operator["args"]


def test_pods_run_locked_down_with_probes_and_resources(chart: Chart) -> None:
    pod = find(objects(render_chart(chart)), "Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert [c["name"] for c in pod["containers"]] == ["api", "operator"]
    for container in pod["containers"]:
        sc = container["securityContext"]
        assert (sc["runAsNonRoot"], sc["readOnlyRootFilesystem"], sc["allowPrivilegeEscalation"]) == (True, True, False)
        assert sc["capabilities"] == {"drop": ["ALL"]} and sc["seccompProfile"] == {"type": "RuntimeDefault"}
        assert container["resources"]["requests"]["cpu"] and container["resources"]["limits"]["memory"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    api = pod["containers"][0]
    assert api["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert {p["name"]: p["containerPort"] for p in api["ports"]} == {"http": 8080, "grpc": 9090}


def test_the_service_exposes_http_and_grpc_and_the_monitor_scrapes_metrics(chart: Chart) -> None:
    docs = objects(render_chart(chart))
    service = find(docs, "Service")
    assert [(p["name"], p["port"], p["appProtocol"]) for p in service["spec"]["ports"]] == [("http", 8080, "http"), ("grpc", 9090, "grpc")]
    monitor = find(docs, "ServiceMonitor")
    assert monitor["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]
    assert monitor["spec"]["endpoints"] == [{"port": "http", "path": "/metrics", "interval": "30s"}]
    without = objects(render_chart(chart, {"serviceMonitor": {"enabled": False}, "keda": {"enabled": False}}))
    assert not [d for d in without if d["kind"] == "ServiceMonitor"]
    assert [p["name"] for p in find(without, "Service")["spec"]["ports"]] == ["http"]


def test_gitops_mode_and_token_secret_reach_the_containers(chart: Chart) -> None:
    docs = objects(render_chart(chart, {"operator": {"mode": "gitops", "gitops": {"repoUrl": "https://git.example.com/g.git"}},
                                        "api": {"tokenSecret": "foresight-token"}}))
    api, operator = find(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert {"--mode=gitops", "--repo=https://git.example.com/g.git", "--environment=production"} <= set(operator["args"])
    token = next(e for e in api["env"] if e["name"] == "FORESIGHT_API__TOKEN")
    assert token["valueFrom"]["secretKeyRef"] == {"name": "foresight-token", "key": "token"}


def test_the_audit_store_is_writable_under_a_read_only_root(chart: Chart) -> None:
    pod = find(objects(render_chart(chart)), "Deployment")["spec"]["template"]["spec"]
    api = pod["containers"][0]
    audit = next(e for e in api["env"] if e["name"] == "FORESIGHT_AUDIT_URL")
    mounts = {m["mountPath"]: m["name"] for m in api["volumeMounts"]}
    assert audit["value"].startswith("/var/lib/foresight/") and mounts["/var/lib/foresight"] == "data"
    assert {v["name"] for v in pod["volumes"]} == {"tmp", "data"} and api["workingDir"] == "/tmp"
    secret = find(objects(render_chart(chart, {"audit": {"urlSecret": "pg"}})), "Deployment")
    env = secret["spec"]["template"]["spec"]["containers"][0]["env"]
    assert next(e for e in env if e["name"] == "FORESIGHT_AUDIT_URL")["valueFrom"]["secretKeyRef"] == {"name": "pg", "key": "url"}


def test_render_chart_command_writes_validated_files(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text("replicas: 3\nserviceMonitor:\n  labels: {release: kube-prometheus}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["render", "chart", "--values", str(values), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    deployment = yaml.safe_load((tmp_path / "out" / "templates" / "deployment.yaml").read_text(encoding="utf-8"))
    assert deployment["spec"]["replicas"] == 3
    monitor = yaml.safe_load((tmp_path / "out" / "templates" / "servicemonitor.yaml").read_text(encoding="utf-8"))
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus"
    assert sorted(p.name for p in (tmp_path / "out" / "crds").iterdir()) == sorted(crd_files())


def test_render_chart_command_refuses_values_that_make_invalid_objects(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text("replicas: many\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["render", "chart", "--values", str(values), "--out", str(tmp_path / "out")])
    assert result.exit_code != 0
    assert "spec.replicas" in str(result.exception)
    assert not (tmp_path / "out").exists()


def test_the_api_containers_environment_is_foresight_settings(chart: Chart, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every FORESIGHT_* variable the chart sets is a settings field, and they switch on leader election
    on serve's own Lease in the release namespace and the policies read from the cluster."""
    from foresight.config import load_settings

    docs = objects(render_chart(chart, namespace="platform"))
    api = find(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    from foresight.config import ForesightSettings

    for env in api["env"]:
        if not env["name"].startswith("FORESIGHT_"):
            continue
        model: Any = ForesightSettings
        for part in env["name"].removeprefix("FORESIGHT_").lower().split("__"):  # the variable names a field
            assert part in model.model_fields, f"{env['name']}: no settings field {part!r}"
            model = model.model_fields[part].annotation
        if "value" in env:
            monkeypatch.setenv(env["name"], env["value"])
    settings = load_settings(None)  # a value of the wrong type raises ConfigError
    le = settings.leader_election
    assert (le.enabled, le.lease_name, le.lease_namespace) == (True, "foresight-serve-leader", "platform")
    assert (le.lease_duration_s, le.renew_deadline_s) == (15.0, 10.0) and settings.cluster.policies
    assert settings.live.keda_port == 9090 and settings.live.prometheus_url is None and settings.controllers.incidents
    rules = find(docs, "ClusterRole")["rules"]
    assert {"apiGroups": ["foresight.ai"], "resources": ["scalingpolicies", "anomalypolicies"],
            "verbs": ["get", "list", "watch"]} in rules
