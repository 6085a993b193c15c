"""Back-pressure per device: a token bucket over messages, so one flooding device cannot starve a fleet.

A broker passes on whatever a device publishes; a device stuck in a loop (or a compromised one)
can send thousands of messages a second, and a consumer that decodes and scores them all falls
behind on every other device. Each device gets ``rate_per_s`` messages a second on average and
bursts of up to ``burst`` (a device back from an outage replays its backlog in a few large
messages, which the burst covers); messages beyond that are dropped and counted against the
device, so the flood is visible in the fleet view rather than silent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["TokenBuckets"]


@dataclass
class TokenBuckets:
    """Token buckets keyed by device, refilled from the arrival times they are given.

    >>> buckets = TokenBuckets(rate_per_s=1.0, burst=2)
    >>> [buckets.allow("d", now=0.0) for _ in range(3)], buckets.allow("d", now=1.0), buckets.dropped
    ([True, True, False], True, {'d': 1})
    """

    rate_per_s: float
    burst: int
    tokens: dict[str, tuple[float, float]] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.rate_per_s > 0 or self.burst < 1:
            raise ValueError(f"need rate_per_s > 0 and burst >= 1, got {self.rate_per_s}, {self.burst}")

    def allow(self, device: str, now: float) -> bool:
        """Whether ``device`` may send a message arriving at ``now`` (spends a token if so)."""
        level, since = self.tokens.get(device, (float(self.burst), now))
        level = min(float(self.burst), level + max(now - since, 0.0) * self.rate_per_s)
        if level >= 1.0:
            self.tokens[device] = (level - 1.0, now)
            return True
        self.tokens[device] = (level, now)
        self.dropped[device] = self.dropped.get(device, 0) + 1
        return False
