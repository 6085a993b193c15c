"""``foresight bench scale``: sharded scoring on NATS JetStream against the single process, and a worker killed.

Data: ``series`` synthetic series (a noisy daily cycle, 5-minute steps) over ``steps`` steps, with
spikes and level shifts injected at random (seeded) so that alerts fire. Every phase uses its own
stream (deleted afterwards) and separate ``foresight worker`` OS processes.

1. **Single process**: the same detector over all series in one state, timed in this process
   (``single_process_samples_per_s``): the reference scores, and the speed the broker is judged by.
   It is timed three times (before, between and after the throughput phases; the median is used),
   so that it meets the same machine load as the workers.
2. **Throughput**: the whole data set is published first (``steps_per_message`` scrapes of every
   series a message), then 1 and then 2 workers score it; they are given a join grace long enough
   for all to start, so each claims its share and nothing is handed over during the measurement
   (``handed_over_partitions`` says if something was). A worker's throughput is its samples over
   its busy time (first to last score it published), ``throughput_k_workers`` all samples over the
   span from the first score to the last. ``broker_overhead`` = 1 - one worker's throughput / the
   single process's; ``broker_overhead_cpu`` the same in CPU seconds (the worker processes' from
   just before their first claim, idle polling and checkpoints included, against the detector
   loop's), which other work on the machine moves far less. ``cpu_k_workers`` says where the CPU
   went: microseconds per sample of the workers, of this process (reading the results) and of the
   broker (the local nats-server serving the URL's port), and the cores busy with other users'
   work. On this machine (2 cores shared with other work) 2 workers also compete with this process
   and the broker, so the report adds a projection: k workers on k free cores would do about k x
   one worker's rate.
3. **Kill**: 2 workers serve the data published at a steady ``rate``; a third of the way through
   one is killed with SIGKILL. ``latency_*`` is sample to score (publish to the score's
   publication) before the kill; ``recovery_s`` the time from the kill until every partition the
   dead worker held has a score published by its successor; ``lost_samples`` the samples never
   scored; ``duplicate_alerts`` alert keys that appear twice on the results stream.

``scores_identical_to_single_process``: every score of every phase equals the single process's
score of that sample, bit for bit.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from foresight.adapters.jetstream import JetStreamBus, PartitionReader, StreamNames
from foresight.detect import make_detector
from foresight.scaleout import Backpressure
from foresight.scaleout.codec import SampleBatch, ScoreBatch, decode_alerts, decode_scores, series_table
from foresight.scaleout.partition import assign, partition_of
from foresight.scaleout.scorer import alert_key

__all__ = ["Dataset", "WorkerPool", "bench_scale", "fault_run", "kill_worker", "make_dataset"]

DETECTOR = "surprise"
THRESHOLD = 0.8
_JOIN_GRACE_S = 15.0  # workers started together see each other before they claim


@dataclass(frozen=True)
class Dataset:
    """``x[i, k]`` is series ``ids[i]`` at ``t[k]``; ``reference[i, k]`` its single-process score."""

    ids: tuple[str, ...]
    t: np.ndarray
    x: np.ndarray
    reference: np.ndarray
    single_process_s: float
    single_process_cpu_s: float

    @property
    def samples(self) -> int:
        return int(self.x.size)

    def expected_alerts(self) -> set[str]:
        rows, steps = np.nonzero(self.reference >= THRESHOLD)
        return {alert_key(self.ids[i], float(self.t[k])) for i, k in zip(rows.tolist(), steps.tolist())}


def make_dataset(series: int, steps: int, seed: int = 0) -> Dataset:
    """Synthetic series with injected anomalies, and their single-process scores (timed)."""
    rng = np.random.default_rng(seed)
    t = 1.7e9 + 300.0 * np.arange(steps)
    phase = rng.uniform(0, 2 * np.pi, (series, 1))
    x = 50.0 + 20.0 * np.sin(2 * np.pi * t[None, :] / 86400.0 + phase) + rng.normal(0, 3.0, (series, steps))
    spikes = rng.random((series, steps)) < 0.002
    x[spikes] += rng.choice([-1.0, 1.0], spikes.sum()) * rng.uniform(40, 120, spikes.sum())
    shifted = rng.random(series) < 0.05
    starts = rng.integers(steps // 3, steps, series)
    for i in np.flatnonzero(shifted).tolist():
        x[i, starts[i]:] += 60.0
    reference, elapsed, cpu = single_process(x, t)
    ids = tuple(f'__name__="bench",series="{i}"' for i in range(series))
    return Dataset(ids, t, x, reference, elapsed, cpu)


def single_process(x: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, float, float]:
    """The detector over every series in one state, a step at a time: scores, wall and CPU seconds."""
    detector = make_detector(DETECTOR)
    state = detector.init(x.shape[0])
    scores = np.empty_like(x)
    columns = [np.ascontiguousarray(x[:, k]) for k in range(t.size)]
    start, cpu = time.perf_counter(), time.process_time()
    for k in range(t.size):
        scores[:, k] = detector.update(state, columns[k], np.full(x.shape[0], t[k]))
    return scores, time.perf_counter() - start, time.process_time() - cpu


def step_batches(data: Dataset, partitions: int, steps: Sequence[int], ingested_at: float) -> dict[int, SampleBatch]:
    """Steps ``steps`` of every series, one batch per partition (step by step, series in a fixed order)."""
    k = len(steps)
    return {p: SampleBatch(table, np.tile(np.arange(rows.size, dtype=np.int32), k), np.repeat(data.t[steps], rows.size),
                           np.ascontiguousarray(data.x[rows][:, steps].T).ravel(), ingested_at)
            for p, (rows, table) in _partition_rows(data.ids, partitions).items()}


_ROWS_CACHE: dict[tuple[int, int], dict[int, tuple[np.ndarray, bytes]]] = {}


def _partition_rows(ids: Sequence[str], partitions: int) -> dict[int, tuple[np.ndarray, bytes]]:
    """Each partition's rows of the data set and its series table (as a sender keeps it between scrapes)."""
    key = (len(ids), partitions)
    if key not in _ROWS_CACHE:
        of = np.array([partition_of(sid, partitions) for sid in ids])
        _ROWS_CACHE[key] = {p: (rows, series_table([ids[i] for i in rows.tolist()]))
                            for p in range(partitions) if (rows := np.flatnonzero(of == p)).size}
    return _ROWS_CACHE[key]


