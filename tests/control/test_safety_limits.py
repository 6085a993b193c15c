"""Safety limits as a table: bounds, cool-downs and max step, in the order the loop applies them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from foresight.control.safety import LimitedReplicas, SafetyLimits, apply_limits
from foresight.errors import ConfigError

BASE = SafetyLimits(min_replicas=2, max_replicas=10)

CASES = [
    # (id, limits, recommended, current, now, last_change_at, replicas, reasons)
    ("within bounds", BASE, 7, 5, 100.0, None, 7, ()),
    ("unchanged", BASE, 5, 5, 100.0, 90.0, 5, ()),
    ("clamped to max", BASE, 14, 5, 100.0, None, 10, ("clamped to max 10",)),
    ("clamped to min", BASE, 0, 5, 100.0, None, 2, ("clamped to min 2",)),
    ("clamped, then equal to current", BASE, 12, 10, 100.0, None, 10, ("clamped to max 10",)),
    ("step up", BASE.model_copy(update={"max_step": 3}), 9, 4, 100.0, None, 7, ("step limited to +3",)),
    ("step down", BASE.model_copy(update={"max_step": 2}), 3, 8, 100.0, None, 6, ("step limited to -2",)),
    ("step exactly max", BASE.model_copy(update={"max_step": 3}), 7, 4, 100.0, None, 7, ()),
    (
        "clamp then step",
        BASE.model_copy(update={"max_step": 3}),
        50,
        4,
        100.0,
        None,
        7,
        ("clamped to max 10", "step limited to +3"),
    ),
    (
        "cool-down holds",
        BASE.model_copy(update={"cooldown_s": 60}),
        8,
        5,
        100.0,
        70.0,
        5,
        ("cool-down until t=130",),
    ),
    ("cool-down over at its end", BASE.model_copy(update={"cooldown_s": 60}), 8, 5, 130.0, 70.0, 8, ()),
    ("cool-down, never changed", BASE.model_copy(update={"cooldown_s": 60}), 8, 5, 100.0, None, 8, ()),
    (
        "scale-down cool-down longer",
        BASE.model_copy(update={"cooldown_s": 30, "scale_down_cooldown_s": 300}),
        3,
        5,
        200.0,
        70.0,
        5,
        ("cool-down until t=370",),
    ),
    (
        "scale-up uses cooldown_s",
        BASE.model_copy(update={"cooldown_s": 30, "scale_down_cooldown_s": 300}),
        8,
        5,
        200.0,
        70.0,
        8,
        (),
    ),
    (
        "fractional cool-down end",
        BASE.model_copy(update={"cooldown_s": 0.5}),
        8,
        5,
        1700000000.25,
        1700000000.0,
        5,
        ("cool-down until t=1700000000.5",),
    ),
    (
        "outside bounds: brought back at once",
        BASE.model_copy(update={"max_step": 1, "cooldown_s": 600}),
        20,
        15,
        100.0,
        90.0,
        10,
        ("clamped to max 10", "current 15 outside [2, 10]: cool-down and max step waived"),
    ),
    (
        "below min: brought up",
        BASE.model_copy(update={"max_step": 1}),
        1,
        0,
        100.0,
        None,
        2,
        ("clamped to min 2", "current 0 outside [2, 10]: cool-down and max step waived"),
    ),
    (
        "dry-run computes the same",
        BASE.model_copy(update={"dry_run": True}),
        14,
        5,
        100.0,
        None,
        10,
        ("clamped to max 10",),
    ),
    ("scale to zero allowed", SafetyLimits(min_replicas=0, max_replicas=3), 0, 2, 100.0, None, 0, ()),
]


@pytest.mark.parametrize(
    ("limits", "recommended", "current", "now", "last_change_at", "replicas", "reasons"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_apply_limits(limits, recommended, current, now, last_change_at, replicas, reasons):
    assert apply_limits(limits, recommended, current, now, last_change_at) == LimitedReplicas(
        replicas, reasons
    )


def test_min_above_max_is_a_config_error_naming_both_fields():
    with pytest.raises(ConfigError, match=r"min_replicas \(5\).*max_replicas \(3\)"):
        SafetyLimits(min_replicas=5, max_replicas=3)


@pytest.mark.parametrize(
    "bad",
    [
        {"min_replicas": -1},
        {"max_step": 0},
        {"cooldown_s": -1.0},
        {"scale_down_cooldown_s": -5},
        {"max_sstep": 2},
    ],
)
def test_invalid_fields_are_rejected(bad):
    with pytest.raises(ValidationError):
        SafetyLimits(max_replicas=10, **bad)


def test_limits_are_frozen():
    with pytest.raises(ValidationError):
        BASE.max_replicas = 20  # type: ignore[misc]
