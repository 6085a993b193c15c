"""The fleet monitor: MQTT messages in, per-device anomaly scores and alarms out, and the fleet view.

Each :meth:`FleetMonitor.step` takes the messages that arrived since the last one and

1. **admits** them: a device over its message budget is dropped (:mod:`~foresight.edge.limit`),
   a malformed message is dropped with its reason (:func:`~foresight.edge.schema.decode`); both
   are counted, neither raises;
2. **orders** each device's samples by sequence (:mod:`~foresight.edge.order`): duplicates from
   QoS 1 redelivery are dropped, out-of-order ones wait for the gap before them, a backlog
   replayed after an outage is released in the order it was measured;
3. **scores** every released value with one streaming detector state over all (device, metric)
   series, in rounds of one sample per series, at the samples' own timestamps: a replayed
   backlog is scored exactly as if it had arrived live, so the outage itself cannot look like an
   anomaly, and an anomaly that happened while the device was offline is found when it comes back;
4. **decides** alarms per series with the live watch's hysteresis
   (:func:`foresight.detect.alerts.advance`).

Device ids are unique across fleets (a device heard in one fleet and then in another has its
messages from the second refused as ``fleet_mismatch``). A device is *online* while its last accepted message is at most ``offline_after_s`` old.
Nothing here reads a clock: ``now`` and each message's arrival time are given.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from foresight.detect.alerts import AlertRule, AlertState, advance
from foresight.detect.ewma import EwmaState, EwmaZScore
from foresight.detect.protocol import ArrayState, Detector
from foresight.edge.limit import TokenBuckets
from foresight.edge.order import SequenceOrder
from foresight.edge.schema import Rejected, Sample, decode, parse_topic

__all__ = ["Alarm", "EdgeConfig", "FleetMonitor", "Message", "StepResult"]

S = TypeVar("S", bound=ArrayState)


class EdgeConfig(BaseModel):
    """How the fleet monitor orders, limits and alarms.

    The default detector (a two-sided EWMA z-score, ``alpha`` 0.05, firing at a score of 0.995)
    was chosen on seed 0 of the simulated fleet (:mod:`foresight.sim.edge_fleet`): a short
    memory, because edge devices are restarted and re-flashed often and a baseline must be
    usable after the 30-sample warm-up.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    alpha: float = Field(default=0.05, gt=0, le=1, description="Smoothing of the default two-sided EWMA detector.")
    rule: AlertRule = Field(
        default=AlertRule(alertname="ForesightEdgeAnomaly", fire_threshold=0.995, resolve_threshold=0.5,
                          critical_threshold=0.999, warmup_samples=30),
        description="How scores open and resolve a series' alarm (fire at 0.995: |z| >= 5.3 for the EWMA).",
    )
    reorder_wait_s: float = Field(default=30.0, gt=0, description="How long samples wait for a gap before it.")
    max_pending: int = Field(default=10_000, ge=1, description="Samples a device may have waiting for a gap.")
    offline_after_s: float = Field(default=60.0, gt=0, description="Silence after which a device is offline.")
    max_future_s: float = Field(default=300.0, ge=0, description="Clock skew tolerated on sample timestamps.")
    rate_per_s: float = Field(default=20.0, gt=0, description="Messages a second a device may send on average.")
    burst: int = Field(default=200, ge=1, description="Messages a device may send at once (a backlog replay).")


@dataclass(frozen=True, slots=True)
class Message:
    """One MQTT message as it arrived: its topic, its bytes and the consumer's time of arrival."""

    topic: str
    payload: bytes
    arrived: float


@dataclass(frozen=True, slots=True)
class Alarm:
    """A series' alarm opening (``firing``) or resolving, at ``t``: the sample time that decided it."""

    fleet: str
    device: str
    metric: str
    firing: bool
    t: float
    starts_at: float
    score: float
    value: float
    decided_at: float


@dataclass(frozen=True)
class StepResult:
    """What one step did: the samples scored (device, boot, seq), alarms, drops by reason."""

    scored: list[tuple[str, int, int]]
    alarms: list[Alarm]
    dropped: dict[str, int]
    skipped: int


@dataclass
class _Device:
    fleet: str
    order: SequenceOrder = field(default_factory=SequenceOrder)
    last_arrival: float = -math.inf
    last_t: float = -math.inf
    rejected: int = 0


