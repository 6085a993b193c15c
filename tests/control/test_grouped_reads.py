"""Grouped reads: one range query per metric for all the workloads of a period, the same series each
workload would have read alone, and a failing group query failing each member's period (recorded)."""

from __future__ import annotations

from collections.abc import Mapping

from foresight.autoscale.policy import Observation, Recommendation
from foresight.clock import ManualClock
from foresight.control.audit import AuditRecord
from foresight.control.loop import Reconciler
from foresight.control.reads import MIN_GROUP, Grouped, grouped, plan_reads
from foresight.control.safety import SafetyLimits
from foresight.errors import InputError
from foresight.ports import Scale
from foresight.series import Series


class Target:
    def __init__(self, names: list[str]) -> None:
        self.replicas = dict.fromkeys(names, 2)

    def get_scale(self, workload: str) -> Scale:
        n = self.replicas[workload]
        return Scale(n, n, n)

    def set_replicas(self, workload: str, replicas: int) -> None:
        self.replicas[workload] = replicas


class Source:
    """Each workload ``w-i`` wants ``i % 5 + 1`` replicas; answers equality, and no, label matchers."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.asked: list[str] = []
        self.down = False
        self.refuse_groups = False

    def query_range(self, query: str, start: float, end: float, step_s: float) -> list[Series]:
        self.asked.append(query)
        if self.down:
            raise TimeoutError("source down")
        if self.refuse_groups and "{" not in query:
            raise InputError(f"query {query!r}: would load too many samples")
        name = query.split("{")[0]
        wanted = [w for w in self.names if f'service="{w}"' in query] if "{" in query else self.names
        return [Series({"service": w, "__name__": name}, [end], [int(w.split("-")[1]) % 5 + 1]) for w in wanted]


class Policy:
    name = "wanted"
    lookback_s = 60.0

    def queries(self, workload: str) -> Mapping[str, str]:
        if workload == "odd":
            return {"wanted": 'sum(wanted{service="odd"})'}  # not a plain selector: read alone
        return {"wanted": f'wanted{{service="{workload}"}}'}

    def decide(self, state: None, obs: Observation) -> tuple[Recommendation, None]:
        found = obs.series["wanted"]
        return Recommendation(int(found[0].values[-1]) if found else obs.scale.desired, f"{len(found)} series"), None


def _loop(names: list[str], source: Source, audit: list[AuditRecord]) -> Reconciler:
    class Keep:
        def record(self, entry: AuditRecord) -> None:
            audit.append(entry)

    return Reconciler(Policy(), source, Target(names), {n: SafetyLimits(min_replicas=1, max_replicas=9) for n in names},
                      Keep(), ManualClock(600.0), period_s=15.0)


def test_a_plain_selector_naming_the_workload_is_grouped_others_are_not():
    assert grouped('m{service="api",env="prod"}', "api") == Grouped('m{env="prod"}', "service", "api",
                                                                    'm{service="api",env="prod"}')
    assert grouped('m{service="api"}', "web") is None
    assert grouped('m{service="api",service!="x"}', "api") is None
    assert grouped('rate(m{service="api"}[1m])', "api") is None
    assert grouped("m", "api") is None


def test_small_groups_are_read_one_by_one():
    queries = {f"w-{i}": {"m": f'm{{service="w-{i}"}}'} for i in range(MIN_GROUP - 1)}
    plan = plan_reads(queries)
    assert plan.groups == () and all(isinstance(r["m"], str) for r in plan.reads.values())


def test_a_period_sends_one_query_per_group_and_decides_as_if_each_read_alone():
    names = [f"w-{i}" for i in range(50)]
    grouped_source, alone_source = Source(names), Source(names)
    grouped_audit: list[AuditRecord] = []
    alone_audit: list[AuditRecord] = []
    grouped_records = _loop(names + ["odd"], grouped_source, grouped_audit).reconcile_once()
    for name in names + ["odd"]:  # the same workloads, each in a loop of its own: read alone
        _loop([name], alone_source, alone_audit).reconcile_once()
    assert sorted(grouped_source.asked) == ["sum(wanted{service=\"odd\"})", "wanted"]
    assert len(alone_source.asked) == 51
    strip = lambda r: (r.target, r.inputs, r.decision, r.reason, r.applied, r.error)
    assert [strip(r) for r in grouped_records] == [strip(r) for r in alone_audit]


def test_a_failing_group_query_fails_each_member_which_is_recorded_and_skipped():
    names = [f"w-{i}" for i in range(20)]
    source, audit = Source(names), []
    loop = _loop(names, source, audit)
    source.down = True
    records = loop.reconcile_once()
    assert len(records) == 20 and all(r.reason == "failed querying metrics" for r in records)
    assert all(r.error == "TimeoutError: source down" and not r.applied for r in records)
    source.down = False
    assert all(r.error is None for r in loop.reconcile_once())  # the next period reads again


def test_a_group_query_the_source_refuses_is_read_one_member_at_a_time():
    names = [f"w-{i}" for i in range(12)]
    source, audit = Source(names), []
    source.refuse_groups = True
    records = _loop(names, source, audit).reconcile_once()
    assert all(r.error is None and r.reason.startswith("1 series") for r in records)
    assert source.asked == ["wanted", *(f'wanted{{service="{n}"}}' for n in names)]