class WorkerPool:
    """``foresight worker`` OS processes on one stream, each from a YAML config of its own."""

    def __init__(self, url: str, names: StreamNames, partitions: int, workdir: Path, *, lease_ttl_s: float = 3.0,
                 checkpoint_every_s: float = 5.0) -> None:
        self.url, self.names, self.partitions, self.workdir = url, names, partitions, workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.config = workdir / "scaleout.yaml"
        self.config.write_text(yaml.safe_dump({"scaleout": {
            "nats_url": url, "stream": names.stream, "subject_prefix": names.prefix, "partitions": partitions,
            "detector": DETECTOR, "alert_threshold": THRESHOLD, "lease_ttl_s": lease_ttl_s,
            "checkpoint_every_s": checkpoint_every_s}}))
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, worker_id: str, join_grace_s: float) -> None:
        log = open(self.workdir / f"{worker_id}.log", "wb")  # noqa: SIM115 (the process keeps it)
        self.procs[worker_id] = subprocess.Popen(
            [sys.executable, "-c", "from foresight.cli import main; main()", "worker", "--config", str(self.config),
             "--id", worker_id, "--join-grace", str(join_grace_s)],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def kill(self, worker_id: str) -> None:
        self.procs[worker_id].send_signal(signal.SIGKILL)
        self.procs[worker_id].wait()

    def cpu_s(self) -> dict[str, float]:
        """CPU seconds (user + system) each live worker has used so far (Linux: /proc)."""
        return {worker_id: used for worker_id, proc in self.procs.items() if (used := _cpu_s(proc.pid)) is not None}

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def log(self, worker_id: str) -> str:
        return (self.workdir / f"{worker_id}.log").read_text(errors="replace")


class Results:
    """What the results stream said about ``data``: how often each sample was scored and its last score,
    the alert keys, and per-batch timings. A score message names the sample message it scores (partition
    and sequence), which the publisher recorded here; batches are taken in whole arrays, so that the
    bench's own reading stays a small share of the machine the workers run on."""

    def __init__(self, data: Dataset, partitions: int) -> None:
        self.data, self.partitions = data, partitions
        self.times = np.zeros(data.x.shape, dtype=np.int32)
        self.scores = np.full(data.x.shape, np.nan)
        self.published: dict[tuple[int, int], list[int]] = {}  # (partition, seq) -> the steps it carries
        self.score_batches: Counter[tuple[int, int]] = Counter()
        self.alerts: Counter[str] = Counter()
        self.batches: list[tuple[int, int, str, int, float, float]] = []  # p, seq, worker, n, in, done
        self._early: dict[tuple[int, int], list[ScoreBatch]] = {}

    @property
    def scored(self) -> int:
        """Distinct samples scored at least once."""
        return int(np.count_nonzero(self.times))

    def record(self, partition: int, seq: int, steps: list[int]) -> None:
        """The publisher's note: sample message ``seq`` of ``partition`` carries ``steps``."""
        self.published[(partition, seq)] = steps
        for b in self._early.pop((partition, seq), []):
            self._place(b)

    def add_scores(self, data: bytes) -> int:
        """Take a score message in; return its samples."""
        b = decode_scores(data)
        self.score_batches[(b.partition, b.seq)] += 1
        self.batches.append((b.partition, b.seq, b.worker, len(b), b.ingested_at, b.scored_at))
        if (b.partition, b.seq) in self.published:
            self._place(b)
        else:  # scored before the publisher heard the stream's acknowledgement
            self._early.setdefault((b.partition, b.seq), []).append(b)
        return len(b)

    def _place(self, b: ScoreBatch) -> None:
        steps = self.published[(b.partition, b.seq)]
        rows = _partition_rows(self.data.ids, self.partitions)[b.partition][0]
        at = (np.tile(rows, len(steps)), np.repeat(steps, rows.size))  # the batch's order: step by step
        if at[0].size != len(b):
            raise RuntimeError(f"scores of partition {b.partition} sequence {b.seq}: {len(b)}, not {at[0].size}")
        self.times[at] += 1  # a batch names each sample once
        self.scores[at] = b.scores

    def add_alerts(self, data: bytes) -> None:
        for alert in decode_alerts(data):
            self.alerts[alert.key] += 1

    def identical_to_single_process(self) -> bool:
        """Every sample scored, each score equal to the single process's bit for bit."""
        return bool((self.times > 0).all() and np.array_equal(self.scores, self.data.reference))


async def _collect(results: Results, readers: tuple[PartitionReader, PartitionReader], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    scores_reader, alerts_reader = readers
    expected, counted = results.data.samples, 0
    while time.monotonic() < deadline:
        for message in await scores_reader.fetch(256, timeout_s=0.1):
            counted += results.add_scores(message.data)
        if counted >= expected and results.scored >= expected:  # (counted includes replays: a bound only)
            break
    while True:  # every alert published so far
        more = await alerts_reader.fetch(100_000, timeout_s=0.5)
        if not more:
            break
        for message in more:
            results.add_alerts(message.data)


def _readers(bus: JetStreamBus) -> tuple[PartitionReader, PartitionReader]:
    return (bus.reader(bus.names.results, bus.names.scores("*"), 0),
            bus.reader(bus.names.results, bus.names.alerts("*"), 0))


async def _publish(bus: JetStreamBus, results: Results, steps_per_message: int, rate: float | None) -> None:
    """Publish the data set, ``steps_per_message`` steps a message: at ``rate`` samples/s one delivery
    at a time, as a sender would; without a rate, everything in flight at once (a stream filled as fast
    as the broker takes it). Each message's sequence is recorded in ``results``."""
    data, partitions = results.data, results.partitions
    groups = [list(range(first, min(first + steps_per_message, len(data.t))))
              for first in range(0, len(data.t), steps_per_message)]
    if rate is None:
        items = [(p, batch, steps) for steps in groups
                 for p, batch in sorted(step_batches(data, partitions, steps, time.time()).items())]
        seqs = await bus.publish_in_order([(p, batch) for p, batch, _ in items])
        for (p, _, steps), seq in zip(items, seqs):
            results.record(p, seq, steps)
        return
    start = time.monotonic()
    for steps in groups:
        delay = start + steps[0] * len(data.ids) / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        while True:
            try:
                batches = step_batches(data, partitions, steps, time.time())
                seqs = await bus.publish_samples(batches)
                break
            except Backpressure as exc:  # the sender's part is to retry, as Prometheus does
                await asyncio.sleep(min(exc.retry_after_s, 0.5))
        for p, seq in zip(sorted(batches), seqs):  # a retried batch's sequence is its first storing's
            results.record(p, seq, steps)


async def _members(bus: JetStreamBus, count: int, timeout_s: float = 60.0) -> float:
    """Wait until ``count`` workers are members; return when the first was seen (monotonic)."""
    deadline = time.monotonic() + timeout_s
    first: float | None = None
    while (members := len(await bus.members())) < count:
        if members and first is None:
            first = time.monotonic()
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {members} of {count} workers registered in {timeout_s:g} s")
        await asyncio.sleep(0.1)
    return first if first is not None else time.monotonic()


async def _settled(bus: JetStreamBus, workers: int, timeout_s: float = 120.0) -> None:
    """Wait until ``workers`` workers are members and every partition is leased by the worker the
    assignment gives it: no hand-over left to happen during the measurement."""
    deadline = time.monotonic() + timeout_s
    while True:
        members = await bus.members()
        if len(members) == workers and await bus.owners() == assign(bus.partitions, members):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"workers not settled in {timeout_s:g} s: members {members}")
        await asyncio.sleep(0.2)


def _cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system) process ``pid`` has used so far (Linux /proc), None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_cpu_s() -> tuple[float, float]:
    """(busy, all) CPU seconds of the whole machine since boot (``/proc/stat``): how loaded it was."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / os.sysconf("SC_CLK_TCK"), sum(values) / os.sysconf("SC_CLK_TCK")


def _broker_pid(url: str) -> int | None:
    """The local nats-server serving ``url``'s port (its command line names it; 4222 when it names
    none), to report the broker's share of the machine; None if there is no such process here."""
    port = url.rsplit(":", 1)[-1].strip("/") if url.count(":") > 1 else "4222"
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if not args or not args[0].endswith(b"nats-server"):
            continue
        flags = [a.decode(errors="replace") for a in args]
        named = next((flags[i + 1] for i, a in enumerate(flags[:-1]) if a in ("-p", "--port")), "4222")
        if named == port:
            return int(proc.name)
    return None


