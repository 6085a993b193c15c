"""``foresight bench features``: Feast on the real Redis, online retrieval latency and the streaming path's freshness.

Protocol. A FeatureSet (``examples/features/payments.yaml`` by default) is generated into a
Feast repository of its own (a fresh project, so its Redis keys are its own, torn down after) in a
temporary directory; ``entities`` cards get a batch profile (5 features, Parquet, materialised)
and the streaming ingest fills their 5 window aggregates from JetStream.

- Online retrieval through Feast's SDK (``FeatureStore.get_online_features``, 10 features: both
  views), ``reads`` calls for 1 random card and ``reads`` calls for 100 random cards, after 20
  warm-up calls; latency of each call, p50/p99 (``online_*``), and its mean CPU time
  (``online_cpu_ms_*``: what a call costs whatever else the machine runs). The floor of the SDK
  path, Feast's own cost per call: the same for a trivial request, 1 card and 1 feature
  (``online_floor_*``). The same through Feast's feature server (``feast serve``, one worker,
  HTTP keep-alive, ``POST /get-online-features``): ``server_*``.
- Streaming freshness: a producer process publishes events to JetStream at ``rate`` events/s for
  ``duration`` s (each stamped with its publish time), while the ingest (the same process as the
  reads, one asyncio loop) windows them and writes rows with ``write_to_online_store``;
  freshness of an event = time its row's write returned (from then a read sees it) minus its
  publish time; p50/p99 over every event. ``published_events_per_s`` is the rate the events
  came at (ingested events over the span of their publish times: the rate freshness is measured
  at, which a loaded machine's producer may fall short of); ``sustained_events_per_s`` is what
  the ingest took from the first publish to the last write (below the published rate by the
  last events' freshness even when the ingest keeps up).
- Throughput (``events_per_s``): ``backlog`` events are published first, then the ingest drains
  them as fast as it can (fetch, window, write, ack; the next batch windowed while the last one
  is written), and the CPU time that took per event (``ingest_cpu_us_per_event``: the producer
  has finished, so this is the ingest's alone; a free core drains ``1e6 / that`` events/s). The
  sustained run stops after ``3 x duration + 30`` s if the ingest cannot keep up;
  ``sustained_events`` then says how many of the events it took. The producer publishes plain
  messages (no per-message headers, as a producer publishing to the stream's subject needs none).

The machine is shared (2 cores, other agents' work): figures vary run to run; nothing is tuned on
them beyond the ingest's batch size (2,000 messages per fetch), fixed before measuring.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from foresight.bench.prometheus_server import free_port
from foresight.bench.progress import Progress, silent
from foresight.features.events import EventSchema
from foresight.features.ingest import StreamIngest
from foresight.features.repo import RepoTarget
from foresight.features.windows import WindowAggregator
from foresight.specs.features import FeatureSet, load_feature_set

__all__ = ["EXAMPLE", "bench_features"]

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "features" / "payments.yaml"
_BATCH = 2000


def bench_features(
    *,
    spec_path: Path = EXAMPLE,
    entities: int = 10_000,
    reads: int = 500,
    rate: float = 5000.0,
    duration_s: float = 10.0,
    backlog: int = 50_000,
    nats_url: str = "nats://127.0.0.1:4222",
    redis: str = "127.0.0.1:6379",
    seed: int = 0,
    progress: Progress = silent,
) -> dict[str, Any]:
    """Run the protocol of the module docstring; the figures by name."""
    from foresight.adapters.feast_store import FeastStore, write_repo

    spec = load_feature_set(spec_path)
    spec = spec.model_copy(update={"project": f"bench_{uuid.uuid4().hex[:10]}"})
    batch_view = next(v for v in spec.views if not v.streamed)
    stream_view = next(v for v in spec.views if v.streamed)
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory(prefix="foresight-bench-features-") as tmp:
        root = Path(tmp)
        (root / "data").mkdir()
        _write_batch(spec, batch_view.name, root / "data", entities, rng)
        _write_empty(spec, stream_view.name, root / "data")
        repo = write_repo(spec, root / "repo", RepoTarget(str(root / "data"), str(root / "registry.db"), redis=redis))
        store = FeastStore(spec, repo)
        store.apply()
        try:
            progress("materialising the batch view", 0.05)
            now = time.time()
            store.materialize(datetime.fromtimestamp(now - 86400, UTC), datetime.fromtimestamp(now + 1, UTC))
            progress(f"streaming at {rate:g} events/s for {duration_s:g} s", 0.1)
            stream = asyncio.run(_stream(spec, store, nats_url, entities, rate, duration_s, backlog, seed, progress))
            progress("online reads", 0.8)
            features = [f"{v.name}:{f.name}" for v in (batch_view, stream_view) for f in v.features]
            lat_1, cpu_1 = _read_latency(store, features, entities, 1, reads, rng)
            lat_100, cpu_100 = _read_latency(store, features, entities, 100, reads, rng)
            floor, floor_cpu = _read_latency(store, features[:1], entities, 1, reads, rng)
            progress("online reads through Feast's feature server", 0.9)
            server_1, server_100 = _server_latency(repo, features, entities, reads, rng)
            check = store.read_online(features, [{"card_id": 0}])
        finally:
            store.teardown()
    return {
        "online_p50_ms_1": _pct(lat_1, 50),
        "online_p99_ms_1": _pct(lat_1, 99),
        "online_p50_ms_100": _pct(lat_100, 50),
        "online_p99_ms_100": _pct(lat_100, 99),
        "online_cpu_ms_1": _mean_ms(cpu_1),
        "online_cpu_ms_100": _mean_ms(cpu_100),
        "online_floor_p50_ms": _pct(floor, 50),
        "online_floor_cpu_ms": _mean_ms(floor_cpu),
        "server_p50_ms_1": _pct(server_1, 50),
        "server_p99_ms_1": _pct(server_1, 99),
        "server_p50_ms_100": _pct(server_100, 50),
        "server_p99_ms_100": _pct(server_100, 99),
        "freshness_p50_s": _pct(stream["freshness"], 50, scale=1.0),
        "freshness_p99_s": _pct(stream["freshness"], 99, scale=1.0),
        "events_per_s": stream["events_per_s"],
        "ingest_cpu_us_per_event": stream["cpu_us_per_event"],
        "sustained_rate_target": rate,
        "sustained_events_per_s": stream["sustained_events_per_s"],
        "published_events_per_s": stream["published_events_per_s"],
        "sustained_events": stream["sustained_events"],
        "backlog_events": backlog,
        "features_per_read": len(features),
        "entities": entities,
        "reads_per_size": reads,
        "rejected": stream["rejected"],
        "served_features_of_card_0": sum(1 for v in check.values.values() if v[0] is not None),
        "targets": {"online_p99_ms_100": 5.0, "freshness_p99_s": 1.0, "published_events_per_s": 5000.0},
    }


def _read_latency(
    store: Any, features: list[str], entities: int, size: int, reads: int, rng: np.random.Generator
) -> tuple[list[float], list[float]]:
    """Wall time and CPU time of each of ``reads`` SDK calls (after 20 to warm up).

    CPU time (the process's: this thread and Redis replies parsed in it) is what a call costs
    whatever else runs on the machine; on a loaded machine the wall time adds the waits for a core.
    """

    def rows() -> list[dict[str, int]]:
        return [{"card_id": int(c)} for c in rng.choice(entities, size=size, replace=False)]

    for _ in range(20):
        store.read_online_values(features, rows())
    wall, cpu = [], []
    for _ in range(reads):
        request = rows()
        started, started_cpu = time.perf_counter(), time.process_time()
        store.read_online_values(features, request)
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return wall, cpu


def _server_latency(
    repo: Path, features: list[str], entities: int, reads: int, rng: np.random.Generator
) -> tuple[list[float], list[float]]:
    """The same reads through ``feast serve`` (one worker, HTTP keep-alive), 1 and 100 entities per request."""
    import httpx

    port = free_port()
    feast_cli = Path(sys.executable).with_name("feast")
    server = subprocess.Popen(
        [str(feast_cli), "-c", str(repo), "serve", "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
         "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, timeout=10.0) as client:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(f"feast serve did not answer on {url}")
                time.sleep(0.2)
            out = []
            for size in (1, 100):
                timings = []
                for i in range(reads + 20):
                    cards = [int(c) for c in rng.choice(entities, size=size, replace=False)]
                    started = time.perf_counter()
                    response = client.post("/get-online-features", json={"features": features, "entities": {"card_id": cards}})
                    elapsed = time.perf_counter() - started
                    response.raise_for_status()
                    if i >= 20:  # the first 20 warm the server up
                        timings.append(elapsed)
                out.append(timings)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return out[0], out[1]


async def _stream(
    spec: FeatureSet, store: Any, url: str, entities: int, rate: float, duration_s: float, backlog: int, seed: int,
    progress: Progress,
) -> dict[str, Any]:
    from foresight.adapters.jetstream import JetStreamEvents

    view = next(v for v in spec.views if v.streamed)
    name = f"FS_BENCH_{uuid.uuid4().hex[:8]}"
    subject = f"fs_bench.{name}"
    source = JetStreamEvents(url, name, subject, "ingest")
    await source.connect()
    freshness: list[float] = []
    span = [float("inf"), 0.0, 0.0]  # first event's publish time, last write's end, last event's publish time

    def written(times: Sequence[float], now: float) -> None:
        freshness.extend(now - t for t in times)
        span[0], span[1], span[2] = min(span[0], min(times)), now, max(span[2], max(times))

    schema = EventSchema.of(view, {k: e.value_type for k, e in _keys(spec, view.name).items()})
    ingest = StreamIngest(WindowAggregator(view, lateness_s=5.0), schema, source, store, time.time, written)
    try:
        # every card gets a row first (the reads then find all 10 features), then the sustained run
        producer = _start_producer(url, name, subject, rate=0.0, count=backlog, entities=entities, seed=seed)
        producer.join()
        started, started_cpu = time.perf_counter(), time.process_time()
        await ingest.run(lambda: _handled(ingest) >= backlog, _BATCH, 0.2)
        events_per_s = backlog / (time.perf_counter() - started)
        cpu_us_per_event = (time.process_time() - started_cpu) / backlog * 1e6
        progress(f"backlog drained: {events_per_s:,.0f} events/s", 0.3)
        freshness.clear()
        span[:] = [float("inf"), 0.0, 0.0]
        accepted_before, handled_before = ingest.stats.accepted, _handled(ingest)
        count = int(rate * duration_s)
        producer = _start_producer(url, name, subject, rate=rate, count=count, entities=entities, seed=seed + 1)
        started = time.perf_counter()
        give_up = duration_s * 3 + 30  # an ingest slower than the rate is stopped here and its figures say so

        def done() -> bool:
            return _handled(ingest) - handled_before >= count or time.perf_counter() - started > give_up

        await ingest.run(done, _BATCH, 0.01)
        elapsed = max(span[1] - span[0], 1e-9)  # not from the producer's start: spawning it takes seconds
        producer.join()
        sustained = ingest.stats.accepted - accepted_before
    finally:
        await source.delete()
        await source.close()
    return {
        "freshness": freshness,
        "events_per_s": round(events_per_s, 1),
        "cpu_us_per_event": round(cpu_us_per_event, 1),
        "sustained_events_per_s": round(sustained / elapsed, 1),
        "published_events_per_s": round(sustained / max(span[2] - span[0], 1e-9), 1),
        "sustained_events": sustained,
        "rejected": dict(ingest.stats.rejected),
    }


def _start_producer(url: str, stream: str, subject: str, *, rate: float, count: int, entities: int, seed: int) -> multiprocessing.Process:
    process = multiprocessing.get_context("spawn").Process(
        target=_produce, args=(url, stream, subject, rate, count, entities, seed), daemon=True
    )
    process.start()
    return process


def _produce(url: str, stream: str, subject: str, rate: float, count: int, entities: int, seed: int) -> None:
    """The producer process: ``count`` events, ``rate`` per second (0: as fast as the broker takes them)."""
    import nats

    async def run() -> None:
        nc = await nats.connect(url)
        js = nc.jetstream()
        rng = np.random.default_rng(seed)
        cards = rng.integers(0, entities, size=count) if rate > 0 else np.arange(count) % entities
        amounts = rng.gamma(2.0, 30.0, size=count)
        merchants = rng.integers(0, 5000, size=count)
        chunk = 50
        started = time.perf_counter()
        for i in range(0, count, chunk):
            if rate > 0:
                delay = started + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            now = time.time()
            for j in range(i, min(i + chunk, count)):
                event = {"card_id": int(cards[j]), "ts": now, "amount": float(amounts[j]), "merchant": int(merchants[j])}
                await js.publish_async(subject, json.dumps(event).encode())
        await js.publish_async_completed()
        await nc.close()

    asyncio.run(run())


def _handled(ingest: StreamIngest) -> int:
    return ingest.stats.accepted + sum(ingest.stats.rejected.values())


def _keys(spec: FeatureSet, view: str) -> dict[str, Any]:
    by_name = {e.name: e for e in spec.entities}
    return {by_name[e].join_key: by_name[e] for e in spec.view(view).entities}


def _write_batch(spec: FeatureSet, view_name: str, data: Path, entities: int, rng: np.random.Generator) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    view = spec.view(view_name)
    (key,) = _keys(spec, view_name)
    now = time.time()
    columns: dict[str, Any] = {key: np.arange(entities, dtype=np.int64)}
    columns[spec.source(view.source).timestamp_field] = pa.array(
        (np.full(entities, now - 3600) * 1e6).astype("int64"), pa.timestamp("us", tz="UTC")
    )
    for feature in view.features:
        values = rng.gamma(2.0, 50.0, size=entities)
        columns[feature.name] = values.astype(np.int64) if feature.dtype == "int64" else values
    pq.write_table(pa.table(columns), data / spec.source(view.source).path)


def _write_empty(spec: FeatureSet, view_name: str, data: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    view = spec.view(view_name)
    types = {"int64": pa.int64(), "float64": pa.float64(), "string": pa.string(), "bool": pa.bool_()}
    fields = [(k, pa.int64() if e.value_type == "int64" else pa.string()) for k, e in _keys(spec, view_name).items()]
    fields.append((spec.source(view.source).timestamp_field, pa.timestamp("us", tz="UTC")))
    fields += [(f.name, types[f.dtype]) for f in view.features]
    pq.write_table(pa.schema(fields).empty_table(), data / spec.source(view.source).path)


def _mean_ms(samples: Sequence[float]) -> float | None:
    return round(float(np.mean(samples)) * 1000.0, 3) if samples else None


def _pct(samples: Sequence[float], q: float, scale: float = 1000.0) -> float | None:
    return round(float(np.percentile(samples, q)) * scale, 3) if samples else None
