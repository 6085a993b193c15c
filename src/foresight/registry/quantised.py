"""Quantised versions: registered as children of the model they were made from, gated on what they lost.

A quantised model is not trained, so the champion/challenger gates do not fit it: the only
question is how much accuracy the smaller number format cost, measured on the same held-out data
as its parent. :func:`register_quantised` registers it as the next version of the same model with
the parent in ``foresight.parent`` (so :func:`~foresight.registry.lineage` walks from the int8 file
back to the training run), the method in ``foresight.quantised`` and the parent's params, data
version and seed (it was made from them), and the gate's verdict in ``foresight.gate``. Only a
version that passes (accuracy no more than ``max_drop_points`` below its parent's) gets the
``edge`` alias: the version edge nodes are provisioned with.

>>> drop_gate(1.0).gates[0].metric, drop_gate(1.0).gates[0].threshold
('accuracy_drop_points', 1.0)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from foresight.errors import InputError
from foresight.registry.gates import Gate, GatePolicy, GateResult, evaluate_gates
from foresight.registry.promote import GATE_TAG
from foresight.registry.protocol import PARENT_TAG, ModelVersion, Registry

__all__ = ["EDGE_ALIAS", "MAX_DROP_POINTS", "QUANTISED_TAG", "drop_gate", "register_quantised"]

#: Tag saying how a version was quantised from its parent (e.g. ``onnx-int8-dynamic``).
QUANTISED_TAG = "foresight.quantised"
#: The alias of the version edge nodes run: a quantised version that passed its gate.
EDGE_ALIAS = "edge"
#: The most accuracy (in points of the parent's ``accuracy`` metric, a percentage) quantising may cost.
MAX_DROP_POINTS = 1.0


def drop_gate(max_drop_points: float = MAX_DROP_POINTS) -> GatePolicy:
    """The gate of a quantised version: its accuracy drop from the parent at most ``max_drop_points``."""
    return GatePolicy(gates=(Gate(metric="accuracy_drop_points", op="<=", threshold=max_drop_points),))


def register_quantised(
    registry: Registry, name: str, parent: int, *, accuracy: float, method: str, metrics: Mapping[str, float],
    code_commit: str, model_file: Path | None = None, max_drop_points: float = MAX_DROP_POINTS,
) -> tuple[ModelVersion, GateResult]:
    """Register the quantised copy of version ``parent`` of ``name`` and gate it (module docstring).

    ``accuracy``: the quantised model's, in the unit of the parent's registered ``accuracy`` metric
    (percent), on the parent's held-out data; ``metrics``: what else was measured (size, latency).
    A parent without an ``accuracy`` metric is an :class:`InputError`: there is nothing to compare.
    """
    source = registry.get(name, parent)
    if "accuracy" not in source.metrics:
        raise InputError(f"model {name} v{parent} has no accuracy metric: a quantised copy cannot be gated against it")
    drop = source.metrics["accuracy"] - accuracy
    measured = {**metrics, "accuracy": accuracy, "accuracy_drop_points": drop}
    verdict = evaluate_gates(drop_gate(max_drop_points), measured, None)
    version = registry.register(
        name, params={**source.params, "quantisation": method}, metrics=measured, code_commit=code_commit,
        data_version=source.data_version, seed=source.seed, model_file=model_file,
        tags={PARENT_TAG: str(parent), QUANTISED_TAG: method,
              GATE_TAG: ("passed: " if verdict.passed else "blocked: ") + verdict.reason},
    )
    if verdict.passed:
        registry.set_alias(name, EDGE_ALIAS, version.version)
    return version, verdict
