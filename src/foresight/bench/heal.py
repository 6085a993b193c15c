"""``foresight bench heal``: predicting pod, node and GPU failures, and what acting on it is worth.

Protocol. Each seed simulates ``failures`` failure episodes and as many look-alikes (each 3 h at
30 s, :mod:`foresight.sim.failures`). From the end of the first hour, every minute, each predictor
reads the last 90 minutes of every target and asks for an action when it expects a failure within
``HORIZON_S`` (15 min). Only the first alarm of a target counts: it triggers the action, after
which the target is not acted on again (the per-workload cool-down).

Prediction, per event: an alarm on a failing target at most ``MAX_LEAD_S`` (1 h) before its failure
is a true positive, its lead time the failure's time minus the alarm's; an alarm on a look-alike,
or over an hour early, is a false alarm; a failure without a timely alarm is a miss. False alarms
are counted per 100 monitored pod-hours (every target from the first hour until its failure or the
end of the episode).

Outcome. (a) reactive Kubernetes: every failure happens and costs what
:func:`~foresight.sim.failures.reactive_cost` says. (b) and (c): the baseline's or Foresight's alarm
starts the proactive action (restart with the replacement Ready first, resize, reschedule, or
cordon and drain), which averts the failure if it completes before it. Actions of one workload run
one at a time; an eviction (drain) waits while another pod of its workload is down, as the
Eviction API's PodDisruptionBudget check (429) makes it; a PDB violation is counted whenever an
action leaves fewer than ``MIN_AVAILABLE`` of the ``REPLICAS`` pods of its workload available.
``oomkills_by_scenario`` names the scenarios of the OOMKills left, and ``oomkill_reduction_ceiling``
is the reduction if every OOMKill with a precursor were averted (the simulator's sudden OOMs,
:data:`~foresight.sim.failures.NO_PRECURSOR`, have none: no predictor or remediation before the
kill can avert them).

Seeds: ``TUNED_ON`` (0-6) were the only ones looked at while choosing the predictors' settings;
the last 30% of the seeds run are the held-out ones reported at the top level.

Real data (:func:`check_nezha`, :func:`check_petshop`): the same predictors, untouched, on Nezha's
OnlineBoutique resource faults (how long before the front end's SLO breach the injected pod's alarm
fires; alarm onsets outside every fault's window) and what PetShop's metrics allow.
"""

from __future__ import annotations

import csv
import json
import math
import time
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

import numpy as np

from foresight.errors import InputError
from foresight.heal import PREDICTORS, EventKind, Failure, Predictor, Resource, Signals
from foresight.sim.failures import (
    EVAL_FROM_S,
    NO_PRECURSOR,
    STEP_S,
    FailureRun,
    reactive_cost,
    simulate_failures,
)

__all__ = ["HORIZON_S", "MAX_LEAD_S", "TUNED_ON", "bench_heal", "check_nezha", "check_petshop", "first_alarms",
           "load_nezha_day", "score"]

HORIZON_S = 900.0
MAX_LEAD_S = 3600.0
WINDOW_S = 5400.0
EVERY_S = 60.0
TUNED_ON = tuple(range(7))
REPLICAS, MIN_AVAILABLE = 3, 2
#: actions that take a pod away before its replacement runs (a drain's evictions); the others surge
EVICTING = {Failure.EVICTION, Failure.NOT_READY, Failure.GPU_FAILURE}


@dataclass(frozen=True)
class Alarms:
    """Per episode: the first alarm's time (NaN: none), what it predicted, and the predicted ttf."""

    time_s: np.ndarray
    failure: tuple[Failure, ...]
    ttf_s: np.ndarray


