"""Console sign-in: server-side sessions and their CSRF tokens.

Decision (docs/console.md): a session is a random id in an HttpOnly cookie; the store keeps only
its keyed hash (the token pepper, as for API tokens), the token it belongs to and when it
expires (``PGY_CONSOLE_SESSION_MINUTES`` after sign-in). Sign-out deletes the row, so a copied
cookie stops working at once; revoking the token ends its sessions too (``resolve`` joins the
token and requires it active). The API token itself is used once, to sign in, and is never kept.

CSRF: a synchronizer token derived from the session id with the same key
(``HMAC(pepper, "console-csrf:" + id)``), put in every form and compared in constant time on
every POST. It needs no storage, differs per session and cannot be computed without the cookie.
The sign-in form, which comes before any session, gets the same protection from a pre-session
cookie (``HMAC(pepper, "console-signin:" + cookie)`` in the form).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from pgy_metrics.clock import Clock
from pgy_metrics.service.tokens import TokenHasher
from pgy_metrics.store.sessions import SessionRepository
from pgy_metrics.store.tokens import TokenRecord

SESSION_COOKIE = "pgy_console"
"""The session cookie (its value is the session id; only its hash is stored)."""
SIGN_IN_COOKIE = "pgy_console_signin"
"""The pre-session cookie that the sign-in form's CSRF token is derived from."""
SESSION_BYTES = 32


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in visitor: the session id (from their cookie) and their token's record."""

    id: str
    holder: TokenRecord
    csrf: str


class ConsoleSessions:
    """Sign in, resolve, sign out; CSRF tokens for both kinds of form."""

    def __init__(
        self,
        *,
        repository: SessionRepository,
        hasher: TokenHasher,
        clock: Clock,
        lifetime: timedelta,
    ) -> None:
        self._repository = repository
        self._hasher = hasher
        self._clock = clock
        self.lifetime = lifetime

    def _hash(self, session_id: str) -> str:
        return self._hasher.hash("console-session:" + session_id)

    def csrf_for(self, session_id: str) -> str:
        """The CSRF token of a session's forms."""
        return self._hasher.hash("console-csrf:" + session_id)

    def sign_in_csrf(self, pre_session: str) -> str:
        """The CSRF token of the sign-in form shown with this pre-session cookie."""
        return self._hasher.hash("console-signin:" + pre_session)

    @staticmethod
    def new_id() -> str:
        return secrets.token_urlsafe(SESSION_BYTES)

    async def sign_in(self, holder: TokenRecord) -> Session:
        """A new session for an authenticated token; expired sessions are purged meanwhile."""
        now = self._clock.now()
        session_id = self.new_id()
        await self._repository.purge(before=now)
        await self._repository.add(
            session_hash=self._hash(session_id),
            token_id=holder.id,
            created_at=now,
            expires_at=now + self.lifetime,
        )
        return Session(session_id, holder, self.csrf_for(session_id))

    async def resolve(self, session_id: str | None) -> Session | None:
        """The session of this cookie value, if it exists, has not expired and its token is
        active; else None."""
        if not session_id or len(session_id) > 200:
            return None
        holder = await self._repository.resolve(self._hash(session_id), now=self._clock.now())
        if holder is None:
            return None
        return Session(session_id, holder, self.csrf_for(session_id))

    async def sign_out(self, session_id: str) -> bool:
        return await self._repository.delete(self._hash(session_id))


def same_token(expected: str, given: str | None) -> bool:
    """Constant-time comparison of a CSRF token (absent is never equal)."""
    if not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())
