"""Build a source by name; built-ins go through the same table as any other source will."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pgy_metrics.clock import Clock
from pgy_metrics.sources.base import Source
from pgy_metrics.sources.replay import ReplaySource
from pgy_metrics.sources.sandbox import SandboxSource


@dataclass(frozen=True, slots=True)
class SourceOptions:
    """What a source factory may need; the server fills it from its settings."""

    clock: Clock
    replay_dir: Path | None = None
    sandbox_seed: int = 0


SourceFactory = Callable[[SourceOptions], Source]


def _sandbox(options: SourceOptions) -> Source:
    return SandboxSource(clock=options.clock, seed=options.sandbox_seed)


def _replay(options: SourceOptions) -> Source:
    if options.replay_dir is None:
        raise ValueError("the replay source needs a replay directory (--replay-dir)")
    return ReplaySource(options.replay_dir)


SOURCES: dict[str, SourceFactory] = {"sandbox": _sandbox, "replay": _replay}


def build_source(name: str, options: SourceOptions) -> Source:
    try:
        factory = SOURCES[name]
    except KeyError:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}; got {name!r}") from None
    return factory(options)
