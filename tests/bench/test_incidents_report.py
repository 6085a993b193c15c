"""How ``bench incidents`` reads what the webhooks received: Alertmanager's alerts matched back to the stream by
labels and start, and a Foresight notification crediting only the alerts its incident held when it was sent."""

from __future__ import annotations

from typing import Any

import pytest

from foresight.bench.alertmanager_replay import Received, WebhookReceiver, rfc3339
from foresight.bench.incidents import _Replay, _report
from foresight.bench.progress import silent
from foresight.correlate.engine import CorrelationSettings
from foresight.correlate.model import Alert, Candidate, Incident
from foresight.sim.cascades import CascadeSettings, generate

RUN = generate(CascadeSettings(incidents=2, seed=7, noise_per_incident=0.0))
A = [t.alert for t in RUN.alerts if t.incident == "inc-0000"]
B = [t.alert for t in RUN.alerts if t.incident == "inc-0001"]


def _replay() -> _Replay:
    replay = _Replay(RUN, {}, 10.0, CorrelationSettings(), silent)
    replay.w0 = 1_000.0
    return replay


def _am_alert(replay: _Replay, alert: Alert, status: str) -> dict[str, Any]:
    return {"status": status, "labels": dict(alert.labels), "startsAt": rfc3339(replay.wall(alert.starts_at))}


def _notification(replay: _Replay, path: str, at_s: float, alerts: list[dict[str, Any]]) -> Received:
    status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    return Received(path, replay.wall(at_s), {"status": status, "alerts": alerts})


@pytest.fixture
def figures() -> dict[str, Any]:
    """One Foresight incident X that took both faults (B's first alert joined it late), notified
    once before B joined; the default Alertmanager notified A, then B beside A's resolution."""
    assert A and B and RUN.faults["inc-0000"].root_service != RUN.faults["inc-0001"].root_service
    replay = _replay()
    joined = B[0].starts_at + 1_000.0
    replay.members["X"] = {A[0].key: A[0].starts_at, B[0].key: joined}
    replay.home = {a.key: "X" for a in A + B}
    root = RUN.faults["inc-0000"].root_service
    replay.latest["X"] = Incident("X", A[0].starts_at, (), tuple(a.key for a in A + B),
                                  candidates=(Candidate(str(root), 1.0),))
    receiver = WebhookReceiver()
    stranger = {"status": "firing", "labels": {"alertname": "NotInTheStream"}, "startsAt": rfc3339(replay.wall(0.0))}
    receiver.received += [
        _notification(replay, "/default", A[0].starts_at + 30.0, [_am_alert(replay, A[0], "firing")]),
        _notification(replay, "/default", B[0].starts_at + 30.0,
                      [_am_alert(replay, B[0], "firing"), _am_alert(replay, A[0], "resolved"), stranger]),
        _notification(replay, "/foresight", A[0].starts_at + 30.0,
                      [{"status": "firing", "labels": {"alertname": "ForesightIncident", "incident": "X"}}]),
        # the receiver that also sends resolutions: the same notification, then X's resolution
        _notification(replay, "/foresight_with_resolutions", A[0].starts_at + 30.0,
                      [{"status": "firing", "labels": {"alertname": "ForesightIncident", "incident": "X"}}]),
        _notification(replay, "/foresight_with_resolutions", B[0].starts_at + 2_000.0,
                      [{"status": "resolved", "labels": {"alertname": "ForesightIncident", "incident": "X"}}]),
    ]
    return _report(RUN, replay, receiver)


def test_a_fault_that_joined_an_incident_after_its_notification_is_not_recalled(figures: dict[str, Any]) -> None:
    assert figures["incident_recall"] == 0.5
    assert figures["incident_recall_counting_later_joins"] == 1.0
    assert figures["systems"]["default"]["incident_recall"] == 1.0


def test_alertmanagers_alerts_are_found_by_labels_and_start(figures: dict[str, Any]) -> None:
    default = figures["systems"]["default"]
    assert figures["unmatched_notified_alerts"] == 1  # the stranger
    assert default["first_notification_median_s"] == 30.0
    assert figures["first_notification_delay_vs_default_s"] == 0.0  # A: both 30 s after its first alert
    # the second notification showed A's and B's alerts together: one pair, a wrong one
    assert (default["grouping_precision"], default["grouping_recall"]) == (0.0, 0.0)


def test_counts_reductions_and_root_causes(figures: dict[str, Any]) -> None:
    systems = figures["systems"]
    assert [systems[n]["notifications"] for n in ("default", "tuned", "foresight")] == [2, 0, 1]
    assert figures["notification_reduction_vs_default"] == 0.5
    # sending X's resolution too costs a second notification, which speaks for no firing alert
    assert systems["foresight_with_resolutions"]["notifications"] == 2
    assert figures["notification_reduction_with_resolutions_vs_default"] == 0.0
    assert systems["foresight_with_resolutions"]["incident_recall"] == figures["incident_recall"]
    assert figures["notification_reduction_vs_tuned"] is None  # nothing to compare with
    assert figures["firing_notification_reduction_vs_default"] == 0.5  # both of the default's announce a firing
    assert figures["grouping_recall"] == 1.0 and figures["grouping_precision"] < 1.0  # X holds both faults
    assert (figures["rca_top1"], figures["rca_top3"]) == (0.5, 0.5)  # X names A's root, not B's
