"""The MLflow adapter: the :class:`~foresight.registry.protocol.Registry` port on MLflow's model registry.

MLflow is an optional extra (``pip install 'foresight[mlflow]'``), imported when a
:class:`MlflowRegistry` is built, never at import time. The store is a tracking URI:
``sqlite:///<dir>/mlflow.db`` embedded (the default; MLflow creates its tables on first use, ~5 s
once), or a tracking server ``http(s)://...`` in production.

Mapping: each version is one MLflow run (params, metrics and the ``foresight.*`` provenance tags)
whose model is logged with a flavour and registered as the next model version, which carries the
provenance tags too. Registration is all or nothing (:mod:`foresight.adapters.mlflow_registration`):
a failure, or a server that dies half-way, leaves no run in RUNNING, no orphan logged model and no
empty registered model once settled. MLflow registers only logged models: ``model`` (a scikit-learn estimator,
logged with ``mlflow.sklearn``) or ``model_file`` (any file, logged as a ``pyfunc`` artifact that
is not unpickled here) is required. Aliases are MLflow's registered-model aliases.

Errors: an unknown model or version is :class:`InputError`; anything else MLflow or the network
raises (server down, timeout, a locked SQLite file) is :class:`ServiceUnavailable`, so the
feedback loop keeps the pending registration and retries. For an HTTP server, MLflow's own retries
are cut to ``http_retries`` (its default is 7 with back-off: minutes of silence in a control loop).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from foresight.adapters.mlflow_registration import settle, sweep, write
from foresight.errors import ConfigError, InputError, ServiceUnavailable
from foresight.registry.protocol import ModelVersion, check_parent, finite_metrics

__all__ = ["INSTALL_HINT", "MlflowRegistry", "mlflow_available"]

INSTALL_HINT = "pip install 'foresight[mlflow]'"
_PROVENANCE = ("code_commit", "data_version", "seed")
_NOT_FOUND = {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"}


def mlflow_available() -> bool:
    """Whether the ``mlflow`` extra is installed (without importing it: the import takes ~1 s)."""
    import importlib.util

    return importlib.util.find_spec("mlflow") is not None


def _import_mlflow() -> Any:
    try:
        import mlflow
        import mlflow.pyfunc
        import mlflow.sklearn
    except ImportError as exc:
        raise ConfigError(f"the MLflow registry needs the mlflow extra ({exc.name} is missing): {INSTALL_HINT}") from None
    return mlflow


class MlflowRegistry:
    """MLflow's model registry behind the :class:`~foresight.registry.protocol.Registry` port."""

    def __init__(
        self, tracking_uri: str | None = None, *, directory: str | os.PathLike[str] = "foresight-out/mlflow",
        experiment: str = "foresight", http_retries: int = 0, http_timeout_s: int = 10, stale_after_s: float = 3600.0,
    ) -> None:
        """``stale_after_s``: age after which another process's unfinished registration is taken as
        dead and removed (younger ones may still be running); this registry's own are settled at once."""
        if tracking_uri is None:
            Path(directory).mkdir(parents=True, exist_ok=True)
            tracking_uri = f"sqlite:///{Path(directory).resolve() / 'mlflow.db'}"
        self.uri = tracking_uri
        if tracking_uri.startswith(("http://", "https://")):
            # read by MLflow at each request; setdefault: an operator's own setting wins
            os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", str(http_retries))
            os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(http_timeout_s))
            # MLflow prints "View run ... at" on stdout at each run's end: stdout is the CLI's (--json)
            os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        self._mlflow = _import_mlflow()
        self._client = self._mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        self._experiment_name = experiment
        self._experiment_id: str | None = None  # resolved on first use: the server may be down now
        self.stale_after_s = stale_after_s
        self._unsettled: set[str] = set()  # runs of registrations that failed while the server was away
        # a SQLite store keeps artifacts beside its file (MLflow's default is ./mlruns in the cwd);
        # a tracking server decides where its artifacts go
        self._artifact_root = (
            (Path(tracking_uri[len("sqlite:///"):]).parent / "artifacts").resolve().as_uri()
            if tracking_uri.startswith("sqlite:///") else None
        )

    # -- error mapping --------------------------------------------------------------------------
    @contextlib.contextmanager
    def _calling(self, what: str) -> Iterator[None]:
        from mlflow.exceptions import MlflowException

        try:
            yield
        except MlflowException as exc:
            if exc.error_code in _NOT_FOUND:
                raise InputError(f"MLflow registry: {what}: {exc.message}") from None
            raise ServiceUnavailable(f"MLflow at {self.uri}: {what} failed: {exc.message.splitlines()[0]}") from exc
        except (OSError, ConnectionError) as exc:  # requests' errors are OSErrors
            raise ServiceUnavailable(f"MLflow at {self.uri}: {what} failed: {exc}") from exc

    @contextlib.contextmanager
    def _fluent(self) -> Iterator[None]:
        """MLflow's ``log_model`` reads the process-wide URIs: point them here for the call, then back."""
        mlflow = self._mlflow
        before = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
        mlflow.set_tracking_uri(self.uri)
        mlflow.set_registry_uri(self.uri)
        try:
            yield
        finally:
            mlflow.set_tracking_uri(before[0])
            mlflow.set_registry_uri(before[1])

    def _experiment(self) -> str:
        if self._experiment_id is None:
            found = self._client.get_experiment_by_name(self._experiment_name)
            self._experiment_id = found.experiment_id if found else self._client.create_experiment(
                self._experiment_name, artifact_location=self._artifact_root)
        return self._experiment_id

    # -- writes ---------------------------------------------------------------------------------
    def register(
        self, name: str, *, params: Mapping[str, Any], metrics: Mapping[str, float], code_commit: str,
        data_version: str, seed: int | None, tags: Mapping[str, str] | None = None,
        model: Any = None, model_file: Path | None = None,
    ) -> ModelVersion:
        """Register atomically (see :mod:`foresight.adapters.mlflow_registration`).

        A registration that fails is undone at once when the server still answers; one that the
        server's death interrupted is settled by this registry's next registration (others' are
        settled once older than ``stale_after_s``, when they cannot still be running).
        """
        if model is None and model_file is None:
            raise InputError(f"model {name}: MLflow registers only logged models: give a fitted model or a model file")
        if model_file is not None and not Path(model_file).is_file():
            raise InputError(f"{model_file}: no such model file")
        checked = finite_metrics(name, metrics)
        provenance = {"foresight.code_commit": code_commit, "foresight.data_version": data_version,
                      "foresight.seed": "" if seed is None else str(int(seed))}
        version_tags = {**{str(k): str(v) for k, v in (tags or {}).items()}, **provenance}
        text_params = {str(k): str(v) for k, v in params.items()}
        with self._calling(f"register {name}"), self._fluent():
            experiment_id = self._experiment()
            sweep(self._client, experiment_id, own=self._unsettled, stale_after_s=self.stale_after_s, now_s=time.time())
            self._unsettled.clear()  # settled now, or (not found by the sweep) by someone else before
            check_parent(self, name, tags)
            attempt: list[str] = []
            try:
                mv = write(self._client, self._mlflow, experiment_id, name, params=text_params, metrics=checked,
                           version_tags=version_tags, model=model, model_file=model_file, started=attempt.append)
            except Exception:
                mv = self._undo(experiment_id, attempt, name)
                if mv is None:
                    raise
        return self._to_version(mv, (), params=text_params, metrics=checked)

    def _undo(self, experiment_id: str, attempt: list[str], name: str) -> Any | None:
        """Settle a registration that just failed: its version if it did happen after all, else None.

        When the server does not answer, the run is remembered and settled by the next registration.
        """
        if not attempt:
            return None  # the run was never created (or its id never came back: stale_after_s settles it)
        try:
            return settle(self._client, experiment_id, attempt[0], name)
        except Exception:  # noqa: BLE001 - any failure here: the original error is the one to raise
            self._unsettled.add(attempt[0])
            return None

    def set_alias(self, name: str, alias: str, version: int) -> None:
        with self._calling(f"set alias {alias} of {name}"):
            self._client.get_model_version(name, str(version))
            self._client.set_registered_model_alias(name, alias, str(version))

    def delete_alias(self, name: str, alias: str) -> None:
        from mlflow.exceptions import MlflowException

        with self._calling(f"delete alias {alias} of {name}"):
            try:
                self._client.delete_registered_model_alias(name, alias)
            except MlflowException as exc:
                if exc.error_code not in _NOT_FOUND:
                    raise

    def set_tag(self, name: str, version: int, key: str, value: str) -> None:
        with self._calling(f"tag {name} version {version}"):
            self._client.set_model_version_tag(name, str(version), key, str(value))

    # -- reads ----------------------------------------------------------------------------------
    def _to_version(
        self, mv: Any, aliases: tuple[str, ...] | None = None, *,
        params: Mapping[str, str] | None = None, metrics: Mapping[str, float] | None = None,
    ) -> ModelVersion:
        """MLflow's version as a :class:`ModelVersion`; params and metrics read from its run unless given."""
        if params is None or metrics is None:
            run = self._client.get_run(mv.run_id) if mv.run_id else None
            params, metrics = (dict(run.data.params), dict(run.data.metrics)) if run else ({}, {})
        tags = dict(mv.tags or {})
        seed = tags.pop("foresight.seed", "")
        return ModelVersion(
            name=mv.name, version=int(mv.version), params=dict(params), metrics=dict(metrics),
            code_commit=tags.pop("foresight.code_commit", "unknown"),
            data_version=tags.pop("foresight.data_version", ""), seed=int(seed) if seed else None,
            tags=tags, created_s=mv.creation_timestamp / 1000.0,
            aliases=tuple(sorted(mv.aliases or ())) if aliases is None else aliases,
        )

    def get(self, name: str, version: int) -> ModelVersion:
        with self._calling(f"get {name} version {version}"):
            return self._to_version(self._client.get_model_version(name, str(version)))

    def list_versions(self, name: str | None = None) -> list[ModelVersion]:
        query = None if name is None else f"name = '{name.replace(chr(39), '')}'"
        with self._calling("list versions"):
            found = self._client.search_model_versions(query, max_results=10_000)
            # search results carry no aliases: read them from each registered model once
            by_name: dict[str, dict[int, list[str]]] = {}
            for model_name in {mv.name for mv in found}:
                mapping = self._client.get_registered_model(model_name).aliases or {}
                for alias, number in mapping.items():
                    by_name.setdefault(model_name, {}).setdefault(int(number), []).append(alias)
            versions = [self._to_version(mv, tuple(sorted(by_name.get(mv.name, {}).get(int(mv.version), []))))
                        for mv in found]
        return sorted(versions, key=lambda v: (v.name, v.version))

    def get_alias(self, name: str, alias: str) -> ModelVersion | None:
        from mlflow.exceptions import MlflowException

        with self._calling(f"get alias {alias} of {name}"):
            try:
                mv = self._client.get_model_version_by_alias(name, alias)
            except MlflowException as exc:
                if exc.error_code in _NOT_FOUND:
                    return None
                raise
            return self._to_version(mv)

