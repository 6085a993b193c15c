"""The dashboard in a real headless Chromium: what a person sees, live, and when a source goes down.

Runs ``foresight serve --simulate`` (uvicorn in a thread, a free port), opens ``/`` and asserts on
the page: the workloads, a chart with data points, a decision row with its reason, then the
source-down banner after the simulator's metrics source is broken. Screenshots go to the test's
tmp dir and, for the lead to look at, to ``/work/notes/dashboard.png`` when that folder exists.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from foresight.api.server import start_in_thread

from .conftest import build  # noqa: TID252

CHROMIUM = Path("/usr/bin/chromium")
NOTES = Path("/work/notes")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.mark.integration
def test_dashboard_shows_live_data_and_a_source_going_down(tmp_path: Path, require_service) -> None:
    require_service(CHROMIUM.exists(), f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    # drift 30 min in, 2 h 10 min of warm-up: the model loop has detected it and the predictive
    # controller has the 2 h of load history its forecasts need when the page opens
    service = build(tmp_path, simulate={"drift_after_s": 1800.0, "warmup_s": 7800.0})
    server = start_in_thread(service)
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 1100})
            page.goto(server.url + "/")
            page.wait_for_selector("body[data-loaded=true]", timeout=15_000)

            names = page.locator("#workloads tbody tr td:first-child").all_inner_texts()
            assert [n.strip() for n in names] == list(service.runtime.platform.workloads())
            assert page.locator("#workload-title").inner_text() == "gateway"

            # a chart with data points: plotly drew the load line with hundreds of points
            page.wait_for_selector("#chart-load .scatterlayer .trace path.js-line", timeout=10_000)
            points = page.evaluate("document.getElementById('chart-load').data[0].x.length")
            assert points > 200
            path = page.locator("#chart-load .scatterlayer .trace path.js-line").first.get_attribute("d")
            assert path is not None and path.count("L") > 50  # plotly simplifies straight runs
            assert page.locator("#chart-replicas .scatterlayer .trace").count() == 2

            # the decision log, with reasons: changes only by default (holds flood it), holds on a toggle
            rows = page.locator("#decisions tbody tr")
            assert not page.locator("#hold-decisions").is_checked()
            shown = rows.locator("td:nth-child(4)").all_inner_texts()
            assert not any(t.startswith("hold") for t in shown), shown
            assert set(rows.locator("td:nth-child(3)").all_inner_texts()) <= {"gateway"}
            page.locator("#hold-decisions").check()
            page.wait_for_function("document.querySelectorAll('#decisions tbody tr').length > 10", timeout=10_000)
            assert any(t.startswith("hold") for t in rows.locator("td:nth-child(4)").all_inner_texts())
            assert set(rows.locator("td:nth-child(3)").all_inner_texts()) == {"gateway"}
            hpa = page.locator("#decisions tbody tr", has_text="target 70%").first  # the HPA's reason
            assert hpa.locator("td").nth(1).inner_text() == "hpa" and "cpu" in hpa.locator("td.reason").inner_text()
            page.locator("#hold-decisions").uncheck()  # back to what a person sees first
            page.wait_for_function("![...document.querySelectorAll('#decisions tbody td:nth-child(4)')]"
                                   ".some(td => td.textContent.startsWith('hold'))", timeout=10_000)
            assert page.locator("#rollouts tbody tr").count() >= 1
            # the Drift panel: PSI per feature over time, its threshold line, the loop's events
            page.wait_for_selector("#chart-drift .scatterlayer .trace path.js-line", timeout=10_000)
            drift = page.evaluate("document.getElementById('chart-drift').data.map(t => [t.name, t.x.length])")
            assert [n for n, _ in drift[:4]] == ["x1", "x2", "x3", "x4"] and all(k > 10 for _, k in drift[:4])
            assert drift[4][0].startswith("threshold") and drift[4][1] == 2
            assert page.evaluate("Math.max(...document.getElementById('chart-drift').data[2].y)") > 0.2
            assert page.evaluate("document.getElementById('chart-drift').layout.shapes.length") >= 3  # drift, retrain, ...
            assert page.locator("#chart-accuracy .scatterlayer .trace").count() == 2
            assert "fraud-scorer: " in page.locator("#panel-drift .msg").inner_text()
            assert page.locator("#model-versions tbody tr").count() >= 2  # the retrained version and v1
            # which controller scales each workload; the predictive one's forecast beside the load
            scaled = page.locator("#workloads tbody tr td:nth-child(5)").all_inner_texts()
            assert scaled[:2] == ["hpa", "predictive"]
            assert page.locator("#banner").is_hidden()
            page.wait_for_selector("#live.on", timeout=10_000)  # server-sent events arrive

            page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
            page.locator("#workloads tbody tr").nth(1).click()
            page.wait_for_function("(document.getElementById('chart-load').data || []).some(t => "
                                   "t.name.startsWith('predictive controller') && t.x.length > 20)", timeout=10_000)
            shown = page.locator("#decisions tbody td:nth-child(4)").all_inner_texts()
            assert not any(t.startswith("hold") for t in shown), shown  # the predictive controller's holds too
            page.screenshot(path=str(tmp_path / "dashboard-predictive.png"), full_page=True)
            page.locator("#workloads tbody tr").nth(0).click()

            service.runtime.platform.source.fail_with("drill: the metrics backend was stopped")  # type: ignore[attr-defined]
            banner = page.locator("#banner")
            banner.wait_for(state="visible", timeout=15_000)
            assert "Data source down: cluster metrics" in banner.inner_text()
            assert "drill: the metrics backend was stopped" in banner.inner_text()
            load_msg = page.locator("#panel-load .msg")
            load_msg.wait_for(state="visible", timeout=10_000)
            assert load_msg.inner_text().startswith("data source down")
            assert page.locator("#chart-load").is_hidden()  # a message, not an empty chart
            page.screenshot(path=str(tmp_path / "dashboard-source-down.png"), full_page=True)
            browser.close()
    finally:
        server.stop()
    assert service.audit.pending == 0  # the shutdown flushed the audit log
    if NOTES.is_dir():
        shutil.copy(tmp_path / "dashboard.png", NOTES / "dashboard.png")
        shutil.copy(tmp_path / "dashboard-source-down.png", NOTES / "dashboard-source-down.png")
        shutil.copy(tmp_path / "dashboard-predictive.png", NOTES / "dashboard-predictive.png")
