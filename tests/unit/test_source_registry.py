"""One registration point for sources: a kind defined here, in a test, is configurable from a
settings file, checked by ``pgy config check`` and served by a real app; the built-in kinds state
their defaults once and read their secrets once; ``--source`` gives the same spec as a file."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from pydantic import model_validator
from typer.testing import CliRunner

from pgy_metrics.cli.main import app as cli
from pgy_metrics.clock import FixedClock, SystemClock
from pgy_metrics.contract import NOTES_RATE_PATH
from pgy_metrics.server import create_app
from pgy_metrics.service.config import ConfigError, configured_source, load, setting_spec
from pgy_metrics.service.settings import Settings
from pgy_metrics.sources import registry
from pgy_metrics.sources.failover import FailoverSource
from pgy_metrics.sources.justoneapi import JustOneApiConfig, JustOneApiSource, JustOneApiSpec
from pgy_metrics.sources.pugongying import PugongyingConfig, PugongyingSpec
from pgy_metrics.sources.replay import ReplaySource, ReplaySpec
from pgy_metrics.sources.sandbox import SandboxSource, SandboxSpec
from pgy_metrics.sources.spec import BuildContext, SourceKind, SourceSpec
from tests.fakes import CountingSource

USER = "5d21ab6b000000001201567d"
SECRET = "relay-token-read-once-0123456789"


class StaticSpec(SourceSpec):
    """A source kind that only this test knows: answers the payload of a JSON file."""

    type: Literal["static"] = "static"
    payload_file: Path

    @model_validator(mode="after")
    def _readable(self) -> StaticSpec:
        if not self.payload_file.is_file():
            raise ValueError(f"payload_file: {self.payload_file} is not a file")
        return self


def _build_static(spec: StaticSpec, context: BuildContext) -> CountingSource:
    payload = json.loads(spec.payload_file.read_bytes())["data"]
    return CountingSource(payload, name="static")


@pytest.fixture
def static_kind() -> Iterator[SourceKind[StaticSpec]]:
    kind = SourceKind(StaticSpec, _build_static)
    registry.register(kind)
    try:
        yield kind
    finally:
        registry.unregister(kind.name)


def _write(tmp_path: Path, text: str, name: str = "pgy.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def payload_file(tmp_path: Path, fixture_bytes: bytes) -> Path:
    return _write(tmp_path, fixture_bytes.decode("utf-8"), "payload.json")


async def test_a_kind_registered_in_a_test_is_built_from_a_file_and_served(
    tmp_path: Path, static_kind: SourceKind[StaticSpec], payload_file: Path
) -> None:
    config = load(
        _write(tmp_path, f'[[sources]]\ntype = "static"\npayload_file = "{payload_file}"\n')
    )
    (spec,) = config.sources
    assert isinstance(spec, StaticSpec) and spec.payload_file == payload_file
    settings = Settings(data_dir=tmp_path / "data", token_cache_seconds=0)
    clock = FixedClock(datetime(2026, 11, 26, 7, 4, 5, tzinfo=UTC))
    app = create_app(settings, config=config, clock=clock)
    async with app.router.lifespan_context(app):
        issued = await app.state.runtime.issuer.create("tester")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            response = await http.get(
                NOTES_RATE_PATH, params={"token": issued.token, "userId": USER}
            )
    body = response.json()
    assert body["code"] == 0, body
    assert body["data"] == json.loads(payload_file.read_bytes())["data"]
    assert response.headers["X-Pgy-Source"] == "static"


def test_a_registered_kind_joins_failover_and_config_check(
    tmp_path: Path, static_kind: SourceKind[StaticSpec], payload_file: Path
) -> None:
    path = _write(
        tmp_path,
        f'[[sources]]\ntype = "static"\npayload_file = "{payload_file}"\n'
        '[[sources]]\ntype = "sandbox"\n',
    )
    source = configured_source(Settings(), load(path), clock=SystemClock(), outcomes=None)
    assert isinstance(source, FailoverSource)
    assert [member.name for member in source.sources] == ["static", "sandbox"]
    checked = CliRunner().invoke(cli, ["config", "check", str(path)])
    assert checked.exit_code == 0, checked.output
    assert "sources in order: static, sandbox" in checked.output
    with pytest.raises(ConfigError, match=r"sources\.0\.static: payload_file: .* is not a file"):
        load(_write(tmp_path, '[[sources]]\ntype = "static"\npayload_file = "/no/such.json"\n'))


def test_an_unregistered_kind_is_refused_naming_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        load(_write(tmp_path, '[[sources]]\ntype = "static"\npayload_file = "x.json"\n'))
    (problem,) = refused.value.problems
    assert "'static'" in problem
    assert ", ".join(repr(name) for name in registry.kinds()) in problem


def test_registering_refuses_a_taken_name_and_keeps_the_built_ins(
    static_kind: SourceKind[StaticSpec],
) -> None:
    with pytest.raises(ValueError, match="registered already"):
        registry.register(SourceKind(StaticSpec, _build_static))
    with pytest.raises(ValueError, match="cannot be unregistered"):
        registry.unregister("sandbox")
    assert registry.kinds() == (*(kind.name for kind in registry.BUILT_IN), "static")

    class Nameless(SourceSpec):
        pass

    with pytest.raises(TypeError, match="Literal of one name"):
        SourceKind(Nameless, _build_static)  # type: ignore[arg-type]


def _defaults(spec: type[SourceSpec]) -> dict[str, Any]:
    return {name: field.default for name, field in spec.model_fields.items()}


@pytest.mark.parametrize(
    ("spec", "config", "not_in_the_file"),
    [
        (JustOneApiSpec, JustOneApiConfig, {"token"}),
        (PugongyingSpec, PugongyingConfig, {"accounts"}),
    ],
)
def test_a_spec_sets_every_config_field_with_the_config_s_own_default(
    spec: type[SourceSpec], config: Any, not_in_the_file: set[str]
) -> None:
    """The defaults are the source module's: a settings file and Python get the same source."""
    spec_defaults = _defaults(spec)
    for field in dataclasses.fields(config):
        if field.name in not_in_the_file:
            continue
        assert field.name in spec_defaults, f"{spec.__name__} cannot set {field.name}"
        assert spec_defaults[field.name] == field.default, field.name