class FleetMonitor:
    """Per-device anomaly detection over a fleet's MQTT metrics (see the module docstring).

    ``detector``: any streaming detector (default: the config's two-sided EWMA).

    >>> from foresight.detect.ewma import EwmaZScore
    >>> from foresight.edge.schema import encode, topic
    >>> monitor = FleetMonitor(EdgeConfig(), EwmaZScore(alpha=0.3, two_sided=True))
    >>> m = Message(topic("f", "d1"), encode("d1", [Sample(0, 0, 0.0, {"cpu": 0.5})]), arrived=1.0)
    >>> result = monitor.step([m, m, Message("x/y", b"", 1.0)], now=1.0)
    >>> result.scored, result.dropped
    ([('d1', 0, 0)], {'stale': 1, 'bad_topic': 1})
    >>> monitor.view(now=2.0)["fleets"]["f"]["online"]
    1
    """

    def __init__(self, config: EdgeConfig, detector: Detector[Any] | None = None) -> None:
        self.config = config
        self.detector: Detector[Any] = detector or EwmaZScore(alpha=config.alpha, two_sided=True)
        self.devices: dict[str, _Device] = {}
        self.buckets = TokenBuckets(config.rate_per_s, config.burst)
        self.dropped: dict[str, int] = {}
        self.scored = 0
        self.alarms_fired = 0
        self._busy: set[str] = set()  # devices with samples to release
        self._rows: dict[tuple[str, str], int] = {}
        self._series: list[tuple[str, str]] = []
        self._state: ArrayState = self.detector.init(0)
        self._alerts = AlertState.init(0)

    # -- 1, 2. admit and order ---------------------------------------------------------------------

    def step(self, messages: Iterable[Message], now: float) -> StepResult:
        """Admit, order, score and decide (see the module docstring)."""
        dropped: dict[str, int] = {}
        for message in messages:
            drop = self._admit(message)
            if drop is not None:
                dropped[drop[0]] = dropped.get(drop[0], 0) + drop[1]
        released: list[tuple[str, Sample]] = []
        skipped = 0
        busy, self._busy = self._busy, set()
        for name in sorted(busy):
            device = self.devices[name]
            ready, lost = device.order.release(now, self.config.reorder_wait_s, self.config.max_pending)
            skipped += lost
            released.extend((name, sample) for sample in ready)
            if ready:
                device.last_t = max(device.last_t, ready[-1].t)
            if not device.order.idle:
                self._busy.add(name)  # samples wait for a gap: look again next step
        for reason, count in dropped.items():
            self.dropped[reason] = self.dropped.get(reason, 0) + count
        alarms = self._score(released, now)
        self.scored += len(released)
        return StepResult([(d, s.boot, s.seq) for d, s in released], alarms, dropped, skipped)

    def _admit(self, message: Message) -> tuple[str, int] | None:
        """What was dropped of ``message`` and how much, or None when all its samples wait in order.

        A refused message counts 1 under its reason; ``stale`` counts samples (duplicates and
        samples behind a gap given up on), since a replayed message may be partly new.
        """
        where = parse_topic(message.topic)
        if isinstance(where, Rejected):
            return where.reason, 1
        if not self.buckets.allow(where[1], message.arrived):
            return "rate_limited", 1
        decoded = decode(message.topic, message.payload, message.arrived, self.config.max_future_s)
        if isinstance(decoded, Rejected):
            device = self.devices.get(where[1])
            if device is not None:
                device.rejected += 1
            return decoded.reason, 1
        device = self.devices.setdefault(decoded.device, _Device(decoded.fleet))
        if device.fleet != decoded.fleet:  # device ids are unique across fleets: a second one would share a baseline
            device.rejected += 1
            return "fleet_mismatch", 1
        device.last_arrival = max(device.last_arrival, message.arrived)
        stale = sum(device.order.push(sample, message.arrived).stale for sample in decoded.samples)
        if stale < len(decoded.samples) or not device.order.idle:
            self._busy.add(decoded.device)
        return ("stale", stale) if stale else None

    # -- 3, 4. score and decide --------------------------------------------------------------------

    def _score(self, released: list[tuple[str, Sample]], now: float) -> list[Alarm]:
        """Score the released samples in rounds (the k-th sample of every series in round k)."""
        rows: list[int] = []
        ranks: list[int] = []
        times: list[float] = []
        values: list[float] = []
        rank_of: dict[str, int] = {}
        new: list[tuple[str, str]] = []
        for device, sample in released:
            rank = rank_of.get(device, 0)
            rank_of[device] = rank + 1
            for metric, value in sample.values.items():
                row = self._rows.get((device, metric))
                if row is None:
                    row = self._rows[(device, metric)] = len(self._series) + len(new)
                    new.append((device, metric))
                rows.append(row)
                ranks.append(rank)
                times.append(sample.t)
                values.append(value)
        self._grow(new)
        if not rows:
            return []
        row_a, rank_a = np.array(rows), np.array(ranks)
        t_a, x_a = np.array(times), np.array(values)
        alarms: list[Alarm] = []
        n = len(self._series)
        for r in range(int(rank_a.max()) + 1):
            pick = rank_a == r
            x, t = np.full(n, np.nan), np.full(n, now)
            x[row_a[pick]], t[row_a[pick]] = x_a[pick], t_a[pick]
            alarms.extend(self._round(x, t, now))
        return alarms

    def _round(self, x: np.ndarray, t: np.ndarray, now: float) -> list[Alarm]:
        valid = np.isfinite(x)
        n = x.size
        low, high = np.full(n, np.nan), np.full(n, np.nan)
        if isinstance(self._state, EwmaState):
            sd = np.sqrt(self._state.var)
            low = np.where(self._state.seen, self._state.mean - 3.0 * sd, np.nan)
            high = np.where(self._state.seen, self._state.mean + 3.0 * sd, np.nan)
        scores = self.detector.update(self._state, x, t)
        changed = advance(self.config.rule, self._alerts, valid, scores, x, t, low, high)
        self.alarms_fired += int(changed.fired.size)
        a = self._alerts
        out = []
        for row, firing in [*((r, True) for r in changed.fired.tolist()), *((r, False) for r in changed.resolved.tolist())]:
            device, metric = self._series[row]
            out.append(Alarm(self.devices[device].fleet, device, metric, firing, float(t[row]), float(a.starts_at[row]),
                             float(a.score[row]), float(a.value[row]), now))
        return out

    def _grow(self, new: list[tuple[str, str]]) -> None:
        if not new:
            return
        self._series.extend(new)
        self._state = _concat(self._state, self.detector.init(len(new)))
        self._alerts = _concat(self._alerts, AlertState.init(len(new)))

    # -- the fleet view ----------------------------------------------------------------------------

    def firing(self) -> list[tuple[str, str]]:
        """The (device, metric) series whose alarm is open."""
        return [self._series[row] for row in np.flatnonzero(self._alerts.firing).tolist()]

    def view(self, now: float, limit: int = 50, fleet: str | None = None) -> dict[str, Any]:
        """Fleets (devices online/offline, anomalous), the devices that need a look, and the drops.

        ``devices`` lists at most ``limit`` devices (of ``fleet`` only, if given): those with an
        open alarm first, then offline ones, then those whose samples wait for a gap, were rate
        limited or rejected.
        """
        firing = self._firing_by_device()
        fleets: dict[str, dict[str, int]] = {}
        rows = []
        for name, d in self.devices.items():
            online = now - d.last_arrival <= self.config.offline_after_s
            f = fleets.setdefault(d.fleet, {"devices": 0, "online": 0, "offline": 0, "anomalous": 0, "firing": 0})
            f["devices"] += 1
            f["online" if online else "offline"] += 1
            f["anomalous"] += name in firing
            f["firing"] += len(firing.get(name, []))
            needs_look = name in firing or not online or d.order.waiting or self.buckets.dropped.get(name) or d.rejected
            if needs_look and (fleet is None or d.fleet == fleet):
                rows.append(self._row(name, now, firing))
        rows.sort(key=lambda r: (not r["firing"], r["online"], r["device"]))
        return {
            "time": now,
            "fleets": dict(sorted(fleets.items())),
            "devices": rows[:limit],
            "dropped": dict(sorted(self.dropped.items())),
            "samples_scored": self.scored,
            "alarms_fired": self.alarms_fired,
            "series": len(self._series),
        }

    def device(self, name: str, now: float) -> dict[str, Any] | None:
        """One device's row of the view (None for a device never heard from)."""
        return self._row(name, now, self._firing_by_device()) if name in self.devices else None

    def _firing_by_device(self) -> dict[str, list[str]]:
        firing: dict[str, list[str]] = {}
        for device, metric in self.firing():
            firing.setdefault(device, []).append(metric)
        return firing

    def _row(self, name: str, now: float, firing: dict[str, list[str]]) -> dict[str, Any]:
        d = self.devices[name]
        return {
            "device": name, "fleet": d.fleet, "online": now - d.last_arrival <= self.config.offline_after_s,
            "firing": sorted(firing.get(name, [])), "last_seen_s": round(now - d.last_arrival, 3),
            "lag_s": round(now - d.last_t, 3) if math.isfinite(d.last_t) else None, "samples": d.order.released, "stale": d.order.stale,
            "skipped": d.order.skipped, "waiting": d.order.waiting, "rate_limited": self.buckets.dropped.get(name, 0),
            "rejected": d.rejected,
        }


def _concat(a: S, b: S) -> S:
    """Series of ``a`` then those of ``b``, in every (nested) array of a state."""
    return type(a)(**{
        f.name: (_concat(x, y) if isinstance(x, ArrayState) else np.concatenate([x, y]))
        for f in dataclasses.fields(a)
        for x, y in [(getattr(a, f.name), getattr(b, f.name))]
    })
