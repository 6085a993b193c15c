"""Validation of rendered Kubernetes manifests, before they are written, committed or applied.

An API server rejects a bad manifest only when it is applied, and silently drops unknown fields of
a custom resource; a GitOps commit should fail earlier, with every problem listed at once.

* **Core kinds** (API group ``""``, a group without a dot, or ``*.k8s.io``) are checked by
  ``kubernetes-validate`` against the Kubernetes OpenAPI schemas it ships, in strict mode (an
  unknown field fails), for one Kubernetes version. It reports the first problem of a document.
* **Custom resources** are checked against the ``openAPIV3Schema`` of their CRD, found in a
  directory of CRD YAML files (:class:`CrdSchemas`), as JSON Schema Draft 4 after
  :func:`draft4`: ``nullable`` becomes a ``null`` type, and objects that declare ``properties``
  are closed to other keys, as the API server's pruning would make them. Every problem of a
  document is reported. CEL rules (``x-kubernetes-validations``) are not checked.
* **Every document** needs ``apiVersion``, ``kind`` and a DNS-1123 ``metadata.name`` (and
  namespace, when given).

A custom resource whose API group no CRD in the directory defines (or no directory at all) is
*unchecked*, which :class:`Validation` says, rather than a problem: the renderer still works on a
machine without the schemas. A known group with an unknown kind or version is a problem.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

from foresight.errors import ConfigError, InputError

__all__ = ["SCHEMA_DIR_ENV", "CrdSchemas", "Problem", "Validation", "draft4", "find_schema_dir", "validate_manifests"]

SCHEMA_DIR_ENV = "FORESIGHT_SCHEMA_DIR"
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
#: What every Kubernetes object has, whether or not a CRD's schema spells it out.
_OBJECT_FIELDS = {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"}}
_GROUP_LINE = re.compile(r"^\s+group:\s*['\"]?([a-z0-9][a-z0-9.-]*)['\"]?\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Problem:
    """One reason a manifest would be rejected: which object, where in it (``spec.triggers[0].type``), what."""

    kind: str
    name: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}: {self.path or '(document)'}: {self.message}"


@dataclass(frozen=True)
class Validation:
    """The outcome for a set of manifests: problems, and which objects were checked against what."""

    problems: tuple[Problem, ...]
    checked: tuple[str, ...]
    unchecked: tuple[str, ...]

    def raise_for_problems(self, what: str = "manifests") -> None:
        """Raise :class:`InputError` listing every problem, one per line; do nothing when there are none."""
        if self.problems:
            lines = "\n".join(f"  {p}" for p in self.problems)
            raise InputError(f"{what}: {len(self.problems)} problem(s) would make Kubernetes reject them:\n{lines}")


def draft4(schema: Any, closed: bool = True) -> Any:
    """A CRD's OpenAPI v3 schema as JSON Schema Draft 4, with objects closed to unknown keys.

    Objects declaring ``properties`` get ``additionalProperties: false`` unless they preserve
    unknown fields; never inside ``allOf``/``anyOf``/``oneOf``/``not``, whose branches repeat only
    part of the properties. Embedded resources keep ``apiVersion``, ``kind`` and ``metadata``.

    >>> draft4({"type": "object", "properties": {"n": {"type": "integer", "nullable": True}}})
    {'type': 'object', 'properties': {'n': {'type': ['integer', 'null']}}, 'additionalProperties': False}
    """
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("properties", "patternProperties", "definitions"):
            out[key] = {name: draft4(sub, closed) for name, sub in value.items()}
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [draft4(sub, closed=False) for sub in value]
        elif key == "not":
            out[key] = draft4(value, closed=False)
        elif key in ("items", "additionalProperties"):
            out[key] = draft4(value, closed)
        elif key != "nullable":
            out[key] = value
    if schema.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    if "properties" in out and out.get("x-kubernetes-embedded-resource"):
        out["properties"] = {**_OBJECT_FIELDS, **out["properties"]}
    open_ = "additionalProperties" in out or out.get("x-kubernetes-preserve-unknown-fields")
    if closed and "properties" in out and not open_:
        out["additionalProperties"] = False
    return out


class CrdSchemas:
    """The CustomResourceDefinitions in a directory of YAML files.

    Files are indexed by the API groups they mention and parsed only when a manifest of one of
    those groups is validated (the Istio CRDs alone are ~1 MB of YAML).
    """

    def __init__(self, directory: Path) -> None:
        if not directory.is_dir():
            raise ConfigError(f"CRD schema directory {directory} does not exist")
        self.directory = directory
        self._files: dict[str, list[Path]] = {}
        for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
            for group in set(_GROUP_LINE.findall(path.read_text(encoding="utf-8"))):
                self._files.setdefault(group, []).append(path)
        self._schemas: dict[str, dict[tuple[str, str], Any]] = {}
        self._validators: dict[tuple[str, str, str], jsonschema.Draft4Validator] = {}

    def kinds(self, group: str) -> dict[tuple[str, str], Any]:
        """``{(kind, version): openAPIV3Schema}`` of the served versions of the group's CRDs."""
        if group not in self._schemas:
            found: dict[tuple[str, str], Any] = {}
            for path in self._files.get(group, []):
                try:
                    found.update(_served_schemas(path, group))
                except (yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
                    raise ConfigError(f"{path}: not a readable CustomResourceDefinition file ({exc!r})") from exc
            self._schemas[group] = found
        return self._schemas[group]

    def validator(self, group: str, version: str, kind: str) -> jsonschema.Draft4Validator | None:
        """The validator of ``kind`` at ``group/version``; None when no CRD here serves it."""
        key = (group, version, kind)
        if key not in self._validators:
            schema = self.kinds(group).get((kind, version))
            if schema is None:
                return None
            root = {**schema, "properties": {**_OBJECT_FIELDS, **schema.get("properties", {})}}
            self._validators[key] = jsonschema.Draft4Validator(draft4(root))
        return self._validators[key]


def _served_schemas(path: Path, group: str) -> dict[tuple[str, str], Any]:
    found = {}
    for doc in yaml.load_all(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader):
        if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition" and doc["spec"]["group"] == group:
            for version in doc["spec"]["versions"]:
                if version.get("served", True) and "schema" in version:
                    found[(doc["spec"]["names"]["kind"], version["name"])] = version["schema"]["openAPIV3Schema"]
    return found


def find_schema_dir(explicit: Path | None = None, environ: Mapping[str, str] = os.environ) -> Path | None:
    """Where the CRD schemas are: ``explicit``, else ``$FORESIGHT_SCHEMA_DIR``, else
    ``../shared/data/schemas`` (beside a checkout) when it exists, else None."""
    given = explicit or (Path(environ[SCHEMA_DIR_ENV]) if environ.get(SCHEMA_DIR_ENV) else None)
    if given is not None:
        if not given.is_dir():
            source = "--schema-dir" if explicit else f"${SCHEMA_DIR_ENV}"
            raise ConfigError(f"{source}: CRD schema directory {given} does not exist")
        return given
    beside = Path("..", "shared", "data", "schemas")
    return beside if beside.is_dir() else None


def validate_manifests(
    docs: Iterable[Any], crds: CrdSchemas | None = None, kubernetes_version: str | None = None
) -> Validation:
    """Check every document; never raises for a bad one (see :meth:`Validation.raise_for_problems`)."""
    version = kubernetes_version or kubernetes_validate.latest_version()
    problems: list[Problem] = []
    checked: list[str] = []
    unchecked: list[str] = []
    for number, doc in enumerate(docs, start=1):
        if not isinstance(doc, Mapping):
            problems.append(Problem("?", f"(document {number})", "", f"is of type {type(doc).__name__}, not a mapping"))
            continue
        kind = doc["kind"] if isinstance(doc.get("kind"), str) else "?"
        name = _name_of(doc, number)
        found = _identity_problems(doc)
        if kind != "?" and isinstance(doc.get("apiVersion"), str):
            schema_problems, against = _schema_problems(doc, crds, version)
            if schema_problems is None:
                unchecked.append(f"{kind}/{name} ({doc['apiVersion']}): {against}")
            else:
                found += schema_problems
                checked.append(f"{kind}/{name}: {against}")
        problems.extend(Problem(kind, name, path, message) for path, message in found)
    return Validation(tuple(problems), tuple(checked), tuple(unchecked))


def _schema_problems(
    doc: Mapping[str, Any], crds: CrdSchemas | None, version: str
) -> tuple[list[tuple[str, str]] | None, str]:
    """(path, message) problems and the schema used, or None and why no schema was found."""
    api_version, kind = doc["apiVersion"], doc["kind"]
    group, _, api = api_version.rpartition("/")
    if _is_core(group):
        return _core_problems(doc, version), f"Kubernetes {version} schema"
    if crds is None:
        return None, "no CRD schema directory"
    if not crds.kinds(group):
        return None, f"no CRD of group {group} in {crds.directory}"
    validator = crds.validator(group, api, kind)
    if validator is None:
        served = ", ".join(sorted(f"{k} {group}/{v}" for k, v in crds.kinds(group)))
        return [("apiVersion", f"no CRD serves {kind} in {api_version}; served: {served}")], f"CRDs in {crds.directory}"
    errors = sorted(validator.iter_errors(doc), key=lambda e: [str(p) for p in e.path])
    return [(_path(e.path), e.message) for e in errors], f"CRD schema in {crds.directory}"


def _is_core(group: str) -> bool:
    return "." not in group or group.endswith(".k8s.io")


def _name_of(doc: Mapping[str, Any], number: int) -> str:
    metadata = doc.get("metadata")
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    return name if isinstance(name, str) and name else f"(document {number})"


def _identity_problems(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    found = [(key, "is missing or not a string") for key in ("apiVersion", "kind") if not isinstance(doc.get(key), str)]
    metadata = doc.get("metadata")
    if not isinstance(metadata, Mapping):
        return [*found, ("metadata", "is missing or not a mapping")]
    name, namespace = metadata.get("name"), metadata.get("namespace")
    if not (isinstance(name, str) and len(name) <= 253 and _SUBDOMAIN.match(name)):
        found.append(("metadata.name", f"{name!r} is not a DNS-1123 subdomain (lower-case a-z, 0-9, '-', '.')"))
    if namespace is not None and not (isinstance(namespace, str) and len(namespace) <= 63 and _LABEL.match(namespace)):
        found.append(("metadata.namespace", f"{namespace!r} is not a DNS-1123 label (lower-case a-z, 0-9, '-')"))
    return found


def _core_problems(doc: Mapping[str, Any], version: str) -> list[tuple[str, str]]:
    try:
        kubernetes_validate.validate(dict(doc), version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [(_path(exc.path), exc.message)]
    except kubernetes_validate.SchemaNotFoundError:
        return [("kind", f"Kubernetes {version} has no kind {doc['kind']} in {doc['apiVersion']}")]
    except kubernetes_validate.utils.VersionNotSupportedError:
        latest = kubernetes_validate.latest_version()
        raise ConfigError(f"kubernetes-validate has no schemas for Kubernetes {version} (latest: {latest})") from None
    return []


def _path(parts: Iterable[Any]) -> str:
    """``spec.triggers[0].type`` from ``["spec", "triggers", 0, "type"]``."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
