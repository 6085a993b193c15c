"""Gated promotion: a version becomes the champion only when its metrics pass the gate policy.

The decision is :func:`~foresight.registry.gates.evaluate_gates` (pure); this module reads what it
needs from the registry, applies the verdict (moves the ``champion`` alias) and leaves the verdict
on the version as the ``foresight.gate`` tag, so ``foresight model list`` shows why a version never
served.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from foresight.registry.gates import GatePolicy, GateResult, evaluate_gates
from foresight.registry.protocol import CHALLENGER, CHAMPION, Registry

__all__ = ["GATE_TAG", "Promotion", "promote"]

GATE_TAG = "foresight.gate"


@dataclass(frozen=True)
class Promotion:
    """What :func:`promote` did: ``promoted`` or not, the gate verdict, the champion before."""

    name: str
    version: int
    promoted: bool
    gate: GateResult
    previous_champion: int | None

    @property
    def reason(self) -> str:
        verdict = "promoted to champion" if self.promoted else "promotion blocked"
        return f"{self.name} v{self.version}: {verdict}: {self.gate.reason}"


def promote(
    registry: Registry, name: str, version: int, policy: GatePolicy, *,
    champion_metrics: Mapping[str, float] | None = None, dry_run: bool = False,
) -> Promotion:
    """Gate ``version`` against ``policy`` and the current champion; make it the champion if it passes.

    ``champion_metrics`` replaces the champion's registered metrics in the comparison: the feedback
    loop passes the champion re-evaluated on the candidate's hold-out data, since after drift the
    champion's registered accuracy (measured on old data) is no longer what it achieves.
    """
    candidate = registry.get(name, version)
    champion = registry.get_alias(name, CHAMPION)
    reference = champion_metrics if champion_metrics is not None else (
        None if champion is None or champion.version == version else champion.metrics)
    gate = evaluate_gates(policy, candidate.metrics, reference)
    if not dry_run:
        registry.set_tag(name, version, GATE_TAG, ("passed: " if gate.passed else "blocked: ") + gate.reason)
        if gate.passed:
            registry.set_alias(name, CHAMPION, version)
            challenger = registry.get_alias(name, CHALLENGER)
            if challenger is not None and challenger.version == version:
                registry.delete_alias(name, CHALLENGER)
    return Promotion(name, version, gate.passed and not dry_run, gate,
                     None if champion is None else champion.version)
