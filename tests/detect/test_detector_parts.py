"""The detectors' parts, each on a case whose answer is known."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from foresight.bench.nab import read_value_csv
from foresight.detect import make_detector, run
from foresight.detect.daily import DAY_S, DailyProfile, Moment
from foresight.detect.ewma import EwmaZScore
from foresight.detect.stuck import StuckRun
from foresight.detect.surprise import SurpriseEnsemble
from foresight.detect.symbols import SymbolNovelty
from foresight.detect.tail import TailCalibrator
from foresight.errors import ConfigError


def _seed_reference(x: list[float], alpha: float, two_sided: bool) -> list[float]:
    """The seed's formula, written out sample by sample."""
    out, mean, var = [], None, 0.0
    for v in x:
        if mean is None:
            z = 0.0
            mean = v
        else:
            z = (v - mean) / (math.sqrt(var) + 1e-6)
            d = v - mean
            mean += alpha * d
            var = (1 - alpha) * (var + alpha * d * d)
        z = abs(z) if two_sided else z
        out.append(0.5 * (1.0 + math.tanh(0.5 * z)))  # = 1 / (1 + e^-z), without overflow
    return out


@pytest.mark.parametrize("two_sided", [False, True])
def test_ewma_is_exactly_the_seed_formula(two_sided: bool) -> None:
    x = list(np.random.default_rng(3).normal(10.0, 2.0, 300))
    got = run(EwmaZScore(alpha=0.05, two_sided=two_sided), np.array(x), np.arange(300.0))
    np.testing.assert_allclose(got, _seed_reference(x, 0.05, two_sided), rtol=1e-12, atol=1e-15)


def test_ewma_rejects_an_impossible_alpha() -> None:
    with pytest.raises(ValueError, match="alpha"):
        EwmaZScore(alpha=0.0)


def test_tail_surprise_of_exponential_data_is_its_excess() -> None:
    """For Exp(1) data, -log P(Z >= z) = z: the fitted tail must extrapolate beyond the data."""
    cal = TailCalibrator(q=0.9)
    state = cal.init(1, 1)
    for z in np.random.default_rng(0).exponential(1.0, 20000):
        cal.learn(state, np.array([[z]]), np.array([[True]]))
    for z in (3.0, 5.0, 8.0, 12.0):
        assert cal.surprise(state, np.array([[z]]))[0, 0] == pytest.approx(z, rel=0.15)


def test_tail_scores_nothing_while_warming_up() -> None:
    cal = TailCalibrator(warm=50)
    state = cal.init(1, 2)
    for z in range(49):
        cal.learn(state, np.array([[float(z), -float(z)]]), np.array([[True, True]]))
    assert cal.surprise(state, np.array([[1e6, 1e6]])).tolist() == [[0.0, 0.0]]


def test_daily_profile_needs_every_previous_day_and_forgets_older_ones() -> None:
    profile = DailyProfile(days=3)
    state = profile.init(1)

    def at(day: int, hour: int) -> Moment:
        return profile.locate(np.array([day * DAY_S + hour * 3600.0]))

    def learn(x: float, when: Moment) -> None:
        profile.learn(state, np.array([x]), when, np.array([True]))

    learn(5.0, at(0, 10))
    assert np.isnan(profile.residual(state, np.array([5.0]), at(1, 10))[0]), "one previous day is not two"
    learn(6.0, at(1, 10))
    assert profile.residual(state, np.array([5.5]), at(2, 10))[0] == pytest.approx(0.5)
    assert np.isnan(profile.residual(state, np.array([5.5]), at(2, 14))[0]), "nothing near 14:00"
    assert np.isnan(profile.residual(state, np.array([5.5]), at(5, 10))[0]), "days 3 and 4 are unknown"


def test_symbols_are_scale_free() -> None:
    """The same shape at a million times the scale is equally (un)surprising."""
    novelty = SymbolNovelty(warm=5)
    results = []
    for scale in (1.0, 1e6):
        state = novelty.init(1)
        pattern = [scale * v for v in [3.0, 5.0, 4.0, 8.0] * 30]
        for v in pattern:
            at = novelty.locate(state, np.array([v]), np.array([0.0]))
            novelty.learn(state, np.array([v]), at, np.array([True]))
        at = novelty.locate(state, np.array([40.0 * scale]), np.array([0.0]))
        results.append(novelty.surprise(state, at))
    np.testing.assert_allclose(results[0], results[1])


def _stuck_records(values: list[float], floor: int = 10) -> list[tuple[int, float]]:
    """Step one series through :class:`StuckRun` (NaN: a missing sample): the records that surprise,
    and their nats (the first run to pass the floor is a record among none: 0 nats)."""
    stuck = StuckRun(floor=floor)
    state = stuck.init(1)
    records = []
    for k, v in enumerate(values):
        x, ok = np.array([v]), np.array([math.isfinite(v)])
        run_ = stuck.repeats(state, x)
        rows, nats = stuck.surprise(state, run_, ok)
        records += [(k, float(u)) for u in nats if u > 0.0]
        stuck.learn(state, x, run_, ok)
    return records


