"""``foresight.rollout`` is a pure core: importing it loads no I/O, no clock source, no simulator.

Checked in a fresh interpreter, since this test session has long since imported everything.
"""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN_TOP = ("sqlalchemy", "kubernetes", "httpx", "fastapi", "urllib3")
FORBIDDEN_FORESIGHT = ("foresight.sim", "foresight.control", "foresight.adapters", "foresight.serve")


def test_importing_the_canary_policies_loads_no_store_no_simulator_and_no_client() -> None:
    code = ("import json, sys, foresight.rollout.policy, foresight.rollout.flagger; "
            "print(json.dumps(sorted(sys.modules)))")
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                       text=True).stdout)
    assert "foresight.rollout.policy" in loaded  # the check itself ran
    offending = [m for m in loaded if m.split(".")[0] in FORBIDDEN_TOP or m.startswith(FORBIDDEN_FORESIGHT)]
    assert not offending, f"foresight.rollout must stay pure, but importing it loaded {offending}"
