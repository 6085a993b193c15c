"""The fleet monitor: a replayed backlog scores exactly as live samples would, outages show in the fleet view,
a flooding device is rate limited, bad messages are counted and the rest goes on."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from foresight.edge.fleet import Alarm, EdgeConfig, FleetMonitor, Message
from foresight.edge.schema import Decoded, Sample, decode, encode, topic
from foresight.sim.edge_fleet import EdgeFleet

T0 = 1_765_000_000.0


def _monitor(**config: object) -> FleetMonitor:
    return FleetMonitor(EdgeConfig(**config))


def _run(fleet: EdgeFleet, monitor: FleetMonitor) -> tuple[list[Alarm], list[dict]]:
    """Deliver the fleet's messages tick by tick, one wall second each; the views seen at each tick."""
    alarms, views = [], []
    for k in range(fleet.ticks):
        now = T0 + 10_000 + k
        messages = [Message(p.topic, p.payload, now) for p in fleet.tick(k)]
        alarms += [a for a in monitor.step(messages, now).alarms if a.firing]
        views.append(monitor.view(now))
    return alarms, views


def _key(a: Alarm) -> tuple[str, str, float, float]:
    return a.device, a.metric, a.starts_at, round(a.score, 9)


def test_a_replayed_backlog_gives_the_alarms_an_always_online_fleet_gives() -> None:
    fleet = EdgeFleet(devices=60, ticks=120, t0=T0, seed=3, outage_fraction=0.3, anomaly_fraction=0.3)
    published = [[p for p in fleet.tick(k)] for k in range(fleet.ticks)]
    assert fleet.outages
    replayed, online = _monitor(), _monitor()
    rng = np.random.default_rng(5)
    late, live = [], []
    for k, batch in enumerate(published):
        now = T0 + 10_000 + k
        shuffled = [batch[i] for i in rng.permutation(len(batch))]
        late += [a for a in replayed.step([Message(p.topic, p.payload, now) for p in shuffled], now).alarms if a.firing]
    samples = {}
    for batch in published:
        for p in batch:
            decoded = decode(p.topic, p.payload, T0 + 10_000)
            assert isinstance(decoded, Decoded)
            samples.update({(s.seq, decoded.device): s for s in decoded.samples})
    for k in range(fleet.ticks):  # the same samples, each sent the moment it was measured
        messages = [Message(topic("sim", d), encode(d, [samples[(k, d)]]), fleet.time(k)) for d in fleet.names]
        live += [a for a in online.step(messages, fleet.time(k)).alarms if a.firing]
    assert live and sorted(map(_key, late)) == sorted(map(_key, live))


def test_outages_show_as_offline_devices_and_every_sample_is_scored_once() -> None:
    fleet = EdgeFleet(devices=50, ticks=120, t0=T0, seed=1, outage_fraction=0.2, duplicate_fraction=0.05)
    monitor = _monitor(offline_after_s=3.0)
    _, views = _run(fleet, monitor)
    offline = [v["fleets"]["sim"]["offline"] for v in views]
    assert max(offline) == len(fleet.outages) == 10 and offline[-1] == 0
    assert monitor.scored == 50 * 120
    assert monitor.dropped["stale"] > 0 and set(monitor.dropped) == {"stale"}


def test_anomalies_inside_an_outage_are_found_when_the_backlog_arrives() -> None:
    fleet = EdgeFleet(devices=100, ticks=120, t0=T0, seed=2, outage_fraction=0.3, anomaly_fraction=0.2)
    monitor = _monitor()
    alarms, _ = _run(fleet, monitor)
    hidden = [a for a in fleet.anomalies if any(o.device == a.device and o.start <= a.start < o.end for o in fleet.outages)]
    assert hidden
    for anomaly in hidden:
        name = fleet.names[anomaly.device]
        found = [a for a in alarms if a.device == name and a.metric == anomaly.metric
                 and fleet.time(anomaly.start) <= a.starts_at <= fleet.time(anomaly.end + 1)]
        assert found, anomaly
        outage = next(o for o in fleet.outages if o.device == anomaly.device)
        assert found[0].decided_at == T0 + 10_000 + outage.end  # decided when the replay came


def test_a_flooding_device_is_rate_limited_and_the_others_are_untouched() -> None:
    monitor = _monitor(rate_per_s=10.0, burst=20)
    flood = [Message(topic("f", "noisy"), encode("noisy", [Sample(0, k, T0 + k, {"cpu": 1.0})]), T0 + 1000)
             for k in range(500)]
    calm = [Message(topic("f", "calm"), encode("calm", [Sample(0, 0, T0, {"cpu": 1.0})]), T0 + 1000)]
    result = monitor.step(flood + calm, T0 + 1000)
    assert result.dropped == {"rate_limited": 480}
    assert monitor.devices["noisy"].order.released == 20 and monitor.devices["calm"].order.released == 1
    row = next(r for r in monitor.view(T0 + 1000)["devices"] if r["device"] == "noisy")
    assert row["rate_limited"] == 480


def test_bad_messages_are_counted_per_reason_and_per_device() -> None:
    monitor = _monitor()
    good = Message(topic("f", "d"), encode("d", [Sample(0, 0, T0, {"cpu": 1.0})]), T0)
    bad = [Message(topic("f", "d"), b"{", T0), Message("nope", b"{}", T0),
           Message(topic("f", "d"), encode("d", [Sample(0, 1, T0 + 9999, {"cpu": 1.0})]), T0)]
    monitor.step([good, *bad], T0)
    assert monitor.dropped == {"bad_json": 1, "bad_topic": 1, "future_timestamp": 1}
    assert monitor.devices["d"].rejected == 2 and monitor.scored == 1


def test_a_device_id_heard_in_a_second_fleet_is_refused() -> None:
    monitor = _monitor()
    first = Message(topic("f", "d"), encode("d", [Sample(0, 0, T0, {"cpu": 1.0})]), T0)
    other = Message(topic("g", "d"), encode("d", [Sample(0, 1, T0, {"cpu": 1.0})]), T0)
    assert monitor.step([first, other], T0).dropped == {"fleet_mismatch": 1}
    assert monitor.scored == 1 and monitor.devices["d"].fleet == "f"


MESSAGES = st.one_of(
    st.builds(lambda d, seqs, boot, x: Message(topic("f", d), encode(d, [Sample(boot, q, T0 + q, {"cpu": x})
                                                                          for q in seqs], boot=boot), T0 + 10),
              st.sampled_from(["a", "b", "c"]), st.lists(st.integers(0, 30), min_size=1, max_size=5),
              st.integers(0, 2), st.floats(-1e300, 1e300)),
    st.builds(lambda name, payload: Message(name, payload, T0 + 10),
              st.sampled_from([topic("f", "a"), topic("g", "a"), "foresight/edge/f", "x"]), st.binary(max_size=200)),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(MESSAGES, max_size=20), min_size=1, max_size=5))
def test_any_stream_of_messages_is_scored_once_per_sample_and_never_raises(steps: list[list[Message]]) -> None:
    monitor = _monitor(reorder_wait_s=1.0)
    seen: list[tuple[str, int, int]] = []
    for k, messages in enumerate(steps):
        seen += monitor.step(messages, T0 + 10 + 2 * k).scored
    assert len(seen) == len(set(seen)) == monitor.scored
    for device in {d for d, _, _ in seen}:
        mine = [(boot, seq) for d, boot, seq in seen if d == device]
        assert mine == sorted(mine)  # released in (boot, seq) order, whatever the arrival order
