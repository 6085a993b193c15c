"""Every command, given bad input, answers with one ``error:`` line and a non-zero exit, never a traceback.

The commands are found by walking the command a user runs (``foresight.cli.cli``), so a new command
is checked without a new test. Each example gives one parameter a bad value (a binary, latin-1,
deeply nested, empty or unsorted file, a folder, a missing path, a negative, NaN or infinite
number, a word where a choice or a URL or a duration is expected) and the others a cheap valid value.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from types import FrameType
from typing import Any, get_args

import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from foresight.cli import cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

#: Commands that start servers or run for minutes whatever their options (checked elsewhere).
SKIPPED = {"serve", "watch", "operator run", "bench api", "bench autoscale", "bench nab", "bench forecast",
           "bench drift"}

#: Cheap valid arguments and options of the commands that need some ({name}: a file of ``files``).
BASE: dict[str, tuple[list[str], list[str]]] = {
    "demo": ([], ["--duration", "1h", "--services", "4", "--no-live", "--out", "{out}"]),
    "detect": ([], ["--input", "{series}", "--output", "{out}/scores.csv"]),
    "deploy": (["{spec}"], ["--repo", "{out}/repo"]),
    "render spec": (["{spec}"], []),
    "render autoscaling": ([], ["--workload", "api", "--namespace", "prod", "--capacity-rps", "40"]),
    "render chart": ([], ["--out", "{out}"]),
    "drift": (["{table}", "{table}"], ["--format", "json"]),
    "bench sim": ([], ["--days", "0.01", "--services", "4"]),
    "bench detect": ([], ["--series", "10", "--steps", "1"]),
    "bench canary": ([], ["--trials", "2", "--horizon", "5"]),
    "bench drift-monitor": ([], ["--seeds", "1", "--days", "0.01", "--features", "3", "--reference-rows", "50",
                                 "--window-rows", "20"]),
    "model register": ([], ["--name", "m", "--data", "{table}", "--registry-uri", "{out}/registry.db"]),
    "model list": ([], ["--registry-uri", "{out}/registry.db"]),
    "model promote": ([], ["--name", "m", "--version", "1", "--registry-uri", "{out}/registry.db"]),
    "model lineage": ([], ["--name", "m", "--registry-uri", "{out}/registry.db"]),
    "crds": ([], ["--out", "{out}/crds"]),
    "scan": (["{series}"], []),
}

#: Path parameters that are read: text (a bad file must fail), any file or folder (a missing one must fail),
#: or a folder (a file there must fail).
INPUT_FILES = {"trace", "input", "spec_file", "values", "reference", "current", "config"}
INPUT_BYTES = {"data", "model_file"}
INPUT_FOLDERS = {"chart", "schema_dir", "code_dir", "data_dir"}

#: Values that are not bad for one parameter (an empty values file is an empty mapping).
FINE = {"values": {"empty"}}

#: Text options with a grammar, and words outside it.
BAD_TEXT = {
    "audit_url": ["garbage", "mysql://x@127.0.0.1/x", "postgresql://u@host:port/db", "nosuch://x"],
    "duration": ["soon", "-1h", "nan", ""],
    "policy": ["magic", ""],
    "detector": ["no-such-detector"],
}

#: Bad numbers: every numeric option of Foresight is finite, and none means anything below 0.
BAD_NUMBERS = ["nan", "inf", "-inf", "1e400", "-1", "-1000000", "seven", ""]


def _commands() -> Iterator[tuple[str, Any]]:
    def walk(group: Any, prefix: str) -> Iterator[tuple[str, Any]]:
        for name, command in group.commands.items():
            path = f"{prefix} {name}".strip()
            if hasattr(command, "commands"):
                yield from walk(command, path)
            elif path not in SKIPPED:
                yield path, command

    return walk(typer.main.get_command(cli), "")


COMMANDS = dict(_commands())


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Good inputs for the base arguments and one file or path of every bad kind."""
    root = tmp_path_factory.mktemp("inputs")
    made = {
        "series": ("series.csv", "timestamp,value\n" + "".join(f"{60 * k},{k % 7}\n" for k in range(1, 50))),
        "table": ("table.csv", "a,b\n" + "".join(f"{k},{k % 3}\n" for k in range(40))),
        "binary": ("binary.dat", bytes(range(256)) * 4),
        "latin1": ("latin1.csv", "timestamp,valeur\n60,caf\xe9\n".encode("latin-1")),
        "nested": ("nested.yaml", "[" * 5000),
        "empty": ("empty.csv", ""),
        "unsorted": ("unsorted.csv", "timestamp,value\n120,1\n60,2\n"),
    }
    paths = {}
    for key, (name, content) in made.items():
        path = root / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        paths[key] = path
    paths["spec"] = EXAMPLES / "training-jobs.yaml"
    paths["folder"] = root / "a-folder"
    paths["folder"].mkdir()
    paths["missing"] = root / "missing" / "nothing.csv"
    return paths