def test_sandbox_and_replay_defaults_are_their_module_s() -> None:
    assert SandboxSpec().seed == (SandboxSource.__init__.__kwdefaults__ or {})["seed"]
    assert Settings().sandbox_seed is None  # --source sandbox keeps the sandbox's own default


def test_a_secret_is_read_once_when_the_file_is_validated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token_file = _write(tmp_path, SECRET + "\n", "token")
    config = load(
        _write(tmp_path, f'[[sources]]\ntype = "justoneapi"\ntoken_file = "{token_file}"\n')
    )
    token_file.unlink()  # read at load: building the source reads nothing again
    source = configured_source(Settings(), config, clock=SystemClock(), outcomes=None)
    assert isinstance(source, JustOneApiSource)
    assert source.config.token.get_secret_value() == SECRET
    assert SECRET not in repr(config) and SECRET not in str(config.model_dump())


def test_source_option_gives_the_same_spec_as_a_file(tmp_path: Path) -> None:
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    from_file = load(
        _write(
            tmp_path,
            f'[[sources]]\ntype = "replay"\ndir = "{recordings}"\n',
        )
    ).sources
    from_option = setting_spec(Settings(source="replay", replay_dir=recordings))
    assert isinstance(from_option, ReplaySpec) and from_file == [from_option]
    sandbox = setting_spec(Settings(source="sandbox", sandbox_seed=7))
    assert sandbox == load(_write(tmp_path, '[[sources]]\ntype = "sandbox"\nseed = 7\n')).sources[0]
    replay = configured_source(
        Settings(source="replay", replay_dir=recordings), None, clock=SystemClock(), outcomes=None
    )
    assert isinstance(replay, ReplaySource)


CONFIGURATION = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


@pytest.mark.parametrize("kind", registry.BUILT_IN, ids=lambda kind: kind.name)
def test_every_built_in_kind_and_setting_is_listed_in_the_configuration_docs(
    kind: SourceKind[Any],
) -> None:
    text = CONFIGURATION.read_text(encoding="utf-8")
    types = " ".join(text.split("Source types:", 1)[1].split("\n\n", 1)[0].split())
    assert f"`{kind.name}`" in types
    missing = [
        name for name in kind.spec.model_fields if name != "type" and f"`{name}`" not in types
    ]
    assert missing == [], f"list {kind.name}'s settings under 'Source types': {missing}"
