"""One family of "settings a person must fix" errors: every layer's error is a
``contract.errors.ConfigError`` (so a ``ValueError``), keeps its own name, and ``pgy`` exits 2
with its message, whichever layer raised it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgy_metrics.analytics.settings import AnalyticsSettingsError
from pgy_metrics.cli import main as cli_main
from pgy_metrics.cli.messages import USAGE_EXIT
from pgy_metrics.client import ConfigurationError, PgyError
from pgy_metrics.contract.errors import ConfigError, SettingsFileError
from pgy_metrics.service import config
from pgy_metrics.sources.justoneapi import JustOneApiConfig
from pgy_metrics.sources.pugongying import PugongyingConfig, PugongyingConfigError

FAMILY: list[ConfigError] = [
    config.ConfigError(Path("pgy.toml"), ["server.port: Input should be a valid integer"]),
    AnalyticsSettingsError(Path("analytics.toml"), ["score.weights: not a setting"]),
    PugongyingConfigError(["accounts: at least one logged-in account is needed"]),
    ConfigurationError("No API token: pass token= or set PGY_TOKEN."),
]


@pytest.mark.parametrize("problem", FAMILY, ids=lambda problem: type(problem).__name__)
def test_each_layer_s_error_is_one_of_the_family_and_pgy_exits_2_with_its_message(
    problem: ConfigError, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert isinstance(problem, ConfigError) and isinstance(problem, ValueError)
    assert problem.problems  # every member lists its problems, one at least

    def raising() -> None:
        raise problem

    monkeypatch.setattr(cli_main, "app", raising)
    with pytest.raises(SystemExit) as ended:
        cli_main.main()
    assert ended.value.code == USAGE_EXIT
    assert capsys.readouterr().err == f"error: {problem}\n"


def test_a_settings_file_error_names_the_file_and_lists_every_problem() -> None:
    problem = SettingsFileError(Path("pgy.toml"), ["a: bad", "b: worse"])
    assert str(problem) == "pgy.toml has 2 problem(s):\n  - a: bad\n  - b: worse"
    assert problem.problems == ["a: bad", "b: worse"] and problem.path == Path("pgy.toml")
    assert isinstance(config.ConfigError(Path("x"), ["y"]), SettingsFileError)


def test_the_client_s_error_stays_a_client_error() -> None:
    """``except PgyError`` still catches everything the client raises."""
    assert issubclass(ConfigurationError, PgyError)
    assert ConfigurationError("no token").problems == ["no token"]


def test_a_source_config_refused_in_python_is_of_the_family() -> None:
    with pytest.raises(ConfigError, match="timeout_seconds must be a positive number"):
        JustOneApiConfig(token="t0ken", timeout_seconds=0)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="at least one logged-in account"):
        PugongyingConfig(accounts=[])
