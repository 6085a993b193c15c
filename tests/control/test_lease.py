"""decide_lease: acquire, renew, take over, wait, and never two leaders (property test with a
compare-and-swap store standing in for the API server)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foresight.control.lease import LeaseRecord, decide_lease

DURATION = 15.0
RENEW_DEADLINE = 10.0


def test_an_absent_lease_is_acquired() -> None:
    d = decide_lease(None, "a", 100.0, DURATION)
    assert (d.action, d.leader, d.write) == ("acquire", True, LeaseRecord("a", DURATION, 100.0, 100.0, 0))


def test_the_holder_renews_and_keeps_its_acquire_time() -> None:
    held = LeaseRecord("a", DURATION, 100.0, 105.0, 2)
    d = decide_lease(held, "a", 110.0, DURATION)
    assert (d.action, d.leader, d.write) == ("renew", True, LeaseRecord("a", DURATION, 100.0, 110.0, 2))


@pytest.mark.parametrize(("now", "action"), [(114.9, "wait"), (115.0, "take-over"), (500.0, "take-over")])
def test_another_replica_waits_until_the_lease_expires_then_takes_over(now: float, action: str) -> None:
    held = LeaseRecord("a", DURATION, 90.0, 100.0, 2)
    d = decide_lease(held, "b", now, DURATION)
    assert d.action == action and d.leader is (action != "wait")
    if action == "take-over":
        assert d.write == LeaseRecord("b", DURATION, now, now, 3)
        assert "a last renewed" in d.reason


def test_a_released_lease_is_acquired_at_once_and_counts_the_transition() -> None:
    released = LeaseRecord("a", DURATION, 90.0, 100.0, 2).released(101.0)
    d = decide_lease(released, "b", 101.5, DURATION)
    assert (d.action, d.write.holder if d.write else None, d.write.transitions if d.write else None) == ("acquire", "b", 2)


def test_lease_spec_round_trips_through_the_api_format() -> None:
    record = LeaseRecord("foresight-0", 15.0, 1_800_000_000.25, 1_800_000_010.5, 4)
    spec = record.to_spec()
    assert spec["renewTime"] == "2027-01-15T08:00:10.500000Z" and spec["leaseDurationSeconds"] == 15
    assert LeaseRecord.from_spec(spec) == record
    assert LeaseRecord.from_spec({"holderIdentity": "x", "renewTime": "garbage"}).expired(0.0)


@dataclass
class Store:
    """A Lease behind compare-and-swap, as the API server keeps it."""

    record: LeaseRecord | None = None
    version: int = 0

    def write(self, record: LeaseRecord, seen: int) -> bool:
        if seen != self.version:
            return False
        self.record, self.version = record, self.version + 1
        return True


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abc"), st.floats(0.0, 12.0), st.booleans(), st.booleans()), min_size=1, max_size=60))
def test_two_replicas_never_both_act(steps: list[tuple[str, float, bool, bool]]) -> None:
    """Replicas step at random moments; some reads go stale before the write (a race), some replicas
    release. A replica acts for RENEW_DEADLINE after its last successful step; at no moment may two act."""
    store, now = Store(), 0.0
    acting_until: dict[str, float] = {}
    for who, gap, stale, release in steps:
        now += gap
        seen_record, seen_version = store.record, store.version
        if stale and store.record is not None:  # someone else renewed between our read and our write
            other = store.record.holder or "z"
            store.write(decide_lease(store.record, other, now, DURATION).write or store.record, store.version)
        if release and store.record is not None and store.record.holder == who:
            store.write(store.record.released(now), store.version)
            acting_until.pop(who, None)
            continue
        d = decide_lease(seen_record, who, now, DURATION)
        ok = d.write is None or store.write(d.write, seen_version)
        if ok and d.leader:
            acting_until[who] = now + RENEW_DEADLINE
        elif who in acting_until and not ok:
            acting_until.pop(who)
        active = [r for r, until in acting_until.items() if until > now]
        assert len(active) <= 1, (now, acting_until, store.record)
