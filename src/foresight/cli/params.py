"""Checks of option values that several commands share, so each error names the option and the fix.

The parser runs the callbacks (``positive``, ``database_url``) before a command starts; the other
checks need the command's other options and run first thing in the command.
"""

from __future__ import annotations

from pathlib import Path

import typer

from foresight.adapters import sql
from foresight.errors import ConfigError, InputError

__all__ = ["DATABASE_URL_HELP", "SQLITE_SUFFIXES", "database_url", "distinct_output", "make_folder", "positive"]

#: A plain path with one of these suffixes names a SQLite file; anything else must be a URL.
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
_BACKENDS = {"sqlite": "sqlite:///PATH.db", "postgresql": "postgresql+psycopg://USER:PASSWORD@HOST:5432/DB"}

DATABASE_URL_HELP = (
    "A SQLAlchemy URL with its scheme (" + ", ".join(_BACKENDS.values()) + "), "
    f"or the path of a SQLite file ending in {', '.join(SQLITE_SUFFIXES)}."
)


def positive(value: float | None) -> float | None:
    """Parser callback: a number above 0 (finiteness is every float option's, see ``cli.app``)."""
    if value is not None and not value > 0:
        raise typer.BadParameter(f"{value:g} is not above 0")
    return value


def database_url(value: str | None) -> str | None:
    """Parser callback: a URL of a supported database whose driver is installed, or a SQLite file path.

    A bare word would otherwise become a SQLite file of that name in the current directory, and an
    unknown scheme or a missing driver would fail deep in SQLAlchemy.
    """
    if value is None:
        return None
    if "://" not in value:
        if Path(value).suffix.lower() in SQLITE_SUFFIXES:
            return value
        raise typer.BadParameter(f"{value!r} is neither a database URL nor a SQLite file path. {DATABASE_URL_HELP}")
    try:
        url = sql.database_url(value, "--audit-url")
    except (ConfigError, ValueError):  # ValueError: a port that is not a number
        raise typer.BadParameter(f"{value!r} is not a database URL. {DATABASE_URL_HELP}") from None
    backend = url.get_backend_name()
    if backend not in _BACKENDS:
        raise typer.BadParameter(f"{backend!r} databases are not supported; use {' or '.join(_BACKENDS.values())}")
    try:
        url.get_dialect().import_dbapi()
    except Exception as exc:  # noqa: BLE001  (an unknown driver or one not installed: the same fix)
        raise typer.BadParameter(f"the driver of {url.drivername!r} cannot be loaded ({sql.driver_message(exc)}); "
                                 f"use {_BACKENDS[backend]} (pip install 'psycopg[binary]' for PostgreSQL)") from None
    return value


def make_folder(option: str, path: Path) -> Path:
    """Create the output folder ``path`` now, so a bad one fails before any work, naming ``option``."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{option} {path}: cannot create this folder ({exc.strerror or exc}); "
                         "give a folder you can write to") from None
    return path


def distinct_output(output: Path, inputs: dict[str, Path]) -> None:
    """Refuse an output file that is one of the inputs: writing it would destroy what is being read."""
    for option, source in inputs.items():
        if output.resolve() == source.resolve():
            raise InputError(f"--output {output} is the {option} file; writing it would overwrite the input: "
                             "give another path")