def first_alarms(run: FailureRun, predictor: Predictor) -> Alarms:
    """Replay the run minute by minute; each target's first alarm before its failure."""
    s, n = run.signals, len(run.episodes)
    failure_s = np.array([e.failure_s for e in run.episodes])
    first = np.full(n, np.nan)
    said: list[Failure] = [Failure.NONE] * n
    ttf = np.full(n, np.nan)
    span = int(round(WINDOW_S / STEP_S))
    stride = int(round(EVERY_S / STEP_S))
    for stop in range(int(round(EVAL_FROM_S / STEP_S)) + 1, s.t_s.size + 1, stride):
        now = s.t_s[stop - 1]
        v = predictor.predict(s.window(max(0, stop - span), stop), HORIZON_S, explain=False)
        new = v.alarm & np.isnan(first) & ~(now >= failure_s)
        first[new] = now
        ttf[new] = v.ttf_s[new]
        for i in np.flatnonzero(new):
            said[i] = v.failure[i]
    return Alarms(first, tuple(said), ttf)


def _quantile(values: list[float], q: float) -> float | None:
    return float(np.quantile(values, q)) if values else None


def score(runs: list[FailureRun], alarms: list[Alarms]) -> dict[str, Any]:
    """Event-level prediction figures and outcomes against reactive Kubernetes, over ``runs``."""
    tp = fp = failures = 0
    leads: list[float] = []
    pod_hours = 0.0
    reactive_violation = violation = 0.0
    reactive_kills = kills = unnecessary = pdb_violations = actions = 0
    by_failure: dict[str, list[int]] = {}
    false_by_scenario: dict[str, int] = {}
    missed_by_scenario: dict[str, int] = {}
    kills_by_scenario: dict[str, int] = {}
    unwarned_kills = 0  # reactive OOMKills of scenarios the simulator gives no precursor (no predictor can see them)
    for run, alarm in zip(runs, alarms, strict=True):
        down: dict[str, list[tuple[float, float]]] = {}
        queue: dict[str, float] = {}
        order = sorted(range(len(run.episodes)), key=lambda i: (math.isnan(alarm.time_s[i]), alarm.time_s[i]))
        for i in order:
            e = run.episodes[i]
            exists = np.isfinite(run.signals.usage[i]) & (run.signals.t_s >= EVAL_FROM_S)
            end = e.failure_s if e.failure is not Failure.NONE else np.inf
            pod_hours += float(np.sum(exists & (run.signals.t_s < end))) * STEP_S / 3600
            cost, kill = reactive_cost(e)
            reactive_violation += cost
            reactive_kills += kill
            unwarned_kills += kill * int(e.scenario in NO_PRECURSOR)
            t_a = float(alarm.time_s[i])
            failing = e.failure is not Failure.NONE
            if failing:
                failures += 1
                hit = not math.isnan(t_a) and e.failure_s - t_a <= MAX_LEAD_S
                by_failure.setdefault(e.failure.value, [0, 0])[0] += int(hit)
                by_failure[e.failure.value][1] += 1
                tp += int(hit)
                fp += int(not math.isnan(t_a) and not hit)
                if not math.isnan(t_a) and not hit:
                    false_by_scenario[e.scenario] = false_by_scenario.get(e.scenario, 0) + 1
                if hit:
                    leads.append(e.failure_s - t_a)
                else:
                    missed_by_scenario[e.scenario] = missed_by_scenario.get(e.scenario, 0) + 1
            elif not math.isnan(t_a):
                fp += 1
                false_by_scenario[e.scenario] = false_by_scenario.get(e.scenario, 0) + 1
            done = np.inf
            if not math.isnan(t_a):  # the action: one at a time per workload, evictions wait for the PDB
                actions += 1
                unnecessary += int(not failing)
                start = max(t_a, queue.get(e.workload, -np.inf))
                evicting = alarm.failure[i] in EVICTING
                if evicting:
                    for a, b in sorted(down.get(e.workload, [])):
                        if a <= start < b:
                            start = b
                    others = sum(a <= start < b for a, b in down.get(e.workload, []))
                    pdb_violations += int(REPLICAS - 1 - others < MIN_AVAILABLE)
                    down.setdefault(e.workload, []).append((start, start + e.action_s))
                done = start + e.action_s
                queue[e.workload] = done
            if failing and not done < e.failure_s:
                violation += cost
                kills += kill
                if kill:
                    kills_by_scenario[e.scenario] = kills_by_scenario.get(e.scenario, 0) + 1
                down.setdefault(e.workload, []).append((e.failure_s, e.failure_s + max(cost, e.startup_s)))
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / failures if failures else None
    return {
        "precision": precision,
        "recall": recall,
        "lead_time_median_s": _quantile(leads, 0.5),
        "lead_time_p10_s": _quantile(leads, 0.1),
        "false_alarms_per_100_pod_hours": 100 * fp / pod_hours if pod_hours else None,
        "slo_violation_reduction": 1 - violation / reactive_violation if reactive_violation else None,
        "oomkill_reduction": 1 - kills / reactive_kills if reactive_kills else None,
        "unnecessary_actions_per_100_pod_hours": 100 * unnecessary / pod_hours if pod_hours else None,
        "pdb_violations": pdb_violations,
        "true_alarms": tp, "false_alarms": fp, "failures": failures, "actions": actions,
        "pod_hours": pod_hours,
        "slo_violation_minutes": violation / 60, "reactive_slo_violation_minutes": reactive_violation / 60,
        "oomkills": kills, "reactive_oomkills": reactive_kills,
        "oomkills_by_scenario": dict(sorted(kills_by_scenario.items())),
        "oomkill_reduction_ceiling": 1 - unwarned_kills / reactive_kills if reactive_kills else None,
        "recall_by_failure": {k: v[0] / v[1] for k, v in sorted(by_failure.items())},
        "false_alarms_by_scenario": dict(sorted(false_by_scenario.items())),
        "missed_by_scenario": dict(sorted(missed_by_scenario.items())),
    }


