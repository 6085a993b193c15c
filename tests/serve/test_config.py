"""Settings: YAML file, FORESIGHT_* variables over it, options over both, precise errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from foresight.config import load_settings
from foresight.errors import ConfigError


def test_priority_is_options_then_environment_then_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "foresight.yaml"
    config.write_text("api:\n  port: 9100\n  token: from-file\nsimulate:\n  speed: 120\n  seed: 4\n")
    monkeypatch.setenv("FORESIGHT_SIMULATE__SPEED", "300")
    monkeypatch.setenv("FORESIGHT_SHARED_DATA", "/elsewhere")  # another FORESIGHT_ variable is not a setting
    s = load_settings(config, api={"port": 9200})
    assert (s.api.port, s.simulate.speed, s.simulate.seed) == (9200, 300.0, 4)
    assert s.api.token is not None and s.api.token.get_secret_value() == "from-file"
    assert "from-file" not in repr(s)


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("api:\n  prot: 1\n", {}, "api.prot: Extra inputs are not permitted"),
        ("api: [1, 2\n", {}, "not valid YAML"),
        ("- a\n", {}, "expected a mapping of settings, got list"),
        ("", {"FORESIGHT_API__PORT": "eighty"}, "FORESIGHT_API__PORT: api.port: Input should be a valid integer"),
        ("controllers:\n  forecast_lead_s: 7200\n", {}, "forecast_lead_s (7200.0) must not exceed forecast_horizon_s"),
        ("", {"FORESIGHT_LEADER_ELECTION__RENEW_DEADLINE_S": "20"},
         "FORESIGHT_LEADER_ELECTION: leader_election: Value error, need retry_period_s (2.0) < renew_deadline_s (20.0) "
         "< lease_duration_s (15.0)"),
    ],
)
def test_errors_name_the_field_and_where_it_came_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, env: dict[str, str], message: str
) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError, match="bad.yaml") as exc:
        load_settings(config)
    assert message in str(exc.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read it"):
        load_settings(tmp_path / "nope.yaml")
