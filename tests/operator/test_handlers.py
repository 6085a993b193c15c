"""The handlers without kopf's machinery: what a failing API does to status and to kopf's retries."""

from __future__ import annotations

import logging
from typing import Any

import kopf
import pytest

from foresight.clock import ManualClock
from foresight.errors import ConfigError, ServiceUnavailable
from foresight.operator.handlers import CONFIG_RETRY_S, HandlerContext, finalize, reconcile

LOG = logging.getLogger("test")
BODY = {"apiVersion": "foresight.ai/v1alpha1", "kind": "ScalingPolicy",
        "metadata": {"name": "web", "namespace": "shop", "uid": "u", "generation": 4},
        "spec": {"targetRef": {"name": "web"}, "capacityRps": 30}}


class Failing:
    """An API that fails every write with ``error``."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def apply(self, obj: Any) -> str:
        raise self.error

    def delete(self, *args: Any) -> bool:
        raise self.error


@pytest.mark.parametrize(("error", "delay"), [
    (ServiceUnavailable("ScaledObject shop/web: Kubernetes API answered 503", retry_after_s=7.0), 7.0),
    (ConfigError("ScaledObject shop/web: not allowed to create (403 Forbidden)"), CONFIG_RETRY_S),
])
def test_a_failed_apply_degrades_the_resource_and_is_retried_later(error: Exception, delay: float) -> None:
    patch = kopf.Patch()
    with pytest.raises(kopf.TemporaryError) as info:
        reconcile(HandlerContext(Failing(error), clock=ManualClock(0.0)), BODY, patch, LOG)  # type: ignore[arg-type]
    assert info.value.delay == delay
    ready, degraded = patch["status"]["conditions"]
    assert (ready["status"], ready["reason"], degraded["status"]) == ("False", "ReconcileFailed", "True")
    assert degraded["message"] == str(error) and patch["status"]["observedGeneration"] == 4
    assert [o["kind"] for o in patch["status"]["owned"]] == ["ScaledObject"]


def test_a_failed_cleanup_keeps_the_finalizer_by_retrying() -> None:
    runtime = HandlerContext(Failing(ServiceUnavailable("down", retry_after_s=2.0)), clock=ManualClock(0.0))  # type: ignore[arg-type]
    with pytest.raises(kopf.TemporaryError):
        finalize(runtime, BODY, LOG)
