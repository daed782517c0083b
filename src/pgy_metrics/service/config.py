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
the file that holds it, so that the file can be committed and shown. ``check`` reports every
problem of a file at once, each naming where it is.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from pgy_metrics.clock import Clock
from pgy_metrics.service.settings import Settings
from pgy_metrics.sources.base import OutcomeSink, Source
from pgy_metrics.sources.failover import DEFAULT_COOLDOWN_SECONDS, FailoverSource
from pgy_metrics.sources.justoneapi import JustOneApiConfig, JustOneApiSource
from pgy_metrics.sources.pugongying import PugongyingAccount, PugongyingConfig, PugongyingSource
from pgy_metrics.sources.registry import SourceOptions, build_source
from pgy_metrics.sources.signing import load_signer


class ConfigError(ValueError):
    """The settings file has problems; ``problems`` lists each with where it is."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        listed = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"{path} has {len(problems)} problem(s):\n{listed}")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def read_secret(*, env: str | None, file: Path | None, what: str) -> SecretStr:
    """A secret from an environment variable or a file (trailing newline dropped)."""
    if (env is None) == (file is None):
        raise ValueError(f"{what}: give exactly one of {what}_env or {what}_file")
    if env is not None:
        value = os.environ.get(env)
        if not value:
            raise ValueError(f"{what}_env: the environment variable {env} is not set or empty")
        return SecretStr(value.strip())
    assert file is not None
    try:
        value = file.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ValueError(f"{what}_file: cannot read {file}: {error.strerror}") from None
    if not value:
        raise ValueError(f"{what}_file: {file} is empty")
    return SecretStr(value)


class SandboxSpec(_Spec):
    type: Literal["sandbox"]
    seed: int = 0


class ReplaySpec(_Spec):
    type: Literal["replay"]
    dir: Path

    @model_validator(mode="after")
    def _exists(self) -> ReplaySpec:
        if not self.dir.is_dir():
            raise ValueError(f"dir: {self.dir} is not a directory")
        return self


class JustOneApiSpec(_Spec):
    type: Literal["justoneapi"]
    base_url: str = "https://api.justoneapi.com"
    token_env: str | None = None
    token_file: Path | None = None
    timeout_seconds: float = Field(default=60, gt=0)
    attempts: int = Field(default=3, ge=1, le=10)

    @model_validator(mode="after")
    def _token_readable(self) -> JustOneApiSpec:
        read_secret(env=self.token_env, file=self.token_file, what="token")
        return self

    def build(self) -> JustOneApiConfig:
        return JustOneApiConfig(
            token=read_secret(env=self.token_env, file=self.token_file, what="token"),
            base_url=self.base_url,
            timeout_seconds=self.timeout_seconds,
            attempts=self.attempts,
        )


def parse_cookies(header: SecretStr, *, where: str) -> dict[str, SecretStr]:
    """``"a1=...; webId=..."`` (as copied from a browser) -> cookies; the values stay secret."""
    cookies: dict[str, SecretStr] = {}
    for part in header.get_secret_value().split(";"):
        name, sep, value = part.strip().partition("=")
        if not part.strip():
            continue
        if not sep or not name.strip():
            raise ValueError(f"{where}: cookies must look like 'name=value; name2=value2'")
        cookies[name.strip()] = SecretStr(value.strip())
    if not cookies:
        raise ValueError(f"{where}: no cookie found")
    return cookies


class AccountSpec(_Spec):
    name: str = Field(min_length=1, max_length=100)
    cookies_env: str | None = None
    """An environment variable holding the account's Cookie header ('a1=...; webId=...')."""
    cookies_file: Path | None = None
    proxy: str | None = None
    requests_per_second: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _cookies_readable(self) -> AccountSpec:
        self.cookies()
        return self

    def cookies(self) -> dict[str, SecretStr]:
        header = read_secret(env=self.cookies_env, file=self.cookies_file, what="cookies")
        return parse_cookies(header, where="cookies")