def _f1(figures: dict[str, Any]) -> float:
    p, r = figures["precision"] or 0.0, figures["recall"] or 0.0
    return 2 * p * r / (p + r) if p + r else 0.0


def bench_heal(seeds: int = 10, failures: int = 40, predictors: tuple[str, ...] = tuple(PREDICTORS)) -> dict[str, Any]:
    """Every predictor on ``seeds`` seeds; the held-out seeds' figures of Foresight at the top level."""
    if seeds < 2:
        raise ValueError("at least 2 seeds: one to tune on, one held out")
    held = list(range(seeds - max(1, math.ceil(0.3 * seeds)), seeds))
    runs = [simulate_failures(seed, failures, failures) for seed in range(seeds)]
    per: dict[str, dict[str, Any]] = {}
    started = time.perf_counter()
    for name in predictors:
        found = [first_alarms(run, PREDICTORS[name]) for run in runs]
        per[name] = {
            "held_out": score([runs[s] for s in held], [found[s] for s in held]),
            "tuned_on": score([runs[s] for s in range(seeds) if s not in held and s in TUNED_ON],
                              [found[s] for s in range(seeds) if s not in held and s in TUNED_ON]),
        }
    winner = max(per, key=lambda k: (_f1(per[k]["held_out"]), per[k]["held_out"]["slo_violation_reduction"] or 0.0))
    top = {k: v for k, v in per["foresight"]["held_out"].items()} if "foresight" in per else {}
    return {
        **top,
        "predictor": "foresight",
        "winner": winner,
        "winner_by": "event-level F1 on the held-out seeds, then SLO-violation reduction",
        "held_out_seeds": held,
        "tuned_on_seeds": list(TUNED_ON),
        "held_out_clean": not set(held) & set(TUNED_ON),
        "episodes_per_seed": {"failures": failures, "look_alikes": failures},
        "horizon_s": HORIZON_S,
        "by_predictor": per,
        "seconds": time.perf_counter() - started,
    }


# --- The real-data check: Nezha's OnlineBoutique resource faults, PetShop's issues -----------------

#: Nezha's fault types that load a resource (the others are code defects)
RESOURCE_FAULTS = ("cpu_contention", "cpu_consumed", "network_delay")
#: the front end's SLO: P90 latency within twice the day's median, and at least 99% successes
SLO_LATENCY_FACTOR, SLO_SUCCESS = 2.0, 99.0
#: how far around an injection a prediction or a breach belongs to that fault
BEFORE_S, AFTER_S = 900.0, 480.0


