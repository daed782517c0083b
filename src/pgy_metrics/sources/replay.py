"""Replay: serve recorded payloads from a folder (tests, demos, reproducing a user's bug).

File naming scheme, one file per creator + endpoint + scope::

    <replay_dir>/<userId>/<BUSINESS>.<NOTE_TYPE>.<DATE_TYPE>.<ADVERTISE_SWITCH>.json   (notes rate)
    e.g. recordings/5d21ab6b000000001201567d/DAILY_NOTE.PHOTO_TEXT_AND_VIDEO.DAY_30.ALL.json
    <replay_dir>/<userId>/<endpoint>.<scope key>.json                                 (the others)
    e.g. recordings/5d21ab6b000000001201567d/data_summary.DAILY_NOTE.json, ...fans_profile.-.json

The notes-rate files keep the name they had before there were other endpoints, so existing
folders still replay; the scope key of an endpoint without parameters is ``-``.

A file holds either a whole answer of the hosted API (``{"code": 0, "data": {...}, ...}``, as saved
from curl) or the bare ``data`` object. A creator or scope with no file is a collection failure
(code 301), never an empty answer: replay must not invent data.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import model_validator

from pgy_metrics.contract.endpoints import NOTES_RATE, Query
from pgy_metrics.sources.base import MalformedPayload, NotRecorded
from pgy_metrics.sources.spec import BuildContext, SourceKind, SourceSpec

CODE_SHOWN = 40
"""Characters of a failed recording's ``code`` quoted in the error (a code may be anything)."""


def recording_name(query: Query) -> str:
    """The file name of a query's recording, relative to the replay folder."""
    if query.endpoint.name == NOTES_RATE:
        return f"{query.user_id}/{query.scope_key}.json"
    return f"{query.user_id}/{query.endpoint.name}.{query.scope_key}.json"


def recording_path(replay_dir: Path, query: Query) -> Path:
    """Where the recording of one query lives (the documented naming scheme)."""
    return replay_dir / recording_name(query)


class ReplaySource:
    """Serves recordings; reads the file on every fetch so a folder can be edited live."""

    name = "replay"

    def __init__(self, replay_dir: Path) -> None:
        if not replay_dir.is_dir():
            raise ValueError(f"replay directory {str(replay_dir)!r} does not exist")
        self._dir = replay_dir

    async def fetch(self, query: Query) -> dict[str, Any]:
        relative = recording_name(query)
        try:
            text = await asyncio.to_thread((self._dir / relative).read_bytes)
        except FileNotFoundError:
            raise NotRecorded(
                f"No recording for creator {query.user_id} of {query.endpoint.name} in scope "
                f"{query.scope_key}: "
                f"the replay folder has no file {relative}.",
                source=self.name,
            ) from None
        except OSError as error:
            # A folder where the file should be, a file where the creator's folder should be, a
            # link loop: the operator's to fix, said without the server's own path.
            reason = error.strerror or type(error).__name__
            raise NotRecorded(
                f"The recording {relative} cannot be read: {reason}.", source=self.name
            ) from None
        try:
            document = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than json can go
            raise MalformedPayload(
                f"The recording {relative} is not valid JSON.", source=self.name
            ) from None
        return _data_of(document, relative=relative, source=self.name)

    async def aclose(self) -> None:
        return None


def _data_of(document: Any, *, relative: str, source: str) -> dict[str, Any]:
    if isinstance(document, dict) and "code" in document and "data" in document:
        code = document["code"]
        if code != 0 or isinstance(code, bool) or not isinstance(document["data"], dict):
            shown = repr(code) if len(repr(code)) <= CODE_SHOWN else repr(code)[:CODE_SHOWN] + "..."
            raise MalformedPayload(
                f"The recording {relative} is a failed answer (code {shown}).", source=source
            )
        data: dict[str, Any] = document["data"]
        return data
    if isinstance(document, dict):
        return document
    raise MalformedPayload(f"The recording {relative} must hold a JSON object.", source=source)


class ReplaySpec(SourceSpec):
    """``[[sources]] type = "replay"``; ``pgy serve --source replay --replay-dir DIR`` builds the
    same spec."""

    type: Literal["replay"] = "replay"
    dir: Path

    @model_validator(mode="after")
    def _exists(self) -> ReplaySpec:
        if not self.dir.is_dir():
            raise ValueError(f"dir: {self.dir} is not a directory")
        return self


def _build(spec: ReplaySpec, context: BuildContext) -> ReplaySource:
    return ReplaySource(spec.dir)


KIND = SourceKind(ReplaySpec, _build)
