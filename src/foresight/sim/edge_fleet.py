"""A simulated fleet of edge devices: what they publish over MQTT, their outages, and injected anomalies.

Every ``interval_s`` each device measures four values, device metrics and model metrics:

* ``cpu`` - utilisation in [0, 1] around the device's own level;
* ``temp_c`` - SoC temperature, following the load;
* ``infer_ms`` - the edge model's inference latency, multiplicative noise around the device's level;
* ``confidence`` - the model's mean top-1 confidence.

An online device publishes each sample at once (one message per sample, QoS 1). An *outage*
takes a device off the network for a while: it keeps measuring into a local buffer and, when it
comes back, replays the whole backlog in order, in messages of up to ``max_batch`` samples, then
goes on live. A fraction of messages is published twice, as QoS 1 redelivers after a lost
acknowledgement. *Injected anomalies* shift one metric of one device by ``shift_sd`` of its noise
for ``anomaly_samples`` samples; some fall inside an outage, so they reach the consumer only with
the replay. Outages and anomalies are the ground truth a benchmark scores against.

Seeded and vectorised over devices; it decides what to publish and never touches a network.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from foresight.edge.schema import Sample, encode, topic

__all__ = ["METRICS", "EdgeFleet", "Injected", "Outage", "Publication"]

METRICS = ("cpu", "temp_c", "infer_ms", "confidence")


@dataclass(frozen=True)
class Outage:
    """Device ``device`` is offline for ticks ``[start, end)``; it replays them at tick ``end``."""

    device: int
    start: int
    end: int


@dataclass(frozen=True)
class Injected:
    """Metric ``metric`` of device ``device`` shifted by ``shift`` (its own units) on ticks ``[start, end)``."""

    device: int
    metric: str
    start: int
    end: int
    shift: float


@dataclass(frozen=True)
class Publication:
    """One message to publish: its topic, bytes, and which device's sequence numbers it carries."""

    topic: str
    payload: bytes
    device: int
    seqs: tuple[int, ...]


