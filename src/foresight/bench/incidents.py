"""``foresight bench incidents``: Foresight's incidents against two real Alertmanagers on simulated cascades.

One seeded run of :mod:`foresight.sim.cascades` (faults cascading through generated topologies,
noise, overlaps) is replayed in scaled real time to three Alertmanager processes at once
(:mod:`foresight.bench.alertmanager_replay`): kube-prometheus-stack's default configuration, a
hand-tuned one with inhibit rules from the dependency graph, and one that receives Foresight's
incidents. The alerts reach the first two as Prometheus sends them: posted when they start,
re-posted every resend interval (1 min) with ``endsAt`` four intervals ahead, and posted with their
``endsAt`` when they resolve. The same alerts feed a :class:`~foresight.correlate.engine.Correlator`
at the same moments, without their future (a firing alert carries no end); each incident it
publishes goes to the third Alertmanager as one alert, re-posted likewise, resolved when the
incident resolves. A root cause that changes changes the alert's labels: the old alert resolves,
the new one fires (what a notification then says is current). That Alertmanager notifies each
incident once (``foresight``: what joins it later updates the alert, and its resolution closes it
without a page) and, on a second receiver with the same timers, with every resolution as the
baselines do (``foresight_with_resolutions``); the reductions are reported for both, and over firing
notifications alone.

Every system is judged on what its webhook received (:mod:`foresight.bench.incident_scoring`).
A Foresight notification speaks for the alerts its incident held when it was sent: a fault that
joins an incident already notified gets no notification of its own (Alertmanager does not notify
again for the same alert), so it counts as missed in ``incident_recall``;
``incident_recall_counting_later_joins`` credits it anyway. Grouping is scored on the incidents'
final membership (suppressed alerts included). Times in the report are simulated (unscaled)
seconds; the correlator's own wall time counts ``time_scale`` times over in them (it runs in the
replay's clock), which only delays Foresight.
"""

from __future__ import annotations

import math
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from foresight.adapters.alertmanager import AlertmanagerClient
from foresight.bench.alertmanager_replay import (
    DEFAULT_TIMERS_S,
    Received,
    WebhookReceiver,
    alertmanager_args,
    foresight_config,
    hand_tuned,
    kube_prometheus_default,
    parse_time,
    postable,
    serve_webhooks,
)
from foresight.bench.incident_scoring import (
    Delivery,
    first_notifications,
    incident_recall,
    pairwise,
    rca_rank,
)
from foresight.bench.progress import Progress, silent
from foresight.bench.prometheus_server import (
    ALERTMANAGER_BIN,
    ServiceLauncher,
    missing_binary,
)
from foresight.clock import SystemClock
from foresight.correlate.engine import CorrelationSettings, Correlator
from foresight.correlate.model import Incident, IncidentStatus
from foresight.errors import ConfigError, ServiceUnavailable
from foresight.sim.cascades import CascadeRun, CascadeSettings, TruthAlert, generate

__all__ = ["SYSTEMS", "IncidentBenchOptions", "bench_incidents"]

#: Prometheus's ``--rules.alert.resend-delay`` default; a sent alert is valid four times that long
RESEND_S = 60.0
#: each system's notifications arrive at the receiver's path ``/<name>``
SYSTEMS = ("default", "tuned", "foresight", "foresight_with_resolutions")


@dataclass(frozen=True)
class IncidentBenchOptions:
    #: the simulated run: faults, seed, density (``mean_gap_s``), topology
    cascades: CascadeSettings = field(default_factory=CascadeSettings)
    #: simulated seconds per wall-clock second, for the alerts and every Alertmanager timer alike
    time_scale: float = 200.0
    correlation: CorrelationSettings = field(default_factory=CorrelationSettings)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.time_scale) and self.time_scale >= 1.0):
            raise ConfigError(f"time scale must be a finite number >= 1, not {self.time_scale}")


