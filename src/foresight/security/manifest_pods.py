"""Checks on one pod spec and its containers: privileges, host access, identity, resources, images, probes, secrets.

A value set on a container's ``securityContext`` overrides the pod's (runAsUser, runAsNonRoot,
seccompProfile), as the kubelet applies them; a finding points at the line that decided it (the
container's field, else the pod's), or at the container when nothing was set. Values of the wrong
type count as not set: Kubernetes would reject them, and a check never passes on one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from foresight.security import manifest_rules as R
from foresight.security.findings import Rule
from foresight.security.manifest_yaml import line_of

__all__ = ["Hit", "PodSite", "as_list", "as_map", "image_hits", "pod_hits", "resource_hits", "secret_env_hits",
           "secret_key_hits"]

#: a check's result: the rule, what exactly, and the line (None without marks)
Hit = tuple[Rule, str, int | None]

_EMPTY: Mapping[str, Any] = {}

_SENSITIVE_PATHS = ("/etc", "/root", "/proc", "/sys", "/boot", "/dev", "/var/run", "/run", "/var/lib/kubelet",
                    "/var/lib/docker", "/var/lib/containerd", "/var/lib/etcd", "/etc/kubernetes", "/var/log",
                    "/home", "/usr", "/bin", "/sbin", "/lib")
_SOCKETS = ("docker.sock", "containerd.sock", "crio.sock", "cri-dockerd.sock", "podman.sock")
_DANGEROUS_CAPS = frozenset({"SYS_ADMIN", "SYS_MODULE", "SYS_PTRACE", "SYS_RAWIO", "SYS_BOOT", "NET_ADMIN",
                             "DAC_READ_SEARCH", "DAC_OVERRIDE", "BPF", "PERFMON", "SYSLOG", "MAC_ADMIN",
                             "MAC_OVERRIDE", "ALL"})
_SAFE_SECCOMP = frozenset({"RuntimeDefault", "Localhost"})

_SECRET_WORDS = frozenset({"PASSWORD", "PASSWD", "PASS", "PWD", "PASSPHRASE", "SECRET", "TOKEN", "APIKEY",
                           "CREDENTIAL", "CREDENTIALS", "PRIVATEKEY", "SECRETKEY", "ACCESSKEY"})
#: KEY is a credential only after one of these (API_KEY, not PARTITION_KEY)
_KEY_QUALIFIERS = frozenset({"API", "ACCESS", "SECRET", "PRIVATE", "ENCRYPTION", "SIGNING", "MASTER", "LICENSE",
                             "AUTH", "SERVICE", "CLIENT", "APP", "SSH", "TLS", "HMAC", "JWT", "ADMIN", "ACCOUNT",
                             "STORAGE", "SESSION", "WEBHOOK"})
#: a last word that makes the variable describe a credential rather than hold it (TOKEN_FILE, SECRET_NAME)
_NOT_A_VALUE = frozenset({"FILE", "PATH", "DIR", "NAME", "REF", "ID", "URL", "URI", "HOST", "PORT", "ENABLED",
                          "ENABLE", "TYPE", "MODE", "LENGTH", "LEN", "SIZE", "TTL", "TIMEOUT", "EXPIRY", "EXPIRES",
                          "HEADER", "PREFIX", "FIELD", "ALGORITHM", "ALG", "VERSION", "COUNT", "LIMIT", "MAX",
                          "MIN", "USER", "USERNAME", "ENDPOINT", "REGION", "KIND", "PROVIDER", "ISSUER", "AUDIENCE",
                          "SCOPE", "FORMAT", "LOCATION", "MOUNT", "KEY", "TOKENS", "SECRETS", "REQUIRED"})
_SECRET_FLAG = re.compile(r"^--?(?:[a-z0-9]+[-_])*(password|passwd|token|secret|api[-_]?key|access[-_]?key|"
                          r"secret[-_]?key|private[-_]?key)(?:=(.*))?$", re.IGNORECASE)


@dataclass(frozen=True)
class PodSite:
    """A pod spec found in an object, and how to describe it in a finding."""

    label: str  # "Deployment web (namespace shop)"
    where: str  # "spec.template.spec"
    pod: Mapping[str, Any]
    labels: Mapping[str, Any]
    long_running: bool
    line: int | None = None  # the key that holds the pod spec (``spec:`` of a template)


def as_map(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else _EMPTY


def as_list(value: object) -> Sequence[Any]:
    return value if isinstance(value, (list, tuple)) else ()


def _is_uid(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def pod_hits(site: PodSite, token_off_by_account: bool) -> Iterator[Hit]:
    """Every finding of the pod spec at ``site``; ``token_off_by_account``: its ServiceAccount (in the
    scanned set) has automountServiceAccountToken: false."""
    pod = site.pod
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(key) is True:
            yield R.HOST_NAMESPACE, f"{site.label}: {key}: true", line_of(pod, key)
    for volume in as_list(pod.get("volumes")):
        host = as_map(as_map(volume).get("hostPath"))
        if host:
            path = host.get("path")
            name = as_map(volume).get("name")
            rule = R.HOST_PATH_SENSITIVE if not isinstance(path, str) or _sensitive(path) else R.HOST_PATH
            yield rule, f"{site.label}: volume {name!r} mounts the node's {path!r} (hostPath)", line_of(host, "path")
    automount = pod.get("automountServiceAccountToken")
    if automount is not False and not (automount is None and token_off_by_account):
        account = pod.get("serviceAccountName") or pod.get("serviceAccount") or "default"
        yield (R.AUTOMOUNT_TOKEN, f"{site.label}: the token of service account {account!r} is mounted",
               line_of(pod, "automountServiceAccountToken") if automount is not None else site.line or line_of(pod))
    pod_context = as_map(pod.get("securityContext"))
    for group in ("initContainers", "containers", "ephemeralContainers"):
        for index, container in enumerate(as_list(pod.get(group))):
            if isinstance(container, Mapping):
                yield from _container_hits(site, pod_context, group, container, line_of(pod.get(group), index))


def _container_hits(site: PodSite, pod_context: Mapping[str, Any], group: str, container: Mapping[str, Any],
                    line: int | None) -> Iterator[Hit]:
    who = f"{site.label} container {container.get('name')!r}"
    line = line_of(container) or line
    context = as_map(container.get("securityContext"))
    context_line = line_of(container, "securityContext") or line
    if context.get("privileged") is True:
        yield R.PRIVILEGED, f"{who}: privileged: true", line_of(context, "privileged")
    escalation = context.get("allowPrivilegeEscalation")
    if escalation is True:
        yield R.ESCALATION_ALLOWED, f"{who}: allowPrivilegeEscalation: true", line_of(context, "allowPrivilegeEscalation")
    elif escalation is not False:
        yield R.ESCALATION_NOT_DISABLED, f"{who}: allowPrivilegeEscalation is not false", context_line
    yield from _capability_hits(who, context, context_line)
    if context.get("readOnlyRootFilesystem") is not True:
        yield R.WRITABLE_ROOT, f"{who}: readOnlyRootFilesystem is not true", line_of(context, "readOnlyRootFilesystem") or context_line
    yield from _identity_hits(who, pod_context, context, context_line)
    yield from _seccomp_hits(who, pod_context, context, context_line)
    for port in as_list(container.get("ports")):
        host_port = as_map(port).get("hostPort")
        if host_port not in (None, 0):
            yield R.HOST_PORT, f"{who}: hostPort {host_port}", line_of(port, "hostPort")
    if group != "ephemeralContainers":
        yield from resource_hits(who, as_map(container.get("resources")), line_of(container, "resources") or line)
    yield from image_hits(who, container.get("image"), line_of(container, "image"))
    if site.long_running and group == "containers":
        for key, rule in (("livenessProbe", R.NO_LIVENESS), ("readinessProbe", R.NO_READINESS)):
            if not isinstance(container.get(key), Mapping):
                yield rule, f"{who}: no {key}", line
    yield from secret_env_hits(who, container.get("env"))
    for key in ("command", "args"):
        yield from _secret_argument_hits(who, container.get(key))


def _capability_hits(who: str, context: Mapping[str, Any], line: int | None) -> Iterator[Hit]:
    capabilities = as_map(context.get("capabilities"))
    line = line_of(context, "capabilities") or line
    added = {_capability(c) for c in as_list(capabilities.get("add")) if isinstance(c, str)}
    dropped = {_capability(c) for c in as_list(capabilities.get("drop")) if isinstance(c, str)}
    add_line, drop_line = line_of(capabilities, "add") or line, line_of(capabilities, "drop") or line
    dangerous = sorted(added & _DANGEROUS_CAPS)
    if dangerous:
        yield R.DANGEROUS_CAPABILITY, f"{who}: adds {', '.join(dangerous)}", add_line
    if "NET_RAW" in added:
        yield R.NET_RAW, f"{who}: adds NET_RAW", add_line
    elif not dropped & {"ALL", "NET_RAW"}:
        yield R.NET_RAW, f"{who}: NET_RAW is not dropped", drop_line
    if "ALL" not in dropped:
        yield R.ALL_NOT_DROPPED, f"{who}: capabilities.drop does not hold ALL", drop_line


def _capability(name: str) -> str:
    name = name.strip().upper()
    return name.removeprefix("CAP_")


def _effective(pod_context: Mapping[str, Any], context: Mapping[str, Any], key: str) -> tuple[Any, int | None]:
    """The value the kubelet uses (the container's when it sets the key, else the pod's) and its line."""
    if key in context:
        return context[key], line_of(context, key)
    return pod_context.get(key), line_of(pod_context, key) if key in pod_context else None


def _identity_hits(who: str, pod_context: Mapping[str, Any], context: Mapping[str, Any], line: int | None) -> Iterator[Hit]:
    user, user_line = _effective(pod_context, context, "runAsUser")
    if _is_uid(user) and user == 0:
        yield R.RUNS_AS_ROOT, f"{who}: runAsUser: 0", user_line
        return
    non_root, non_root_line = _effective(pod_context, context, "runAsNonRoot")
    if non_root is not True and not (_is_uid(user) and user > 0):
        state = "runAsNonRoot: false" if non_root is False else "neither runAsNonRoot: true nor a non-zero runAsUser"
        yield R.ROOT_NOT_REFUSED, f"{who}: {state}", non_root_line or line


def _seccomp_hits(who: str, pod_context: Mapping[str, Any], context: Mapping[str, Any], line: int | None) -> Iterator[Hit]:
    profile, profile_line = _effective(pod_context, context, "seccompProfile")
    kind = as_map(profile).get("type")
    if kind == "Unconfined":
        yield R.SECCOMP_UNCONFINED, f"{who}: seccompProfile type Unconfined", line_of(profile, "type") or profile_line
    elif kind not in _SAFE_SECCOMP:
        yield R.SECCOMP_MISSING, f"{who}: no seccompProfile of type RuntimeDefault or Localhost", profile_line or line


def resource_hits(who: str, resources: Mapping[str, Any], line: int | None) -> Iterator[Hit]:
    """CPU and memory requests and limits that are not set."""
    requests, limits = as_map(resources.get("requests")), as_map(resources.get("limits"))
    # a limit without a request is also the request (the API server copies it)
    no_request = [k for k in ("cpu", "memory") if requests.get(k) in (None, "") and limits.get(k) in (None, "")]
    if no_request:
        yield R.NO_REQUESTS, f"{who}: no {' or '.join(no_request)} request", line_of(resources, "requests") or line
    no_limit = [k for k in ("cpu", "memory") if limits.get(k) in (None, "")]
    if no_limit:
        yield R.NO_LIMITS, f"{who}: no {' or '.join(no_limit)} limit", line_of(resources, "limits") or line


def image_hits(who: str, image: object, line: int | None) -> Iterator[Hit]:
    """The image reference's pinning: no tag, :latest, or a tag without a digest."""
    if not isinstance(image, str) or not image.strip():
        return
    image = image.strip()
    if "@" in image:
        return
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        yield R.IMAGE_NO_TAG, f"{who}: image {image!r} has no tag (pulled as :latest)", line
    elif last.rsplit(":", 1)[1] == "latest":
        yield R.IMAGE_LATEST, f"{who}: image {image!r}", line
    else:
        yield R.IMAGE_NO_DIGEST, f"{who}: image {image!r} is not pinned by digest", line


