"""Spot GPU capacity: when it can be had, when it is taken back (with a notice), and what it costs.

The market alternates between *available* and *reclaimed* periods (exponential durations with
means ``mean_available_s`` and ``mean_reclaimed_s``): while reclaimed, no spot replica is granted and
every running one is interrupted at the period's start. Besides, each spot replica is reclaimed on its own
at ``interruptions_per_hour`` (a Poisson process). An interruption is announced ``notice_s`` before it
happens (the 2-minute notice of the large clouds). Prices are parameters, in $ per GPU-hour.

The Alibaba spot-GPU trace beside the checkout holds only the node inventory (its job file with
spot/high-priority jobs is missing), so interruption behaviour is synthesised here from these
parameters; the inventory gives the benchmark its pool's GPU type (see ``foresight bench cost``).

>>> market = SpotMarket(on_demand_usd_per_gpu_h=1.0, spot_usd_per_gpu_h=0.3)
>>> process = SpotProcess(market, horizon_s=86400.0, seed=0)
>>> process.available(0.0) in (True, False), process.interruption_after(0.0) > 0.0
(True, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from foresight.errors import ConfigError

__all__ = ["SpotMarket", "SpotProcess"]


@dataclass(frozen=True)
class SpotMarket:
    """Prices and the interruption behaviour of one spot GPU pool."""

    on_demand_usd_per_gpu_h: float
    spot_usd_per_gpu_h: float
    interruptions_per_hour: float = 0.05
    mean_available_s: float = 12 * 3600.0
    mean_reclaimed_s: float = 1800.0
    notice_s: float = 120.0

    def __post_init__(self) -> None:
        numbers = (self.on_demand_usd_per_gpu_h, self.spot_usd_per_gpu_h, self.interruptions_per_hour,
                   self.mean_available_s, self.mean_reclaimed_s, self.notice_s)
        if not all(math.isfinite(v) and v >= 0 for v in numbers):
            raise ConfigError(f"spot market: prices, rates, durations and notice must be finite and >= 0, got {self}")
        if self.mean_available_s <= 0:
            raise ConfigError("spot market: mean_available_s must be > 0 (spot capacity is never available otherwise)")

    def cost_usd(self, on_demand_gpu_s: float, spot_gpu_s: float) -> float:
        """Dollars for GPU-seconds held on demand and on spot."""
        return (on_demand_gpu_s * self.on_demand_usd_per_gpu_h + spot_gpu_s * self.spot_usd_per_gpu_h) / 3600.0


class SpotProcess:
    """One seeded draw of the market over ``[0, horizon_s]``: reclaimed periods and per-replica interruptions."""

    def __init__(self, market: SpotMarket, horizon_s: float, seed: int) -> None:
        self.market = market
        self._rng = np.random.default_rng(seed)
        starts, ends, t = [], [], float(self._rng.exponential(market.mean_available_s))
        while t < horizon_s:
            length = float(self._rng.exponential(market.mean_reclaimed_s)) if market.mean_reclaimed_s > 0 else 0.0
            starts.append(t)
            ends.append(t + length)
            t += length + float(self._rng.exponential(market.mean_available_s))
        self.reclaimed_from = np.asarray(starts)
        self.reclaimed_until = np.asarray(ends)

    def available(self, t: float) -> bool:
        """Whether a spot replica asked for at ``t`` is granted: not while reclaimed, nor once its notice is out."""
        i = int(np.searchsorted(self.reclaimed_from, t + self.market.notice_s, side="right")) - 1
        return i < 0 or t >= self.reclaimed_until[i]

    def interruption_after(self, t: float) -> float:
        """When a spot replica granted at ``t`` is taken back: the next reclaimed period or its own reclaim."""
        i = int(np.searchsorted(self.reclaimed_from, t, side="right"))
        market_wide = float(self.reclaimed_from[i]) if i < len(self.reclaimed_from) else math.inf
        rate = self.market.interruptions_per_hour / 3600.0
        own = t + float(self._rng.exponential(1.0 / rate)) if rate > 0 else math.inf
        return min(market_wide, own)