#: Bad inputs for a file, for a folder, and bad places for an output (which may exist: it is replaced).
BAD_FILES = ["binary", "latin1", "nested", "empty", "unsorted", "folder", "missing", "/proc/no/such/dir"]
BAD_BYTES = ["missing", "/proc/no/such/dir"]
BAD_FOLDERS = ["binary", "missing", "/proc/no/such/dir"]
BAD_OUTPUTS = ["/proc/no/such/dir"]


def _bad_value(param: Any) -> st.SearchStrategy[str] | None:
    """What to give ``param`` that no command may accept; None for a value that could be valid."""
    annotation = param.type_descriptor.annotation
    inner = get_args(annotation)[0] if get_args(annotation) else annotation
    if param.type_descriptor.is_choice or (isinstance(inner, type) and issubclass(inner, Enum)):
        return st.just("no-such-choice")
    if inner in (int, float):
        return st.sampled_from(BAD_NUMBERS)
    if param.name in BAD_TEXT:
        return st.sampled_from(BAD_TEXT[param.name])
    if inner is Path:
        bad = (BAD_FILES if param.name in INPUT_FILES else BAD_BYTES if param.name in INPUT_BYTES
               else BAD_FOLDERS if param.name in INPUT_FOLDERS else BAD_OUTPUTS)
        return st.sampled_from([kind for kind in bad if kind not in FINE.get(param.name, set())])
    return None


class _TooSlow(BaseException):
    """Raised past the time limit: a bad value was accepted and work started (not caught by the boundary)."""


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise _TooSlow()


def _run(args: list[str], limit_s: int = 60) -> Any:
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(limit_s)
    try:
        return CliRunner().invoke(cli, args)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("name", sorted(COMMANDS))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_bad_input_is_one_line_never_a_traceback(name: str, data: st.DataObject, files: dict[str, Path],
                                                 tmp_path: Path) -> None:
    command = COMMANDS[name]
    candidates = [p for p in command.params if not getattr(p, "is_flag", False) and _bad_value(p) is not None]
    if not candidates:
        pytest.skip(f"{name} takes no value that can be bad")
    param = data.draw(st.sampled_from(candidates), label="parameter")
    value = data.draw(_bad_value(param), label="value")  # type: ignore[arg-type]
    value = str(files[value]) if value in files else value
    names = {f"{{{key}}}": str(path) for key, path in files.items()} | {"{out}": str(tmp_path / "out")}
    positional, options = ([_fill(arg, names) for arg in part] for part in BASE.get(name, ([], [])))
    if param.param_type_name == "argument":
        positional[[p for p in command.params if p.param_type_name == "argument"].index(param)] = value
    else:
        options = [*_without(options, param.opts[0]), f"{param.opts[0]}={value}"]

    result = _run([*name.split(), *positional, *options])

    shown = result.output
    assert "Traceback" not in shown and 'File "' not in shown, shown
    assert result.exit_code != 0, f"{name} {positional} {options} was accepted:\n{shown}"
    errors = [line for line in shown.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, shown
    assert "internal error" not in errors[0], errors[0]


def _fill(arg: str, names: dict[str, str]) -> str:
    for key, path in names.items():
        arg = arg.replace(key, path)
    return arg


def _without(args: list[str], option: str) -> list[str]:
    """``args`` without ``option`` and its value (the example gives it its own)."""
    if option not in args:
        return args
    i = args.index(option)
    return args[:i] + args[i + 2:]
