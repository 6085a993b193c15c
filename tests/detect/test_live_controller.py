"""The live watch controller against a Prometheus-like in-memory source and pushes: what reaches
the alert sink, and that awkward input (NaN, gaps, out-of-order, constant, huge) is handled."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from foresight.adapters.alertmanager import AlertmanagerClient
from foresight.clock import ManualClock
from foresight.detect import make_detector
from foresight.detect.alerts import AlertRule, rfc3339
from foresight.detect.live import LiveConfig, LiveDetector, LiveState
from foresight.errors import ConfigError, ServiceUnavailable
from foresight.series import Series

T0 = 1_700_000_100.0  # a multiple of 15
STEP = 15.0
LOOKBACK_S = 300.0


class Recorded:
    """A MetricsSource over recorded samples, evaluated like Prometheus: at each grid time, the
    latest sample at or before it if at most 5 minutes old. ``down`` makes it raise."""

    def __init__(self, series: dict[str, list[Series]]) -> None:
        self.series, self.down, self.calls = series, False, []

    def query_range(self, query: str, start: float, end: float, step_s: float) -> list[Series]:
        self.calls.append((query, start, end))
        if self.down:
            raise ServiceUnavailable("Prometheus at http://prom:9090 cannot be reached")
        grid = start + step_s * np.arange(math.floor((end - start) / step_s + 1e-9) + 1)
        out = []
        for s in self.series[query]:
            i = np.searchsorted(s.timestamps, grid, side="right") - 1
            ok = (i >= 0) & (grid - s.timestamps[np.maximum(i, 0)] <= LOOKBACK_S)
            if ok.any():
                out.append(Series(s.labels, grid[ok], s.values[i[ok]]))
        return out


class Collected:
    """An alert sink that keeps what each period sent."""

    def __init__(self) -> None:
        self.periods: list[list[dict]] = []

    def send(self, alerts) -> None:
        self.periods.append(list(alerts))

    def all(self) -> list[tuple[float, dict]]:
        return [(i, a) for i, alerts in enumerate(self.periods) for a in alerts]


def _noise(n: int, seed: int = 0, level: float = 10.0) -> np.ndarray:
    return level + np.random.default_rng(seed).normal(0.0, 1.0, n)


def _watch(source, sink, clock, detector="surprise", **config) -> LiveDetector:
    config.setdefault("queries", ("latency",))
    return LiveDetector(make_detector(detector), sink, clock, LiveConfig(**config), source=source)


def test_a_spike_fires_once_is_resent_while_it_lasts_and_resolves_when_the_series_is_normal():
    x = _noise(400)
    x[300:310] = 40.0  # a 2.5-minute incident
    labels = {"__name__": "latency", "job": "api"}
    source = Recorded({"latency": [Series(labels, T0 + STEP * np.arange(400), x)]})
    clock, sink = ManualClock(T0 + STEP * 250), Collected()
    live = _watch(source, sink, clock, prometheus_url="http://prom:9090", rule=AlertRule(resend_interval_s=60.0))
    for k in range(250, 340):
        clock.sleep_until(T0 + STEP * k)
        live.step()

    sent = [(250 + i, a) for i, a in sink.all()]
    assert [k for k, _ in sent] == [300, 304, 308, 312], "fired, re-sent every 60 s, resolved"
    first, last = sent[0][1], sent[-1][1]
    assert first["labels"] == {
        "job": "api",
        "metric": "latency",
        "query": "latency",
        "alertname": "ForesightAnomaly",
        "severity": "warning",
    }
    assert first["startsAt"] == rfc3339(T0 + STEP * 300) and first["endsAt"] == rfc3339(T0 + STEP * 300 + 240)
    assert first["annotations"]["value"] == "40" and "outside its expected range" in first["annotations"]["summary"]
    low, high = map(float, first["annotations"]["expected_range"].split(" to "))
    assert 5.0 < low < 9.0 and 11.0 < high < 15.0
    assert first["generatorURL"] == "http://prom:9090/graph?g0.expr=latency&g0.tab=0"
    # Resolved three normal samples after the incident, ending at that period's time.
    assert last["labels"] == first["labels"] and last["endsAt"] == rfc3339(T0 + STEP * 312)
    assert not live.state.alerts.firing.any()
    # The first period read the backfill (an hour), later ones only the new grid point.
    assert source.calls[0][1:] == (T0 + STEP * 10, T0 + STEP * 250)
    assert all(end - start == 0 for _, start, end in source.calls[1:])


def test_pushed_samples_are_cleaned_and_scored_exactly_as_each_series_alone():
    clock, sink = ManualClock(T0), Collected()
    live = LiveDetector(make_detector("surprise"), sink, clock, LiveConfig())
    a, b = {"__name__": "m", "pod": "a"}, {"__name__": "m", "pod": "b"}
    live.push([Series(a, [T0 - 50, T0 - 40, T0 - 3], [1.0, np.nan, 3.0]), Series(b, [T0 - 30], [5.0])])
    live.push([Series(a, [T0 - 45, T0 - 3], [2.0, 3.5])])  # out of order, and a repeated time (last wins)
    report = live.step()
    assert (report.scored, report.missing, report.late, report.series) == (4, 1, 0, 2)

    clock.advance(STEP)
    live.push(
        [
            Series(a, [T0 - 45, T0 + 1], [9.0, 1e300]),  # T0 - 45 is older than what was scored
            Series(b, [T0 - 31, T0 + 2, T0 + 7.5], [0.0, 6.0, np.inf]),
        ]
    )
    report = live.step()
    assert (report.scored, report.missing, report.late, report.series) == (2, 1, 2, 2)

    # Every series' state is what the detector learns from its clean samples alone, in order.
    detector = make_detector("surprise")
    for row, (times, values) in enumerate(
        [
            ([T0 - 50, T0 - 45, T0 - 3, T0 + 1], [1.0, 2.0, 3.5, 1e300]),
            ([T0 - 30, T0 + 2], [5.0, 6.0]),
        ]
    ):
        alone = detector.init(1)
        for t, v in zip(times, values):
            detector.update(alone, np.array([v]), np.array([t]))
        mine = live.state.detector.to_dict()
        for name, field in alone.to_dict().items():
            if "data" in field:
                assert mine[name]["data"][row] == field["data"][0], name
    assert live.state.last_t.tolist() == [T0 + 1, T0 + 7.5]


def test_constant_series_and_huge_values_give_sane_alerts():
    n = 120
    flat = np.full(n, 7.0)
    flat[100:] = 9.0
    huge = _noise(n, 1)
    huge[100] = 1e300
    source = Recorded(
        {
            "q": [
                Series({"s": "flat"}, T0 + STEP * np.arange(n), flat),
                Series({"s": "huge"}, T0 + STEP * np.arange(n), huge),
            ]
        }
    )
    clock, sink = ManualClock(T0 + STEP * 90), Collected()
    live = _watch(
        source,
        sink,
        clock,
        detector="ewma",
        queries=("q",),
        rule=AlertRule(fire_threshold=0.995, critical_threshold=0.999),
    )
    for k in range(90, 110):
        clock.sleep_until(T0 + STEP * k)
        live.step()
    fired = {a["labels"]["s"]: a for _, a in sink.all()}
    assert fired["flat"]["annotations"]["expected_range"] == "7 to 7"  # zero variance: no NaN, no crash
    assert fired["flat"]["annotations"]["value"] == "9" and fired["flat"]["labels"]["severity"] == "critical"
    assert fired["huge"]["annotations"]["value"] == "1e+150"  # clipped like the detectors clip
    json.dumps([a for _, a in sink.all()], allow_nan=False)  # plain, valid JSON for Alertmanager
    flat_starts = {a["startsAt"] for _, a in sink.all() if a["labels"]["s"] == "flat"}
    assert flat_starts == {rfc3339(T0 + STEP * 100)}  # fired once, then held and re-sent


def test_a_failing_source_is_reported_and_its_gap_read_next_period():
    x = _noise(200)
    source = Recorded({"latency": [Series({"job": "api"}, T0 + STEP * np.arange(200), x)]})
    clock, sink = ManualClock(T0 + STEP * 100), Collected()
    live = _watch(source, sink, clock, backfill_s=600.0)
    assert live.step().scored == 41  # 10 minutes back, on the grid
    source.down = True
    for _ in range(3):
        clock.advance(STEP)
        report = live.step()
        assert report.scored == 0 and "cannot be reached" in report.errors[0]
    assert len(sink.periods) == 4, "the sink is called every period, to retry what it holds"
    source.down = False
    clock.advance(STEP)
    assert live.step().scored == 4  # the three missed grid points and the new one
    assert source.calls[-1][1:] == (T0 + STEP * 101, T0 + STEP * 104)


def test_a_new_level_keeps_firing_until_the_series_goes_silent_and_is_forgotten():
    x = _noise(400)
    x[300:] = 60.0  # a new level from sample 300 on, and no sample after 309
    source = Recorded({"latency": [Series({"job": "api"}, T0 + STEP * np.arange(310), x[:310])]})
    clock, sink = ManualClock(T0 + STEP * 290), Collected()
    live = _watch(source, sink, clock, forget_after_s=600.0)
    reports = []
    for k in range(290, 380):
        clock.sleep_until(T0 + STEP * k)
        reports.append(live.step())
    alerts = [a for _, a in sink.all()]
    assert {a["startsAt"] for a in alerts} == {rfc3339(T0 + STEP * 300)}
    forgotten = [290 + i for i, r in enumerate(reports) if r.forgotten]
    # Prometheus repeats the last sample for 5 minutes; 10 minutes after that the series is dropped.
    assert forgotten == [309 + 20 + 40 + 1]
    assert alerts[-1]["endsAt"] == rfc3339(T0 + STEP * forgotten[0])  # resolved when forgotten
    assert all(a["endsAt"] > rfc3339(T0 + STEP * (290 + i)) for i, a in sink.all()[:-1])  # firing till then
    assert len(live.state.keys) == 0 and live.state.detector.learned.shape == (0,)


def test_a_saved_state_resumes_exactly_where_the_watch_stopped():
    x = _noise(400, 3)
    x[330:333] = 35.0
    series = {
        "latency": [
            Series({"job": "api"}, T0 + STEP * np.arange(400), x),
            Series({"job": "db"}, T0 + STEP * np.arange(400), _noise(400, 4)),
        ]
    }

    def run(periods: range, state: LiveState | None = None) -> tuple[LiveDetector, Collected]:
        clock, sink = ManualClock(T0 + STEP * periods.start), Collected()
        live = LiveDetector(
            make_detector("surprise"),
            sink,
            clock,
            LiveConfig(queries=("latency",)),
            source=Recorded(series),
            state=state,
        )
        for k in periods:
            clock.sleep_until(T0 + STEP * k)
            live.step()
        return live, sink

    _, whole = run(range(300, 360))
    first, _ = run(range(300, 331))
    saved = json.loads(json.dumps(first.state.to_dict()))
    _, rest = run(range(331, 360), LiveState.from_dict(saved, make_detector("surprise")))
    assert [a for _, a in whole.all()] and whole.periods[31:] == rest.periods


def test_an_unreachable_alertmanager_does_not_stop_the_loop():
    from plugins.prometheus_server import free_port

    x = _noise(200)
    x[150] = 50.0
    source = Recorded({"latency": [Series({"job": "api"}, T0 + STEP * np.arange(200), x)]})
    clock = ManualClock(T0 + STEP * 140)
    with AlertmanagerClient(f"http://127.0.0.1:{free_port()}", clock, timeout_s=1.0) as client:
        live = _watch(source, client, clock)
        assert live.run(until=T0 + STEP * 160) == 20
        assert client.pending == 1 and client.delivered == 0  # the alert (its latest state) waits


def test_impossible_settings_are_refused():
    with pytest.raises(ConfigError, match="resend_interval_s"):
        LiveConfig(period_s=120.0)
    with pytest.raises(ConfigError, match="range_quantiles"):
        LiveConfig(range_quantiles=(0.9, 0.1))
    with pytest.raises(ConfigError, match="metrics source"):
        LiveDetector(make_detector("ewma"), Collected(), ManualClock(), LiveConfig(queries=("up",)))


def test_without_backfill_the_first_period_reads_only_the_present_and_an_empty_state_round_trips():
    source = Recorded({"latency": [Series({"job": "api"}, T0 + STEP * np.arange(50), _noise(50))]})
    clock = ManualClock(T0 + STEP * 40 + 7.0)  # between two grid points
    live = _watch(source, Collected(), clock, backfill_s=0.0)
    empty = LiveState.from_dict(json.loads(json.dumps(live.state.to_dict())), make_detector("surprise"))
    assert empty.keys == [] and empty.window.shape == (0, 1000)
    assert live.step().scored == 1 and source.calls == [("latency", T0 + STEP * 40, T0 + STEP * 40)]
