"""The reconcile loop with fakes of its ports (source, target, policy) and a ManualClock.

The fakes are deliberately small; the thing under test is the loop: what it reads, what it sets,
what it audits, and what state it keeps when something fails.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping

import pytest

from foresight.clock import ManualClock
from foresight.adapters.audit_log import AuditLog
from foresight.control.audit import AuditRecord
from foresight.control.loop import Reconciler, WorkloadState
from foresight.autoscale.policy import Observation, Recommendation
from foresight.control.safety import SafetyLimits
from foresight.errors import ConfigError, ServiceUnavailable
from foresight.ports import Scale
from foresight.series import Series


class FakeTarget:
    """Workloads whose pods appear at once; records every set, can be told to fail."""

    def __init__(self, replicas: Mapping[str, int]) -> None:
        self.replicas = dict(replicas)
        self.sets: list[tuple[str, int]] = []
        self.fail_get: set[str] = set()
        self.fail_set: set[str] = set()

    def get_scale(self, workload: str) -> Scale:
        if workload in self.fail_get:
            raise ConnectionError(f"scale of {workload} unreadable")
        n = self.replicas[workload]
        return Scale(desired=n, current=n, ready=n)

    def set_replicas(self, workload: str, replicas: int) -> None:
        if workload in self.fail_set:
            raise ConnectionError(f"cannot scale {workload}")
        self.sets.append((workload, replicas))
        self.replicas[workload] = replicas


class FakeSource:
    """One series per query: the wanted replicas of each workload, constant over time."""

    def __init__(self, wanted: Mapping[str, float]) -> None:
        self.wanted = dict(wanted)
        self.calls: list[tuple[str, float, float, float]] = []
        self.fail: set[str] = set()

    def query_range(self, query: str, start: float, end: float, step_s: float) -> list[Series]:
        self.calls.append((query, start, end, step_s))
        workload = query.split('"')[1]
        if workload in self.fail:
            raise TimeoutError(f"query {query} timed out")
        return [Series({"service": workload}, [end - step_s, end], [self.wanted[workload]] * 2)]


class FakePolicy:
    """Recommends the latest value of its series; its state counts the decisions it made."""

    name = "fake"
    lookback_s = 120.0

    def __init__(self) -> None:
        self.fail: set[str] = set()
        self.seen_states: list[tuple[str, object]] = []

    def queries(self, workload: str) -> Mapping[str, str]:
        return {"wanted": f'wanted{{service="{workload}"}}'}

    def decide(self, state: int | None, obs: Observation) -> tuple[Recommendation, int]:
        self.seen_states.append((obs.workload, state))
        if obs.workload in self.fail:
            raise ValueError("policy bug")
        value = obs.series["wanted"][0].values[-1]
        return Recommendation(int(value), f"wanted {value:g}", {"wanted": float(value)}), (state or 0) + 1


class ListAudit:
    """An audit sink that keeps records in a list."""

    def __init__(self) -> None:
        self.records: list[AuditRecord] = []

    def record(self, entry: AuditRecord) -> None:
        self.records.append(entry)


DEFAULT_LIMITS = SafetyLimits(max_replicas=20)


def make_loop(
    wanted: Mapping[str, float],
    current: Mapping[str, int],
    limits: SafetyLimits | Mapping[str, SafetyLimits] = DEFAULT_LIMITS,
    start: float = 1000.0,
    **kwargs,
):
    clock = ManualClock(start)
    source, target, policy, audit = FakeSource(wanted), FakeTarget(current), FakePolicy(), ListAudit()
    per_workload = limits if isinstance(limits, Mapping) else {w: limits for w in current}
    loop = Reconciler(policy, source, target, per_workload, audit, clock, run_id="r", **kwargs)
    return loop, clock, source, target, policy, audit


def test_decisions_are_applied_audited_and_state_kept():
    loop, clock, source, target, policy, audit = make_loop({"api": 5, "db": 2}, {"api": 3, "db": 2})
    records = loop.reconcile_once()

    assert target.sets == [("api", 5)]  # db is unchanged: nothing set
    assert records == audit.records
    api, db = records
    assert api == AuditRecord(
        time=1000.0,
        run_id="r",
        controller="fake",
        target="api",
        inputs={
            "scale": {"desired": 3, "current": 3, "ready": 3},
            "series": {"wanted": {"series": 1, "points": 2, "last": 5.0}},
            "policy": {"wanted": 5.0},
        },
        decision={"recommended": 5, "applied": 5, "previous": 3},
        reason="wanted 5",
        applied=True,
        dry_run=False,
        error=None,
    )
    assert (db.applied, db.decision) == (False, {"recommended": 2, "applied": 2, "previous": 2})
    assert loop.states == {"api": WorkloadState(1, 1000.0), "db": WorkloadState(1, None)}


def test_the_whole_state_is_read_over_the_lookback():
    loop, clock, source, *_ = make_loop({"api": 5}, {"api": 3}, period_s=30.0)
    loop.reconcile_once()
    assert source.calls == [('wanted{service="api"}', 1000.0 - 120.0, 1000.0, 30.0)]


def test_dry_run_changes_nothing_but_decides_and_audits():
    loop, clock, source, target, policy, audit = make_loop(
        {"api": 50}, {"api": 3}, SafetyLimits(max_replicas=10, dry_run=True)
    )
    loop.run(until=1000.0 + 45.0)
    assert target.sets == []
    assert target.replicas == {"api": 3}
    assert [(r.decision["applied"], r.applied, r.dry_run) for r in audit.records] == [(10, False, True)] * 3
    assert audit.records[0].reason == "wanted 50; clamped to max 10; dry-run"
    assert loop.states["api"] == WorkloadState(3, None)  # the policy's state advances; no change made


def test_cool_down_holds_changes_across_periods():
    loop, clock, source, target, policy, audit = make_loop(
        {"api": 5}, {"api": 1}, SafetyLimits(max_replicas=20, max_step=1, cooldown_s=30.0), start=0.0
    )
    loop.run(until=100.0)
    assert [(r.time, r.decision["applied"]) for r in audit.records if r.applied] == [
        (0.0, 2),
        (30.0, 3),
        (60.0, 4),
        (90.0, 5),
    ]
    held = [r for r in audit.records if r.time == 15.0][0]
    assert held.reason == "wanted 5; cool-down until t=30"
    assert (held.applied, held.decision["applied"]) == (False, 1 + 1)


def test_max_step_limits_each_period():
    loop, clock, source, target, policy, audit = make_loop(
        {"api": 10}, {"api": 1}, SafetyLimits(max_replicas=20, max_step=3), start=0.0
    )
    loop.run(until=60.0)
    assert target.sets == [("api", 4), ("api", 7), ("api", 10)]
    assert audit.records[0].reason == "wanted 10; step limited to +3"
    assert audit.records[3].applied is False  # reached: unchanged


@pytest.mark.parametrize("where", ["policy", "source", "get_scale", "set_replicas"])
def test_a_failing_workload_is_audited_and_skipped_and_keeps_its_state(where):
    loop, clock, source, target, policy, audit = make_loop({"api": 5, "db": 4}, {"api": 3, "db": 2})
    loop.reconcile_once()  # both workloads healthy once
    source.wanted = {"api": 7, "db": 6}
    before = loop.states["api"]
    broken = {
        "policy": policy.fail,
        "source": source.fail,
        "get_scale": target.fail_get,
        "set_replicas": target.fail_set,
    }
    broken[where].add("api")

    clock.advance(15.0)
    api, db = loop.reconcile_once()

    assert api.error is not None and api.applied is False
    assert api.reason.startswith("failed ")
    assert loop.states["api"] == before  # no half-applied change
    assert target.replicas["api"] == 5
    assert (db.error, db.applied, target.replicas["db"]) == (None, True, 6)  # the other goes on

    broken[where].clear()
    clock.advance(15.0)
    api, _ = loop.reconcile_once()  # the next period goes on from the kept state
    assert (api.error, api.applied, target.replicas["api"]) == (None, True, 7)
    assert policy.seen_states[-2] == ("api", 1)


@pytest.mark.parametrize(
    ("where", "reason", "error", "previous"),
    [
        ("policy", "failed deciding", "ValueError: policy bug", 3),
        ("source", "failed querying metrics", 'TimeoutError: query wanted{service="api"} timed out', 3),
        ("get_scale", "failed reading scale", "ConnectionError: scale of api unreadable", None),
        ("set_replicas", "failed setting replicas", "ConnectionError: cannot scale api", 3),
    ],
)
def test_failure_records_say_where_and_why(where, reason, error, previous):
    loop, clock, source, target, policy, audit = make_loop({"api": 5}, {"api": 3})
    {
        "policy": policy.fail,
        "source": source.fail,
        "get_scale": target.fail_get,
        "set_replicas": target.fail_set,
    }[where].add("api")
    (record,) = loop.reconcile_once()
    assert (record.reason, record.error, record.decision["previous"]) == (reason, error, previous)


def test_a_non_integer_recommendation_is_an_audited_error():
    loop, clock, source, target, policy, audit = make_loop({"api": 5}, {"api": 3})
    policy.decide = lambda state, obs: (Recommendation(4.5, "half a pod"), 1)  # type: ignore[assignment]
    (record,) = loop.reconcile_once()
    assert record.error is not None and record.error.startswith("TypeError")
    assert target.sets == [] and "api" not in loop.states


def test_run_keeps_the_period_and_ends_at_until():
    loop, clock, source, target, policy, audit = make_loop({"api": 3}, {"api": 3}, start=10.0)
    assert loop.run(until=70.0) == 4
    assert [r.time for r in audit.records] == [10.0, 25.0, 40.0, 55.0]
    assert clock.now() == 70.0


def test_an_overrunning_period_skips_missed_ticks():
    loop, clock, source, target, policy, audit = make_loop({"api": 3}, {"api": 3}, start=0.0)
    slow_get = target.get_scale

    def get_scale(workload: str) -> Scale:
        if clock.now() == 15.0:
            clock.advance(40.0)  # this period took 40 s
        return slow_get(workload)

    target.get_scale = get_scale  # type: ignore[method-assign]
    loop.run(until=100.0)
    assert [r.time for r in audit.records] == [0.0, 15.0, 60.0, 75.0, 90.0]


def test_states_are_serialisable_and_resume_a_new_loop():
    limits = SafetyLimits(max_replicas=20, cooldown_s=60.0)
    loop, clock, *_ = make_loop({"api": 5}, {"api": 3}, limits, start=0.0)
    loop.reconcile_once()
    saved = json.dumps({w: dataclasses.asdict(s) for w, s in loop.states.items()})

    restored = {w: WorkloadState(**s) for w, s in json.loads(saved).items()}
    again, clock2, source2, target2, policy2, audit2 = make_loop(
        {"api": 9}, {"api": 5}, limits, start=30.0, states=restored
    )
    (held,) = again.reconcile_once()
    assert held.reason == "wanted 9; cool-down until t=60"  # the cool-down survived the restart
    assert policy2.seen_states == [("api", 1)]


def test_the_loop_writes_to_a_real_audit_log(tmp_path):
    clock = ManualClock(0.0)
    with AuditLog(tmp_path / "audit.db", flush_every=1000) as log:
        loop = Reconciler(
            FakePolicy(),
            FakeSource({"api": 4}),
            FakeTarget({"api": 2}),
            {"api": SafetyLimits(max_replicas=10)},
            log,
            clock,
            run_id="r",
        )
        loop.run(until=60.0)
        stored = log.query(target="api")
    assert [(r.time, r.applied, r.decision["applied"]) for r in stored] == [
        (0.0, True, 4),
        (15.0, False, 4),
        (30.0, False, 4),
        (45.0, False, 4),
    ]


def test_a_failing_audit_store_stops_the_loop_before_an_unaudited_change():
    class DownAudit:
        def record(self, entry: AuditRecord) -> None:
            raise ServiceUnavailable("audit store down")

    loop, clock, source, target, policy, audit = make_loop({"api": 5, "db": 4}, {"api": 3, "db": 2})
    loop.audit = DownAudit()
    with pytest.raises(ServiceUnavailable):
        loop.reconcile_once()
    assert target.sets == [("api", 5)]  # db was never touched


@pytest.mark.parametrize(
    ("limits", "period_s", "match"),
    [
        ({}, 15.0, "no workload"),
        ({"api": SafetyLimits(max_replicas=3)}, 0.0, "period_s"),
        ({"api": SafetyLimits(max_replicas=3)}, float("nan"), "period_s"),
    ],
)
def test_impossible_settings_are_config_errors(limits, period_s, match):
    with pytest.raises(ConfigError, match=match):
        Reconciler(
            FakePolicy(),
            FakeSource({}),
            FakeTarget({}),
            limits,
            ListAudit(),
            ManualClock(),
            period_s=period_s,
        )


@pytest.mark.parametrize("renew", [False, True])
def test_renew_sets_the_target_every_period_even_at_equilibrium(renew: bool) -> None:
    # a target that expires unless written (a published metric an HPA follows) needs renewing at equilibrium
    loop, clock, _, target, _, audit = make_loop({"api": 4}, {"api": 4}, renew=renew)
    for _ in range(3):
        loop.reconcile_once()
        clock.advance(15.0)
    assert target.sets == ([("api", 4)] * 3 if renew else [])
    assert [r.applied for r in audit.records] == [renew] * 3
    assert all(r.decision == {"recommended": 4, "applied": 4, "previous": 4} for r in audit.records)


def test_renew_never_writes_in_a_dry_run() -> None:
    loop, clock, _, target, _, audit = make_loop({"api": 6}, {"api": 4}, SafetyLimits(max_replicas=20, dry_run=True),
                                                 renew=True)
    loop.reconcile_once()
    assert target.sets == [] and not audit.records[0].applied and audit.records[0].decision["applied"] == 6


class BatchPolicy(FakePolicy):
    """The fake policy answering every workload of a period in one call, a failing one as its error."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[list[str]] = []

    def decide_many(self, items: list[tuple[int | None, Observation]]) -> list[tuple[Recommendation, int] | Exception]:
        self.calls.append([obs.workload for _, obs in items])
        out: list[tuple[Recommendation, int] | Exception] = []
        for state, obs in items:
            try:
                out.append(self.decide(state, obs))
            except ValueError as exc:
                out.append(exc)
        return out


def test_a_policy_that_decides_many_is_asked_once_a_period_for_every_workload_read():
    clock = ManualClock(1000.0)
    wanted, current = {"api": 5, "db": 4, "web": 1}, {"api": 3, "db": 2, "web": 1}
    source, target, policy, audit = FakeSource(wanted), FakeTarget(current), BatchPolicy(), ListAudit()
    loop = Reconciler(policy, source, target, {w: DEFAULT_LIMITS for w in current}, audit, clock, run_id="r")
    target.fail_get.add("web")  # its read fails: recorded, not asked about
    policy.fail.add("api")  # the policy's error for it: recorded, the others go on
    api, db, web = loop.reconcile_once()
    assert policy.calls == [["api", "db"]]
    assert (api.reason, api.error) == ("failed deciding", "ValueError: policy bug")
    assert (db.error, db.applied, target.replicas["db"]) == (None, True, 4)
    assert (web.reason, web.decision["previous"]) == ("failed reading scale", None)
    assert [r.target for r in audit.records] == ["api", "db", "web"] and "api" not in loop.states
