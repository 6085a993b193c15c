"""One MLflow registration, all or nothing: the run, its logged model, the registered model, the version.

MLflow has no transaction across these calls, and a tracking server can fail or die between any
two of them. Left alone, that leaves debris: a run stuck in RUNNING, a logged model no version
points at, an empty registered model (it is created before its first version). So every entity a
registration writes carries the :data:`PENDING_TAG` until the version exists, and an unfinished
registration is *settled* by :func:`settle`:

- a version points at its run: the registration happened (the answer was lost on the way back),
  so it is finished: the pending tags are cleared and the run marked FINISHED;
- no version: everything it wrote is removed (logged models and a registered model it created
  deleted, the run marked FAILED and deleted; MLflow's deletes are soft, ``mlflow gc`` purges).

The run is deleted last: while any debris is left, the run still carries the tag that finds it.
:class:`~foresight.adapters.mlflow_registry.MlflowRegistry` settles a failed registration at once
when the server still answers, and otherwise with :func:`sweep` at its next registration.

Order of the writes, and why: the logged model is created before any artifact is uploaded, so its
id is known even when the upload dies half-way; the registered model is created last but one (an
empty registered model lives only until the next call); the version is created with the logged
model's ``model_id``, which an MLflow 3 tracking server requires for a ``models:/<id>`` source.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["PENDING_TAG", "settle", "sweep", "write"]

#: Tag on every entity of a registration until its version exists: the run's value is the model
#: name; the logged model's and a registered model's value is the id of the run that made them.
PENDING_TAG = "foresight.registering"
_PENDING = f"tags.`{PENDING_TAG}`"


def write(
    client: Any, mlflow: Any, experiment_id: str, name: str, *, params: Mapping[str, str],
    metrics: Mapping[str, float], version_tags: Mapping[str, str], model: Any, model_file: Path | None,
    started: Callable[[str], None],
) -> Any:
    """Write the run, logged model, registered model and version; return MLflow's model version.

    ``started(run_id)`` is called as soon as the run exists, before anything else can fail, so the
    caller knows which registration to settle if the next call raises.
    """
    from mlflow.entities import LoggedModelOutput, Metric, Param

    run = client.create_run(experiment_id, tags={**version_tags, "mlflow.runName": f"{name}-train", PENDING_TAG: name})
    run_id = run.info.run_id
    started(run_id)
    logged = client.create_logged_model(experiment_id, name="model", source_run_id=run_id,
                                        tags={PENDING_TAG: run_id}, params=dict(params))
    now_ms = int(time.time() * 1000)
    client.log_batch(run_id, metrics=[Metric(k, v, now_ms, 0, model_id=logged.model_id) for k, v in metrics.items()],
                     params=[Param(k, v) for k, v in params.items()])
    client.log_outputs(run_id, [LoggedModelOutput(logged.model_id, step=0)])
    if model is not None:
        info = mlflow.sklearn.log_model(model, name="model", model_id=logged.model_id, pip_requirements=[],
                                        serialization_format="cloudpickle")
    else:
        info = mlflow.pyfunc.log_model(name="model", model_id=logged.model_id, python_model=_file_model(),
                                       artifacts={"model": str(Path(model_file).resolve())}, pip_requirements=[])
    client.set_terminated(run_id, "FINISHED")
    _ensure_registered_model(client, name, run_id)
    version = client.create_model_version(name, source=info.model_uri, run_id=run_id, tags=dict(version_tags),
                                          model_id=logged.model_id)
    with contextlib.suppress(Exception):  # the version exists: what is left is bookkeeping a later sweep finishes
        _clear_pending(client, experiment_id, run_id, name)
    return version


def _ensure_registered_model(client: Any, name: str, run_id: str) -> None:
    """Create the registered model if it does not exist yet, tagged as this registration's."""
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
        return
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
    try:
        client.create_registered_model(name, tags={PENDING_TAG: run_id})
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":  # another writer created it meanwhile: theirs
            raise


def _clear_pending(client: Any, experiment_id: str, run_id: str, name: str) -> None:
    for logged in client.search_logged_models([experiment_id], filter_string=f"{_PENDING} = '{run_id}'"):
        client.delete_logged_model_tag(logged.model_id, PENDING_TAG)
    with contextlib.suppress(Exception):  # no such registered model, or not ours
        if client.get_registered_model(name).tags.get(PENDING_TAG) == run_id:
            client.delete_registered_model_tag(name, PENDING_TAG)
    if client.get_run(run_id).info.status == "RUNNING":
        client.set_terminated(run_id, "FINISHED")
    client.delete_tag(run_id, PENDING_TAG)


def settle(client: Any, experiment_id: str, run_id: str, name: str) -> Any | None:
    """Finish an unfinished registration that has its version (returned), or remove what it wrote (None)."""
    versions = client.search_model_versions(f"run_id = '{run_id}'", max_results=1)
    if versions:
        _clear_pending(client, experiment_id, run_id, name)
        return versions[0]
    for logged in client.search_logged_models([experiment_id], filter_string=f"{_PENDING} = '{run_id}'"):
        client.delete_logged_model(logged.model_id)
    from mlflow.exceptions import MlflowException

    try:
        registered = client.get_registered_model(name)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
    else:
        if registered.tags.get(PENDING_TAG) == run_id and not client.search_model_versions(f"name = '{_quote(name)}'",
                                                                                         max_results=1):
            client.delete_registered_model(name)
    if client.get_run(run_id).info.status == "RUNNING":
        client.set_terminated(run_id, "FAILED")
    client.delete_run(run_id)
    return None


def sweep(client: Any, experiment_id: str, *, own: set[str], stale_after_s: float, now_s: float) -> set[str]:
    """Settle unfinished registrations: this process's own (``own``), and anyone's older than ``stale_after_s``.

    Another process's registration younger than that may still be running: it is left alone.
    Returns the run ids settled.
    """
    from mlflow.entities import ViewType

    settled: set[str] = set()
    for run in client.search_runs([experiment_id], filter_string=f"{_PENDING} LIKE '%'",
                                  run_view_type=ViewType.ACTIVE_ONLY, max_results=1000):
        run_id = run.info.run_id
        if run_id in own or run.info.start_time <= (now_s - stale_after_s) * 1000:
            settle(client, experiment_id, run_id, run.data.tags[PENDING_TAG])
            settled.add(run_id)
    return settled


def _quote(text: str) -> str:
    return text.replace("'", "\\'")


def _file_model_class() -> type:
    import mlflow.pyfunc

    class FileModel(mlflow.pyfunc.PythonModel):  # type: ignore[misc,name-defined]
        """A model file registered as is: loading it unpickles the file (the user's own artifact)."""

        def load_context(self, context: Any) -> None:
            import pickle

            self.model = pickle.loads(Path(context.artifacts["model"]).read_bytes())

        def predict(self, context: Any, model_input: list[Any], params: Any = None) -> Any:
            return self.model.predict(model_input)

    return FileModel


def _file_model() -> Any:
    return _file_model_class()()
