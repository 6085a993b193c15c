"""placement_conflicts agrees with brute force: it reports a conflict exactly when no node's labels
could satisfy the nodeSelector, edge placement and every required rule together."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from foresight.specs.edge import EdgePlacement, ModelPlacement
from foresight.specs.workload import EDGE_LABEL, NodeRule, Placement, PreferredNodeRule, placement_conflicts

KEYS = ["pool", "gpu-mem", EDGE_LABEL]
VALUES = ["", "a", "b", "-3", "1", "5", "9", "12"]
#: What a node may have under one key: no label, a value, or an integer spelt so no rule names it
#: (Kubernetes parses Gt/Lt labels as integers, so "01" passes 'Gt 0' and dodges 'NotIn [1]').
CHOICES: list[str | None] = [None, *VALUES, "-03", "01", "05", "09", "012"]


def satisfies(rule: NodeRule, value: str | None) -> bool:
    """Kubernetes' node selector semantics for one match expression."""
    if rule.operator == "In":
        return value is not None and value in rule.values
    if rule.operator == "NotIn":
        return value is None or value not in rule.values
    if rule.operator == "Exists":
        return value is not None
    if rule.operator == "DoesNotExist":
        return value is None
    if value is None or not value.lstrip("-").isdigit():
        return False
    bound = int(rule.values[0])
    return int(value) > bound if rule.operator == "Gt" else int(value) < bound


def some_node_fits(placement: Placement) -> bool:
    """Brute force over every labelling of the keys with the small value universe."""
    for labels in itertools.product(CHOICES, repeat=len(KEYS)):
        node = dict(zip(KEYS, labels))
        edge = getattr(placement, "edge", None)
        exact = list(placement.node_selector.items()) + ([(EDGE_LABEL, "")] if edge is not None else [])
        if all(node.get(k) == v for k, v in exact) and all(
            satisfies(rule, node.get(rule.key)) for rule in placement.required
        ):
            return True
    return False


rules = st.one_of(
    st.builds(lambda k, op, vs: NodeRule(key=k, operator=op, values=vs), st.sampled_from(KEYS),
              st.sampled_from(["In", "NotIn"]), st.lists(st.sampled_from(VALUES), min_size=1, max_size=3)),
    st.builds(lambda k, op: NodeRule(key=k, operator=op), st.sampled_from(KEYS), st.sampled_from(["Exists", "DoesNotExist"])),
    # Bounds chosen so that every interval they allow holds a value of the brute force's universe.
    st.builds(lambda k, op, b: NodeRule(key=k, operator=op, values=[str(b)]), st.sampled_from(KEYS),
              st.sampled_from(["Gt", "Lt"]), st.sampled_from([0, 4, 6, 10])),
)


@settings(max_examples=250, deadline=None)
@given(
    selector=st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES), max_size=2),
    required=st.lists(rules, max_size=4),
    edge=st.booleans(),
)
def test_conflicts_exactly_when_no_node_fits(selector: dict[str, str], required: list[NodeRule], edge: bool) -> None:
    placement = ModelPlacement.model_construct(node_selector=selector, required=required, preferred=[], tolerations=[],
                                               edge=EdgePlacement(model_path="/m/x.onnx") if edge else None)
    assert (placement_conflicts(placement) == []) == some_node_fits(placement)


def test_preferred_rules_never_conflict() -> None:
    placement = Placement(
        node_selector={"pool": "a"},
        preferred=[PreferredNodeRule(key="pool", operator="NotIn", values=["a"], weight=10)],
    )
    assert placement_conflicts(placement) == []
