"""The registry port: what the feedback loop and the CLI need from a model registry.

A :class:`Registry` keeps numbered versions of named models with what is needed to reproduce and
judge them (params, metrics, code commit, data version, seed, tags) and two aliases that say which
version serves (``champion``) and which is being tried (``challenger``). Two implementations run
the same conformance suite: :class:`~foresight.adapters.mlflow_registry.MlflowRegistry` (MLflow's
model registry) and :class:`~foresight.adapters.local_registry.LocalRegistry` (its simulator twin on SQLite).

Lineage is not a method: :func:`lineage` follows the ``foresight.parent`` tag that
:meth:`Registry.register` writes, so every backend gets the same answer from the same data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from foresight.errors import InputError

__all__ = ["CHALLENGER", "CHAMPION", "DATA_WARNING_TAG", "PARENT_TAG", "ModelVersion", "Registry", "check_parent",
           "finite_metrics", "lineage"]

CHAMPION = "champion"
CHALLENGER = "challenger"
#: Tag naming the version a new version was trained to replace (its parent in the lineage).
PARENT_TAG = "foresight.parent"
#: Tag saying why the data version is not one DVC can check out (a stale .dvc file), when it is not.
DATA_WARNING_TAG = "foresight.data_warning"


@dataclass(frozen=True)
class ModelVersion:
    """One registered version and everything that produced it.

    ``version`` counts from 1 per model name, as MLflow numbers them; ``data_version`` is the
    DVC-compatible md5 of the training data (:mod:`foresight.registry.data_version`);
    ``code_commit`` the git commit of the training code ("unknown" outside a repository).
    """

    name: str
    version: int
    params: Mapping[str, str]
    metrics: Mapping[str, float]
    code_commit: str
    data_version: str
    seed: int | None
    tags: Mapping[str, str] = field(default_factory=dict)
    created_s: float = 0.0
    aliases: tuple[str, ...] = ()

    @property
    def parent(self) -> int | None:
        """The version this one was trained to replace, if it said so."""
        value = self.tags.get(PARENT_TAG, "")
        return int(value) if value.strip().isdigit() else None  # a hand-edited, malformed tag: no parent

    def to_json(self) -> dict[str, Any]:
        """JSON-ready (strict JSON): a non-finite metric stored before they were refused becomes
        null (NaN) or the string "inf"/"-inf", as the drift report writes them."""
        metrics = {k: v if math.isfinite(v) else (None if math.isnan(v) else ("inf" if v > 0 else "-inf"))
                   for k, v in self.metrics.items()}
        return {
            "name": self.name, "version": self.version, "params": dict(self.params),
            "metrics": metrics, "code_commit": self.code_commit, "data_version": self.data_version,
            "seed": self.seed, "tags": dict(self.tags), "created_s": self.created_s, "aliases": list(self.aliases),
        }


class Registry(Protocol):
    """Numbered model versions with provenance, aliases and tags (MLflow's model registry, or its twin).

    Every method raises :class:`~foresight.errors.ServiceUnavailable` when the store cannot be
    reached (worth retrying: nothing was half-written) and :class:`~foresight.errors.InputError`
    for an unknown name or version.
    """

    def register(
        self, name: str, *, params: Mapping[str, Any], metrics: Mapping[str, float], code_commit: str,
        data_version: str, seed: int | None, tags: Mapping[str, str] | None = None,
        model: Any = None, model_file: Path | None = None,
    ) -> ModelVersion:
        """Add the next version of ``name`` (created if new) and return it.

        ``model`` is a fitted estimator (scikit-learn) or ``model_file`` a serialised one; both
        optional for the local twin, one is needed by MLflow, which registers only logged models.
        A metric that is not a finite number, or a ``foresight.parent`` tag naming a version that
        does not exist, is an :class:`~foresight.errors.InputError` and nothing is written.
        """
        ...

    def get(self, name: str, version: int) -> ModelVersion: ...

    def list_versions(self, name: str | None = None) -> list[ModelVersion]:
        """Every version of ``name`` (of every model when None), oldest first."""
        ...

    def set_alias(self, name: str, alias: str, version: int) -> None: ...

    def get_alias(self, name: str, alias: str) -> ModelVersion | None:
        """The version ``alias`` points at, or None when it points nowhere."""
        ...

    def delete_alias(self, name: str, alias: str) -> None:
        """Make ``alias`` point nowhere (no error when it already does)."""
        ...

    def set_tag(self, name: str, version: int, key: str, value: str) -> None: ...


def finite_metrics(name: str, metrics: Mapping[str, Any]) -> dict[str, float]:
    """``metrics`` as floats, or an InputError naming the first that is not a finite number.

    A NaN accuracy would later read as "missing" at the gate, and NaN/Infinity are not JSON: a
    metric that cannot be compared is refused when it is registered, not when it is judged.

    >>> finite_metrics("m", {"accuracy": "0.9"})
    {'accuracy': 0.9}
    >>> finite_metrics("m", {"accuracy": float("nan")})
    Traceback (most recent call last):
    ...
    foresight.errors.InputError: model m: metric accuracy is nan: metrics must be finite numbers
    """
    out: dict[str, float] = {}
    for key, raw in metrics.items():
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise InputError(f"model {name}: metric {key} is {raw!r}: metrics must be finite numbers") from None
        if not math.isfinite(value):
            raise InputError(f"model {name}: metric {key} is {value}: metrics must be finite numbers")
        out[str(key)] = value
    return out


def check_parent(registry: Registry, name: str, tags: Mapping[str, str] | None) -> None:
    """Refuse a ``foresight.parent`` tag that is not the number of an existing version of ``name``.

    A lineage that points at nothing would end silently at the first lookup; the typo is caught
    while the user is still there to fix it.
    """
    value = (tags or {}).get(PARENT_TAG)
    if value is None:
        return
    if not str(value).strip().isdigit():
        raise InputError(f"model {name}: parent {value!r} ({PARENT_TAG}) must be a version number")
    try:
        registry.get(name, int(value))
    except InputError:
        raise InputError(f"model {name}: parent version {int(value)} does not exist ({PARENT_TAG})") from None


def lineage(registry: Registry, name: str, version: int, max_depth: int = 1000) -> list[ModelVersion]:
    """``version`` and the chain of parents it was trained to replace, newest first.

    A parent that is missing from the registry ends the chain (it was deleted, or lives elsewhere);
    a cycle (hand-edited tags) raises :class:`InputError` instead of looping.
    """
    chain: list[ModelVersion] = []
    seen: set[int] = set()
    current: int | None = version
    while current is not None and len(chain) < max_depth:
        if current in seen:
            raise InputError(f"model {name}: the {PARENT_TAG} tags form a cycle through version {current}")
        seen.add(current)
        try:
            entry = registry.get(name, current)
        except InputError:
            if not chain:
                raise
            break
        chain.append(entry)
        current = entry.parent
    return chain
