"""The one family of "settings a person must fix" errors, importable from every layer.

A settings file, a source's configuration, the analytics settings and a client built with a bad
token or base URL all fail the same way for the person who wrote them: nothing ran, the message
says what to change. So they share one base, ``ConfigError``, and the command line maps the whole
family to exit status 2 with the message (``cli.main``), whichever layer raised it. Each layer
keeps its own subclass (and its old name) so that code catching one kind still can.

``ConfigError`` is a ``ValueError``: code that caught the older ``ValueError`` subclasses keeps
working, and pydantic reports one raised inside a validator as a value error of that field.
Messages never hold a secret: a problem names the setting, the variable or the file, never the
value read from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = ["ConfigError", "SettingsFileError"]


class ConfigError(ValueError):
    """Settings a person must fix before anything can run; ``problems`` lists each one.

    ``ConfigError("one problem")`` is one problem; ``ConfigError(problems=[...])`` several,
    joined into the message by ``"; "`` unless ``message`` says otherwise.
    """

    problems: list[str]

    def __init__(self, message: str | None = None, *, problems: Sequence[str] = ()) -> None:
        listed = [str(problem) for problem in problems]
        if message is None:
            message = "; ".join(listed)
        self.problems = listed or [message]
        super().__init__(message)


class SettingsFileError(ConfigError):
    """A settings file (TOML) has problems: the message names the file and lists every problem,
    one per line, each saying where in the file it is."""

    def __init__(self, path: Path, problems: Sequence[str]) -> None:
        self.path = path
        listed = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"{path} has {len(problems)} problem(s):\n{listed}", problems=problems)
