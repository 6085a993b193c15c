"""Feast as Foresight's feature store: apply a generated repository, materialise, train, serve and write online.

The one module that imports the Feast SDK (the optional ``feast`` extra). The repository comes
from :func:`foresight.features.repo.render_repo`; this module writes it to a directory, imports
its generated definitions exactly as ``feast apply`` would and applies them, so what runs here is
what a user runs with the ``feast`` CLI on the same directory. Feast (with pandas and redis) is
not part of the core install (``requirements-feast.txt``): it is imported when a store is built.

Redis failures are the one error a caller can act on: writes are retried with backoff (the
ingest acknowledges nothing until a write succeeds, so nothing is lost while Redis is down) and
then raise :class:`~foresight.errors.ServiceUnavailable`; reads raise it at once, naming the
store, rather than returning rows of ``None`` that look like missing entities.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from foresight.errors import ConfigError, ServiceUnavailable
from foresight.features.repo import DEFINITIONS_MODULE, RepoTarget, render_repo
from foresight.features.windows import Row
from foresight.specs.features import FeatureSet

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FeastStore", "OnlineRead", "write_repo"]

T = TypeVar("T")
_ROW = "foresight_request_row"


def write_repo(spec: FeatureSet, repo_dir: Path, target: RepoTarget) -> Path:
    """Write the generated repository into ``repo_dir`` (created) and return it."""
    repo_dir.mkdir(parents=True, exist_ok=True)
    for name, text in render_repo(spec, target).items():
        (repo_dir / name).write_text(text, encoding="utf-8")
    return repo_dir


@dataclass(frozen=True)
class OnlineRead:
    """Online values by feature (one list entry per requested entity), their event times, and the misses.

    Event times are epoch seconds, whole seconds: what Feast's response carries (the store keeps
    nanoseconds, but ``to_dict`` truncates).

    ``missing`` holds the indices of entities with no value in any requested feature: unknown
    entities, or values past their view's TTL; Feast returns them as rows of ``None``.
    """

    values: dict[str, list[Any]]
    event_ts: dict[str, list[float | None]]
    missing: tuple[int, ...]

    @property
    def newest_ts(self) -> float | None:
        """Event time of the newest value read (None when no entity had one): what freshness is measured on."""
        missing = set(self.missing)
        stamps = [t for ts in self.event_ts.values() for i, t in enumerate(ts) if i not in missing and t]
        return max(stamps) if stamps else None


class FeastStore:
    """A Feast feature store on a generated repository; ``write_attempts`` bounds the retries of a write."""

    def __init__(self, spec: FeatureSet, repo_dir: Path, *, write_attempts: int = 5, backoff_s: float = 0.2) -> None:
        self.spec = spec
        self.repo_dir = repo_dir
        self.write_attempts = write_attempts
        self.backoff_s = backoff_s
        if not (repo_dir / "feature_store.yaml").is_file():
            raise ConfigError(f"{repo_dir}: no feature_store.yaml; write the repository first (write_repo)")
        try:
            import feast
            import redis
        except ImportError as exc:
            raise ConfigError(
                f"Feast is not installed ({exc}): pip install -r requirements-feast.txt, in a venv of its own"
            ) from exc
        self._feast = feast
        self._redis_errors = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, ConnectionError, TimeoutError)
        self.store = feast.FeatureStore(repo_path=str(repo_dir))

    def apply(self) -> list[str]:
        """Register the generated definitions (``feast apply``); the names of the objects applied."""
        module_spec = importlib.util.spec_from_file_location("foresight_feast_repo", self.repo_dir / DEFINITIONS_MODULE)
        if module_spec is None or module_spec.loader is None:
            raise ConfigError(f"{self.repo_dir / DEFINITIONS_MODULE}: cannot load the generated definitions")
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        kinds = (self._feast.Entity, self._feast.FeatureView, self._feast.FileSource)
        objects = [v for v in vars(module).values() if isinstance(v, kinds)]
        self._online(lambda: self.store.apply(objects), "apply")
        return sorted(o.name for o in objects)

    def materialize(self, start: datetime, end: datetime, views: Sequence[str] | None = None) -> None:
        """Load the offline rows of ``[start, end)`` of the batch views (all by default) into Redis.

        The newest row per entity within TTL. A streamed view is refused: its online rows come from
        the ingest, and the store overwrites without comparing times
        (:mod:`foresight.features.repo`), so its older offline rows would replace fresher ones.
        Feast prints its progress on stdout; it goes to stderr, so a command's ``--json`` stays JSON.
        """
        names = list(views) if views else [v.name for v in self.spec.views if not v.streamed]
        streamed = [n for n in names if self.spec.view(n).streamed]
        if streamed:
            raise ConfigError(f"views {streamed} are streamed: the ingest writes them online, materialise batch views only")

        def run() -> None:
            with contextlib.redirect_stdout(sys.stderr):
                self.store.materialize(start, end, feature_views=names)

        self._retried(run, "materialise")

    def training_set(self, entity_df: pd.DataFrame, features: Sequence[str]) -> pd.DataFrame:
        """Point-in-time correct features for each ``(entity, event_timestamp)`` row: the value as of then.

        One output row per request row, in request order, with NaN where nothing was known then:
        Feast 0.67's file offline store drops the rows of known entities that have no value
        within TTL (an unknown entity's row survives), which would silently shrink a training set
        and bias it toward entities with recent data.
        """
        import pandas as pd

        request = entity_df.reset_index(drop=True).assign(**{_ROW: range(len(entity_df))})
        frame = self.store.get_historical_features(entity_df=request, features=list(features)).to_df()
        names = [f.split(":", 1)[1] for f in features]
        got = frame.set_index(_ROW)[names].reindex(range(len(request)))
        return pd.concat([entity_df.reset_index(drop=True), got.reset_index(drop=True)], axis=1)

    def read_online(self, features: Sequence[str], entity_rows: Sequence[Mapping[str, Any]]) -> OnlineRead:
        """Current values of ``features`` ("view:feature") for each entity row; Redis down raises at once."""
        response = self._online(
            lambda: self.store.get_online_features(features=list(features), entity_rows=list(entity_rows)), "read"
        )
        raw = response.to_dict(include_event_timestamps=True)
        names = [f.split(":", 1)[1] for f in features]
        values = {n: raw[n] for n in names}
        stamps = {n: [_epoch(t) for t in raw.get(f"{n}__ts", [None] * len(entity_rows))] for n in names}
        missing = tuple(i for i in range(len(entity_rows)) if all(values[n][i] is None for n in names))
        return OnlineRead(values, stamps, missing)

    def read_view(self, view: str, entity_rows: Sequence[Mapping[str, Any]]) -> OnlineRead:
        """Every feature of ``view`` for each entity row (what feature monitoring samples)."""
        return self.read_online([f"{view}:{f.name}" for f in self.spec.view(view).features], entity_rows)

    def read_online_values(self, features: Sequence[str], entity_rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
        """Just the values (the serving path: no timestamps, no miss accounting)."""
        response = self._online(
            lambda: self.store.get_online_features(features=list(features), entity_rows=list(entity_rows)), "read"
        )
        return response.to_dict()

    def write_rows(self, view: str, rows: Sequence[Row]) -> None:
        """Write streamed window rows of ``view`` online (whole rows: a rewrite overwrites), retried while Redis is down."""
        if not rows:
            return
        import pandas as pd

        spec_view = self.spec.view(view)
        keys = self.spec.join_keys(spec_view)
        columns: dict[str, list[Any]] = {k: [r.entity[i] for r in rows] for i, k in enumerate(keys)}
        for feature in spec_view.features:
            columns[feature.name] = [r.values[feature.name] for r in rows]
        columns[self.spec.source(spec_view.source).timestamp_field] = [
            datetime.fromtimestamp(r.ts_us / 1e6, tz=UTC) for r in rows
        ]
        frame = pd.DataFrame(columns)
        self._retried(lambda: self.store.write_to_online_store(view, frame), f"write to {view}")

    def teardown(self) -> None:
        """Delete this project's online rows from Redis and its registry (tests and benchmarks clean up)."""
        self._online(self.store.teardown, "teardown")

    def _online(self, call: Callable[[], T], what: str) -> T:
        try:
            return call()
        except self._redis_errors as exc:
            raise ServiceUnavailable(
                f"feature store {self.spec.project!r}: online store (Redis) unreachable during {what}: {exc}",
                retry_after_s=self.backoff_s,
            ) from exc

    def _retried(self, call: Callable[[], T], what: str) -> T:
        delay, attempt = self.backoff_s, 1
        while True:
            try:
                return self._online(call, what)
            except ServiceUnavailable:
                if attempt >= self.write_attempts:
                    raise
            time.sleep(delay)
            delay, attempt = min(delay * 2, 5.0), attempt + 1


def _epoch(stamp: object) -> float | None:
    if isinstance(stamp, datetime):
        return stamp.timestamp()
    return None if stamp is None else float(stamp)  # type: ignore[arg-type]
