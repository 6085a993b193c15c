"""Security shift-left: scanners for what a platform deploys, findings as SARIF.

Pure cores: scanners take bytes or text and return :class:`~foresight.security.findings.Finding`
values (model artifacts: :func:`scan_artifact`; Kubernetes manifests: :func:`scan_manifests` and
:func:`scan_manifest_objects`, :func:`scan_manifest_files` for a set of files checked together);
the CLI (``foresight scan``) opens files, walks folders and picks
the output format.
"""

from foresight.security.artifacts import ScanLimits, scan_artifact
from foresight.security.findings import (
    RULES,
    Finding,
    Level,
    Location,
    MalformedArtifact,
    Rule,
    worst,
)
from foresight.security.manifests import (
    scan_manifest_files,
    scan_manifest_objects,
    scan_manifests,
)
from foresight.security.sarif import to_sarif

__all__ = [
    "RULES",
    "Finding",
    "Level",
    "Location",
    "MalformedArtifact",
    "Rule",
    "ScanLimits",
    "scan_artifact",
    "scan_manifest_files",
    "scan_manifest_objects",
    "scan_manifests",
    "to_sarif",
    "worst",
]
