"""IstioRouter against a Kubernetes API emulator (kmock 0.8) through the official client.

No API server can run here, so ``kmock``'s emulator (with the fix layer in tests/kube_emulator.py)
serves real HTTP on 127.0.0.1 in a background thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import kubernetes
import pytest
from kube_emulator import Cluster

from foresight.adapters.istio import Destination, IstioRouter
from foresight.errors import ConfigError, InputError, ServiceUnavailable
from foresight.rollout.router import Weights, check_router

VS_PATH = "networking.istio.io/v1/virtualservices"


class IstioCluster:
    """The shared emulator (tests/kube_emulator.py: a failed JSON-patch ``test`` answers 422, as the
    API server does, which the router treats as "the route changed, read again"), seeded with
    VirtualServices in namespace ``shop``."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    def api(self) -> kubernetes.client.CustomObjectsApi:
        return kubernetes.client.CustomObjectsApi(self.cluster.api_client())

    def seed(self, name: str, http: list[dict[str, Any]]) -> None:
        self.cluster.put(VS_PATH, "shop", {
            "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
            "metadata": {"name": name, "namespace": "shop"}, "spec": {"hosts": ["reviews"], "http": http}})

    def spec(self, name: str) -> dict[str, Any]:
        obj = self.cluster.get(VS_PATH, "shop", name)
        assert obj is not None, f"VirtualService shop/{name} is gone"
        return obj["spec"]


def _route(stable: int, canary: int, *, name: str = "primary", **extra: Any) -> dict[str, Any]:
    return {"name": name, "route": [{"destination": {"host": "reviews-primary"}, "weight": stable},
                                    {"destination": {"host": "reviews-canary"}, "weight": canary}], **extra}


STABLE, CANARY = Destination("reviews-primary"), Destination("reviews-canary")


@pytest.fixture(scope="module")
def cluster() -> Iterator[IstioCluster]:
    c = Cluster()
    yield IstioCluster(c)
    c.close()


def test_the_router_passes_the_conformance_suite(cluster: IstioCluster) -> None:
    cluster.seed("conformance", [_route(100, 0)])
    check_router(IstioRouter(cluster.api(), "shop", "conformance", STABLE, CANARY))


def test_weights_are_patched_in_place_and_the_rest_of_the_virtualservice_is_kept(cluster: IstioCluster) -> None:
    header_route = {"name": "testers", "match": [{"headers": {"x-tester": {"exact": "1"}}}],
                    "route": [{"destination": {"host": "reviews-canary"}}]}
    cluster.seed("keep", [header_route, _route(100, 0, retries={"attempts": 3})])
    router = IstioRouter(cluster.api(), "shop", "keep", STABLE, CANARY)
    router.set_weights(80, 20)
    spec = cluster.spec("keep")
    assert spec["http"][0] == header_route
    assert spec["http"][1] == _route(80, 20, retries={"attempts": 3})
    assert router.get_weights() == Weights(80, 20)


def test_subsets_of_one_host_are_told_apart(cluster: IstioCluster) -> None:
    cluster.seed("subsets", [{"route": [{"destination": {"host": "reviews", "subset": "v2"}, "weight": 0},
                                        {"destination": {"host": "reviews", "subset": "v1"}, "weight": 100}]}])
    router = IstioRouter(cluster.api(), "shop", "subsets", Destination("reviews", "v1"), Destination("reviews", "v2"))
    router.set_weights(70, 30)
    assert [d["weight"] for d in cluster.spec("subsets")["http"][0]["route"]] == [30, 70]


def test_a_route_that_moved_between_read_and_patch_is_read_again(cluster: IstioCluster) -> None:
    cluster.seed("moving", [_route(100, 0)])
    api = cluster.api()

    class ReorderOnce:
        """Swaps the destinations right after the router's first read, as another controller might."""

        def __init__(self) -> None:
            self.reads = 0

        def get_namespaced_custom_object(self, *args: Any) -> Any:
            obj = api.get_namespaced_custom_object(*args)
            self.reads += 1
            if self.reads == 1:
                route = obj["spec"]["http"][0]["route"]
                cluster.seed("moving", [{"name": "primary", "route": [route[1], route[0]]}])
            return obj

        def patch_namespaced_custom_object(self, *args: Any, **kwargs: Any) -> Any:
            return api.patch_namespaced_custom_object(*args, **kwargs)

    proxy = ReorderOnce()
    IstioRouter(proxy, "shop", "moving", STABLE, CANARY).set_weights(60, 40)  # type: ignore[arg-type]
    assert proxy.reads == 2
    route = cluster.spec("moving")["http"][0]["route"]
    assert {d["destination"]["host"]: d["weight"] for d in route} == {"reviews-primary": 60, "reviews-canary": 40}


def test_bad_weights_are_refused_before_any_call(cluster: IstioCluster) -> None:
    class NoCalls:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"unexpected API call {name}")

    router = IstioRouter(NoCalls(), "shop", "any", STABLE, CANARY)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="summing to 100"):
        router.set_weights(90, 20)


def test_a_missing_virtualservice_or_route_is_a_configuration_error(cluster: IstioCluster) -> None:
    with pytest.raises(ConfigError, match="shop/absent not found"):
        IstioRouter(cluster.api(), "shop", "absent", STABLE, CANARY).get_weights()
    cluster.seed("other-hosts", [{"route": [{"destination": {"host": "ratings"}, "weight": 100}]}])
    with pytest.raises(ConfigError, match="has no HTTP route to exactly"):
        IstioRouter(cluster.api(), "shop", "other-hosts", STABLE, CANARY).get_weights()
    cluster.seed("named", [_route(100, 0, name="main")])
    with pytest.raises(ConfigError, match="has no route named 'canary'"):
        IstioRouter(cluster.api(), "shop", "named", STABLE, CANARY, route="canary").get_weights()


def test_weights_that_do_not_sum_to_100_in_the_cluster_are_reported_with_the_object(cluster: IstioCluster) -> None:
    cluster.seed("unweighted", [{"route": [{"destination": {"host": "reviews-primary"}},
                                           {"destination": {"host": "reviews-canary"}}]}])
    with pytest.raises(InputError, match="shop/unweighted, http\\[0\\]"):
        IstioRouter(cluster.api(), "shop", "unweighted", STABLE, CANARY).get_weights()


def test_an_unreachable_api_server_is_worth_retrying() -> None:
    config = kubernetes.client.Configuration()
    config.host = "http://127.0.0.1:9"  # discard port: nothing listens
    config.retries = 0
    api = kubernetes.client.CustomObjectsApi(kubernetes.client.ApiClient(config))
    with pytest.raises(ServiceUnavailable) as info:
        IstioRouter(api, "shop", "reviews", STABLE, CANARY).get_weights()
    assert info.value.retry_after_s is not None
