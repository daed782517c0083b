"""``POST /admin/accounts/reload``: every process of the deployment re-reads its upstream
accounts' cookie files (``pgy accounts reload`` over HTTP; ``service.account_reload``).

This process re-reads at once and answers what it found for each account (a new login, the
same cookies, no file, or a file it could not use); every other process re-reads before it next
uses an account, because the reload generation it reads then has grown. The answer names
accounts and outcomes only: no cookie, no digest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from pgy_metrics.server.routes.admin import ADMIN_REFUSALS, Admin, _ClearValidationErrors

if TYPE_CHECKING:
    from pgy_metrics.service.runtime import Runtime
    from pgy_metrics.sources.pugongying import CookieReload

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    route_class=_ClearValidationErrors,
    responses=ADMIN_REFUSALS,
)


class AccountReloadView(BaseModel):
    source: str
    account: str
    outcome: str = Field(
        description="`new_login` (other cookies, used from now on; a disablement of the old "
        "ones no longer holds), `unchanged`, `no_file` (cookies from an environment variable: "
        "read at start only) or `kept` (the file could not be used: the account keeps its "
        "cookies; `problem` says why)."
    )
    problem: str | None = None


class AccountsReloadView(BaseModel):
    generation: int = Field(description="The deployment's reload generation, now.")
    signal: str = Field(
        description="`redis` (every process sharing PGY_REDIS_URL re-reads) or `data_dir` "
        "(the processes sharing this machine's data directory)."
    )
    accounts: list[AccountReloadView] = Field(description="What this process read.")


def reload_here(runtime: Runtime) -> list[CookieReload]:
    """Re-read the cookie files of every source with accounts in this process."""
    source: Any = runtime.service.source
    done: list[CookieReload] = []
    for member in getattr(source, "sources", [source]):
        reload = getattr(member, "reload_cookies", None)
        if callable(reload):
            done.extend(reload(force=True))
    return done


@router.post("/accounts/reload", summary="Re-read the accounts' cookie files everywhere")
async def reload_accounts(request: Request, _admin: Admin) -> AccountsReloadView:
    """Every server and worker re-reads its accounts' cookie files before it next uses an
    account (as `pgy accounts reload`); this one at once, answering what it found. Cookie files
    are also re-read within a second of changing: this is for a change a file's time and size
    cannot show, or to be sure every process has read them."""
    runtime: Runtime = request.app.state.runtime
    assert runtime.accounts_reload is not None, "build_runtime always gives a reload signal"
    generation = await runtime.accounts_reload.bump_generation()
    return AccountsReloadView(
        generation=generation,
        signal="redis" if runtime.settings.redis_url else "data_dir",
        accounts=[
            AccountReloadView(
                source=done.source, account=done.account, outcome=done.outcome, problem=done.problem
            )
            for done in reload_here(runtime)
        ],
    )
