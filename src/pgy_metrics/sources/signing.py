"""Request signers: the operator's pluggable step that adds signature headers to upstream calls.

Recent Pugongying web clients send ``x-s`` / ``x-t`` signature headers computed by obfuscated
browser code that changes without notice. The project never hard-codes such an algorithm: an
operator who needs one supplies a *signer*, named by an import path ``"package.module:callable"``.

A signer is called once per upstream attempt, just before the request is sent, with::

    signer(method, url, params, headers) -> Mapping[str, str]   # or an awaitable of one

- ``method``: ``"GET"``;
- ``url``: scheme, host and path, without the query string;
- ``params``: the query parameters in the order they are sent (``urlencode(params)`` is the
  query string, byte for byte);
- ``headers``: every header the request will carry, ``Cookie`` included (a signer often needs
  the ``a1`` cookie). A copy: changing it changes nothing.

It returns the extra headers to add (they replace a header of the same name). Its output is
treated as a secret: it is never logged. The default signer adds nothing.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Awaitable, Mapping
from typing import Protocol

__all__ = ["RequestSigner", "SignerError", "load_signer", "no_signature", "sign"]


class RequestSigner(Protocol):
    """Adds signature headers to one upstream request (sync or async)."""

    def __call__(
        self, method: str, url: str, params: Mapping[str, str], headers: Mapping[str, str]
    ) -> Mapping[str, str] | Awaitable[Mapping[str, str]]: ...


class SignerError(ValueError):
    """A signer path cannot be loaded, or a signer returned something other than headers."""


def no_signature(
    method: str, url: str, params: Mapping[str, str], headers: Mapping[str, str]
) -> Mapping[str, str]:
    """The default signer: adds no header."""
    return {}


def check_signer_path(path: str) -> str | None:
    """The problem with the *form* of an import path (nothing is imported), or None."""
    module, colon, attribute = path.partition(":")
    if not colon or not module or not attribute or ":" in attribute:
        return f"signer must be an import path 'package.module:callable'; got {path!r}"
    names = [*module.split("."), *attribute.split(".")]
    if not all(name.isidentifier() for name in names):
        return f"signer must be an import path 'package.module:callable'; got {path!r}"
    return None


def load_signer(path: str | None) -> RequestSigner:
    """The signer at ``"package.module:callable"`` (``None``: the default, which adds nothing).

    Raises ``SignerError`` naming the path when it is malformed, cannot be imported, or does not
    name a callable.
    """
    if path is None:
        return no_signature
    problem = check_signer_path(path)
    if problem:
        raise SignerError(problem)
    module_name, _, attribute = path.partition(":")
    try:
        target: object = importlib.import_module(module_name)
    except ImportError as error:
        raise SignerError(
            f"signer {path!r} cannot be imported: {error} "
            "(is the module installed or on PYTHONPATH?)"
        ) from None
    except Exception as error:
        raise SignerError(
            f"signer {path!r} cannot be imported: importing {module_name!r} raised "
            f"{type(error).__name__}: {error}"
        ) from None
    for name in attribute.split("."):
        try:
            target = getattr(target, name)
        except AttributeError:
            raise SignerError(
                f"signer {path!r} cannot be imported: {module_name!r} has no attribute "
                f"{attribute!r}"
            ) from None
    if not callable(target):
        raise SignerError(
            f"signer {path!r} is a {type(target).__name__}, not a callable "
            "(method, url, params, headers) -> headers"
        )
    signer: RequestSigner = target
    return signer


async def sign(
    signer: RequestSigner,
    method: str,
    url: str,
    params: Mapping[str, str],
    headers: Mapping[str, str],
) -> dict[str, str]:
    """Call ``signer`` (awaiting it if it is async) and check that it returned string headers.

    The error for a bad return value names the offending header, never its value.
    """
    result = signer(method, url, dict(params), dict(headers))
    if inspect.isawaitable(result):
        result = await result
    if not isinstance(result, Mapping):
        raise SignerError(
            f"the signer returned a {type(result).__name__}; it must return a mapping of headers"
        )
    extra: dict[str, str] = {}
    for name, value in result.items():
        if not isinstance(name, str) or not name or not isinstance(value, str):
            shown = name if isinstance(name, str) else type(name).__name__
            raise SignerError(
                f"the signer returned a bad header {shown!r}: names and values must be strings"
            )
        if any(ch in name or ch in value for ch in "\r\n\0"):
            raise SignerError(f"the signer returned header {name!r} with a line break")
        extra[name] = value
    return extra
