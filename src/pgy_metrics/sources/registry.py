"""The one registration point of source kinds: settings in, source objects out.

Each kind is a ``SourceKind`` (``sources.spec``): a spec model and a factory, both in the
source's own module. The built-in kinds are listed in ``BUILT_IN``; code outside ``src`` (a test,
an embedding application) adds its own with ``register``. The settings file (``[[sources]]``),
``pgy serve --source`` / ``PGY_SOURCE`` and ``pgy config check`` all validate through
``spec_type()`` / ``parse_spec`` and build through ``build``, so a kind registered here is
configurable everywhere at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Union

from pydantic import Field, TypeAdapter

from pgy_metrics.sources import justoneapi, pugongying, replay, sandbox
from pgy_metrics.sources.base import Source
from pgy_metrics.sources.failover import FailoverSource
from pgy_metrics.sources.spec import BuildContext, SourceKind, SourceSpec

__all__ = [
    "BUILT_IN",
    "build",
    "kinds",
    "parse_spec",
    "register",
    "spec_type",
    "unregister",
]

BUILT_IN: tuple[SourceKind[Any], ...] = (
    sandbox.KIND,
    replay.KIND,
    justoneapi.KIND,
    pugongying.KIND,
)
"""In the order that messages list them."""

_kinds: dict[str, SourceKind[Any]] = {kind.name: kind for kind in BUILT_IN}


def register(kind: SourceKind[Any]) -> None:
    """Make ``kind`` configurable (``[[sources]] type = "<its name>"``) and buildable."""
    if kind.name in _kinds:
        raise ValueError(f"a source kind named {kind.name!r} is registered already")
    _kinds[kind.name] = kind


def unregister(name: str) -> None:
    """Forget a kind added with ``register`` (the built-in kinds stay)."""
    if any(kind.name == name for kind in BUILT_IN):
        raise ValueError(f"the built-in source kind {name!r} cannot be unregistered")
    _kinds.pop(name, None)


def kinds() -> tuple[str, ...]:
    """The names of every registered kind, built-ins first."""
    return tuple(_kinds)


def spec_type() -> Any:
    """The type of one ``[[sources]]`` table for pydantic: the union of every registered spec,
    told apart by ``type`` (an unknown type is refused naming the known ones)."""
    specs = tuple(kind.spec for kind in _kinds.values())
    if len(specs) == 1:
        return specs[0]
    return Annotated[Union[specs], Field(discriminator="type")]  # noqa: UP007


def parse_spec(values: Mapping[str, Any]) -> SourceSpec:
    """One source's settings (``{"type": ..., ...}``), validated by its kind's spec: secrets are
    read and the source's configuration is checked now. Raises pydantic's ``ValidationError``."""
    spec: SourceSpec = TypeAdapter(spec_type()).validate_python(dict(values))
    return spec


def build(
    specs: Sequence[SourceSpec], context: BuildContext, *, failover_cooldown_seconds: float
) -> Source:
    """The sources of ``specs``: one as it is, several behind failover in the given order."""
    if not specs:
        raise ValueError("at least one source is needed")
    built = [_kind_of(spec).build(spec, context) for spec in specs]
    if len(built) == 1:
        return built[0]
    return FailoverSource(
        built, cooldown_seconds=failover_cooldown_seconds, on_result=context.on_result
    )


def _kind_of(spec: SourceSpec) -> SourceKind[Any]:
    kind = _kinds.get(spec.type)
    if kind is None:
        raise ValueError(f"source type must be one of {', '.join(_kinds)}; got {spec.type!r}")
    return kind
