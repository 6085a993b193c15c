"""Model inputs pushed to ``foresight serve``: one streaming drift monitor per model.

A model server (its request logger) posts batches of feature rows to
``POST /api/v1/models/{model}/inputs``; each batch goes to that model's
:class:`~foresight.drift.monitor.DriftMonitor` (KS per feature, Benjamini-Hochberg across features,
a verdict with hysteresis). The reference is the model's first ``inputs.reference_rows`` rows, or
what ``POST /api/v1/models/{model}/reference`` uploaded (the training data, after a retrain).

Each evaluation is published on the drift gauges (:mod:`foresight.adapters.drift_gauges`) and kept (bounded)
for ``/api/v1/drift``; a verdict that turns (drift / cleared) is audited as controller
``drift/inputs``. This works in live and simulated mode alike: nothing here reads a platform.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from foresight.adapters.drift_gauges import DriftGauges
from foresight.control.audit import AuditRecord, AuditSink
from foresight.drift.monitor import DriftMonitor, DriftStatus, MonitorSpec
from foresight.errors import InputError

__all__ = ["ModelInputs", "WatchedInputs"]

_KEEP = 2000  # evaluations kept per model for the view


@dataclass
class WatchedInputs:
    """One model's monitor and what the view shows of it."""

    model: str
    monitor: DriftMonitor
    last: DriftStatus | None = None
    drift_detected_at: float | None = None
    #: per evaluation: time, per-feature adjusted KS p-value, per-feature KS distance D
    history: list[tuple[float, tuple[float, ...], tuple[float, ...]]] = field(default_factory=list)
    uploaded_reference: bool = False


class ModelInputs:
    """Drift monitors keyed by model, created by the first batch (or reference) a model sends."""

    def __init__(self, *, reference_rows: int, window_rows: int, alpha: float, max_models: int,
                 max_batch_rows: int, gauges: DriftGauges | None, audit: AuditSink) -> None:
        self.reference_rows, self.window_rows, self.alpha = reference_rows, window_rows, alpha
        self.max_models, self.max_batch_rows = max_models, max_batch_rows
        self.gauges, self.audit = gauges, audit
        self.models: dict[str, WatchedInputs] = {}

    def push(self, model: str, features: list[str], rows: list[list[float | None]], now_s: float) -> DriftStatus:
        """Feed a batch of ``rows`` (one value per feature, None = missing) to ``model``'s monitor."""
        matrix = self._matrix(features, rows)  # before _watched: a refused batch adds no model
        watched = self._watched(model, features)
        status = watched.monitor.update(matrix)
        was = watched.last.drifted if watched.last is not None else False
        watched.last = status
        if status.ready:
            names = watched.monitor.spec.features
            watched.history.append((now_s, tuple(status.per_feature[n].value for n in names),
                                    tuple(status.per_feature[n].statistic for n in names)))
            del watched.history[:-_KEEP]
            if self.gauges is not None:
                self.gauges.publish(model, status)
        if status.drifted != was:
            if status.drifted and watched.drift_detected_at is None:
                watched.drift_detected_at = now_s
            self.audit.record(AuditRecord(now_s, "model-inputs", "drift/inputs", model,
                                          {"rows_seen": status.rows_seen, "flagged": list(status.flagged)},
                                          {"drifted": status.drifted}, status.reason, True, False))
        return status

    def set_reference(self, model: str, features: list[str], rows: list[list[float | None]], now_s: float) -> int:
        """Compare ``model``'s inputs with ``rows`` from now on (e.g. the new champion's training data)."""
        matrix = self._matrix(features, rows)
        watched = self._watched(model, features)
        watched.monitor.reset_reference(matrix)
        watched.uploaded_reference = True
        watched.last = None
        self.audit.record(AuditRecord(now_s, "model-inputs", "drift/inputs", model, {"rows": len(rows)}, {},
                                      f"reference uploaded: {len(rows)} rows of {', '.join(features)}", True, False))
        return len(rows)

    def _watched(self, model: str, features: list[str]) -> WatchedInputs:
        if not model or len(model) > 253:
            raise InputError("model: a name of 1 to 253 characters is needed")
        watched = self.models.get(model)
        if watched is None:
            if len(self.models) >= self.max_models:
                raise InputError(f"inputs: already watching {len(self.models)} models (inputs.max_models); "
                                 f"{model!r} is not added")
            spec = MonitorSpec(features=tuple(features), reference_rows=self.reference_rows,
                               window_rows=self.window_rows, alpha=self.alpha)  # raises on empty/duplicate names
            watched = self.models[model] = WatchedInputs(model, DriftMonitor(spec))
        elif tuple(features) != watched.monitor.spec.features:
            raise InputError(f"{model}: features {features} differ from the ones this model sends "
                             f"({list(watched.monitor.spec.features)}); keep the names and their order")
        return watched

    def _matrix(self, features: list[str], rows: list[list[float | None]]) -> np.ndarray:
        if not rows:
            raise InputError("rows: at least one row is needed")
        if len(rows) > self.max_batch_rows:
            raise InputError(f"rows: {len(rows)} in one batch, at most {self.max_batch_rows} (inputs.max_batch_rows)")
        for i, row in enumerate(rows):
            if len(row) != len(features):
                raise InputError(f"rows[{i}]: {len(row)} values for {len(features)} features")
        matrix = np.array([[np.nan if v is None else v for v in row] for row in rows], dtype=np.float64)
        # NaN stands for a missing value (null) inside the monitor, so a sent NaN would pass as one; an
        # infinity (sent, or a literal such as 1e309 that overflows a double) is no measurement at all
        for i, j in np.argwhere(~np.isfinite(matrix)):
            if rows[i][j] is not None:
                raise InputError(f"rows[{i}], feature {features[j]!r}: {rows[i][j]!r} is not a finite number "
                                 f"(NaN, an infinity, or beyond ±1.8e308); send null for a missing value")
        return matrix

    def views(self) -> list[dict[str, Any]]:
        """What ``/api/v1/drift`` shows per model (plain JSON-ready data)."""
        out = []
        for w in self.models.values():
            names = w.monitor.spec.features
            status = w.last
            if status is None or not status.ready:
                verdict = status.reason if status is not None else "waiting for rows"
            else:
                verdict = "drift" if status.drifted else "no drift"
            out.append({
                "model": w.model, "source": "inputs", "statistic": "ks_p", "threshold": self.alpha,
                "flag_when": "below", "verdict": verdict, "reason": status.reason if status else None,
                "drift_detected_at": w.drift_detected_at, "rows_seen": status.rows_seen if status else 0,
                "reference": "uploaded" if w.uploaded_reference else f"first {self.reference_rows} rows",
                "features": [{"name": n, "t": [h[0] for h in w.history], "v": [_num(h[1][i]) for h in w.history],
                              "ks_distance": [_num(h[2][i]) for h in w.history],
                              "current": _num(w.history[-1][1][i]) if w.history else None}
                             for i, n in enumerate(names)],
                "events": [], "versions": [], "retrains": 0, "champion": None, "challenger": None,
            })
        return out


def _num(value: float) -> float | None:
    return value if math.isfinite(value) else None
