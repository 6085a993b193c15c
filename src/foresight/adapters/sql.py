"""Where Foresight's SQL stores (audit log, local model registry) agree on URLs and error text.

A store is named by a SQLAlchemy URL (PostgreSQL in production) or by a plain file path (a SQLite
file, the embedded default); errors quote the driver's own first line, not SQLAlchemy's wrapper.
"""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError

from foresight.errors import ConfigError

__all__ = ["database_url", "driver_message"]


def database_url(location: str | os.PathLike[str], store: str) -> URL:
    """A SQLAlchemy URL from a URL string or a plain file path (a SQLite file, parents created).

    >>> database_url("postgresql+psycopg://root@127.0.0.1/test", "audit store").drivername
    'postgresql+psycopg'
    >>> database_url("::nonsense::", "audit store").drivername  # no scheme: a file path
    'sqlite'
    """
    text = os.fspath(location)
    if "://" not in text:
        path = Path(text).expanduser().resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        return URL.create("sqlite", database=str(path))
    try:
        return sa.make_url(text)
    except ArgumentError as exc:
        raise ConfigError(f"{store}: {text!r} is not a database URL or a file path ({exc})") from None


def driver_message(exc: BaseException) -> str:
    """The driver's own message, first line (SQLAlchemy wraps it with SQL and a help link)."""
    orig = getattr(exc, "orig", None) or exc
    return (str(orig).strip().splitlines() or [type(orig).__name__])[0]
