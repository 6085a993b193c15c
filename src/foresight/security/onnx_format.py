"""ONNX models: find every tensor's ``external_data`` location by reading the protobuf wire format.

No ``onnx`` dependency: the few messages that can hold tensors are walked by field number (from
``onnx.proto``): ModelProto.graph (7), training_info (20: graphs 1 and 2), functions (25: nodes 7);
GraphProto.node (1), initializer (5), sparse_initializer (15); NodeProto.attribute (5);
AttributeProto.t (5), g (6), tensors (10), graphs (11), sparse_tensor (22), sparse_tensors (23);
SparseTensorProto values (1), indices (2); TensorProto.external_data (13) of StringStringEntryProto
(key 1, value 2). Other fields, tensor payloads included, are skipped by their length.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from foresight.security.findings import MalformedArtifact

__all__ = ["escapes", "external_locations", "looks_like_onnx"]

_MODEL = {7: "graph", 20: "training", 25: "function"}
_CHILDREN: dict[str, dict[int, str]] = {
    "model": {7: "graph", 20: "training", 25: "function"},
    "training": {1: "graph", 2: "graph"},
    "function": {7: "node"},
    "graph": {1: "node", 5: "tensor", 15: "sparse"},
    "node": {5: "attribute"},
    "attribute": {5: "tensor", 6: "graph", 10: "tensor", 11: "graph", 22: "sparse", 23: "sparse"},
    "sparse": {1: "tensor", 2: "tensor"},
}
_MAX_DEPTH = 64


def _varint(view: memoryview, at: int, end: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= end or shift > 63:
            raise MalformedArtifact("ONNX protobuf varint runs past its message", at)
        byte = view[at]
        value |= (byte & 0x7F) << shift
        at += 1
        if byte < 0x80:
            return value, at
        shift += 7


def _fields(view: memoryview, at: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """(field number, wire type, start, end) of each field; varints and fixed values as their span."""
    while at < end:
        key, at = _varint(view, at, end)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise MalformedArtifact("ONNX protobuf field number 0", at)
        if wire == 0:
            start = at
            _, at = _varint(view, at, end)
        elif wire == 1:
            start, at = at, at + 8
        elif wire == 5:
            start, at = at, at + 4
        elif wire == 2:
            length, start = _varint(view, at, end)
            at = start + length
        else:
            raise MalformedArtifact(f"ONNX protobuf wire type {wire} is not used by ONNX", at)
        if at > end:
            raise MalformedArtifact("ONNX protobuf field runs past its message", start)
        yield number, wire, start, at


def looks_like_onnx(view: memoryview) -> bool:
    """ModelProto starts with ir_version (field 1, a small varint) and its top level parses with a graph."""
    if len(view) < 4 or view[0] != 0x08 or not 1 <= view[1] <= 20:
        return False
    try:
        return any(number == 7 and wire == 2 for number, wire, _, _ in _fields(view, 0, len(view)))
    except MalformedArtifact:
        return False


def external_locations(view: memoryview) -> list[tuple[int, str]]:
    """(byte offset, location) of every tensor stored as external data."""
    found: list[tuple[int, str]] = []
    _message(view, 0, len(view), "model", found, 0)
    return found


def _message(view: memoryview, start: int, end: int, kind: str, found: list[tuple[int, str]], depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise MalformedArtifact("ONNX graphs nest too deep", start)
    children = _CHILDREN.get(kind, {})
    for number, wire, lo, hi in _fields(view, start, end):
        if kind == "tensor" and number == 13 and wire == 2:
            entry = {n: bytes(view[a:b]) for n, w, a, b in _fields(view, lo, hi) if w == 2}
            if entry.get(1) == b"location":
                found.append((lo, entry.get(2, b"").decode("utf-8", "replace")))
        elif number in children and wire == 2:
            _message(view, lo, hi, children[number], found, depth + 1)


_DRIVE = re.compile(r"^[A-Za-z]:")


def escapes(location: str) -> bool:
    """True when ``location`` is not a plain relative path inside the model's folder."""
    parts = re.split(r"[\\/]", location)
    return (not location or location.startswith(("/", "\\")) or bool(_DRIVE.match(location)) or "://" in location
            or ".." in parts or "\x00" in location)
