"""Scale-out cores: which partition a series lives in, who owns a partition, and the bytes that travel.

Pure functions and records only; the broker (NATS JetStream) is reached by
:mod:`foresight.adapters.jetstream` and the worker process lives in :mod:`foresight.runtime.worker`.
"""

from __future__ import annotations

from foresight.errors import ServiceUnavailable

__all__ = ["Backpressure"]


class Backpressure(ServiceUnavailable):
    """The sample stream accepts nothing now (full, or its broker slow or away): the sender must retry.

    ``retry_after_s`` is how long a sender should wait; the remote-write receiver answers 429 with it
    as ``Retry-After``, so Prometheus keeps the samples and sends them again instead of losing them.
    """

    def __init__(self, message: str, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
