"""``GET /api/v1/heal``: the heal controller's latest round, for the dashboard: each prediction with its time to
failure and interval, the action taken or why not, and its incident."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field

__all__ = ["HealStep", "HealView", "add_heal"]


class HealStep(BaseModel):
    time: float = Field(description="When the round ran (Unix seconds, or simulated seconds).")
    target: str = Field(description="namespace/pod, or node/<name> for a drain.")
    failure: str = Field(description="The failure predicted (oom_kill, crash_loop, ...).")
    ttf_s: float | None = Field(None, description="Predicted time to failure, seconds (None: cannot say).")
    ttf_low_s: float | None = None
    ttf_high_s: float | None = None
    evidence: str = Field(description="The predictor's sentence with its numbers.")
    action: str | None = Field(None, description="The action chosen (restart, resize, scale_out, drain); None: none allowed.")
    applied: bool = Field(description="Whether the action took effect (False in dry-run, refused, failed).")
    dry_run: bool
    reason: str = Field(description="What was done or why not, as the audit log has it.")
    incident: str | None = Field(None, description="The open incident of the workload, if any.")


class HealView(BaseModel):
    enabled: bool
    note: str
    steps: list[HealStep]


def add_heal(app: FastAPI, platform: Any) -> None:
    """Serve the view of ``platform.heal`` (live serve's heal controller; absent on the simulator)."""

    @app.get("/api/v1/heal", response_model=HealView, tags=["read"])
    def heal() -> HealView:
        """Failure predictions of the heal controller's latest round and what was done about each."""
        controller = getattr(platform, "heal", None)
        info = getattr(platform, "controllers", {}).get("heal")
        if controller is None:
            return HealView(enabled=False, note=info.detail if info is not None else
                            "the heal controller runs in live serve under HealingPolicies; `foresight heal-demo` "
                            "shows it on a simulated cluster", steps=[])
        steps = [HealStep(**{k: v for k, v in s.items() if k in HealStep.model_fields}) for s in controller.last]
        return HealView(enabled=True, note=info.detail if info is not None else "", steps=steps)
