"""Reading spec files: one or several YAML documents, each a ModelDeployment or a TrainingJob.

Every mistake is reported at once, each as ``FILE:LINE: document N (Kind/name): field.path:
what is wrong`` so the user can jump to it; the line is that of the offending value (or of the
nearest enclosing key when the field is missing).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from foresight.errors import InputError
from foresight.specs.model_deployment import ModelDeployment
from foresight.specs.training_job import TrainingJob
from foresight.specs.workload import API_VERSION

__all__ = ["SPEC_KINDS", "Spec", "load_specs", "parse_specs"]

Spec = ModelDeployment | TrainingJob
SPEC_KINDS: dict[str, type[ModelDeployment | TrainingJob]] = {
    "ModelDeployment": ModelDeployment,
    "TrainingJob": TrainingJob,
}


def load_specs(path: Path) -> list[Spec]:
    """Every spec in a YAML file; :class:`InputError` naming file, line, document and field otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read spec file ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x}); "
                         "a spec file is YAML saved as UTF-8") from None
    return parse_specs(text, str(path))


def parse_specs(text: str, source: str = "<spec>") -> list[Spec]:
    """Every spec in a YAML stream (``source`` names it in errors); empty documents are skipped.

    >>> [s.metadata.name for s in parse_specs('''
    ... apiVersion: foresight.ai/v1alpha1
    ... kind: TrainingJob
    ... metadata: {name: mnist}
    ... spec: {framework: pytorch, image: "ghcr.io/org/mnist:1", command: [python, train.py]}
    ... ''')]
    ['mnist']
    """
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        raise InputError(f"{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    except RecursionError:  # the YAML parser recurses once per level of nesting
        raise InputError(f"{source}: nested too deeply to be a spec (a spec is a few levels deep)") from None
    specs: list[Spec] = []
    problems: list[str] = []
    for number, node in enumerate(nodes, start=1):
        if node is None:
            continue
        doc = yaml.SafeLoader("").construct_document(node)
        where = f"{source}:{node.start_mark.line + 1}: document {number}"
        if not isinstance(doc, dict):
            problems.append(f"{where}: a spec is a mapping with apiVersion, kind, metadata and spec")
            continue
        kind, api_version = doc.get("kind"), doc.get("apiVersion")
        if api_version != API_VERSION:
            problems.append(f"{where}: apiVersion: {api_version!r} is not {API_VERSION}")
            continue
        if kind not in SPEC_KINDS:
            problems.append(f"{where}: kind: {kind!r} is not one of {', '.join(SPEC_KINDS)}")
            continue
        metadata = doc.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        label = f"document {number} ({kind}/{name or '?'})"
        try:
            specs.append(SPEC_KINDS[kind].model_validate(doc))
        except ValidationError as exc:
            for error in exc.errors():
                line = _line_of(node, error["loc"])
                field = _dotted(error["loc"]) or "(document)"
                message = error["msg"].removeprefix("Value error, ")
                problems.append(f"{source}:{line}: {label}: {field}: {message}")
    if problems:
        raise InputError(f"{len(problems)} problem(s) in spec file:\n" + "\n".join(f"  {p}" for p in problems))
    if not specs:
        raise InputError(f"{source}: no spec found (the file is empty)")
    return specs


def _dotted(loc: Sequence[int | str]) -> str:
    """``spec.canary.traffic`` / ``spec.placement.required[0].values`` from a pydantic location."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _line_of(node: Any, loc: Sequence[int | str]) -> int:
    """1-based line of the YAML node at ``loc``, or of the deepest node on the way to it."""
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((value for key, value in node.value if key.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
        if child is None:
            break
        node = child
    return int(node.start_mark.line) + 1
