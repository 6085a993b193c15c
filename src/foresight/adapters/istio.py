"""Istio's traffic split as a :class:`~foresight.rollout.router.TrafficRouter`: a VirtualService's route weights.

The router owns one HTTP route of one VirtualService (``networking.istio.io``), whose destinations
are the stable and the canary (two hosts, as Flagger's ``-primary``/``-canary`` services, or two
subsets of one host). It reads the object each call (by level: someone may have edited it) and
writes with a JSON patch (RFC 6902) through the official client's
``CustomObjectsApi.patch_namespaced_custom_object``: ``test`` operations pin the route's destinations
at the indices it read, then ``add`` sets both weights (``add`` on an existing member replaces it). A
concurrent edit that moved the destinations makes the API server reject the whole patch (422), and
the router reads again and retries; nothing is half-written. Weights are validated (integers summing
to 100) before any call.

Build it from a kubeconfig or the pod's service account::

    api = kubernetes.client.CustomObjectsApi(kubernetes.config.new_client_from_config())
    router = IstioRouter(api, "shop", "reviews", Destination("reviews-primary"), Destination("reviews-canary"))

RBAC: ``get`` and ``patch`` on ``virtualservices.networking.istio.io`` in the namespace.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubernetes.client import CustomObjectsApi
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from foresight.errors import ConfigError, InputError, ServiceUnavailable
from foresight.rollout.router import Weights

__all__ = ["Destination", "IstioRouter"]

_GROUP = "networking.istio.io"
_PLURAL = "virtualservices"
_JSON_PATCH = "application/json-patch+json"


@dataclass(frozen=True)
class Destination:
    """A route destination: a host (service name or FQDN) and, with a DestinationRule, a subset."""

    host: str
    subset: str | None = None

    def matches(self, destination: Mapping[str, Any]) -> bool:
        return destination.get("host") == self.host and destination.get("subset") == self.subset


class IstioRouter:
    """Gets and sets the stable/canary weights of one VirtualService route (see the module docstring).

    ``route`` names the HTTP route (``spec.http[].name``); None picks the first route whose
    destinations are exactly the stable and the canary.
    """

    def __init__(
        self, api: CustomObjectsApi, namespace: str, name: str, stable: Destination, canary: Destination, *,
        route: str | None = None, version: str = "v1", attempts: int = 3,
    ) -> None:
        if stable == canary:
            raise ConfigError(f"VirtualService {namespace}/{name}: stable and canary are the same destination {stable}")
        self.api, self.namespace, self.name = api, namespace, name
        self.stable, self.canary, self.route, self.version = stable, canary, route, version
        self.attempts = attempts

    @property
    def _where(self) -> str:
        return f"VirtualService {self.namespace}/{self.name}"

    def _call(self, method: str, **kwargs: Any) -> Any:
        """One API call, its failures turned into errors that say whether to retry."""
        try:
            return getattr(self.api, method)(_GROUP, self.version, self.namespace, _PLURAL, self.name, **kwargs)
        except ApiException as exc:
            if exc.status == 404:
                raise ConfigError(f"{self._where} not found (group {_GROUP}/{self.version})") from None
            if exc.status in (401, 403):
                raise ConfigError(f"{self._where}: not allowed ({exc.status} {exc.reason}); the router needs "
                                  f"get and patch on {_PLURAL}.{_GROUP}") from None
            if exc.status in (409, 422):
                raise
            raise ServiceUnavailable(f"{self._where}: Kubernetes API answered {exc.status} {exc.reason}",
                                     retry_after_s=5.0) from None
        except HTTPError as exc:
            raise ServiceUnavailable(f"{self._where}: Kubernetes API unreachable ({exc})", retry_after_s=5.0) from None

    def _locate(self, vs: Mapping[str, Any]) -> tuple[int, int, int]:
        """(route index, stable's destination index, canary's) in ``spec.http``."""
        for r, http in enumerate(vs.get("spec", {}).get("http") or []):
            if self.route is not None and http.get("name") != self.route:
                continue
            dests = [d.get("destination", {}) for d in http.get("route") or []]
            stable = [i for i, d in enumerate(dests) if self.stable.matches(d)]
            canary = [i for i, d in enumerate(dests) if self.canary.matches(d)]
            if len(dests) == 2 and len(stable) == 1 and len(canary) == 1:
                return r, stable[0], canary[0]
            if self.route is not None:
                raise ConfigError(f"{self._where}: route {self.route!r} must have exactly two destinations, "
                                  f"{self.stable} and {self.canary}; it has {dests}")
        which = f"route named {self.route!r}" if self.route else f"HTTP route to exactly {self.stable} and {self.canary}"
        raise ConfigError(f"{self._where} has no {which}")

    def get_weights(self) -> Weights:
        vs = self._call("get_namespaced_custom_object")
        r, i, j = self._locate(vs)
        route = vs["spec"]["http"][r]["route"]
        try:
            return Weights(route[i].get("weight", 0), route[j].get("weight", 0))
        except InputError as exc:
            raise InputError(f"{self._where}, http[{r}]: {exc}") from None

    def set_weights(self, stable: int, canary: int) -> None:
        weights = Weights(stable, canary)  # validate before any call
        for attempt in range(self.attempts):
            r, i, j = self._locate(self._call("get_namespaced_custom_object"))
            base = f"/spec/http/{r}/route"
            patch: list[dict[str, Any]] = []
            for index, dest in ((i, self.stable), (j, self.canary)):
                patch.append({"op": "test", "path": f"{base}/{index}/destination/host", "value": dest.host})
                if dest.subset is not None:
                    patch.append({"op": "test", "path": f"{base}/{index}/destination/subset", "value": dest.subset})
            patch += [{"op": "add", "path": f"{base}/{i}/weight", "value": weights.stable},
                      {"op": "add", "path": f"{base}/{j}/weight", "value": weights.canary}]
            try:
                self._call("patch_namespaced_custom_object", body=patch, _content_type=_JSON_PATCH)
                return
            except ApiException:  # 409/422: the route changed under us; read it again
                if attempt == self.attempts - 1:
                    break
        raise ServiceUnavailable(f"{self._where}: the route kept changing during {self.attempts} attempts to set "
                                 f"weights {weights.stable}/{weights.canary}", retry_after_s=1.0)
