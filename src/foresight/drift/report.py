"""The batch drift report: every feature of a reference table against a current one.

Pure: columns in (:mod:`foresight.drift.columns`), a :class:`DriftReport` out. Each feature
gets all of its statistics (numeric: KS and its p-value, normalised Wasserstein, PSI / KL /
Jensen-Shannon on 10 reference-quantile bins; categorical: chi-squared and its p-value, PSI /
KL / Jensen-Shannon on the categories) and one verdict from its default test
(:mod:`foresight.drift.choice`); p-value verdicts are Benjamini-Hochberg adjusted across the
features (:mod:`foresight.drift.correction`). The dataset drifts when at least ``drift_share``
of the compared features do.

Problems with the data are per-feature statuses, never exceptions: a column missing from the
current table, an extra one, a kind that changed (numbers became strings), an empty side (no
valid value), an unsupported type. Missing values are counted and left out of the statistics;
infinities count as missing too (counted apart as well, and named in the note), since no
distance or CDF test has a meaning for them. A report in which no feature could be compared is
not a verdict: :func:`require_compared` turns it into an error that says why, column by column.

>>> import numpy as np
>>> rng = np.random.default_rng(1)
>>> ref = {"x": rng.normal(size=2000), "y": rng.normal(size=2000), "z": np.zeros(3)}
>>> cur = {"x": rng.normal(size=2000), "y": rng.normal(0.5, 1.0, size=2000)}
>>> report = drift_report(ref, cur)
>>> [(f.name, f.status, f.drifted, f.test) for f in report.features]
[('x', 'compared', False, 'wasserstein'), ('y', 'compared', True, 'wasserstein'), ('z', 'missing_in_current', None, None)]
>>> report.drifted_columns, report.drifted_share, report.dataset_drifted
(('y',), 0.5, True)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from foresight.drift.bins import bin_shares, quantile_edges
from foresight.drift.chi2 import chi2_test
from foresight.drift.choice import default_test
from foresight.drift.columns import (
    DISCRETE_MAX,
    Categorical,
    Column,
    as_column,
    category_counts,
    kind_of,
)
from foresight.drift.correction import benjamini_hochberg
from foresight.drift.divergence import js, kl
from foresight.drift.ecdf import merged_gaps, sort_valid
from foresight.drift.ks import ks_from_gaps, ks_pvalue
from foresight.drift.psi import psi
from foresight.drift.wasserstein import normalise, w1_from_gaps
from foresight.errors import InputError

__all__ = ["DriftReport", "FeatureDrift", "drift_report", "require_compared"]


@dataclass(frozen=True)
class FeatureDrift:
    """One feature's comparison. ``drifted``/``test``/``value`` are None unless ``status == "compared"``.

    ``value`` is what the test's ``rule`` reads: a BH-adjusted p-value (ks, chi2) or a distance
    (wasserstein, js). ``stats`` holds every statistic computed, raw p-values included.
    ``missing_*`` counts NaN and infinite values; ``infinite_*`` the infinite ones among them.
    """

    name: str
    status: str
    kind: str | None
    drifted: bool | None = None
    test: str | None = None
    value: float | None = None
    threshold: float | None = None
    rule: str | None = None
    stats: Mapping[str, float] = field(default_factory=dict)
    rows_ref: int = 0
    rows_cur: int = 0
    missing_ref: int = 0
    missing_cur: int = 0
    infinite_ref: int = 0
    infinite_cur: int = 0
    note: str = ""

    @property
    def summary(self) -> str:
        """The verdict with the value that decided it and the rule it was read by.

        >>> FeatureDrift("income", "compared", "numeric", False, "ks", 0.2829, 0.05).summary
        'no drift (KS p = 0.2829, BH-adjusted; drift when p < 0.05)'
        >>> FeatureDrift("age", "compared", "numeric", True, "wasserstein", 0.31, 0.1).summary
        'drifted (Wasserstein / std(ref) = 0.31; drift when >= 0.1)'
        >>> FeatureDrift("zip", "missing_in_current", "numeric").summary
        'not compared: not in the current table'
        """
        if self.status != "compared" or self.test is None or self.value is None or self.threshold is None:
            return f"not compared: {self.why_not_compared}"
        label, is_p = _TEST_LABELS.get(self.test, (self.test, False))
        value = f"{label} = {self.value:.4g}" + (", BH-adjusted" if is_p else "")
        rule = f"p < {self.threshold:g}" if is_p else f">= {self.threshold:g}"
        return f"{'drifted' if self.drifted else 'no drift'} ({value}; drift when {rule})"

    @property
    def why_not_compared(self) -> str:
        """Why this feature got no verdict ("" when it got one)."""
        if self.status == "compared":
            return ""
        reasons = {"missing_in_current": "not in the current table", "extra_in_current": "not in the reference table"}
        return reasons.get(self.status, self.note or self.status)


@dataclass(frozen=True)
class DriftReport:
    """All features, and the dataset-level verdict (share of compared features that drifted)."""

    features: tuple[FeatureDrift, ...]
    drift_share: float

    @property
    def compared(self) -> tuple[FeatureDrift, ...]:
        return tuple(f for f in self.features if f.status == "compared")

    @property
    def drifted_columns(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.compared if f.drifted)

    @property
    def drifted_share(self) -> float:
        return len(self.drifted_columns) / len(self.compared) if self.compared else 0.0

    @property
    def dataset_drifted(self) -> bool:
        return bool(self.compared) and self.drifted_share >= self.drift_share

    def to_dict(self) -> dict[str, object]:
        """JSON-ready: non-finite numbers become the strings "inf"/"-inf", NaN becomes null."""
        return {
            "dataset_drifted": self.dataset_drifted,
            "drifted_share": self.drifted_share,
            "drift_share_threshold": self.drift_share,
            "drifted_columns": list(self.drifted_columns),
            "features": [
                {**{k: _json_number(v) for k, v in f.__dict__.items() if k != "stats"},
                 "stats": {k: _json_number(v) for k, v in f.stats.items()}}
                for f in self.features
            ],
        }


#: How each test's deciding value is named for people, and whether it is a p-value.
_TEST_LABELS = {"ks": ("KS p", True), "chi2": ("chi-squared p", True),
                "wasserstein": ("Wasserstein / std(ref)", False), "js": ("Jensen-Shannon", False)}


def require_compared(report: DriftReport) -> DriftReport:
    """``report`` when at least one feature was compared; else an InputError naming why each was not.

    "0 of 0 features drifted" reads as a clean bill of health when the files could not be
    compared at all (another delimiter, disjoint columns, nothing but missing values).

    >>> require_compared(drift_report({"a": np.ones(3)}, {"b": np.ones(3)}))
    Traceback (most recent call last):
    ...
    foresight.errors.InputError: no feature could be compared: a: not in the current table; b: not in the reference table
    """
    if report.compared:
        return report
    reasons = "; ".join(f"{f.name}: {f.why_not_compared}" for f in report.features)
    if any(sep in f.name for f in report.features for sep in ";\t|"):
        reasons += " (a column name holds ';', '|' or a tab: a CSV must be comma-separated)"
    raise InputError(f"no feature could be compared: {reasons or 'the tables have no columns'}")


def _json_number(v: object) -> object:
    if isinstance(v, float) and not math.isfinite(v):
        return None if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return v


def _shares_stats(p: np.ndarray, q: np.ndarray) -> dict[str, float]:
    return {"psi": float(psi(p, q)), "kl": float(kl(p, q)), "js": float(js(p, q))}


def _categorical_stats(ref_counts: np.ndarray, cur_counts: np.ndarray) -> dict[str, float]:
    x2, p = chi2_test(ref_counts[None, :], cur_counts[None, :])
    stats = {"chi2": float(x2[0]), "chi2_p": float(p[0])}
    p_share = ref_counts / max(ref_counts.sum(), 1)
    q_share = cur_counts / max(cur_counts.sum(), 1)
    return {**stats, **_shares_stats(p_share, q_share)}


def _distinct(sorted_valid: np.ndarray, limit: int) -> np.ndarray | None:
    """The distinct values of a sorted row, or None when there are more than ``limit``."""
    if sorted_valid.size and np.count_nonzero(sorted_valid[1:] != sorted_valid[:-1]) >= limit:
        return None
    return np.unique(sorted_valid)


def _without_infinities(x: np.ndarray) -> tuple[np.ndarray, int]:
    """``x`` with infinities turned into NaN (missing), and how many there were."""
    infinite = np.isinf(x)
    count = int(np.count_nonzero(infinite))
    return (np.where(infinite, np.nan, x), count) if count else (x, 0)


def _infinity_note(inf_ref: int, inf_cur: int) -> str:
    parts = [f"{n} in the {side}" for n, side in ((inf_ref, "reference"), (inf_cur, "current")) if n]
    return f"infinite values counted as missing: {', '.join(parts)}" if parts else ""


def _join(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


def _compare_numeric(name: str, ref: np.ndarray, cur: np.ndarray, bins: int) -> FeatureDrift:
    (ref, inf_ref), (cur, inf_cur) = _without_infinities(ref), _without_infinities(cur)
    ref_sorted, n_ref = sort_valid(ref)
    cur_sorted, n_cur = sort_valid(cur)
    base = FeatureDrift(name, "compared", "numeric", rows_ref=int(n_ref[0]), rows_cur=int(n_cur[0]),
                        missing_ref=ref.shape[0] - int(n_ref[0]), missing_cur=cur.shape[0] - int(n_cur[0]),
                        infinite_ref=inf_ref, infinite_cur=inf_cur, note=_infinity_note(inf_ref, inf_cur))
    if n_ref[0] == 0 or n_cur[0] == 0:
        side = "reference" if n_ref[0] == 0 else "current"
        return replace(base, status="empty", note=_join(f"no valid value in the {side}", base.note))
    ref_valid, cur_valid = ref_sorted[0, : n_ref[0]], cur_sorted[0, : n_cur[0]]
    ref_values, cur_values = _distinct(ref_valid, DISCRETE_MAX), _distinct(cur_valid, DISCRETE_MAX)
    if ref_values is not None and cur_values is not None and np.union1d(ref_values, cur_values).size <= DISCRETE_MAX:
        labels = np.union1d(ref_values, cur_values)
        ref_counts = np.diff(np.searchsorted(ref_valid, labels, side="right"), prepend=0)
        cur_counts = np.diff(np.searchsorted(cur_valid, labels, side="right"), prepend=0)
        note = _join(f"{labels.size} distinct values: compared as categories", base.note)
        return replace(base, stats=_categorical_stats(ref_counts, cur_counts), note=note, kind="numeric-discrete")
    values, gap, valid = merged_gaps(ref_sorted, cur_sorted, n_ref, n_cur)
    d = ks_from_gaps(values, gap, valid, n_ref, n_cur)
    w1 = w1_from_gaps(values, gap, valid, n_ref, n_cur)
    del values, gap, valid
    std = np.array([float(np.std(ref_valid))])
    edges = quantile_edges(ref_sorted, n_ref, bins)
    p_share, q_share = bin_shares(ref_sorted, n_ref, edges), bin_shares(cur_sorted, n_cur, edges)
    stats = {"ks": float(d[0]), "ks_p": float(ks_pvalue(d, n_ref, n_cur)[0]),
             "wasserstein": float(normalise(w1, std)[0]), **_shares_stats(p_share[0], q_share[0])}
    note = "constant reference: any other value is drift" if std[0] == 0 else ""
    return replace(base, stats=stats, note=_join(note, base.note))


def _compare_categorical(name: str, ref: Categorical, cur: Categorical) -> FeatureDrift:
    labels = tuple(dict.fromkeys(ref.categories + cur.categories))
    ref_counts, cur_counts = category_counts(ref, labels), category_counts(cur, labels)
    base = FeatureDrift(name, "compared", "categorical", rows_ref=int(ref_counts.sum()), rows_cur=int(cur_counts.sum()),
                        missing_ref=ref.missing, missing_cur=cur.missing)
    if base.rows_ref == 0 or base.rows_cur == 0:
        side = "reference" if base.rows_ref == 0 else "current"
        return replace(base, status="empty", note=f"no valid value in the {side}")
    note = "one category in both: nothing to compare" if len(labels) == 1 else ""
    return replace(base, stats=_categorical_stats(ref_counts, cur_counts), note=note)


def _compare(name: str, ref: Column, cur: Column, bins: int) -> FeatureDrift:
    kind_ref, kind_cur = kind_of(ref), kind_of(cur)
    if kind_ref != kind_cur:
        return FeatureDrift(name, "type_changed", kind_ref, note=f"{kind_ref} in the reference, {kind_cur} in the current")
    if isinstance(ref, Categorical) and isinstance(cur, Categorical):
        return _compare_categorical(name, ref, cur)
    return _compare_numeric(name, np.asarray(ref), np.asarray(cur), bins)


def drift_report(
    reference: Mapping[str, Column | np.ndarray],
    current: Mapping[str, Column | np.ndarray],
    *,
    bins: int = 10,
    alpha: float = 0.05,
    distance_threshold: float = 0.1,
    drift_share: float = 0.5,
    unsupported: Mapping[str, str] | None = None,
) -> DriftReport:
    """Compare every feature; ``unsupported`` lists columns a reader skipped, with the reason."""
    names = list(dict.fromkeys([*reference, *current, *(unsupported or {})]))
    features: list[FeatureDrift] = []
    for name in names:
        if unsupported and name in unsupported:
            features.append(FeatureDrift(name, "unsupported", None, note=unsupported[name]))
        elif name not in current:
            features.append(FeatureDrift(name, "missing_in_current", kind_of(as_column(reference[name]))))
        elif name not in reference:
            features.append(FeatureDrift(name, "extra_in_current", kind_of(as_column(current[name]))))
        else:
            features.append(_compare(name, as_column(reference[name]), as_column(current[name]), bins))
    return DriftReport(tuple(_verdicts(features, alpha, distance_threshold)), drift_share)


def _verdicts(features: list[FeatureDrift], alpha: float, distance_threshold: float) -> list[FeatureDrift]:
    """Each compared feature's default test; p-values adjusted together (one BH family)."""
    choices = {
        i: default_test("numeric" if f.kind == "numeric" else "categorical", f.rows_ref, alpha, distance_threshold)
        for i, f in enumerate(features) if f.status == "compared"
    }
    tested = [i for i, c in choices.items() if c.p_value]
    adjusted = benjamini_hochberg(np.array([features[i].stats[f"{choices[i].test}_p"] for i in tested]))
    values = {i: float(a) for i, a in zip(tested, adjusted)}
    values |= {i: features[i].stats[c.test] for i, c in choices.items() if not c.p_value}
    return [
        replace(f, drifted=choices[i].drifted(values[i]), test=choices[i].test, value=values[i],
                threshold=choices[i].threshold, rule=choices[i].rule) if i in choices else f
        for i, f in enumerate(features)
    ]
