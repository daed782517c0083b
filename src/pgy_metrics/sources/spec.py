"""What a source kind registers: a spec model (its settings, validated) and a factory.

Every source kind, built in or not, is described the same way: a ``SourceSpec`` subclass whose
``type`` is a one-value ``Literal`` (the kind's name, as written in ``[[sources]] type = ...``),
and a factory that turns a validated spec into a ``Source``. ``sources.registry`` keeps the kinds;
the settings file, ``pgy serve --source`` and ``pgy config check`` all go through it.

A spec is validated once, when it is built: that is also when its secrets are read (from the
environment variable or the file it names) and when the source's own configuration object is
checked, so ``pgy config check`` and ``pgy serve`` see exactly the same problems and the factory
never reads a secret again. A spec keeps what it read in private attributes: they appear in no
``repr``, no ``model_dump`` and no error.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict, SecretStr

from pgy_metrics.clock import Clock
from pgy_metrics.contract.errors import ConfigError
from pgy_metrics.sources.base import OutcomeSink, Source
from pgy_metrics.sources.cookie_files import ReloadSignal
from pgy_metrics.sources.incidents import IncidentSink
from pgy_metrics.sources.pool import SharedPool

__all__ = ["BuildContext", "SourceKind", "SourceSpec", "read_secret"]


class SourceSpec(BaseModel):
    """The settings of one source, as one ``[[sources]]`` table of a settings file holds them.

    Unknown keys are refused (a typo must not silently fall back to a default). A subclass
    narrows ``type`` to ``Literal["its-name"]``; its defaults are the source module's own
    ``DEFAULT_*`` constants, never restated numbers.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str


@dataclass(frozen=True, slots=True)
class BuildContext:
    """What every factory may use besides its spec: the server's clock, where upstream
    attempts are reported (health) and the cluster's shared account pool state, if any."""

    clock: Clock
    outcomes: OutcomeSink | None = None
    on_result: Callable[[str, bool], None] | None = field(default=None)
    """Told, for a chain of several sources, whether each source tried produced data."""
    pool: SharedPool | None = None
    """Where account pools keep pacing and account states shared by the cluster (the server
    gives one on Redis with ``PGY_REDIS_URL``); None keeps them in the process."""
    incidents: IncidentSink | None = None
    """Told when an account loses its session or is risk-controlled (the account webhook)."""
    reload: ReloadSignal | None = None
    """The deployment's "re-read the cookie files" counter (``pgy accounts reload``)."""


SpecT = TypeVar("SpecT", bound=SourceSpec)


@dataclass(frozen=True, slots=True)
class SourceKind(Generic[SpecT]):
    """One kind of source: its spec model and the factory building a source from a valid spec.

    The kind's name is not given again: it is the spec's ``type`` literal.
    """

    spec: type[SpecT]
    factory: Callable[[SpecT, BuildContext], Source]
    name: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", _literal_type(self.spec))

    def build(self, spec: SourceSpec, context: BuildContext) -> Source:
        if not isinstance(spec, self.spec):
            raise TypeError(f"a {self.name} source needs a {self.spec.__name__}; got {spec!r}")
        return self.factory(spec, context)


def _literal_type(spec: type[SourceSpec]) -> str:
    annotation: Any = spec.model_fields["type"].annotation
    values = get_args(annotation) if get_origin(annotation) is Literal else ()
    if len(values) != 1 or not isinstance(values[0], str) or not values[0]:
        raise TypeError(f"{spec.__name__}.type must be a Literal of one name, e.g. Literal['x']")
    return values[0]


def read_secret(*, env: str | None, file: Path | None, what: str) -> SecretStr:
    """A secret from an environment variable or a file (surrounding whitespace dropped).

    Exactly one of them must be given; each problem names ``{what}_env`` or ``{what}_file`` and
    the variable or file, never the value.
    """
    if (env is None) == (file is None):
        raise ConfigError(f"{what}: give exactly one of {what}_env or {what}_file")
    if env is not None:
        value = os.environ.get(env)
        if not value:
            raise ConfigError(f"{what}_env: the environment variable {env} is not set or empty")
        return SecretStr(value.strip())
    assert file is not None
    try:
        value = file.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ConfigError(f"{what}_file: cannot read {file}: {error.strerror}") from None
    if not value:
        raise ConfigError(f"{what}_file: {file} is empty")
    return SecretStr(value)
