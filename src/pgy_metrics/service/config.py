"""The settings file (TOML): server settings and the ordered list of upstream sources.

```toml
[server]                      # any PGY_* setting, lower case without the prefix
port = 8000
database_url = "postgresql+psycopg://pgy@db/pgy"

[failover]
cooldown_seconds = 60

[[sources]]                   # tried in this order; the first that answers wins
type = "justoneapi"
token_env = "JUSTONEAPI_TOKEN"   # or token_file = "/run/secrets/justoneapi"

[[sources]]
type = "sandbox"
```

Precedence: command-line options, then ``PGY_*`` environment variables, then the file, then the
defaults. Secrets are never written in the file itself: each names the environment variable or
the file that holds it, so that the file can be committed and shown. ``load`` reports every
problem of a file at once, each naming where it is.

Each ``[[sources]]`` table is validated by the spec its ``type`` names in ``sources.registry``
(the one registration point of source kinds): this module knows no source kind by itself, except
that ``PGY_SOURCE`` / ``--source`` (sandbox or replay) becomes the same spec a file would give.
"""

from __future__ import annotations

import functools
import json
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from pgy_metrics.clock import Clock
from pgy_metrics.contract import errors
from pgy_metrics.service.settings import Settings
from pgy_metrics.sources import registry
from pgy_metrics.sources.base import OutcomeSink, Source
from pgy_metrics.sources.cookie_files import ReloadSignal
from pgy_metrics.sources.failover import DEFAULT_COOLDOWN_SECONDS
from pgy_metrics.sources.incidents import IncidentSink
from pgy_metrics.sources.pool import SharedPool
from pgy_metrics.sources.spec import BuildContext, SourceSpec

__all__ = [
    "ConfigError",
    "FailoverSpec",
    "FileConfig",
    "configured_source",
    "load",
    "setting_spec",
    "settings_from",
]


class ConfigError(errors.SettingsFileError):
    """The settings file has problems; ``problems`` lists each with where it is."""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FailoverSpec(_Spec):
    cooldown_seconds: float = Field(default=DEFAULT_COOLDOWN_SECONDS, ge=0)


class FileConfig(_Spec):
    """The whole file, validated (``load`` builds it: each source by its registered spec)."""

    server: dict[str, Any] = Field(default_factory=dict)
    sources: list[SourceSpec] = Field(default_factory=list)
    failover: FailoverSpec = FailoverSpec()

    @model_validator(mode="after")
    def _one_of_each(self) -> FileConfig:
        types = [source.type for source in self.sources]
        doubled = sorted({kind for kind in types if types.count(kind) > 1})
        if doubled:
            raise ValueError(f"sources: each type may appear once; repeated: {', '.join(doubled)}")
        return self


@functools.cache
def _file_model(kinds: tuple[str, ...]) -> type[FileConfig]:
    """``FileConfig`` whose ``sources`` are validated by the kinds registered now (a kind
    registered later gets a model of its own: the cache is keyed by the registry's names)."""
    sources: Any = list[registry.spec_type()]  # type: ignore[misc]
    model: type[FileConfig] = create_model(
        "FileConfig", __base__=FileConfig, sources=(sources, Field(default_factory=list))
    )
    return model


def load(path: Path) -> FileConfig:
    """Read and validate the file, secrets included; ``ConfigError`` lists every problem."""
    try:
        data = path.read_bytes()
        document = tomllib.loads(data.decode("utf-8"))
    except OSError as error:
        raise ConfigError(path, [f"cannot read the file: {error.strerror}"]) from None
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ConfigError(path, [f"line {line}: not UTF-8 text (TOML files are UTF-8)"]) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(path, [f"not valid TOML: {error}"]) from None
    except RecursionError:  # tomllib recurses once per level of nested arrays or tables
        raise ConfigError(path, ["not valid TOML: nested too deeply"]) from None
    server = document.get("server", {})
    problems = _check_server(server) if isinstance(server, dict) else []
    try:
        config = _file_model(registry.kinds()).model_validate(document)
    except ValidationError as error:
        problems = [_where(problem) for problem in error.errors()] + problems
    if problems:
        raise ConfigError(path, problems)
    return config


def _where(problem: Any) -> str:
    location = ".".join(_key(part) for part in problem["loc"])
    message = str(problem["msg"]).removeprefix("Value error, ")
    return f"{location}: {message}" if location else message


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _key(part: object) -> str:
    """A key as TOML would write it: bare when it can be, else quoted (a key may be ``""``)."""
    text = str(part)
    return text if isinstance(part, int) or _BARE_KEY.fullmatch(text) else json.dumps(text)


def _check_server(server: dict[str, Any]) -> list[str]:
    unknown = sorted(set(server) - set(Settings.model_fields))
    problems = [f"server.{_key(key)}: not a setting" for key in unknown]
    try:
        Settings(**{k: v for k, v in server.items() if k in Settings.model_fields})
    except ValidationError as error:
        problems += [f"server.{_where(problem)}" for problem in error.errors()]
    return problems


def settings_from(config: FileConfig, **overrides: Any) -> Settings:
    """File values below environment variables, command-line overrides above both."""
    from_env = Settings()
    values = {key: value for key, value in config.server.items() if key in Settings.model_fields}
    values.update({key: getattr(from_env, key) for key in from_env.model_fields_set})
    values.update({key: value for key, value in overrides.items() if value is not None})
    return Settings(**values)


def setting_spec(settings: Settings) -> SourceSpec:
    """``PGY_SOURCE`` (``--source``) as the spec a ``[[sources]]`` table would give."""
    options: dict[str, Any] = (
        {"dir": settings.replay_dir}
        if settings.source == "replay"
        else {"seed": settings.sandbox_seed}
    )
    given = {key: value for key, value in options.items() if value is not None}
    try:
        return registry.parse_spec({"type": settings.source, **given})
    except ValidationError as error:  # Settings checked these already; a folder may be gone since
        problems = [f"--source {settings.source}: {_where(each)}" for each in error.errors()]
        raise errors.ConfigError(problems=problems) from None


def configured_source(
    settings: Settings,
    config: FileConfig | None,
    *,
    clock: Clock,
    outcomes: OutcomeSink | None,
    pool: SharedPool | None = None,
    incidents: IncidentSink | None = None,
    reload: ReloadSignal | None = None,
) -> Source:
    """The server's source: the file's ``[[sources]]`` in order (behind failover when there are
    several), else the ``PGY_SOURCE`` setting. Specs are validated already: no secret is read
    again."""
    specs = list(config.sources) if config is not None else []
    if not specs:
        specs = [setting_spec(settings)]
    record = getattr(outcomes, "record_source", None)
    on_result: Callable[[str, bool], None] | None = (
        (lambda name, ok: record(name, ok=ok)) if record is not None else None
    )
    failover = config.failover if config is not None else FailoverSpec()
    return registry.build(
        specs,
        BuildContext(
            clock=clock,
            outcomes=outcomes,
            on_result=on_result,
            pool=pool,
            incidents=incidents,
            reload=reload,
        ),
        failover_cooldown_seconds=failover.cooldown_seconds,
    )