def bench_incidents(options: IncidentBenchOptions, workdir: Path, progress: Progress = silent) -> dict[str, Any]:
    """Run the benchmark with Alertmanagers under ``workdir``; the figures of the module docstring."""
    missing = missing_binary(ALERTMANAGER_BIN)
    if missing:
        raise ConfigError(f"foresight bench incidents needs a real Alertmanager: {missing}")
    started = time.perf_counter()
    run = generate(options.cascades)
    scale = options.time_scale
    receiver = WebhookReceiver()
    launcher = ServiceLauncher(workdir)
    clients: dict[str, AlertmanagerClient] = {}
    try:
        with serve_webhooks(receiver) as url:
            configs = {"default": kube_prometheus_default(f"{url}/default", scale),
                       "tuned": hand_tuned(f"{url}/tuned", run.graph, scale),
                       "foresight": foresight_config(f"{url}/foresight", f"{url}/foresight_with_resolutions", scale)}
            for name, config in configs.items():
                server = launcher.alertmanager(config, alertmanager_args(scale))
                clients[name] = AlertmanagerClient(server.url, SystemClock(), timeout_s=10.0)
            replay = _Replay(run, clients, scale, options.correlation, progress)
            replay.run()
            # the last resolutions go out at the next group interval: wait two, and the group wait
            time.sleep((2 * DEFAULT_TIMERS_S["group_interval"] + DEFAULT_TIMERS_S["group_wait"]) / scale + 1.0)
    finally:
        for client in clients.values():
            client.close()
        launcher.close()
    for name, client in clients.items():
        if client.pending or client.dropped:
            raise ServiceUnavailable(f"the {name} Alertmanager did not take every alert "
                                     f"({client.pending} pending, {client.dropped} dropped)")
    figures = _report(run, replay, receiver)
    figures.update(time_scale=scale, seed=options.cascades.seed, mean_gap_s=options.cascades.mean_gap_s,
                   correlation=asdict(options.correlation),
                   simulated_hours=round(run.duration_s / 3600.0, 2),
                   wall_s=round(time.perf_counter() - started, 1))
    return figures


class _Replay:
    """The stream in scaled real time, to the baselines as alerts and to Foresight's Alertmanager as incidents."""

    def __init__(self, run: CascadeRun, clients: Mapping[str, AlertmanagerClient], scale: float,
                 settings: CorrelationSettings, progress: Progress) -> None:
        self.run_, self.clients, self.scale, self.progress = run, clients, scale, progress
        self.correlator = Correlator(settings)
        self.w0 = 0.0
        #: incident -> alert -> when it first held it (a notification speaks only for alerts held by then)
        self.members: dict[str, dict[str, float]] = defaultdict(dict)
        self.home: dict[str, str] = {}  # alert -> the incident that held it last
        self.latest: dict[str, Incident] = {}
        self._posted: dict[str, tuple[dict[str, str], float]] = {}  # incident -> (labels, startsAt) firing
        self.lag_s: list[float] = []
        self.engine_s: list[float] = []  #: wall seconds of each Correlator.observe call

    def wall(self, t: float) -> float:
        return self.w0 + t / self.scale

    def sim(self, wall: float) -> float:
        return (wall - self.w0) * self.scale

    def run(self) -> None:
        events = sorted([(a.alert.starts_at, 0, i) for i, a in enumerate(self.run_.alerts)]
                        + [(a.alert.ends_at or a.alert.starts_at, 1, i) for i, a in enumerate(self.run_.alerts)])
        firing: dict[str, TruthAlert] = {}
        self.w0 = time.time() + 0.5
        next_tick, i = 0.0, 0
        while i < len(events) or self.correlator.incidents or self._posted:
            due = min(events[i][0] if i < len(events) else math.inf, next_tick)
            time.sleep(max(0.0, self.wall(due) - time.time()))
            now = max(due, self.sim(time.time()))
            self.lag_s.append(now - due)
            updates, posts = [], []
            while i < len(events) and events[i][0] <= now:
                _, ended, index = events[i]
                truth = self.run_.alerts[index]
                alert = truth.alert
                i += 1
                if ended:
                    firing.pop(alert.key, None)
                    updates.append(alert)
                    posts.append(postable(alert.labels, self.wall(alert.starts_at), self.wall(alert.ends_at or now)))
                else:
                    firing[alert.key] = truth
                    updates.append(replace(alert, ends_at=None))
                    posts.append(self._firing(truth, now))
            tick = now >= next_tick
            if tick:
                fresh = {u.key for u in updates}
                posts.extend(self._firing(t, now) for k, t in firing.items() if k not in fresh)
                next_tick += RESEND_S
            for name in ("default", "tuned"):
                if posts:
                    self.clients[name].send(posts)
            if updates or tick:
                clock = time.perf_counter()
                changed = self.correlator.observe(updates, self.run_.graph, now)
                self.engine_s.append(time.perf_counter() - clock)
                self._incidents(changed, now, tick)
            self.progress(f"{len(firing)} alerts firing", min(1.0, now / self.run_.duration_s))

    def _firing(self, truth: TruthAlert, now: float) -> dict[str, Any]:
        return postable(truth.alert.labels, self.wall(truth.alert.starts_at), self.wall(now + 4 * RESEND_S))

    def _incidents(self, changed: Sequence[Incident], now: float, tick: bool) -> None:
        """Post what changed (and, on a resend tick, every firing incident) to Foresight's Alertmanager."""
        posts, sent = [], set()
        for incident in changed:
            self.latest[incident.id] = incident
            held_since = self.members[incident.id]
            for key in incident.alerts:
                held_since.setdefault(key, now)
            if incident.merged_into is None:
                self.home.update(dict.fromkeys(incident.alerts, incident.id))
            held = self._posted.pop(incident.id, None)
            root = incident.root_cause
            labels = {"alertname": "ForesightIncident", "incident": incident.id,
                      "root_cause_service": root.service if root else "unknown"}
            if held is not None and (held[0] != labels or incident.status == IncidentStatus.RESOLVED):
                posts.append(postable(held[0], held[1], self.wall(now)))  # ends: resolved, or labels moved on
                held = None
            if incident.status == IncidentStatus.FIRING:
                self._posted[incident.id] = held or (labels, self.wall(now))
                posts.append(self._incident_alert(incident.id, now))
                sent.add(incident.id)
        if tick:
            posts.extend(self._incident_alert(iid, now) for iid in self._posted if iid not in sent)
        if posts:
            self.clients["foresight"].send(posts)

    def _incident_alert(self, incident_id: str, now: float) -> dict[str, Any]:
        labels, starts = self._posted[incident_id]
        incident = self.latest[incident_id]
        summary = (f"{len(incident.alerts)} alerts ({len(incident.suppressed)} explained by a dependency) "
                   f"on {len(incident.services)} services")
        return postable(labels, starts, self.wall(now + 4 * RESEND_S), {"summary": summary})


