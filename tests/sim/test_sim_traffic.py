"""Traffic: the seeded generator's shape, trace replay, and strict errors on malformed traces."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from foresight.errors import InputError
from foresight.sim import SyntheticTraffic, TraceTraffic
from foresight.sim.trace import read_trace, resample
from foresight.sim.traffic import entry_load, synthetic_load

DAY = 86400.0
QUIET = {"noise_sd": 0.0, "bursts_per_day": 0.0, "growth_per_day": 0.0}


def _times(days: float, step_s: float = 60.0) -> np.ndarray:
    return np.arange(0.0, days * DAY, step_s)


def test_same_seed_same_traffic_and_other_seed_differs():
    spec = SyntheticTraffic()
    a = synthetic_load(spec, _times(2), 3, seed=7)
    assert np.array_equal(a, synthetic_load(spec, _times(2), 3, seed=7))
    assert not np.allclose(a, synthetic_load(spec, _times(2), 3, seed=8))


def test_daily_cycle_peaks_at_peak_hour_and_reaches_daily_peak():
    spec = SyntheticTraffic(daily_peak_rps=200.0, peak_hour=9.0, weekly_amplitude=0.0, **QUIET)
    x = synthetic_load(spec, _times(1), 1, seed=0)[:, 0]
    assert np.argmax(x) * 60.0 / 3600.0 == pytest.approx(9.0)
    assert x.max() == pytest.approx(200.0)
    assert x.min() == pytest.approx(200.0 * 0.4 / 1.6)  # (1 - a_d) / (1 + a_d)


def test_weekends_are_quieter_than_midweek():
    spec = SyntheticTraffic(weekly_amplitude=0.3, **QUIET)
    x = synthetic_load(spec, _times(7), 1, seed=0)[:, 0].reshape(7, -1).mean(axis=1)
    # Unix day 0 is a Thursday: days 2 and 3 are Saturday and Sunday, day 6 is Wednesday.
    assert x[6] > x[0] > x[2] and x[6] > x[3]


def test_growth_compounds_per_day():
    spec = SyntheticTraffic(weekly_amplitude=0.0, noise_sd=0.0, bursts_per_day=0.0, growth_per_day=0.1)
    x = synthetic_load(spec, _times(3), 1, seed=0)[:, 0].reshape(3, -1).mean(axis=1)
    assert x[1] / x[0] == pytest.approx(1.1, rel=1e-3) and x[2] / x[1] == pytest.approx(1.1, rel=1e-3)


def test_noise_has_mean_one_and_the_asked_spread():
    flat = {"daily_amplitude": 0.0, "weekly_amplitude": 0.0, "bursts_per_day": 0.0, "growth_per_day": 0.0}
    spec = SyntheticTraffic(daily_peak_rps=100.0, noise_sd=0.2, noise_correlation_s=60.0, **flat)
    x = synthetic_load(spec, _times(20), 1, seed=3)[:, 0]
    assert x.mean() == pytest.approx(100.0, rel=0.02)
    assert np.log(x).std() == pytest.approx(0.2, rel=0.05)


def test_bursts_raise_the_load_above_the_seasonal_peak():
    spec = SyntheticTraffic(daily_amplitude=0.0, weekly_amplitude=0.0, noise_sd=0.0, growth_per_day=0.0,
                            bursts_per_day=5.0, burst_magnitude=1.0)
    x = synthetic_load(spec, _times(2), 1, seed=1)[:, 0]
    assert x.min() == pytest.approx(100.0) and x.max() > 150.0


def test_entry_load_splits_by_share():
    x = entry_load(SyntheticTraffic(), np.array([3.0, 1.0]), 100, 15.0, 0.0, seed=0)
    assert x.shape == (100, 2)


def _write(tmp_path: Path, text: str, name: str = "trace.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_iso_and_unix_timestamps_read_the_same(tmp_path):
    iso = _write(tmp_path, "timestamp,requests\n1970-01-01 00:01:00,5\n1970-01-01T00:02:00Z,7\n", "iso.csv")
    unix = _write(tmp_path, "ts,value\n60,5\n120,7\n", "unix.csv")
    (t1, v1), (t2, v2) = read_trace(iso), read_trace(unix)
    assert t1.tolist() == t2.tolist() == [60.0, 120.0] and v1.tolist() == v2.tolist() == [5.0, 7.0]


@pytest.mark.parametrize(
    "text, where, words",
    [
        ("", "", "empty file"),
        ("\n\n", "", "empty file"),
        ("60,5\n120,7\n", ":1:", "header"),
        ("timestamp\n60\n", ":1:", "header"),
        ("timestamp,a,b\n60,1,2\n", ":1:", "header"),
        ("timestamp,value\n60,5\n", "", "at least two data rows"),
        ("timestamp,value\n60,5\n120,lots\n", ":3:", "'lots' is not a number"),
        ("timestamp,value\n60,5\n120,nan\n", ":3:", "finite number >= 0"),
        ("timestamp,value\n60,5\n120,-1\n", ":3:", "finite number >= 0"),
        ("timestamp,value\n60,5\n120,6\n90,7\n", ":4:", "not after the previous row"),
        ("timestamp,value\n60,5\n60,6\n", ":3:", "not after the previous row"),
        ("timestamp,value\n60,5\n120,6,1\n", ":3:", "expected 2 columns"),
        ("timestamp,value\n2024-01-01 00:00:00,5\n120,6\n", ":3:", "ISO-8601"),
        ("timestamp,value\n60,5\nyesterday,6\n", ":3:", "Unix seconds"),
        ("timestamp,value\n60,0\n120,0\n", "", "every value is 0"),
    ],
)
def test_malformed_traces_name_the_file_and_line(tmp_path, text, where, words):
    path = _write(tmp_path, text)
    with pytest.raises(InputError) as err:
        read_trace(path)
    assert f"{path}{where}" in str(err.value) and words in str(err.value)


def test_a_missing_trace_names_the_file(tmp_path):
    with pytest.raises(InputError, match="nope.csv: cannot read trace"):
        read_trace(tmp_path / "nope.csv")


def test_resampling_averages_down_and_interpolates_up():
    t = np.arange(0.0, 600.0, 60.0)
    v = np.arange(10.0)
    coarse = resample(t, v, 5, 120.0)
    assert coarse[:4].tolist() == pytest.approx([1.0, 3.0, 5.0, 7.0])  # v(t) = t / 60, mean at mid-step
    fine = resample(t, v, 8, 15.0)
    assert fine.tolist() == pytest.approx([0.125, 0.375, 0.625, 0.875, 1.125, 1.375, 1.625, 1.875])


def test_resampling_tiles_and_keeps_the_mean():
    t = np.arange(0.0, 3600.0, 60.0)
    v = np.random.default_rng(0).uniform(0, 100, t.size)
    x = resample(t, v, 3 * 240, 15.0)  # three laps of one hour
    assert np.allclose(x[:240], x[240:480]) and np.allclose(x[:240], x[480:])
    assert x.mean() == pytest.approx(np.mean((v + np.roll(v, -1)) / 2))


def test_trace_traffic_is_scaled_to_its_peak_and_tiled(tmp_path):
    rows = "\n".join(f"{60 * i},{10 + (i % 30)}" for i in range(120))
    path = _write(tmp_path, "timestamp,requests\n" + rows + "\n")
    x = entry_load(TraceTraffic(path=path, peak_rps=500.0), np.array([1.0, 1.0]), 4 * 480, 15.0, 0.0, seed=0)
    total = x.sum(axis=1)
    assert total.max() == pytest.approx(500.0) and np.allclose(x[:, 0], x[:, 1])
    assert np.allclose(total[:480], total[480:960])


def test_a_public_trace_replays(shared_data):
    path = shared_data / "traces" / "nasa-http-1995" / "requests_per_minute.csv"
    x = entry_load(TraceTraffic(path=path, peak_rps=1000.0), np.array([1.0]), 4 * 60 * 24 * 2, 15.0, 0.0, seed=0)
    assert x.shape == (11520, 1) and 0 < x.max() <= 1000.0 + 1e-9 and np.all(x >= 0)
