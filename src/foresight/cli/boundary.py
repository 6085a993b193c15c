"""The one error boundary of the ``foresight`` command: every failure becomes one line on stderr.

Commands raise; only this module decides what the user sees and the exit status
(:data:`foresight.cli.app.EXIT_CODES`). Known kinds of error say what went wrong with which input:

* a :class:`~foresight.errors.ForesightError` (its message names the file, line or field);
* a usage error (a wrong option or argument, found by the parser);
* a pydantic ``ValidationError`` that no command turned into one first (each field and what is
  wrong with it);
* an ``OSError`` (the path and the system's reason).

Anything else is a bug: its traceback goes to a file whose path the line names, so the user has
something to attach to a report and the terminal stays readable.
"""

from __future__ import annotations

import sys
import tempfile
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from typer import Abort
from typer._click.exceptions import (  # typer's own copy of click
    ClickException,
    NoArgsIsHelpError,
    UsageError,
)

from foresight.cli.app import EXIT_BUG, EXIT_IO, ForesightGroup
from foresight.errors import ForesightError, InputError

__all__ = ["ErrorBoundary", "explain"]


def _validation(exc: ValidationError) -> str:
    """``Model: field.path: what is wrong (got value)`` for each error, on one line."""
    problems = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]) or "(value)"
        message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(f"{field}: {message} (got {error.get('input')!r})")
    return f"{exc.title}: " + "; ".join(problems)


def _os(exc: OSError) -> str:
    """The path(s) and the system's reason, and what to check."""
    where = " -> ".join(str(name) for name in (exc.filename, exc.filename2) if name is not None)
    reason = exc.strerror or str(exc)
    return f"{where}: {reason}; check the path and its permissions" if where else reason


def explain(exc: BaseException) -> tuple[str, int] | None:
    """The one-line message and exit status of a known kind of error; None for a bug."""
    if isinstance(exc, ForesightError):
        return str(exc), exc.exit_code
    if isinstance(exc, ValidationError):
        return _validation(exc), InputError.exit_code
    if isinstance(exc, OSError):
        return _os(exc), EXIT_IO
    return None


def _save_traceback(exc: BaseException, argv: Sequence[str]) -> Path | None:
    """Write the command line and ``exc``'s traceback to a new temporary file; None if that fails too."""
    try:
        with tempfile.NamedTemporaryFile(
            "w", prefix="foresight-error-", suffix=".txt", delete=False, encoding="utf-8"
        ) as handle:
            handle.write("foresight " + " ".join(argv) + "\n\n")
            traceback.print_exception(exc, file=handle)
    except OSError:
        return None
    return Path(handle.name)


def _bug(exc: BaseException, argv: Sequence[str]) -> str:
    summary = (str(exc).strip().splitlines() or [""])[0][:200]
    saved = _save_traceback(exc, argv)
    where = f"the traceback is in {saved}" if saved else "its traceback could not be saved"
    return f"internal error {type(exc).__name__}: {summary} (a bug in Foresight; {where}: please attach it to a report)"


def _usage(exc: UsageError) -> str:
    hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
    return exc.format_message() + hint


class ErrorBoundary(ForesightGroup):
    """The root group as a user runs it: parses, runs the command, and turns every failure into one line."""

    def main(  # type: ignore[override]
        self, args: Sequence[str] | None = None, prog_name: str | None = None, **extra: Any
    ) -> None:
        argv = list(sys.argv[1:] if args is None else args)
        extra.pop("standalone_mode", None)
        try:
            outcome = super().main(argv, prog_name, standalone_mode=False, **extra)
        except NoArgsIsHelpError as exc:  # the help is the message (typer has printed it already)
            exc.show()
            sys.exit(exc.exit_code)
        except UsageError as exc:
            sys.exit(_say(_usage(exc), exc.exit_code))
        except ClickException as exc:
            sys.exit(_say(exc.format_message(), exc.exit_code))
        except Abort:
            sys.exit(_say("aborted", 1))
        except Exception as exc:  # noqa: BLE001  (the boundary: every failure of every command ends here)
            known = explain(exc)
            sys.exit(_say(*known) if known is not None else _say(_bug(exc, argv), EXIT_BUG))
        sys.exit(outcome if isinstance(outcome, int) else 0)


def _say(message: str, code: int) -> int:
    """Print ``error: message`` on stderr, unwrapped (a message is one line, or one per problem)."""
    Console(stderr=True, highlight=False, soft_wrap=True).print("[bold red]error:[/]", escape(message))
    return code