def _report(run: CascadeRun, replay: _Replay, receiver: WebhookReceiver) -> dict[str, Any]:
    truth = {a.alert.key: a.incident for a in run.alerts}
    incidents = len(set(truth.values()))
    baseline = _AlertIndex(run, replay)
    deliveries = {name: baseline.deliveries(receiver.on(f"/{name}")) for name in ("default", "tuned")}
    for name in SYSTEMS[2:]:
        deliveries[name] = [_incident_delivery(r, replay) for r in receiver.on(f"/{name}")]
    any_time = [_incident_delivery(r, replay, any_time=True) for r in receiver.on("/foresight")]
    ours_groups: dict[str, set[str]] = defaultdict(set)
    for key, iid in replay.home.items():
        ours_groups[iid].add(key)
    groups = {"default": [d.alerts for d in deliveries["default"]], "tuned": [d.alerts for d in deliveries["tuned"]],
              **dict.fromkeys(SYSTEMS[2:], list(ours_groups.values()))}
    first_alert: dict[str, float] = {}
    for a in run.alerts:
        first_alert[a.incident] = min(first_alert.get(a.incident, math.inf), a.alert.starts_at)
    systems: dict[str, dict[str, Any]] = {}
    firsts = {}
    for name in SYSTEMS:
        received = receiver.on(f"/{name}")
        scores = pairwise(truth, groups[name])
        firsts[name] = first_notifications(truth, deliveries[name])
        systems[name] = {
            "notifications": len(received),
            "firing_notifications": sum(_firing(r) for r in received),
            "notifications_per_incident": round(len(received) / incidents, 3),
            "incident_recall": round(incident_recall(truth, deliveries[name]), 4),
            "grouping_precision": round(scores.precision, 4),
            "grouping_recall": round(scores.recall, 4),
            "grouping_f1": round(scores.f1, 4),
            "first_notification_median_s": _median([t - first_alert[i] for i, t in firsts[name].items()]),
        }
    both = firsts["foresight"].keys() & firsts["default"].keys()
    rca = _rca(run, replay)
    return {
        "notification_reduction_vs_default": _reduction(systems, "foresight", "default"),
        "notification_reduction_vs_tuned": _reduction(systems, "foresight", "tuned"),
        "notification_reduction_with_resolutions_vs_default":
            _reduction(systems, "foresight_with_resolutions", "default"),
        "notification_reduction_with_resolutions_vs_tuned": _reduction(systems, "foresight_with_resolutions", "tuned"),
        "firing_notification_reduction_vs_default": _reduction(systems, "foresight", "default", "firing_notifications"),
        "firing_notification_reduction_vs_tuned": _reduction(systems, "foresight", "tuned", "firing_notifications"),
        "incident_recall": systems["foresight"]["incident_recall"],
        "incident_recall_counting_later_joins": round(incident_recall(truth, any_time), 4),
        "grouping_f1": systems["foresight"]["grouping_f1"],
        "grouping_precision": systems["foresight"]["grouping_precision"],
        "grouping_recall": systems["foresight"]["grouping_recall"],
        "first_notification_delay_vs_default_s": _median([firsts["foresight"][i] - firsts["default"][i] for i in both]),
        "rca_top1": rca["all"]["top1"],
        "rca_top3": rca["all"]["top3"],
        "rca_by_kind": rca,
        "systems": systems,
        "incidents": incidents,
        "faults": sum(f.kind != "noise" for f in run.faults.values()),
        "noise_incidents": sum(f.kind == "noise" for f in run.faults.values()),
        "alerts": len(run.alerts),
        "foresight_incidents": len(replay.latest),
        "unmatched_notified_alerts": baseline.unmatched,
        "replay_lag_p99_s": _p99(replay.lag_s),
        "engine_ms_per_call": {"p50": _p50ms(replay.engine_s), "p99": round(1000 * _p99(replay.engine_s), 2),
                               "calls": len(replay.engine_s)},
    }


