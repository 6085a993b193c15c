"""The rules of the Kubernetes manifest scanner (ids ``FSM0nn``: stable, CI suppressions key on them).

Levels: **error** for what hands a pod the node or the cluster (privileged, host namespaces, a
sensitive hostPath, dangerous capabilities, privilege escalation switched on, RBAC wildcards,
cluster-admin and escalation verbs, credentials written into the manifest) and for manifests that
cannot be read (fail closed); **warning** for hardening left at Kubernetes' permissive defaults
(root allowed, escalation not switched off, capabilities kept, writable root filesystem, no
seccomp, no requests/limits, mutable images, no probes, no NetworkPolicy, the default namespace, a
mounted service-account token, Secret values in the manifest); **note** for an image pinned by tag
but not by digest, and for a Helm/Go template that is not YAML until rendered (scan its output).
"""

from __future__ import annotations

from foresight.security.findings import RULES, Level, Rule

__all__ = [
    "ALL_NOT_DROPPED", "AUTOMOUNT_TOKEN", "CLUSTER_ADMIN", "DANGEROUS_CAPABILITY", "DEFAULT_NAMESPACE",
    "ESCALATION_ALLOWED", "ESCALATION_NOT_DISABLED", "HOST_NAMESPACE", "HOST_PATH", "HOST_PATH_SENSITIVE",
    "HOST_PORT", "IMAGE_LATEST", "IMAGE_NO_DIGEST", "IMAGE_NO_TAG", "LITERAL_SECRET", "NET_RAW", "NO_LIMITS",
    "NO_LIVENESS", "NO_NETWORK_POLICY", "NO_READINESS", "NO_REQUESTS", "PRIVILEGED", "RBAC_ESCALATION",
    "RBAC_EXEC", "RBAC_WILDCARD", "ROOT_NOT_REFUSED", "RUNS_AS_ROOT", "SECCOMP_MISSING",
    "SECCOMP_UNCONFINED", "SECRET_DATA", "TEMPLATE", "UNREADABLE", "WRITABLE_ROOT",
]


def _rule(rule_id: str, name: str, summary: str, help_text: str, cwe: int, level: Level) -> Rule:
    return RULES.add(Rule(rule_id, name, summary, f"{help_text} Level: {level.value}.", cwe, level,
                          ("security", "kubernetes")))


UNREADABLE = _rule(
    "FSM001", "manifest-unreadable", "A manifest could not be read, so it is not shown safe.",
    "The YAML does not parse, repeats a key (Kubernetes' own parser rejects it; other tools keep either "
    "value), nests too deep, or a workload has no readable pod template. The scanner fails closed. "
    "Text with Go template markers ({{ }}) that does not parse is FSM033 instead.", 20, Level.ERROR)
PRIVILEGED = _rule(
    "FSM002", "privileged-container", "A container runs privileged.",
    "securityContext.privileged: true gives the container every capability and every device of the node: "
    "it is root on the node. Remove it; grant the one capability the workload needs instead.", 250, Level.ERROR)
HOST_NAMESPACE = _rule(
    "FSM003", "host-namespace", "A pod shares the node's network, process or IPC namespace.",
    "hostNetwork, hostPID or hostIPC: true lets the pod see and reach the node's interfaces, processes "
    "or shared memory, and other pods' traffic. Remove them.", 653, Level.ERROR)
HOST_PATH_SENSITIVE = _rule(
    "FSM004", "host-path-sensitive", "A pod mounts a sensitive folder of the node (/, /etc, the container runtime socket ...).",
    "A hostPath volume on /, /etc, /root, /proc, /sys, /boot, /dev, /var/run, /var/lib/kubelet, /var/lib/docker, "
    "/var/lib/containerd, /var/log or a container runtime socket gives the pod the node's credentials or "
    "control of its containers. Use a ConfigMap, Secret, PVC or emptyDir.", 668, Level.ERROR)
HOST_PATH = _rule(
    "FSM005", "host-path", "A pod mounts a folder of the node (hostPath).",
    "hostPath ties the pod to a node and shares the node's files with it. Prefer a PVC or emptyDir; if it "
    "must stay, mount it readOnly.", 668, Level.WARNING)
HOST_PORT = _rule(
    "FSM006", "host-port", "A container binds a port on the node (hostPort).",
    "hostPort exposes the container on the node's address, around Services and NetworkPolicies, and "
    "limits where the pod can be scheduled. Use a Service.", 668, Level.WARNING)
