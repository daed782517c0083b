"""Paths of the endpoints the contract defines, and what makes a usable base URL."""

from urllib.parse import urlsplit

NOTES_RATE_PATH = "/api/xiaohongshu-pgy/api/solar/kol/dataV3/notesRate/v1"
"""The one endpoint of the hosted API that this project implements, byte for byte."""

UPSTREAM_NOTES_RATE_PATH = "/api/solar/kol/dataV3/notesRate"
"""The Pugongying path the data originally comes from."""

NOTES_RATE = "notes_rate"
"""The endpoint's name in plans, prices and the ledger."""

ENDPOINTS: dict[str, str] = {NOTES_RATE: NOTES_RATE_PATH}
"""Every endpoint by name: what a token's plan may allow."""


def base_url_problem(base_url: str) -> str | None:
    """What makes ``base_url`` unusable as the base of the API (ours, the hosted one or
    Pugongying), or None. Only scheme, host and an optional path prefix are allowed; a URL with a
    query, fragment or ``user:password@`` is refused without being echoed, since a token pasted
    into it is exactly what this guards against (tokens have their own setting)."""
    try:
        parts = urlsplit(base_url)
        _ = parts.port  # raises on a malformed port
    except (ValueError, TypeError, AttributeError):
        return "base_url is not a URL"
    if parts.query or parts.fragment or parts.username or parts.password:
        return (
            "base_url must be only scheme, host and optional path (no query, fragment or "
            "user:password); tokens have their own setting"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return (
            f"base_url must be an http(s) URL (http:// or https://) with a host; got {base_url!r}"
        )
    return None
