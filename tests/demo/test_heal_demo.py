"""The self-healing demo: the leak is predicted with a time to failure close to the truth and the pod is replaced
before the OOMKill the reactive twin suffers; the live frame and the report show it; the CLI says it."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from foresight.cli import app
from foresight.demo.heal import frame, run_heal_demo, write_heal_report


def test_the_leak_is_replaced_before_the_reactive_oomkill(tmp_path: Path) -> None:
    frames = []
    demo = run_heal_demo(100, seed=0, progress=lambda now, memory, records: frames.append((now, memory, list(records))))
    assert demo.reactive_oomkills == 1 and demo.foresight_oomkills == 0
    (action,) = demo.actions
    killed = demo.reactive_killed_at_s[0]
    assert action.target == "shop/cart-0" and action.time < killed
    ttf, low, high = (action.inputs[k] for k in ("ttf_s", "ttf_low_s", "ttf_high_s"))
    assert low <= ttf <= high and abs((killed - action.time) - ttf) < 120  # the predicted time to failure held
    console = Console(width=160, record=True)
    now, memory, records = next(f for f in frames if f[2])
    console.print(frame(now, memory, records))
    text = console.export_text()
    assert "cart-0" in text and "oom_kill in 14 min" in text and "replaced" in text
    page = write_heal_report(demo, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "predicted OOMKill in 14 min: replaced" in page and "reactive: OOMKilled" in page


def test_the_cli_prints_the_outcome(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["heal-demo", "--json", "--minutes", "90", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["reactive_oomkills"] == 1 and out["foresight_oomkills"] == 0 and out["replaced_before_oomkill_s"] > 600
    assert (tmp_path / "heal-report.html").is_file()
