"""Security shift-left: scanners for what a platform deploys, findings as SARIF.

Pure cores: scanners take bytes and return :class:`~foresight.security.findings.Finding` values;
the CLI (``foresight scan``) opens files, walks folders and picks the output format.
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
           "to_sarif",
           "worst",
]
