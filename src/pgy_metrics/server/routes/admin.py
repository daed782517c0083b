"""The admin API (``/admin/...``, admin tokens only) and a holder's own balance (``/api/balance``).

The admin API does over HTTP what ``pgy token ...`` and ``pgy usage`` do on the server's machine,
through the same ``TokenIssuer`` and the same views. A token is sent as ``Authorization: Bearer``
or as the ``token`` query parameter (access logs redact it); no answer ever repeats it, except the
new token in the answer that creates it. After every change this process forgets its cached token
look-ups, so the change holds at once here (other processes: within ``PGY_TOKEN_CACHE_SECONDS``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import APIKeyQuery, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from pgy_metrics.contract.history import PERMISSIONS
from pgy_metrics.service.limits import parse_rate_limit
from pgy_metrics.service.tokens import UnknownToken
from pgy_metrics.service.usage import BalanceView, TokenView, UsageRow, parse_day
from pgy_metrics.store.tokens import PLAN_CHANGES, BillingPlan, TokenNameTaken, TokenRecord

if TYPE_CHECKING:
    from pgy_metrics.service.runtime import Runtime

log = logging.getLogger("pgy_metrics.server.admin")

# -- errors -------------------------------------------------------------------------------------


class Problem(BaseModel):
    """Any refusal: one sentence saying what is wrong and what to do."""

    detail: str


class InvalidField(BaseModel):
    field: str = Field(description="The field or parameter, e.g. `rate_limit`.")
    location: str = Field(description="`body`, `query` or `path`.")
    message: str


class InvalidRequest(Problem):
    """A request whose body or parameters do not validate (HTTP 422), a body that is not JSON
    included: ``detail`` names every bad field, ``errors`` lists them one by one."""

    errors: list[InvalidField]


class Invalid(Exception):
    """A field the server refuses after the models accepted it (HTTP 422, as they would)."""

    def __init__(self, field: str, location: str, message: str) -> None:
        super().__init__(message)
        self.field = InvalidField(field=field, location=location, message=message)


UNREADABLE_BODY = InvalidField(
    field="body", location="body", message="the body must be a JSON object in UTF-8"
)
"""FastAPI's own 400 for a body it cannot decode, answered as every other invalid body."""


def _invalid_request(errors: list[InvalidField], detail: str | None = None) -> JSONResponse:
    detail = detail or "; ".join(f"{e.field}: {e.message}" for e in errors)
    body = InvalidRequest(detail=detail or "invalid request", errors=errors)
    return JSONResponse(body.model_dump(), status_code=422)


