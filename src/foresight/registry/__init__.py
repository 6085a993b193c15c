"""Model versions with provenance, aliases, gates and lineage: MLflow's registry or its SQLite twin.

``open_registry`` picks the backend from a URI (see its docstring); everything else works on the
small :class:`Registry` port.
"""

from __future__ import annotations

import os

from foresight.errors import ConfigError
from foresight.registry.data_version import DataVersion, data_version, md5_dir, md5_file, read_dvc_file
from foresight.registry.gates import Gate, GateCheck, GatePolicy, GateResult, evaluate_gates
from foresight.registry.local import LocalRegistry
from foresight.registry.mlflow_backend import MlflowRegistry, mlflow_available
from foresight.registry.promote import GATE_TAG, Promotion, promote
from foresight.registry.protocol import (
    CHALLENGER, CHAMPION, DATA_WARNING_TAG, PARENT_TAG, ModelVersion, Registry, lineage,
)
from foresight.registry.provenance import UNKNOWN_COMMIT, code_commit

__all__ = [
    "CHALLENGER", "CHAMPION", "DATA_WARNING_TAG", "GATE_TAG", "PARENT_TAG", "UNKNOWN_COMMIT",
    "DataVersion", "Gate", "GateCheck", "GatePolicy", "GateResult", "LocalRegistry", "MlflowRegistry", "ModelVersion",
    "Promotion", "Registry", "code_commit", "data_version", "evaluate_gates", "lineage", "md5_dir", "md5_file",
    "mlflow_available", "open_registry", "promote", "read_dvc_file",
]

DEFAULT_LOCAL = "foresight-out/registry.db"


def open_registry(uri: str | os.PathLike[str] | None = None, backend: str = "auto") -> Registry:
    """The registry at ``uri``.

    ``backend="local"``: :class:`LocalRegistry` (a file path, ``sqlite:///...`` or a PostgreSQL
    URL; default ``foresight-out/registry.db``). ``backend="mlflow"``: :class:`MlflowRegistry`
    with ``uri`` as the tracking URI (default ``sqlite:///foresight-out/mlflow/mlflow.db``).
    ``backend="auto"``: MLflow for ``http(s)://``, ``mlflow+...`` (the prefix is dropped, e.g.
    ``mlflow+sqlite:///m.db``) or a path ending in ``mlflow.db``; local otherwise.
    """
    text = None if uri is None else os.fspath(uri)
    if backend == "auto":
        is_mlflow = text is not None and (
            text.startswith(("http://", "https://", "mlflow+")) or text.endswith("mlflow.db"))
        backend = "mlflow" if is_mlflow else "local"
    if text is not None and text.startswith("mlflow+"):
        text = text[len("mlflow+"):]
    if backend == "mlflow":
        if text is not None and "://" not in text:
            text = f"sqlite:///{os.path.abspath(text)}"
        return MlflowRegistry(text)
    if backend == "local":
        return LocalRegistry(text or DEFAULT_LOCAL)
    raise ConfigError(f"registry backend {backend!r}: use local, mlflow or auto")
