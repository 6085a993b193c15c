"""The README's two quick-start commands are the ones that work: CI runs the second verbatim."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def quick_start() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section)


def test_the_first_command_installs_and_runs_the_demo() -> None:
    first = quick_start()[0]
    assert "pip install -e ." in first and first.rstrip().endswith("foresight demo")


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    second = quick_start()[1]
    install_and_test = second.split(" && ", 2)[2]  # after creating and activating the venv
    assert install_and_test == "pip install -e '.[dev]' && python -m pytest -q"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert install_and_test.replace("pip install -e", "pip install -q -e") in ci
