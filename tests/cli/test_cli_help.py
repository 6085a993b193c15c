"""``--help`` of every command shows what a user types: no ``<bool>`` beside a flag, no ``<list[str]>``,
no ``{argument}`` in the usage line; and the pages the README points to say what it says."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import typer
from typer.testing import CliRunner

from foresight.cli import cli
from foresight.specs.crd import PLURALS

runner = CliRunner()

def _paths() -> Iterator[list[str]]:
    def walk(group: typer.core.TyperGroup, prefix: list[str]) -> Iterator[list[str]]:
        yield prefix
        for name, command in group.commands.items():
            if hasattr(command, "commands"):
                yield from walk(command, [*prefix, name])
            else:
                yield [*prefix, name]

    return walk(typer.main.get_command(cli), [])


@pytest.mark.parametrize("path", list(_paths()), ids=lambda p: " ".join(p) or "foresight")
def test_help_shows_placeholders_only_for_values(path: list[str]) -> None:
    result = runner.invoke(cli, [*path, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output and "<list[" not in result.output, result.output
    usage = next(line for line in result.output.splitlines() if "Usage:" in line)
    assert not re.search(r"\{\w+\}", usage), usage


def test_drift_usage_names_its_arguments_in_capitals() -> None:
    usage = runner.invoke(cli, ["drift", "--help"], terminal_width=200).output
    assert "foresight drift [OPTIONS] REFERENCE CURRENT" in usage


def test_crds_help_names_every_custom_resource() -> None:
    text = " ".join(runner.invoke(cli, ["crds", "--help"], terminal_width=200).output.split())
    assert all(kind in text for kind in PLURALS) and len(PLURALS) == 4


def test_render_help_shows_the_spec_file_form() -> None:
    text = " ".join(runner.invoke(cli, ["render", "--help"], terminal_width=200).output.split())
    assert "foresight render SPEC.yaml [--out DIR]" in text
    assert "Usage: foresight render [OPTIONS] SPEC.yaml | COMMAND [ARGS]..." in text


def test_help_paragraphs_wrap_once() -> None:
    """A docstring's line breaks do not survive into the help (the terminal wraps the paragraph)."""
    lines = runner.invoke(cli, ["bench", "nab", "--help"]).output.splitlines()
    paragraph = next(i for i, line in enumerate(lines) if line.strip().startswith("Scores:"))
    assert all(len(line.strip()) > 40 for line in lines[paragraph:paragraph + 3]), lines[paragraph:paragraph + 4]


def test_exit_statuses_are_documented_in_the_root_help() -> None:
    text = " ".join(runner.invoke(cli, ["--help"], terminal_width=200).output.split())
    assert "Exit status: 0 done" in text and "70 a bug in Foresight" in text