@dataclass
class CpuMeter:
    """CPU seconds used between :meth:`start` and :meth:`stop` by this process (the publisher and the
    results reader), the broker, and the machine (everything, other users' work included)."""

    broker_pid: int | None
    used: dict[str, float] = field(default_factory=dict)
    _start: dict[str, float] = field(default_factory=dict)

    def _now(self) -> dict[str, float]:
        busy, total = _machine_cpu_s()
        out = {"bench_process": time.process_time(), "machine_busy": busy, "machine_all": total,
               "wall": time.perf_counter()}
        broker = _cpu_s(self.broker_pid) if self.broker_pid else None
        if broker is not None:
            out["broker"] = broker
        return out

    def start(self) -> None:
        self._start = self._now()

    def stop(self) -> None:
        end = self._now()
        self.used = {k: end[k] - self._start[k] for k in end if k in self._start}


async def _throughput(url: str, data: Dataset, partitions: int, workers: int, tag: str, workdir: Path,
                      steps_per_message: int) -> dict[str, Any]:
    names = StreamNames(f"fs-bench-{tag}-{workers}w", f"fsbench{tag}w{workers}")
    bus = await JetStreamBus.connect(url, names, partitions, max_stream_bytes=4 << 30)
    pool = WorkerPool(url, names, partitions, workdir)
    meter = CpuMeter(_broker_pid(url))
    results = Results(data, partitions)
    try:
        await _publish(bus, results, steps_per_message, rate=None)
        for w in range(workers):  # a grace long enough for all to start (imports take seconds on a busy
            pool.start(f"w{w}", join_grace_s=_JOIN_GRACE_S)  # machine): each claims only its share
        first = await _members(bus, workers)
        await asyncio.sleep(max(0.0, first + _JOIN_GRACE_S - 1.0 - time.monotonic()))  # CPU from before a claim on
        started = pool.cpu_s()
        meter.start()
        await _collect(results, _readers(bus), timeout_s=600)
        meter.stop()
        cpu = {w: used - started.get(w, 0.0) for w, used in pool.cpu_s().items()}
        per_worker: dict[str, list[tuple[int, float]]] = {}
        for _, _, w, n, _, done in results.batches:
            per_worker.setdefault(w, []).append((n, done))
        rates = {}
        for w, items in per_worker.items():
            items.sort(key=lambda item: item[1])
            span = items[-1][1] - items[0][1]
            rates[w] = (sum(n for n, _ in items) - items[0][0]) / span if span > 0 else float("nan")
        done = sorted(b[5] for b in results.batches)
        first_n = min(results.batches, key=lambda b: b[5])[3]
        total = (results.scored - first_n) / (done[-1] - done[0])
        served_by: dict[int, set[str]] = {}
        for p, _, w, _, _, _ in results.batches:
            served_by.setdefault(p, set()).add(w)
        return {"samples_per_s": total, "per_worker_samples_per_s": rates, "worker_cpu_s": sum(cpu.values()),
                "handed_over_partitions": sum(1 for ws in served_by.values() if len(ws) > 1),
                "cpu_s": meter.used, "identical": results.identical_to_single_process(),
                "workers_seen": sorted(per_worker), "lost": data.samples - results.scored}
    finally:
        pool.stop()
        await bus.delete_all()
        await bus.close()


