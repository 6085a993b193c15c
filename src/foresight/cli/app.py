"""The typer applications every command module registers on (``foresight`` and ``foresight bench``).

Commands are built with :class:`ForesightCommand` and groups with :class:`ForesightGroup`, whose
help shows a value placeholder only where an option takes a value: typer writes ``<bool>`` beside
every flag (``--json``, ``--help``), ``<list[str]>`` beside a repeatable option and ``{reference}``
for a required argument, none of which is what a user types; and it keeps a docstring's line breaks
after the first paragraph, so help text wraps twice. Their float options also refuse NaN and
infinities, which the parser's ranges let through (``nan`` is neither below nor above a minimum) and
which no option of Foresight means.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any, get_args

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from foresight.errors import InputError, ServiceUnavailable

__all__ = ["EXIT_BUG", "EXIT_CODES", "EXIT_IO", "ROOT", "ForesightCommand", "ForesightGroup", "ForesightTyper", "app", "bench_app"]

EXIT_BUG = 70  # sysexits' EX_SOFTWARE
EXIT_IO = 74  # sysexits' EX_IOERR

#: What ``foresight``'s exit status means (the error boundary, :mod:`foresight.cli.boundary`, picks it).
EXIT_CODES = {
    0: "done",
    1: "interrupted at a prompt",
    InputError.exit_code: "a wrong option, argument, file or setting (the message names it)",
    ServiceUnavailable.exit_code: "a service is unreachable: retry later",
    EXIT_BUG: "a bug in Foresight (the message names the file holding the traceback)",
    EXIT_IO: "a file or folder could not be read or written (the message names it)",
    130: "interrupted (Ctrl-C)",
}


def _placeholder(param: TyperOption) -> str | None:
    """What help shows for an option's value: nothing for a flag, the element type for a repeatable one."""
    if param.is_flag:
        return ""
    if param.multiple:
        element = get_args(param.type_descriptor.annotation)
        name = getattr(element[0], "__name__", str(element[0])) if element else "str"
        return f"<{name.lower()}>"
    return None


def _finite(callback: Callable[..., Any] | None) -> Callable[..., Any]:
    """A parameter callback that refuses NaN and infinities, then runs the command's own ``callback``."""

    def check(ctx: typer.Context, param: Any, value: Any) -> Any:
        for number in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(number, float) and not math.isfinite(number):
                raise typer.BadParameter(f"{number} is not a finite number", ctx=ctx, param=param)
        return callback(ctx, param, value) if callback is not None else value

    return check


def _tidy(params: list[Any]) -> None:
    """Set the placeholders typer would get wrong and refuse non-finite floats (module docstring)."""
    for param in params:
        annotation = param.type_descriptor.annotation
        if annotation is float or get_args(annotation) == (float,):
            param.callback = _finite(param.callback)
        if param.metavar is not None:
            continue
        if isinstance(param, TyperOption):
            param.metavar = _placeholder(param)
        elif isinstance(param, TyperArgument):
            param.metavar = (param.name or "").upper()
            if param.nargs != 1:  # variadic: typer would show <list[Path]>; show the element, as for options
                element = get_args(annotation)
                label = getattr(element[0], "__name__", "str").lower() if element else "str"
                param.display_type_rich = lambda ctx, label=label: f"<{label}>..."


def _reflow(text: str | None) -> str | None:
    """Each paragraph of a docstring as one line, for the terminal to wrap; lists stay as written.

    >>> _reflow("Score one series.\\n\\nEmpty values are\\nmissing samples.\\n\\n- one\\n- two")
    'Score one series.\\n\\nEmpty values are missing samples.\\n\\n- one\\n- two'
    """
    if text is None:
        return None
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(
        p if any(line.lstrip().startswith(("-", "*", "\b")) for line in p.splitlines()) else " ".join(p.split("\n"))
        for p in paragraphs
    )


def _usage(command: TyperCommand, ctx: typer.Context) -> list[str]:
    """The usage line with ``NAME`` for a required argument and ``[NAME]`` for an optional one."""
    words = [command.options_metavar] if command.options_metavar else []
    for param in command.get_params(ctx):
        if isinstance(param, TyperArgument):
            name = (param.metavar or "") + ("..." if param.nargs != 1 else "")
            words.append(name if param.required else f"[{name}]")
        else:
            words.extend(param.get_usage_pieces(ctx))
    return words


class ForesightCommand(TyperCommand):
    """A command whose help shows placeholders only for values (module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help = _reflow(self.help)
        _tidy(self.params)

    def get_help_option(self, ctx: typer.Context) -> Any:
        option = super().get_help_option(ctx)
        if option is not None:
            _tidy([option])
        return option

    def collect_usage_pieces(self, ctx: typer.Context) -> list[str]:
        return _usage(self, ctx)


class ForesightGroup(TyperGroup):
    """A group of commands whose ``--help`` shows no ``<bool>``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help = _reflow(self.help)

    def get_help_option(self, ctx: typer.Context) -> Any:
        option = super().get_help_option(ctx)
        if option is not None:
            _tidy([option])
        return option


class ForesightTyper(typer.Typer):
    """A typer application whose groups are :class:`ForesightGroup` and commands :class:`ForesightCommand`."""

    def __init__(self, *, cls: type[TyperGroup] | None = None, **kwargs: Any) -> None:
        super().__init__(cls=cls or ForesightGroup, **kwargs)

    def command(self, name: str | None = None, *, cls: type[TyperCommand] | None = None, **kwargs: Any) -> Any:
        return super().command(name, cls=cls or ForesightCommand, **kwargs)


#: The root's settings, shared by ``app`` and the command a user runs (``foresight.cli.cli``).
ROOT: dict[str, Any] = {
    "name": "foresight",
    "help": "Foresight: a predictive control plane for cloud-native AI platforms.",
    "epilog": "Exit status: " + "; ".join(f"{code} {meaning}" for code, meaning in EXIT_CODES.items()) + ".",
    "no_args_is_help": True,
    "add_completion": False,
    "pretty_exceptions_enable": False,
}

app = ForesightTyper(**ROOT)
bench_app = ForesightTyper(help="Benchmarks: figures and ratios against baselines, side by side.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
