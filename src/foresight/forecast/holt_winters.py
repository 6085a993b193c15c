"""Multi-seasonal exponential smoothing with an AR(1) error correction (Taylor's double-seasonal
Holt-Winters), on the log of the load.

Load is modelled on the log scale ``z = log(y + c)`` (:mod:`foresight.forecast.logscale`), which
makes daily and weekly cycles multiplicative and the noise roughly proportional to the load.
With seasons ``m_1 < m_2 < ...`` (a day and a week, in steps), level ``l``, seasonal terms
``s_k`` and the last base error ``r``, the one-step forecast of ``z_t`` and its error are

    b_t = l + sum_k s_k[t - m_k]        f_t = b_t + phi * r        e_t = z_t - f_t

and learning ``z_t`` is ``l += alpha e'_t``, ``s_k[t] = s_k[t - m_k] + gamma_k e'_t``,
``r = max(z_t - b_t, -k sigma)``. The forecast ``h`` steps ahead is ``l + sum_k s_k[t + h - m_k] +
phi^h r``: the AR term carries a burst already under way into the next minutes and lets it fade.
A gap (NaN) leaves level and seasons as they are and lets ``r`` fade by ``phi``.

Learning is robust (Gelper, Fried and Croux, *Robust forecasting with exponential and Holt-Winters
smoothing*, J. Forecasting 2010): level and seasons learn the error clipped to
``e' = clip(e, -k sigma, k sigma)`` (Huber's psi), where ``sigma`` is an online scale of the one-step
errors, ``sigma^2 <- (1 - lambda) sigma^2 + lambda rho(e / sigma) sigma^2`` with Tukey's bounded
biweight ``rho`` (``c = 2``, scaled to 1 for normal errors; ``lambda = 0.2``) and never below
``0.01`` (1 % of the load). One sample thus moves the state by at most ``k sigma``: a minute of zero
load (an upstream outage, a scrape of restarting pods) or a retry storm cannot drag the level a
decade away, while a lasting change inflates ``sigma`` (at most ~14 % a step) until the clip lets it
through. The AR term keeps a rise in full, so a burst is met at once, but a fall only down to
``k sigma`` below the base: capacity follows a real fall through the level a few steps later,
never by extrapolating one collapsed sample (which, carried by ``phi`` on the log scale, forecast
zero load while 225 req/s were arriving). ``k = 5``: Gelper's ``k = 2`` lets real changes through
too slowly; on the six traces of ``tests/forecast/test_forecast_on_traces.py`` the geometric mean of
the five-minute MASE ratio to seasonal naive is 0.600 at ``k = 2``, 0.564 at ``k = 5`` and 0.568
without clipping.

Fitting. A season is considered only when the history holds two of its cycles. Its starting
profile is the mean per phase, lightly smoothed (a moving average over ``m / 288`` phases, five
minutes of a day) since a weekly profile from two or three weeks is mostly noise otherwise.
``alpha``, each ``gamma_k`` (or leaving season ``k`` out) and ``phi`` are chosen per series from a
small grid, every grid point run at once as extra array columns: seasons start from the first
half of the history and the second half scores each point by its absolute one-step,
``H/6``-, ``H/2``- and ``H``-step errors (``H = max_horizon_steps``; a one-step score alone cannot
see what a season is worth further ahead, and one- plus ``H``-step scores chose for the two ends
of the horizon: on the development traces of ``bench forecast`` the scores in between chose
parameters 1-17 % better at 5 and 15 minutes, e.g. worldcup98's surge 1.44 -> 1.38 at 5 minutes,
crane-input4 1.03 -> 0.86 at 15; the selection pass costs about a third more). The chosen model
then restarts from profiles of the whole history and runs over the recent part, whose ``h``-step
errors give the quantiles (:mod:`foresight.forecast.quantiles`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
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
from foresight.forecast.quantiles import add_quantiles, error_table

__all__ = ["HoltWinters", "HoltWintersState", "stack_states", "unstack_state"]

_ALPHAS = (0.01, 0.05, 0.2, 0.5, 0.9)
_GAMMAS = (-1.0, 0.0, 0.05, 0.2)  # -1: leave the season out
_PHIS = (0.0, 0.5, 0.8, 0.95, 0.99)
_GRID_FLOATS = 20_000_000  # series are fitted in chunks so the grid's seasons stay ~160 MB
_CLIP = 5.0  # k: errors beyond k sigma are learned as k sigma (Huber's psi)
_BIWEIGHT_C = 2.0  # rho's cut-off, in units of sigma
_BIWEIGHT_NORM = 2.5153  # 1 / E[rho(X)] for X ~ N(0, 1): sigma estimates the normal errors' sd
_SCALE_RATE = 0.2  # lambda of the scale's update
_MIN_SCALE = 0.01  # sigma's floor on the log scale (1 % of the load): a flat series still learns


@dataclass(frozen=True)
class HoltWintersState:
    """What :class:`HoltWinters` learned for ``N`` series (read-only arrays)."""

    seasons: tuple[int, ...]  # the season lengths in use (those the history could support)
    alpha: np.ndarray  # [N]
    gammas: np.ndarray  # [N, len(seasons)]
    phi: np.ndarray  # [N]
    offset: np.ndarray  # [N] c in z = log(y + c)
    level: np.ndarray  # [N]
    seasonal: tuple[np.ndarray, ...]  # [m_k, N] each; row t % m_k holds s_k[t]
    residual: np.ndarray  # [N] r, the last base error
    scale: np.ndarray  # [N] sigma, the robust scale of the one-step errors
    steps: int  # points learned so far; the next point has index ``steps``
    error_quantiles: np.ndarray  # [N, H, K] h-step errors of z at quantiles.LEVELS
    row: int | None = None  # cut by unstack_state: the series' index in the state its arrays are views of
    #: cut by unstack_state: the stacked state its arrays are views of (stack_states gives it back whole)
    parent: HoltWintersState | None = field(default=None, repr=False, compare=False)


class HoltWinters:
    """Seasonal exponential smoothing on log load, AR(1)-corrected; see the module docstring.

    A pure pattern (period 8 here) is learned and continued:

    >>> y = np.tile([10.0, 12.0, 20.0, 40.0, 35.0, 20.0, 12.0, 10.0], 12)[None, :]
    >>> model = HoltWinters(seasons_steps=(8,), max_horizon_steps=8, min_history_steps=16)
    >>> state = model.fit(y)
    >>> model.predict(state, 8, [0.5])[0, :, 0].round(2)
    array([10., 12., 20., 40., 35., 20., 12., 10.])
    >>> state.seasons
    (8,)
    """

    name = "holt-winters"

    def __init__(
        self,
        seasons_steps: Sequence[int] = (1440, 10080),
        max_horizon_steps: int = 60,
        error_window_steps: int = 10080,
        min_history_steps: int = 120,
    ) -> None:
        if any(m < 2 for m in seasons_steps) or max_horizon_steps < 1 or error_window_steps < 1:
            raise ConfigError("HoltWinters: seasons_steps must be >= 2, horizons and windows >= 1")
        if min_history_steps < 2 * max_horizon_steps:
            raise ConfigError(
                f"HoltWinters: min_history_steps ({min_history_steps}) must be at least twice "
                f"max_horizon_steps ({max_horizon_steps}) so every horizon's errors can be measured"
            )
        self.seasons_steps = tuple(sorted(set(seasons_steps)))
        self.max_horizon_steps = max_horizon_steps
        self.error_window_steps = error_window_steps
        self.min_history_steps = min_history_steps

    def fit(self, history: np.ndarray) -> HoltWintersState:
        y = as_history(history)
        n, steps = y.shape
        have = int(np.isfinite(y).sum(axis=1).min(initial=steps))
        if have < self.min_history_steps:
            raise HistoryTooShort(self.name, have, self.min_history_steps)
        # each series is fitted alone, element by element: fitting many in chunks of rows keeps the
        # recorded pass ([T, rows] per state) and the errors ([rows, H, window]) within ~160 MB
        per_series = steps * (len(self.seasons_steps) + 4) + self.max_horizon_steps * self.error_window_steps
        rows = max(1, _GRID_FLOATS // per_series)
        if n <= rows:
            return self._fit(y)
        return stack_states([self._fit(y[i : i + rows]) for i in range(0, n, rows)])

    def _fit(self, y: np.ndarray) -> HoltWintersState:
        n, steps = y.shape
        seasons = tuple(m for m in self.seasons_steps if 2 * m <= steps)
        offset = log_offset(y)
        z = to_log(y, offset)
        chunk = max(1, _GRID_FLOATS // (len(_ALPHAS) * len(_GAMMAS) ** len(seasons) * len(_PHIS) * (sum(seasons) + 1)))
        chosen = [self._select(z[i : i + chunk], seasons) for i in range(0, n, chunk)]
        alpha, gammas, phi, use = (np.concatenate(parts) for parts in zip(*chosen))

        profiles = [p * use[:, k, None] for k, p in enumerate(_profiles(z, seasons))]
        start = max(0, steps - self.error_window_steps - 2 * self.max_horizon_steps)
        level = _level_at(z, seasons, profiles, start)
        seasonal = [np.ascontiguousarray(p.T) for p in profiles]
        run = _smooth(z[:, start:], seasons, start, alpha, gammas, phi, level, seasonal, np.zeros(n),
                      _initial_scale(z[:, start:]), record=True)
        errors = self._errors(z, start, seasons, phi, run)
        return _state(seasons, (alpha, gammas, phi, offset), run, steps, error_table(errors))

    def update(self, state: HoltWintersState, new: np.ndarray) -> HoltWintersState:
        z = to_log(as_history(new, "new"), state.offset)
        run = _smooth(z, state.seasons, state.steps, state.alpha, state.gammas, state.phi, state.level.copy(),
                      [s.copy() for s in state.seasonal], state.residual.copy(), state.scale.copy())
        params = (state.alpha, state.gammas, state.phi, state.offset)
        return _state(state.seasons, params, run, state.steps + z.shape[1], state.error_quantiles)

    def predict(self, state: HoltWintersState, horizon_steps: int, quantiles: Sequence[float]) -> np.ndarray:
        levels = check_request(horizon_steps, quantiles, self.max_horizon_steps)
        h = np.arange(1, horizon_steps + 1)
        z = state.level[:, None] + state.phi[:, None] ** h * state.residual[:, None]
        for m, s in zip(state.seasons, state.seasonal):
            z = z + s[(state.steps + h - 1) % m].T
        return from_log(add_quantiles(z, state.error_quantiles[:, :horizon_steps], levels), state.offset)

    def stack_key(self, state: HoltWintersState) -> tuple[tuple[int, ...], int]:
        """States with equal keys can be stacked (:func:`stack_states`)."""
        return state.seasons, state.steps

    def stack(self, states: Sequence[HoltWintersState]) -> HoltWintersState:
        return stack_states(states)

    def unstack(self, state: HoltWintersState) -> list[HoltWintersState]:
        return unstack_state(state)

    def _select(self, z: np.ndarray, seasons: tuple[int, ...]) -> tuple[np.ndarray, ...]:
        """Per series the grid point that forecast the second half best: alpha, gammas, phi, use."""
        n, steps = z.shape
        grid = np.array(list(itertools.product(_ALPHAS, *[_GAMMAS] * len(seasons), _PHIS)))
        use = grid[:, 1:-1] >= 0
        grid[:, 1:-1] = np.maximum(grid[:, 1:-1], 0.0)
        half = steps // 2
        profiles = _profiles(z[:, :half], seasons)
        level = _level_at(z, seasons, profiles, half)
        run = _smooth(
            z[:, half:], seasons, half,
            alpha=grid[None, :, 0], gammas=grid[None, :, 1:-1], phi=grid[None, :, -1],
            level=np.repeat(level[:, None], len(grid), axis=1),
            seasonal=[p.T[:, :, None] * use[:, k] for k, p in enumerate(profiles)],
            residual=np.zeros((n, len(grid))),
            scale=np.repeat(_initial_scale(z[:, half:])[:, None], len(grid), axis=1),
            score_horizon=self.max_horizon_steps,
        )
        best = np.argmin(run.score, axis=1)
        return grid[best, 0], grid[best, 1:-1], grid[best, -1], use[best]

    def _errors(self, z: np.ndarray, start: int, seasons: tuple[int, ...], phi: np.ndarray, run: _Run) -> np.ndarray:
        """``[N, H, window]`` errors of the ``h``-step forecasts made from each recent origin."""
        n, steps = z.shape
        errors = np.full((n, self.max_horizon_steps, self.error_window_steps), np.nan)
        assert run.trace is not None, "errors need a recorded pass"
        level, residual, written = run.trace  # row i: after learning index start + i
        for h in range(1, self.max_horizon_steps + 1):
            lags = [m * -(-h // m) for m in seasons]
            first = max([steps - self.error_window_steps, start + h] + [start + lag for lag in lags])
            target = np.arange(first, steps)
            origin = target - h - start  # trace row of the last point learned before ``target``
            forecast = level[origin] + phi ** h * residual[origin]
            for lag, s in zip(lags, written):
                forecast = forecast + s[target - lag - start]
            errors[:, h - 1, : target.size] = z[:, target] - forecast.T
        return errors


def stack_states(states: Sequence[HoltWintersState]) -> HoltWintersState:
    """One state of all ``states``' series, in order, so that update and predict run once for all.

    Only states on the same clock can share a pass (the same seasons and points learned, so the
    same seasonal slots each step); learning and predicting are element by element over the series,
    so a series' numbers in the stacked state are exactly those it would have alone. States that
    :func:`unstack_state` cut from one stacked state, all of them in order, give that state back
    without a copy: a thousand workloads updated together each round are not copied together again.
    """
    first = states[0]
    if any(s.seasons != first.seasons or s.steps != first.steps for s in states):
        raise ValueError("stack_states: states must share their seasons and the points learned")
    whole = _whole(states)
    if whole is not None:
        return whole
    arrays = [np.concatenate([getattr(s, name) for s in states]) for name in _PER_SERIES]
    seasonal = tuple(np.concatenate([s.seasonal[k] for s in states], axis=1) for k in range(len(first.seasons)))
    alpha, gammas, phi, offset, level, residual, scale, table = read_only(*arrays)
    return HoltWintersState(first.seasons, alpha, gammas, phi, offset, level, read_only(*seasonal), residual, scale,
                            first.steps, table)


def unstack_state(state: HoltWintersState) -> list[HoltWintersState]:
    """One state per series of ``state``, each a view of its arrays (no copy; read-only as they are).

    Each is a :class:`_Row`: a round of 10,000 workloads cuts 10,000 of them and stacks them back
    the next round (:func:`stack_states`) without reading one, so their views are cut on first use.
    """
    out = []
    for i in range(state.level.size):
        row = object.__new__(_Row)
        row.__dict__.update(seasons=state.seasons, steps=state.steps, row=i, parent=state)
        out.append(row)
    return out


class _Row(HoltWintersState):
    """Series ``row`` of the stacked state ``parent``: its arrays, views of the parent's, are cut
    when first read (``__getattr__`` runs only for attributes not yet set) and then kept."""

    def __getattr__(self, name: str) -> Any:
        parent, i = self.__dict__.get("parent"), self.__dict__.get("row")
        if parent is None or i is None:
            raise AttributeError(name)
        if name in _PER_SERIES:
            value: Any = getattr(parent, name)[i : i + 1]
        elif name == "seasonal":
            value = tuple(s[:, i : i + 1] for s in parent.seasonal)
        else:
            raise AttributeError(name)
        self.__dict__[name] = value
        return value


_PER_SERIES = ("alpha", "gammas", "phi", "offset", "level", "residual", "scale", "error_quantiles")


def _whole(states: Sequence[HoltWintersState]) -> HoltWintersState | None:
    """The stacked state ``states`` were all cut from (by :func:`unstack_state`), all of it and in
    order; None when they were not."""
    parent = states[0].parent
    if parent is None or parent.level.size != len(states):
        return None
    for i, state in enumerate(states):
        if state.parent is not parent or state.row != i:
            return None
    return parent


@dataclass
class _Run:
    """The state after a smoothing pass, its score, and (when recorded) the level, ``r`` and the
    seasonal value written at every step, each ``[T, N]``."""

    level: np.ndarray
    seasonal: list[np.ndarray]
    residual: np.ndarray
    scale: np.ndarray
    score: np.ndarray
    trace: tuple[np.ndarray, np.ndarray, list[np.ndarray]] | None


def _smooth(
    z: np.ndarray,
    seasons: tuple[int, ...],
    start: int,
    alpha: np.ndarray,
    gammas: np.ndarray,
    phi: np.ndarray,
    level: np.ndarray,
    seasonal: list[np.ndarray],
    residual: np.ndarray,
    scale: np.ndarray,
    score_horizon: int | None = None,
    record: bool = False,
) -> _Run:
    """Learn ``z`` ``[N, T]`` (indices ``start ...``) point by point, in place on ``level`` and ``seasonal``,
    robustly (see the module docstring; ``scale`` is sigma).

    State arrays are ``[N]``, or ``[N, G]`` for G grid points at once (parameters broadcast);
    ``seasonal[k]`` is ``[m_k, ...]``. With ``score_horizon`` H, ``score`` sums the absolute
    one-step, H/6-, H/2- and H-step errors after the first H steps.
    """
    gamma = [np.asarray(gammas)[..., k] for k in range(len(seasons))]
    columns = z.T[(...,) + (None,) * (level.ndim - 1)]
    gaps = np.isnan(z).any(axis=0)
    score = np.zeros_like(level)
    horizon = score_horizon or 1
    past = np.zeros((horizon, 2) + level.shape)  # level and r after each of the last H steps
    lags = [(lag, phi**lag) for lag in sorted({max(1, horizon // 6), max(1, horizon // 2), horizon})]
    trace = None
    if record:
        shape = (z.shape[1], z.shape[0])
        trace = (np.empty(shape), np.empty(shape), [np.empty(shape) for _ in seasons])
    for i, observed in enumerate(columns):
        slots = [(start + i) % m for m in seasons]
        seasons_now = seasonal[0][slots[0]].copy() if seasons else np.zeros_like(level)
        for s, slot in zip(seasonal[1:], slots[1:]):
            seasons_now += s[slot]
        base = level + seasons_now
        error = observed - base - phi * residual
        bound = _CLIP * scale
        deviation = np.maximum(observed - base, -bound)  # a fall is carried only down to k sigma
        if gaps[i]:
            missing = np.isnan(error)
            error[missing] = 0.0
            residual = np.where(missing, phi * residual, deviation)
            scale = np.where(missing, scale, _next_scale(scale, error))
        else:
            residual = deviation
            scale = _next_scale(scale, error)
        error = np.clip(error, -bound, bound)
        level += alpha * error
        for s, slot, g in zip(seasonal, slots, gamma):
            s[slot] += g * error
        if score_horizon is not None:
            if i >= horizon:
                score += np.abs(error)
                for lag, decay in lags:
                    before = past[(i - lag) % horizon]  # level and r after step i - lag
                    ahead = np.abs(observed - seasons_now - before[0] - decay * before[1])
                    if gaps[i]:
                        ahead[np.isnan(ahead)] = 0.0
                    score += ahead
            past[i % horizon] = level, residual
        if trace is not None:
            trace[0][i], trace[1][i] = level, residual
            for written, s, slot in zip(trace[2], seasonal, slots):
                written[i] = s[slot]
    return _Run(level, seasonal, residual, scale, score, trace)


def _next_scale(scale: np.ndarray, error: np.ndarray) -> np.ndarray:
    """sigma after one step's error: the biweight update, floored. An error beyond ``c`` sigma counts
    as ``c`` sigma, so however wild, one step raises sigma by at most ~14 %.

    >>> _next_scale(np.array([0.1, 0.1, 0.1, 0.1]), np.array([0.0, 0.1, 0.2, 50.0])).round(4)
    array([0.0894, 0.1044, 0.1142, 0.1142])
    """
    x = np.minimum(np.abs(error) / scale, _BIWEIGHT_C)
    rho = _BIWEIGHT_NORM * (1.0 - (1.0 - (x / _BIWEIGHT_C) ** 2) ** 3)
    return np.maximum(scale * np.sqrt(1.0 - _SCALE_RATE + _SCALE_RATE * rho), _MIN_SCALE)


def _initial_scale(z: np.ndarray) -> np.ndarray:
    """sigma to start a pass with, per series: the robust sd of one-step changes of ``z`` (MAD of the
    differences, over sqrt 2), floored; a series with no two consecutive samples starts at the floor.

    >>> _initial_scale(np.log([[100.0, 110.0, 100.0, 110.0, np.nan, 100.0]])).round(4)
    array([0.0999])
    """
    steps = np.abs(np.diff(z, axis=1))
    seen = np.isfinite(steps).any(axis=1)
    mad = np.nanmedian(np.where(seen[:, None], steps, 0.0), axis=1)
    return np.maximum(1.4826 * mad / np.sqrt(2.0), _MIN_SCALE)


def _profiles(z: np.ndarray, seasons: tuple[int, ...]) -> list[np.ndarray]:
    """Starting seasonal terms ``[N, m_k]``: mean per phase of what shorter seasons left, smoothed."""
    n, steps = z.shape
    rest = z - np.nanmean(z, axis=1, keepdims=True)
    profiles = []
    for m in seasons:
        cycles = -(-steps // m)
        padded = np.full((n, cycles * m), np.nan)
        padded[:, :steps] = rest
        cycled = padded.reshape(n, cycles, m)
        seen = np.isfinite(cycled).sum(axis=1)
        profile = np.where(seen > 0, np.nansum(cycled, axis=1) / np.maximum(seen, 1), 0.0)
        width = m // 288
        if width > 1:
            before, after = profile[:, m - width // 2 :], profile[:, : width - width // 2 - 1]
            wrapped = np.concatenate([before, profile, after], axis=1)  # circular: phases wrap around
            cumulative = np.cumsum(np.pad(wrapped, ((0, 0), (1, 0))), axis=1)
            profile = (cumulative[:, width:] - cumulative[:, :-width]) / width
        profile -= profile.mean(axis=1, keepdims=True)
        rest = rest - np.tile(profile, cycles)[:, :steps]
        profiles.append(profile)
    return profiles


def _level_at(z: np.ndarray, seasons: tuple[int, ...], profiles: list[np.ndarray], start: int) -> np.ndarray:
    """The level to start smoothing at index ``start``: the mean seasonally adjusted ``z`` of the
    hour (60 steps) before it, or of the first hour when starting at the beginning; a series
    with no sample there starts from its overall mean."""
    lo, hi = max(0, start - 60), min(z.shape[1], max(start, 60))
    index = np.arange(lo, hi)
    adjusted = z[:, lo:hi].copy()
    for m, p in zip(seasons, profiles):
        adjusted -= p[:, index % m]
    seen = np.isfinite(adjusted).sum(axis=1)
    overall = np.nanmean(z, axis=1)
    return np.where(seen > 0, np.nansum(adjusted, axis=1) / np.maximum(seen, 1), overall)


def _state(
    seasons: tuple[int, ...],
    params: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    run: _Run,
    steps: int,
    table: np.ndarray,
) -> HoltWintersState:
    """A read-only state from the end of a pass."""
    alpha, gammas, phi, offset = read_only(*params)
    level, residual, scale, table = read_only(run.level, run.residual, run.scale, table)
    return HoltWintersState(
        seasons, alpha, gammas, phi, offset, level, read_only(*run.seasonal), residual, scale, steps, table
    )
