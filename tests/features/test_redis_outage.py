"""A Redis outage under the feature store: writes are retried until Redis is back, reads fail at once and say why.

The machine's own Redis is never touched: the test runs its own ``redis-server`` on a free port
and stops and restarts it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import require_service
from features.conftest import require_feast
from features.feature_data import write_empty_activity, write_profiles

from foresight.errors import ServiceUnavailable
from foresight.features.windows import Row

pytestmark = pytest.mark.integration
VALUES = {"txn_count": 2, "amount_sum": 3.0, "amount_mean": 1.5, "amount_max": 2.0, "last_merchant": 7}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class OwnRedis:
    """A throwaway redis-server (no persistence) that can be stopped and started again on its port."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server on {self.port} did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    require_service(shutil.which("redis-server") is not None, "redis-server binary (apt-get install redis-server)")
    server = OwnRedis(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_writes_retry_through_an_outage_and_reads_fail_clearly(payments, own_redis: OwnRedis, tmp_path: Path) -> None:
    require_feast()
    from foresight.adapters.feast_store import FeastStore, write_repo
    from foresight.features.repo import RepoTarget

    data = tmp_path / "data"
    data.mkdir()
    write_profiles(data / "card_profile.parquet")
    write_empty_activity(data / "card_activity.parquet")
    target = RepoTarget(str(data), str(tmp_path / "registry.db"), redis=f"127.0.0.1:{own_redis.port}")
    store = FeastStore(payments, write_repo(payments, tmp_path / "repo", target), write_attempts=8, backoff_s=0.1)
    store.apply()
    ts = int(datetime.now(UTC).timestamp() * 1e6)
    store.write_rows("card_activity", [Row((1,), 0.0, ts, VALUES)])

    own_redis.stop()
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable, match="online store \\(Redis\\) unreachable during read"):
        store.read_online(["card_activity:txn_count"], [{"card_id": 1}])
    assert time.monotonic() - started < 5  # a read fails fast: no retry loop behind a request

    back = threading.Timer(0.5, own_redis.start)
    back.start()
    store.write_rows("card_activity", [Row((1,), 0.0, ts + 1, {**VALUES, "txn_count": 5})])  # retried until Redis is back
    back.join()
    assert store.read_online(["card_activity:txn_count"], [{"card_id": 1}]).values["txn_count"] == [5]

    own_redis.stop()
    store.write_attempts = 2
    with pytest.raises(ServiceUnavailable, match="during write to card_activity"):
        store.write_rows("card_activity", [Row((1,), 0.0, ts + 2, VALUES)])
