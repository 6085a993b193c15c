"""A learned forecaster: an LSTM that reads the recent load and outputs quantiles directly.

Needs PyTorch (the ``torch`` extra), imported on first use, never by ``import foresight``.

Inputs at an origin ``t``, on the log scale of :mod:`foresight.forecast.logscale` and relative
to the last value (so the network sees changes, not sizes, and "no change" is its zero): the
last ``window_steps`` values with a channel marking which were observed (gaps carry the last
value forward), and for each season ``m`` the values one season before each target,
``z[t + h - m]`` (h = 1..H), which let the network copy or ignore yesterday as the recent past
suggests. The LSTM's last hidden state and those seasonal values go through a small MLP, plus a
linear path from the seasonal values alone, to ``H x K`` outputs: the lowest quantile plus
non-negative increments (softplus), so quantiles never cross. Training takes ``train_steps``
Adam steps (learning rate decaying from 0.01 to 0.001) on batches of windows drawn from every
series (one global model), minimising the pinball loss at :data:`TRAINED_LEVELS`; other levels
are interpolated between those, and clamp at the ends.

``update`` only extends the context (no gradient steps): learning happens at ``fit``, so a
policy refits it periodically, like the other models.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from foresight.errors import ConfigError
from foresight.forecast.logscale import from_log, log_offset, to_log
from foresight.forecast.protocol import (
    HistoryTooShort,
    as_history,
    check_request,
    read_only,
)
from foresight.forecast.quantiles import at_levels

__all__ = ["TRAINED_LEVELS", "LstmForecaster", "LstmState"]

TRAINED_LEVELS = (0.02, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.98)
_BATCH = 128


def _torch() -> ModuleType:
    try:
        return importlib.import_module("torch")
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("LstmForecaster needs PyTorch: pip install 'foresight[torch]' (torch==2.13.0)") from exc


@dataclass(frozen=True)
class LstmState:
    """The trained weights and the recent context (read-only arrays, ``N`` rows each)."""

    seasons: tuple[int, ...]  # the seasons the network was trained with
    weights: dict[str, np.ndarray]  # the network's parameters
    offset: np.ndarray  # [N] c of the log scale
    context: np.ndarray  # [N, B] last B log loads, gaps filled forward
    observed: np.ndarray  # [N, B] 1.0 where the load was observed
    steps: int  # points learned so far


class LstmForecaster:
    """An LSTM quantile forecaster (module docstring); deterministic for a given ``seed``."""

    name = "lstm"

    def __init__(
        self,
        seasons_steps: Sequence[int] = (1440,),
        max_horizon_steps: int = 60,
        window_steps: int = 30,
        hidden: int = 32,
        train_steps: int = 600,
        max_windows: int = 20000,
        seed: int = 0,
        min_history_steps: int = 720,
    ) -> None:
        if window_steps < 2 or min(hidden, train_steps, max_windows, max_horizon_steps) < 1:
            raise ConfigError("LstmForecaster: window_steps >= 2; hidden, train_steps, max_windows, horizon >= 1")
        if any(m < max_horizon_steps for m in seasons_steps):
            raise ConfigError(
                f"LstmForecaster: every season ({list(seasons_steps)}) must be at least max_horizon_steps "
                f"({max_horizon_steps}): a target one season back must already be known"
            )
        if min_history_steps < window_steps + max_horizon_steps:
            raise ConfigError(
                f"LstmForecaster: min_history_steps ({min_history_steps}) must cover window_steps "
                f"+ max_horizon_steps ({window_steps + max_horizon_steps})"
            )
        self.seasons_steps = tuple(sorted(set(seasons_steps)))
        self.max_horizon_steps = max_horizon_steps
        self.window_steps = window_steps
        self.hidden = hidden
        self.train_steps = train_steps
        self.max_windows = max_windows
        self.seed = seed
        self.min_history_steps = min_history_steps

    def fit(self, history: np.ndarray) -> LstmState:
        torch = _torch()
        y = as_history(history)
        n, steps = y.shape
        have = int(np.isfinite(y).sum(axis=1).min(initial=steps))
        if have < self.min_history_steps:
            raise HistoryTooShort(self.name, have, self.min_history_steps)
        seasons = tuple(m for m in self.seasons_steps if 2 * m <= steps)
        offset = log_offset(y)
        z = to_log(y, offset)
        filled, observed = _fill_forward(z)
        horizon = self.max_horizon_steps
        first = max(self.window_steps, *seasons, 1) - 1
        origins = np.arange(first, steps - horizon)
        rows = np.repeat(np.arange(n), origins.size)
        cols = np.tile(origins, n)
        rng = np.random.default_rng(self.seed)
        if rows.size > self.max_windows:
            pick = rng.choice(rows.size, self.max_windows, replace=False)
            rows, cols = rows[pick], cols[pick]
        sequence, lags, ref = self._inputs(filled, observed, rows, cols, seasons)
        targets = z[rows[:, None], cols[:, None] + np.arange(1, horizon + 1)] - ref[:, None]

        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # a network this small gains nothing from more threads, only contention
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            net = _network(torch, self.hidden, horizon, len(seasons))
            optimiser = torch.optim.Adam(net.parameters(), lr=1e-2)
            decay = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda i: 1.0 - 0.9 * i / self.train_steps)
            data = [torch.as_tensor(a, dtype=torch.float32) for a in (sequence, lags, targets)]
            levels = torch.as_tensor(TRAINED_LEVELS, dtype=torch.float32)
            draw = torch.Generator().manual_seed(self.seed)
            for _ in range(self.train_steps):
                batch = torch.randint(len(data[0]), (_BATCH,), generator=draw)
                loss = _pinball(torch, data[2][batch], _forward(torch, net, data[0][batch], data[1][batch]), levels)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                decay.step()
        torch.set_num_threads(threads)
        weights = {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}
        read_only(*weights.values())
        keep = max(self.window_steps, *seasons, 1)
        context, observed_tail, offset = read_only(filled[:, -keep:].copy(), observed[:, -keep:].copy(), offset)
        return LstmState(seasons, weights, offset, context, observed_tail, steps)

    def update(self, state: LstmState, new: np.ndarray) -> LstmState:
        y = as_history(new, "new")
        z = to_log(y, state.offset)
        seen = np.isfinite(z)
        joined = np.concatenate([state.context, z], axis=1)
        filled, _ = _fill_forward(joined)
        observed = np.concatenate([state.observed, seen.astype(np.float64)], axis=1)
        keep = state.context.shape[1]
        context, observed = read_only(filled[:, -keep:].copy(), observed[:, -keep:].copy())
        return LstmState(state.seasons, state.weights, state.offset, context, observed, state.steps + y.shape[1])

    def predict(self, state: LstmState, horizon_steps: int, quantiles: Sequence[float]) -> np.ndarray:
        levels = check_request(horizon_steps, quantiles, self.max_horizon_steps)
        torch = _torch()
        n, keep = state.context.shape
        # The context's own index ``keep - 1`` is the last point learned.
        rows, cols = np.arange(n), np.full(n, keep - 1)
        sequence, lags, ref = self._inputs(state.context, state.observed, rows, cols, state.seasons)
        net = _network(torch, self.hidden, self.max_horizon_steps, len(state.seasons))
        net.load_state_dict({k: torch.tensor(v) for k, v in state.weights.items()})
        with torch.no_grad():
            out = _forward(torch, net, torch.as_tensor(sequence, dtype=torch.float32),
                           torch.as_tensor(lags, dtype=torch.float32)).numpy().astype(np.float64)
        z = at_levels(out[:, :horizon_steps], TRAINED_LEVELS, levels) + ref[:, None, None]
        return from_log(z, state.offset)

    def network_inputs(self, state: LstmState, history: np.ndarray, origins: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The network's inputs at column ``origins`` of every row of ``history``, on ``state``'s log scale:
        sequence ``[N x O, L, 2]``, lags and ref (the origin's log value), rows major.

        For running the same network elsewhere (an ONNX copy on an edge node) on held-out history.
        """
        filled, observed = _fill_forward(to_log(as_history(history), state.offset))
        rows = np.repeat(np.arange(filled.shape[0]), origins.size)
        cols = np.tile(np.asarray(origins, dtype=np.int64), filled.shape[0])
        return self._inputs(filled, observed, rows, cols, state.seasons)

    def _inputs(
        self, filled: np.ndarray, observed: np.ndarray, rows: np.ndarray, cols: np.ndarray, seasons: tuple[int, ...]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Network inputs at origins ``(rows, cols)``: sequence ``[B, L, 2]``, lags ``[B, H x S]``, ref ``[B]``."""
        window = cols[:, None] + np.arange(1 - self.window_steps, 1)
        values = filled[rows[:, None], window]
        ref = values[:, -1]
        sequence = np.stack([values - ref[:, None], observed[rows[:, None], window]], axis=-1)
        h = np.arange(1, self.max_horizon_steps + 1)
        lags = [filled[rows[:, None], cols[:, None] + h - m] - ref[:, None] for m in seasons]
        lag_array = np.concatenate(lags, axis=1) if lags else np.zeros((rows.size, 0))
        return sequence, lag_array, ref


def _fill_forward(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``z`` with each gap holding the last value seen (the first value seen before any), and the
    observed mask."""
    seen = np.isfinite(z)
    index = np.where(seen, np.arange(z.shape[1]), 0)
    np.maximum.accumulate(index, axis=1, out=index)
    filled = z[np.arange(z.shape[0])[:, None], index]
    first = np.where(seen.any(axis=1), z[np.arange(z.shape[0]), np.argmax(seen, axis=1)], 0.0)
    filled = np.where(np.isnan(filled), first[:, None], filled)
    return filled, seen.astype(np.float64)


def _network(torch: Any, hidden: int, horizon: int, seasons: int) -> Any:
    """The untrained network for ``seasons`` seasonal inputs (module docstring)."""
    nn = torch.nn
    outputs = horizon * len(TRAINED_LEVELS)
    layers = {
        "lstm": nn.LSTM(input_size=2, hidden_size=hidden, batch_first=True),
        "head": nn.Sequential(nn.Linear(hidden + horizon * seasons, 64), nn.ReLU(), nn.Linear(64, outputs)),
    }
    if seasons:
        layers["skip"] = nn.Linear(horizon * seasons, outputs)
    return nn.ModuleDict(layers)


def _forward(torch: Any, net: Any, sequence: Any, lags: Any) -> Any:
    """Quantiles ``[B, H, K]`` on the window-relative log scale, non-decreasing in K."""
    _, (last, _) = net["lstm"](sequence)
    out = net["head"](torch.cat([last[-1], lags], dim=1))
    if "skip" in net:
        out = out + net["skip"](lags)
    out = out.view(len(sequence), -1, len(TRAINED_LEVELS))
    steps = torch.nn.functional.softplus(out[..., 1:])
    return torch.cat([out[..., :1], out[..., :1] + torch.cumsum(steps, dim=-1)], dim=-1)


def _pinball(torch: Any, target: Any, predicted: Any, levels: Any) -> Any:
    """Mean pinball loss over observed targets ``[B, H]`` (NaN = gap, left out)."""
    seen = ~torch.isnan(target)
    diff = torch.nan_to_num(target)[..., None] - predicted
    loss = torch.maximum(levels * diff, (levels - 1) * diff).mean(dim=-1)
    return (loss * seen).sum() / seen.sum().clamp(min=1)
