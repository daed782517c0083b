"""Console pools as other parts of the server use them: who may read a pool, and its members.

A pool belongs to the token that uploaded it; an admin token may read every pool. Pages that
build on pools (the campaign plans page) read a pool's creators through ``pool_members`` so
they keep the same ownership rule as the pool pages (docs/console.md#pools).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pgy_metrics.store.pools import PoolRepository
from pgy_metrics.store.tokens import TokenRecord

if TYPE_CHECKING:
    from pgy_metrics.service.runtime import Runtime


def pools_of(runtime: Runtime) -> PoolRepository:
    """The pool rows of the runtime's store (a light object over its database)."""
    return PoolRepository(runtime.store.database)


def owner_filter(token: TokenRecord) -> int | None:
    """The token id a holder's pool reads are limited to; None for an admin (every pool)."""
    return None if token.is_admin else token.id


async def pool_members(runtime: Runtime, pool_id: int, token: TokenRecord) -> list[str] | None:
    """The user ids of pool ``pool_id`` in upload order; None when there is no such pool or it
    is another holder's (an admin reads every pool)."""
    return await pools_of(runtime).member_ids(pool_id, owner_filter(token))
