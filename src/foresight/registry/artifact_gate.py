"""The artifact gate: a model version whose file would run code when loaded is never registered.

A pickle-based model (PyTorch ``.pt``, joblib, scikit-learn) executes whatever its opcodes call
when it is loaded, so the registry is where a malicious or broken artifact must stop, before a
gate, a canary or a server ever loads it. The scan of bytes happens at the edge (the CLI, the
runtime: :func:`foresight.security.scan_artifact`); this module only judges the findings, so the
verdict is table-testable and the same for ``foresight model register`` and the feedback loop.

An error-level finding blocks (the scanners fail closed: an artifact that cannot be parsed is an
error too); warnings pass and are recorded with the version (tag ``foresight.scan``), so the
dashboard shows them per version.

>>> from foresight.security import Finding, Level, Location
>>> bad = Finding("PKL001", Level.ERROR, "posix.system is called when the pickle loads", Location("m.pkl", byte_offset=51))
>>> verdict = judge_artifact([bad])
>>> verdict.passed, verdict.reason
(False, 'artifact scan blocked: error PKL001 at m.pkl@51: posix.system is called when the pickle loads')
>>> judge_artifact([]).reason
'artifact scan passed: no findings'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from foresight.errors import InputError
from foresight.security import Finding, Level

__all__ = ["NOT_SCANNED", "SCAN_TAG", "ArtifactRefused", "ArtifactVerdict", "judge_artifact"]

#: Tag on every registered version: what the artifact scan said (or why there was no scan).
SCAN_TAG = "foresight.scan"
#: The tag's value for a version registered without an artifact file to scan.
NOT_SCANNED = "not scanned: no artifact file was given"
_NAMED = 3  # findings spelled out in a reason; the rest are counted


class ArtifactRefused(InputError):
    """The artifact has an error-level finding: the version is not registered (or not promoted)."""


@dataclass(frozen=True)
class ArtifactVerdict:
    """Whether the artifact may be registered, why, and every finding behind it."""

    passed: bool
    reason: str
    findings: tuple[Finding, ...]

    @property
    def tag(self) -> str:
        """The reason as a registry tag value (MLflow caps tag values; the first findings are kept)."""
        return self.reason if len(self.reason) <= 1000 else self.reason[:997] + "..."

    def raise_if_blocked(self, what: str) -> None:
        """:class:`ArtifactRefused` naming ``what`` and the blocking findings, when blocked."""
        if not self.passed:
            raise ArtifactRefused(f"{what}: refused: {self.reason}")


def _named(findings: Sequence[Finding]) -> str:
    words = [f"{f.level.value} {f.rule_id} at {f.location}: {f.message}" for f in findings[:_NAMED]]
    if len(findings) > _NAMED:
        words.append(f"and {len(findings) - _NAMED} more")
    return "; ".join(words)


def judge_artifact(findings: Sequence[Finding]) -> ArtifactVerdict:
    """Blocked when any finding is at error level; the reason names the rule, place and message of each."""
    errors = [f for f in findings if f.level is Level.ERROR]
    if errors:
        return ArtifactVerdict(False, f"artifact scan blocked: {_named(errors)}", tuple(findings))
    warnings = [f for f in findings if f.level is Level.WARNING]
    if warnings:
        return ArtifactVerdict(True, f"artifact scan passed with {len(warnings)} warning(s): {_named(warnings)}",
                               tuple(findings))
    notes = len(findings)
    return ArtifactVerdict(True, "artifact scan passed: " + (f"{notes} note(s)" if notes else "no findings"),
                           tuple(findings))
