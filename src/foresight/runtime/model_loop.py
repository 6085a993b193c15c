"""The simulated platform's model feedback loop (``foresight demo``, ``serve --simulate``): a served
model whose inputs drift, caught, retrained, gated, canaried.

A scikit-learn logistic regression scores a stream of requests (``rows_per_min`` a minute, four
numeric features). At ``drift_at_s`` the world changes: feature ``x3``'s mean moves by 1.2 sd
(covariate drift) and the label's relation to ``x3``/``x4`` changes (concept drift), so the
champion's accuracy falls from ~0.87 to ~0.66. Labels arrive with the requests (a simplification:
in production feedback is late and partial).

Every ``tick_s`` the demo computes each feature's PSI (10 quantile bins of the champion's training
data, :mod:`foresight.drift.psi`) over the last ``window_s`` of inputs, and the champion's accuracy
over the same window, and hands them to the real :class:`~foresight.feedback.FeedbackLoop`:
PSI > 0.2 on any feature (or accuracy below the policy's floor) for ``consecutive`` ticks retrains a
new logistic regression on the most recent ``train_s`` of labelled data (hold-out: its last 25%),
registers it in a :class:`~foresight.registry.LocalRegistry` (with data version = md5 of the training
rows, the code commit and the seed), gates it (accuracy >= 0.8 and no worse than the champion
re-evaluated on the same hold-out), releases it as a canary through the rollout controller on the
canary simulator (each version's accuracy there is what it achieves on the live stream) and
promotes or rolls back. Each retrained model passes the artifact gate first: :func:`scan_candidate`
scans the bytes the registry will store (the pickled model, or the candidate's model file) with
:func:`foresight.security.scan_artifact`. An injected fault makes the registry unreachable for ``registry_outage_s`` seconds from the
moment the drift is first seen, so the registration is held and retried (the pending model is not
lost).

Cost: one simulated day is ~290 PSI evaluations and one or two fits: well under a second.
"""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from foresight.adapters.local_registry import LocalRegistry
from foresight.clock import ManualClock
from foresight.control.audit import AuditRecord, AuditSink
from foresight.drift.bins import bin_shares, quantile_edges
from foresight.drift.ecdf import sort_valid
from foresight.drift.psi import PSI_SIGNIFICANT, psi
from foresight.errors import InputError, ServiceUnavailable
from foresight.feedback import Candidate, DecaySignal, FeedbackLoop, LoopPolicy
from foresight.registry import CHAMPION, SCAN_TAG, GatePolicy, code_commit
from foresight.runtime.canary import RolloutCanary
from foresight.security import Finding, scan_artifact
from foresight.sim.canary import VersionBehaviour

__all__ = ["FEATURES", "ModelLoopDemo", "ModelLoopStep", "demo_model_loop", "scan_candidate"]

FEATURES = ("x1", "x2", "x3", "x4")
_W_BEFORE = np.array([1.5, -1.0, 0.8, 0.0])
_W_AFTER = np.array([1.5, -1.0, -0.8, 1.2])
_MU_AFTER = np.array([0.0, 0.0, 1.2, 0.0])
_NOISE = 0.5  # scale of the logistic noise on the label's score


def scan_candidate(candidate: Candidate) -> list[Finding] | None:
    """The feedback loop's artifact scan port: the findings in what the registry would store.

    A model file is scanned as it is on disk; an in-memory model as the pickle the local registry
    writes (``pickle.dumps``). None when the candidate carries neither (a training run registered it
    remotely). An unreadable file is an :class:`~foresight.errors.InputError` (the loop discards the
    candidate: what cannot be read cannot be shown to be safe).
    """
    if candidate.model_file is not None:
        try:
            data = candidate.model_file.read_bytes()
        except OSError as exc:
            raise InputError(f"{candidate.model_file}: cannot read the model file to scan it "
                             f"({exc.strerror or exc})") from None
        return scan_artifact(data, str(candidate.model_file))
    if candidate.model is not None:
        return scan_artifact(pickle.dumps(candidate.model), f"<{type(candidate.model).__name__} as pickled>")
    return None


@dataclass(frozen=True)
class ModelLoopStep:
    """One event of the model loop for the live view and the report: when, what, and why."""

    time_s: float
    what: str
    detail: str


class _Stream:
    """The served traffic: features and labels per minute, seeded; the relation changes at ``drift_at_s``."""

    def __init__(self, seed: int, drift_at_s: float, rows_per_min: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.drift_at_s, self.rows = drift_at_s, rows_per_min

    def minute(self, t_end_s: float) -> tuple[np.ndarray, np.ndarray]:
        after = t_end_s > self.drift_at_s
        mu = _MU_AFTER if after else np.zeros(4)
        w = _W_AFTER if after else _W_BEFORE
        x = self.rng.normal(mu, 1.0, size=(self.rows, 4))
        score = (x - mu) @ w + self.rng.logistic(0.0, _NOISE, size=self.rows)
        return x, (score > 0).astype(np.int64)


class _OutageRegistry(LocalRegistry):
    """The local registry, unreachable during ``[outage_start_s, outage_end_s)`` of the demo clock."""

    def __init__(self, *args: Any, outage: tuple[float, float] | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.outage = outage

    def register(self, *args: Any, **kwargs: Any):  # type: ignore[no-untyped-def]
        now = self.clock.now()
        if self.outage is not None and self.outage[0] <= now < self.outage[1]:
            raise ServiceUnavailable(f"registry {self.url} unreachable (simulated outage until "
                                     f"{self.outage[1] / 3600:.2f} h)")
        return super().register(*args, **kwargs)


def _psi_per_feature(ref_sorted: np.ndarray, n_ref: np.ndarray, edges: np.ndarray, current: np.ndarray) -> np.ndarray:
    cur_sorted, n_cur = sort_valid(current.T)
    shares_ref = bin_shares(ref_sorted, n_ref, edges)
    return psi(shares_ref, bin_shares(cur_sorted, n_cur, edges))


def _data_version(x: np.ndarray, y: np.ndarray) -> str:
    """md5 of the training rows as they would be written (float64 features, then int64 labels)."""
    rows = np.ascontiguousarray(x).tobytes() + np.ascontiguousarray(y).tobytes()
    return hashlib.md5(rows, usedforsecurity=False).hexdigest()  # a content address, as DVC's


@dataclass
class ModelLoopDemo:
    """The running loop; :meth:`advance_to` steps it minute by minute to the demo's clock."""

    model: str
    duration_s: float
    drift_at_s: float
    seed: int
    tick_s: float = 300.0
    window_s: float = 1800.0
    train_s: float = 1200.0
    rows_per_min: int = 120
    start_s: float = 0.0
    registry_outage_s: float = 600.0
    audit: AuditSink | None = None
    registry_url: str = "sqlite://"
    threshold: float = PSI_SIGNIFICANT
    steps: list[ModelLoopStep] = field(default_factory=list)
    # per tick: time, max PSI, its feature, champion / challenger accuracy over the window
    ticks: list[tuple[float, float, str, float, float | None]] = field(default_factory=list)
    # per tick: time and the PSI of every feature (in FEATURES order), measured before the tick acts
    feature_ticks: list[tuple[float, tuple[float, ...]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.clock = ManualClock(self.start_s)
        self._stream = _Stream(self.seed, self.drift_at_s, self.rows_per_min)
        self.registry = _OutageRegistry(self.registry_url, clock=self.clock, outage=None)
        keep = int(max(self.window_s, self.train_s) // 60) + 1
        self._x: list[np.ndarray] = []
        self._y: list[np.ndarray] = []
        self._keep = keep
        self._models: dict[int, LogisticRegression] = {}
        self._accuracy: dict[str, list[float]] = {"champion": [], "challenger": []}
        self._correct = {"champion": [], "challenger": []}  # per minute (correct, n)
        self._next_tick = self.start_s + self.tick_s
        self.outcome = "watching"
        self.drift_detected_s: float | None = None
        self._reported = 0  # steps already returned by advance_to
        policy = LoopPolicy(min_accuracy=0.8, consecutive=2, cooldown_s=2 * 3600.0, retry_s=120.0,
                            gates=GatePolicy.parse(["accuracy>=0.8"], tolerances={"accuracy": 0.01}))
        canary = RolloutCanary(self.model, self._behaviours, seed=self.seed, audit=self.audit)
        self.canary = canary
        self.loop = FeedbackLoop(self.model, policy, self.registry, self._retrain, canary, self.clock,
                                 code_commit=code_commit(__file__), audit=self.audit, on_promote=self._promoted,
                                 scan=scan_candidate)
        self._bootstrap()

    # -- the first champion: trained on two hours before the start -----------------------------
    def _bootstrap(self) -> None:
        minutes = [self._stream.minute(self.start_s - 60.0 * k) for k in range(120, 0, -1)]
        x = np.concatenate([m[0] for m in minutes])
        y = np.concatenate([m[1] for m in minutes])
        model, metrics, _ = self._fit(x, y, None)
        v = self.registry.register(self.model, params=self._params(), metrics=metrics, code_commit=self.loop.code_commit,
                                   data_version=_data_version(x, y), seed=self.seed, model=model,
                                   tags={"foresight.trigger": "initial training"})
        self.registry.set_alias(self.model, CHAMPION, v.version)
        self._models[v.version] = model
        self._serving = v.version
        self._challenger: int | None = None
        self._set_reference(x)
        self._record(self.start_s, "register", f"v{v.version} trained on 2 h before the start "
                     f"(accuracy {metrics['accuracy']:.3f}), champion", audit=True)

    def _params(self) -> dict[str, Any]:
        return {"estimator": "LogisticRegression", "C": 1.0, "train_window_s": self.train_s}

    def _fit(self, x: np.ndarray, y: np.ndarray, champion: LogisticRegression | None
             ) -> tuple[LogisticRegression, dict[str, float], dict[str, float] | None]:
        cut = int(len(y) * 0.75)
        model = LogisticRegression(C=1.0).fit(x[:cut], y[:cut])
        metrics = {"accuracy": float(model.score(x[cut:], y[cut:])), "train_rows": float(cut)}
        champ = None if champion is None else {"accuracy": float(champion.score(x[cut:], y[cut:]))}
        return model, metrics, champ

    def _set_reference(self, x: np.ndarray) -> None:
        self._ref_sorted, self._n_ref = sort_valid(x.T)
        self._edges = quantile_edges(self._ref_sorted, self._n_ref, bins=10)

    # -- the loop's callbacks ----------------------------------------------------------------------
    def _retrain(self, now: float) -> Candidate:
        minutes = int(self.train_s // 60)
        x = np.concatenate(self._x[-minutes:])
        y = np.concatenate(self._y[-minutes:])
        model, metrics, champion = self._fit(x, y, self._models[self._serving])
        self._pending_model = model
        self._pending_reference = x
        return Candidate(model=model, params=self._params(), metrics=metrics, data_version=_data_version(x, y),
                         seed=self.seed, champion_metrics=champion,
                         tags={"foresight.trigger": "drift/decay at %.2f h" % (now / 3600)})

    def _behaviours(self, version: int) -> tuple[VersionBehaviour, VersionBehaviour]:
        """The canary simulator's versions: same latency and errors, each model's measured accuracy."""
        self._challenger = version
        self._models[version] = self._pending_model
        x = np.concatenate(self._x[-int(self.train_s // 60):])
        y = np.concatenate(self._y[-int(self.train_s // 60):])
        stable = float(self._models[self._serving].score(x, y))
        candidate = float(self.registry.get(self.model, version).metrics["accuracy"])
        return VersionBehaviour(accuracy=stable), VersionBehaviour(accuracy=candidate)

    def _promoted(self, version: int, candidate: Candidate | None) -> None:
        """The challenger serves: its shadow accuracy becomes the champion's history, its data the reference."""
        self._serving = version
        self._challenger = None
        self._correct["champion"], self._correct["challenger"] = self._correct["challenger"], []
        self._set_reference(self._pending_reference)

    # -- stepping ---------------------------------------------------------------------------------
    def advance_to(self, now_s: float) -> list[ModelLoopStep]:
        """Serve every minute that has ended by ``now_s``, tick the loop on schedule; the steps not
        returned before (the first call also returns the initial registration)."""
        while self.clock.now() + 60.0 <= min(now_s, self.start_s + self.duration_s) + 1e-9:
            self.clock.advance(60.0)
            now = self.clock.now()
            x, y = self._stream.minute(now)
            self._x.append(x)
            self._y.append(y)
            del self._x[:-self._keep], self._y[:-self._keep]
            self._score_minute(x, y)
            if now + 1e-9 >= self._next_tick:
                self._next_tick += self.tick_s
                self._tick(now)
        new, self._reported = self.steps[self._reported:], len(self.steps)
        return new

    def _score_minute(self, x: np.ndarray, y: np.ndarray) -> None:
        for role, version in (("champion", self._serving), ("challenger", self._challenger)):
            if version is None or version not in self._models:
                self._correct[role].append((0, 0))
            else:
                self._correct[role].append((int((self._models[version].predict(x) == y).sum()), len(y)))
            del self._correct[role][:-self._keep]

    def _window_accuracy(self, role: str) -> float | None:
        recent = self._correct[role][-int(self.window_s // 60):]
        n = sum(c[1] for c in recent)
        return sum(c[0] for c in recent) / n if n else None

    def _tick(self, now: float) -> None:
        current = np.concatenate(self._x[-int(self.window_s // 60):])
        per_feature = _psi_per_feature(self._ref_sorted, self._n_ref, self._edges, current)
        self.feature_ticks.append((now, tuple(float(v) for v in per_feature)))
        worst = int(np.argmax(per_feature))
        score = float(per_feature[worst])
        drifted = score > self.threshold
        reason = (f"PSI of {FEATURES[worst]} {score:.2f} > {self.threshold:g} (last {self.window_s / 60:g} min "
                  f"vs v{self._serving}'s training data)")
        champion_acc = self._window_accuracy("champion")
        self.ticks.append((now, score, FEATURES[worst], champion_acc if champion_acc is not None else float("nan"),
                           self._window_accuracy("challenger")))
        if drifted and self.drift_detected_s is None and now > self.drift_at_s:
            self.drift_detected_s = now
            self._record(now, "drift", reason, audit=True)
            if self.registry_outage_s > 0:  # the scripted fault: the registry goes down when it is needed
                self.registry.outage = (now, now + self.registry_outage_s)
                self._record(now, "outage", f"registry unreachable for {self.registry_outage_s / 60:g} min "
                             "(injected fault)", audit=True)
        for step in self.loop.tick(DecaySignal(drifted, score, reason if drifted else ""), champion_acc):
            if step.action == "canary_step":
                last = self.canary.steps[-1] if self.canary.steps else None
                if last is not None and last.time_s > now - self.tick_s:
                    self._record(now, "canary", f"v{last.version} at {last.weight}% ({last.action}): {last.reason}")
                continue
            self._record(now, step.action, step.reason + (f" [error: {step.error}]" if step.error else ""))
            if step.action in ("promote", "rollback"):
                self.outcome = f"v{step.version} {'promoted' if step.action == 'promote' else 'rolled back'}"

    def _record(self, time_s: float, what: str, detail: str, *, audit: bool = False) -> None:
        """Add a step; ``audit``: also write it (the loop audits its own steps; the demo adds the
        initial registration and the moment drift was first seen)."""
        self.steps.append(ModelLoopStep(time_s, what, detail))
        if audit and self.audit is not None:
            self.audit.record(AuditRecord(time_s, "model-loop", "feedback/demo", self.model, {}, {},
                                          f"{what}: {detail}", what == "register", False))

    @property
    def drift_status(self) -> str:
        """``detected``, ``not detected``, or ``not reached``: the run stopped (Ctrl-C) before the drift
        was injected, so there was nothing to detect."""
        if self.drift_detected_s is not None:
            return "detected"
        return "not reached" if self.clock.now() < self.drift_at_s else "not detected"

    def drift_words(self) -> str:
        """The drift's outcome in a sentence, for the summary and the report.

        >>> demo = demo_model_loop(7 * 86400.0, 0, None)
        >>> _ = demo.advance_to(12.8 * 3600)
        >>> demo.drift_words()
        'input drift at 67.20 h not reached: the run stopped at 12.80 h'
        """
        at = f"input drift at {self.drift_at_s / 3600:.2f} h"
        if self.drift_status == "not reached":
            return f"{at} not reached: the run stopped at {self.clock.now() / 3600:.2f} h"
        if self.drift_detected_s is None:
            return f"{at} not detected in the {(self.clock.now() - self.drift_at_s) / 60:.0f} min the run went on"
        return f"{at} detected after {(self.drift_detected_s - self.drift_at_s) / 60:.1f} min"

    def to_json(self) -> dict[str, object]:
        versions = self.registry.list_versions(self.model)
        delay = None if self.drift_detected_s is None else round((self.drift_detected_s - self.drift_at_s) / 60.0, 1)

        def acc(lo: float, hi: float) -> float | None:
            vals = [t[3] for t in self.ticks if lo <= t[0] < hi and np.isfinite(t[3])]
            return None if not vals else round(float(np.mean(vals)), 3)

        end = self.clock.now()
        return {
            "model": self.model, "drift_at_s": self.drift_at_s, "drift": self.drift_status,
            "drift_detected_s": self.drift_detected_s, "detection_delay_minutes": delay,
            "retrains": sum(1 for s in self.steps if s.what == "retrain"),
            "registration_retries": sum(1 for s in self.steps if s.what == "hold"),
            "versions": [{"version": v.version, "accuracy": v.metrics.get("accuracy"), "aliases": list(v.aliases),
                          "gate": v.tags.get("foresight.gate"), "canary": v.tags.get("foresight.canary"),
                          "scan": v.tags.get(SCAN_TAG), "data_version": v.data_version} for v in versions],
            "outcome": self.outcome,
            "champion_accuracy": {"before_drift": acc(self.start_s + self.window_s, self.drift_at_s),
                                  "lowest_after_drift": min((round(float(t[3]), 3) for t in self.ticks
                                                             if t[0] > self.drift_at_s and np.isfinite(t[3])),
                                                            default=None),
                                  "last_hour": acc(end - 3600.0, end + 1)},
        }


def demo_model_loop(duration_s: float, seed: int, audit: AuditSink | None, *, model: str = "fraud-scorer",
                    start_s: float = 0.0, registry_url: str = "sqlite://") -> ModelLoopDemo:
    """The demo's loop: inputs drift 40% into the run; ``registry_url`` keeps the versions (in memory by default)."""
    return ModelLoopDemo(model=model, duration_s=duration_s, drift_at_s=start_s + 0.4 * duration_s, seed=seed,
                         start_s=start_s, audit=audit, registry_url=registry_url)
