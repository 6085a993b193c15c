"""The simulated fleet: every sample is published once (twice for the redelivered ones), outages replay their
backlog in order when they end, anomalies sit where the ground truth says."""

from __future__ import annotations

from collections import Counter

from foresight.edge.schema import Decoded, decode
from foresight.sim.edge_fleet import METRICS, EdgeFleet


def test_every_sample_is_published_and_backlogs_replay_in_order_at_the_outage_end() -> None:
    fleet = EdgeFleet(devices=40, ticks=120, seed=4, outage_fraction=0.25, duplicate_fraction=0.0)
    seen: Counter[tuple[int, int]] = Counter()
    for k in range(fleet.ticks):
        for p in fleet.tick(k):
            decoded = decode(p.topic, p.payload, now=fleet.time(k))
            assert isinstance(decoded, Decoded) and set(decoded.samples[0].values) == set(METRICS)
            assert [s.seq for s in decoded.samples] == list(p.seqs) == sorted(p.seqs)
            assert all(s.t <= fleet.time(k) for s in decoded.samples)
            if len(p.seqs) > 1:
                outage = next(o for o in fleet.outages if o.device == p.device)
                assert k == outage.end and p.seqs[0] >= outage.start
            seen.update((p.device, seq) for seq in p.seqs)
    assert len(fleet.outages) == 10 and fleet.pending() == 0
    assert seen == Counter({(d, k): 1 for d in range(40) for k in range(120)})


def test_anomalies_after_warm_up_and_every_other_one_inside_an_outage() -> None:
    fleet = EdgeFleet(devices=200, ticks=130, seed=0)
    assert len(fleet.anomalies) == 20
    assert all(40 <= a.start < a.end <= 130 for a in fleet.anomalies)
    inside = [a for a in fleet.anomalies if any(o.device == a.device and o.start <= a.start and a.end <= o.end
                                                for o in fleet.outages)]
    assert len(inside) >= 10


def test_the_same_seed_publishes_the_same_bytes() -> None:
    a, b = EdgeFleet(devices=20, ticks=5, seed=9), EdgeFleet(devices=20, ticks=5, seed=9)
    assert [p.payload for k in range(5) for p in a.tick(k)] == [p.payload for k in range(5) for p in b.tick(k)]