def test_stuck_run_reports_once_when_a_run_outlasts_every_earlier_one() -> None:
    """Runs of 15 repeats, then one of 40 with a gap in it: one record, at the 16th repeat."""
    early = ([1.0] * 16 + [2.0, 3.0]) * 5  # 15 runs: 5 of 15 repeats, 10 of none
    frozen = [4.0] * 10 + [math.nan] + [4.0] * 30  # a missing sample neither ends nor extends a run
    records = _stuck_records(early + frozen)
    assert [k for k, _ in records] == [len(early) + 17]
    assert records[0][1] == pytest.approx(math.log(16.0)), "a record among 16 runs: log 16 nats"
    assert _stuck_records(early + [4.0] * 16) == [], "as long as the record is no record"
    assert _stuck_records([5.0] * 300) == [], "a series that never moved has no other run to beat"


def test_surprise_alerts_once_at_the_onset_of_a_level_shift() -> None:
    rng = np.random.default_rng(5)
    x = np.concatenate([rng.normal(20.0, 1.0, 800), rng.normal(40.0, 1.0, 100)])
    p = run(SurpriseEnsemble(), x, 300.0 * np.arange(x.size))
    assert int(np.argmax(p)) == 800
    assert np.count_nonzero(p[801:821]) <= 1, "the onset rule keeps the event to one alert"


def test_surprise_learns_a_daily_spike_is_normal() -> None:
    """A spike at 03:00 every day alarms on the second day, then less each day, then not at all."""
    days, step = 8, 300.0
    t = step * np.arange(days * 288)
    x = 10.0 + np.random.default_rng(2).normal(0.0, 0.5, t.size)
    spikes = np.flatnonzero((t % DAY_S) == 3 * 3600.0)
    x[spikes] = 30.0
    p = run(SurpriseEnsemble(), x, t)
    # The only alarm as strong is the noise's all-time low (a new record on day 4), not a spike.
    assert p[spikes[1]] >= np.sort(p[288:])[-2]
    assert np.all(np.diff(p[spikes[1:-1]]) < 0)
    assert p[spikes[-1]] == 0.0, "by the eighth day the spike is no more than the noise around it"


def test_surprise_ranks_a_burst_beyond_the_whole_history_above_familiar_bursts() -> None:
    """Bursts to ~30 come every few hours; one to 60 is a record and outranks all of them."""
    rng = np.random.default_rng(3)
    x = 10.0 + rng.normal(0.0, 0.5, 3000)
    bursts = np.arange(400, 3000, 37)
    x[bursts] = 30.0 + rng.normal(0.0, 2.0, bursts.size)
    x[2500] = 60.0
    with_record = run(SurpriseEnsemble(), x, 300.0 * np.arange(x.size))
    without = run(SurpriseEnsemble(record_weight=0.0), x, 300.0 * np.arange(x.size))
    familiar = bursts[(bursts > 1000) & (bursts != 2500)]
    assert with_record[2500] > with_record[familiar].max() + 0.1
    assert with_record[2500] > without[2500] + 0.05


def test_surprise_stays_quiet_while_the_season_calibrates(shared_data: Path) -> None:
    """NAB's daily square-ish cycle: the season's first residuals (after two days) raise no alarm.

    Its tail, trusted after 100 residuals, once scored them at 70 nats (p = 0.92 at row 684).
    """
    _, seconds, values = read_value_csv(shared_data / "nab" / "data" / "artificialWithAnomaly" / "art_daily_jumpsdown.csv")
    p = run(SurpriseEnsemble(), values[:1200], seconds[:1200])
    assert p[576:].max() < 0.7


def test_surprise_sees_spikes_that_come_more_often(shared_data: Path) -> None:
    """NAB's art_increase_spike_density: the same spike, suddenly more often (anomaly window rows
    1805-2207). No single sample is new; the burst view (a smoothed ``p`` above its all-time high)
    lifts the window's onset above every alarm elsewhere, which the other views alone do not."""
    folder = shared_data / "nab" / "data" / "artificialWithAnomaly"
    _, seconds, values = read_value_csv(folder / "art_increase_spike_density.csv")
    for weight, clear in ((3.0, True), (0.0, False)):
        p = run(SurpriseEnsemble(burst_weight=weight), values, seconds)
        outside = np.concatenate([p[604:1805], p[2208:]])
        assert bool(p[1805:2208].max() > outside.max() + 0.03) is clear


def test_surprise_sees_a_metric_frozen_at_its_usual_value(shared_data: Path) -> None:
    """NAB's ec2_disk_write_bytes_c0d644 sits at exactly 0 for two days (anomaly window rows
    2964-3098); 0 is its most common value, so only the run's length is new. The stuck view lifts
    the window's onset from 0.30 to above the corpus's thresholds (0.59-0.61)."""
    folder = shared_data / "nab" / "data" / "realAWSCloudwatch"
    _, seconds, values = read_value_csv(folder / "ec2_disk_write_bytes_c0d644.csv")
    window = slice(2964, 3099)
    with_view = run(SurpriseEnsemble(), values, seconds)[window].max()
    without = run(SurpriseEnsemble(stuck_weight=0.0), values, seconds)[window].max()
    assert with_view > 0.62 > 0.4 > without


def test_unknown_detector_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="known: ewma"):
        make_detector("nope")