class EdgeFleet:
    """``devices`` devices of fleet ``fleet``, sampling every ``interval_s`` from Unix time ``t0``.

    >>> fleet = EdgeFleet(devices=3, ticks=10, seed=0, outage_fraction=0.0, anomaly_fraction=0.0)
    >>> [p.topic for p in fleet.tick(0)]
    ['foresight/edge/sim/dev-00000/metrics', 'foresight/edge/sim/dev-00001/metrics', 'foresight/edge/sim/dev-00002/metrics']
    """

    def __init__(
        self,
        devices: int = 1000,
        ticks: int = 130,
        *,
        fleet: str = "sim",
        interval_s: float = 10.0,
        t0: float = 0.0,
        seed: int = 0,
        outage_fraction: float = 0.2,
        outage_ticks: int = 60,
        outage_start: int = 40,
        anomaly_fraction: float = 0.1,
        anomaly_samples: int = 6,
        shift_sd: float = 8.0,
        warmup_ticks: int = 40,
        duplicate_fraction: float = 0.01,
        max_batch: int = 100,
    ) -> None:
        if devices < 1 or ticks < 1 or interval_s <= 0 or max_batch < 1:
            raise ValueError("need devices >= 1, ticks >= 1, interval_s > 0 and max_batch >= 1")
        self.devices, self.ticks, self.fleet, self.interval_s, self.t0 = devices, ticks, fleet, interval_s, t0
        self.max_batch, self.duplicate_fraction = max_batch, duplicate_fraction
        self.names = [f"dev-{i:05d}" for i in range(devices)]
        rng = np.random.default_rng(seed)
        self._rng = np.random.default_rng(seed + 1)
        self._level = np.column_stack([
            rng.uniform(0.2, 0.6, devices), np.zeros(devices), rng.uniform(8.0, 30.0, devices), rng.uniform(0.85, 0.95, devices)
        ])
        self._noise = np.column_stack([
            np.full(devices, 0.03), np.full(devices, 0.4), self._level[:, 2] * 0.05, np.full(devices, 0.01)
        ])
        self.outages = self._outages(rng, outage_fraction, outage_start, outage_ticks)
        self.anomalies = self._anomalies(rng, anomaly_fraction, anomaly_samples, shift_sd, warmup_ticks)
        self._offline = np.zeros((devices,), dtype=np.int64) - 1  # outage end tick while offline, else -1
        self._backlog: dict[int, list[Sample]] = {}

    def time(self, k: int) -> float:
        """The Unix time of tick ``k``."""
        return self.t0 + k * self.interval_s

    def tick(self, k: int) -> list[Publication]:
        """What the fleet publishes at tick ``k`` (call for k = 0, 1, ... in order)."""
        values = self._measure(k)
        starting = {o.device: o.end for o in self.outages if o.start == k}
        ending = {o.device for o in self.outages if o.end == k}
        out: list[Publication] = []
        for d in range(self.devices):
            if d in starting:
                self._offline[d] = starting[d]
            sample = Sample(0, k, self.time(k), dict(zip(METRICS, values[d].tolist(), strict=True)))
            if d in ending:
                self._offline[d] = -1
                backlog = self._backlog.pop(d, [])
                for i in range(0, len(backlog), self.max_batch):
                    out.append(self._publication(d, backlog[i:i + self.max_batch]))
            if self._offline[d] >= 0:
                self._backlog.setdefault(d, []).append(sample)
                continue
            out.append(self._publication(d, [sample]))
        repeat = self._rng.random(len(out)) < self.duplicate_fraction
        return out + [p for p, again in zip(out, repeat.tolist(), strict=True) if again]

    def pending(self) -> int:
        """Samples still buffered on offline devices (an outage that runs past the last tick)."""
        return sum(len(b) for b in self._backlog.values())

    def _publication(self, d: int, samples: list[Sample]) -> Publication:
        name = self.names[d]
        return Publication(topic(self.fleet, name), encode(name, samples), d, tuple(s.seq for s in samples))

    def _measure(self, k: int) -> np.ndarray:
        noise = self._rng.standard_normal((self.devices, len(METRICS)))
        x = self._level + noise * self._noise
        x[:, 0] = np.clip(x[:, 0], 0.0, 1.0)
        x[:, 1] = 35.0 + 30.0 * x[:, 0] + noise[:, 1] * self._noise[:, 1]
        x[:, 2] = self._level[:, 2] * np.exp(noise[:, 2] * 0.05)
        for a in self.anomalies:
            if a.start <= k < a.end:
                x[a.device, METRICS.index(a.metric)] += a.shift
        return x

    def _outages(self, rng: np.random.Generator, fraction: float, start: int, length: int) -> list[Outage]:
        count = int(round(fraction * self.devices))
        chosen = rng.choice(self.devices, size=count, replace=False)
        begins = start + rng.integers(0, 10, size=count)
        return [Outage(int(d), int(b), int(b) + length) for d, b in zip(chosen, begins, strict=True)
                if b + length < self.ticks]

    def _anomalies(self, rng: np.random.Generator, fraction: float, samples: int, shift_sd: float,
                   warmup: int) -> list[Injected]:
        """Anomalies on a random metric (down for ``confidence``, up otherwise); every other one on a
        device with an outage, inside the outage, so that only the replay can reveal it."""
        count = int(round(fraction * self.devices))
        latest = self.ticks - samples - 5
        if count == 0 or latest <= warmup:
            return []
        offline = [o for o in self.outages if o.end - max(o.start + 2, warmup) > samples + 1]
        sd = np.column_stack([self._noise[:, 0], np.full(self.devices, np.hypot(30 * 0.03, 0.4)),
                              0.05 * self._level[:, 2], self._noise[:, 3]])
        found = []
        for i, d in enumerate(rng.choice(self.devices, size=count, replace=False).tolist()):
            if i % 2 == 0 and i // 2 < len(offline):
                o = offline[i // 2]
                d, begin = o.device, int(rng.integers(max(o.start + 2, warmup), o.end - samples))
            else:
                begin = int(rng.integers(warmup, latest))
            m = int(rng.integers(len(METRICS)))
            sign = -1.0 if METRICS[m] == "confidence" else 1.0
            found.append(Injected(d, METRICS[m], begin, begin + samples, sign * shift_sd * float(sd[d, m])))
        return found