RUNS_AS_ROOT = _rule(
    "FSM007", "runs-as-root", "A container is set to run as UID 0 (root).",
    "runAsUser: 0 (container level, or pod level when the container does not override it) runs the "
    "process as root: a container escape lands as root. Set a non-zero runAsUser and runAsNonRoot: true.",
    250, Level.WARNING)
ROOT_NOT_REFUSED = _rule(
    "FSM008", "run-as-non-root-missing", "Nothing stops a container from running as root.",
    "Neither runAsNonRoot: true nor a non-zero runAsUser is set (container level, or pod level when the "
    "container does not override it), so the image's USER decides, often root.", 250, Level.WARNING)
ESCALATION_ALLOWED = _rule(
    "FSM009", "privilege-escalation-allowed", "A container allows privilege escalation explicitly.",
    "allowPrivilegeEscalation: true lets a process gain more privileges than its parent (setuid "
    "binaries, file capabilities). Set it to false.", 269, Level.ERROR)
ESCALATION_NOT_DISABLED = _rule(
    "FSM010", "privilege-escalation-not-disabled", "A container does not switch privilege escalation off.",
    "allowPrivilegeEscalation defaults to true: setuid binaries in the image can raise privileges. Set "
    "allowPrivilegeEscalation: false.", 269, Level.WARNING)
DANGEROUS_CAPABILITY = _rule(
    "FSM011", "dangerous-capability", "A container adds a capability that breaks isolation (SYS_ADMIN & co).",
    "SYS_ADMIN, SYS_MODULE, SYS_PTRACE, SYS_RAWIO, SYS_BOOT, NET_ADMIN, DAC_READ_SEARCH, DAC_OVERRIDE, "
    "BPF, PERFMON, SYSLOG, MAC_ADMIN, MAC_OVERRIDE or ALL each allow an escape to the node or into other "
    "containers. Remove it.", 250, Level.ERROR)
NET_RAW = _rule(
    "FSM012", "net-raw-kept", "A container keeps NET_RAW (raw sockets: spoofing, ARP/DNS poisoning).",
    "Container runtimes grant NET_RAW by default. Drop it (capabilities.drop: [ALL] or [NET_RAW]) unless "
    "the workload sends raw packets.", 250, Level.WARNING)
ALL_NOT_DROPPED = _rule(
    "FSM013", "capabilities-not-dropped", "A container does not drop all capabilities.",
    "Without capabilities.drop: [ALL] the runtime's default set stays (CHOWN, SETUID, NET_RAW ...). Drop "
    "ALL and add back only what the workload needs (usually nothing, or NET_BIND_SERVICE).", 250, Level.WARNING)
WRITABLE_ROOT = _rule(
    "FSM014", "writable-root-filesystem", "A container's root filesystem is writable.",
    "Without readOnlyRootFilesystem: true an intruder can change binaries and configuration in the "
    "container. Set it and mount an emptyDir where the program must write.", 732, Level.WARNING)
SECCOMP_UNCONFINED = _rule(
    "FSM015", "seccomp-unconfined", "A pod or container runs with seccomp Unconfined.",
    "seccompProfile type Unconfined leaves every system call open to the process. Use RuntimeDefault "
    "or a Localhost profile.", 693, Level.WARNING)
SECCOMP_MISSING = _rule(
    "FSM016", "seccomp-missing", "No seccomp profile is set for a container.",
    "Without seccompProfile (pod or container level) most runtimes run the container unconfined. Set "
    "securityContext.seccompProfile.type: RuntimeDefault.", 693, Level.WARNING)
NO_REQUESTS = _rule(
    "FSM017", "resource-requests-missing", "A container has no CPU or memory request.",
    "Without requests the scheduler packs pods blindly and the pod is first to be evicted. Set "
    "resources.requests.cpu and .memory.", 770, Level.WARNING)
NO_LIMITS = _rule(
    "FSM018", "resource-limits-missing", "A container has no CPU or memory limit.",
    "Without limits one container can starve its node (a denial of service for every pod there). Set "
    "resources.limits.cpu and .memory.", 770, Level.WARNING)
IMAGE_LATEST = _rule(
    "FSM019", "image-latest", "A container image uses the mutable :latest tag.",
    "What :latest points to changes under a running workload: rollbacks and audits cannot say what ran. "
    "Pin a version tag, better a digest (@sha256:...).", 494, Level.WARNING)
IMAGE_NO_TAG = _rule(
    "FSM020", "image-untagged", "A container image has no tag (it means :latest).",
    "An image without tag or digest is pulled as :latest. Pin a version tag, better a digest.", 494, Level.WARNING)