class PugongyingSpec(_Spec):
    type: Literal["pugongying"]
    accounts: list[AccountSpec] = Field(min_length=1)
    base_url: str = "https://pgy.xiaohongshu.com"
    requests_per_second: float = Field(default=0.5, gt=0)
    timeout_seconds: float = Field(default=15, gt=0)
    retry_attempts: int = Field(default=2, ge=1, le=10)
    cooldown_base_seconds: float = Field(default=300, gt=0)
    cooldown_max_seconds: float = Field(default=21600, gt=0)
    signer: str | None = None
    """``package.module:callable`` adding signature headers (see docs/sources-pugongying.md)."""

    @model_validator(mode="after")
    def _buildable(self) -> PugongyingSpec:
        self.build()  # PugongyingConfig refuses a bad config, naming every problem
        load_signer(self.signer)  # the signer must import and be callable
        return self

    def build(self) -> PugongyingConfig:
        return PugongyingConfig(
            accounts=[
                PugongyingAccount(
                    name=account.name,
                    cookies=account.cookies(),
                    proxy=account.proxy,
                    requests_per_second=account.requests_per_second,
                )
                for account in self.accounts
            ],
            base_url=self.base_url,
            requests_per_second=self.requests_per_second,
            timeout_seconds=self.timeout_seconds,
            retry_attempts=self.retry_attempts,
            cooldown_base_seconds=self.cooldown_base_seconds,
            cooldown_max_seconds=self.cooldown_max_seconds,
            signer=self.signer,
        )


SourceSpec = Annotated[
    SandboxSpec | ReplaySpec | JustOneApiSpec | PugongyingSpec, Field(discriminator="type")
]


class FailoverSpec(_Spec):
    cooldown_seconds: float = Field(default=DEFAULT_COOLDOWN_SECONDS, ge=0)


class FileConfig(_Spec):
    """The whole file, validated."""

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


def load(path: Path) -> FileConfig:
    """Read and validate the file; ``ConfigError`` lists every problem."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(path, [f"cannot read the file: {error.strerror}"]) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(path, [f"not valid TOML: {error}"]) from None
    server = document.get("server", {})
    problems = _check_server(server) if isinstance(server, dict) else []
    try:
        config = FileConfig.model_validate(document)
    except ValidationError as error:
        problems = [_where(problem) for problem in error.errors()] + problems
    if problems:
        raise ConfigError(path, problems)
    return config


def _where(problem: Any) -> str:
    location = ".".join(str(part) for part in problem["loc"])
    message = str(problem["msg"]).removeprefix("Value error, ")
    return f"{location}: {message}" if location else message


def _check_server(server: dict[str, Any]) -> list[str]:
    unknown = sorted(set(server) - set(Settings.model_fields))
    problems = [f"server.{key}: not a setting" for key in unknown]
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


def build_sources(
    config: FileConfig, *, clock: Clock, outcomes: OutcomeSink | None
) -> Source | None:
    """The configured sources behind failover (one source alone is used as it is); None when
    the file names no source (the ``PGY_SOURCE`` setting applies then)."""
    built = [_build(spec, clock=clock, outcomes=outcomes) for spec in config.sources]
    if not built:
        return None
    if len(built) == 1:
        return built[0]
    record = getattr(outcomes, "record_source", None)
    on_result: Callable[[str, bool], None] | None = (
        (lambda name, ok: record(name, ok=ok)) if record is not None else None
    )
    return FailoverSource(
        built, cooldown_seconds=config.failover.cooldown_seconds, on_result=on_result
    )


def _build(spec: SourceSpec, *, clock: Clock, outcomes: OutcomeSink | None) -> Source:
    if isinstance(spec, JustOneApiSpec):
        return JustOneApiSource(spec.build(), outcomes=outcomes)
    if isinstance(spec, PugongyingSpec):
        return PugongyingSource(spec.build(), outcomes=outcomes)
    if isinstance(spec, SandboxSpec):
        return build_source("sandbox", SourceOptions(clock=clock, sandbox_seed=spec.seed))
    return build_source("replay", SourceOptions(clock=clock, replay_dir=spec.dir))
