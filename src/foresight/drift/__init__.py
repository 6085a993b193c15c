"""Drift statistics, the batch drift report and the streaming drift monitor.

Cores (numpy in, plain data out): :mod:`~foresight.drift.psi`, :mod:`~foresight.drift.divergence`
(KL, Jensen-Shannon), :mod:`~foresight.drift.ks`, :mod:`~foresight.drift.wasserstein`,
:mod:`~foresight.drift.chi2` on :mod:`~foresight.drift.bins` / :mod:`~foresight.drift.ecdf`;
:mod:`~foresight.drift.choice` picks the default test per feature kind and size,
:mod:`~foresight.drift.correction` adjusts p-values across features (Benjamini-Hochberg).
:func:`drift_report` compares two tables; :class:`DriftMonitor` watches a stream.
Adapters: :mod:`~foresight.drift.table` (CSV/Parquet via pyarrow), :mod:`~foresight.drift.html`
(plotly report); its Prometheus gauges are :mod:`foresight.adapters.drift_gauges`.

What the model feedback loop uses::

    monitor = DriftMonitor(MonitorSpec(features=("age", "income", "score")))
    status = monitor.update(batch)          # batch: np.ndarray (rows, features), NaN = missing
    status.drifted, status.reason           # verdict with hysteresis, one line for the audit log
    status.per_feature["income"]            # FeatureStatus(stat, value, threshold, flagged, statistic)
    monitor.reset_reference(new_rows)       # after a retrain: the new model's data is the reference
"""

from foresight.drift.monitor import (
    DriftMonitor,
    DriftStatus,
    FeatureStatus,
    MonitorSpec,
)
from foresight.drift.report import DriftReport, FeatureDrift, drift_report

__all__ = ["DriftMonitor", "DriftReport", "DriftStatus", "FeatureDrift", "FeatureStatus", "MonitorSpec", "drift_report"]
