"""Request parameters: the creator id and the scope (the four filters) with a stable key."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar, TypeVar

from pgy_metrics.contract.enums import AdvertiseSwitch, Business, DateType, NoteType

USER_ID_EXAMPLE = "5d21ab6b000000001201567d"
_USER_ID = re.compile(r"[0-9a-f]{24}")

E = TypeVar("E", bound=StrEnum)


class ParamError(ValueError):
    """A request parameter is missing or has a value outside the contract.

    ``param`` names the parameter so that servers and clients can tell the caller which one to fix.
    """

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param
        self.message = message


def parse_user_id(value: str | None, *, param: str = "userId") -> str:
    """Return the creator id if it is 24 lowercase hex characters, else raise ``ParamError``."""
    if value is None or value == "":
        raise ParamError(
            param,
            f"{param} is required: the creator id, 24 lowercase hex characters "
            f"(e.g. {USER_ID_EXAMPLE}).",
        )
    if not _USER_ID.fullmatch(value):
        shown = value if len(value) <= 40 else value[:40] + "..."
        raise ParamError(
            param,
            f"{param} must be 24 lowercase hex characters (e.g. {USER_ID_EXAMPLE}); got {shown!r}.",
        )
    return value


_PROFILE_URL = re.compile(r"(?:blogger-detail|user/profile)/([0-9A-Za-z]+)(?=[/?#&]|$)")
"""Where a creator id sits in a Pugongying (``.../blogger-detail/<id>``) or Xiaohongshu
(``.../user/profile/<id>``) profile URL."""


def parse_user_ref(text: str, *, param: str = "userId") -> str:
    """A creator id from a bare id or a Pugongying / Xiaohongshu profile URL, as people paste
    them into lists of creators (the client's input files, the planner's candidates).

    Raises ``ParamError`` (a ``ValueError``) with the contract's message when it is neither.
    """
    value = text.strip().strip("\ufeff").strip("\"'").strip()
    if "/" in value:
        match = _PROFILE_URL.search(value)
        if match is None:
            raise ParamError(
                param,
                "not a profile URL with a creator id (24 lowercase hex characters) after "
                ".../blogger-detail/ or .../user/profile/",
            )
        value = match.group(1)
    return parse_user_id(value, param=param)


def parse_enum(enum: type[E], value: str | None, *, param: str, default: E) -> E:
    """Parse one filter by its API value name; absent or empty means the contract default."""
    if value is None or value == "":
        return default
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        shown = value if len(value) <= 40 else value[:40] + "..."
        raise ParamError(param, f"{param} must be one of {allowed}; got {shown!r}.") from None


@dataclass(frozen=True, slots=True)
class Scope:
    """One of the 24 views of a creator's notes. Responses do not echo it, so stores keep it."""

    business: Business = Business.DAILY_NOTE
    note_type: NoteType = NoteType.PHOTO_TEXT_AND_VIDEO
    date_type: DateType = DateType.DAY_30
    advertise_switch: AdvertiseSwitch = AdvertiseSwitch.ALL

    PARAMS: ClassVar[tuple[str, ...]] = ("business", "noteType", "dateType", "advertiseSwitch")

    @property
    def key(self) -> str:
        """Stable text key, e.g. ``DAILY_NOTE.PHOTO_TEXT_AND_VIDEO.DAY_30.ALL``."""
        return ".".join(
            (self.business.value, self.note_type.value, self.date_type.value, self.advertise_switch)
        )

    @property
    def label(self) -> str:
        """Chinese label as the Pugongying page shows the filters."""
        return " / ".join(
            (
                self.business.label,
                self.note_type.label,
                self.date_type.label,
                self.advertise_switch.label,
            )
        )

    @classmethod
    def from_key(cls, key: str) -> Scope:
        parts = key.split(".")
        if len(parts) != 4 or "" in parts:  # an empty part would read as the default
            raise ParamError("scope", f"scope key must have 4 dot-separated parts; got {key!r}.")
        return cls.from_params(dict(zip(cls.PARAMS, parts, strict=True)))

    @classmethod
    def from_params(
        cls, params: Mapping[str, str | None], *, names: Sequence[str] = PARAMS
    ) -> Scope:
        """Build a scope from API query parameters, applying the contract's defaults.

        ``names`` are the four parameters' names in the order of ``PARAMS``: a caller whose user
        typed others (the CLI's ``--note-type``) passes them, so errors name what was typed.
        """
        business, note_type, date_type, advertise_switch = names
        return cls(
            business=parse_enum(
                Business, params.get(business), param=business, default=Business.DAILY_NOTE
            ),
            note_type=parse_enum(
                NoteType,
                params.get(note_type),
                param=note_type,
                default=NoteType.PHOTO_TEXT_AND_VIDEO,
            ),
            date_type=parse_enum(
                DateType, params.get(date_type), param=date_type, default=DateType.DAY_30
            ),
            advertise_switch=parse_enum(
                AdvertiseSwitch,
                params.get(advertise_switch),
                param=advertise_switch,
                default=AdvertiseSwitch.ALL,
            ),
        )

    @classmethod
    def all(cls) -> Iterator[Scope]:
        """All 24 scopes in a fixed order."""
        for business, note_type, date_type, switch in itertools.product(
            Business, NoteType, DateType, AdvertiseSwitch
        ):
            yield cls(business, note_type, date_type, switch)

    def api_params(self) -> dict[str, str]:
        """Query parameters of our (and the hosted) API, all four always sent."""
        return {
            "business": self.business.value,
            "noteType": self.note_type.value,
            "dateType": self.date_type.value,
            "advertiseSwitch": self.advertise_switch.value,
        }

    def upstream_params(self) -> dict[str, int]:
        """Query parameters of Pugongying itself."""
        return {
            "business": self.business.upstream,
            "noteType": self.note_type.upstream,
            "dateType": self.date_type.upstream,
            "advertiseSwitch": self.advertise_switch.upstream,
        }
