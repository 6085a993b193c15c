"""Keras models: Lambda layers and classes from outside Keras, in ``config.json`` or an H5 file's config.

A ``.keras`` file is a ZIP whose ``config.json`` is read here as JSON, every nested config included
(Sequential/Functional models inside layers, wrappers). A legacy ``.h5`` model keeps the same JSON in
the root group's ``model_config`` attribute. HDF5 never compresses attributes, so without ``h5py``
that JSON lies verbatim in the file's bytes: it is matched there with the same patterns (tolerant:
no HDF5 structure is parsed, and a Lambda anywhere in any attribute counts).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

__all__ = ["HDF5_SIGNATURE", "findings_in_config", "findings_in_hdf5", "hdf5_at"]

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
#: module prefixes whose classes a Keras config may name without a warning
_KERAS_MODULES = ("keras", "tensorflow", "tf_keras", "builtins")
_LAMBDA = re.compile(rb'"class_name"\s*:\s*"(Lambda|__lambda__)"|"function_type"\s*:\s*"lambda"')
_MODULE = re.compile(rb'"module"\s*:\s*"([^"\\]{1,200})"')


def findings_in_config(config: Any) -> Iterator[tuple[str, str]]:
    """("lambda" | "module", what) for every Lambda layer and foreign module in a parsed config."""
    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("class_name") in ("Lambda", "__lambda__") or node.get("function_type") == "lambda":
                name = node.get("config", {}).get("name") if isinstance(node.get("config"), dict) else None
                yield "lambda", f"Lambda layer {name!r}" if name else "a Lambda function"
            module = node.get("module")
            if isinstance(module, str) and module and not module.startswith(_KERAS_MODULES):
                yield "module", f"class {node.get('class_name')!r} from module {module!r}"
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def hdf5_at(view: memoryview) -> bool:
    """The HDF5 signature at 0, 512, 1024, 2048 ... (a user block may come first)."""
    offset = 0
    while offset + 8 <= len(view):
        if bytes(view[offset:offset + 8]) == HDF5_SIGNATURE:
            return True
        offset = 512 if offset == 0 else offset * 2
    return False


def findings_in_hdf5(raw: bytes | memoryview) -> Iterator[tuple[str, str, int]]:
    """Lambda layers and foreign modules in the JSON an H5 model keeps in its attributes, with byte offsets."""
    for match in _LAMBDA.finditer(raw):
        yield "lambda", "a Lambda layer in the model_config attribute", match.start()
    for match in _MODULE.finditer(raw):
        module = match.group(1).decode("utf-8", "replace")
        if not module.startswith(_KERAS_MODULES):
            yield "module", f"a class from module {module!r} in the model_config attribute", match.start()
