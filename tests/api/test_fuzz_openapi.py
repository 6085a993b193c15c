"""Every route of ``foresight serve``, fuzzed from its own OpenAPI document (Schemathesis, in process).

The app runs over a small simulated platform whose controllers step as in production; the requests
carry the write token, so bodies are parsed and acted on, not refused at the door. Each operation
gets a bounded number of generated requests (CI runs it in seconds): none may answer 5xx, none may
take longer than :data:`HANG_S`. A second test sends every write route a body one byte over
``api.max_body_bytes``: 413, before the route reads it.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from kube_emulator import Cluster
from schemathesis import GenerationMode
from starlette.testclient import TestClient

from foresight.adapters.kube_gpu import KubeGpuState
from foresight.api import create_app
from foresight.api.scheduler import add_scheduler
from foresight.config import load_settings
from foresight.serve.service import build_service

TOKEN = "t0ken-for-the-fuzzer"
LIMIT = 64 * 1024
#: generated requests per operation and generation mode (valid, then invalid inputs)
EXAMPLES = 12
#: a request slower than this, in process, is a hang
HANG_S = 5.0
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    config = load_settings(None, simulate={"services": 4, "warmup_s": 3600.0, "speed": 3600.0, "duration_s": 86400.0},
                           audit_url=str(tmp / "audit.db"), api={"token": TOKEN, "max_body_bytes": LIMIT})
    service = build_service(config, simulate=True)
    service.runtime.start()
    try:
        yield create_app(service, manage_runtime=False)
    finally:
        service.runtime.stop()


def _can_be_invalid(raw: dict) -> bool:
    """Whether an operation takes anything a request can get wrong (a body, credentials, a parameter that
    is not any string): else there is no invalid request to generate, and Hypothesis searches in vain."""
    unconstrained = {"type": "string"}
    return "requestBody" in raw or bool(raw.get("security")) or any(
        {k: v for k, v in (p.get("schema") or {}).items() if k not in ("title", "description")} != unconstrained
        for p in raw.get("parameters", []))


def _fuzz(app: Any, wanted: Callable[[str], bool] = lambda path: True) -> tuple[list[str], list[str], Counter[int]]:
    """Generated requests to every operation of ``app``'s document whose path is ``wanted``: the
    operations fuzzed, each request that answered 5xx or took :data:`HANG_S` or more, and the
    status codes seen (requests that all bounce off validation would prove little)."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [op for op in (result.ok() for result in schema.get_all_operations()) if wanted(op.path)]
    failures: list[str] = []
    codes: Counter[int] = Counter()
    for operation in operations:
        modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if _can_be_invalid(operation.definition.raw)
                                              else [])
        for mode in modes:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            def fuzz(case: schemathesis.Case) -> None:
                started = time.perf_counter()
                response = case.call(headers=AUTH)
                elapsed = time.perf_counter() - started
                codes[response.status_code] += 1
                if response.status_code >= 500 or elapsed >= HANG_S:
                    failures.append(f"{case.method} {case.formatted_path} {case.query or ''} -> "
                                    f"{response.status_code} in {elapsed:.1f} s: {response.text[:300]}")

            fuzz()
    return [op.label for op in operations], failures, codes


def test_no_route_answers_a_server_error_or_hangs(served: object) -> None:
    operations, failures, codes = _fuzz(served)
    assert len(operations) >= 15, operations
    assert codes[200] >= 20 and codes[422] >= 20, codes  # accepted requests and refused ones both
    assert not failures, "\n".join(failures[:20])


def test_the_scheduler_extender_verbs_answer_no_server_error(tmp_path: Path) -> None:
    """kube-scheduler's verbs (``scheduler.enabled``) over an emulated cluster with GPU nodes; the
    requests come from 127.0.0.1, as kube-scheduler beside Foresight does."""
    cluster = Cluster()
    try:
        for name, gpus in (("gpu-a", 4), ("gpu-b", 8)):
            cluster.put("v1/nodes", None, {
                "apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {"nvidia.com/gpu.product": "T4"}},
                "status": {"allocatable": {"cpu": "16", "memory": "64Gi", "nvidia.com/gpu": str(gpus), "pods": "110"},
                           "conditions": [{"type": "Ready", "status": "True"}]}})
        app = FastAPI()
        add_scheduler(app, load_settings(None, scheduler={"enabled": True}), KubeGpuState(cluster.api_client()))
        operations, failures, codes = _fuzz(_FromLocalhost(app), lambda path: path.startswith("/scheduler/"))
        assert len(operations) == 3, operations
        assert codes[200] > 0, codes
        assert not failures, "\n".join(failures[:20])
    finally:
        cluster.close()


class _FromLocalhost:
    """Presents every request as coming from 127.0.0.1 (the in-process client has no address)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await self.app({**scope, "client": ("127.0.0.1", 40123)} if scope["type"] == "http" else scope, receive, send)


def test_every_write_route_refuses_a_body_over_the_limit(served: object) -> None:
    client = TestClient(served)  # type: ignore[arg-type]
    paths = client.get("/openapi.json").json()["paths"]
    writes = [(path, method) for path, ops in paths.items() for method in ops if method in ("post", "put", "patch")]
    assert len(writes) >= 5, writes
    for path, method in writes:
        url = path.replace("{name}", "forecast").replace("{model}", "m").replace("{release_id}", "r") \
            .replace("{incident_id}", "i")
        over = client.request(method.upper(), url, content=b"x" * (LIMIT + 1),
                              headers={**AUTH, "Content-Type": "application/json"})
        assert over.status_code == 413 and "api.max_body_bytes" in over.text, (path, over.status_code, over.text)
