"""A Kubernetes API emulator for the tests and ``foresight bench parity``: kmock 0.8 plus the fixes it needs.

No API server can run on these machines; kmock's ``KubernetesEmulator`` serves real HTTP with
watch streams and finalizers, but (0.8) gives objects no ``uid``/``resourceVersion``/``generation``,
answers list calls without ``kind``, ignores label selectors, turns a failed JSON-patch ``test``
into 500, and gives discovery only for resources it has been told about. The fix layer below
makes it behave like the API server where Foresight relies on it:

* create: ``uid``, ``resourceVersion``, ``generation`` 1, ``creationTimestamp``, the namespace of
  the URL; 409 for an existing object;
* patch: ``resourceVersion`` bumped on every write, ``generation`` on every ``spec`` change;
* a failed JSON-patch ``test`` answers 422 (the API server's answer), so compare-and-swap works;
* list answers carry ``kind`` and the current ``resourceVersion``, and a watch from a
  ``resourceVersion`` sends only what changed after it (kmock replays every object, so kopf saw a
  stale copy after its own first patch and retried a doomed compare-and-swap);
* discovery of the resources Foresight and kopf use (kind, namespaced, verbs, subresources);
* a served request is forgotten (kmock keeps every request for assertions and matches each new one
  against all of them: quadratic over a long run).

Still missing, and not relied on: label selectors, PUT (replace), validation, defaulting,
garbage collection by ownerReferences, and any controller (a Deployment never gets pods).
Namespaces must be created by the test (``default`` is, by :class:`Cluster`).

It runs on its own event loop in a thread (:class:`Cluster`), so sync clients and kopf's
``KopfRunner`` can both talk to it; :meth:`Cluster.write_kubeconfig` points any client (``foresight
serve``'s ``cluster.kubeconfig``) at it. kmock is in the ``dev`` extra: this module needs it at import.
"""

from __future__ import annotations

import asyncio
import datetime
import itertools
import threading
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jsonpatch
import kmock
import kubernetes
import yaml

from foresight.specs.crd import PLURALS

_VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]
#: (group/version/plural, kind, namespaced, subresources) served with discovery.
RESOURCES: list[tuple[str, str, bool, list[str]]] = [
    ("v1/namespaces", "Namespace", False, []),
    ("v1/events", "Event", True, []),
    ("v1/services", "Service", True, []),
    ("v1/configmaps", "ConfigMap", True, []),
    ("apps/v1/deployments", "Deployment", True, ["scale"]),
    ("autoscaling/v2/horizontalpodautoscalers", "HorizontalPodAutoscaler", True, []),
    ("batch/v1/jobs", "Job", True, []),
    ("keda.sh/v1alpha1/scaledobjects", "ScaledObject", True, []),
    ("networking.istio.io/v1/virtualservices", "VirtualService", True, []),
    ("networking.istio.io/v1/destinationrules", "DestinationRule", True, []),
    ("security.istio.io/v1/peerauthentications", "PeerAuthentication", True, []),
    ("trainer.kubeflow.org/v1alpha1/trainjobs", "TrainJob", True, []),
    ("kubeflow.org/v1/pytorchjobs", "PyTorchJob", True, []),
    ("kubeflow.org/v1/tfjobs", "TFJob", True, []),
    ("coordination.k8s.io/v1/leases", "Lease", True, []),
    *[(f"foresight.ai/v1alpha1/{plural}", kind, True, ["status"]) for kind, plural in PLURALS.items()],
]