class _ClearValidationErrors(APIRoute):
    """422 answers as one sentence naming every bad field, without echoing the input back, in
    the documented shape (``InvalidRequest``) whatever refused the request."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await handle(request)
            except RequestValidationError as error:
                return _invalid_request([_invalid_field(problem) for problem in error.errors()])
            except Invalid as error:  # its message names the field already
                return _invalid_request([error.field], error.field.message)
            except StarletteHTTPException as error:
                if error.status_code == 400:  # FastAPI: "There was an error parsing the body"
                    return _invalid_request([UNREADABLE_BODY])
                raise

        return handler


def _invalid_field(problem: Any) -> InvalidField:
    location = [str(part) for part in problem.get("loc", ())]
    message = str(problem.get("msg", "invalid"))
    message = message.removeprefix("Value error, ")
    where = location[0] if location else "body"
    return InvalidField(field=".".join(location[1:]) or where, location=where, message=message)


def _problem(status: int, detail: str, headers: dict[str, str] | None = None) -> HTTPException:
    return HTTPException(status_code=status, detail=detail, headers=headers)


def _unknown(error: UnknownToken) -> HTTPException:
    return _problem(404, str(error))


REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "No token, or an unknown or revoked one."},
    429: {
        "model": Problem,
        "description": "Too many unknown tokens from this address (`PGY_FAILED_TOKEN_LIMIT`); "
        "`Retry-After` says when to try again.",
    },
    422: {
        "model": InvalidRequest,
        "description": "A field or parameter is invalid, or the body is not a JSON object.",
    },
}
ADMIN_REFUSALS: dict[int | str, dict[str, Any]] = {
    **REFUSALS,
    403: {"model": Problem, "description": "The token is not an admin token."},
    413: {
        "model": Problem,
        "description": "The body is larger than `PGY_MAX_BODY_BYTES` (64 KiB by default); "
        "answered before the token is checked.",
    },
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "No token has this name."}
}


# -- authentication -----------------------------------------------------------------------------

_bearer = HTTPBearer(
    auto_error=False, description="Your token as `Authorization: Bearer pgy_...` (preferred)."
)
_query_token = APIKeyQuery(
    name="token", auto_error=False, description="Your token as the `token` query parameter."
)


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def token_holder(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    token: Annotated[str | None, Depends(_query_token)],
) -> TokenRecord:
    """The active token of the caller (HTTP 401 without one)."""
    given = credentials.credentials if credentials is not None else token
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None and "authorization" in request.headers:
        # Not a Bearer credential: refused rather than ignored for the token parameter.
        raise _problem(401, "The Authorization header must be 'Bearer <token>'.", challenge)
    if credentials is not None and token and token != credentials.credentials:
        # Two different tokens: answering for either would let the other pass unchecked.
        raise _problem(
            401,
            "Two different tokens were sent (Authorization header and token parameter): send one.",
            challenge,
        )
    if not given:
        raise _problem(
            401,
            "A token is required: send it as 'Authorization: Bearer <token>' or as the token "
            "query parameter.",
            challenge,
        )
    runtime = _runtime(request)
    record = await runtime.authenticator.authenticate(given)
    if record is None:
        await _count_failed_token(request, runtime)
        raise _problem(401, "The token is unknown or revoked.", challenge)
    return record


async def _count_failed_token(request: Request, runtime: Runtime) -> None:
    """Count an unknown token against the address's ``PGY_FAILED_TOKEN_LIMIT``, the same window
    as the endpoints' and the console's sign-in (one budget per address for the whole server);
    past it, HTTP 429 with ``Retry-After`` instead of 401."""
    limit = runtime.settings.failed_token_limit
    address = request.client.host if request.client is not None else ""
    if not (limit and address):
        return
    limited = await runtime.limiter.hit_failed_token(address, limit)
    if limited is not None:
        raise _problem(
            429,
            f"Too many requests with an unknown token from this address (limit {limit}); "
            f"retry after {limited.retry_after} s with a valid token.",
            {"Retry-After": str(limited.retry_after)},
        )


async def admin_token(holder: Annotated[TokenRecord, Depends(token_holder)]) -> TokenRecord:
    """The caller's token if it is an admin token (HTTP 403 otherwise)."""
    if not holder.is_admin:
        raise _problem(
            403,
            "This token may not use the admin API: it needs an admin token "
            "(pgy token create --admin).",
        )
    return holder


Holder = Annotated[TokenRecord, Depends(token_holder)]
Admin = Annotated[TokenRecord, Depends(admin_token)]
TokenName = Annotated[str, Path(description="The token's name.", max_length=100)]

MAX_AMOUNT = 10**15
"""The largest credit amount, quota or price accepted: far above any plan, far below the
store's 64-bit integers, so that sums of top-ups cannot overflow them."""


def _whole_number(value: object) -> object:
    """A float without a fraction (``5.0``) as the integer it is: JSON Schema counts it as an
    integer, so clients and generators may send it; strings and booleans stay refused."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Amount = Annotated[int, Field(ge=0, le=MAX_AMOUNT), BeforeValidator(_whole_number)]
PositiveAmount = Annotated[int, Field(ge=1, le=MAX_AMOUNT), BeforeValidator(_whole_number)]

_UNIT = "(second|minute|hour|day)"
RATE_LIMIT_PATTERN = f"^[0-9]{{1,9}}/{_UNIT}(;[0-9]{{1,9}}/{_UNIT})*$"
"""The rate limits the API accepts: ``N/unit`` separated by ``;`` (as documented)."""

NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
"""A new token's name (``TokenIssuer`` refuses any other)."""

Permission = Annotated[str, Field(json_schema_extra={"enum": list(PERMISSIONS)})]


# -- bodies -------------------------------------------------------------------------------------


