"""YAML documents as plain dicts and lists that remember the line of every key and item.

A finding must point at the field (``privileged: true`` on line 42), and PyYAML's constructed
values forget where they came from. libyaml composes the node graph in C with its marks; this
module turns nodes into :class:`MarkedMap` / :class:`MarkedList` (a ``dict`` / ``list`` that also
carries lines), so the checks read ordinary Python values and ask :func:`line_of` where one was.
Scalars are resolved as PyYAML's safe loader resolves them (YAML 1.1: ``yes`` is true, ``0o17`` an
int), merge keys (``<<``) are applied, an alias yields the object of its anchor (a "billion
laughs" document costs one object per node) and a repeated key is reported, not silently resolved.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from foresight.errors import InputError

__all__ = ["MarkedList", "MarkedMap", "UnreadableYaml", "line_of", "load_documents"]

_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_CONSTRUCTOR = SafeConstructor()


class UnreadableYaml(InputError):
    """Text that libyaml cannot parse; ``line`` is 1-based, None when libyaml gave no mark."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


class MarkedMap(dict[Any, Any]):
    """A mapping with the 1-based line where it starts and the line of each key."""

    __slots__ = ("key_lines", "line")

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[Any, int] = {}


class MarkedList(list[Any]):
    """A sequence with the 1-based line where it starts and the line of each item."""

    __slots__ = ("item_lines", "line")

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []


def line_of(container: object, key: object = None) -> int | None:
    """The line of ``key`` in ``container`` (an index for a list), or of the container itself when
    ``key`` is None; None when ``key`` is absent or the value carries no marks (built in Python)."""
    if isinstance(container, MarkedMap):
        return container.line if key is None else container.key_lines.get(key)
    if isinstance(container, MarkedList):
        if key is None:
            return container.line
        return container.item_lines[key] if isinstance(key, int) and 0 <= key < len(container.item_lines) else None
    return None


def load_documents(text: str) -> tuple[list[Any], list[tuple[str, int]]]:
    """Every document of ``text`` (empty ones left out) and every repeated key with its line."""
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.CSafeLoader))
    except yaml.YAMLError as exc:
        # where the broken construct began (an unclosed bracket's line), else where parsing stopped
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        raise UnreadableYaml(f"YAML does not parse: {_one_line(exc)}", None if mark is None else mark.line + 1) from exc
    builder = _Builder()
    try:
        documents = [builder.value(node) for node in nodes if node is not None]
    except RecursionError as exc:
        raise UnreadableYaml("YAML nests too deep to be checked", None) from exc
    return [d for d in documents if d is not None], builder.duplicates


def _one_line(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None)
    context = getattr(exc, "context", None)
    text = " ".join(str(part) for part in (context, problem) if part) or str(exc)
    return " ".join(text.split())


class _Builder:
    def __init__(self) -> None:
        self.done: dict[int, Any] = {}
        self.duplicates: list[tuple[str, int]] = []

    def value(self, node: Node) -> Any:
        if isinstance(node, ScalarNode):
            return _scalar(node)
        known = self.done.get(id(node))
        if known is not None:
            return known
        line = node.start_mark.line + 1
        if isinstance(node, SequenceNode):
            items = MarkedList(line)
            self.done[id(node)] = items
            for item in node.value:
                items.item_lines.append(item.start_mark.line + 1)
                items.append(self.value(item))
            return items
        assert isinstance(node, MappingNode)
        mapping = MarkedMap(line)
        self.done[id(node)] = mapping
        merged: list[Any] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merged.append(self.value(value_node))
                continue
            key = _scalar(key_node) if isinstance(key_node, ScalarNode) else f"<complex key at line {key_node.start_mark.line + 1}>"
            key_line = key_node.start_mark.line + 1
            if key in mapping.key_lines:
                self.duplicates.append((str(key), key_line))
            mapping[key] = self.value(value_node)
            mapping.key_lines[key] = key_line
        for source in merged:  # explicit keys win over merged ones, the first merged mapping over later ones
            for part in source if isinstance(source, list) else [source]:
                if isinstance(part, Mapping):
                    for key, item in part.items():
                        if key not in mapping.key_lines:
                            mapping[key] = item
                            mapping.key_lines[key] = line_of(part, key) or line
        return mapping


def _scalar(node: ScalarNode) -> Any:
    if node.tag == _STR:
        return node.value
    make = SafeConstructor.yaml_constructors.get(node.tag)
    if make is None:  # an application tag (!Ref, !vault ...): its text
        return node.value
    try:
        value = make(_CONSTRUCTOR, node)
    except (ValueError, OverflowError, TypeError, yaml.YAMLError):
        return node.value  # "2001-13-45" resolves as a timestamp that does not exist: keep the text
    try:
        hash(value)
    except TypeError:
        return node.value
    return value