class FixedEmulator(kmock.KubernetesEmulator):
    """kmock's emulator with the API server's bookkeeping (see the module docstring)."""

    def _now(self) -> str:
        return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    async def _handle(self, request: Any) -> Any:
        if request.resource is not None and isinstance(request.data, dict | list):
            request = self._stamp(request)
        try:
            return await super()._handle(request)
        except jsonpatch.JsonPatchTestFailed as exc:
            return await self._render_error(kmock.KubernetesError(status=422, reason="Invalid", message=str(exc)))
        except jsonpatch.JsonPatchConflict as exc:
            return await self._render_error(kmock.KubernetesError(status=422, reason="Invalid", message=str(exc)))
        finally:
            self._forget(request)

    def _forget(self, request: Any) -> None:
        """Drop a served request from kmock's record of every request (kept for test assertions, which
        Foresight does not use): kmock matches each new request against that whole record, so a long
        run (the parity benchmark's ~100,000 requests) would slow down quadratically."""
        served = self._requests
        for i in range(len(served) - 1, -1, -1):
            if served[i] is request:
                del served[i]
                break

    def _next_version(self) -> str:
        counter = self.__dict__.setdefault("_resource_versions", itertools.count(1))
        version = next(counter)
        self.__dict__["_last_version"] = version
        return str(version)

    async def _serve_list(self, request: Any) -> Any:
        answer = await super()._serve_list(request)
        info = self.resources[request.resource]
        version = request.resource.version
        group = request.resource.group
        return {
            "apiVersion": f"{group}/{version}" if group else version,
            "kind": f"{info.kind}List",
            "metadata": {"resourceVersion": str(self.__dict__.get("_last_version", 0))},
            "items": answer["items"],
        }

    async def _serve_watch(self, request: Any) -> AsyncIterator[Any]:
        since = str(request.params.get("resourceVersion", ""))
        if not since.isdigit():
            async for event in super()._serve_watch(request):
                yield event
            return
        yield b""
        async with self._lock:
            changed = [
                obj.raw for (resource, namespace, _), obj in self.objects.items()
                if resource == request.resource and not obj.deleted
                and request.namespace in (None, namespace)
                and int(obj.raw.get("metadata", {}).get("resourceVersion") or 0) > int(since)
            ]
        for raw in changed:
            yield {"type": "MODIFIED", "object": raw}
        async for event in self._buses[request.resource]:
            namespace = event.get("object", {}).get("metadata", {}).get("namespace")
            if request.namespace in (None, namespace):
                yield event

    def _stamp(self, request: Any) -> Any:
        """The request with the metadata the API server would have written."""
        version = self._next_version()
        if request.action == kmock.action.CREATE and isinstance(request.data, dict):
            data = dict(request.data)
            meta = dict(data.get("metadata") or {})
            if request.namespace and not meta.get("namespace"):
                meta["namespace"] = request.namespace
            meta.update(uid=str(uuid.uuid4()), resourceVersion=version, generation=1, creationTimestamp=self._now())
            data["metadata"] = meta
            return _with_data(request, data)
        if request.action == kmock.action.UPDATE:
            key = (request.resource, request.namespace, request.name)
            current = self.objects[key] if key in self.objects and not self.objects[key].deleted else None
            generation = (current.get("metadata", {}).get("generation") or 1) if current is not None else 1
            if isinstance(request.data, dict):
                data = dict(request.data)
                meta = dict(data.get("metadata") or {})
                if ("spec" in data and request.subresource is None and current is not None
                        and data["spec"] != current.get("spec")):
                    meta["generation"] = generation + 1
                meta["resourceVersion"] = version
                data["metadata"] = meta
                return _with_data(request, data)
            ops = list(request.data)
            touches_spec = any(str(op.get("path", "")).startswith("/spec") and op.get("op") != "test" for op in ops)
            if touches_spec and request.subresource is None:
                ops.append({"op": "add", "path": "/metadata/generation", "value": generation + 1})
            ops.append({"op": "add", "path": "/metadata/resourceVersion", "value": version})
            return _with_data(request, ops)
        return request


def _with_data(request: Any, data: Any) -> Any:
    """The same request object with another body (kmock's filters track requests by identity)."""
    object.__setattr__(request, "data", data)
    return request


class Cluster:
    """The emulator on its own event loop in a background thread."""

    def __init__(self) -> None:
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "kmock did not start"
        self.put("v1/namespaces", None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with FixedEmulator() as emulator, kmock.Server(emulator) as server:
            for path, kind, namespaced, subresources in RESOURCES:
                emulator.resources[path] = kmock.ResourceInfo(
                    kind=kind, namespaced=namespaced, verbs=_VERBS, subresources=subresources,
                    singular=kind.lower(),
                )
            self.emulator, self.url = emulator, str(server.url).rstrip("/")
            self._ready.set()
            await self._stop.wait()

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def _run(self, fn: Any) -> Any:
        async def call() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result(5)

    def api_client(self) -> kubernetes.client.ApiClient:
        config = kubernetes.client.Configuration()
        config.host = self.url
        config.retries = 0
        return kubernetes.client.ApiClient(config)

    def write_kubeconfig(self, path: Path) -> Path:
        """Write a kubeconfig that points at the emulator (no credentials: it checks none); returns ``path``.

        What a real process is given (``foresight serve``'s ``cluster.kubeconfig``), so a harness
        configures the controllers under test exactly as an operator would.
        """
        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": "emulator",
            "clusters": [{"name": "emulator", "cluster": {"server": self.url}}],
            "users": [{"name": "emulator", "user": {}}],
            "contexts": [{"name": "emulator", "context": {"cluster": "emulator", "user": "emulator"}}],
        }
        path.write_text(yaml.safe_dump(config))
        return path

    def put(self, resource: str, namespace: str | None, obj: dict[str, Any]) -> None:
        """Store an object directly (seeding, or what another actor wrote)."""
        key = (kmock.resource(resource), namespace, obj["metadata"]["name"])
        self._run(lambda: self.emulator.objects.__setitem__(key, obj))

    def get(self, resource: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        """The stored object, or None when absent or deleted."""
        key = (kmock.resource(resource), namespace, name)

        def read() -> dict[str, Any] | None:
            objects = self.emulator.objects
            if key not in objects or objects[key].deleted:
                return None
            return dict(objects[key].raw)

        return self._run(read)

    def names(self, resource: str, namespace: str | None) -> list[str]:
        """Names of the live objects of one resource in a namespace."""
        wanted = kmock.resource(resource)

        def read() -> list[str]:
            return sorted(
                name for (res, ns, name), obj in self.emulator.objects.items()
                if res == wanted and ns == namespace and not obj.deleted
            )

        return self._run(read)
