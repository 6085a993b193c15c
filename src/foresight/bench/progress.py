"""How a long benchmark says how far it is: it calls a :data:`Progress` callback and never prints.

The command line draws the bar from it (:mod:`foresight.cli.progress`); a test or a notebook passes
its own callback, or keeps :func:`silent`.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Progress", "part", "silent"]

#: Called with what runs now (``"alibaba: 12 policies, 1.00 d simulated"``) and the share of the
#: whole benchmark already done, in [0, 1].
Progress = Callable[[str, float], None]


def silent(what: str, done: float) -> None:
    """Report nowhere: the default of every benchmark."""


def part(progress: Progress, index: int, count: int) -> Progress:
    """The callback for part ``index`` of ``count`` equal parts: its own shares mapped into the whole.

    >>> seen = []
    >>> part(lambda what, done: seen.append((what, done)), 1, 4)("b", 0.5)
    >>> seen
    [('b', 0.375)]
    """
    return lambda what, done: progress(what, (index + done) / count)
