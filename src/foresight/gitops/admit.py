"""The manifest gate: what a spec renders is scanned before anyone prints, commits or applies it.

Every path that turns a spec into objects (``foresight render``, ``foresight deploy``, the
operator's apply and its GitOps commit, the feedback loop's training runs) renders, validates,
then asks :func:`admit`: the objects are scanned together with
:func:`foresight.security.scan_manifest_objects` (so the workload's own NetworkPolicy counts), and
an **error**-level finding refuses them, with a one-line reason naming each finding. A spec's
``securityOverride`` lets findings of the rule ids in its ``allow`` list through; its written
``reason`` is then what :attr:`Admission.override` says, for the deploy's commit message, the
audit log and the operator's status. Warnings and notes never block; they are reported.

Pure: objects and a spec in, a verdict out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from foresight.errors import InputError
from foresight.gitops.harden import render_warnings
from foresight.security import RULES, Finding, Level, scan_manifest_objects
from foresight.specs import Spec

__all__ = ["Admission", "ManifestRefused", "admit"]

_NAMED = 3  # findings spelled out in one line; the rest are counted


class ManifestRefused(InputError):
    """The rendered manifests have an error-level finding no ``securityOverride.allow`` lets through."""


@dataclass(frozen=True)
class Admission:
    """The manifest gate's verdict on one spec's rendered objects."""

    spec: Spec
    findings: tuple[Finding, ...]
    blocking: tuple[Finding, ...]
    allowed: tuple[Finding, ...]
    warnings: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.blocking

    @property
    def override(self) -> str | None:
        """The spec's security override in words (its reason and what it lets through); None without one."""
        given = self.spec.spec.security_override
        if given is None:
            return None
        name = f"{self.spec.kind}/{self.spec.metadata.name}"
        lets = f"; lets through {_named(self.allowed)}" if self.allowed else ""
        return f"security override of {name}: {given.reason}{lets}"

    def raise_if_blocked(self, what: str) -> None:
        """:class:`ManifestRefused` (one line, naming the blocking findings) when anything blocks."""
        if self.blocking:
            ids = sorted({f.rule_id for f in self.blocking})
            raise ManifestRefused(
                f"{what}: refused by the manifest scan: {_named(self.blocking)} (if this is intended, set "
                f"securityOverride.reason and allow: [{', '.join(ids)}] in the spec)"
            )

    def report(self) -> list[str]:
        """Lines for a person: render warnings, the override, then every non-blocking finding."""
        lines = [f"warning: {w}" for w in self.warnings]
        if self.override is not None:
            lines.append(self.override)
        lines += [f"{f.level.value}: {f.rule_id} {_name(f)}: {f.message}" for f in self.findings
                  if f not in self.blocking and f.level is not Level.NOTE]
        return lines


def _name(finding: Finding) -> str:
    rule = RULES.rules.get(finding.rule_id)
    return f"({rule.name})" if rule is not None else ""


def _named(findings: Sequence[Finding]) -> str:
    words = [f"{f.level.value} {f.rule_id} {_name(f)} {f.message}" for f in findings[:_NAMED]]
    if len(findings) > _NAMED:
        words.append(f"and {len(findings) - _NAMED} more")
    return "; ".join(words)


def admit(spec: Spec, docs: Sequence[Mapping[str, Any]]) -> Admission:
    """Scan ``docs`` (what ``spec`` rendered) as one set and judge them (see the module docstring)."""
    findings = tuple(scan_manifest_objects(list(docs), f"{spec.kind}/{spec.metadata.name}"))
    override = spec.spec.security_override
    allow = set(override.allow) if override is not None else set()
    # a finding accepted in the manifest itself (scan.foresight.ai/accept-<rule> with a reason) no
    # longer blocks, as in `foresight scan`; it is still listed
    errors = [f for f in findings if f.level is Level.ERROR and f.accepted is None]
    blocking = tuple(f for f in errors if f.rule_id not in allow)
    allowed = tuple(f for f in errors if f.rule_id in allow)
    return Admission(spec, findings, blocking, allowed, tuple(render_warnings(spec)))
