"""Fixtures of the security tests. ``recorded``: a pickle loader that records what a pickle imports instead of importing it (the ground truth).

``find_class`` returns a harmless stand-in for every global, so the real unpickler runs every
opcode (memo, marks, STACK_GLOBAL ...) without any payload running. ``_codecs.encode`` alone is real,
so names computed with it at load time are computed as a victim's loader would, and
``torch.storage._load_from_bytes`` records the pickle it would load.
"""

from __future__ import annotations

import _codecs
import io
import pickle
from collections.abc import Callable

import pytest


class _Stub:
    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def __call__(self, *args: object, **kwargs: object) -> _Stub:
        return _Stub()

    def __setstate__(self, state: object) -> None:
        pass

    def __setitem__(self, key: object, value: object) -> None:  # OrderedDict, Counter ... get SETITEM(S)
        pass

    def append(self, item: object) -> None:
        pass

    def extend(self, items: object) -> None:
        pass


class Recorder(pickle.Unpickler):
    def __init__(self, data: bytes) -> None:
        super().__init__(io.BytesIO(data))
        self.imports: list[tuple[str, str]] = []

    def find_class(self, module: str, name: str) -> object:
        self.imports.append((module, name))
        if (module, name) == ("_codecs", "encode"):
            return _codecs.encode
        if (module, name) == ("torch.storage", "_load_from_bytes"):  # torch.load of the bytes given
            return lambda data: self.imports.extend(imports_of(data))
        return _Stub

    def persistent_load(self, pid: object) -> object:
        return _Stub()


def imports_of(data: bytes) -> list[tuple[str, str]]:
    """What loading ``data`` would import, in order (the load itself runs no payload)."""
    recorder = Recorder(data)
    recorder.load()
    return recorder.imports


@pytest.fixture(scope="session")
def recorded() -> Callable[[bytes], list[tuple[str, str]]]:
    return imports_of
