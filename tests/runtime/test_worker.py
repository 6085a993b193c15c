"""Workers as separate OS processes on real NATS: a worker killed with SIGKILL, and the broker itself
killed and restarted mid-run (a nats-server of the test's own, on a free port and a data directory of
its own: the machine's NATS is never touched). In each case no accepted sample goes unscored, no
alert is published twice, and every score equals the single process's."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from local_ports import port_open
from foresight.bench.prometheus_server import free_port
from foresight.bench.scale import Dataset, WorkerPool, fault_run, kill_worker, make_dataset

pytestmark = pytest.mark.integration
NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"


@pytest.fixture(scope="module")
def data() -> Dataset:
    return make_dataset(series=256, steps=160, seed=3)


def _check(figures: dict[str, object], data: Dataset) -> None:
    logs = figures.pop("logs")
    assert figures["lost"] == 0, logs
    assert figures["duplicate_alerts"] == 0 and figures["duplicate_score_batches"] == 0
    assert figures["identical"], "a score differs from the single process's"
    assert figures["alerts_as_single_process"] and figures["alerts"] == len(data.expected_alerts()) > 0
    assert figures["recovery_s"] < 60  # served again (the 10 s target is `foresight bench scale`'s)


def test_a_worker_killed_mid_run_loses_nothing_and_repeats_no_alert(
    data: Dataset, tmp_path: Path, require_service: Callable[[bool, str], None]
) -> None:
    require_service(port_open(4222), "NATS is not listening on 127.0.0.1:4222")
    figures = asyncio.run(fault_run("nats://127.0.0.1:4222", data, 4, 4000.0, tmp_path, kill_worker,
                                    tag=uuid.uuid4().hex[:10]))
    _check(figures, data)


@pytest.fixture
def own_nats(tmp_path: Path, require_service: Callable[[bool, str], None]) -> Iterator[tuple[int, Callable[[], None]]]:
    """A JetStream nats-server of this test's own; the callable kills it (SIGKILL) and starts it again."""
    require_service(os.path.exists(NATS_SERVER), "no nats-server binary (apt-get install nats-server)")
    port, store = free_port(), tmp_path / "jetstream"
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        procs.append(subprocess.Popen([NATS_SERVER, "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(store)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.time() + 20
        while not port_open(port):
            assert time.time() < deadline, "nats-server did not start"
            time.sleep(0.05)

    def restart() -> None:
        procs[-1].send_signal(signal.SIGKILL)
        procs[-1].wait()
        time.sleep(1.0)
        start()

    start()
    yield port, restart
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)


def test_nats_killed_and_restarted_mid_run_loses_nothing_and_repeats_no_alert(
    data: Dataset, tmp_path: Path, own_nats: tuple[int, Callable[[], None]]
) -> None:
    port, restart = own_nats

    async def broker_restart(pool: WorkerPool) -> str | None:
        await asyncio.to_thread(restart)
        return None

    figures = asyncio.run(fault_run(f"nats://127.0.0.1:{port}", data, 4, 4000.0, tmp_path / "run", broker_restart,
                                    tag=uuid.uuid4().hex[:10]))
    _check(figures, data)
