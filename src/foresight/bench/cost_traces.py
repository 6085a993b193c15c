"""The data ``foresight bench cost`` runs on, read at run time from ``../shared/data`` (never copied).

* **Cold starts**: the base-model and LoRA load latencies of Alibaba's GenAI serving trace
  (``basemodel_update_latency_anon``, ``lora_update_latency_anon``; milliseconds).
* **GenAI QPS shapes**: the per-container "Generative Requests" QPS samples of the same trace
  (57 s steps; a missing step is a step without requests), one model workload per container.
* **The project's request traces** (NASA-HTTP, WorldCup98, Crane DSP): per-minute rates, scaled to
  a long-tail model's traffic (``mean_rpm`` requests a minute on average), keeping their shape.
* **Spot pool**: the GPU types of Alibaba's spot-GPU node inventory (the only file of that trace).

Requests are drawn as a Poisson process from each rate series (seeded), uniformly within a step.
"""

from __future__ import annotations

import csv
import io
import tarfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from foresight.errors import InputError
from foresight.sim.coldstart import LoadTimeSamples
from foresight.sim.trace import read_trace

__all__ = ["RateSeries", "arrivals", "genai_load_times", "genai_workloads", "request_trace", "spot_pool"]

GENAI = Path("gpu-traces") / "alibaba-genai-serving-2026"
SPOT = Path("gpu-traces") / "alibaba-spot-gpu-2026" / "node_info_df.csv"
QPS_STEP_S = 57.0


@dataclass(frozen=True)
class RateSeries:
    """A workload's request rate (req/s) on a regular grid starting at 0."""

    name: str
    step_s: float
    rps: np.ndarray

    @property
    def span_s(self) -> float:
        return self.step_s * self.rps.size


def _csv_in_tar(path: Path) -> list[list[str]]:
    if not path.is_file():
        raise InputError(f"bench cost: {path} is missing (the GenAI serving trace under ../shared/data)")
    with tarfile.open(path) as archive:
        member = next(m for m in archive.getmembers() if m.isfile())
        handle = archive.extractfile(member)
        assert handle is not None
        rows = list(csv.reader(io.TextIOWrapper(handle)))
    return rows[1:]


def genai_load_times(data: Path, image_pull_s: float) -> tuple[LoadTimeSamples, float]:
    """Base-model + LoRA load-time samples (seconds) and the median total with ``image_pull_s``."""
    base = np.array([float(r[1]) for r in _csv_in_tar(data / GENAI / "basemodel_update_latency_anon.tar.gz")]) / 1e3
    lora = np.array([float(r[1]) for r in _csv_in_tar(data / GENAI / "lora_update_latency_anon.tar.gz")]) / 1e3
    return LoadTimeSamples(base, lora), float(np.median(base) + np.median(lora) + image_pull_s)


def genai_workloads(data: Path, min_steps: int) -> list[RateSeries]:
    """One series per container with at least ``min_steps`` non-empty steps, in container-hash order."""
    samples: dict[str, list[tuple[float, float]]] = defaultdict(list)
    first = np.inf
    for stamp, value, container, kind in _csv_in_tar(data / GENAI / "qps.tar.gz"):
        first = min(first, float(stamp))
        if container and kind == "Generative Requests":
            samples[container].append((float(stamp), float(value)))
    series = []
    for container in sorted(samples):
        points = np.array(samples[container])
        if len(points) < min_steps:
            continue
        index = np.round((points[:, 0] - first) / QPS_STEP_S).astype(int)
        rps = np.zeros(index.max() + 1)
        np.add.at(rps, index, points[:, 1])
        series.append(RateSeries(f"genai/{container[:8]}", QPS_STEP_S, rps))
    return series


def request_trace(data: Path, relative: str, mean_rpm: float, days: float) -> RateSeries:
    """The first ``days`` of a per-minute trace, scaled so its mean is ``mean_rpm`` requests a minute."""
    times, values = read_trace(data / "traces" / relative)
    step = float(np.median(np.diff(times)))
    keep = int(days * 86400 / step)
    if keep > values.size:
        raise InputError(f"bench cost: {relative} holds {values.size * step / 86400:.1f} days, {days} asked for")
    rate = np.clip(np.nan_to_num(values[:keep]), 0.0, None)
    if rate.mean() <= 0:
        raise InputError(f"bench cost: {relative} has no traffic in its first {days} days")
    return RateSeries(relative.rsplit(".", 1)[0], step, rate * (mean_rpm / 60.0) / rate.mean())


def arrivals(series: RateSeries, seed: int) -> np.ndarray:
    """Request times (seconds from the series' start): Poisson counts per step, uniform within it."""
    rng = np.random.default_rng(seed)
    counts = rng.poisson(series.rps * series.step_s)
    starts = np.repeat(np.arange(series.rps.size) * series.step_s, counts)
    return np.sort(starts + rng.uniform(0.0, series.step_s, starts.size))


def spot_pool(data: Path) -> dict[str, int]:
    """GPUs per GPU type in the spot-GPU node inventory, most first."""
    path = data / SPOT
    if not path.is_file():
        raise InputError(f"bench cost: {path} is missing (the spot-GPU trace under ../shared/data)")
    with path.open(newline="") as handle:
        gpus: Counter[str] = Counter()
        for row in csv.DictReader(handle):
            gpus[row["gpu_model"]] += int(row["gpu_capacity_num"])
    return dict(gpus.most_common())
