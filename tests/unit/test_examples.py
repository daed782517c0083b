"""The files of ``examples/`` (which the README's commands use) are what they say they are.

``tests/integration/test_readme.py`` runs them through the CLI against real servers; these are
the quick checks of each file on its own: the recordings are real payloads in the replay layout,
the creators and candidates files read without a skipped line, the rules load, and the settings
file takes its secrets from the environment and only from there.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pgy_metrics.analytics.candidates import load_rules, read_candidates
from pgy_metrics.client.inputs import read_user_ids
from pgy_metrics.contract.endpoints import notes_query
from pgy_metrics.contract.params import Scope, parse_user_id
from pgy_metrics.service.config import ConfigError, load
from pgy_metrics.sources.justoneapi import JustOneApiSpec
from pgy_metrics.sources.pugongying import PugongyingSpec
from pgy_metrics.sources.replay import ReplaySource, recording_path
from tests.conftest import FIXTURES

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SECRET_VARIABLES = ("PUGONGYING_COOKIES", "JUSTONEAPI_TOKEN")


def _recordings() -> list[Path]:
    return sorted(path for path in (EXAMPLES / "recordings").rglob("*") if path.is_file())


def test_every_recording_is_a_real_payload_at_its_replay_path() -> None:
    """Byte for byte a fixture recorded from the hosted API (so replay serves real data), at the
    path the replay source reads for its creator + scope."""
    recordings = _recordings()
    assert recordings
    fixtures = {path.read_bytes(): path.name for path in FIXTURES.glob("justoneapi-notesrate-*")}
    for path in recordings:
        user_id = parse_user_id(path.parent.name)
        scope = Scope.from_key(path.stem)
        assert path == recording_path(EXAMPLES / "recordings", notes_query(user_id, scope))
        assert path.read_bytes() in fixtures, f"{path} is not a recorded payload of tests/fixtures"


async def test_the_replay_source_serves_the_recording_as_recorded() -> None:
    source = ReplaySource(EXAMPLES / "recordings")
    fixture = json.loads((FIXTURES / "justoneapi-notesrate-3-notes.json").read_bytes())
    data = await source.fetch(notes_query("5d21ab6b000000001201567d", Scope()))
    assert data == fixture["data"]
    assert list(data) == list(fixture["data"])  # the upstream key order, untouched


def test_creators_file_holds_ids_and_both_kinds_of_profile_url() -> None:
    result = read_user_ids(EXAMPLES / "creators.csv")
    assert result.problems == []
    assert result.duplicates == 0
    assert len(result.user_ids) >= 10
    text = (EXAMPLES / "creators.csv").read_text(encoding="utf-8")
    assert "https://pgy.xiaohongshu.com/solar/pre-trade/blogger-detail/" in text
    assert "https://www.xiaohongshu.com/user/profile/" in text


def test_candidates_are_the_creators_with_prices_and_the_rules_load() -> None:
    candidates = read_candidates(EXAMPLES / "candidates.csv")
    assert candidates.problems == []
    creators = set(read_user_ids(EXAMPLES / "creators.csv").user_ids)
    assert set(candidates.frame["user_id"]) == creators
    rules = load_rules(EXAMPLES / "rules.toml")
    assert rules.max_creator_budget_share is not None


def test_the_audience_rules_load_with_every_group() -> None:
    target = load_rules(EXAMPLES / "rules-audience.toml").audience
    assert target is not None and target.mode == "constraint"
    assert target.dimensions() == {"gender": 0.7, "ages": 0.6, "cities": 0.1}


def test_settings_file_takes_every_secret_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in SECRET_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError) as refused:
        load(EXAMPLES / "pgy.toml")
    assert len(refused.value.problems) == len(SECRET_VARIABLES)
    for name in SECRET_VARIABLES:
        assert any(name in problem for problem in refused.value.problems), name

    monkeypatch.setenv("PUGONGYING_COOKIES", "customer-sso-sid=sid-1; a1=a1-value; webId=web")
    monkeypatch.setenv("JUSTONEAPI_TOKEN", "relay-token-value")
    config = load(EXAMPLES / "pgy.toml")
    assert [source.type for source in config.sources] == ["pugongying", "justoneapi"]
    pugongying, relay = config.sources
    assert isinstance(pugongying, PugongyingSpec)
    assert isinstance(relay, JustOneApiSpec)
    assert [account.cookies_env for account in pugongying.accounts] == ["PUGONGYING_COOKIES"]
    assert relay.token_env == "JUSTONEAPI_TOKEN"
    assert relay.config.token.get_secret_value() == "relay-token-value"
