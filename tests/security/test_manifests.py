"""The manifest scanner: each rule fires on its case at its line and never on the hardened twin; fails closed."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from foresight.bench.manifest_corpus import cases, hardened, safe_manifests
from foresight.security import (
    RULES,
    Finding,
    Level,
    scan_manifest_files,
    scan_manifest_objects,
    scan_manifests,
    to_sarif,
    worst,
)
from foresight.security import manifest_rules as R

CASES = cases()


def _serious(findings: list[Finding]) -> list[str]:
    return [str(f) for f in findings if f.level.rank >= Level.WARNING.rank]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_check_fires_on_its_line(case: Any) -> None:
    findings = scan_manifests(case.text, "case.yaml")
    lines = [f.location.line for f in findings if f.rule_id == case.rule_id]
    assert case.line in lines, (case.rule_id, case.line, [str(f) for f in findings])
    assert all(f.location.path == "case.yaml" for f in findings)


@pytest.mark.parametrize("name", sorted(safe_manifests()))
def test_hardened_manifests_pass(name: str) -> None:
    assert _serious(scan_manifests(safe_manifests()[name], name)) == []


def test_every_manifest_rule_has_a_case_and_help_with_its_level() -> None:
    rules = [rule for rule in RULES if rule.id.startswith("FSM")]
    covered = {case.rule_id for case in CASES}
    assert {rule.id for rule in rules} - covered == {R.TEMPLATE.id}  # the template note is tested below
    for rule in rules:
        assert rule.cwe > 0 and rule.help.endswith(f"Level: {rule.level.value}.")


def test_levels_of_dangerous_and_hygiene_rules() -> None:
    dangerous = [R.PRIVILEGED, R.HOST_NAMESPACE, R.HOST_PATH_SENSITIVE, R.DANGEROUS_CAPABILITY, R.CLUSTER_ADMIN,
                 R.RBAC_WILDCARD, R.LITERAL_SECRET, R.ESCALATION_ALLOWED, R.UNREADABLE]
    hygiene = [R.NO_LIMITS, R.NO_LIVENESS, R.IMAGE_LATEST, R.SECCOMP_MISSING, R.NO_NETWORK_POLICY]
    assert {rule.level for rule in dangerous} == {Level.ERROR}
    assert {rule.level for rule in hygiene} == {Level.WARNING}
    assert R.IMAGE_NO_DIGEST.level is Level.NOTE


def _deployment() -> dict[str, Any]:
    return copy.deepcopy(hardened()[0])


def _container(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["spec"]["template"]["spec"]["containers"][0]


def _rules(findings: list[Finding]) -> set[str]:
    return {f.rule_id for f in findings}


def test_parsed_objects_are_scanned_without_lines() -> None:
    doc = _deployment()
    _container(doc)["securityContext"]["privileged"] = True
    findings = scan_manifest_objects([doc, *hardened()[1:]], "rendered")
    assert _rules([f for f in findings if f.level.rank >= Level.WARNING.rank]) == {"FSM002"}
    assert {f.location.line for f in findings} == {None}
    assert _serious(scan_manifest_objects(hardened(), "rendered")) == []


def test_container_overrides_pod() -> None:
    doc = _deployment()
    pod_context = doc["spec"]["template"]["spec"]["securityContext"]
    pod_context["seccompProfile"] = {"type": "Unconfined"}
    assert "FSM015" not in _rules(scan_manifest_objects([doc], "x"))  # the container's RuntimeDefault wins
    _container(doc)["securityContext"].pop("seccompProfile")
    assert "FSM015" in _rules(scan_manifest_objects([doc], "x"))  # now the pod's Unconfined applies


def test_limits_stand_for_missing_requests() -> None:
    doc = _deployment()
    _container(doc)["resources"].pop("requests")
    assert {"FSM017", "FSM018"}.isdisjoint(_rules(scan_manifest_objects([doc], "x")))


def test_multi_document_findings_point_into_their_document() -> None:
    risky = next(c for c in CASES if c.name == "privileged")
    text = "# Source: chart/templates/a.yaml\n---\n" + risky.text + "---\n# empty\n---\n" + risky.text
    first, second = risky.line + 2, risky.line + 2 + len(risky.text.splitlines()) + 3
    lines = [f.location.line for f in scan_manifests(text, "two.yaml") if f.rule_id == "FSM002"]
    assert lines == [first, second]


def test_network_policy_is_checked_across_documents_and_files() -> None:
    deployment, account, policy = hardened()
    assert "FSM024" in _rules(scan_manifest_objects([deployment, account], "a.yaml"))
    together = scan_manifest_files({"a.yaml": [deployment, account], "b.yaml": [policy]})
    assert "FSM024" not in _rules(together)
    policy["metadata"]["namespace"] = "elsewhere"
    assert "FSM024" in _rules(scan_manifest_files({"a.yaml": [deployment, account], "b.yaml": [policy]}))
    selective = copy.deepcopy(policy)
    selective["metadata"]["namespace"] = "shop"
    selective["spec"]["podSelector"] = {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]}
    assert "FSM024" not in _rules(scan_manifest_objects([deployment, account, selective], "c.yaml"))
    selective["spec"]["podSelector"] = {"matchExpressions": [{"key": "tier", "operator": "Exists"}]}
    assert "FSM024" in _rules(scan_manifest_objects([deployment, account, selective], "c.yaml"))


def test_a_namespace_without_policy_is_reported() -> None:
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "empty"}}
    findings = scan_manifest_objects([namespace], "ns.yaml")
    assert [(f.rule_id, f.message) for f in findings] == [("FSM024", "namespace empty has no NetworkPolicy")]


def test_service_account_in_the_set_turns_the_token_off() -> None:
    deployment, account, policy = hardened()
    deployment["spec"]["template"]["spec"].pop("automountServiceAccountToken")
    assert "FSM026" not in _rules(scan_manifest_objects([deployment, account, policy], "x"))
    assert "FSM026" in _rules(scan_manifest_objects([deployment, policy], "x"))


@pytest.mark.parametrize("text, line", [
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: [x}\n", 3),
    ("apiVersion: v1\nkind: Pod\n  bad: indent\n", 3),
    ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: 'unclosed\n", 4),
])
def test_unparseable_yaml_fails_closed(text: str, line: int) -> None:
    findings = scan_manifests(text, "bad.yaml")
    assert [(f.rule_id, f.level) for f in findings] == [("FSM001", Level.ERROR)]
    assert findings[0].location.line == line


def test_repeated_keys_and_podless_workloads_fail_closed() -> None:
    text = ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n"
            "      containers: not-a-list\n")
    assert ("FSM001", 1) in {(f.rule_id, f.location.line) for f in scan_manifests(text, "d.yaml")}
    repeated = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostPID: false\n  hostPID: true\n  containers: []\n"
    assert ("FSM001", 6) in {(f.rule_id, f.location.line) for f in scan_manifests(repeated, "p.yaml")}


def test_an_unrendered_template_is_a_note() -> None:
    text = "{{- if .Values.enabled }}\napiVersion: v1\nkind: Pod\n{{- end }}\n"
    assert [(f.rule_id, f.level) for f in scan_manifests(text, "t.yaml")] == [("FSM033", Level.NOTE)]


def test_aliases_are_one_object_not_an_explosion() -> None:
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: bomb}", "a0: &a0 [x, x]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 30)]
    assert scan_manifests("\n".join(lines) + "\n", "bomb.yaml") == []
    cyclic = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: &s\n  containers: [{name: c, image: 'x:1'}]\n  again: *s\n"
    assert "FSM002" not in _rules(scan_manifests(cyclic, "cyclic.yaml"))


def test_merge_keys_apply() -> None:
    text = ("base: &base {privileged: true}\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
            "  - name: c\n    image: x:1\n    securityContext:\n      <<: *base\n")
    findings = [f for f in scan_manifests(text, "m.yaml") if f.rule_id == "FSM002"]
    assert [f.location.line for f in findings] == [1]


def test_secret_names_and_values() -> None:
    doc = _deployment()
    _container(doc)["env"] = [
        {"name": "TOKENIZER", "value": "bert-base"}, {"name": "MAX_TOKENS", "value": "512"},
        {"name": "TOKEN_FILE", "value": "/var/run/token"}, {"name": "PARTITION_KEY", "value": "user"},
        {"name": "API_TOKEN", "value": "$(FROM_SECRET)"}, {"name": "SECRET_NAME", "value": "db-creds"},
    ]
    assert "FSM027" not in _rules(scan_manifest_objects([doc], "x"))
    for name in ("HF_TOKEN", "AWS_SECRET_ACCESS_KEY", "api-key", "DBPASSWORD", "STRIPE_API_KEY"):
        _container(doc)["env"] = [{"name": name, "value": "s3cr3t-value"}]
        findings = [f for f in scan_manifest_objects([doc], "x") if f.rule_id == "FSM027"]
        assert len(findings) == 1 and "s3cr3t" not in findings[0].message, name
    _container(doc)["env"] = []
    _container(doc)["command"] = ["sh", "-c", "serve --token abc123 --port 80"]
    assert "FSM027" in _rules(scan_manifest_objects([doc], "x"))


def test_config_map_keys_named_like_credentials() -> None:
    text = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: shop}\ndata:\n  LOG_LEVEL: info\n"
            "  DB_PASSWORD: hunter2\n  TOKEN_PATH: /var/run/token\n")
    assert [(f.rule_id, f.location.line) for f in scan_manifests(text, "cm.yaml")] == [("FSM027", 6)]


def test_kubeflow_and_trainjob() -> None:
    tf_job = {"apiVersion": "kubeflow.org/v1", "kind": "TFJob", "metadata": {"name": "t", "namespace": "ml"},
              "spec": {"tfReplicaSpecs": {"PS": {"template": {"spec": {"containers": [
                  {"name": "tf", "image": "tf:2", "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}]}}}}}}
    findings = scan_manifest_objects([tf_job], "x")
    assert "FSM011" in _rules(findings) and not {"FSM022", "FSM023"} & _rules(findings)  # jobs are not probed
    train_job = {"apiVersion": "trainer.kubeflow.org/v1alpha1", "kind": "TrainJob", "metadata": {"name": "t"},
                 "spec": {"trainer": {"image": "trainer:latest", "env": [{"name": "WANDB_API_KEY", "value": "k-123"}]}}}
    assert {"FSM019", "FSM027", "FSM017", "FSM018"} <= _rules(scan_manifest_objects([train_job], "x"))


def test_list_kinds_and_documents_that_are_no_objects() -> None:
    doc = _deployment()
    _container(doc)["securityContext"]["privileged"] = True
    assert "FSM002" in _rules(scan_manifest_objects([{"kind": "DeploymentList", "items": [doc]}], "x"))
    assert scan_manifests("just a string\n", "s.yaml") == []
    assert scan_manifests("- 1\n- 2\n", "l.yaml") == []
    assert scan_manifests("", "e.yaml") == []


def test_rbac_rules() -> None:
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"},
            "rules": [{"apiGroups": ["*"], "resources": ["pods"], "verbs": ["get"]},
                      {"apiGroups": [""], "resources": ["pods/attach"], "verbs": ["create"]},
                      {"apiGroups": [""], "resources": ["users"], "verbs": ["impersonate"]}]}
    assert _rules(scan_manifest_objects([role], "x")) == {"FSM029", "FSM031", "FSM032"}
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "b", "namespace": "a"},
               "roleRef": {"kind": "ClusterRole", "name": "view"}, "subjects": [{"kind": "Group", "name": "system:masters"}]}
    assert _rules(scan_manifest_objects([binding], "x")) == {"FSM030"}


def test_hostpath_paths() -> None:
    doc = _deployment()
    volumes = doc["spec"]["template"]["spec"]["volumes"]
    for path, rule in [("/", "FSM004"), ("/etc/", "FSM004"), ("/data/../etc", "FSM004"), ("/run/containerd/containerd.sock", "FSM004"),
                       ("/proc/1", "FSM004"), ("/var/lib/kubelet/pods", "FSM004"), ("/mnt/models", "FSM005"), ("/etcd-backup", "FSM005")]:
        volumes[:] = [{"name": "h", "hostPath": {"path": path}}]
        assert rule in _rules(scan_manifest_objects([doc], "x")), path


def test_a_finding_is_accepted_with_a_reason_on_its_object() -> None:
    doc = _deployment()
    doc["spec"]["template"]["spec"]["hostNetwork"] = True
    doc["metadata"]["annotations"] = {"scan.foresight.ai/accept-fsm003": "  the CNI agent needs\n the node's network ",
                                      "scan.foresight.ai/accept-FSM026": "   "}
    findings = scan_manifest_objects([doc, *hardened()[1:]], "cni.yaml")
    host = [f for f in findings if f.rule_id == "FSM003"]
    assert [f.accepted for f in host] == ["the CNI agent needs the node's network"]
    assert "(accepted: the CNI agent needs the node's network)" in str(host[0])
    assert worst(findings) is None or worst(findings).rank < Level.WARNING.rank
    doc["spec"]["template"]["spec"].pop("automountServiceAccountToken")
    token = [f for f in scan_manifest_objects([doc], "cni.yaml") if f.rule_id == "FSM026"]
    assert [f.accepted for f in token] == [None]  # an empty reason accepts nothing
    sarif = to_sarif(host, RULES, "0")["runs"][0]["results"][0]
    assert sarif["suppressions"] == [{"kind": "inSource", "status": "accepted",
                                      "justification": "the CNI agent needs the node's network"}]


def test_an_unreadable_workload_cannot_be_accepted() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "spec": {"containers": "none"},
           "metadata": {"name": "p", "annotations": {"scan.foresight.ai/accept-FSM001": "trust me"}}}
    findings = scan_manifest_objects([pod], "p.yaml")
    assert [(f.rule_id, f.accepted) for f in findings] == [("FSM001", None)]


def test_deep_nesting_fails_closed_or_is_walked() -> None:
    deep = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: " + "[" * 1200 + "]" * 1200 + "\n"
    assert [f.rule_id for f in scan_manifests(deep, "deep.yaml")] == ["FSM001"]
    doc = _deployment()
    _container(doc)["securityContext"]["privileged"] = True
    nested: dict[str, Any] = {"kind": "List", "items": [doc]}
    for _ in range(5000):
        nested = {"kind": "List", "items": [nested]}
    assert "FSM002" in _rules(scan_manifest_objects([nested], "nested"))