def _rca(run: CascadeRun, replay: _Replay) -> dict[str, dict[str, Any]]:
    """Top-1/top-3 per fault kind: the candidates of the incident holding most of the fault's alerts."""
    keys: dict[str, list[str]] = defaultdict(list)
    for a in run.alerts:
        keys[a.incident].append(a.alert.key)
    ranks: dict[str, list[int | None]] = defaultdict(list)
    for fid, fault in run.faults.items():
        if fault.kind == "noise":
            continue
        held = Counter(replay.home[k] for k in keys[fid] if k in replay.home)
        incident = replay.latest.get(held.most_common(1)[0][0]) if held else None
        root = fault.root_service or fault.root_node or ""
        rank = rca_rank(root, incident.candidates) if incident else None
        ranks[fault.kind].append(rank)
        ranks["all"].append(rank)
    return {kind: {"faults": len(r), "top1": round(sum(x == 1 for x in r) / len(r), 4),
                   "top3": round(sum(x is not None and x <= 3 for x in r) / len(r), 4)}
            for kind, r in sorted(ranks.items())}


class _AlertIndex:
    """Finds the stream's alert behind an alert in a webhook body: same labels, nearest start."""

    def __init__(self, run: CascadeRun, replay: _Replay) -> None:
        self.replay = replay
        self.unmatched = 0  #: alerts in notifications that are not the stream's (none, unless a bug)
        self.by_labels: dict[tuple[tuple[str, str], ...], list[tuple[float, str]]] = defaultdict(list)
        for a in run.alerts:
            self.by_labels[tuple(sorted(a.alert.labels.items()))].append((a.alert.starts_at, a.alert.key))

    def key(self, body: Mapping[str, Any]) -> str | None:
        found = self.by_labels.get(tuple(sorted(body.get("labels", {}).items())))
        if not found:
            self.unmatched += 1
            return None
        start = self.replay.sim(parse_time(body["startsAt"]))
        return min(found, key=lambda s: abs(s[0] - start))[1]

    def deliveries(self, received: Sequence[Received]) -> list[Delivery]:
        out = []
        for r in received:
            alerts = [(self.key(a), a.get("status")) for a in r.body.get("alerts", [])]
            out.append(Delivery(self.replay.sim(r.at), frozenset(k for k, s in alerts if k and s == "firing"),
                                frozenset(k for k, _ in alerts if k)))
        return out


def _incident_delivery(received: Received, replay: _Replay, any_time: bool = False) -> Delivery:
    """A notification of Foresight's: it carries every alert its firing incidents held by then (or, with
    ``any_time``, ever: crediting it with faults that joined its incident only after it was sent)."""
    at = math.inf if any_time else replay.sim(received.at)
    held: set[str] = set()
    for alert in received.body.get("alerts", []):
        if alert.get("status") == "firing":
            since = replay.members.get(alert.get("labels", {}).get("incident", ""), {})
            held.update(key for key, t in since.items() if t <= at)
    return Delivery(replay.sim(received.at), frozenset(held), frozenset(held))


def _firing(received: Received) -> bool:
    return received.body.get("status") == "firing"


def _reduction(systems: Mapping[str, Mapping[str, Any]], ours: str, baseline: str,
               count: str = "notifications") -> float | None:
    """1 - ours / theirs, over every notification or (``firing_notifications``) over those that
    announce something firing (resolutions left out)."""
    theirs = systems[baseline][count]
    return round(1.0 - systems[ours][count] / theirs, 4) if theirs else None


def _p99(values: Sequence[float]) -> float:
    return round(sorted(values)[int(0.99 * (len(values) - 1))], 4) if values else 0.0


def _p50ms(values: Sequence[float]) -> float:
    return round(1000 * statistics.median(values), 2) if values else 0.0


def _median(values: Sequence[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None
