"""Scan Python source for injectable data flows and insecure API use: the entry points of the code scanner."""

from __future__ import annotations

import ast
from collections.abc import Mapping

from foresight.security.code import rules
from foresight.security.code.interpreter import ModuleInfo, Project
from foresight.security.code.parsing import parse_tolerant
from foresight.security.findings import Finding, Location

__all__ = ["module_name", "scan_python_source", "scan_python_tree"]


def module_name(path: str) -> str:
    """The dotted module name a file path stands for (``src/app/views.py`` -> ``src.app.views``)."""
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    if parts and parts[-1].endswith(".py"):
        parts[-1] = parts[-1][:-3]
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts) or "__main__"


def _parse(source: str, path: str) -> tuple[ast.Module, list[Finding]]:
    parsed = parse_tolerant(source)
    notes = [Finding(rules.PARSE.id, rules.PARSE.level, f"not analysed: {why}", Location(path, line=line))
             for line, why in parsed.skipped]
    return parsed.module, notes


def scan_python_tree(sources: Mapping[str, str]) -> list[Finding]:
    """Findings of every file of one tree (``path -> source``), with calls followed across its modules.

    A module imports another of the tree by its dotted path from the tree's root, or by any dotted
    suffix of it that no other module of the tree shares (``from helpers import run`` finds
    ``src/app/helpers.py`` when it is the only ``helpers``).
    """
    modules: list[ModuleInfo] = []
    notes: list[Finding] = []
    for path, source in sources.items():
        tree, skipped = _parse(source, path)
        notes.extend(skipped)
        modules.append(ModuleInfo(module_name(path), path, tree))
    project = Project(modules)
    shorter: dict[str, list[ModuleInfo]] = {}
    for module in modules:  # imports of a tree's module by a shorter name, when only one module has it
        parts = module.name.split(".")
        for start in range(1, len(parts)):
            shorter.setdefault(".".join(parts[start:]), []).append(module)
    for name, candidates in shorter.items():
        if len(candidates) == 1:
            project.modules.setdefault(name, candidates[0])
    try:
        findings = project.run()
    except RecursionError:
        findings = sorted(project.findings.values(), key=lambda f: (f.location.path, f.location.line or 0))
        notes.append(Finding(rules.PARSE.id, rules.PARSE.level, "nested too deeply to analyse completely",
                             Location(next(iter(sources), "<source>"), line=1)))
    return [*notes, *findings]


def scan_python_source(source: str, path: str) -> list[Finding]:
    """Findings of one Python file: taint flows within it (across its functions) and insecure API use."""
    return scan_python_tree({path: source})
