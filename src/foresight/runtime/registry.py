"""The model registry a process uses, picked from a URI: the local SQLite registry or MLflow's."""

from __future__ import annotations

import os

from foresight.adapters.local_registry import LocalRegistry
from foresight.adapters.mlflow_registry import MlflowRegistry
from foresight.errors import ConfigError
from foresight.registry import Registry

__all__ = ["DEFAULT_LOCAL", "open_registry"]

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
