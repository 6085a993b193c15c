"""Foresight's best detector: calibrated surprises from several views of a series, combined.

Each view asks "how improbable is this sample, given this series' own past?" and answers in
nats, so views and series are comparable:

1. **Level** (:mod:`~foresight.detect.tail`): the deviation ``x - m`` from EWMA baselines at
   three time scales (alpha 0.1, 0.01, 0.001: minutes to days at 5-minute samples), up and
   down, each against its own upper tail -> ``u_level``, the largest of the six.
2. **Daily season** (:mod:`~foresight.detect.daily`): the distance to what the previous days
   did at about this time, against its own tail -> ``u_season`` (``u_level`` until two days are
   known).
3. **Sequence novelty** (:mod:`~foresight.detect.symbols`): the surprise of the value's
   log-grid symbol after the three before it (``u_seq``), and at this hour (``u_hour``).

4. **Record** (kept on the series' whole history): how far the value lies beyond the largest or
   below the smallest value seen so far, relative to that range ``[lo, hi]``:
   ``r = max(x - hi, lo - x, 0) / (hi - lo)`` and ``u_record = log(1 + r / 0.01)``.

5. **Burst** (kept on the series' whole history): ``b``, an EWMA (``BURST_ALPHA`` = 0.3: the last
   ~3 samples) of the probability ``p0`` that the four views above give, against ``B``, its
   all-time high before this sample: ``u_burst = log(1 + max(b / max(B, 0.01) - 1, 0) / 0.01)``,
   scored once a day of samples (``SEASON_WARM``) is known.
6. **Stuck** (:mod:`~foresight.detect.stuck`, kept on the series' whole history): at the sample
   where a run of identical values outlasts every earlier run (and 10 samples),
   ``u_stuck = log(k + 1)`` after ``k`` runs, the surprise of a record; 0 elsewhere, and, as
   the record, until the tails' warm-up (100 samples) is known.

    u0 = max(u_level, u_season) + 0.5 u_seq + 0.1 u_hour + 2 u_record + 2 u_stuck
    u = u0 + 3 u_burst

A sample is as surprising as its most surprised value view (the season sees what a level
cannot: a missing daily peak); shapes never seen before add to it, shapes met often (a daily
job at its usual hour) add little, so a recurring pattern fades into the noise in days. A new
record adds what the fitted tails cannot say: their memory is a few hundred samples and their
shape may be heavy, so a burst twice as high as anything in the series' history can look merely
unusual to them. A burst adds what no single sample says: familiar surprises coming more densely
than ever before (the same spike, more often), or a run of moderate ones. A stuck run adds what
no view of the value can say when a frozen exporter repeats a usual value: that it has never
repeated it for so long. The season is trusted
once its tail has calibrated ``SEASON_WARM`` residuals (a day at 5-minute samples); until then
``u_season = u_level``. Then:

* **Significance**: ``v = u / log(n + 2)`` after ``n`` samples. The largest of ``n`` calibrated
  surprises grows like ``log n``, so ``v`` compares a sample with the records of its own history:
  ``v > 1`` is beyond what the series has shown so far, whether it is a day or a month old.
* **Probability**: ``p = v / (1 + v)``, in [0, 1) (``p0`` likewise from ``u0``).
* **Onsets only**: a sample reports ``p`` only when it exceeds every one of the previous
  ``onset_window`` samples' ``p``, and 0 otherwise: one alert per event (its start, and again
  only if it grows), instead of a storm while the event lasts.

Missing samples score 0 and leave the state unchanged; values are clipped to +-1e150. Series are
stepped in blocks of ``BLOCK``: large enough that numpy's cost per call (~200 calls a block) is
small against the work, small enough that a block's temporaries (a few MB) stay in the CPU caches.

The parts and their weights were chosen by ablation on NAB's series (each part raises the
corpus score); time scales, quantile, memories and grid are round values fixed by principle.
One configuration serves every series: nothing is fitted per series or per category.

Tried since on the *tune* half of NAB (``foresight bench nab --split tune``) and not kept, because
none raised that half by more than the noise of incidental choices (a hash table's size moves the
41-series score by 1-2 points): an anomaly likelihood of recent surprises (short mean, calibrated
by its own tail, added or maxed); re-calibrating the total surprise by its own tail or scaling it
by its running 95-99 % quantile (much worse); a soft refractory period after detections and longer
onset windows (worse beyond ~100 samples); min/max (not mean) daily bins and letting the season
veto the level; Huber-clipped baselines; short-vs-long mean shift streams; log-sum-exp of the
level streams; capping ``n`` in the significance; a second, coarser symbol grid. Re-tuning the
weights and the tail quantile on the tune half raised it by 2.3 points and lowered the held half
by 1.8: the constants sit at what the corpus can tell apart. Kept: a bound on how light a fitted
tail may be (:mod:`~foresight.detect.tail`), up 0.7-2.4 points on the tune half and 0.7-1.3 on
the held half.

Second round, driven by an error analysis (misses, false alarms and detection delays per series
and half: ``nab-analysis.md`` in the project's notes) and judged by 2-fold cross-validation: a
constant is chosen on one half and evaluated on the other, in both directions. Scores are
standard / low-FP / low-FN.

* ``SEASON_WARM``: false alarms right after two days (~row 680 of a 4032-row series) came from
  the season's tail scoring its first residuals (70-320 nats). Any warm-up of 200-800 residuals
  gives the same on the tune half (80.9/73.5/86.2 -> 81.4/74.5/86.6); 300-800 is best on the held
  half (61.9/55.4/67.3 -> 62.4/56.8/67.6). Kept at a day of 5-minute samples: small (within the
  noise for the standard profile) but the cause is a defect, not a preference.
* The record term: on the held half, most true onsets scored 0.60-0.67, no higher than 67 false
  alarms (0.59-0.65, many of them daily recurring bumps), so the best threshold sat among them.
  Anomalies often go beyond the series' whole range: the record lifts 15 held windows' best
  onsets by 0.04-0.13 (disk, network, ad exchange, traffic); the best threshold rises from 0.585
  to 0.634 and the false alarms fall from 67 to 16 (misses stay at 7 of 32). Grid weight
  {2, 3, 5} x scale {0.001, 0.003, 0.01, 0.03}. Chosen on tune, (2, 0.01): tune 82.8/74.7/87.5,
  held 69.8/67.1/72.6 (held +7.4/+10.3/+5.0). Chosen on held, (3, 0.01) or (2, 0.003): held
  70.0/67.4/72.7, tune 82.5/74.7/87.3 and 82.2/74.4/87.1. Over symbol tables of 2^11, 2^12, 2^13
  cells the record raises the held half by 7.4-10.5 points, the tune half by 0.5-1.4 (within its
  noise: the tune half already missed only one window). All 41: 70.6/63.4/76.2 -> 74.1/68.7/78.1.
  Its cost: the all-time low of white noise is a record too (the doctest's runner-up rises from
  0.63 to 0.72), and one glitch widens the range for good (the record then goes quiet; the
  other views still work).
* Not kept: season-only value surprise once the season is trusted (-8 tune, -3 held); range
  ``[min, max]`` memories per daily bin (+0.4 tune, -0.4 held); lighter caps on the tail shape
  (0.2-0.4: held -0.2 to -3.8 low-FP); a longer tail warm-up for every stream (300: -2.7 tune,
  -3.0 held: short series lose their first windows); excess memories 3x or 0.3x; quantile 0.9
  or 0.98; a range that decays towards the slow baseline (1e-4 per sample: -1.9 tune; faster is
  worse); records of the deviation from a baseline instead of the value (-1.5 tune, -0.6 held);
  the range scaled by the tails' quantiles instead of its width; sequence novelty capped by the
  hour's novelty; re-grids of the seq/hour weights and the onset window (the committed values
  remain the tune optimum).

Third round (same protocol; all 41 before: 74.1/68.7/78.1). The misses left were a spike rate
change (art_increase_spike_density), a spike below an earlier, larger one (TravelTime_451), and
changes inside the usual range.

* The burst view. Grid: warm-up {150, 300} x alpha {0.2, 0.3, 0.4} x scale {0.005, 0.01, 0.03}
  x weight {2, 3, 4}; 26 of the 54 cells raise both halves' standard score. Chosen on tune
  (best standard, ties by the sum of profiles: 300, 0.2, 0.005, 4): held 69.8/67.1/72.6 ->
  72.6/69.3/75.5 (five cells tie on tune's standard score; their held scores are 69.8-72.6).
  Chosen on held (300, 0.3, 0.005, 2): tune 82.8/74.7/87.5 -> 84.7/76.2/89.8.
  Kept in the middle of that plateau: (288, 0.3, 0.01, 3): tune 84.6/75.9/89.7, held
  73.1/70.4/75.8, all 41 76.4/70.7/80.7; its neighbours (alpha 0.25-0.35, weight 2.5-3.5,
  scale 0.007-0.015, warm-up 200-400) stay within 0.9 of it. It catches TravelTime_451 and
  art_increase_spike_density, and detects three held windows earlier; it costs three false
  alarms on the tune half. Over symbol tables of 2^11 and 2^13 cells it adds +2.0/+1.2..1.5/
  +2.3..2.4 (tune) and +3.2/+3.2/+2.8..3.2 (held). The floor 0.01 on ``B`` (a quiet series has
  no burst to beat) changes nothing on NAB (1e-9 to 0.05 score the same). The gain is
  quantised: most of it is whether those two windows are caught.
* Not kept either: a second, slower burst (alpha 0.01-0.1, weight 1-3: -0.5..+0.3 on either
  half); a burst warm-up of 100-200 samples, or a high that ignores the first 50-100 (no change
  to -0.5: the short series' windows sit too close to their probation for it).
* Not kept: a recall band (main onsets below a cut ``C`` dropped, a rate component scaled into
  ``[0, C)`` for the low-FN profile's threshold): it only moves when ``C`` sits at the halves'
  own thresholds (0.59-0.63), i.e. it fits the threshold (C = 0.6: tune -1.4; 0.62: held +0.9,
  tune +0.4), and a plain ``p`` below 0.5 carries too many false alarms to make a band.

Fourth round (same protocol; all 41 before: 76.4/70.7/80.7, tune 84.6/75.9/89.7, held
73.1/70.4/75.8). The misses left were all on the held half: a metric frozen at 0 for two days
(ec2_disk_write_bytes_c0d644, window 2), the absence of a CPU series' usual bursts
(ec2_cpu_utilization_fe7f93, window 2), two windows inside the first day of a short series
(iio_us-east-1_i-a2eb1cd9_NetworkIn), and two ad-exchange windows (exchange-4_cpc 0.587 against
a low-FN threshold of 0.594; exchange-4_cpm, a six-hour plateau at a level seen before).

* The stuck view. Grid: weight {1.5, 1.75, 2, 3, 4} x floor {5, 10, 20, 50, 100, 200} samples.
  No run on the tune half breaks its record after the probation, so tune scores the same for
  every cell but floor 5 (84.2/75.2/89.5: quantised CPU series repeat a value 5-7 times).
  Chosen on held: floor 200 (held 76.0/73.1/78.8) and weight 1.75 (75.9/72.8/78.7), tune
  unchanged. Kept: weight 2, as the value record's, and floor 10, the shortest the tune half
  accepts: held 75.5/72.1/78.5 (+2.4/+1.7/+2.6), tune 84.6/75.9/89.7, all 41 77.6/71.6/82.0.
  Weight 1.5 does not lift c0d644's window over the held half's standard threshold (held
  74.0/70.4/77.5); 3 and 4 score as 2. Over symbol tables of 2^11 and 2^13 cells it adds
  +1.2/+0.9/+1.3 (all 41) and +2.4/+1.7/+2.6 (held), tune unchanged. The gain is one window
  (c0d644's, caught 32 samples in at p = 0.665); the cost, four false alarms on the held half
  (runs longer than any before them, unlabelled: art_load_balancer_spikes, and c0d644 before
  its windows). Repeats within a relative 1e-9 or 1e-3 score as exact ones; reporting the run
  at 1.1-1.25 times the record instead of just past it scores 0.1-0.4 lower on held, 1.5 times
  misses the window (it ends first).
* Not kept: a quiet view, the same record rule on runs of samples below every level tail's
  threshold (a series that stops its usual bursts, fe7f93's window 2). Weight 2: all 41
  78.1/70.8/83.3, but tune -0.2/-0.5/-0.1 and held -0.4/-0.7/-0.2 (it fires on the flat
  stretches of daily cycles), its one catch on held (exchange-4_cpm's window 1) 0.001 above
  the threshold, and fe7f93's window still missed. Below 1 nat instead of below the
  thresholds: no change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from foresight.detect.daily import DailyProfile, DailyState
from foresight.detect.protocol import ArrayState, row_starts
from foresight.detect.stuck import StuckRun, StuckState
from foresight.detect.symbols import SymbolNovelty, SymbolState
from foresight.detect.tail import TailCalibrator, TailState

__all__ = ["SurpriseEnsemble", "SurpriseState"]

HUGE = 1e150
BLOCK = 8192  # series per block (2048-4096 and 32768: 10-30% slower in `foresight bench detect`)
ALPHAS = np.array([0.1, 0.01, 0.001])
SEASON_WARM = 288  # residuals the season's tail learns before it is trusted: a day at 5 minutes
BURST_ALPHA = 0.3  # the burst view's smoothing of ``p``: the last ~3 samples
BURST_FLOOR = 0.01  # a smoothed ``p`` below 0.01 is no burst to beat (a quiet or constant series)


@dataclass
class SurpriseState(ArrayState):
    """Per series: baselines ``[n, 3]``, tails ``[n, 7]``, the range, the burst (now, high), the
    season, the symbols, the runs of repeats, recent scores."""

    baselines: np.ndarray
    high: np.ndarray
    low: np.ndarray
    learned: np.ndarray
    burst: np.ndarray
    burst_high: np.ndarray
    tails: TailState
    daily: DailyState
    symbols: SymbolState
    stuck: StuckState
    recent: np.ndarray
    cursor: np.ndarray


class SurpriseEnsemble:
    """Calibrated level, seasonal and sequence surprises, normalised by history, onsets only.

    >>> from foresight.detect.protocol import run
    >>> rng = np.random.default_rng(1)
    >>> x = 50.0 + rng.normal(0.0, 2.0, 600)
    >>> x[500] = 80.0                              # a spike
    >>> p = run(SurpriseEnsemble(), x, 300.0 * np.arange(600))
    >>> int(np.argmax(p)), round(float(p[500]), 2), round(float(np.sort(p)[-2]), 2)
    (500, 0.97, 0.72)
    """

    name = "surprise"

    def __init__(
        self,
        onset_window: int = 20,
        seq_weight: float = 0.5,
        hour_weight: float = 0.1,
        record_weight: float = 2.0,
        record_scale: float = 0.01,
        burst_weight: float = 3.0,
        burst_scale: float = 0.01,
        stuck_weight: float = 2.0,
    ) -> None:
        self.onset_window, self.seq_weight, self.hour_weight = onset_window, seq_weight, hour_weight
        self.record_weight, self.record_scale = record_weight, record_scale
        self.burst_weight, self.burst_scale = burst_weight, burst_scale
        self.stuck_weight = stuck_weight
        self.tail = TailCalibrator()
        self.daily = DailyProfile()
        self.symbols = SymbolNovelty()
        self.stuck = StuckRun()

    def init(self, n: int) -> SurpriseState:
        return SurpriseState(
            baselines=np.zeros((n, ALPHAS.size)),
            high=np.zeros(n),
            low=np.zeros(n),
            learned=np.zeros(n),
            burst=np.zeros(n),
            burst_high=np.zeros(n),
            tails=self.tail.init(n, 2 * ALPHAS.size + 1),
            daily=self.daily.init(n),
            symbols=self.symbols.init(n),
            stuck=self.stuck.init(n),
            recent=np.zeros((n, self.onset_window)),
            cursor=np.zeros(n, dtype=np.int64),
        )

    def score(self, state: SurpriseState, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        return self._blocks(state, x, t, learn=False)

    def update(self, state: SurpriseState, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        return self._blocks(state, x, t, learn=True)

    def _blocks(self, state: SurpriseState, x: np.ndarray, t: np.ndarray, learn: bool) -> np.ndarray:
        """Step blocks of series in turn: few numpy calls per sample, temporaries in the CPU caches."""
        out = np.empty(x.size)
        for start in range(0, x.size, BLOCK):
            rows = slice(start, start + BLOCK)
            out[rows] = self._step(state.view(rows), x[rows], t[rows], learn)
        return out

    def _step(self, state: SurpriseState, x: np.ndarray, t: np.ndarray, learn: bool) -> np.ndarray:
        ok = np.isfinite(x)
        every = bool(ok.all())  # no sample missing (the usual case): masked updates become plain ones
        value = np.clip(x if every else np.where(ok, x, 0.0), -HUGE, HUGE)
        live = ok & (state.learned > 0)

        moment = self.daily.locate(t)
        residual = self.daily.residual(state.daily, value, moment)
        seasonal = np.isfinite(residual)
        # The tails' streams [n, 7]: deviations up, down, and the seasonal residual. Column by
        # column: numpy's loops over an [n, 3] array run along its short last axis, 5x slower.
        k = ALPHAS.size
        streams = np.empty((value.size, 2 * k + 1))
        for scale in range(k):
            np.subtract(value, state.baselines[:, scale], out=streams[:, scale])
            np.negative(streams[:, scale], out=streams[:, k + scale])
        deviation = streams[:, :k]
        streams[:, -1] = np.where(seasonal, residual, 0.0)
        surprise = self.tail.surprise(state.tails, streams)
        level = _row_max(surprise[:, :-1])
        trusted = seasonal & (state.tails.learned[:, -1] >= SEASON_WARM)
        season = np.where(trusted, surprise[:, -1], level)
        located = self.symbols.locate(state.symbols, value, t)
        seq, hour = self.symbols.surprise(state.symbols, located)
        known = live & (state.learned >= self.tail.warm)  # the whole-history views' warm-up
        record = self._record(state, value, known)
        repeat = self.stuck.repeats(state.stuck, value)
        total = np.maximum(level, season, out=level)
        total += self.seq_weight * seq
        total += self.hour_weight * hour
        np.maximum(total, 0.0, out=total)  # hash collisions can make a count exceed its context's
        total += self.record_weight * record
        stuck, nats = self.stuck.surprise(state.stuck, repeat, known)
        total[stuck] += self.stuck_weight * nats

        history = np.log(state.learned + 2.0)
        significance = total / history
        plain = np.where(live, significance / (1.0 + significance), 0.0)  # p0: every view but the burst
        burst = state.burst + BURST_ALPHA * (plain - state.burst)
        total += self.burst_weight * self._burst(state, burst)
        significance = np.divide(total, history, out=total)
        p = np.where(live, significance / (1.0 + significance), 0.0)
        onset = np.where(p > _row_max(state.recent), p, 0.0)

        if learn:
            learns = np.empty(streams.shape, dtype=bool)
            for column in range(2 * k):
                learns[:, column] = live
            np.logical_and(live, seasonal, out=learns[:, -1])  # the season's stream: where it has a residual
            self.tail.learn(state.tails, streams, learns)
            self.daily.learn(state.daily, value, moment, ok)
            self.symbols.learn(state.symbols, value, located, ok)
            self.stuck.learn(state.stuck, value, repeat, ok)
            self._learn_whole_history(state, value, deviation, burst, p, ok, live)
        return onset

    def _learn_whole_history(
        self,
        state: SurpriseState,
        value: np.ndarray,
        deviation: np.ndarray,
        burst: np.ndarray,
        p: np.ndarray,
        ok: np.ndarray,
        live: np.ndarray,
    ) -> None:
        """Learn the baselines, the range, the burst and the recent scores.

        Where every series is live (no sample missing, none new: the usual step) the updates are
        plain in-place ones; otherwise masked, a fresh series taking the value as its baselines and range.
        """
        step = np.empty(deviation.shape)
        for scale, alpha in enumerate(ALPHAS):
            np.multiply(deviation[:, scale], alpha, out=step[:, scale])
        if live.all():
            state.baselines += step
            np.maximum(state.high, value, out=state.high)
            np.minimum(state.low, value, out=state.low)
            state.burst[...] = burst
        else:
            baselines = np.where(live[:, None], state.baselines + step, value[:, None])
            np.copyto(state.baselines, baselines, where=ok[:, None])
            np.copyto(state.high, np.where(live, np.maximum(state.high, value), value), where=ok)
            np.copyto(state.low, np.where(live, np.minimum(state.low, value), value), where=ok)
            np.copyto(state.burst, burst, where=ok)
        np.maximum(state.burst_high, state.burst, out=state.burst_high)
        if ok.all():
            state.recent.put(row_starts(p.size, self.onset_window) + state.cursor, p)
            state.cursor += 1
            state.cursor %= self.onset_window
        else:
            rows = np.flatnonzero(ok)
            state.recent.put(rows * self.onset_window + state.cursor[rows], p[rows])
            state.cursor[rows] = (state.cursor[rows] + 1) % self.onset_window
        state.learned += ok

    def _record(self, state: SurpriseState, value: np.ndarray, known: np.ndarray) -> np.ndarray:
        """``u_record``: nats for a value beyond the series' range so far (0 inside it, and in warm-up)."""
        beyond = np.maximum(value - state.high, state.low - value)
        np.maximum(beyond, 0.0, out=beyond)
        # A range of 0 (a constant series so far) is floored relative to the values' magnitude.
        # Values are clipped to +-1e150, so the ratio stays below 1e301: no overflow.
        span = np.abs(state.high) + np.abs(state.low)
        span *= 1e-12 * self.record_scale
        span += (state.high - state.low) * self.record_scale + 1e-150
        ratio = np.log1p(np.divide(beyond, span, out=beyond), out=beyond)
        return np.where(known, ratio, 0.0)

    def _burst(self, state: SurpriseState, burst: np.ndarray) -> np.ndarray:
        """``u_burst``: nats for a smoothed ``p`` above its all-time high (0 below it, and for a day)."""
        ratio = burst / np.maximum(state.burst_high, BURST_FLOOR)
        ratio -= 1.0
        np.maximum(ratio, 0.0, out=ratio)
        ratio *= 1.0 / self.burst_scale
        np.log1p(ratio, out=ratio)
        return np.where(state.learned >= SEASON_WARM, ratio, 0.0)


def _row_max(a: np.ndarray) -> np.ndarray:
    """``a.max(axis=1)``, column by column: numpy reduces a short last axis slowly."""
    out = a[:, 0].copy()
    for column in range(1, a.shape[1]):
        np.maximum(out, a[:, column], out=out)
    return out
