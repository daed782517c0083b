"""The settings file: validation naming every problem, secrets from env or files, precedence."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgy_metrics.clock import SystemClock
from pgy_metrics.service.config import (
    ConfigError,
    FileConfig,
    configured_source,
    load,
    settings_from,
)
from pgy_metrics.service.settings import Settings
from pgy_metrics.sources.base import Source
from pgy_metrics.sources.failover import FailoverSource
from pgy_metrics.sources.justoneapi import JustOneApiSource

SECRET = "relay-token-that-must-not-leak-123"


def build_sources(config: FileConfig) -> Source:
    return configured_source(Settings(), config, clock=SystemClock(), outcomes=None)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pgy.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_problem_is_named_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    path = write(
        tmp_path,
        """
[server]
port = 70000
colour = "blue"
[[sources]]
type = "justoneapi"
token_env = "NOT_SET_ANYWHERE"
[[sources]]
type = "replay"
dir = "/no/such/dir"
[[sources]]
type = "carrier-pigeon"
""",
    )
    with pytest.raises(ConfigError) as caught:
        load(path)
    problems = caught.value.problems
    assert len(problems) == 5
    text = "\n".join(problems)
    for fragment in (
        "NOT_SET_ANYWHERE is not set",
        "/no/such/dir is not a directory",
        "carrier-pigeon",
        "server.colour: not a setting",
        "server.port",
    ):
        assert fragment in text


def test_unreadable_or_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(write(tmp_path, "[server\nport = 1"))


def test_a_secret_is_read_from_a_file_or_the_environment_never_inline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(SECRET + "\n", encoding="utf-8")
    config = load(
        write(tmp_path, f'[[sources]]\ntype = "justoneapi"\ntoken_file = "{token_file}"\n')
    )
    source = build_sources(config)
    assert isinstance(source, JustOneApiSource)
    assert SECRET not in repr(config) and SECRET not in repr(source)
    monkeypatch.setenv("RELAY_TOKEN", SECRET)
    load(write(tmp_path, '[[sources]]\ntype = "justoneapi"\ntoken_env = "RELAY_TOKEN"\n'))
    with pytest.raises(ConfigError, match="token"):
        load(write(tmp_path, f'[[sources]]\ntype = "justoneapi"\ntoken = "{SECRET}"\n'))
    with pytest.raises(ConfigError) as caught:
        load(write(tmp_path, f'[[sources]]\ntype = "justoneapi"\ntoken = "{SECRET}"\n'))
    assert SECRET not in str(caught.value)


def test_sources_in_order_behind_failover(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELAY_TOKEN", SECRET)
    config = load(
        write(
            tmp_path,
            """
[failover]
cooldown_seconds = 30
[[sources]]
type = "justoneapi"
token_env = "RELAY_TOKEN"
[[sources]]
type = "sandbox"
seed = 7
""",
        )
    )
    source = build_sources(config)
    assert isinstance(source, FailoverSource)
    assert [s.name for s in source.sources] == ["justoneapi", "sandbox"]
    with pytest.raises(ConfigError, match="each type may appear once"):
        load(write(tmp_path, '[[sources]]\ntype = "sandbox"\n[[sources]]\ntype = "sandbox"\n'))


def test_precedence_options_then_environment_then_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load(write(tmp_path, '[server]\nport = 9001\nhost = "0.0.0.0"\nlog_level = "debug"\n'))
    monkeypatch.setenv("PGY_HOST", "127.0.0.2")
    settings = settings_from(config, log_level="warning")
    assert settings.port == 9001  # from the file
    assert settings.host == "127.0.0.2"  # the environment beats the file
    assert settings.log_level == "warning"  # the command line beats both


def test_pugongying_accounts_from_files_and_every_problem_named(tmp_path: Path) -> None:
    cookies = tmp_path / "brand.cookies"
    cookies.write_text(f"a1={SECRET}; webId=w; customer-sso-sid=s\n", encoding="utf-8")
    good = f"""
[[sources]]
type = "pugongying"
requests_per_second = 1
[[sources.accounts]]
name = "brand"
cookies_file = "{cookies}"
"""
    config = load(write(tmp_path, good))
    source = build_sources(config)
    assert source is not None and source.name == "pugongying"
    assert SECRET not in repr(config) and SECRET not in repr(source)
    bad = f"""
[[sources]]
type = "pugongying"
signer = "no.such.module:sign"
[[sources.accounts]]
name = "brand"
cookies_file = "{tmp_path / "missing.cookies"}"
"""
    with pytest.raises(ConfigError) as caught:
        load(write(tmp_path, bad))
    text = str(caught.value)
    assert "missing.cookies" in text
    assert SECRET not in text
    signer_only = good.replace("requests_per_second = 1", 'signer = "no.such.module:sign"')
    with pytest.raises(ConfigError, match=r"no\.such\.module"):
        load(write(tmp_path, signer_only))