async def fault_run(url: str, data: Dataset, partitions: int, rate: float, workdir: Path,
                    fault: Callable[[WorkerPool], Awaitable[str | None]], *, tag: str,
                    steps_per_message: int = 1) -> dict[str, Any]:
    """Two workers serve ``data`` published at ``rate`` samples/s; a third of the way through, ``fault``
    strikes (it returns the worker it killed, if any). The figures of the kill phase (module docstring)."""
    names = StreamNames(f"fs-fault-{tag}", f"fsfault{tag}")
    bus = await JetStreamBus.connect(url, names, partitions, max_stream_bytes=4 << 30)
    pool = WorkerPool(url, names, partitions, workdir)
    try:
        for w in ("a", "b"):
            pool.start(w, join_grace_s=1.0)
        await _settled(bus, 2)  # both hold their shares
        owners = assign(partitions, ["a", "b"])
        results = Results(data, partitions)
        publisher = asyncio.create_task(_publish(bus, results, steps_per_message, rate))
        duration = data.samples / rate
        collect = asyncio.create_task(_collect(results, _readers(bus), timeout_s=duration + 120))
        await asyncio.sleep(duration / 3)
        struck_at = time.time()
        victim = await fault(pool)
        await publisher
        await collect
        moved = {p for p, w in owners.items() if w == victim} if victim else set(owners)
        recovery = 0.0
        for p in moved:
            after = [done for bp, _, w, _, _, done in results.batches
                     if bp == p and w != victim and done >= struck_at]
            recovery = max(recovery, (min(after) - struck_at) if after else float("inf"))
        before = np.array([done - ingested for _, _, _, _, ingested, done in results.batches if done < struck_at])
        around = np.array([done - ingested for _, _, _, _, ingested, done in results.batches])
        return {
            "lost": data.samples - results.scored,
            "duplicate_alerts": sum(c - 1 for c in results.alerts.values() if c > 1),
            "duplicate_score_batches": sum(c - 1 for c in results.score_batches.values() if c > 1),
            "alerts_as_single_process": set(results.alerts) == data.expected_alerts(),
            "alerts": len(results.alerts),
            "recovery_s": recovery,
            "latency_p50_s": float(np.percentile(before, 50)) if before.size else float("nan"),
            "latency_p99_s": float(np.percentile(before, 99)) if before.size else float("nan"),
            "latency_p99_with_fault_s": float(np.percentile(around, 99)) if around.size else float("nan"),
            "identical": results.identical_to_single_process(),
            "logs": {w: pool.log(w) for w in pool.procs},
        }
    finally:
        pool.stop()
        await bus.delete_all()
        await bus.close()


