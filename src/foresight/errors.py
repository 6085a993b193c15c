"""Exceptions that carry their recovery: a user error names what to fix, a temporary one when to retry.

The CLI turns a :class:`ForesightError` into a one-line message and a non-zero exit code, never a
traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

__all__ = ["ConfigError", "ForesightError", "InputError", "NotFound", "ServiceUnavailable"]


class ForesightError(Exception):
    """Base of every error a user can cause or repair; ``exit_code`` is what the CLI returns."""

    exit_code = 2


class InputError(ForesightError):
    """A file or value the user gave is malformed; the message names the file, line or field."""


class ConfigError(ForesightError):
    """A setting or spec is impossible (min > max replicas, a cyclic topology, ...)."""


class NotFound(ConfigError):
    """What was asked for does not exist there: a Kubernetes kind whose CRD is not installed, for one
    (an optional kind's absence is no error to its reader)."""


class ServiceUnavailable(ForesightError):
    """A real service (PostgreSQL, Prometheus, ...) cannot be reached; worth retrying later."""

    exit_code = 3

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
