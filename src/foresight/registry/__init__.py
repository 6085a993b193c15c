"""Model versions with provenance, aliases, gates and lineage, on the small :class:`Registry` port.

The backends are adapters: MLflow's registry (:mod:`foresight.adapters.mlflow_registry`) and its
SQLite twin (:mod:`foresight.adapters.local_registry`); :func:`foresight.runtime.registry.open_registry`
picks one from a URI.
"""

from __future__ import annotations

from foresight.registry.artifact_gate import (
    NOT_SCANNED,
    SCAN_TAG,
    ArtifactRefused,
    ArtifactVerdict,
    judge_artifact,
)
from foresight.registry.data_version import (
    DataVersion,
    data_version,
    md5_dir,
    md5_file,
    read_dvc_file,
)
from foresight.registry.gates import (
    Gate,
    GateCheck,
    GatePolicy,
    GateResult,
    evaluate_gates,
)
from foresight.registry.promote import GATE_TAG, Promotion, promote
from foresight.registry.protocol import (
    CHALLENGER,
    CHAMPION,
    DATA_WARNING_TAG,
    PARENT_TAG,
    ModelVersion,
    Registry,
    lineage,
)
from foresight.registry.provenance import UNKNOWN_COMMIT, code_commit

__all__ = [
    "CHALLENGER", "CHAMPION", "DATA_WARNING_TAG", "GATE_TAG", "NOT_SCANNED", "PARENT_TAG", "SCAN_TAG", "UNKNOWN_COMMIT",
    "ArtifactRefused", "ArtifactVerdict", "DataVersion", "Gate", "GateCheck", "GatePolicy", "GateResult", "ModelVersion",
    "Promotion", "Registry", "code_commit", "data_version", "evaluate_gates", "judge_artifact", "lineage", "md5_dir", "md5_file",
    "promote", "read_dvc_file",
]