def _minute(text: str) -> float:
    """Seconds since the epoch of a Nezha ``Time`` string's first 19 characters (UTC), to the minute."""
    from datetime import datetime

    try:
        stamp = datetime.strptime(text[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise InputError(f"{text[:40]!r} is not a Nezha time (YYYY-MM-DD HH:MM:SS ...)") from None
    return round(stamp / 60.0) * 60.0


def _table(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise InputError(f"{path}: cannot be read as CSV ({e})") from None


def _number(text: str | None) -> float:
    try:
        return float(text) if text not in (None, "") else np.nan
    except ValueError:
        return np.nan


def load_nezha_day(folder: Path) -> tuple[Signals, np.ndarray, list[tuple[float, str, str]]]:
    """One Nezha day: every pod's CPU use as a fraction of its limit on a 1-minute grid, whether the
    front end breached its SLO each minute, and the faults (time, pod, type).

    ``CpuUsageRate(%)`` is read as use over the CPU limit: it saturates at 100-110% in every pod.
    ``MemoryUsageRate(%)`` reaches 180%, so its denominator is no enforced limit: memory is not read
    (no limit: nothing to exhaust).
    """
    pods = sorted((folder / "metric").glob("*_metric.csv"))
    faults_file = next(iter(folder.glob("*fault_list.json")), None)
    if not pods or faults_file is None or not (folder / "metric" / "front_service.csv").is_file():
        raise InputError(f"{folder}: not a Nezha day (metric/*_metric.csv, metric/front_service.csv, *fault_list.json)")
    tables = {p.name.removesuffix("_metric.csv"): _table(p) for p in pods}
    front = _table(folder / "metric" / "front_service.csv")
    stamps = sorted({_minute(r["Time"]) for rows in tables.values() for r in rows})
    grid = np.arange(stamps[0], stamps[-1] + 60.0, 60.0)
    usage = np.full((len(tables), grid.size), np.nan)
    for i, rows in enumerate(tables.values()):
        for r in rows:
            usage[i, int((_minute(r["Time"]) - grid[0]) // 60)] = _number(r.get("CpuUsageRate(%)")) / 100.0
    latency = np.full(grid.size, np.nan)
    success = np.full(grid.size, np.nan)
    for r in front:
        j = int((_minute(r["Time"]) - grid[0]) // 60)
        if 0 <= j < grid.size:
            latency[j], success[j] = _number(r.get("LatencyP90(s)")), _number(r.get("SuccessRate(%)"))
    breach = (latency > SLO_LATENCY_FACTOR * np.nanmedian(latency)) | (success < SLO_SUCCESS)
    try:
        listed = json.loads(faults_file.read_text(encoding="utf-8"))
        faults = [(_minute(f["inject_time"]), str(f["inject_pod"]), str(f["inject_type"]))
                  for hour in listed.values() for f in hour]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise InputError(f"{faults_file}: not a Nezha fault list ({e})") from None
    n = len(tables)
    signals = Signals(tuple(tables), (Resource.CPU,) * n, (EventKind.RESTARTS,) * n, grid, usage, np.ones(n),
                      np.zeros_like(usage))
    return signals, breach, faults


def _alarm_matrix(signals: Signals, predictor: Predictor) -> np.ndarray:
    """Each target's alarm at each minute, from the last 90 minutes."""
    span = int(round(WINDOW_S / 60.0))
    out = np.zeros(signals.usage.shape, dtype=bool)
    for stop in range(2, signals.t_s.size + 1):
        out[:, stop - 1] = predictor.predict(signals.window(max(0, stop - span), stop), HORIZON_S, explain=False).alarm
    return out


def check_nezha(data: Path, predictors: tuple[str, ...] = tuple(PREDICTORS)) -> dict[str, Any]:
    """Per predictor: for each resource fault, when the injected pod's alarm fired against when the front
    end breached its SLO; alarm onsets per 100 pod-hours outside every fault's window."""
    days = sorted(p for p in (data / "rca_data").glob("*") if p.is_dir()) if (data / "rca_data").is_dir() else []
    if not days:
        raise InputError(f"{data}: no rca_data/<date>/ folders (the Nezha OnlineBoutique layout)")
    loaded = [load_nezha_day(day) for day in days]
    figures: dict[str, Any] = {}
    for name in predictors:
        leads: list[float] = []
        per_type: dict[str, dict[str, int]] = {}
        onsets = 0
        quiet_minutes = 0
        for signals, breach, faults in loaded:
            alarms = _alarm_matrix(signals, PREDICTORS[name])
            t = signals.t_s
            busy = np.zeros(t.size, dtype=bool)
            for when, pod, kind in faults:
                busy |= (t >= when - BEFORE_S) & (t <= when + AFTER_S + 600.0)
                if kind not in RESOURCE_FAULTS:
                    continue
                counts = per_type.setdefault(kind, {"faults": 0, "breached": 0, "fired": 0, "fired_before_breach": 0,
                                                    "alarming_before_injection": 0})
                counts["faults"] += 1
                row = signals.targets.index(pod) if pod in signals.targets else -1
                during = (t >= when - 60.0) & (t <= when + AFTER_S)  # 60 s: the two clocks' slack
                fired = t[during & alarms[row]] if row >= 0 else np.array([])
                broke = t[during & breach]
                counts["breached"] += int(broke.size > 0)
                counts["fired"] += int(fired.size > 0)
                before = (t >= when - BEFORE_S) & (t < when - 60.0)
                counts["alarming_before_injection"] += int(row >= 0 and bool(alarms[row, before].any()))
                if fired.size and broke.size:
                    leads.append(float(broke[0] - fired[0]))
                    counts["fired_before_breach"] += int(fired[0] < broke[0])
            onset = alarms & ~np.roll(alarms, 1, axis=1)
            onset[:, 0] = alarms[:, 0]
            onsets += int(onset[:, ~busy].sum())
            quiet_minutes += int((~busy).sum()) * len(signals.targets)
        figures[name] = {
            "lead_before_slo_breach_s": {"count": len(leads), "median": _quantile(leads, 0.5),
                                         "p10": _quantile(leads, 0.1), "min": min(leads, default=None),
                                         "max": max(leads, default=None)},
            "by_fault_type": per_type,
            "fault_free_pod_hours": quiet_minutes / 60,
            "false_alarms_per_100_pod_hours": 100 * onsets / (quiet_minutes / 60) if quiet_minutes else None,
        }
    return {"data": str(data), "days": [d.name for d in days], "by_predictor": figures,
            "note": "CPU use read as CpuUsageRate(%) over the pod's CPU limit; memory has no enforced limit here; "
                    f"SLO: front-end P90 <= {SLO_LATENCY_FACTOR:g} x the day's median and success >= {SLO_SUCCESS:g}%; "
                    "fault-free: outside [injection - 15 min, + 18 min] of every fault; a fault's alarm and breach: "
                    "within [injection - 1 min, + 8 min]. Foresight's confidence rule and its CPU without burst "
                    "headroom were added after a first run here (9.6 false alarms per 100 pod-hours), and its level "
                    "follows the last samples unless the trend is a steady line after a later run (4 of 42 fired): "
                    "these figures are not held out for those choices"}


def check_petshop(data: Path) -> dict[str, Any]:
    """What PetShop offers a failure predictor: its metric kinds (CloudWatch latency, requests,
    availability at 5-minute steps), and whether any is a resource with a limit."""
    files = sorted(data.glob("dataset/*/noissue/metrics.csv")) + sorted(data.glob("dataset/*/*/issue_*/metrics.csv"))
    if not files:
        raise InputError(f"{data}: no dataset/<scenario>/.../metrics.csv (the PetShop layout)")
    kinds: set[str] = set()
    for path in files:
        try:
            with path.open(newline="", encoding="utf-8") as f:
                reader = csv.reader(f)
                next(reader, None)
                kinds |= set(next(reader, [])[1:])
        except (OSError, UnicodeDecodeError, csv.Error) as e:
            raise InputError(f"{path}: cannot be read as CSV ({e})") from None
    resources = sorted(k for k in kinds if any(w in k.lower() for w in ("cpu", "memory", "disk", "pid")))
    return {"data": str(data), "files": len(files), "metric_kinds": sorted(kinds), "resource_metrics": resources,
            "verdict": "resource series present" if resources else
            "no CPU, memory, disk or PID series (latency, requests, availability only): no resource to exhaust, "
            "so no failure prediction is made on PetShop"}
