"""Parsing of the human-sized quantities users type (durations such as ``1d`` or ``90m``)."""

from __future__ import annotations

import re

from foresight.errors import InputError

__all__ = ["parse_duration"]

_UNITS_S = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")


def parse_duration(text: str) -> float:
    """Seconds in a duration written as a number and an optional unit (s, m, h, d, w; default s).

    >>> parse_duration("1d"), parse_duration("90m"), parse_duration("15")
    (86400.0, 5400.0, 15.0)
    """
    match = _DURATION.match(text)
    if match is None or float(match.group(1)) <= 0:
        raise InputError(
            f"invalid duration {text!r}: write a positive number and a unit, e.g. 90s, 30m, 6h, 1d, 1w"
        )
    return float(match.group(1)) * _UNITS_S[match.group(2) or "s"]
