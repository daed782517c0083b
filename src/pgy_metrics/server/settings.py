"""Server settings from ``PGY_*`` environment variables (and arguments, which win).

Defaults are safe for one machine: SQLite under a per-user data directory, the sandbox source,
loopback only. Anything that would silently be wrong (a replay source without a folder, a time
zone that does not exist) is refused at start with a message naming the setting.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pgy_metrics.store.database import default_sqlite_url

SourceName = Literal["sandbox", "replay"]


def default_data_dir() -> Path:
    return platformdirs.user_data_path("pgy-metrics", appauthor=False)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PGY_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    """Where the SQLite database and the token pepper file live."""
    database_url: str | None = None
    """``postgresql+psycopg://...`` to scale out; default SQLite under ``data_dir``."""
    source: SourceName = "sandbox"
    replay_dir: Path | None = None
    sandbox_seed: int = 0
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    cache_ttl_seconds: float = Field(default=6 * 3600, gt=0)
    """A snapshot younger than this is served without asking the source again."""
    snapshot_memory_entries: int = Field(default=10_000, ge=0)
    token_cache_seconds: float = Field(default=5.0, ge=0)
    """How long a process trusts a token look-up; a revocation elsewhere takes this long."""
    token_pepper: SecretStr | None = None
    """Server-side key of token hashes; default a random key kept in ``data_dir``. Set it
    explicitly when several machines share one database."""
    record_time_zone: str = "Asia/Shanghai"
    """``recordTime`` is local wall time in this zone, as the hosted API writes it."""
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @field_validator("record_time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"record_time_zone must be an IANA time zone such as Asia/Shanghai; got {value!r}"
            ) from None
        return value

    @model_validator(mode="after")
    def _replay_needs_folder(self) -> Settings:
        if self.source == "replay":
            if self.replay_dir is None:
                raise ValueError("source 'replay' needs replay_dir (PGY_REPLAY_DIR / --replay-dir)")
            if not self.replay_dir.is_dir():
                raise ValueError(f"replay_dir {str(self.replay_dir)!r} is not a directory")
        return self

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or default_sqlite_url(self.data_dir)

    @property
    def cache_ttl(self) -> timedelta:
        return timedelta(seconds=self.cache_ttl_seconds)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.record_time_zone)

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"
