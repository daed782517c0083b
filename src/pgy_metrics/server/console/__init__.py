"""The web console (``/console``): sign in with an API token, look up a creator (with the
cost shown and confirmed first), see usage, balance and status. See docs/console.md.

Each area of the console is a module with its own router (``routes.py``: sign-in, creator,
usage, status, tokens; ``pools.py``, ``plans.py``, ``watch.py``); they share ``pages.py`` and
are put together here."""

from fastapi import APIRouter

from pgy_metrics.server.console import plans, pools, routes, watch

router = APIRouter()
router.include_router(routes.router)
router.include_router(pools.router)
router.include_router(plans.router)
router.include_router(watch.router)

__all__ = ["router"]
