"""The manifest scanner's benchmark corpus: one risky manifest per check, and hardened ones that must pass.

Every risky case is a hardened release (a Deployment in its own namespace with a ServiceAccount and
a NetworkPolicy, the settings of Kubernetes' "restricted" Pod Security Standard, pinned image,
requests, limits, probes) with exactly one thing made unsafe; the case knows the rule that must
fire and the line it must point at (the first line whose text is ``marker``), and the Checkov 3.3
check ids that mean the same thing (empty when Checkov has none). The hardened manifests are the
base release and variants (other workload kinds, a least-privilege Role, a container that
overrides a root pod default): no warning or error may fire on them. Written together with the
scanner, so these are figures on known cases, not on unseen manifests.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

__all__ = ["ManifestCase", "cases", "hardened", "safe_manifests"]

_DIGEST = "sha256:" + "4f" * 32
_IMAGE = f"registry.example.com/shop/web:1.4.2@{_DIGEST}"

Doc = dict[str, Any]


@dataclass(frozen=True)
class ManifestCase:
    """One risky manifest: what must be found (rule id, at the line of ``marker``) and Checkov's ids for it."""

    name: str
    check: str
    rule_id: str
    text: str
    marker: str
    checkov_ids: frozenset[str] = field(default_factory=frozenset)
    nth: int = 1

    @property
    def line(self) -> int:
        """The expected line: the ``nth`` whose text (without a list dash) is the marker."""
        lines = [n for n, text in enumerate(self.text.splitlines(), 1) if text.strip().removeprefix("- ") == self.marker]
        if len(lines) < self.nth:
            raise ValueError(f"case {self.name}: marker {self.marker!r} is not in its manifest {self.nth} times")
        return lines[self.nth - 1]


def _container() -> Doc:
    return {
        "name": "app",
        "image": _IMAGE,
        "imagePullPolicy": "Always",
        "ports": [{"containerPort": 8080, "name": "http"}],
        "env": [{"name": "LOG_LEVEL", "value": "info"}],
        "securityContext": {
            "allowPrivilegeEscalation": False, "privileged": False, "readOnlyRootFilesystem": True,
            "runAsNonRoot": True, "runAsUser": 10001, "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }


def _pod_spec(container: Doc) -> Doc:
    return {
        "serviceAccountName": "web",
        "automountServiceAccountToken": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
        "volumes": [{"name": "tmp", "emptyDir": {}}],
    }


def _deployment() -> Doc:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": _pod_spec(_container())}},
    }


def _support() -> list[Doc]:
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "web", "namespace": "shop"},
         "automountServiceAccountToken": False},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "web", "namespace": "shop"},
         "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress", "Egress"],
                  "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "frontend"}}}],
                               "ports": [{"port": 8080, "protocol": "TCP"}]}],
                  "egress": [{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}],
                              "ports": [{"port": 53, "protocol": "UDP"}]}]}},
    ]


def hardened() -> list[Doc]:
    """The hardened release every risky case starts from."""
    return [_deployment(), *_support()]


def _dump(documents: list[Doc]) -> str:
    return yaml.safe_dump_all(documents, sort_keys=False)


def _container_of(docs: list[Doc]) -> Doc:
    return docs[0]["spec"]["template"]["spec"]["containers"][0]


def _pod_of(docs: list[Doc]) -> Doc:
    return docs[0]["spec"]["template"]["spec"]


def _context(docs: list[Doc]) -> Doc:
    return _container_of(docs)["securityContext"]


def _edit(change: Callable[[list[Doc]], object]) -> str:
    docs = hardened()
    change(docs)
    return _dump(docs)


def _drop_identity(docs: list[Doc]) -> None:
    for context in (_context(docs), _pod_of(docs)["securityContext"]):
        context.pop("runAsNonRoot")
        context.pop("runAsUser")


def _pod_root(docs: list[Doc]) -> None:
    _drop_identity(docs)
    _pod_of(docs)["securityContext"]["runAsUser"] = 0


def _drop_seccomp(docs: list[Doc]) -> None:
    _context(docs).pop("seccompProfile")
    _pod_of(docs)["securityContext"].pop("seccompProfile")


def _with(docs: list[Doc], *extra: Doc) -> None:
    docs.extend(extra)


