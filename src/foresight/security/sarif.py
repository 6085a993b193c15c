"""Findings as SARIF 2.1.0, the format GitHub code scanning and most CI dashboards read.

Each rule is a ``reportingDescriptor`` whose first tag is its CWE (``external/cwe/cwe-N``, the
convention code-scanning tools use to group weaknesses). A finding inside a container (a ZIP
member, a decompressed stream, a nested pickle) points at the file on disk: its region is given only
when the offset or line is one in that file, and the path through the containers is in the message
and in the location's ``properties.members``. A finding accepted in the source (a manifest's
annotation) carries a ``suppressions`` entry with its justification, as code-scanning tools expect.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from foresight.security.findings import Finding, Rule

__all__ = ["SARIF_SCHEMA", "SARIF_VERSION", "to_sarif"]

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _rule(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.help},
        "help": {"text": rule.help, "markdown": f"**{rule.summary}**\n\n{rule.help}"},
        "defaultConfiguration": {"level": rule.level.value},
        "properties": {"tags": [f"external/cwe/cwe-{rule.cwe}", *rule.tags], "precision": "high"},
    }


def _location(finding: Finding) -> dict[str, Any]:
    where = finding.location
    physical: dict[str, Any] = {"artifactLocation": {"uri": quote(where.path.replace("\\", "/"))}}
    if not where.members:
        if where.line is not None:
            physical["region"] = {"startLine": where.line}
        elif where.byte_offset is not None:
            physical["region"] = {"byteOffset": where.byte_offset}
    location: dict[str, Any] = {"physicalLocation": physical}
    if where.members:
        location["properties"] = {"members": list(where.members), "byteOffset": where.byte_offset,
                                  "line": where.line}
    return location


def to_sarif(findings: Iterable[Finding], rules: Iterable[Rule], tool_version: str) -> dict[str, Any]:
    """One SARIF log with one run: every rule of ``rules``, every finding as a result."""
    descriptors = list(rules)
    index = {rule.id: i for i, rule in enumerate(descriptors)}
    results = []
    for finding in findings:
        inside = "!/".join(finding.location.members)
        message = finding.message if not inside else f"{finding.message} (in {inside})"
        result: dict[str, Any] = {
            "ruleId": finding.rule_id,
            "level": finding.level.value,
            "message": {"text": message},
            "locations": [_location(finding)],
        }
        if finding.rule_id in index:
            result["ruleIndex"] = index[finding.rule_id]
        if finding.accepted is not None:
            result["suppressions"] = [{"kind": "inSource", "status": "accepted", "justification": finding.accepted}]
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [{
            "tool": {"driver": {"name": "foresight", "version": tool_version,
                                "rules": [_rule(rule) for rule in descriptors]}},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }
