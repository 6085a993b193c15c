"""What every scanner reports: rules with stable ids, findings at a level and a place, one error type.

A scanner (model artifacts today; manifests and code later) returns :class:`Finding` values that
name a :class:`Rule` by id; the rule carries what a finding means (its help text, its CWE, its
default level), so the SARIF writer, the text report and the registry gate all read one
registry (:data:`RULES`). Ids never change once released: CI suppressions and dashboards key on them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum

from foresight.errors import InputError

__all__ = ["RULES", "Finding", "Level", "Location", "MalformedArtifact", "Rule", "RuleRegistry", "worst"]


class MalformedArtifact(InputError):
    """Bytes that do not parse as the format their content claims. Scanners turn it into an error
    finding (fail closed): what cannot be read cannot be shown to be safe."""

    def __init__(self, message: str, offset: int | None = None) -> None:
        super().__init__(message if offset is None else f"{message} (at byte {offset})")
        self.offset = offset


class Level(str, Enum):
    """SARIF's result levels, in increasing severity order of :data:`_RANK`."""

    NOTE = "note"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Level.NOTE: 0, Level.WARNING: 1, Level.ERROR: 2}


@dataclass(frozen=True)
class Location:
    """Where a finding is: a file, and inside it a line (text formats) or a byte offset (binary ones).

    ``members`` is the path through containers to the part that holds the finding (a ZIP member, a
    tar member, a decompressed stream, a pickle nested in a pickle); offsets then count inside the
    innermost member, so ``byte_offset`` is only a file offset when ``members`` is empty.
    """

    path: str
    line: int | None = None
    byte_offset: int | None = None
    members: tuple[str, ...] = ()

    def inside(self, member: str) -> Location:
        """The same file, one container deeper (offsets restart in the member)."""
        return Location(self.path, members=(*self.members, member))

    def at(self, *, line: int | None = None, byte_offset: int | None = None) -> Location:
        return Location(self.path, line=line, byte_offset=byte_offset, members=self.members)

    def __str__(self) -> str:
        where = "!/".join((self.path, *self.members))
        if self.line is not None:
            return f"{where}:{self.line}"
        return f"{where}@{self.byte_offset}" if self.byte_offset is not None else where


@dataclass(frozen=True)
class Rule:
    """A kind of finding. ``cwe`` is the weakness number: SARIF's first tag is ``external/cwe/cwe-N``."""

    id: str
    name: str
    summary: str
    help: str
    cwe: int
    level: Level
    tags: tuple[str, ...] = ("security",)


@dataclass(frozen=True)
class Finding:
    """One thing a scanner found: which rule, how bad, what exactly, and where."""

    rule_id: str
    level: Level
    message: str
    location: Location
    #: why a person accepted this finding (an annotation beside it in the manifest), None while it stands:
    #: an accepted finding is still reported (SARIF ``suppressions``) but no longer decides the exit status
    accepted: str | None = None

    def __str__(self) -> str:
        text = f"{self.location}: {self.level.value} {self.rule_id}: {self.message}"
        return text if self.accepted is None else f"{text} (accepted: {self.accepted})"


@dataclass
class RuleRegistry:
    """Every rule by id; scanners register theirs when their module is imported."""

    rules: dict[str, Rule] = field(default_factory=dict)

    def add(self, rule: Rule) -> Rule:
        known = self.rules.get(rule.id)
        if known is not None and known != rule:
            raise ValueError(f"rule id {rule.id} is already used by {known.name}")
        self.rules[rule.id] = rule
        return rule

    def __getitem__(self, rule_id: str) -> Rule:
        return self.rules[rule_id]

    def __iter__(self) -> Iterator[Rule]:
        return iter(sorted(self.rules.values(), key=lambda rule: rule.id))


#: the one registry every scanner's rules live in
RULES = RuleRegistry()


def worst(findings: list[Finding]) -> Level | None:
    """The highest level among ``findings`` that are not accepted; None when there are none."""
    return max((finding.level for finding in findings if finding.accepted is None), key=lambda level: level.rank,
               default=None)