IMAGE_NO_DIGEST = _rule(
    "FSM021", "image-not-pinned-by-digest", "A container image is pinned by tag, not by digest.",
    "A tag can be moved to other content in the registry; only a digest (@sha256:...) names one image.",
    494, Level.NOTE)
NO_LIVENESS = _rule(
    "FSM022", "liveness-probe-missing", "A long-running container has no liveness probe.",
    "Without a liveness probe a hung process keeps its pod and its traffic. Add livenessProbe "
    "(Deployments, StatefulSets, DaemonSets, ReplicaSets, Pods; batch jobs are not checked).", 754, Level.WARNING)
NO_READINESS = _rule(
    "FSM023", "readiness-probe-missing", "A long-running container has no readiness probe.",
    "Without a readiness probe a pod gets traffic before it can serve it (and while it cannot). Add "
    "readinessProbe.", 754, Level.WARNING)
NO_NETWORK_POLICY = _rule(
    "FSM024", "network-policy-missing", "No NetworkPolicy in the scanned manifests selects a workload's pods.",
    "Checked across all documents scanned together: a namespace without a NetworkPolicy, or a workload "
    "no policy of its namespace selects, accepts traffic from every pod of the cluster. Add a "
    "NetworkPolicy (default deny, then what the workload needs).", 923, Level.WARNING)
DEFAULT_NAMESPACE = _rule(
    "FSM025", "default-namespace", "An object is placed in the default namespace.",
    "The default namespace mixes unrelated workloads under one set of policies and quotas. Give the "
    "application its own namespace.", 653, Level.WARNING)
AUTOMOUNT_TOKEN = _rule(
    "FSM026", "service-account-token-mounted", "A pod mounts its service-account token.",
    "automountServiceAccountToken is not false on the pod nor on its ServiceAccount (when that is in "
    "the scanned manifests): a compromised container can call the Kubernetes API. Set it to false unless "
    "the workload uses the API.", 668, Level.WARNING)
LITERAL_SECRET = _rule(
    "FSM027", "literal-secret", "A credential is written into the manifest (env value, argument or ConfigMap key).",
    "An environment variable or a ConfigMap key named like a credential (PASSWORD, TOKEN, SECRET, API_KEY, "
    "PRIVATE_KEY ...) has a literal value, or an argument passes one (--password=...): it is in Git, in every copy of the "
    "manifest and readable by anyone who can read the pod. Use valueFrom.secretKeyRef.", 798, Level.ERROR)
SECRET_DATA = _rule(
    "FSM028", "secret-values-in-manifest", "A Secret object carries its values in the manifest.",
    "data/stringData of a Secret are only base64, not encrypted: committed to Git they are readable by "
    "everyone with the repository. Use a SealedSecret, an external secret store, or create it out of band.",
    312, Level.WARNING)
RBAC_WILDCARD = _rule(
    "FSM029", "rbac-wildcard", "A Role or ClusterRole grants '*' (every verb, resource or API group).",
    "A wildcard grants today's and tomorrow's resources and verbs, including secrets and escalation "
    "paths. List what is needed.", 269, Level.ERROR)
CLUSTER_ADMIN = _rule(
    "FSM030", "rbac-cluster-admin", "A binding grants cluster-admin or the system:masters group.",
    "cluster-admin (or membership in system:masters) is full control of the cluster. Bind a role that "
    "lists what the subject needs.", 269, Level.ERROR)
RBAC_EXEC = _rule(
    "FSM031", "rbac-pods-exec", "A role may exec or attach into pods (pods/exec, pods/attach).",
    "Exec into a pod is running any command as that pod, with its secrets and service account. Grant "
    "it to people for debugging, not to workloads.", 269, Level.WARNING)
RBAC_ESCALATION = _rule(
    "FSM032", "rbac-escalation", "A role may escalate, bind or impersonate.",
    "The verbs escalate, bind and impersonate let the holder grant itself permissions it does not have. "
    "Remove them.", 269, Level.ERROR)
TEMPLATE = _rule(
    "FSM033", "manifest-template-not-scanned", "A Helm/Go template is not YAML until it is rendered: not scanned.",
    "The file holds template markers ({{ ... }}) and does not parse as YAML. What is deployed is its rendered "
    "output: scan that in CI (helm template CHART | foresight scan -, kustomize build DIR | foresight scan -).",
    20, Level.NOTE)