def _secret_name(name: str) -> bool:
    words = [w for w in re.split(r"[^A-Z0-9]+", name.upper()) if w]
    if not words:
        return False
    if len(words) > 1 and words[-1] in _NOT_A_VALUE and not (words[-1] == "KEY" and words[-2] in _KEY_QUALIFIERS):
        return False
    for index, word in enumerate(words):
        if word in _SECRET_WORDS or "PASSWORD" in word or "PASSWD" in word or "SECRET" in word and word != "SECRETS":
            return True
        if word == "KEY" and (len(words) == 1 or index > 0 and words[index - 1] in _KEY_QUALIFIERS):
            return True
    return False


def _literal(value: object) -> bool:
    """A value that is itself the credential: not empty, not a $(VAR) reference, not a file path."""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        return False
    text = str(value).strip()
    return bool(text) and not re.fullmatch(r"(\$\([A-Za-z0-9_.-]+\)|\$\{?[A-Za-z0-9_]+\}?)+", text) and not (
        text.startswith("/") and " " not in text)


def secret_env_hits(who: str, env: object) -> Iterator[Hit]:
    """Environment variables named like credentials that carry a literal value (the value is never shown)."""
    for item in as_list(env):
        item = as_map(item)
        name = item.get("name")
        if isinstance(name, str) and "value" in item and _secret_name(name) and _literal(item["value"]):
            yield R.LITERAL_SECRET, f"{who}: env {name} has a literal value", line_of(item, "value")


