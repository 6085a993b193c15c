"""Live mode's incident controller: the anomaly alerts it sends reach it too, and a restart resumes its incidents."""

from __future__ import annotations

from pathlib import Path

from foresight.adapters.audit_log import AuditLog
from foresight.adapters.exporter import PredictionExporter
from foresight.clock import ManualClock
from foresight.config import load_settings
from foresight.correlate.model import Alert
from foresight.serve.live import LivePlatform


class Outbox:
    def __init__(self) -> None:
        self.sent: list[dict] = []

    def send(self, alerts):
        self.sent += [dict(a) for a in alerts]


def test_a_restarted_live_platform_resumes_its_open_incidents(tmp_path: Path) -> None:
    settings = load_settings(None, live={"alertmanager_url": "http://alertmanager:9093"})
    clock = ManualClock(1_800_000_000.0)
    outbox = Outbox()
    with AuditLog(str(tmp_path / "audit.db")) as audit:
        first = LivePlatform(settings, PredictionExporter(), clock=clock, audit=audit, alert_sink=outbox)
        assert first.controllers["incidents"].enabled and "time alone" in first.controllers["incidents"].detail
        now = clock.now()
        first.incidents.add([Alert("db-slow", "HighLatency", "db", now - 60.0)])
        assert first.step(paused=()) is True
        [incident] = first.incidents.correlator.incidents
        assert outbox.sent[-1]["labels"]["incident"] == incident.id
        first.close()  # the graceful stop writes the checkpoint

        clock.advance(120.0)
        second = LivePlatform(settings, PredictionExporter(), clock=clock, audit=audit, alert_sink=outbox)
        assert [i.id for i in second.incidents.correlator.incidents] == [incident.id]
        second.incidents.add([Alert("db-errors", "HighErrors", "db", clock.now() - 10.0)])
        second.step(paused=())
        [grown] = second.incidents.correlator.incidents
        assert grown.id == incident.id and set(grown.alerts) == {"db-slow", "db-errors"}
        second.close()