def _rbac(rules: list[Doc]) -> Callable[[list[Doc]], None]:
    return lambda docs: _with(docs, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                                     "metadata": {"name": "web", "namespace": "shop"}, "rules": rules})


def _pytorch_job(container: Doc) -> Doc:
    pod = _pod_spec(container)
    pod["restartPolicy"] = "OnFailure"
    return {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "metadata": {"name": "train", "namespace": "shop"},
            "spec": {"pytorchReplicaSpecs": {"Worker": {"replicas": 2, "template": {
                "metadata": {"labels": {"app": "web"}}, "spec": pod}}}}}


def _cron_job(container: Doc) -> Doc:
    pod = _pod_spec(container)
    pod["restartPolicy"] = "OnFailure"
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly", "namespace": "shop"},
            "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {
                "metadata": {"labels": {"app": "web"}}, "spec": pod}}}}}


def _batch(container: Doc) -> Doc:
    """A batch container: no probes (jobs are not probed)."""
    container = copy.deepcopy(container)
    container.pop("livenessProbe")
    container.pop("readinessProbe")
    container.pop("ports")
    return container


def _privileged_batch() -> Doc:
    container = _batch(_container())
    container["securityContext"]["privileged"] = True
    return container


def _case(name: str, check: str, rule: str, change: Callable[[list[Doc]], object], marker: str, *checkov: str,
          nth: int = 1) -> ManifestCase:
    return ManifestCase(name, check, rule, _edit(change), marker, frozenset(checkov), nth)