def secret_key_hits(who: str, data: object) -> Iterator[Hit]:
    """Keys of a ConfigMap's data named like credentials with a literal value (ConfigMaps are not secret)."""
    mapping = as_map(data)
    for key, value in mapping.items():
        if isinstance(key, str) and _secret_name(key) and _literal(value):
            yield R.LITERAL_SECRET, f"{who}: data key {key} holds a literal value", line_of(mapping, key)


def _secret_argument_hits(who: str, arguments: object) -> Iterator[Hit]:
    """``--password=x``, ``--token x`` and the same inside a shell line (``sh -c "app --token x"``)."""
    items = as_list(arguments)
    words = [(word, index) for index, argument in enumerate(items) if isinstance(argument, str) for word in argument.split()]
    for at, (word, index) in enumerate(words):
        match = _SECRET_FLAG.match(word)
        if match is None:
            continue
        value = match.group(2) if match.group(2) is not None else (words[at + 1][0] if at + 1 < len(words) else None)
        if _literal(value) and not (isinstance(value, str) and value.startswith("-")):
            yield R.LITERAL_SECRET, f"{who}: argument {word.split('=', 1)[0]} is given a literal value", line_of(items, index)


def _sensitive(path: str) -> bool:
    clean = "/" + "/".join(part for part in path.split("/") if part and part != ".")
    if clean == "/" or ".." in clean.split("/") or clean.endswith(_SOCKETS):
        return True
    return any(clean == root or clean.startswith(root + "/") for root in _SENSITIVE_PATHS)
