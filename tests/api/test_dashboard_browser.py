"""The dashboard in a real headless Chromium: what a person sees, live, and when a source goes down.

Runs ``foresight serve --simulate`` (uvicorn in a thread, a free port), opens ``/`` and asserts on
the page: charts with data as soon as it has loaded, no request that fails (the icon), the
workloads table inside its card, a decision row with its reason, then the source-down banner after
the simulator's metrics source is broken. Screenshots go to the test's tmp dir and, for the lead
to look at, to ``/work/notes/dashboard.png`` when that folder exists. Chromium's own
``--screenshot`` under a virtual-time budget must finish too: it waits for the network to go idle.
"""

from __future__ import annotations

import shutil
import subprocess
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
    # controller has the 2 h of load history its forecasts need when the page opens; 8 services
    # (serve's default) give the workloads table its real width
    service = build(tmp_path, simulate={"services": 8, "drift_after_s": 1800.0, "warmup_s": 7800.0})
    server = start_in_thread(service)
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 1100})
            failed: list[str] = []
            page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
            page.goto(server.url + "/")  # returns at the load event
            # first paint: the charts have their data when the page has loaded, before any event or refresh
            assert page.evaluate("document.body.dataset.loaded") == "true"
            assert page.evaluate("(document.getElementById('chart-load').data || [{x: []}])[0].x.length") > 200
            assert page.locator("#chart-replicas .scatterlayer .trace").count() == 2
            assert page.evaluate("(document.getElementById('chart-drift').data || []).length") >= 4

            # the workloads table fits its card: no column spills under the panels beside it
            overflow = page.evaluate("""(() => {
                const nav = document.querySelector('nav').getBoundingClientRect();
                return [...document.querySelectorAll('#workloads th, #workloads td')]
                  .filter(c => c.getBoundingClientRect().right > nav.right || c.scrollWidth > c.clientWidth)
                  .map(c => c.textContent); })()""")
            assert overflow == []

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
            # the retrained version's artifact scan verdict (newest first)
            assert page.locator("#model-versions tbody tr").first.locator("td").nth(5).inner_text() != "–"
            # which controller scales each workload; the predictive one's forecast beside the load
            scaled = page.locator("#workloads tbody tr td:nth-child(5)").all_inner_texts()
            assert scaled[:2] == ["hpa", "predictive"]
            assert page.locator("#banner").is_hidden()
            page.wait_for_selector("#live.on", timeout=10_000)  # server-sent events arrive
            assert failed == []  # the icon included

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


@pytest.mark.integration
def test_headless_screenshot_under_a_virtual_time_budget_finishes(tmp_path: Path, require_service) -> None:
    """Chromium's virtual time stands still while a request is in flight: an event stream that never ended
    kept ``chromium --headless --screenshot --virtual-time-budget`` waiting for ever."""
    require_service(CHROMIUM.exists(), f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    service = build(tmp_path, simulate={"warmup_s": 3600.0})
    server = start_in_thread(service)
    shot = tmp_path / "virtual-time.png"
    try:
        run = subprocess.run([str(CHROMIUM), *ARGS, f"--screenshot={shot}", "--window-size=1440,1100",
                              "--virtual-time-budget=5000", server.url + "/"], capture_output=True, text=True,
                             timeout=120)
    finally:
        server.stop()
    assert run.returncode == 0, run.stderr[-2000:]
    assert shot.stat().st_size > 20_000  # the drawn page, not a blank one
