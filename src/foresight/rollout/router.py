"""The traffic-router port: how a controller reads and sets the split between stable and canary.

Two methods, as small as Flagger's router interface needs for a canary: the Istio adapter
(:class:`foresight.adapters.istio.IstioRouter`) patches a VirtualService, the simulator
(:class:`foresight.sim.canary.CanarySimulator`) routes its simulated requests. :func:`check_router`
is the conformance suite both run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from foresight.errors import InputError

__all__ = ["TrafficRouter", "Weights", "check_router"]


@dataclass(frozen=True)
class Weights:
    """Percent of requests to each version: integers in [0, 100] that sum to 100, as Istio requires.

    >>> Weights(90, 10)
    Weights(stable=90, canary=10)
    >>> Weights(90, 20)
    Traceback (most recent call last):
    ...
    foresight.errors.InputError: route weights must be integers in [0, 100] summing to 100, got stable=90, canary=20
    """

    stable: int
    canary: int

    def __post_init__(self) -> None:
        values = (self.stable, self.canary)
        if (any(isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 100 for v in values)
                or sum(values) != 100):
            raise InputError(
                f"route weights must be integers in [0, 100] summing to 100, got stable={self.stable!r}, "
                f"canary={self.canary!r}"
            )


class TrafficRouter(Protocol):
    """Reads and sets the stable/canary weights of one service's route."""

    def get_weights(self) -> Weights: ...

    def set_weights(self, stable: int, canary: int) -> None:
        """Route ``stable``/``canary`` percent; raises :class:`InputError` (changing nothing) unless they sum to 100."""
        ...


def check_router(router: TrafficRouter) -> None:
    """Conformance checks every router must pass; raises AssertionError naming the first that fails.

    Leaves the router at stable 100, canary 0.
    """
    for stable, canary in ((90, 10), (0, 100), (100, 0)):
        router.set_weights(stable, canary)
        got = router.get_weights()
        assert got == Weights(stable, canary), f"set_weights({stable}, {canary}) then get_weights() gave {got}"
    router.set_weights(60, 40)
    for stable, canary in ((60, 50), (101, -1), (50.5, 49.5)):
        try:
            router.set_weights(stable, canary)  # type: ignore[arg-type]
        except InputError:
            pass
        else:
            raise AssertionError(f"set_weights({stable}, {canary}) was accepted")
        assert router.get_weights() == Weights(60, 40), "a rejected set_weights changed the route"
    router.set_weights(100, 0)
