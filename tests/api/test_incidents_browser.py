"""The dashboard's incidents panel in a real headless Chromium: a cascade posted to the webhook shows as one
incident, its root cause red on the topology, its alerts on the timeline, its evidence listed."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from foresight.api.server import start_in_thread

from .conftest import TOKEN, build

CHROMIUM = Path("/usr/bin/chromium")
NOTES = Path("/work/notes")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def _alert(name: str, service: str, seconds_ago: float) -> dict:
    started = (datetime.now(UTC) - timedelta(seconds=seconds_ago)).isoformat().replace("+00:00", "Z")
    return {"status": "firing", "labels": {"alertname": name, "service": service}, "annotations": {},
            "startsAt": started, "endsAt": "0001-01-01T00:00:00Z", "fingerprint": f"{name}-{service}"}


@pytest.mark.integration
def test_the_incidents_panel_shows_the_root_cause_on_the_topology_and_the_timeline(tmp_path: Path,
                                                                                    require_service) -> None:
    require_service(CHROMIUM.exists(), f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    service = build(tmp_path, simulate={"warmup_s": 900.0})
    server = start_in_thread(service)
    try:
        # cache <- llm-chat <- search: a cache fault reaching two callers
        body = {"version": "4", "status": "firing", "receiver": "foresight", "alerts": [
            _alert("CacheErrors", "cache", 90.0), _alert("HighLatency", "llm-chat", 60.0),
            _alert("HighLatency", "search", 30.0)]}
        r = httpx.post(f"{server.url}/api/v1/alerts/webhook", json=body, timeout=10,
                       headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 200, r.text
        deadline = time.monotonic() + 30
        while not httpx.get(f"{server.url}/api/v1/incidents", timeout=10).json()["incidents"]:
            assert time.monotonic() < deadline, "no incident opened"
            time.sleep(0.2)

        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 1400})
            page.goto(server.url + "/")
            rows = page.locator("#incidents tbody tr")
            assert rows.count() == 1
            cells = rows.first.locator("td").all_inner_texts()
            assert cells[1:] == ["firing", "cache", "cache, llm-chat, search", "3", "2"]
            topology = page.evaluate("document.getElementById('chart-topology').data[1]")
            colour = dict(zip(topology["text"], topology["marker"]["color"], strict=True))
            assert colour == {"cache": "#b42318", "llm-chat": "#98a2b3", "search": "#98a2b3"}
            assert page.evaluate("document.getElementById('chart-topology').layout.annotations.length") == 2  # calls
            timeline = page.evaluate("document.getElementById('chart-timeline').data.map(t => [t.name, t.line.color])")
            assert timeline == [["CacheErrors · cache", "#b42318"], ["HighLatency · llm-chat", "#98a2b3"],
                                ["HighLatency · search", "#98a2b3"]]
            assert "cache" in page.locator("#incident-evidence li").first.inner_text()
            page.locator("#panel-incidents").screenshot(path=str(tmp_path / "incidents.png"))
            browser.close()
    finally:
        server.stop()
    if NOTES.is_dir():
        shutil.copy(tmp_path / "incidents.png", NOTES / "incidents.png")