async def kill_worker(pool: WorkerPool) -> str:
    """The fault of the kill phase: SIGKILL to worker ``a`` (no checkpoint, no hand-back, no goodbye)."""
    pool.kill("a")
    return "a"


def _cpu_figures(phase: dict[str, Any], samples: int) -> dict[str, Any]:
    """Where a throughput phase's CPU went, per sample and in cores busy on average."""
    used = phase["cpu_s"]
    wall = used["wall"]
    out = {"worker_us_per_sample": round(1e6 * phase["worker_cpu_s"] / samples, 3),
           "bench_process_us_per_sample": round(1e6 * used["bench_process"] / samples, 3),
           "wall_s": round(wall, 2), "machine_busy_cores": round(used["machine_busy"] / wall, 2),
           "workers_cores": round(phase["worker_cpu_s"] / wall, 2)}
    if "broker" in used:
        out["broker_us_per_sample"] = round(1e6 * used["broker"] / samples, 3)
        out["broker_cores"] = round(used["broker"] / wall, 2)
    ours = phase["worker_cpu_s"] + used["bench_process"] + used.get("broker", 0.0)
    out["other_work_cores"] = round(max(0.0, used["machine_busy"] - ours) / wall, 2)  # other users of the machine
    return out


def bench_scale(url: str = "nats://127.0.0.1:4222", series: int = 8192, steps: int = 200, partitions: int = 8,
                rate: float | None = None, seed: int = 0, steps_per_message: int = 1) -> dict[str, Any]:
    """Run the three phases and return the issue's figures (plus the ones behind them). ``rate`` (samples/s
    of the kill phase) defaults to half the measured 2-worker throughput: a load the workers keep up
    with, so latency measures the path, not a queue that grows. ``steps_per_message``: scrapes of every
    series a sample message carries (one remote-write request or poll of that many steps)."""
    data = make_dataset(series, steps, seed)
    tag = f"{os.getpid()}-{int(time.time())}"
    single_runs = [(data.single_process_s, data.single_process_cpu_s)]
    with tempfile.TemporaryDirectory(prefix="foresight-bench-scale-") as tmp:
        workdir = Path(tmp)
        one = asyncio.run(_throughput(url, data, partitions, 1, tag, workdir, steps_per_message))
        single_runs.append(single_process(data.x, data.t)[1:])  # again, back to back with the workers: the
        two = asyncio.run(_throughput(url, data, partitions, 2, tag, workdir, steps_per_message))
        single_runs.append(single_process(data.x, data.t)[1:])  # machine's load moves both alike
        rate = rate or round(0.5 * two["samples_per_s"], -2) or 1000.0
        kill = asyncio.run(fault_run(url, data, partitions, rate, workdir, kill_worker, tag=f"{tag}-kill",
                                     steps_per_message=steps_per_message))
    single = data.samples / float(np.median([wall for wall, _ in single_runs]))
    single_cpu = data.samples / float(np.median([cpu for _, cpu in single_runs]))
    return {
        "series": series, "steps": steps, "partitions": partitions, "samples": data.samples,
        "steps_per_message": steps_per_message,
        "samples_per_message": round(data.samples / (partitions * -(-steps // steps_per_message))),
        "single_process_samples_per_s": round(single),
        "throughput_1_worker": round(one["samples_per_s"]),
        "throughput_2_workers": round(two["samples_per_s"]),
        "per_worker_throughput_2_workers": {w: round(r) for w, r in two["per_worker_samples_per_s"].items()},
        "speedup_2_workers": round(two["samples_per_s"] / one["samples_per_s"], 3),
        "broker_overhead": round(1.0 - one["samples_per_s"] / single, 3),
        "single_process_samples_per_cpu_s": round(single_cpu),
        "single_process_us_per_sample": round(1e6 / single_cpu, 3),
        "worker_samples_per_cpu_s": round(data.samples / one["worker_cpu_s"]),
        "broker_overhead_cpu": round(1.0 - data.samples / one["worker_cpu_s"] / single_cpu, 3),
        "worker_samples_per_cpu_s_2_workers": round(data.samples / two["worker_cpu_s"]),
        "cpu_1_worker": _cpu_figures(one, data.samples),
        "cpu_2_workers": _cpu_figures(two, data.samples),
        "projected_2_workers_on_free_cores": round(2 * one["samples_per_s"]),
        "handed_over_partitions": one["handed_over_partitions"] + two["handed_over_partitions"],  # 0: a clean run
        "latency_p50_s": round(kill["latency_p50_s"], 4),
        "latency_p99_s": round(kill["latency_p99_s"], 4),
        "latency_p99_with_kill_s": round(kill["latency_p99_with_fault_s"], 4),
        "kill_rate_samples_per_s": rate,
        "lost_samples": one["lost"] + two["lost"] + kill["lost"],
        "duplicate_alerts": kill["duplicate_alerts"],
        "duplicate_score_batches": kill["duplicate_score_batches"],
        "alerts": kill["alerts"],
        "alerts_as_single_process": kill["alerts_as_single_process"],
        "recovery_s": round(kill["recovery_s"], 3),
        "scores_identical_to_single_process": bool(one["identical"] and two["identical"] and kill["identical"]),
        "cpu_count": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
