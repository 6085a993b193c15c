"""Pausing Python's cyclic garbage collector around work that builds many objects and frees them all.

Reference counting frees almost everything a reconcile round or a pickle walk allocates; the cyclic
collector only finds cycles. But it runs on allocation counts, and work that keeps thousands of new
objects alive until it ends (a round's 10,000 audit records, a walk's stack) sets it off again and
again, each time rescanning the objects that survived: at 10,000 workloads, 40% of a round's CPU
time went to collections that found nothing. Paused, the collector's deferred young-generation pass
runs once, after the work, when the counts say so.

Work whose survivors are long-lived by design (a round's workload states, kept for the next round,
and its records, kept until the audit flush) can skip even that pass: ``promote=True`` moves what
survived into the oldest generation unexamined, as a young collection finding nothing would have
done (at 10,000 workloads that pass took 30-70 ms of a round and collected nothing). A cycle made
in the block is then found by the next full collection instead of the next young one. Skipped in
a program that froze objects itself (:func:`gc.freeze`): promotion would thaw them.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused_collector"]


@contextmanager
def paused_collector(*, promote: bool = False) -> Iterator[None]:
    """Disable the cyclic collector for the block; re-enable it after only if it was enabled before
    (so pauses nest, and a program that turned it off keeps it off). ``promote``: what survived the
    block goes to the oldest generation (module docstring).

    >>> with paused_collector():
    ...     gc.isenabled()
    False
    >>> gc.isenabled()
    True
    >>> with paused_collector(promote=True):
    ...     kept = [[i] for i in range(1000)]
    >>> gc.get_count()[0] < 1000, gc.get_freeze_count()
    (True, 0)
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            if promote and gc.get_freeze_count() == 0:
                gc.freeze()  # every tracked object to the permanent generation, the young counts reset...
                gc.unfreeze()  # ...and back, into the oldest generation: no pass over the block's survivors
            gc.enable()