class PlanFields(BaseModel):
    """Plan fields that an operator sets when creating a token and may change later."""

    model_config = ConfigDict(extra="forbid", strict=True)

    rate_limit: str | None = Field(
        default=None,
        description="Limits `N/unit` (second, minute, hour or day) separated by `;`, e.g. "
        "`10/second;300/minute`.",
        examples=["10/second;300/minute"],
        json_schema_extra={"pattern": RATE_LIMIT_PATTERN},
    )
    daily_quota: Amount | None = Field(default=None, description="Successful calls per quota day.")
    endpoints: list[Permission] | None = Field(
        default=None,
        description=f"Endpoint names the token may call, among: {', '.join(PERMISSIONS)}; "
        "null: all of them.",
        examples=[list(PERMISSIONS)],
    )
    price: Amount | None = Field(
        default=None, description="Credits per fresh answer; null: the server's price."
    )
    cached_price: Amount | None = Field(
        default=None, description="Credits per cached answer; null: the server's price."
    )

    @field_validator("rate_limit")
    @classmethod
    def _readable_rate_limit(cls, value: str | None) -> str | None:
        if value is not None:
            parse_rate_limit(value)
            if not re.fullmatch(RATE_LIMIT_PATTERN, value):  # `limits` reads more; we document this
                raise ValueError(
                    "rate must be limits separated by ';' such as '10/second;300/minute' (per "
                    f"second, minute, hour or day); got {value!r}"
                )
        return value

    @field_validator("endpoints")
    @classmethod
    def _known_endpoints(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            unknown = [name for name in value if name not in PERMISSIONS]
            if unknown:
                raise ValueError(
                    f"endpoints must be among {', '.join(PERMISSIONS)}; "
                    f"unknown: {', '.join(unknown)}"
                )
            value = list(dict.fromkeys(value))
        return value

    def changes(self) -> dict[str, Any]:
        """The plan fields given in the request (null included: it lifts a limit)."""
        given = {
            field: getattr(self, field) for field in PLAN_CHANGES if field in self.model_fields_set
        }
        if given.get("endpoints") is not None:
            given["endpoints"] = tuple(given["endpoints"])
        return given


class TokenCreate(PlanFields):
    """A new token. Without any plan field it gets the server's default plan."""

    name: str = Field(
        description="Unique: 1-100 letters, digits, `_`, `.` or `-`, starting with a letter or "
        "digit.",
        examples=["shop-7"],
        json_schema_extra={"pattern": NAME_PATTERN},  # TokenIssuer refuses any other name
    )
    admin: bool = Field(default=False, description="May use the admin API.")
    balance: Amount | None = Field(
        default=None,
        description="Starting prepaid credits (recorded as a top-up); null: unmetered.",
    )

    def plan(self) -> BillingPlan | None:
        given = self.model_fields_set & {*PLAN_CHANGES, "balance"}
        if not given:
            return None
        return BillingPlan(
            rate_limit=self.rate_limit,
            daily_quota=self.daily_quota,
            balance=self.balance,
            endpoints=tuple(self.endpoints) if self.endpoints is not None else None,
            price=self.price,
            cached_price=self.cached_price,
        )


class PlanUpdate(PlanFields):
    """Plan fields to change: a field left out stays as it is; null lifts that limit (or, for
    prices, restores the server's price). The balance is not here: it changes only by top-up."""

    balance: SkipJsonSchema[int | None] = None

    @field_validator("balance", mode="before")
    @classmethod
    def _balance_only_by_topup(cls, _value: object) -> None:
        raise ValueError(
            "the balance changes only through POST /admin/tokens/{name}/topup, so that the "
            "ledger explains every credit"
        )


class Topup(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    credits: PositiveAmount = Field(description="Credits to add (a whole number > 0).")


class CreatedToken(TokenView):
    token: str = Field(description="The token itself: in this answer only, never shown again.")


class ToppedUp(BaseModel):
    name: str
    credits: int = Field(description="Credits added.")
    balance: int = Field(description="The balance after the top-up.")


# -- routes -------------------------------------------------------------------------------------

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    route_class=_ClearValidationErrors,
    responses=ADMIN_REFUSALS,
)


@router.post(
    "/tokens",
    status_code=201,
    summary="Create a token",
    responses={409: {"model": Problem, "description": "A token has this name already."}},
)
async def create_token(request: Request, admin: Admin, body: TokenCreate) -> CreatedToken:
    """Create a token with a plan; the answer holds the token itself, the only time it is shown."""
    runtime = _runtime(request)
    try:
        issued = await runtime.issuer.create(body.name, is_admin=body.admin, plan=body.plan())
    except TokenNameTaken as error:
        raise _problem(409, str(error)) from None
    except ValueError as error:  # the name; the plan was validated with the body
        raise Invalid("name", "body", str(error)) from None
    runtime.authenticator.forget()
    log.info("admin %r created token %r", admin.name, body.name)
    view = await runtime.issuer.show(body.name)
    return CreatedToken(**view.model_dump(), token=issued.token)


@router.get("/tokens", summary="List tokens")
async def list_tokens(request: Request, _admin: Admin) -> list[TokenView]:
    """Every token (active and revoked) with its plan and today's use."""
    return await _runtime(request).issuer.views()


@router.get("/tokens/{name}", summary="Show a token", responses=NOT_FOUND)
async def show_token(request: Request, _admin: Admin, name: TokenName) -> TokenView:
    """A token, its plan, today's use and what is in flight (as `pgy token show`)."""
    try:
        return await _runtime(request).issuer.show(name)
    except UnknownToken as error:
        raise _unknown(error) from None


@router.patch("/tokens/{name}", summary="Change a token's plan", responses=NOT_FOUND)
async def update_token(
    request: Request, admin: Admin, name: TokenName, body: PlanUpdate
) -> TokenView:
    """Change plan fields (as `pgy token update`); fields left out stay as they are."""
    runtime = _runtime(request)
    changes = body.changes()
    try:
        view = await runtime.issuer.update_plan(name, **changes)
    except UnknownToken as error:
        raise _unknown(error) from None
    except ValueError as error:  # validated with the body already; kept as a safety net
        raise Invalid("body", "body", str(error)) from None
    runtime.authenticator.forget()
    log.info("admin %r changed the plan of %r: %s", admin.name, name, ", ".join(changes) or "-")
    return view


@router.post("/tokens/{name}/topup", summary="Add credits", responses=NOT_FOUND)
async def topup_token(request: Request, admin: Admin, name: TokenName, body: Topup) -> ToppedUp:
    """Add credits to a token's balance (a ledger row); an unmetered token becomes metered."""
    runtime = _runtime(request)
    try:
        balance = await runtime.issuer.topup(name, body.credits)
    except UnknownToken as error:
        raise _unknown(error) from None
    runtime.authenticator.forget()
    log.info("admin %r topped up %r by %d credits", admin.name, name, body.credits)
    return ToppedUp(name=name, credits=body.credits, balance=balance)


@router.delete("/tokens/{name}", summary="Revoke a token", responses=NOT_FOUND)
async def revoke_token(request: Request, admin: Admin, name: TokenName) -> TokenView:
    """Revoke a token at once (its holder gets code 100); revoking it again changes nothing."""
    runtime = _runtime(request)
    try:
        await runtime.issuer.record(name)
    except UnknownToken as error:
        raise _unknown(error) from None
    if await runtime.issuer.revoke(name):
        log.info("admin %r revoked token %r", admin.name, name)
    runtime.authenticator.forget()
    return await runtime.issuer.show(name)


@router.get("/usage", summary="Usage per token and day", responses=NOT_FOUND)
async def usage(
    request: Request,
    _admin: Admin,
    name: Annotated[str | None, Query(description="Only this token.", max_length=100)] = None,
    since: Annotated[
        str | None,
        Query(
            description="First day, `YYYY-MM-DD` (quota days).",
            json_schema_extra={"format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
        ),
    ] = None,
) -> list[UsageRow]:
    """Calls, credits and what is in flight per token and quota day, oldest day first."""
    try:
        if since is not None:
            since = parse_day(since, name="since")
    except ValueError as error:
        raise Invalid("since", "query", str(error)) from None
    try:
        return await _runtime(request).issuer.usage(name=name, since=since)
    except UnknownToken as error:
        raise _unknown(error) from None


class JobView(BaseModel):
    """One collection job: what it collects and where it stands (jobs carry no token)."""

    id: int
    status: str = Field(description="queued, running, done, failed, cancelled or aborted.")
    endpoint: str
    userId: str
    scope: str = Field(description="The scope key, e.g. `DAILY_NOTE.PHOTO_TEXT_AND_VIDEO...`.")
    attempts: int
    scheduledAt: str | None
    message: str | None = Field(description="A failed job's 301 message.")


class JobsView(BaseModel):
    """The collection queue (``pgy jobs``): counts by state and the newest jobs."""

    collect: str = Field(description="`queue`, or `inline` (no queue: nothing to show).")
    counts: dict[str, int] = Field(description="Jobs by state; empty when `collect` is inline.")
    jobs: list[JobView]


JobState = Literal["queued", "running", "done", "failed", "cancelled", "aborted"]


@router.get("/jobs", summary="Collection jobs")
async def collection_jobs(
    request: Request,
    _admin: Admin,
    status: Annotated[JobState | None, Query(description="Only jobs in this state.")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000, description="Newest jobs shown.")] = 50,
) -> JobsView:
    """The collection queue of `--collect queue` (as `pgy jobs`): queued, running, done and
    failed jobs with counts. In inline mode there is no queue, and the lists are empty."""
    queue = _runtime(request).queue
    if queue is None:
        return JobsView(collect="inline", counts={}, jobs=[])
    from pgy_metrics.service.jobs import status_option

    rows = await queue.jobs(status=status_option(status), limit=limit)
    return JobsView(
        collect="queue",
        counts=await queue.counts(),
        jobs=[JobView.model_validate(row.as_json()) for row in rows],
    )


holder_router = APIRouter(tags=["balance"], route_class=_ClearValidationErrors)


@holder_router.get("/api/balance", summary="Your balance and limits", responses=REFUSALS)
async def balance(request: Request, holder: Holder) -> BalanceView:
    """What your own token has left: balance, today's calls against the quota, limits, prices."""
    return await _runtime(request).issuer.balance(holder)