def cases() -> list[ManifestCase]:
    """One risky manifest per check of the scanner, each with its expected rule, line and Checkov ids."""
    volume = lambda path: lambda d: _pod_of(d)["volumes"].append({"name": "host", "hostPath": {"path": path}})
    return [
        _case("privileged", "privileged", "FSM002", lambda d: _context(d).update(privileged=True), "privileged: true", "CKV_K8S_16"),
        _case("host-network", "hostNetwork", "FSM003", lambda d: _pod_of(d).update(hostNetwork=True), "hostNetwork: true", "CKV_K8S_19"),
        _case("host-pid", "hostPID", "FSM003", lambda d: _pod_of(d).update(hostPID=True), "hostPID: true", "CKV_K8S_17"),
        _case("host-ipc", "hostIPC", "FSM003", lambda d: _pod_of(d).update(hostIPC=True), "hostIPC: true", "CKV_K8S_18"),
        _case("host-path-root", "hostPath / (sensitive)", "FSM004", volume("/"), "path: /"),
        _case("host-path-docker-socket", "hostPath docker.sock (sensitive)", "FSM004", volume("/var/run/docker.sock"),
              "path: /var/run/docker.sock", "CKV_K8S_27"),
        _case("host-path-kubelet", "hostPath /var/lib/kubelet (sensitive)", "FSM004", volume("/var/lib/kubelet"),
              "path: /var/lib/kubelet"),
        _case("host-path-data", "hostPath other folder", "FSM005", volume("/data/models"), "path: /data/models"),
        _case("host-port", "hostPort", "FSM006", lambda d: _container_of(d)["ports"][0].update(hostPort=8080),
              "hostPort: 8080", "CKV_K8S_26"),
        _case("uid-0-container", "runAsUser 0 (container)", "FSM007", lambda d: _context(d).update(runAsUser=0),
              "runAsUser: 0", "CKV_K8S_23", "CKV_K8S_40"),
        _case("uid-0-pod", "runAsUser 0 (pod, not overridden)", "FSM007", _pod_root, "runAsUser: 0", "CKV_K8S_23", "CKV_K8S_40"),
        _case("run-as-non-root-missing", "runAsNonRoot missing", "FSM008", _drop_identity, "securityContext:", "CKV_K8S_23", nth=2),
        _case("run-as-non-root-false", "runAsNonRoot: false", "FSM008",
              lambda d: (_drop_identity(d), _context(d).update(runAsNonRoot=False)), "runAsNonRoot: false", "CKV_K8S_23"),
        _case("escalation-true", "allowPrivilegeEscalation: true", "FSM009",
              lambda d: _context(d).update(allowPrivilegeEscalation=True), "allowPrivilegeEscalation: true", "CKV_K8S_20"),
        _case("escalation-unset", "allowPrivilegeEscalation not false", "FSM010",
              lambda d: _context(d).pop("allowPrivilegeEscalation"), "securityContext:", "CKV_K8S_20", nth=2),
        _case("cap-sys-admin", "SYS_ADMIN added", "FSM011",
              lambda d: _context(d)["capabilities"].update(add=["SYS_ADMIN"]), "add:", "CKV_K8S_39"),
        _case("cap-net-raw-kept", "NET_RAW kept", "FSM012",
              lambda d: _context(d)["capabilities"].update(drop=["SYS_ADMIN"]), "drop:", "CKV_K8S_28"),
        _case("cap-net-raw-added", "NET_RAW added back", "FSM012",
              lambda d: _context(d)["capabilities"].update(add=["NET_RAW"]), "add:", "CKV_K8S_28", "CKV_K8S_25"),
        _case("cap-all-not-dropped", "ALL not dropped", "FSM013",
              lambda d: _context(d)["capabilities"].update(drop=["NET_RAW"]), "drop:", "CKV_K8S_37"),
        _case("writable-root", "readOnlyRootFilesystem", "FSM014",
              lambda d: _context(d).update(readOnlyRootFilesystem=False), "readOnlyRootFilesystem: false", "CKV_K8S_22"),
        _case("seccomp-unconfined", "seccomp Unconfined", "FSM015",
              lambda d: _context(d).update(seccompProfile={"type": "Unconfined"}), "type: Unconfined", "CKV_K8S_31"),
        _case("seccomp-missing", "seccomp missing", "FSM016", _drop_seccomp, "securityContext:", "CKV_K8S_31", nth=2),
        _case("requests-missing", "requests missing", "FSM017",
              lambda d: _container_of(d)["resources"].pop("requests") and _container_of(d)["resources"].pop("limits"),
              "resources: {}", "CKV_K8S_10", "CKV_K8S_12"),
        _case("limits-missing", "limits missing", "FSM018", lambda d: _container_of(d)["resources"].pop("limits"),
              "resources:", "CKV_K8S_11", "CKV_K8S_13"),
        _case("image-latest", "image :latest", "FSM019",
              lambda d: _container_of(d).update(image="registry.example.com/shop/web:latest"),
              "image: registry.example.com/shop/web:latest", "CKV_K8S_14"),
        _case("image-untagged", "image without tag", "FSM020",
              lambda d: _container_of(d).update(image="registry.example.com:5000/shop/web"),
              "image: registry.example.com:5000/shop/web", "CKV_K8S_14"),
        _case("image-no-digest", "image without digest", "FSM021",
              lambda d: _container_of(d).update(image="registry.example.com/shop/web:1.4.2"),
              "image: registry.example.com/shop/web:1.4.2", "CKV_K8S_43"),
        _case("liveness-missing", "liveness probe missing", "FSM022", lambda d: _container_of(d).pop("livenessProbe"),
              "name: app", "CKV_K8S_8"),
        _case("readiness-missing", "readiness probe missing", "FSM023", lambda d: _container_of(d).pop("readinessProbe"),
              "name: app", "CKV_K8S_9"),
        _case("no-network-policy", "namespace without NetworkPolicy (cross-document)", "FSM024", lambda d: d.pop(),
              "name: web", "CKV2_K8S_6"),
        _case("network-policy-elsewhere", "NetworkPolicy selects other pods (cross-document)", "FSM024",
              lambda d: d[2]["spec"]["podSelector"]["matchLabels"].update(app="other"), "name: web", "CKV2_K8S_6"),
        _case("default-namespace", "default namespace", "FSM025",
              lambda d: [doc["metadata"].update(namespace="default") for doc in d], "namespace: default", "CKV_K8S_21"),
        _case("token-automount", "service-account token automount", "FSM026",
              lambda d: _pod_of(d).update(automountServiceAccountToken=True), "automountServiceAccountToken: true", "CKV_K8S_38"),
        _case("token-automount-default", "token automount left to default", "FSM026",
              lambda d: (_pod_of(d).pop("automountServiceAccountToken"), d[1].pop("automountServiceAccountToken")),
              "spec:", "CKV_K8S_38", nth=2),
        _case("literal-secret-env", "literal secret in env", "FSM027",
              lambda d: _container_of(d)["env"].append({"name": "DB_PASSWORD", "value": "hunter2-prod"}), "value: hunter2-prod"),
        _case("literal-secret-arg", "literal secret in args", "FSM027",
              lambda d: _container_of(d).update(args=["--port=8080", "--api-key=sk-live-51Hx9"]), "--api-key=sk-live-51Hx9"),
        _case("literal-secret-configmap", "literal secret in a ConfigMap", "FSM027",
              lambda d: _with(d, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web", "namespace": "shop"},
                                  "data": {"LOG_LEVEL": "info", "STRIPE_API_KEY": "sk-live-51Hx9"}}),
              "STRIPE_API_KEY: sk-live-51Hx9"),
        _case("secret-object", "Secret with values in the manifest", "FSM028",
              lambda d: _with(d, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "shop"},
                                  "stringData": {"password": "hunter2"}}), "stringData:"),
        _case("rbac-wildcard", "RBAC wildcard", "FSM029",
              _rbac([{"apiGroups": [""], "resources": ["*"], "verbs": ["get", "list"]}]), "resources:", "CKV_K8S_49", nth=2),
        _case("rbac-cluster-admin", "cluster-admin binding", "FSM030",
              lambda d: _with(d, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                                  "metadata": {"name": "web-admin"},
                                  "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                                  "subjects": [{"kind": "ServiceAccount", "name": "web", "namespace": "shop"}]}),
              "name: cluster-admin"),
        _case("rbac-pods-exec", "pods/exec", "FSM031",
              _rbac([{"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]}]), "resources:", "CKV2_K8S_2", nth=2),
        _case("rbac-escalate", "escalate verb", "FSM032",
              _rbac([{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "verbs": ["escalate"]}]),
              "verbs:", "CKV_K8S_158"),
        _case("cronjob-privileged", "privileged (CronJob)", "FSM002",
              lambda d: d.__setitem__(0, _cron_job(_privileged_batch())), "privileged: true", "CKV_K8S_16"),
        _case("pytorchjob-privileged", "privileged (Kubeflow PyTorchJob)", "FSM002",
              lambda d: d.__setitem__(0, _pytorch_job(_privileged_batch())), "privileged: true", "CKV_K8S_16"),
        _case("list-privileged", "privileged (inside a v1 List)", "FSM002",
              lambda d: d.__setitem__(slice(None), [{"apiVersion": "v1", "kind": "List", "items": list(d)}])
              or _context(d[0]["items"]).update(privileged=True), "privileged: true", "CKV_K8S_16"),
        ManifestCase("unparseable", "malformed YAML fails closed", "FSM001",
                     _dump(hardened()).replace("replicas: 2", "replicas: [2"), "replicas: [2"),
    ]


def safe_manifests() -> dict[str, str]:
    """Hardened manifests (by name) on which no warning or error may fire."""
    def overridden_root(docs: list[Doc]) -> None:
        _pod_of(docs)["securityContext"].update(runAsUser=0)
        _pod_of(docs)["securityContext"].pop("runAsNonRoot")

    def secret_ref(docs: list[Doc]) -> None:
        _container_of(docs)["env"].append({"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}})
        _container_of(docs)["env"].append({"name": "TOKEN_FILE", "value": "/var/run/secrets/token"})

    def least_privilege(docs: list[Doc]) -> None:
        _with(docs, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "web", "namespace": "shop"},
                     "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}]},
              {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "web", "namespace": "shop"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "web"},
               "subjects": [{"kind": "ServiceAccount", "name": "web", "namespace": "shop"}]})

    def stateful(docs: list[Doc]) -> None:
        docs[0]["kind"] = "StatefulSet"
        docs[0]["spec"]["serviceName"] = "web"

    return {
        "hardened-deployment": _edit(lambda d: None),
        "hardened-statefulset": _edit(stateful),
        "hardened-cronjob": _edit(lambda d: d.__setitem__(0, _cron_job(_batch(_container())))),
        "hardened-pytorchjob": _edit(lambda d: d.__setitem__(0, _pytorch_job(_batch(_container())))),
        "container-overrides-root-pod": _edit(overridden_root),
        "secret-from-secret-ref": _edit(secret_ref),
        "least-privilege-role": _edit(least_privilege),
    }
